"""The Python API: ``SearchEngine`` indexes documents and answers queries."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from functools import partial, wraps
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from whoosh import query as wq
from whoosh.searching import Searcher

from civicsearch import registry, snippets, store, watches
from civicsearch.errors import AmbiguousIdError, CivicSearchError, DocumentNotFoundError, InvalidArgumentError
from civicsearch.collapse import collapse_similar
from civicsearch.facets import Columns
from civicsearch.metafields.date import COLUMN as DATE_COLUMN
from civicsearch.postings import live_docs
from civicsearch.query import Clause, ParsedQuery, docno_query, parse, synonym_clauses
from civicsearch.rank import LONG_QUERY, Ranker
from civicsearch.readers import DEFAULT_MAX_BYTES
from civicsearch.results import DocumentRecord, Hit, IndexReport, IndexStats, SearchResults
from civicsearch.segment import get_segmenter
from civicsearch.snippets import Occurrences, make_snippet, match_spans

if TYPE_CHECKING:
    from civicsearch.indexer import Progress

SORTS = ("relevance", "date")
#: Ranked documents looked through beyond the page for reposts of the hits shown.
COLLAPSE_WINDOW = 100
MAX_LIMIT = 1000
#: How deep results can be paged: past it, nobody reads on, and the ranking's cost grows with it.
MAX_OFFSET = 100_000
#: How many of the documents an ambiguous id prefix names are listed.
AMBIGUOUS_LISTED = 5


def _check(name: str, value: object, kind: type | tuple[type, ...], optional: bool = False) -> None:
    """Reject a wrong argument type with :class:`InvalidArgumentError` (never a raw TypeError)."""
    if value is None and optional:
        return
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise InvalidArgumentError(f"must be {names}{' or None' if optional else ''}, not {type(value).__name__}",
                                   name)


def default_index_dir() -> Path:
    """``$CIVICSEARCH_INDEX``, else ``./index``."""
    return Path(os.environ.get("CIVICSEARCH_INDEX") or "index")


def default_corpus() -> Path:
    """``./corpus`` when there is one, else the sample corpus shipped in the package."""
    local = Path("corpus")
    if local.is_dir():
        return local
    return Path(str(resources.files("civicsearch").joinpath("sample_corpus")))


def _whoosh_mask(searcher: Searcher, q: wq.Query, size: int) -> np.ndarray:
    """The documents a Whoosh query matches, as a boolean array by docnum."""
    found = np.zeros(size, dtype=bool)
    found[list(searcher.docs_for_query(q))] = True
    return found


def _holding(searcher: Searcher, ranker: Ranker, clauses: list[Clause]) -> np.ndarray:
    """The documents any of ``clauses`` matches, as a boolean array by docnum."""
    found = ranker.holding_any([c.concepts for c in clauses if not c.docno])
    for c in clauses:
        if c.docno:
            found |= _whoosh_mask(searcher, docno_query(c), ranker.size)
    return found


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``method`` holding the engine's lock: one engine serves many threads, one call at a time."""

    @wraps(method)
    def locked(self: "SearchEngine", *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class SearchEngine:
    """Index civic documents and search them.

    One engine is safe to share between threads (a server's): its searches, look-ups
    and statistics run one at a time on the searcher it keeps open, which follows the
    index's commits and generation switches between calls, so a search never meets a
    searcher another thread is closing. Indexing runs outside that lock (searches go on
    from the last committed state meanwhile); the index's own writer lock keeps writers
    one at a time across threads and processes.

    >>> engine = SearchEngine("index")
    >>> engine.index(["corpus"])            # doctest: +SKIP
    >>> engine.search("加装电梯", since="2023").hits[0].title   # doctest: +SKIP
    """

    def __init__(self, index_dir: str | Path | None = None) -> None:
        _check("index_dir", index_dir, (str, os.PathLike), optional=True)
        self.index_dir = Path(index_dir) if index_dir is not None else default_index_dir()
        if "\x00" in str(self.index_dir):
            raise InvalidArgumentError("a path cannot hold a NUL character", "index_dir")
        self._hold = store.ReaderHold(self.index_dir)
        self._gen_name: str | None = None
        self._searcher: Searcher | None = None
        self._ranker: Ranker = None  # type: ignore[assignment]
        self._columns: Columns = None  # type: ignore[assignment]
        self._vocabulary: Any = None  # did-you-mean's, built on the first miss
        self._lock = threading.RLock()

    def _current_searcher(self) -> Searcher:
        """A searcher kept open between calls and refreshed when the index changed
        (called with the engine's lock held).

        Opening the readers is most of a query's cost on a large index, so one
        engine serves many searches from the same searcher.
        """
        if self._searcher is not None and (store.current_generation_name(self.index_dir) != self._gen_name
                                           or not self._searcher.up_to_date()):
            # A fresh searcher rather than Searcher.refresh(), which can carry
            # segments a merge has since removed into the new reader; and after a
            # full rebuild's switch, one on the new generation.
            self.close()
        if self._searcher is None:
            gen = self._hold.acquire()  # held until close(): a rebuild leaves it in place
            try:
                # No Whoosh weighting: Whoosh only finds documents, rank.py scores them.
                self._searcher = store.open_index(self.index_dir, gen).searcher()
                self._ranker = Ranker(self._searcher)
                self._columns = Columns(self._searcher.reader())
            except BaseException:
                self.close()
                raise
            self._gen_name = gen.name
        return self._searcher

    @_serialized
    def close(self) -> None:
        """Release the open searcher (it is reopened on the next call)."""
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
            self._ranker = self._columns = self._vocabulary = None  # type: ignore[assignment]
        self._hold.release()
        self._gen_name = None

    def __enter__(self) -> "SearchEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if "_lock" not in self.__dict__:
            return  # __init__ failed before the engine had anything to release
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
        allow_deletes: bool = False,
    ) -> IndexReport:
        """Add, update and delete documents so the index matches ``paths``.

        With no paths, the corpus roots the index remembers (an index without
        any is an :class:`InvalidArgumentError`: the caller names the corpus).
        ``full=True`` rebuilds from scratch. A new index from more than a megabyte
        of input is built by ``procs`` worker processes (default: one per core).
        A run that would delete every document of a root, or most of many, is a
        :class:`~civicsearch.errors.MassDeletionError` unless ``allow_deletes``.
        """
        # Imported here: searching needs none of the reading and extraction stack.
        from civicsearch.indexer import index_paths

        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        _check("paths", paths, Iterable, optional=True)
        paths = list(paths or [])
        for p in paths:
            _check("each path", p, (str, os.PathLike))
            if "\x00" in os.fspath(p):
                raise InvalidArgumentError(f"{os.fspath(p)!r} holds a NUL character", "paths")
        _check("full", full, bool)
        _check("allow_deletes", allow_deletes, bool)
        _check("max_bytes", max_bytes, int)
        _check("procs", procs, int, optional=True)
        if max_bytes <= 0 or (procs is not None and procs < 1):
            raise InvalidArgumentError("max_bytes and procs must be positive")
        self.close()  # a --full rebuild replaces the files the searcher holds
        if not paths:
            paths = [Path(r) for r in self.remembered_roots()]
            if not paths:
                raise InvalidArgumentError(
                    f"the index at {self.index_dir} remembers no corpus folder: name one",
                    remedy="as in engine.index([PATH])",
                    cli_remedy=f"as in `civicsearch --index {self.index_dir} reindex PATH`")
        report = index_paths(self.index_dir, paths, full=full, progress=progress, max_bytes=max_bytes, procs=procs,
                             allow_deletes=allow_deletes)
        # Saved searches are told of what this run added or changed.
        watches.record(self, report.changed_ids, store.now_iso())
        return report

    @_serialized
    def remembered_roots(self) -> list[str]:
        """The corpus roots the index was built from (or a first build that died was given)."""
        gen = store.current_generation(self.index_dir)
        roots = store.read_meta(gen).get("roots") if gen is not None else None
        return list(roots or store.pending_roots(self.index_dir))

    def exists(self) -> bool:
        return store.exists(self.index_dir)

    # -- reading -------------------------------------------------------------

    @_serialized
    def search(
        self,
        query: str,
        *,
        sort: str = "relevance",
        limit: int = 10,
        offset: int = 0,
        collapse: bool = True,
        synonyms: bool = True,
        **filters: str | bool | None,
    ) -> SearchResults:
        """Run ``query``; every field's facets (place, year, topic, type, org, validity …) come back with the hits.

        ``filters`` are the metadata fields' options (``registry.options()``):
        ``place``, ``topic``, ``type``, ``org``, ``since``, ``until`` (strings),
        ``in_force`` (a flag) … None leaves one unset. Short queries need every
        word; long natural ones (``rank.LONG_QUERY`` words or more) rank every
        document that holds enough of them. ``collapse`` folds reposts of one
        article into one hit; ``synonyms`` widens words with civic synonyms and
        abbreviations.
        """
        _check("query", query, str)
        given = registry.check_filters(filters)
        _check("sort", sort, str)
        _check("limit", limit, int)
        _check("offset", offset, int)
        _check("collapse", collapse, bool)
        _check("synonyms", synonyms, bool)
        if sort not in SORTS:
            raise InvalidArgumentError(f"must be one of {', '.join(SORTS)}, not {sort!r}", "sort")
        if not 0 < limit <= MAX_LIMIT:
            raise InvalidArgumentError(f"must be between 1 and {MAX_LIMIT}, not {limit}", "limit")
        if not 0 <= offset <= MAX_OFFSET:
            raise InvalidArgumentError(f"must be between 0 and {MAX_OFFSET:,}, not {offset}", "offset")
        parsed = parse(query, synonyms=synonyms)
        searcher = self._current_searcher()
        ranker, columns = self._ranker, self._columns
        given = registry.canonical_filters(given, searcher.reader())
        wanted = offset + limit
        depth = wanted + COLLAPSE_WINDOW if collapse else wanted
        datekeys = columns[DATE_COLUMN]
        sort_key = (lambda d: datekeys[d] or 0) if sort == "date" else None
        ranking, relaxed, notes = self._rank(searcher, parsed, given, depth, sort_key)
        # A long question is ranked, not required word by word: it asks for no correction.
        short = not (parsed.is_natural() and len(parsed.concepts()) >= LONG_QUERY)
        suggestion = self._suggest(searcher, parsed, given) if short and (relaxed or not len(ranking.matched)) else None
        facets = registry.count_facets(columns, ranking.matched, given)
        groups = collapse_similar(ranking.order, columns["sketch"], wanted) if collapse else [
            (d, []) for d in ranking.order[:wanted]]
        clauses = parsed.positive_clauses() + synonym_clauses(parsed)
        ranker.prefetch_characters(snippets.FIELD, {t for c in clauses if snippets.FIELD in c.fields for t in c.terms},
                                   [d for d, _ in groups[offset:wanted]], snippets.READ_SPANS)
        occurrences = partial(ranker.characters, limit=snippets.READ_SPANS)
        hits = []
        for d, similar in groups[offset:wanted]:
            hit = self._hit(searcher, d, ranking.scores.get(d, 0.0), clauses, occurrences)
            hit.similar = len(similar)
            hit.similar_ids = [columns.cell("id", s) for s in similar]
            hits.append(hit)
        return SearchResults(query, len(ranking.matched), hits, facets, offset, limit, sort, relaxed,
                             also_searched=parsed.also_searched() if synonyms else [], collapsed=collapse,
                             notes=notes, suggestion=suggestion)

    def _rank(self, searcher: Searcher, parsed: ParsedQuery, given: dict[str, Any], depth: int = 0,
              sort_key: Callable[[int], Any] | None = None) -> tuple[Any, bool, list[str]]:
        """The query's matching and ranking under the (canonical) filters ``given``, with the
        engine's lock held: the ranking, whether it had to relax, and the notes for the user."""
        ranker = self._ranker
        allowed = self._allowed(searcher, ranker, self._columns, parsed, given)
        concepts = parsed.concepts()
        relaxed = False
        grams = parsed.grams()
        notes = list(parsed.notes)
        if parsed.is_natural() and len(concepts) >= LONG_QUERY:
            ranked = dict(matched=None, allowed=allowed, depth=depth, sort_key=sort_key, grams=grams)
            required = parsed.quoted()
            ranking = ranker.rank(concepts, required=required, **ranked)
            if required and not len(ranking.matched):
                # Quotes in a pasted title are often emphasis (收取“进站费”): rather than
                # nothing, the question ranked as if unquoted, and the user told.
                relaxed = True
                notes.append("no document holds every quoted phrase: ranked without requiring them")
                ranking = ranker.rank(concepts, **ranked)
        else:
            if concepts and parsed.is_conjunction():
                # Every clause is words or a phrase: the ranker's own postings say which
                # documents hold them all, without Whoosh's slower span matching.
                ranking = ranker.rank(concepts, every=True, allowed=allowed, depth=depth, sort_key=sort_key,
                                      grams=grams)
            else:
                # OR between clauses, a document number, or nothing but exclusions: matched
                # group by group from the same postings (a number from Whoosh's term table).
                matched = live_docs(searcher.reader(), ranker.size)
                if allowed is not None:
                    matched &= allowed
                for group in parsed.groups:
                    matched &= _holding(searcher, ranker, group)
                ranking = ranker.rank(concepts, matched=matched, depth=depth, sort_key=sort_key)
            if not len(ranking.matched) and parsed.term_count() >= 2 and concepts:
                # No document holds every word: rank those holding any of them.
                relaxed = True
                ranking = ranker.rank(parsed.loose_concepts(), matched=None, allowed=allowed, coverage=0.0,
                                      depth=depth, sort_key=sort_key, grams=grams)
        return ranking, relaxed, notes

    def _suggest(self, searcher: Searcher, parsed: ParsedQuery, given: dict[str, Any]) -> str | None:
        """Did you mean: the closest query that finds documents without relaxing (see :mod:`civicsearch.suggest`)."""
        from civicsearch import suggest

        def answers(candidate: str) -> int:
            try:
                fixed = parse(candidate)
            except CivicSearchError:
                return 0
            ranking, relaxed, _ = self._rank(searcher, fixed, given)
            return 0 if relaxed else len(ranking.matched)

        return suggest.suggest(parsed.text, self._words(searcher), answers)

    def _words(self, searcher: Searcher) -> Any:
        """Did-you-mean's word list of the open searcher's index, read once (with the lock held)."""
        if self._vocabulary is None:
            from civicsearch import suggest

            self._vocabulary = suggest.Vocabulary(searcher.reader())
        return self._vocabulary

    @_serialized
    def warm(self) -> None:
        """Open the index and read what did-you-mean needs now, so that no first search pays
        for it (a server calls this as each worker starts)."""
        self._words(self._current_searcher())
        get_segmenter()

    @_serialized
    def matching(self, query: str, ids: Iterable[str], **filters: str | bool | None) -> list[str]:
        """Which of the documents ``ids`` the query and filters match (as a search would,
        never by relaxing): what a saved search is told of after a run."""
        _check("query", query, str)
        wanted = set(ids)
        if not wanted:
            return []
        parsed = parse(query)
        searcher = self._current_searcher()
        given = registry.canonical_filters(registry.check_filters(filters), searcher.reader())
        ranking, relaxed, _ = self._rank(searcher, parsed, given)
        if relaxed:
            return []
        found = (self._columns.cell("id", int(d)) for d in ranking.matched)
        return sorted(i for i in found if i in wanted)

    @staticmethod
    def _allowed(searcher: Searcher, ranker: Ranker, columns: Columns, parsed: ParsedQuery,
                 given: dict[str, Any]) -> np.ndarray | None:
        """The filters and the excluded words as a boolean array by docnum (None when nothing is ruled out)."""
        filt = registry.build_filter(given, searcher.reader())
        allowed = registry.filter_mask(given, columns)
        if filt is None and allowed is None and not parsed.excluded:
            return None
        if allowed is None:
            allowed = np.ones(ranker.size, dtype=bool)
        if filt is not None:
            allowed &= _whoosh_mask(searcher, filt, ranker.size)
        if parsed.excluded:
            allowed &= ~_holding(searcher, ranker, parsed.excluded)
        return allowed

    @staticmethod
    def _hit(searcher: Searcher, docnum: int, score: float, clauses: list, occurrences: Occurrences) -> Hit:
        stored = searcher.stored_fields(docnum)
        spans = match_spans(docnum, clauses, occurrences)
        snippet, highlights = make_snippet(stored.get("body", ""), spans)
        info = stored.get(registry.STORED_FIELD)
        return Hit(doc_id=stored["id"], title=stored.get("title", ""), path=stored.get("path", ""),
                   score=round(float(score), 4), snippet=snippet, highlights=highlights,
                   fields=registry.describe(info), summary=registry.summary(info))

    @_serialized
    def get(self, doc_id: str) -> DocumentRecord:
        """One document by id (or by an unambiguous id prefix, such as a file name without suffix)."""
        _check("doc_id", doc_id, str)
        searcher = self._current_searcher()
        stored = searcher.document(id=doc_id)
        if stored is None:
            found = []
            if doc_id:
                for n, docnum in enumerate(searcher.docs_for_query(wq.Prefix("id", doc_id))):
                    if n > AMBIGUOUS_LISTED:
                        break
                    found.append(docnum)
            if not found:
                raise DocumentNotFoundError(f"no document with id {doc_id!r}")
            if len(found) > 1:
                ids = sorted(searcher.stored_fields(d)["id"] for d in found[:AMBIGUOUS_LISTED])
                more = ", …" if len(found) > AMBIGUOUS_LISTED else ""
                raise AmbiguousIdError(f"the id prefix {doc_id!r} is ambiguous: {', '.join(map(repr, ids))}{more} "
                                       "all start with it; give more of the id")
            stored = searcher.stored_fields(found[0])
        info = stored.get(registry.STORED_FIELD)
        return DocumentRecord(
            doc_id=stored["id"],
            title=stored.get("title", ""),
            path=stored.get("path", ""),
            body=stored.get("body", ""),
            original=stored.get("original") or stored.get("body", ""),
            fields=registry.describe(info, record=True),
            rows=registry.rows(info),
        )

    @_serialized
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
            kept_out=list(meta.get(store.KEPT_OUT, [])),
        )
