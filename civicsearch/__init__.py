"""civicsearch: full-text search for Chinese civic documents."""

from civicsearch.engine import SearchEngine
from civicsearch.errors import (
    AmbiguousIdError,
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

__version__ = "0.1.0"

__all__ = [
    "SearchEngine",
    "CivicSearchError",
    "AmbiguousIdError",
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
