"""Column data by document number, read once per searcher: facets, date sorting and collapsing
count and look up plain lists, never per-hit objects (each field's facets: :mod:`civicsearch.fields.registry`).

Whoosh's column readers answer a document at a time (a call and a file read each:
seven columns of the bench's 35,000 documents cost 150 ms at every open), so a
segment writer keeps the pure column fields coded in the segment's posting arrays
instead (:class:`ColumnPool`): a code a document and the distinct values, read at
open as one array a segment. Whoosh's column files keep the other columns (id, path,
hash: what the nightly run compares).
"""

from __future__ import annotations

import bisect
from collections import Counter
from typing import Any, Callable, Sequence

import numpy as np
from whoosh import fields
from whoosh.columns import VarBytesColumn
from whoosh.reading import IndexReader

from civicsearch.index import postarrays

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
        self._coded = coded_fields(reader.schema)
        self._counted: set[str] = set()  # fields counted a segment at a time once already

    def __getitem__(self, fieldname: str) -> tuple[Any, ...]:
        if fieldname not in self._loaded:
            if fieldname in self._coded:
                coded = self.codes(fieldname)
                distinct = coded[1]
                self._loaded[fieldname] = tuple(map(distinct.__getitem__, coded[0].tolist()))
                return self._loaded[fieldname]
            values: list[Any] = []
            column = _reading(self.reader.schema, fieldname)
            for leaf, _ in self.reader.leaf_readers():
                n = leaf.doc_count_all()
                if fieldname in leaf.schema and leaf.has_column(fieldname):
                    col = leaf.column_reader(fieldname, column=column)
                    values.extend(col[i] for i in range(n))
                else:
                    values.extend([None] * n)
            self._loaded[fieldname] = tuple(values)
        return self._loaded[fieldname]

    def cell(self, fieldname: str, docnum: int) -> Any:
        """One document's value: read through the column, not from its stored fields
        (which decompress the whole body) nor by loading the column for every document."""
        return self.view(fieldname)[docnum]

    def view(self, fieldname: str) -> Sequence[Any]:
        """Each document's value, looked up when asked: for a caller that reads a few dozen
        documents (collapsing reads the ranked window's sketches), where decoding a column for
        every document costs more than the search (20 ms for the bench's sketches). A coded
        column is read from the posting arrays, another through Whoosh's column reader."""
        if fieldname in self._loaded:
            return self._loaded[fieldname]
        if fieldname not in self._cells:
            self._cells[fieldname] = _Cells(self.reader, fieldname) if fieldname in self._coded \
                else self.reader.column_reader(fieldname, column=_reading(self.reader.schema, fieldname))
        return self._cells[fieldname]

    def codes(self, fieldname: str) -> tuple[np.ndarray, tuple[Any, ...]]:
        """(code of each document's value, the distinct values by code): facets count codes with
        ``np.bincount`` over the matching documents instead of hashing every value per query."""
        if fieldname not in self._codes and fieldname in self._coded:
            self._codes[fieldname] = _from_arrays(self.reader, fieldname)
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
        if fieldname in self._coded and fieldname not in self._codes and fieldname not in self._counted:
            self._counted.add(fieldname)  # the next count numbers the index's values once
            return self._segment_counts(fieldname, docs)
        codes, distinct = self.codes(fieldname)
        return _counter(_held(codes[docs], distinct, {}))

    def _segment_counts(self, fieldname: str, docs: np.ndarray) -> Counter:
        """:meth:`counts` a segment at a time, over each segment's own codes, for a field's first
        count: a terminal search counts each facet once, and numbering every distinct value of
        the index (:meth:`codes`) cost it 20 ms on the bench; a process that counts again
        (the server) numbers them, since a count over the numbered codes is then the cheaper."""
        docs = np.asarray(docs, dtype=np.int64)
        found: dict[Any, int] = {}
        for leaf, offset in self.reader.leaf_readers():
            n = leaf.doc_count_all()
            local = docs[(docs >= offset) & (docs < offset + n)] - offset
            coded = postarrays.for_leaf(leaf).column(fieldname)
            if len(local) and coded is not None:
                _held(np.asarray(coded.codes)[local], coded.distinct, found)
        return _counter(found)


def _held(codes: np.ndarray, distinct: Sequence[Any], found: dict[Any, int]) -> dict[Any, int]:
    """``found`` plus how many of ``codes`` name each distinct value."""
    counts = np.bincount(codes, minlength=len(distinct)) if len(codes) else np.zeros(0, dtype=np.int64)
    held = np.flatnonzero(counts)
    pairs = zip(postarrays.values_at(distinct, held.tolist()), counts[held].tolist())
    if not found:
        found.update(pairs)  # distinct values: nothing to add up
        return found
    get = found.get
    for value, n in pairs:
        found[value] = get(value, 0) + n
    return found


def _counter(found: dict[Any, int]) -> Counter:
    """The counts as a Counter, empty values left out."""
    return Counter({v: n for v, n in found.items() if v not in _EMPTY})


class _Cells(Sequence[Any]):
    """A coded column's values by global docnum, each decoded from its segment when asked."""

    def __init__(self, reader: IndexReader, fieldname: str) -> None:
        self.fieldname = fieldname
        self.segments = [(offset, leaf.doc_count_all(), postarrays.for_leaf(leaf)) for leaf, offset in reader.leaf_readers()]
        self.ends = [offset + n for offset, n, _ in self.segments]

    def __len__(self) -> int:
        return self.ends[-1] if self.ends else 0

    def __getitem__(self, docnum: int) -> Any:  # type: ignore[override]
        if not 0 <= docnum < len(self):
            raise IndexError(docnum)
        offset, _, arrays = self.segments[bisect.bisect_right(self.ends, docnum)]
        return arrays.cell(self.fieldname, docnum - offset)


def _reading(schema: Any, fieldname: str) -> Any:
    """The column to read ``fieldname`` with: the field's own, or for a ``VarBytesColumn`` one
    whose reader opens a segment at C speed (:class:`~civicsearch.index.internals.VarBytesCells`)."""
    column = schema[fieldname].column_type
    if type(column) is not VarBytesColumn:
        return column
    from civicsearch.index.internals import VarBytesCells  # a writer's module: imported when a search needs it

    return VarBytesCells(column.allow_offsets, column.write_offsets_cutoff)


def coded_fields(schema: Any) -> frozenset[str]:
    """The columns a segment's posting arrays keep coded: the pure column fields (facets,
    dates, sketches)."""
    return frozenset(name for name, f in schema.items() if isinstance(f, fields.COLUMN))


def _from_arrays(reader: IndexReader, fieldname: str) -> tuple[np.ndarray, tuple[Any, ...]]:
    """:meth:`Columns.codes` from the segments' coded columns: the values numbered in the
    order documents first hold them, as Whoosh's column readers would give them."""
    table: dict[Any, int] = {}
    parts = []
    for leaf, _ in reader.leaf_readers():
        coded = postarrays.for_leaf(leaf).column(fieldname)
        n = leaf.doc_count_all()
        if coded is None:  # written before the column was declared
            coded = postarrays.Coded.none(n)
        remap = np.fromiter((table.setdefault(v, len(table)) for v in coded.distinct), dtype=np.int64,
                            count=len(coded.distinct))
        parts.append(remap[np.asarray(coded.codes[:n], dtype=np.int64)])
    found = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    held, first = np.unique(found, return_index=True)
    order = held[np.argsort(first)]
    renumber = np.zeros(len(table), dtype=np.int32)
    renumber[order] = np.arange(len(order), dtype=np.int32)
    values = list(table)
    return renumber[found], tuple(values[i] for i in order.tolist())


class ColumnPool:
    """The pure column fields' values of one segment's documents, coded for its posting arrays."""

    def __init__(self, schema: Any) -> None:
        names = coded_fields(schema)
        self.defaults = {name: schema[name].column_type.default_value() for name in names}
        self.index: dict[str, dict[Any, int]] = {name: {} for name in names}
        self.docs: dict[str, list[int]] = {name: [] for name in names}
        self.codes: dict[str, list[int]] = {name: [] for name in names}

    def add(self, fieldname: str, docnum: int, value: Any) -> None:
        index = self.index.get(fieldname)
        if index is not None:
            self.docs[fieldname].append(docnum)
            self.codes[fieldname].append(index.setdefault(value, len(index)))

    def add_segment(self, arrays: postarrays.PostingArrays, docmap: np.ndarray) -> None:
        """An old segment's values for a merge: ``docmap`` gives each of its docnums the
        new one, or -1 where the document is deleted."""
        for fieldname in self.index:
            coded = arrays.column(fieldname)
            if coded is None or None in coded.distinct:
                continue  # no value: as Whoosh's merge, the new segment's default
            new = docmap[: len(coded.codes)]
            for d, code in zip(new.tolist(), np.asarray(coded.codes[: len(new)]).tolist()):
                if d >= 0:
                    self.add(fieldname, d, coded.distinct[code])

    def coded(self, doc_count: int) -> dict[str, postarrays.Coded]:
        """Each column's code of every document (the default's where a document has no value)."""
        out = {}
        for fieldname, index in self.index.items():
            if not self.docs[fieldname]:
                out[fieldname] = postarrays.Coded.none(doc_count)
                continue
            default = index.setdefault(self.defaults[fieldname], len(index))
            codes = np.full(doc_count, default, dtype=np.int64)
            codes[np.asarray(self.docs[fieldname], dtype=np.int64)] = self.codes[fieldname]
            out[fieldname] = postarrays.Coded(codes, list(index))
        return out
