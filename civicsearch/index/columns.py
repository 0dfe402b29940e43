"""Column data by document number, read once per searcher: facets, date sorting and collapsing
count and look up plain lists, never per-hit objects (each field's facets: :mod:`civicsearch.fields.registry`)."""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

import numpy as np
from whoosh.reading import IndexReader

#: Cell values that mean "no value" (left out of facet counts).
_EMPTY = (None, b"", 0)


class Columns:
    """Column values by global docnum, read once per searcher (facets, date sort, collapsing)."""

    def __init__(self, reader: IndexReader) -> None:
        self.reader = reader
        # Tuples, not lists: a tuple of plain values (bytes, str, numbers) drops out of
        # the cyclic garbage collector's view once examined, where each collection
        # would walk a list's every item (a few columns of a large index: 20 ms a pass).
        self._loaded: dict[str, tuple[Any, ...]] = {}
        self._codes: dict[str, tuple[np.ndarray, tuple[Any, ...]]] = {}
        self._cells: dict[str, Any] = {}

    def __getitem__(self, fieldname: str) -> tuple[Any, ...]:
        if fieldname not in self._loaded:
            values: list[Any] = []
            for leaf, _ in self.reader.leaf_readers():
                n = leaf.doc_count_all()
                if fieldname in leaf.schema and leaf.has_column(fieldname):
                    col = leaf.column_reader(fieldname)
                    values.extend(col[i] for i in range(n))
                else:
                    values.extend([None] * n)
            self._loaded[fieldname] = tuple(values)
        return self._loaded[fieldname]

    def cell(self, fieldname: str, docnum: int) -> Any:
        """One document's value: read through the column, not from its stored fields
        (which decompress the whole body) nor by loading the column for every document."""
        if fieldname in self._loaded:
            return self._loaded[fieldname][docnum]
        if fieldname not in self._cells:
            self._cells[fieldname] = self.reader.column_reader(fieldname)
        return self._cells[fieldname][docnum]

    def codes(self, fieldname: str) -> tuple[np.ndarray, tuple[Any, ...]]:
        """(code of each document's value, the distinct values by code): facets count codes with
        ``np.bincount`` over the matching documents instead of hashing every value per query."""
        if fieldname not in self._codes:
            index: dict[Any, int] = {}
            codes = np.fromiter((index.setdefault(v, len(index)) for v in self[fieldname]), dtype=np.int32,
                                count=len(self[fieldname]))
            self._codes[fieldname] = (codes, tuple(index))
        return self._codes[fieldname]

    def where(self, fieldname: str, keep: Callable[[Any], bool]) -> np.ndarray:
        """A boolean array by docnum: ``keep`` of each document's value, asked once a distinct value."""
        codes, distinct = self.codes(fieldname)
        verdict = np.fromiter((bool(keep(v)) for v in distinct), dtype=bool, count=len(distinct))
        return verdict[codes]

    def counts(self, fieldname: str, docs: np.ndarray) -> Counter:
        """How many of ``docs`` (docnums) hold each distinct raw value (empty values left out).

        Counted with numpy over the value codes; each distinct value is decoded once after,
        by its field.
        """
        codes, distinct = self.codes(fieldname)
        counts = np.bincount(codes[docs], minlength=len(distinct)) if len(docs) else np.zeros(0, dtype=np.int64)
        held = np.flatnonzero(counts)
        return Counter({distinct[i]: n for i, n in zip(held.tolist(), counts[held].tolist())
                        if distinct[i] not in _EMPTY})
