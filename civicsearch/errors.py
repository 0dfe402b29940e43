"""One hierarchy for every error the library raises on purpose."""

from __future__ import annotations


class CivicSearchError(Exception):
    """Base class: the CLI prints these as a one-line ``Error: …``."""


class IndexNotFoundError(CivicSearchError):
    """No index exists at the given location."""


class IndexVersionError(CivicSearchError):
    """The index was written by another schema version and must be rebuilt."""


class QuerySyntaxError(CivicSearchError):
    """The query string cannot be turned into a search."""


class DocumentNotFoundError(CivicSearchError):
    """No document has the requested id."""


class InvalidArgumentError(CivicSearchError):
    """An option value (date, sort order, page …) is not acceptable."""


class DocumentReadError(CivicSearchError):
    """A file or record could not be read; indexing skips it and reports why."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


class ReindexRunningError(CivicSearchError):
    """Another process holds the index's writer lock."""


class IndexBuildError(CivicSearchError):
    """A process writing part of the index failed; ``detail`` holds its traceback."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        self.detail = detail
        last = detail.strip().splitlines()[-1] if detail and detail.strip() else None
        super().__init__(f"{message}: {last}" if last else message)
