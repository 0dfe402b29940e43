"""The ``civicsearch`` command: a thin layer over :class:`civicsearch.SearchEngine`."""

from __future__ import annotations

import json
from functools import wraps
from pathlib import Path
from typing import Any, Callable

import click
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from civicsearch import __version__
from civicsearch.engine import SearchEngine, default_corpus
from civicsearch.errors import CivicSearchError
from civicsearch.readers import DEFAULT_MAX_BYTES
from civicsearch.results import IndexReport, SearchResults

DEFAULT_MAX_MB = DEFAULT_MAX_BYTES / 1_000_000

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail_cleanly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Library errors become ``Error: …`` and exit status 1, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CivicSearchError as e:
            raise click.ClickException(str(e)) from None

    return wrapper


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _run_index(engine: SearchEngine, paths: list[str], full: bool, max_mb: float = DEFAULT_MAX_MB,
               quiet: bool = False) -> IndexReport:
    max_bytes = int(max_mb * 1_000_000)
    if quiet or not err.is_terminal:
        return engine.index(paths, full=full, max_bytes=max_bytes)
    # Imported here: a search that finds its index built never draws a bar, and start-up counts.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]Indexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}"), console=err, transient=True,
        # No refresh thread: a full build forks its writer processes, safely only
        # from a process with one thread.
        auto_refresh=False,
    ) as bar:
        task = bar.add_task("", total=None)

        def progress(done: int, total: int, path: str) -> None:
            bar.update(task, completed=done, total=total, description=escape(Path(path).name))
            bar.refresh()

        return engine.index(paths, full=full, progress=progress, max_bytes=max_bytes)


def _print_report(report: IndexReport, index_dir: Path) -> None:
    err.print(
        f"Indexed into {index_dir}: {report.added} added, {report.updated} updated, "
        f"{report.deleted} deleted, {report.unchanged} unchanged; "
        f"{report.documents} documents in {report.seconds:.1f}s"
    )
    for s in report.skipped:
        where = f"{s.path}:{s.line}" if s.line is not None else s.path
        err.print(f"[yellow]warning:[/] skipped {escape(where)}: {escape(s.reason)}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="civicsearch")
@click.option(
    "--index", "index_dir", type=click.Path(file_okay=False, path_type=Path), envvar="CIVICSEARCH_INDEX",
    default=None, help="Index folder (default: $CIVICSEARCH_INDEX, else ./index).",
)
@click.pass_context
def cli(ctx: click.Context, index_dir: Path | None) -> None:
    """Full-text search for Chinese civic documents."""
    engine = SearchEngine(index_dir)
    ctx.call_on_close(engine.close)
    ctx.obj = {"engine": engine, "default_index": index_dir is None}


_max_size = click.option(
    "--max-size", "max_mb", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_MAX_MB,
    show_default=True, help="Skip files larger than this many MB.",
)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--full", is_flag=True, help="Rebuild the index from scratch.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_max_size
@click.pass_context
@_fail_cleanly
def index(ctx: click.Context, paths: tuple[Path, ...], full: bool, as_json: bool, max_mb: float) -> None:
    """Index files and folders (default: the corpus the index was built from, else ./corpus).

    Formats: .txt, .md (YAML front matter, HTML bodies), .html, .jsonl and
    .jsonl.gz crawl dumps. Folders are walked recursively.

    \b
    Examples:
      civicsearch index corpus/
      civicsearch --index /srv/idx index /data/crawl --full
    """
    engine: SearchEngine = ctx.obj["engine"]
    report = _run_index(engine, [str(p) for p in paths], full, max_mb)
    if as_json:
        _dump(report.to_dict())
    else:
        _print_report(report, engine.index_dir)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--full", is_flag=True, help="Rebuild into a new generation and switch to it atomically.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@_max_size
@click.pass_context
def reindex(ctx: click.Context, paths: tuple[Path, ...], full: bool, as_json: bool, quiet: bool,
            max_mb: float) -> None:
    """Bring the index in step with its corpus: the nightly job.

    With no PATH, the corpus roots the index remembers. New files are added,
    changed ones replaced, vanished files and JSONL records deleted, in one
    commit; searches keep answering from the last committed state meanwhile.
    One writer at a time.

    \b
    Exit status: 0 all input went in; 1 some inputs were skipped (the index is
    consistent); 2 the run failed and the index was left as it was.

    \b
    Examples:
      civicsearch --index /srv/civic-index reindex --quiet
      civicsearch reindex /data/crawl --json
    """
    engine: SearchEngine = ctx.obj["engine"]
    try:
        report = _run_index(engine, [str(p) for p in paths], full, max_mb, quiet)
    except CivicSearchError as e:
        click.echo(f"Error: {e}", err=True)
        ctx.exit(2)
    if as_json:
        _dump({k: report.to_dict()[k] for k in ("added", "updated", "deleted", "unchanged", "skipped", "seconds")})
    elif quiet:
        for s in report.skipped:
            where = f"{s.path}:{s.line}" if s.line is not None else s.path
            click.echo(f"skipped {where}: {s.reason}", err=True)
    else:
        _print_report(report, engine.index_dir)
    ctx.exit(1 if report.skipped else 0)


def _render_hits(res: SearchResults) -> None:
    first = res.offset + 1
    last = res.offset + len(res.hits)
    head = f"{res.total} {'document matches' if res.total == 1 else 'documents match'} {res.query!r}"
    if res.hits:
        head += f" (showing {first}–{last}, by {res.sort})"
    out.print(Text(head, style="bold"))
    if res.relaxed:
        out.print(Text("No document contains every word; showing documents with any of them.", style="yellow"))
    if res.also_searched:
        out.print(Text("Also searched: " + ", ".join(res.also_searched), style="dim"))
    for n, hit in enumerate(res.hits, first):
        meta = " · ".join(x for x in (hit.date, hit.place, ", ".join(hit.topics[:2]), hit.doc_type, hit.source) if x)
        out.print()
        out.print(Text.assemble((f"{n}. ", "bold"), (hit.title or hit.doc_id, "bold cyan")))
        out.print(Text(f"   {hit.doc_id}" + (f"  {meta}" if meta else ""), style="dim"))
        if hit.similar:
            shown = ", ".join(hit.similar_ids) + (" …" if hit.similar > len(hit.similar_ids) else "")
            out.print(Text(f"   +{hit.similar} similar: {shown}", style="dim"))
        snippet = Text("   " + hit.snippet)
        for s, e in hit.highlights:
            snippet.stylize("bold black on yellow" if out.is_terminal else "", s + 3, e + 3)
        out.print(snippet if out.is_terminal else "   " + _bracket(hit.snippet, hit.highlights))


def _bracket(text: str, spans: list[tuple[int, int]]) -> str:
    """Plain-text marking for pipes: matched words in 【】."""
    parts, at = [], 0
    for s, e in spans:
        parts += [text[at:s], "【", text[s:e], "】"]
        at = e
    return "".join(parts + [text[at:]])


def _render_facets(res: SearchResults) -> None:
    shown = {k: v[:8] for k, v in res.facets.items() if v}
    if not shown:
        out.print(Text("\nFacets: none (no place, date or topic known for these documents)", style="dim"))
        return
    if not out.is_terminal:
        out.print()
        for name, values in shown.items():
            out.print(f"{name}: " + ", ".join(f"{v.label} ({v.count})" for v in values))
        return
    table = Table(box=None, padding=(0, 2), header_style="bold", show_edge=False)
    for name in shown:
        table.add_column(name)
    rows = max(len(v) for v in shown.values())
    for i in range(rows):
        table.add_row(*[f"{v[i].label} [dim]({v[i].count})[/]" if i < len(v) else "" for v in shown.values()])
    out.print(Panel(table, title="Facets", title_align="left", expand=False))


@cli.command()
@click.argument("query")
@click.option("--place", help="Only documents from this place.")
@click.option("--topic", help="Only documents with this topic.")
@click.option("--since", help="Only documents dated on or after (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--until", help="Only documents dated on or before (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="Hits per page.")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@click.option("--no-collapse", is_flag=True, help="List every repost of an article instead of folding them into one hit.")
@click.option("--no-synonyms", is_flag=True, help="Search only the words typed, without civic synonyms and abbreviations.")
@click.option("--json", "as_json", is_flag=True, help="Print results and facets as JSON.")
@click.pass_context
@_fail_cleanly
def search(ctx: click.Context, query: str, place: str | None, topic: str | None, since: str | None,
           until: str | None, sort: str, limit: int, page: int, no_collapse: bool, no_synonyms: bool,
           as_json: bool) -> None:
    """Search the index.

    \b
    Query syntax:
      加装电梯 老旧小区        all words (BM25F, title counts double)
      北京市对于因疫情影响暂停举办的展会项目有何支持政策
                              a sentence: ranked by its informative words
      "党群服务中心"           an exact phrase
      电梯 -嘉定              exclude a word or "phrase"
      加装电梯 OR 加梯        either term
      标题:规划  title:规划    search titles only (正文: / body: for bodies)

    \b
    Examples:
      civicsearch search 加装电梯 --since 2023
      civicsearch search '"城市更新"' --sort date --json
    """
    engine: SearchEngine = ctx.obj["engine"]
    if not engine.exists() and ctx.obj["default_index"]:
        corpus = default_corpus()
        err.print(f"No index at {engine.index_dir} yet: building it from {corpus} …")
        _print_report(_run_index(engine, [str(corpus)], False), engine.index_dir)
    res = engine.search(query, place=place, topic=topic, since=since, until=until, sort=sort,
                        limit=limit, offset=(page - 1) * limit, collapse=not no_collapse,
                        synonyms=not no_synonyms)
    if as_json:
        _dump(res.to_dict())
        return
    _render_hits(res)
    _render_facets(res)


@cli.command()
@click.argument("doc_id")
@click.option("--json", "as_json", is_flag=True, help="Print the document as JSON.")
@click.pass_context
@_fail_cleanly
def show(ctx: click.Context, doc_id: str, as_json: bool) -> None:
    """Show one document: its metadata and text as read.

    DOC_ID is the id shown in search results (a unique prefix is enough).
    """
    doc = ctx.obj["engine"].get(doc_id)
    if as_json:
        _dump(doc.to_dict())
        return
    out.print(Text(doc.title or doc.doc_id, style="bold cyan"))
    place = f"{doc.place} ({doc.place_code})" if doc.place_code else doc.place
    date = f"{doc.date} (from {doc.date_source})" if doc.date else None
    rows = [("id", doc.doc_id), ("path", doc.path + (f":{doc.line}" if doc.line else "")), ("date", date),
            ("place", place), ("topics", ", ".join(doc.topics)), ("type", doc.doc_type),
            ("document numbers", ", ".join(doc.docnos)), ("source", doc.source), ("url", doc.url)]
    rows += list(doc.meta.items())
    for k, v in rows:
        if v:
            out.print(Text.assemble((f"{k}: ", "dim"), str(v)))
    out.print()
    out.print(doc.original, markup=False)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.pass_context
@_fail_cleanly
def stats(ctx: click.Context, as_json: bool) -> None:
    """Show the document count, index size, last update and corpus roots."""
    st = ctx.obj["engine"].stats()
    if as_json:
        _dump(st.to_dict())
        return
    out.print(Text.assemble(("documents: ", "dim"), str(st.documents)))
    out.print(Text.assemble(("index: ", "dim"), f"{st.index_dir} ({st.size_bytes / 1e6:.1f} MB, schema {st.schema_version})"))
    out.print(Text.assemble(("last update: ", "dim"), str(st.last_updated)))
    out.print(Text.assemble(("roots: ", "dim"), ", ".join(st.roots) or "-"))
    if st.last_run:
        r = st.last_run
        out.print(Text.assemble(("last run: ", "dim"), f"{r.get('finished', '?')}: {r['added']} added, "
                                f"{r['updated']} updated, {r['deleted']} deleted, {r['unchanged']} unchanged, "
                                f"{len(r['skipped'])} skipped, {r['seconds']}s" + (" (full)" if r.get("full") else "")))
        for s in r["skipped"][:10]:
            where = f"{s['path']}:{s['line']}" if s.get("line") is not None else s["path"]
            out.print(Text(f"  skipped {where}: {s['reason']}", style="yellow"))


def main() -> None:
    cli(prog_name="civicsearch")


if __name__ == "__main__":
    main()
