"""Sorting integer keys: a stable sort sixteen bits at a time, for a segment's flush, and
the union of sorted arrays.

numpy sorts 16-bit integers stably by radix and wider ones by merging runs. A flush
sorts millions of wide keys (a term's code and a docnum; a bigram's code): sorted by
their 16-bit digits, lowest first, each pass stable, they come out in the order a
stable sort of the whole keys gives, sooner (docs/performance.md has the figures).
"""

from __future__ import annotations

import numpy as np

_DIGIT = 16
_MASK = (1 << _DIGIT) - 1


def stable_argsort(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integer ``keys`` (int64 order)."""
    keys = np.asarray(keys, dtype=np.int64)
    if len(keys) < 2:
        return np.arange(len(keys), dtype=np.int64)
    low = int(keys.min())
    span = int(keys.max()) - low
    if span >= 2**63:  # no room to count from 0
        return np.argsort(keys, kind="stable")
    if low:
        keys = keys - low  # the same order, from 0
    order: np.ndarray | None = None
    shift = 0
    while True:
        digit = ((keys >> shift) & _MASK).astype(np.uint16)
        if order is None:
            order = np.argsort(digit, kind="stable")
        else:
            order = order[np.argsort(digit[order], kind="stable")]
        shift += _DIGIT
        if span >> shift == 0:
            return order


def by_code_then_doc(codes: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """The order of a pool's postings by term code, then docnum, ties as they came. The
    documents of a fresh segment come in docnum order: then a stable sort by code alone
    gives it, in half the passes (a merge brings old segments' postings in any order)."""
    if np.all(docs[1:] >= docs[:-1]):
        return stable_argsort(codes)
    return np.lexsort((docs, codes))


def union(parts: list[np.ndarray]) -> np.ndarray:
    """The distinct values of sorted arrays, sorted: their concatenation sorted stably
    (numpy merges the sorted runs it finds) and repeats dropped; ``np.unique`` sorts as if
    there were none (the segments' term codes, joined for the did-you-mean vocabulary)."""
    if not parts:
        return np.zeros(0, dtype="<u8")
    values = np.concatenate(parts)
    values.sort(kind="stable")
    first = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=first[1:])
    return values[first]
