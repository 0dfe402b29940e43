"""The backend protocol: one shape for every place an index can live.

:class:`~civicsearch.SearchEngine` checks the caller's arguments, parses the query
and hands both to its backend; the backend matches, ranks and reads. Results come
back as the library's own values (:mod:`civicsearch.results`), so the CLI, the web
API and the saved searches do not know which backend answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, runtime_checkable

from civicsearch.results import DocumentRecord, IndexReport, IndexStats, SearchResults

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
