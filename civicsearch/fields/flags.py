"""Neutral declarations of what the index keeps for a field, and of a filter on it.

A field module says *what* it needs (exact keyword terms, a date, a column of bytes
or integers); the index (:mod:`civicsearch.index.schema`) decides how its container
keeps it, and a backend answers a :class:`Term` or :class:`Prefix` filter its own way.
So the fields know nothing of Whoosh, and another backend reads the same declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np


@dataclass(frozen=True)
class Keywords:
    """Exact terms that filters match. ``separator`` splits a value into terms: ``","``
    (many values, :func:`civicsearch.fields.lists.keywords`), ``" "`` (words), or None
    (the whole value is one term)."""

    separator: str | None = ","


@dataclass(frozen=True)
class Date:
    """A moment (a ``datetime``), searchable by range."""


@dataclass(frozen=True)
class Column:
    """One value per document, read by docnum for facets, masks and sorting: ``"bytes"``
    or ``"int64"`` (with the ``default`` a document without a value holds). An int64
    column's facets read its values only to ``granularity`` (a value's ``// granularity``
    decides its facet): a backend may count them in buckets that wide."""

    kind: str = "bytes"
    default: int = 0
    granularity: int = 1


#: What a field declares for one of its index fields.
Flag = Keywords | Date | Column


@dataclass(frozen=True)
class Term:
    """Documents whose keyword field ``field`` holds ``value``."""

    field: str
    value: str


@dataclass(frozen=True)
class Prefix:
    """Documents whose keyword field ``field`` holds a term starting with ``value``."""

    field: str
    value: str


@dataclass(frozen=True)
class Range:
    """Documents whose date field ``field`` lies in [``start``, ``end``] (an end left None is open).
    ``strict`` excludes the bounds themselves."""

    field: str
    start: Any = None
    end: Any = None
    strict: bool = False


@dataclass(frozen=True)
class AnyOf:
    """Documents matching at least one of ``parts``."""

    parts: tuple["Filter", ...]


@dataclass(frozen=True)
class AllOf:
    """Documents matching every one of ``parts``."""

    parts: tuple["Filter", ...]


@dataclass(frozen=True)
class Not:
    """Documents not matching ``part``."""

    part: "Filter"


Filter = Term | Prefix | Range | AnyOf | AllOf | Not


class ColumnData(Protocol):
    """Column values by docnum, as a field's mask and facets read them."""

    def where(self, fieldname: str, keep: Callable[[Any], bool]) -> np.ndarray: ...

    def counts(self, fieldname: str, docs: np.ndarray) -> Any: ...


class Lexicons(Protocol):
    """The terms an index's keyword fields hold (what a filter's value is checked against)."""

    def lexicon(self, field: str) -> list[str]: ...
