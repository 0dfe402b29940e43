"""The backend protocol: one shape for every place an index can live.

:class:`~civicsearch.SearchEngine` checks the caller's arguments, parses the query
and hands both to its backend; the backend matches, ranks and reads. Results come
back as the library's own values (:mod:`civicsearch.results`), so the CLI, the web
API and the saved searches do not know which backend answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, runtime_checkable

from civicsearch.errors import AmbiguousIdError, DocumentNotFoundError
from civicsearch.fields import registry
from civicsearch.results import DocumentRecord, Hit, IndexReport, IndexStats, SearchResults

if TYPE_CHECKING:
    from civicsearch.search.query import ParsedQuery

#: Called as progress(files_done, files_total, current_path) while indexing.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Page:
    """Which hits a search returns, in which order, and how."""

    sort: str = "relevance"
    offset: int = 0
    limit: int = 10
    #: Fold reposts of one article into one hit.
    collapse: bool = True
    #: The query was widened with synonyms (the results say what was also searched).
    synonyms: bool = True
    #: Rerank the top by meaning where the index keeps vectors (civicsearch.search.semantic).
    semantic: bool = True


#: How many of the documents an ambiguous id prefix names are listed.
AMBIGUOUS_LISTED = 5


def hit_of(stored: Mapping[str, Any], score: float, snippet: str, highlights: list[tuple[int, int]]) -> Hit:
    """A hit from a document's stored values (``id``, ``title``, ``path``, the registry's ``info``)."""
    info = stored.get(registry.STORED_FIELD)
    return Hit(doc_id=stored["id"], title=stored.get("title", ""), path=stored.get("path", ""),
               score=round(float(score), 4), snippet=snippet, highlights=highlights,
               fields=registry.describe(info), summary=registry.summary(info))


def record_of(stored: Mapping[str, Any]) -> DocumentRecord:
    """``show``'s record of a document from its stored values."""
    info = stored.get(registry.STORED_FIELD)
    return DocumentRecord(doc_id=stored["id"], title=stored.get("title", ""), path=stored.get("path", ""),
                          body=stored.get("body", ""), original=stored.get("original") or stored.get("body", ""),
                          fields=registry.describe(info, record=True), rows=registry.rows(info))


def by_prefix(doc_id: str, found: list[str]) -> None:
    """Refuse an id prefix that names no document, or several (``found``: the ids that start with
    it, :data:`AMBIGUOUS_LISTED` + 1 at most); one is the document asked for."""
    if not found or not doc_id:
        raise DocumentNotFoundError(f"no document with id {doc_id!r}")
    if len(found) > 1:
        ids = sorted(found[:AMBIGUOUS_LISTED])
        more = ", …" if len(found) > AMBIGUOUS_LISTED else ""
        raise AmbiguousIdError(f"the id prefix {doc_id!r} is ambiguous: {', '.join(map(repr, ids))}{more} "
                               "all start with it; give more of the id")


@runtime_checkable
class Backend(Protocol):
    """Where documents are indexed and searched."""

    #: A folder of the backend's own (the writer lock, saved searches, the manifest).
    index_dir: Path

    def search(self, query: "ParsedQuery", filters: dict[str, Any], page: Page) -> SearchResults:
        """The page of hits for ``query`` under the checked ``filters``, with every facet."""

    def matching(self, query: "ParsedQuery", filters: dict[str, Any], ids: set[str]) -> list[str]:
        """Which of ``ids`` the query and filters match (never by relaxing), sorted."""

    def get(self, doc_id: str) -> DocumentRecord:
        """One document by id or unambiguous id prefix."""

    def stats(self) -> IndexStats:
        """What the index holds and how it was last updated."""

    def index(self, paths: list[Path], *, full: bool, progress: Progress | None, max_bytes: int,
              procs: int | None, allow_deletes: bool, semantic: bool | None = None) -> IndexReport:
        """Make the index match ``paths``: add, update and delete (``full``: rebuild; ``semantic``:
        keep each document's embedding, None as the index was built)."""

    def remembered_roots(self) -> list[str]:
        """The corpus roots the index was built from."""

    def exists(self) -> bool:
        """Whether there is an index to search."""

    def warm(self) -> None:
        """Open the index and read what a first search would otherwise pay for."""

    def close(self) -> None:
        """Release what is open (reopened on the next call)."""
