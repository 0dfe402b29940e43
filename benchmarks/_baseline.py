"""The baseline a user would write in an afternoon: Whoosh + ``jieba.analyse.ChineseAnalyzer``.

One writer, title and body stored, default BM25F; queries through a
``MultifieldParser`` over title and body with OR grouping (requiring every word
of a sentence finds nothing), snippets from ``hit.highlights("body")``, no facets.

    python benchmarks/_baseline.py build INDEX_DIR CORPUS_DIR [--every N]
    python benchmarks/_baseline.py serve INDEX_DIR

build prints one JSON line; serve answers queries from stdin, in turn with
civicsearch (see ``bench.paired``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import WARM_UP, peak_rss_mb, records, serve, size_on_disk, text_bytes  # noqa: E402


def _analyzer():
    import jieba
    from jieba.analyse import ChineseAnalyzer

    # jieba's cache goes to the project's own folder, never the shared $TMPDIR.
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "civicsearch"
    cache.mkdir(parents=True, exist_ok=True)
    jieba.dt.tmp_dir = str(cache)
    jieba.setLogLevel(logging.WARNING)
    return ChineseAnalyzer()


def build(index_dir: Path, corpus: Path, every: int) -> dict:
    from whoosh import fields, index

    analyzer = _analyzer()
    schema = fields.Schema(id=fields.ID(stored=True, unique=True),
                           title=fields.TEXT(stored=True, analyzer=analyzer),
                           body=fields.TEXT(stored=True, analyzer=analyzer))
    index_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    ix = index.create_in(str(index_dir), schema)
    docs = size = 0
    with ix.writer() as w:
        for rec in records(corpus, every):
            w.add_document(id=rec["id"], title=rec.get("title") or "", body=rec.get("text") or "")
            docs += 1
            size += text_bytes(rec)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "docs": docs, "mb": round(size / 1e6, 2),
            "peak_rss_mb": peak_rss_mb(), "index_mb": round(size_on_disk(index_dir) / 1e6, 1)}


def searcher(index_dir: Path) -> Callable[[str], list[str]]:
    """The baseline's warmed-up search: the first ten ids, each hit highlighted."""
    from whoosh import index
    from whoosh.qparser import MultifieldParser, OrGroup

    _analyzer()
    ix = index.open_dir(str(index_dir))
    # Left open for the process's life, as a search service would keep it.
    searcher = ix.searcher()
    parser = MultifieldParser(["title", "body"], ix.schema, group=OrGroup)

    def run(text: str) -> list[str]:
        results = searcher.search(parser.parse(text), limit=10)
        ids = []
        for hit in results:
            hit.highlights("body")
            ids.append(hit["id"])
        return ids

    for text in WARM_UP:
        run(text)
    return run


def main() -> None:
    cmd, index_dir, *rest = sys.argv[1:]
    if cmd == "serve":
        serve(searcher(Path(index_dir)))
        return
    source = rest.pop(0)
    every = int(rest[rest.index("--every") + 1]) if "--every" in rest else 1
    print(json.dumps(build(Path(index_dir), Path(source), every)))


if __name__ == "__main__":
    main()
