"""The Python API: ``SearchEngine`` indexes documents and answers queries."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from whoosh import query as wq
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from civicsearch import store
from civicsearch.errors import DocumentNotFoundError, InvalidArgumentError
from civicsearch.facets import count_facets
from civicsearch.query import build_filter, parse, single_year, to_whoosh
from civicsearch.readers import DEFAULT_MAX_BYTES
from civicsearch.results import DocumentRecord, Hit, IndexReport, IndexStats, SearchResults, format_date
from civicsearch.segment import get_segmenter
from civicsearch.snippets import make_snippet, match_spans

if TYPE_CHECKING:
    from civicsearch.indexer import Progress

SORTS = ("relevance", "date")
MAX_LIMIT = 1000


def default_index_dir() -> Path:
    """``$CIVICSEARCH_INDEX``, else ``./index``."""
    return Path(os.environ.get("CIVICSEARCH_INDEX") or "index")


def default_corpus() -> Path:
    """``./corpus`` when there is one, else the sample corpus shipped in the package."""
    local = Path("corpus")
    if local.is_dir():
        return local
    return Path(str(resources.files("civicsearch").joinpath("sample_corpus")))


def _described(stored: dict) -> dict:
    """The fields a hit and a document record share, from a document's stored fields."""
    info = stored.get("info") or {}
    return {
        "doc_id": stored["id"],
        "title": stored.get("title", ""),
        "path": stored.get("path", ""),
        "date": format_date(stored.get("date"), info.get("date_precision")),
        "place": info.get("place"),
        "place_code": info.get("place_code"),
        "doc_type": info.get("doc_type"),
        "docnos": list(info.get("docnos") or []),
        "topics": list(info.get("topics") or []),
        "source": info.get("source"),
        "url": info.get("url"),
    }


class SearchEngine:
    """Index civic documents and search them.

    >>> engine = SearchEngine("index")
    >>> engine.index(["corpus"])            # doctest: +SKIP
    >>> engine.search("加装电梯", since="2023").hits[0].title   # doctest: +SKIP
    """

    def __init__(self, index_dir: str | Path | None = None) -> None:
        self.index_dir = Path(index_dir) if index_dir is not None else default_index_dir()
        self._searcher: Searcher | None = None

    def _current_searcher(self) -> Searcher:
        """A searcher kept open between calls and refreshed when the index changed.

        Opening the readers is most of a query's cost on a large index, so one
        engine serves many searches from the same searcher (not thread-safe: use
        one engine per thread).
        """
        if self._searcher is not None and not self._searcher.up_to_date():
            # A fresh searcher rather than Searcher.refresh(), which can carry
            # segments a merge has since removed into the new reader.
            self.close()
        if self._searcher is None:
            self._searcher = store.open_index(self.index_dir).searcher(weighting=BM25F())
        return self._searcher

    def close(self) -> None:
        """Release the open searcher (it is reopened on the next call)."""
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def __enter__(self) -> "SearchEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing left to release
            pass

    # -- writing -------------------------------------------------------------

    def index(
        self,
        paths: Iterable[str | Path] | None = None,
        *,
        full: bool = False,
        progress: "Progress | None" = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        procs: int | None = None,
    ) -> IndexReport:
        """Add, update and delete documents so the index matches ``paths``.

        With no paths, the corpus roots the index was built from (or the default
        corpus for a new index). ``full=True`` rebuilds from scratch.
        """
        # Imported here: searching needs none of the reading and extraction stack.
        from civicsearch.indexer import index_paths

        self.close()  # a --full rebuild replaces the files the searcher holds
        paths = list(paths or [])
        if not paths:
            roots = store.read_meta(store.current_generation(self.index_dir)).get("roots")
            paths = [Path(r) for r in roots] if roots else [default_corpus()]
        return index_paths(self.index_dir, paths, full=full, progress=progress, max_bytes=max_bytes, procs=procs)

    def exists(self) -> bool:
        return store.exists(self.index_dir)

    # -- reading -------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        place: str | None = None,
        topic: str | None = None,
        since: str | None = None,
        until: str | None = None,
        sort: str = "relevance",
        limit: int = 10,
        offset: int = 0,
    ) -> SearchResults:
        """Run ``query``; facets (place, year, topic) always come back with the hits."""
        if sort not in SORTS:
            raise InvalidArgumentError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        if not 0 < limit <= MAX_LIMIT:
            raise InvalidArgumentError(f"limit must be between 1 and {MAX_LIMIT}")
        if offset < 0:
            raise InvalidArgumentError("offset must not be negative")
        parsed = parse(query)
        filt = build_filter(place=place, topic=topic, since=since, until=until)
        searcher = self._current_searcher()
        relaxed = False
        q = to_whoosh(parsed, "all")
        matched = self._matching(searcher, q, filt)
        if not matched and parsed.term_count() > 1:
            any_q = to_whoosh(parsed, "any")
            matched = self._matching(searcher, any_q, filt)
            if matched:
                q, relaxed = any_q, True
        facets = count_facets(searcher.reader(), matched, place, single_year(since, until))
        hits: list[Hit] = []
        if matched and offset < len(matched):
            kwargs = {"sortedby": "datekey", "reverse": True} if sort == "date" else {}
            results = searcher.search(q, filter=filt, limit=offset + limit, **kwargs)
            clauses = parsed.positive_clauses()
            for hit in results[offset : offset + limit]:
                hits.append(self._hit(searcher.reader(), hit.docnum, hit.fields(), hit.score, clauses))
        return SearchResults(query, len(matched), hits, facets, offset, limit, sort, relaxed)

    @staticmethod
    def _matching(searcher: object, q: wq.Query, filt: wq.Query | None) -> set[int]:
        full = wq.And([q, filt]) if filt is not None else q
        return set(searcher.docs_for_query(full))  # type: ignore[attr-defined]

    @staticmethod
    def _hit(reader: object, docnum: int, stored: dict, score: float | None, clauses: list) -> Hit:
        snippet, highlights = make_snippet(stored.get("body", ""), match_spans(reader, docnum, clauses))  # type: ignore[arg-type]
        return Hit(score=round(float(score or 0.0), 4), snippet=snippet, highlights=highlights,
                   **_described(stored))

    def get(self, doc_id: str) -> DocumentRecord:
        """One document by id (or by an unambiguous id prefix, such as a file name without suffix)."""
        searcher = self._current_searcher()
        stored = searcher.document(id=doc_id)
        if stored is None:
            found = list(searcher.docs_for_query(wq.Prefix("id", doc_id)))[:2] if doc_id else []
            if len(found) != 1:
                raise DocumentNotFoundError(f"no document with id {doc_id!r}")
            stored = searcher.stored_fields(found[0])
        info = stored.get("info") or {}
        return DocumentRecord(
            **_described(stored),
            date_source=info.get("date_source"),
            body=stored.get("body", ""),
            original=stored.get("original") or stored.get("body", ""),
            meta=dict(info.get("meta") or {}),
            line=info.get("line"),
        )

    def stats(self) -> IndexStats:
        """Document count, size on disk, last update, corpus roots and the last run's report."""
        searcher = self._current_searcher()
        meta = store.read_meta(store.current_generation(self.index_dir))
        return IndexStats(
            documents=searcher.doc_count(),
            index_dir=str(self.index_dir.resolve()),
            size_bytes=store.size_on_disk(self.index_dir),
            schema_version=meta.get("schema_version", 0),
            created=meta.get("created"),
            last_updated=meta.get("updated"),
            roots=list(meta.get("roots", [])),
            segmenter=get_segmenter().engine,
            last_run=meta.get("last_run"),
        )
