"""Column data by document number, read once per searcher: facets, date sorting and collapsing
count and look up plain lists, never per-hit objects (each field's facets: civicsearch.registry)."""

from __future__ import annotations

from typing import Any

import numpy as np
from whoosh.reading import IndexReader


class Columns:
    """Column values by global docnum, read once per searcher (facets, date sort, collapsing)."""

    def __init__(self, reader: IndexReader) -> None:
        self.reader = reader
        self._loaded: dict[str, list[Any]] = {}
        self._codes: dict[str, tuple[np.ndarray, list[Any]]] = {}

    def __getitem__(self, fieldname: str) -> list[Any]:
        if fieldname not in self._loaded:
            values: list[Any] = []
            for leaf, _ in self.reader.leaf_readers():
                n = leaf.doc_count_all()
                if fieldname in leaf.schema and leaf.has_column(fieldname):
                    col = leaf.column_reader(fieldname)
                    values.extend(col[i] for i in range(n))
                else:
                    values.extend([None] * n)
            self._loaded[fieldname] = values
        return self._loaded[fieldname]

    def codes(self, fieldname: str) -> tuple[np.ndarray, list[Any]]:
        """(code of each document's value, the distinct values by code): facets count codes with
        ``np.bincount`` over the matching documents instead of hashing every value per query."""
        if fieldname not in self._codes:
            index: dict[Any, int] = {}
            codes = np.fromiter((index.setdefault(v, len(index)) for v in self[fieldname]), dtype=np.int32,
                                count=len(self[fieldname]))
            self._codes[fieldname] = (codes, list(index))
        return self._codes[fieldname]
