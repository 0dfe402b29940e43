"""One hierarchy for every error the library raises on purpose."""

from __future__ import annotations


class CivicSearchError(Exception):
    """Base class: the CLI prints these as a one-line ``Error: …``.

    The message speaks the API's terms (``since``, ``full=True``); ``cli_remedy``, when
    given, is what the command line says instead of ``remedy`` (a command to run).
    """

    #: The CLI's exit status for this error.
    exit_code = 1

    def __init__(self, message: str = "", *, remedy: str | None = None, cli_remedy: str | None = None) -> None:
        self.message = message
        self.remedy = remedy
        self.cli_remedy = cli_remedy
        super().__init__(f"{message}; {remedy}" if remedy else message)

    def for_cli(self) -> str:
        """The message as the command line words it."""
        remedy = self.cli_remedy or self.remedy
        return f"{self.message}; {remedy}" if remedy else self.message


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


class BackendError(CivicSearchError):
    """The search cluster behind a backend cannot be reached or refused a request
    (nothing was changed by a run that meets it)."""

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
    """An argument's value (a date, a sort order, a filter …) is not acceptable.

    ``argument`` names it as the API does (``since``, ``in_force``); the command line
    names it as its option (``--since``, ``--in-force``).
    """

    def __init__(self, message: str, argument: str | None = None, **remedies: str | None) -> None:
        self.argument = argument
        super().__init__(message, **remedies)
        if argument:
            self.args = (f"{argument}: {self.args[0]}",)

    def for_cli(self) -> str:
        text = super().for_cli()
        return f"--{self.argument.replace('_', '-')}: {text}" if self.argument else text


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
