"""Whole posting lists, positions and start characters read from the posting arrays, for the ranker.

The ranker needs every (docnum, term frequency) of a few terms at once: each
segment's :mod:`civicsearch.index.postarrays` file answers with array slices,
deleted documents are dropped, and the segments' lists are joined into one in
global docnums. Word positions and character offsets (:func:`read_positions`,
:func:`read_characters` for snippets) are read only for the documents asked about; :func:`phrase_docs` says
which documents hold words as a phrase (the ranker's phrase check and proximity)
with array operations, and :func:`phrase_starts` where in one document.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Callable, Iterator
from weakref import WeakKeyDictionary

import numpy as np
from whoosh.reading import IndexReader

from civicsearch.index import postarrays, radix


def read_postings(reader: IndexReader, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
    """Global docnums (int64) and term frequencies (float64) of ``term`` in ``fieldname``,
    deleted documents left out."""
    found = read_postings_many(reader, [(fieldname, term)])
    return found[0]


def read_postings_many(reader: IndexReader, wanted: list[tuple[str, str]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`read_postings` of each ``(field, term)``, every segment's tables asked once for
    all of them. Each segment's postings of all the terms are gathered in one step, and what
    can be done for all segments at once is (the rows to gather, the docnums made global,
    the runs put in each term's order; the lists are views of two arrays): not steps a term
    and segment, nor many a segment, which a long query's dozens of terms times the segments
    would cost."""
    found = _runs(reader, wanted)
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return [(empty, empty.astype(np.float64)) for _ in wanted]
    leaves, offsets, segments, helds, los, counts = zip(*found)
    held, runs = np.concatenate(helds), np.concatenate(counts)
    rows = postarrays.spans(np.concatenate(los), runs)  # each segment's, end to end
    sizes = [int(c.sum()) for c in counts]
    local, weights, live, at = [], [], [], 0
    for leaf, arrays, lo, count, size in zip(leaves, segments, los, counts, sizes):
        docnums, frequencies = arrays.gather(lo, count, rows[at:at + size])
        at += size
        local.append(docnums)
        weights.append(frequencies)
        deleted = _deleted(leaf)
        live.append(None if deleted is None else ~np.isin(docnums, deleted))
    ids = np.concatenate(local).astype(np.int64)
    ids += np.repeat(np.asarray(offsets, dtype=np.int64), sizes)
    frequencies = np.concatenate(weights).astype(np.float64)
    # The runs lie segment by segment; a term's runs, in segment order, make its list.
    order = np.argsort(held, kind="stable")
    rows = postarrays.spans((np.cumsum(runs) - runs)[order], runs[order])
    ids, frequencies = ids[rows], frequencies[rows]
    starts = np.zeros(len(wanted) + 1, dtype=np.int64)
    np.cumsum(np.bincount(held, weights=runs, minlength=len(wanted)).astype(np.int64), out=starts[1:])
    if any(mask is not None for mask in live):
        kept = np.concatenate([np.ones(size, dtype=bool) if mask is None else mask
                               for mask, size in zip(live, sizes)])[rows]
        ids, frequencies = ids[kept], frequencies[kept]
        ends = np.zeros(len(kept) + 1, dtype=np.int64)
        np.cumsum(kept, out=ends[1:])
        starts = ends[starts]
    bounds = starts.tolist()
    return [(ids[a:b], frequencies[a:b]) for a, b in zip(bounds, bounds[1:])]


def _runs(reader: IndexReader, wanted: list[tuple[str, str]]) -> list[tuple]:
    """For each segment holding some of ``wanted``: (its reader, its first docnum, its
    arrays, which of ``wanted`` it holds, where their postings start, how many each has);
    each segment's tables searched once for all of them."""
    keys = postarrays.KeySet([postarrays.key_of(f, t.encode("utf-8")) for f, t in wanted])
    found = []
    for leaf, offset in reader.leaf_readers():
        arrays = postarrays.for_leaf(leaf)
        held, lo, hi = arrays.ranges(keys)
        if len(held):
            found.append((leaf, offset, arrays, held, lo, hi - lo))
    return found


def lexicon(reader: IndexReader, fieldname: str) -> list[str]:
    """Every term of a field the posting arrays keep, sorted (as Whoosh's lexicon is: by
    code point, as UTF-8 bytes sort)."""
    codes, others = lexicon_parts(reader, fieldname)
    return sorted(postarrays.code_texts(codes) + others)


def lexicon_parts(reader: IndexReader, fieldname: str,
                  nbytes: tuple[int, int] | None = None) -> tuple[np.ndarray, list[str]]:
    """Every term of a field the posting arrays keep, in two parts: the short terms' codes
    (sorted, u8: :func:`~civicsearch.index.postarrays.code_points` reads them) and the other
    terms (in no useful order; those of ``nbytes`` alone, the least and most UTF-8 bytes, when
    given). The codes are joined across segments before anything is decoded, so a term is
    read once, not once a segment."""
    codes, others = [], set()
    for leaf, _ in reader.leaf_readers():
        coded, other = postarrays.for_leaf(leaf).term_parts(fieldname, nbytes)
        codes.append(coded)
        others.update(other)
    return (radix.union(codes),
            [t.decode("utf-8") for t in others])


def doc_frequency(reader: IndexReader, fieldname: str, term: str) -> int:
    """How many documents hold ``term`` in a field the posting arrays keep (deleted
    documents too, until a merge drops them, as Whoosh counts)."""
    return int(doc_frequencies(reader, [(fieldname, term)])[0])


def doc_frequencies(reader: IndexReader, wanted: list[tuple[str, str]]) -> np.ndarray:
    """:func:`doc_frequency` of each ``(field, term)`` (int64), every segment's tables asked
    once for all of them: the did-you-mean weighs hundreds of words."""
    totals = np.zeros(len(wanted), dtype=np.int64)
    for _, _, _, held, _, counts in _runs(reader, wanted):
        totals[held] += counts  # a key once a segment
    return totals


def _deleted(leaf: object) -> np.ndarray | None:
    """A segment's deleted docnums, or None when it has none (kept per segment reader,
    whose deletions never change: every term of every query asks)."""
    try:
        return _DELETED[leaf]
    except (KeyError, TypeError):
        pass
    deleted = getattr(leaf, "deleted_docs_set", None)  # cached by the reader
    found = np.fromiter(deleted, dtype=np.int64, count=len(deleted)) if deleted else None
    try:
        _DELETED[leaf] = found
    except TypeError:  # not a reader that can be weakly referenced: not kept
        pass
    return found


_DELETED: WeakKeyDictionary = WeakKeyDictionary()


def live_docs(reader: IndexReader, size: int) -> np.ndarray:
    """A boolean array by global docnum: the documents not deleted."""
    live = np.ones(size, dtype=bool)
    for leaf, offset in reader.leaf_readers():
        deleted = _deleted(leaf)
        if deleted is not None:
            live[offset + deleted] = False
    return live


def field_lengths(reader: IndexReader, fieldname: str) -> np.ndarray:
    """The (quantised) length of ``fieldname`` in every document, by global docnum
    (int64), from the posting arrays, which keep the words' and bigrams' lengths a byte a
    document (as Whoosh quantises them); 0 for a field they do not keep."""
    return postarrays.BYTE_LENGTHS[field_length_bytes(reader, fieldname)]


def field_length_bytes(reader: IndexReader, fieldname: str) -> np.ndarray:
    """:func:`field_lengths` as kept, a byte a document (u1; byte 0: length 0)."""
    parts = []
    for leaf, _ in reader.leaf_readers():
        n = leaf.doc_count_all()
        found = postarrays.for_leaf(leaf).length_bytes(fieldname)
        parts.append(found[:n] if found is not None and len(found) >= n else np.zeros(n, dtype=np.uint8))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)


def read_positions(reader: IndexReader, fieldname: str, term: str, docs: list[int],
                   limit: int | None = None) -> dict[int, list[int]]:
    """Word positions of ``term`` in each of ``docs`` (sorted global docnums) that holds it
    (with ``limit``, only a document's first ``limit``); where they start in the text:
    :func:`read_characters`."""
    out: dict[int, list[int]] = {}
    key = postarrays.key_of(fieldname, term.encode("utf-8"))
    for leaf, offset, lo, hi in _segments(reader, docs):
        for k, at in _held_positions(postarrays.for_leaf(leaf), key, [d - offset for d in docs[lo:hi]], limit):
            out[docs[lo + k]] = at
    return out


def read_characters(reader: IndexReader, fieldname: str, terms: list[str], docs: list[int],
                    texts: Callable[[int], str], limit: int | None = None) -> dict[str, dict[int, list]]:
    """(position, startchar, endchar) of each occurrence of each of ``terms`` in each of
    ``docs`` (sorted global docnums) that holds it (with ``limit``, a document's first
    ``limit`` of each term); ``texts`` gives a docnum's text of the field, as stored, where a
    sub-word's place is found (:func:`~civicsearch.index.postarrays.occurrence_starts`). A
    document's word starts are decoded once, and looked up once, for all the terms."""
    out: dict[str, dict[int, list]] = {term: {} for term in terms}
    keys = [postarrays.key_of(fieldname, term.encode("utf-8")) for term in terms]
    for leaf, offset, lo, hi in _segments(reader, docs):
        arrays = postarrays.for_leaf(leaf)
        local = [d - offset for d in docs[lo:hi]]
        wanted: dict[int, list[tuple[str, list[int]]]] = {}  # docnum → (term, its positions)
        for term, key in zip(terms, keys):
            for k, at in _held_positions(arrays, key, local, limit):
                wanted.setdefault(docs[lo + k], []).append((term, at))
        for doc, items in wanted.items():
            # The word starts as far as the word after the last occurrence (a position's
            # occurrences are sorted, and a posting has one at least).
            starts = arrays.starts(fieldname, doc - offset, max(at[-1] for _, at in items) + 2)
            every = starts[np.fromiter((p for _, at in items for p in at), dtype=np.int64)].tolist()
            text, k = texts(doc), 0
            for term, at in items:
                found_at = postarrays.occurrence_starts(starts, at, term, text, every[k: k + len(at)])
                k += len(at)
                out[term][doc] = [(p, s, s + len(term)) for p, s in zip(at, found_at)]
    return out


def _held_positions(arrays: postarrays.PostingArrays, key: bytes, local: list[int], limit: int | None
                    ) -> Iterator[tuple[int, list[int]]]:
    """``(k, positions)`` for each ``local[k]`` (sorted segment docnums) holding the key's term
    (its first ``limit`` positions)."""
    found = arrays.get_positions(key)
    if found is None:
        return
    docnums, bounds, positions = found
    for k, i in where_found(docnums, local):
        a, b = int(bounds[i]), int(bounds[i + 1])
        yield k, positions[a: b if limit is None else min(b, a + limit)].tolist()


def _segments(reader: IndexReader, docs: list[int]) -> Iterator[tuple[object, int, int, int]]:
    """(segment reader, its docnum offset, lo, hi) of each segment holding some of
    ``docs`` (sorted global docnums): ``docs[lo:hi]`` are its."""
    for leaf, offset in reader.leaf_readers():
        lo = bisect_left(docs, offset)
        hi = bisect_left(docs, offset + leaf.doc_count_all())
        if lo < hi:
            yield leaf, offset, lo, hi


def _found(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``wanted`` (sorted) the sorted posting list ``ids`` holds (a boolean
    mask), and where each stands in it (meaningful where the mask is true)."""
    at = np.searchsorted(ids, wanted)
    hit = at < len(ids)
    hit[hit] = ids[at[hit]] == wanted[hit]
    return hit, at


def where_found(ids: np.ndarray, docs: list[int]) -> list[tuple[int, int]]:
    """``(k, i)`` for each ``docs[k]`` (sorted) found at ``ids[i]`` (a sorted posting list)."""
    if not len(ids) or not docs:
        return []
    hit, at = _found(ids, np.asarray(docs, dtype=np.int64))
    return [(k, int(at[k])) for k in np.flatnonzero(hit).tolist()]


def phrase_docs(reader: IndexReader, fieldname: str, terms: tuple[str, ...], docs: list[int]) -> list[int]:
    """Those of ``docs`` (sorted global docnums) where ``terms`` stand in order, one after
    another, found with array operations on each segment's positions."""
    out: list[int] = []
    keys = [postarrays.key_of(fieldname, t.encode("utf-8")) for t in terms]
    for leaf, offset, lo, hi in _segments(reader, docs):
        arrays = postarrays.for_leaf(leaf)
        local = np.asarray(docs[lo:hi], dtype=np.int64) - offset
        common: np.ndarray | None = None
        for i, key in enumerate(keys):
            found = arrays.get_positions(key)
            if found is None:
                common = None
                break
            # Each occurrence as (docnum, where the phrase would start), one int64 apiece;
            # a start before 0 borrows from the docnum and lands where no word stands.
            at = _occurrences(found, local) - i
            common = at if common is None else within(common, at)
            if not len(common):
                break
        if common is not None and len(common):
            # Sorted, so each docnum's occurrences are adjacent (np.unique would import numpy.ma:
            # 9 ms of a terminal search).
            held = common >> 32
            out.extend((held[np.flatnonzero(np.diff(held, prepend=held[0] - 1))] + offset).tolist())
    return out


def within(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Those of ``keys`` (sorted) that ``sorted_keys`` holds: looked up by bisection, not by
    sorting both again (``np.intersect1d``), since occurrence keys come sorted."""
    if not len(keys) or not len(sorted_keys):
        return keys[:0]
    at = np.searchsorted(sorted_keys, keys)
    np.minimum(at, len(sorted_keys) - 1, out=at)
    return keys[sorted_keys[at] == keys]


def _occurrences(found: tuple[np.ndarray, np.ndarray, np.ndarray], local: np.ndarray) -> np.ndarray:
    """``docnum << 32 | position`` of every occurrence of a term in the ``local`` docnums
    (sorted), from :meth:`postarrays.PostingArrays.get_positions`."""
    ids, bounds, flat = found
    hit, at = _found(ids, local)
    at = at[hit]
    counts = bounds[at + 1] - bounds[at]
    # Every occurrence's index into flat: each posting's range laid end to end.
    return np.repeat(local[hit], counts) << 32 | flat[postarrays.spans(bounds[at], counts)].astype(np.int64)


def phrase_starts(positions: list[list[int]]) -> Iterator[int]:
    """Each position of the first word where all the words stand in order, one after another."""
    later = [set(p) for p in positions[1:]]
    return (start for start in positions[0] if all(start + i in s for i, s in enumerate(later, 1)))


def vector_model(reader: IndexReader) -> str | None:
    """The model whose vectors every segment keeps, or None (a segment without, or two models)."""
    models = {getattr(postarrays.for_leaf(leaf).vectors, "model", None) for leaf, _ in reader.leaf_readers()}
    return models.pop() if len(models) == 1 else None


def read_vectors(reader: IndexReader, docs: list[int]) -> np.ndarray:
    """The int8 embedding rows of ``docs`` (sorted global docnums; a zero row where a document has none)."""
    rows: list[np.ndarray] = []
    for leaf, offset, lo, hi in _segments(reader, docs):
        found = postarrays.for_leaf(leaf).vectors
        local = np.asarray(docs[lo:hi], dtype=np.int64) - offset
        rows.append(found.rows[local] if found is not None else np.zeros((hi - lo, 0), dtype=np.int8))
    dim = max((r.shape[1] for r in rows), default=0)
    return np.concatenate([r if r.shape[1] == dim else np.zeros((len(r), dim), dtype=np.int8) for r in rows]) \
        if rows else np.zeros((0, 0), dtype=np.int8)
