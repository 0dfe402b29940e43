"""The ``civicsearch`` command: a thin layer over :class:`civicsearch.SearchEngine`.

Everything a document or a file name supplies is printed as text, never as rich
markup, and without control characters: a title cannot clear the screen, write
the clipboard (OSC 52) or retitle the window, on a terminal or piped.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import sys
import time
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
from civicsearch.api import watches
from civicsearch.api.engine import BACKENDS, DEFAULT_INDEX_NAME, SearchEngine, default_corpus, open_engine
from civicsearch.errors import CivicSearchError, ReindexRunningError
from civicsearch.fields import registry
from civicsearch.ingest.readers import DEFAULT_MAX_BYTES, formats_text
from civicsearch.results import WRITING, IndexReport, SearchResults, SkippedInput
from civicsearch.search.collapse import SIMILAR_LISTED
from civicsearch.text.normalize import strip_controls

DEFAULT_MAX_MB = DEFAULT_MAX_BYTES / 1_000_000


class _Console(Console):
    """A console whose closed pipe is the command group's to handle (rich's own exits 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


out = _Console(highlight=False, soft_wrap=True)
err = _Console(stderr=True, highlight=False, soft_wrap=True)


#: Set to see the traceback of an unexpected error instead of its one line.
DEBUG_ENV = "CIVICSEARCH_DEBUG"
#: Marks an argument such as ``-嘉定`` as a query word before click parses options.
_WORD = "\x00"


def _safe(value: object) -> str:
    """Text from a document or a path, fit for a terminal: control characters shown as U+FFFD."""
    return strip_controls(str(value), "\ufffd")


#: Seconds between looks at a first index another process is building.
FIRST_BUILD_POLL = 0.2
#: One-line values (a title, an id, a path, a facet label) are cut here on the terminal;
#: ``--json`` gives them whole.
LINE_CHARS = 300


def _line(value: object) -> str:
    """:func:`_safe` text kept to one line: line breaks shown as ``\\n``, long values cut with …"""
    text = _safe(value).replace("\r", "\\r").replace("\n", "\\n").replace("\t", " ")
    return text if len(text) <= LINE_CHARS else text[:LINE_CHARS] + "…"


def _error(e: Exception) -> click.ClickException:
    """The one-line error for ``e`` (re-raised instead under ``$CIVICSEARCH_DEBUG``, unless foreseen)."""
    if os.environ.get(DEBUG_ENV) and not isinstance(e, CivicSearchError):
        raise e
    if isinstance(e, CivicSearchError):
        error = click.ClickException(_safe(e.for_cli()))
        error.exit_code = e.exit_code
    else:
        error = click.ClickException(_safe(f"unexpected {type(e).__name__}: {e}"))
        error.exit_code = 2
    return error


class _Stopped(Exception):
    """SIGINT or SIGTERM ended a command (``signum``): the group's main says so."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _OutputFailed(Exception):
    """Writing the output failed (``error`` says how): the group's main ends the command."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


#: What writing stdout fails with: a closed pipe, a full or failing disk.
_OUTPUT_ERRNOS = {errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


def _is_output_error(e: OSError) -> bool:
    """A failure to write the output (no file named: the library names its files)."""
    return e.errno in _OUTPUT_ERRNOS and e.filename is None


def _fail_cleanly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Errors become one ``Error: …`` line and a non-zero exit status, never a traceback:
    the error's own status for the library's (1, or 2 for a damaged index), 2 for others."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt as e:
            # Said by the group's main, in one line (click's own handling adds a blank one).
            raise _Stopped(e.signum if isinstance(e, Interrupted) else signal.SIGINT) from None
        except OSError as e:
            if _is_output_error(e):
                # Said by the group's main (a closed pipe is no error); click's own
                # handling of a closed pipe would exit 1.
                raise _OutputFailed(e) from None
            raise _error(e) from None
        except Exception as e:  # noqa: BLE001 - nothing reaches the user as a traceback
            raise _error(e) from None

    return wrapper


# JSON escapes C0 controls itself; DEL, C1 (an 8-bit CSI) and bidi overrides too.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _dump(data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2)
    click.echo(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def _where(s: SkippedInput) -> str:
    return _line(f"{s.path}:{s.line}" if s.line is not None else s.path)


def _run_index(engine: SearchEngine, paths: list[str], full: bool, max_mb: float = DEFAULT_MAX_MB,
               quiet: bool = False, allow_deletes: bool = False, semantic: bool | None = None) -> IndexReport:
    max_bytes = int(max_mb * 1_000_000)
    if quiet or not err.is_terminal:
        return engine.index(paths, full=full, max_bytes=max_bytes, allow_deletes=allow_deletes, semantic=semantic)
    # Imported here: a search that finds its index built never draws a bar, and start-up counts.
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]Indexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        # A build with vectors is long: it says how long it has still to go.
        TimeRemainingColumn(), TextColumn("{task.description}"), console=err, transient=True,
        # No refresh thread: a full build forks its writer processes, safely only
        # from a process with one thread.
        auto_refresh=False,
    ) as bar:
        task = bar.add_task("", total=None)

        def progress(done: int, total: int, path: str) -> None:
            what = path if path == WRITING else Path(path).name
            bar.update(task, completed=done, total=total, description=escape(_safe(what)))
            bar.refresh()

        return engine.index(paths, full=full, progress=progress, max_bytes=max_bytes, allow_deletes=allow_deletes,
                            semantic=semantic)


def _kept_out_line(s: SkippedInput) -> str:
    """One input kept out of the index: where, why, and since when."""
    return f"skipped {_where(s)}: {_safe(s.reason)}" + (f" (since {s.since})" if s.since else "")


def _print_report(report: IndexReport, index_dir: Path) -> None:
    err.print(Text(
        f"Indexed into {_safe(index_dir)}: {report.added} added, {report.updated} updated, "
        f"{report.deleted} deleted, {report.unchanged} unchanged; "
        f"{report.documents} documents in {report.seconds:.1f}s"
        + (f"; {report.uncleaned} kept uncleaned (cleaning would have emptied them)" if report.uncleaned else "")
    ))
    for s in report.skipped:
        err.print(Text.assemble(("warning:", "yellow"), " " + _kept_out_line(s)))


class Interrupted(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that a run cleans up on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_sigterm(signum: int, frame: object) -> None:
    raise Interrupted(signum)


#: The commands that only read the index and print: once one has run, the process may end
#: without the interpreter's teardown (:func:`civicsearch.launch.main`).
READING_COMMANDS = frozenset({"search", "show", "stats"})


class _Group(click.Group):
    """The command group, run so that everything ends in one line and a documented status.

    A usage error (an unknown option, a value out of range, a missing QUERY) is one
    ``Error: …`` line and exit 2; SIGINT (Ctrl-C) and SIGTERM end a run with one line
    and exit 130 and 143 (an index run undoes what it had not committed); a reader that
    went away (``| head``) ends the output quietly, exit 0.
    """

    #: The subcommand the last run of the group invoked (None: none yet, or only --help).
    invoked: str | None = None

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        self.invoked = None
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        previous = signal.signal(signal.SIGTERM, _on_sigterm) if _main_thread() else None
        try:
            status = self._run(args, prog_name, complete_var, **extra)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        sys.exit(status)

    def _run(self, args: Any, prog_name: str | None, complete_var: str | None, **extra: Any) -> int:
        try:
            try:
                rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
                status = rv if isinstance(rv, int) else 0
            except click.UsageError as e:
                hint = f" (see `{e.ctx.command_path} --help`)" if e.ctx is not None else ""
                _say_error(_one_line(e.format_message()) + hint)
                status = 2
            except click.ClickException as e:
                _say_error(_one_line(e.format_message()))
                status = e.exit_code
            except (click.Abort, _Stopped) as e:
                cause = e if isinstance(e, _Stopped) else (e.__cause__ or e.__context__)
                signum = getattr(cause, "signum", signal.SIGINT)
                _say_error(f"interrupted by {signal.Signals(signum).name} "
                           "(the index keeps its last committed state)")
                status = 128 + signum  # the shell's status for a command a signal ended
            sys.stdout.flush()
            return status
        except MemoryError:
            _say_error("out of memory: the machine (or this process's limit) has too little for this command")
            return 2
        except _OutputFailed as e:
            return self._output_failed(e.error)
        except OSError as e:
            return self._output_failed(e)

    @staticmethod
    def _output_failed(e: OSError) -> int:
        if isinstance(e, BrokenPipeError):
            # The reader went away (`| head`): not an error, and nowhere to say anything.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        # stdout itself cannot be written (a full disk): one line on stderr.
        _say_error(f"cannot write the output: {e.strerror or e}")
        return 2


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _say_error(message: str) -> None:
    try:
        click.echo(f"Error: {_safe(message)}", err=True)
    except OSError:
        pass


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="civicsearch")
@click.option(
    "--index", "index_dir", type=click.Path(file_okay=False, path_type=Path), envvar="CIVICSEARCH_INDEX",
    default=None, help="Index folder (default: $CIVICSEARCH_INDEX, else ./index).",
)
@click.option("--backend", type=click.Choice(BACKENDS), envvar="CIVICSEARCH_BACKEND", default="local",
              show_default=True, help="Where the index lives: this machine, or an OpenSearch cluster "
                                      "(--url; --index keeps the lock, the manifest and saved searches).")
@click.option("--url", envvar="CIVICSEARCH_OPENSEARCH_URL", default=None,
              help="The OpenSearch cluster of --backend opensearch (http://host:9200; $CIVICSEARCH_OPENSEARCH_URL).")
@click.option("--index-name", envvar="CIVICSEARCH_INDEX_NAME", default=None,
              help=f"The cluster's read alias (--backend opensearch; default {DEFAULT_INDEX_NAME}).")
@click.pass_context
@_fail_cleanly
def cli(ctx: click.Context, index_dir: Path | None, backend: str, url: str | None, index_name: str | None) -> None:
    """Full-text search for Chinese civic documents."""
    ctx.command.invoked = ctx.invoked_subcommand  # type: ignore[attr-defined]
    if backend == "local" and (url or index_name) and ctx.invoked_subcommand != "opensearch":
        raise click.UsageError("--url and --index-name are for --backend opensearch")
    if backend == "opensearch" and not url:
        raise click.UsageError("--backend opensearch needs --url (the cluster: http://host:9200)")
    local = backend == "local"
    engine = open_engine(index_dir, backend=backend, url=url if not local else None,
                         index_name=index_name if not local else None)
    ctx.call_on_close(engine.close)
    ctx.obj = {"engine": engine, "default_index": index_dir is None and local, "backend": backend, "url": url,
               "index_name": index_name or DEFAULT_INDEX_NAME}


_max_size = click.option(
    "--max-size", "max_mb", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_MAX_MB,
    show_default=True, help="Skip files larger than this many MB.",
)
_allow_deletes = click.option(
    "--allow-deletes", is_flag=True,
    help="Delete the documents of a corpus root even when all of them, or most of many, are gone "
         "(refused otherwise: an unmounted disk looks like that).",
)


_INDEX_EXIT = """\b
    Exit status: 0 all input is in; 1 some inputs are kept out of the index (each
    listed with its reason; the index is consistent); 2 the run failed and the
    index was left as it was (a missing or emptied corpus root, a full disk, a
    damaged index: `index --full` rebuilds it); 130/143 interrupted (SIGINT/SIGTERM)."""


def _index_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``index`` and ``reindex`` share: one run, one report, one exit status."""
    for option in reversed([
        click.argument("paths", nargs=-1, type=click.Path(path_type=Path)),
        click.option("--full", is_flag=True, help="Rebuild into a new generation and switch to it atomically."),
        click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."),
        click.option("--quiet", is_flag=True, help="Print nothing but errors and the inputs kept out (on stderr)."),
        _max_size,
        _allow_deletes,
        click.option("--semantic/--no-semantic", default=None,
                     help="Keep (or not) every document's embedding for the semantic rerank (pip install "
                          "'.[semantic]'; a long first build); turning it on or off takes --full. "
                          "Default: as the index was built."),
    ]):
        fn = option(fn)
    return fn


def _index_command(ctx: click.Context, paths: tuple[Path, ...], full: bool, as_json: bool, quiet: bool,
                   max_mb: float, allow_deletes: bool, semantic: bool | None = None) -> None:
    engine: SearchEngine = ctx.obj["engine"]
    try:
        report = _run_index(engine, [str(p) for p in paths], full, max_mb, quiet or as_json, allow_deletes, semantic)
    except Exception as e:  # noqa: BLE001 - any failure of a run is exit 2, one line
        click.echo(f"Error: {_error(e).message}", err=True)
        ctx.exit(2)
    if as_json:
        _dump(report.to_dict())
    elif quiet:
        for s in report.skipped:
            click.echo(_kept_out_line(s), err=True)
    else:
        _print_report(report, engine.index_dir)
    ctx.exit(1 if report.skipped else 0)


def _with_formats(f: Callable[..., Any]) -> Callable[..., Any]:
    """Name the input formats (one table: ``readers.FORMATS``) in the command's help."""
    f.__doc__ = (f.__doc__ or "").replace("{formats}", formats_text())
    return f


@cli.command(epilog=_INDEX_EXIT)
@_with_formats
@_index_options
@click.pass_context
@_fail_cleanly
def index(ctx: click.Context, paths: tuple[Path, ...], full: bool, as_json: bool, quiet: bool, max_mb: float,
          allow_deletes: bool, semantic: bool | None) -> None:
    """Index files and folders (default: the corpus the index was built from, else ./corpus).

    Formats: {formats}. Folders are walked recursively. The same run as
    `reindex`, which never builds the sample corpus.

    \b
    Examples:
      civicsearch index corpus/
      civicsearch --index /srv/idx index /data/crawl --full
    """
    engine: SearchEngine = ctx.obj["engine"]
    if not paths and not engine.remembered_roots() and not engine.exists():
        paths = (default_corpus(),)  # a new index of ./corpus, as documented
    _index_command(ctx, paths, full, as_json, quiet, max_mb, allow_deletes, semantic)


@cli.command(epilog=_INDEX_EXIT)
@_index_options
@click.pass_context
@_fail_cleanly
def reindex(ctx: click.Context, paths: tuple[Path, ...], full: bool, as_json: bool, quiet: bool,
            max_mb: float, allow_deletes: bool, semantic: bool | None) -> None:
    """Bring the index in step with its corpus: the nightly job.

    With no PATH, the corpus roots the index remembers. New files are added,
    changed ones replaced, vanished files and JSONL records deleted, in one
    commit; searches keep answering from the last committed state meanwhile.
    One writer at a time. Every input kept out of the index is listed, each
    night, until it is fixed or removed.

    \b
    Examples:
      civicsearch --index /srv/civic-index reindex --quiet
      civicsearch reindex /data/crawl --json
    """
    _index_command(ctx, paths, full, as_json, quiet, max_mb, allow_deletes, semantic)


def _render_hits(res: SearchResults) -> None:
    first = res.offset + 1
    last = res.offset + len(res.hits)
    head = f"{res.total} {'document matches' if res.total == 1 else 'documents match'} {_safe(res.query)!r}"
    if res.hits:
        head += f" (showing {first}–{last}, by {res.sort})"
    out.print(Text(head, style="bold"))
    for note in res.notes:
        out.print(Text(_safe(f"Note: {note}."), style="dim"))
    if res.relaxed and res.hits:
        out.print(Text("No document contains every word; showing documents with any of them.", style="yellow"))
    if res.suggestion:
        out.print(Text(_safe(f"Did you mean: {res.suggestion}"), style="bold yellow"))
    if res.also_searched:
        out.print(Text(_safe("Also searched: " + ", ".join(res.also_searched)), style="dim"))
    for n, hit in enumerate(res.hits, first):
        meta = " · ".join(hit.summary)
        out.print()
        out.print(Text.assemble((f"{n}. ", "bold"), (_line(hit.title or hit.doc_id), "bold cyan")))
        out.print(Text(f"   {_line(hit.doc_id)}" + (f"  {_line(meta)}" if meta else ""), style="dim"))
        if hit.similar:
            shown = ", ".join(map(_line, hit.similar_ids[:SIMILAR_LISTED]))
            shown += " …" if hit.similar > SIMILAR_LISTED else ""
            out.print(Text(f"   +{hit.similar} similar: {shown}", style="dim"))
        snippet_text = _safe(hit.snippet)  # one character for one: the highlights stay in place
        if out.is_terminal:
            snippet = Text("   " + snippet_text)
            for s, e in hit.highlights:
                snippet.stylize("bold black on yellow", s + 3, e + 3)
            out.print(snippet)
        else:
            out.print(Text("   " + _bracket(snippet_text, hit.highlights)))


def _bracket(text: str, spans: list[tuple[int, int]]) -> str:
    """Plain-text marking for pipes: matched words in 【】."""
    parts, at = [], 0
    for s, e in spans:
        parts += [text[at:s], "【", text[s:e], "】"]
        at = e
    return "".join(parts + [text[at:]])


def _render_facets(res: SearchResults) -> None:
    shown = {k: v[:8] for k, v in res.facets.items() if v}
    if not res.total:
        return  # nothing matched: no facets to count, and nothing to say about them
    if not shown:
        out.print(Text("\nFacets: none (no place, date or topic known for these documents)", style="dim"))
        return
    if not out.is_terminal:
        out.print()
        for name, values in shown.items():
            out.print(Text(f"{name}: " + ", ".join(f"{_line(v.label)} ({v.count})" for v in values)))
        return
    table = Table(box=None, padding=(0, 2), header_style="bold", show_edge=False)
    for name in shown:
        # A label too wide for the terminal is cut with …, never wrapped inside a word.
        table.add_column(name, no_wrap=True, overflow="ellipsis")
    rows = max(len(v) for v in shown.values())
    for i in range(rows):
        table.add_row(*[Text.assemble(_line(v[i].label), (f" ({v[i].count})", "dim")) if i < len(v) else ""
                        for v in shown.values()])
    out.print(Panel(table, title="Facets", title_align="left", expand=False))


class _QueryCommand(click.Command):
    """A command whose words may start with ``-`` and a non-ASCII character (``-嘉定``,
    ``-“嘉定镇”``) or a quote: those exclude a word from the query, they are no options."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        marked, options_end = [], False
        for a in args:
            options_end = options_end or a == "--"
            word = not options_end and len(a) > 1 and a[0] == "-" and (not a[1].isascii() or a[1] in "\"'")
            marked.append(_WORD + a if word else a)
        return super().parse_args(ctx, marked)


def _filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A click option for every metadata field's filter (``--place``, ``--type``, ``--in-force`` …)."""
    for _, option in reversed(registry.options()):
        fn = click.option(option.cli, option.name, is_flag=option.flag, default=None if not option.flag else False,
                          help=option.help)(fn)
    return fn


def _search_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """QUERY… and the options of a search: the filters, the order, the page, folding, synonyms."""
    for option in reversed([
        click.argument("query", nargs=-1, required=True),
        _filter_options,
        click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True),
        click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="Hits per page."),
        click.option("--page", type=click.IntRange(1), default=1, show_default=True),
        click.option("--no-collapse", is_flag=True,
                     help="List every repost of an article instead of folding them into one hit."),
        click.option("--no-synonyms", is_flag=True,
                     help="Search only the words typed, without civic synonyms and abbreviations."),
    ]):
        fn = option(fn)
    return fn


@cli.command(cls=_QueryCommand)
@_search_options
@click.option("--no-semantic", is_flag=True, help="Rank by words only, where the index keeps vectors.")
@click.option("--json", "as_json", is_flag=True, help="Print results and facets as JSON.")
@click.pass_context
@_fail_cleanly
def search(ctx: click.Context, query: tuple[str, ...], sort: str, limit: int, page: int, no_collapse: bool,
           no_synonyms: bool, no_semantic: bool, as_json: bool, **filters: Any) -> None:
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
    Several words need no quotes (civicsearch search 加装电梯 老旧小区).

    \b
    Examples:
      civicsearch search 加装电梯 --since 2023
      civicsearch search 电梯 -嘉定
      civicsearch search '"城市更新"' --sort date --json
    """
    text = " ".join(word.removeprefix(_WORD) for word in query)
    engine: SearchEngine = ctx.obj["engine"]
    if not engine.exists() and ctx.obj["default_index"]:
        _build_first_index(engine)
    res = engine.search(text, sort=sort, limit=limit, offset=(page - 1) * limit, collapse=not no_collapse,
                        synonyms=not no_synonyms, semantic=not no_semantic, **filters)
    if as_json:
        _dump(res.to_dict())
        return
    _render_hits(res)
    _render_facets(res)


def _build_first_index(engine: SearchEngine) -> None:
    """Build ./index from ./corpus for a first search; when another process is building
    it (two first searches at once), wait for it rather than fail."""
    corpus = default_corpus()
    err.print(Text(_safe(f"No index at {engine.index_dir} yet: building it from {corpus} …")))
    waiting = False
    while not engine.exists():
        try:
            _print_report(_run_index(engine, [str(corpus)], False), engine.index_dir)
        except ReindexRunningError as e:
            if not waiting:
                err.print(Text(_safe(f"{e.for_cli()}: waiting for it …"), style="dim"))
                waiting = True
            time.sleep(FIRST_BUILD_POLL)


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
    out.print(Text(_line(doc.title or doc.doc_id), style="bold cyan"))
    rows = [("id", doc.doc_id), ("path", doc.path + (f":{doc.line}" if doc.line else ""))]
    rows += doc.rows + list(doc.meta.items())
    for k, v in rows:
        if v:
            out.print(Text.assemble((f"{_line(k)}: ", "dim"), _line(v)))
    text = _safe(doc.original)
    if out.is_terminal and text.count("\n") + len(rows) + 3 > out.size.height:
        # A law runs to hundreds of lines: page it ($PAGER, else less) as git and man do.
        click.echo_via_pager(_plain_rows(doc.title or doc.doc_id, rows) + "\n\n" + text)
        return
    out.print()
    out.print(Text(text))


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
    out.print(Text.assemble(("index: ", "dim"),
                            _safe(f"{st.index_dir} ({st.size_bytes / 1e6:.1f} MB, schema {st.schema_version})")))
    out.print(Text.assemble(("created: ", "dim"), str(st.created or "-")))
    out.print(Text.assemble(("last update: ", "dim"), str(st.last_updated or "-")))
    out.print(Text.assemble(("roots: ", "dim"), _safe(", ".join(st.roots) or "-")))
    if st.last_run:
        r = st.last_run
        out.print(Text.assemble(("last change: ", "dim"), f"{r.get('finished', '?')}: {r['added']} added, "
                                f"{r['updated']} updated, {r['deleted']} deleted, {r['unchanged']} unchanged, "
                                f"{r['seconds']}s" + (" (full)" if r.get("full") else "")))
    out.print(Text.assemble(("kept out of the index: ", "dim"), str(len(st.kept_out))))
    for e in st.kept_out:
        kept = SkippedInput(e["path"], e["reason"], e.get("line"), e.get("since"))
        out.print(Text("  " + _kept_out_line(kept), style="yellow"))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes, each with its own engine.")
@click.option("--show-paths", is_flag=True, help="Show documents' file paths (hidden by default).")
@click.pass_context
@_fail_cleanly
def serve(ctx: click.Context, host: str, port: int, workers: int, show_paths: bool) -> None:
    """Serve the search page and the JSON API (needs the web extra: pip install ".[web]").

    \b
    Routes: /  /documents/ID  /api/search  /api/documents/ID  /api/facets
            /api/suggest  /api/stats  /api/export.csv  /api/export.jsonl
            /feeds/NAME.atom  /openapi.json  /healthz

    \b
    Examples:
      civicsearch --index /var/lib/civicsearch/index serve
      civicsearch serve --host 0.0.0.0 --port 8000 --workers 2
    """
    try:
        import uvicorn

        from civicsearch import web
    except ImportError as e:
        raise CivicSearchError(f"serving needs the web extra ({e.name} is missing): pip install 'civicsearch[web]'") \
            from None
    engine: SearchEngine = ctx.obj["engine"]
    engine.stats()  # a missing or damaged index is said now, in one line, not by every request
    os.environ["CIVICSEARCH_INDEX"] = str(engine.index_dir.resolve())
    # Each worker builds the same engine (civicsearch.api.engine.engine_from_env).
    os.environ["CIVICSEARCH_BACKEND"] = ctx.obj["backend"]
    if ctx.obj["backend"] != "local":
        os.environ["CIVICSEARCH_OPENSEARCH_URL"] = ctx.obj["url"]
        os.environ["CIVICSEARCH_INDEX_NAME"] = ctx.obj["index_name"]
    os.environ[web.SHOW_PATHS_ENV] = "1" if show_paths else "0"
    where = engine.index_dir if ctx.obj["backend"] == "local" else f"{ctx.obj['url']} ({ctx.obj['index_name']})"
    err.print(Text(_safe(f"Serving {where} on http://{host}:{port}/ ({workers} worker"
                         f"{'s' if workers > 1 else ''}); Ctrl-C stops")))
    engine.close()
    uvicorn.run("civicsearch.web:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning", timeout_keep_alive=5, timeout_graceful_shutdown=5)


@cli.group()
def watch() -> None:
    """Saved searches: after every index run, the new or changed documents each one matches
    are recorded in its feed (served as /feeds/NAME.atom)."""


@watch.command("add", cls=_QueryCommand)
@click.argument("name")
@click.argument("query", nargs=-1, required=True)
@_filter_options
@click.pass_context
@_fail_cleanly
def watch_add(ctx: click.Context, name: str, query: tuple[str, ...], **filters: Any) -> None:
    """Save QUERY (with its filters) as the watch NAME."""
    w = watches.add(ctx.obj["engine"], name, " ".join(q.removeprefix(_WORD) for q in query), **filters)
    err.print(Text(_safe(f"Watching {w.name!r}: {w.query}" + "".join(f" --{k.replace('_', '-')} {v}"
                                                                     for k, v in w.filters.items()))))


@watch.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the watches as JSON.")
@click.pass_context
@_fail_cleanly
def watch_list(ctx: click.Context, as_json: bool) -> None:
    """List the watches."""
    found = watches.all_watches(ctx.obj["engine"].index_dir)
    if as_json:
        _dump([dict(w.to_dict(), entries=len(w.entries)) for w in found])
        return
    for w in found:
        out.print(Text(_line(f"{w.name}: {w.query}  ({len(w.entries)} documents, since {w.created})")))


@watch.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the watch and its entries as JSON.")
@click.pass_context
@_fail_cleanly
def watch_show(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show a watch and the documents runs have found for it, newest first."""
    w = watches.get(ctx.obj["engine"].index_dir, name)
    if as_json:
        _dump(w.to_dict())
        return
    out.print(Text(_line(f"{w.name}: {w.query}"), style="bold"))
    for e in w.entries:
        out.print(Text(_line(f"{e['seen']}  {e['id']}  {e['title']}")))


@watch.command("rm")
@click.argument("name")
@click.pass_context
@_fail_cleanly
def watch_rm(ctx: click.Context, name: str) -> None:
    """Remove a watch and its feed."""
    watches.remove(ctx.obj["engine"].index_dir, name)


@cli.group()
def opensearch() -> None:
    """What the OpenSearch backend would send, printed with no cluster (for an operator to read, a check to validate).

    \b
    Examples:
      civicsearch --index-name civic opensearch template > template.json
      civicsearch opensearch bulk corpus/ | head -2
      civicsearch opensearch query 加装电梯 --place 上海 --since 2023
    """


@opensearch.command("template")
@click.option("--shards", type=click.IntRange(1, 1024), default=1, show_default=True)
@click.option("--replicas", type=click.IntRange(0, 64), default=1, show_default=True)
@click.pass_context
@_fail_cleanly
def opensearch_template(ctx: click.Context, shards: int, replicas: int) -> None:
    """The index template (PUT _index_template/NAME) that every dated index of --index-name takes."""
    from civicsearch.backends.opensearch import mapping

    _dump(mapping.template(ctx.obj["index_name"], shards=shards, replicas=replicas))


@opensearch.command("bulk")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--into", default=None, help="The dated index the actions name (default: --index-name's, dated now).")
@_max_size
@click.pass_context
@_fail_cleanly
def opensearch_bulk(ctx: click.Context, paths: tuple[Path, ...], into: str | None, max_mb: float) -> None:
    """The _bulk NDJSON a full load of PATHS sends, to stdout; inputs kept out are listed on stderr (exit 1)."""
    import time as clock

    from civicsearch.backends.opensearch import backend

    index = into or f"{ctx.obj['index_name']}-{clock.strftime('%Y%m%d%H%M%S')}"
    report = backend.dry_bulk([str(p) for p in paths], index, version=clock.time_ns() // 1_000_000,
                              out=click.echo, max_bytes=int(max_mb * 1_000_000))
    for s in report.skipped:
        click.echo(_kept_out_line(s), err=True)
    ctx.exit(1 if report.skipped else 0)


@opensearch.command("query", cls=_QueryCommand)
@_search_options
@click.pass_context
@_fail_cleanly
def opensearch_query(ctx: click.Context, query: tuple[str, ...], sort: str, limit: int, page: int,
                     no_collapse: bool, no_synonyms: bool, **filters: Any) -> None:
    """The _search body a search sends (filter values as given: no cluster checks them)."""
    from civicsearch.backends.opensearch import backend

    text = " ".join(word.removeprefix(_WORD) for word in query)
    _dump(backend.search_request(text, sort=sort, limit=limit, offset=(page - 1) * limit, collapse=not no_collapse,
                                 synonyms=not no_synonyms, **filters))


def _plain_rows(title: str, rows: list[tuple[str, Any]]) -> str:
    return "\n".join([_line(title)] + [f"{_line(k)}: {_line(v)}" for k, v in rows if v])


def main() -> None:
    cli.main(prog_name="civicsearch")


def only_read() -> bool:
    """Whether the command that ran was one of :data:`READING_COMMANDS`."""
    return cli.invoked in READING_COMMANDS


if __name__ == "__main__":
    main()
