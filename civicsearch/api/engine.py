"""The Python API: ``SearchEngine`` indexes documents and answers queries.

The engine checks the caller's arguments, parses the query and hands both to its
backend (:mod:`civicsearch.backends`): the local index by default. One engine is
shared safely between threads: its calls run one at a time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from functools import wraps
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from civicsearch.api import watches
from civicsearch.backends.base import Backend, Page, Progress
from civicsearch.backends.local import LocalBackend
from civicsearch.errors import InvalidArgumentError
from civicsearch.fields import registry
from civicsearch.index import store
from civicsearch.ingest.readers import DEFAULT_MAX_BYTES
from civicsearch.results import DocumentRecord, IndexReport, IndexStats, SearchResults
from civicsearch.search.params import RankParams
from civicsearch.search.query import parse

SORTS = ("relevance", "date")
MAX_LIMIT = 1000
#: How deep results can be paged: past it, nobody reads on, and the ranking's cost grows with it.
MAX_OFFSET = 100_000


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


#: The backends a command line or a server can name (``--backend``, ``$CIVICSEARCH_BACKEND``).
BACKENDS = ("local", "opensearch")
#: The read alias an OpenSearch cluster's index is searched under unless another is named.
DEFAULT_INDEX_NAME = "civic"


def open_engine(index_dir: str | Path | None = None, *, backend: str = "local", url: str | None = None,
                index_name: str | None = None) -> "SearchEngine":
    """An engine on the named backend: ``local`` (the index folder ``index_dir``) or
    ``opensearch`` (the cluster at ``url``, its read alias ``index_name``; ``index_dir``
    keeps the writer lock, the manifest and saved searches)."""
    if backend not in BACKENDS:
        raise InvalidArgumentError(f"must be one of {', '.join(BACKENDS)}, not {backend!r}", "backend")
    if backend == "local":
        if url or index_name:
            raise InvalidArgumentError("a URL and an index name are for the opensearch backend", "url")
        return SearchEngine(index_dir)
    if not url:
        raise InvalidArgumentError("the opensearch backend needs the cluster's URL (http://host:9200)", "url")
    from civicsearch.backends.opensearch import OpenSearchBackend

    folder = Path(index_dir) if index_dir is not None else default_index_dir()
    return SearchEngine(backend=OpenSearchBackend(url, index_name or DEFAULT_INDEX_NAME, folder))


def engine_from_env() -> "SearchEngine":
    """The engine ``$CIVICSEARCH_BACKEND``, ``$CIVICSEARCH_OPENSEARCH_URL``, ``$CIVICSEARCH_INDEX_NAME``
    and ``$CIVICSEARCH_INDEX`` name (a server's workers build theirs so)."""
    backend = os.environ.get("CIVICSEARCH_BACKEND") or "local"
    if backend == "local":
        return SearchEngine()
    return open_engine(backend=backend, url=os.environ.get("CIVICSEARCH_OPENSEARCH_URL"),
                       index_name=os.environ.get("CIVICSEARCH_INDEX_NAME"))


def default_corpus() -> Path:
    """``./corpus`` when there is one, else the sample corpus shipped in the package."""
    local = Path("corpus")
    if local.is_dir():
        return local
    return Path(str(resources.files("civicsearch").joinpath("sample_corpus")))


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
    and statistics run one at a time on the index it keeps open, which follows the
    index's commits and generation switches between calls, so a search never meets a
    searcher another thread is closing. Indexing runs outside that lock (searches go on
    from the last committed state meanwhile); the index's own writer lock keeps writers
    one at a time across threads and processes.

    ``params`` are the local backend's ranking parameters; ``backend`` answers instead
    of the local index (``index_dir`` is then its own folder: locks, saved searches).

    >>> engine = SearchEngine("index")
    >>> engine.index(["corpus"])            # doctest: +SKIP
    >>> engine.search("加装电梯", since="2023").hits[0].title   # doctest: +SKIP
    """

    def __init__(self, index_dir: str | Path | None = None, *, params: RankParams | None = None,
                 backend: Backend | None = None) -> None:
        _check("index_dir", index_dir, (str, os.PathLike), optional=True)
        _check("params", params, RankParams, optional=True)
        self.index_dir = Path(index_dir) if index_dir is not None else default_index_dir()
        if "\x00" in str(self.index_dir):
            raise InvalidArgumentError("a path cannot hold a NUL character", "index_dir")
        if backend is not None and params is not None:
            raise InvalidArgumentError("ranking parameters are the local backend's: give them to it", "params")
        self.backend: Backend = backend if backend is not None else LocalBackend(self.index_dir, params or RankParams())
        if backend is not None:
            self.index_dir = backend.index_dir
        self._lock = threading.RLock()

    @_serialized
    def close(self) -> None:
        """Release the open index (it is reopened on the next call)."""
        self.backend.close()

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
        progress: Progress | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        procs: int | None = None,
        allow_deletes: bool = False,
        semantic: bool | None = None,
    ) -> IndexReport:
        """Add, update and delete documents so the index matches ``paths``.

        With no paths, the corpus roots the index remembers (an index without
        any is an :class:`InvalidArgumentError`: the caller names the corpus).
        ``full=True`` rebuilds from scratch. A new index from more than a megabyte
        of input is built by ``procs`` worker processes (default: one per core).
        A run that would delete every document of a root, or most of many, is a
        :class:`~civicsearch.errors.MassDeletionError` unless ``allow_deletes``.
        ``semantic=True`` keeps every document's embedding for the semantic rerank (the
        semantic extra; a long first build); None keeps what the index was built with, and
        turning it on or off takes ``full=True``.
        """
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
        _check("semantic", semantic, bool, optional=True)
        _check("max_bytes", max_bytes, int)
        _check("procs", procs, int, optional=True)
        if max_bytes <= 0 or (procs is not None and procs < 1):
            raise InvalidArgumentError("max_bytes and procs must be positive")
        self.close()  # a --full rebuild replaces the files the open index holds
        if not paths:
            paths = [Path(r) for r in self.remembered_roots()]
            if not paths:
                raise InvalidArgumentError(
                    f"the index at {self.index_dir} remembers no corpus folder: name one",
                    remedy="as in engine.index([PATH])",
                    cli_remedy=f"as in `civicsearch --index {self.index_dir} reindex PATH`")
        report = self.backend.index(paths, full=full, progress=progress, max_bytes=max_bytes, procs=procs,
                                    allow_deletes=allow_deletes, semantic=semantic)
        # Saved searches are told of what this run added or changed.
        watches.record(self, report.changed_ids, store.now_iso())
        return report

    @_serialized
    def remembered_roots(self) -> list[str]:
        """The corpus roots the index was built from (or a first build that died was given)."""
        return self.backend.remembered_roots()

    def exists(self) -> bool:
        return self.backend.exists()

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
        semantic: bool = True,
        **filters: str | bool | None,
    ) -> SearchResults:
        """Run ``query``; every field's facets (place, year, topic, type, org, validity …) come back with the hits.

        ``filters`` are the metadata fields' options (``registry.options()``):
        ``place``, ``topic``, ``type``, ``org``, ``since``, ``until`` (strings),
        ``in_force`` (a flag) … None leaves one unset. Short queries need every
        word; long natural ones (``RankParams.long_query`` words or more) rank every
        document that holds enough of them. ``collapse`` folds reposts of one
        article into one hit; ``synonyms`` widens words with civic synonyms and
        abbreviations. ``semantic`` reorders the top of a long question's ranking by meaning
        where the index keeps vectors (``results.semantic`` says when it did).
        """
        _check("query", query, str)
        given = registry.check_filters(filters)
        for name, value, kind in (("sort", sort, str), ("limit", limit, int), ("offset", offset, int),
                                  ("collapse", collapse, bool), ("synonyms", synonyms, bool),
                                  ("semantic", semantic, bool)):
            _check(name, value, kind)
        if sort not in SORTS:
            raise InvalidArgumentError(f"must be one of {', '.join(SORTS)}, not {sort!r}", "sort")
        if not 0 < limit <= MAX_LIMIT:
            raise InvalidArgumentError(f"must be between 1 and {MAX_LIMIT}, not {limit}", "limit")
        if not 0 <= offset <= MAX_OFFSET:
            raise InvalidArgumentError(f"must be between 0 and {MAX_OFFSET:,}, not {offset}", "offset")
        page = Page(sort=sort, offset=offset, limit=limit, collapse=collapse, synonyms=synonyms, semantic=semantic)
        return self.backend.search(parse(query, synonyms=synonyms), given, page)

    @_serialized
    def warm(self) -> None:
        """Open the index and read what did-you-mean needs now, so that no first search pays
        for it (a server calls this as each worker starts)."""
        self.backend.warm()

    @_serialized
    def matching(self, query: str, ids: Iterable[str], **filters: str | bool | None) -> list[str]:
        """Which of the documents ``ids`` the query and filters match (as a search would,
        never by relaxing): what a saved search is told of after a run."""
        _check("query", query, str)
        wanted = set(ids)
        if not wanted:
            return []
        parsed = parse(query)
        return self.backend.matching(parsed, registry.check_filters(filters), wanted)

    @_serialized
    def get(self, doc_id: str) -> DocumentRecord:
        """One document by id (or by an unambiguous id prefix, such as a file name without suffix)."""
        _check("doc_id", doc_id, str)
        return self.backend.get(doc_id)

    @_serialized
    def stats(self) -> IndexStats:
        """Document count, size on disk, last update, corpus roots and the last run's report."""
        return self.backend.stats()
