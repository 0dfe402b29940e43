"""Whole posting lists read a block at a time, for the ranker.

Whoosh's matcher interface costs several Python calls per posting; the ranker
needs every (docnum, term frequency) of a few terms at once, so this reads the
decoded blocks of whoosh-reloaded 2.7.5's W3 codec directly (the version is
pinned) and falls back to the matcher interface for anything else.
"""

from __future__ import annotations

from array import array
from typing import Iterator

from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import IndexReader, TermNotFound


def _raw_blocks(matcher: object) -> Iterator[tuple[tuple[int, ...], object]]:
    """(ids, weights) of each block of one leaf's posting list."""
    m = matcher
    if hasattr(m, "_read_ids") and hasattr(m, "_next_block"):
        while m.is_active():  # type: ignore[attr-defined]
            m._read_ids()  # type: ignore[attr-defined]
            m._read_weights()  # type: ignore[attr-defined]
            yield m._ids, m._weights  # type: ignore[attr-defined]
            m._next_block()  # type: ignore[attr-defined]
        return
    ids, weights = [], []
    while m.is_active():  # type: ignore[attr-defined]
        ids.append(m.id())  # type: ignore[attr-defined]
        weights.append(m.weight())  # type: ignore[attr-defined]
        m.next()  # type: ignore[attr-defined]
    yield tuple(ids), weights


def read_postings(reader: IndexReader, fieldname: str, term: str) -> tuple[array, array]:
    """Global docnums and term frequencies of ``term`` in ``fieldname`` (deleted docs left out)."""
    ids, weights = array("i"), array("f")
    for leaf, offset in reader.leaf_readers():
        try:
            m = leaf.postings(fieldname, term)
        except TermNotFound:
            continue
        deleted: frozenset[int] = frozenset()
        if isinstance(m, FilterMatcher):
            deleted = getattr(leaf, "deleted_docs_set", frozenset())
            m = m.child
        for block_ids, block_weights in _raw_blocks(m):
            if deleted or offset:
                for d, w in zip(block_ids, block_weights):
                    if d not in deleted:
                        ids.append(d + offset)
                        weights.append(w)
            else:
                ids.extend(block_ids)
                weights.extend(block_weights)
    return ids, weights


def field_lengths(reader: IndexReader, fieldname: str) -> array:
    """The (quantised) length of ``fieldname`` in every document, by global docnum."""
    lengths = array("i")
    for leaf, _ in reader.leaf_readers():
        get = leaf.doc_field_length
        lengths.extend(get(d, fieldname) or 0 for d in range(leaf.doc_count_all()))
    return lengths
