"""One hierarchy for every error the library raises on purpose."""

from __future__ import annotations


class CivicSearchError(Exception):
    """Base class: the CLI prints these as a one-line ``Error: …``."""

    #: The CLI's exit status for this error.
    exit_code = 1


class IndexNotFoundError(CivicSearchError):
    """No index exists at the given location."""


class IndexVersionError(CivicSearchError):
    """The index was written by another schema version and must be rebuilt."""


class IndexDamagedError(CivicSearchError):
    """The index folder is damaged (pointer, segment, column or metadata file): rebuild it."""

    exit_code = 2


class IndexWriteError(CivicSearchError):
    """The index could not be written (a full disk, a read-only folder); it was left as it was."""

    exit_code = 2


class CorpusRootError(CivicSearchError):
    """A corpus root to index is missing or unreadable: nothing was changed, nothing deleted."""

    exit_code = 2


class MassDeletionError(CivicSearchError):
    """A run would delete every document of a corpus root, or most of many (what an
    unmounted disk looks like): nothing was changed, nothing deleted."""

    exit_code = 2


class QuerySyntaxError(CivicSearchError):
    """The query string cannot be turned into a search."""


class DocumentNotFoundError(CivicSearchError):
    """No document has the requested id."""


class AmbiguousIdError(DocumentNotFoundError):
    """An id prefix names several documents."""


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
