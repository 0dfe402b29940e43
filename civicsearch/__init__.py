"""civicsearch: full-text search for Chinese civic documents."""

from typing import TYPE_CHECKING, Any

from civicsearch.errors import (
    AmbiguousIdError,
    BackendError,
    CivicSearchError,
    CorpusRootError,
    DocumentNotFoundError,
    DocumentReadError,
    IndexBuildError,
    IndexDamagedError,
    IndexNotFoundError,
    IndexVersionError,
    IndexWriteError,
    InvalidArgumentError,
    MassDeletionError,
    QuerySyntaxError,
    ReindexRunningError,
)
from civicsearch.results import DocumentRecord, FacetValue, Hit, IndexReport, IndexStats, SearchResults, SkippedInput

if TYPE_CHECKING:
    from civicsearch.api.engine import SearchEngine

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The engine (numpy, Whoosh) is imported when first asked for, so that the command's
    # entry point (civicsearch.launch) can look at the memory limit before it.
    if name == "SearchEngine":
        from civicsearch.api.engine import SearchEngine

        return SearchEngine
    raise AttributeError(f"module 'civicsearch' has no attribute {name!r}")


__all__ = [
    "SearchEngine",
    "CivicSearchError",
    "AmbiguousIdError",
    "BackendError",
    "CorpusRootError",
    "DocumentNotFoundError",
    "DocumentReadError",
    "IndexBuildError",
    "IndexDamagedError",
    "IndexNotFoundError",
    "IndexVersionError",
    "IndexWriteError",
    "InvalidArgumentError",
    "MassDeletionError",
    "QuerySyntaxError",
    "ReindexRunningError",
    "DocumentRecord",
    "FacetValue",
    "Hit",
    "IndexReport",
    "IndexStats",
    "SearchResults",
    "SkippedInput",
]
