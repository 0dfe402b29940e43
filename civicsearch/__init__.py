"""civicsearch: full-text search for Chinese civic documents."""

from civicsearch.engine import SearchEngine
from civicsearch.errors import (
    CivicSearchError,
    DocumentNotFoundError,
    DocumentReadError,
    IndexBuildError,
    IndexNotFoundError,
    IndexVersionError,
    InvalidArgumentError,
    QuerySyntaxError,
    ReindexRunningError,
)
from civicsearch.results import DocumentRecord, FacetValue, Hit, IndexReport, IndexStats, SearchResults

__version__ = "0.1.0"

__all__ = [
    "SearchEngine",
    "CivicSearchError",
    "DocumentNotFoundError",
    "DocumentReadError",
    "IndexBuildError",
    "IndexNotFoundError",
    "IndexVersionError",
    "InvalidArgumentError",
    "QuerySyntaxError",
    "ReindexRunningError",
    "DocumentRecord",
    "FacetValue",
    "Hit",
    "IndexReport",
    "IndexStats",
    "SearchResults",
]
