"""Whole posting lists read a block at a time, for the ranker.

Whoosh's matcher interface costs several Python calls per posting; the ranker
needs every (docnum, term frequency) of a few terms at once, so this reads the
decoded blocks of whoosh-reloaded 2.7.5's W3 codec directly (through
:mod:`civicsearch.index.internals`) and falls back to the matcher interface for anything else; a segment
with posting arrays (:mod:`civicsearch.index.postarrays`) answers from those. Word
positions and character offsets (:func:`read_positions`, for snippets) are read
only for the documents asked about, from the arrays or the blocks; :func:`phrase_docs` says
which documents hold words as a phrase (the ranker's phrase check and
proximity), with array operations where the arrays hold positions, and
:func:`phrase_starts` where in one document.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import Callable, Iterator

import numpy as np
from whoosh.reading import IndexReader

from civicsearch.index import postarrays


def _leaf_postings(leaf: object, fieldname: str, term: str, key: bytes,
                   values: list[bytes] | None) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """One segment's (local docnums, frequencies, from arrays?) of ``term``, deleted
    documents included, or None when no document of it holds the term; ``values``
    is filled only from Whoosh's blocks. The arrays may be read-only views of any
    integer and float type."""
    arrays = postarrays.for_leaf(leaf)
    if arrays is not None and arrays.covers(fieldname):
        found = arrays.get(key)  # views into the file, in its types: the caller converts
        return None if found is None else (found[0], found[1], True)
    # Only this fallback reaches under Whoosh (and imports the writer's module): a search of
    # an index whose segments all have their arrays never does.
    from civicsearch.index.internals import leaf_matcher, raw_blocks

    m = leaf_matcher(leaf, fieldname, term)
    if m is None:
        return None
    # Blocks are gathered with C-level extends, then converted at once.
    ids, weights = array("i"), array("f")
    for block_ids, block_weights, block_values in raw_blocks(m, values is not None):
        ids.extend(block_ids)
        weights.extend(block_weights)
        if values is not None:
            values.extend(block_values)  # type: ignore[arg-type]
    return (np.frombuffer(ids, dtype=np.int32).astype(np.int64),
            np.frombuffer(weights, dtype=np.float32).astype(np.float64), False)


def read_postings(reader: IndexReader, fieldname: str, term: str,
                  values: list[bytes] | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """Global docnums (int64) and term frequencies (float64) of ``term`` in ``fieldname``,
    deleted documents left out, and whether ``values`` was filled.

    Given a ``values`` list, it is filled, in step with the docnums, with each
    posting's encoded positions (decode with :func:`value_decoder`), so that a
    phrase check or a proximity bonus later needs no second pass; but a segment
    with posting arrays (:mod:`civicsearch.index.postarrays`) answers from those,
    without positions, and then ``values`` is left empty and the answer says so.
    """
    id_parts, weight_parts, value_parts, offsets = [], [], [], []
    filled = values is not None
    key = postarrays.key_of(fieldname, term.encode("utf-8"))
    for leaf, offset in reader.leaf_readers():
        leaf_values: list[bytes] | None = [] if filled else None
        read = _leaf_postings(leaf, fieldname, term, key, leaf_values)
        if read is None:
            continue
        leaf_ids, leaf_weights, from_arrays = read
        filled = filled and not from_arrays
        live = _live(leaf, leaf_ids)
        if live is not None:
            leaf_ids, leaf_weights = leaf_ids[live], leaf_weights[live]
            if leaf_values:
                leaf_values = [v for v, keep in zip(leaf_values, live.tolist()) if keep]
        id_parts.append(leaf_ids)
        weight_parts.append(leaf_weights)
        value_parts.append(leaf_values or [])
        offsets.append(offset)
    if filled:
        for part in value_parts:
            values.extend(part)  # type: ignore[union-attr]
    return (*_joined(id_parts, weight_parts, offsets), filled)


def read_postings_many(reader: IndexReader, wanted: list[tuple[str, str]]
                       ) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """:func:`read_postings` (docnums and frequencies) of each ``(field, term)``, every
    segment's hash table asked once for all of them; None when some segment has no
    posting arrays covering those fields (ask term by term, from Whoosh's blocks)."""
    leaves = reader.leaf_readers()
    fields = {f for f, _ in wanted}
    tables = [postarrays.for_leaf(leaf) for leaf, _ in leaves]
    if not all(t is not None and all(t.covers(f) for f in fields) for t in tables):
        return None
    keys = [postarrays.key_of(f, t.encode("utf-8")) for f, t in wanted]
    hashes = postarrays.key_hashes(keys)
    parts: list[tuple[list, list, list]] = [([], [], []) for _ in wanted]
    for (leaf, offset), table in zip(leaves, tables):
        for j, found in enumerate(table.get_many(keys, hashes)):  # type: ignore[union-attr]
            if found is None:
                continue
            ids, weights = found
            live = _live(leaf, ids)
            if live is not None:
                ids, weights = ids[live], weights[live]
            parts[j][0].append(ids)
            parts[j][1].append(weights)
            parts[j][2].append(offset)
    return [_joined(*p) for p in parts]


def _deleted(leaf: object) -> np.ndarray | None:
    """A segment's deleted docnums, or None when it has none."""
    deleted = getattr(leaf, "deleted_docs_set", None)  # cached by the reader
    return np.fromiter(deleted, dtype=np.int64, count=len(deleted)) if deleted else None


def live_docs(reader: IndexReader, size: int) -> np.ndarray:
    """A boolean array by global docnum: the documents not deleted."""
    live = np.ones(size, dtype=bool)
    for leaf, offset in reader.leaf_readers():
        deleted = _deleted(leaf)
        if deleted is not None:
            live[offset + deleted] = False
    return live


def _live(leaf: object, ids: np.ndarray) -> np.ndarray | None:
    """Which of a segment's docnums ``ids`` are not deleted (a boolean mask), or None
    when the segment has no deletions."""
    deleted = _deleted(leaf)
    return None if deleted is None else ~np.isin(ids, deleted)


def _joined(id_parts: list[np.ndarray], weight_parts: list[np.ndarray], offsets: list[int]
            ) -> tuple[np.ndarray, np.ndarray]:
    """Segments' postings as one list: global docnums (int64) and frequencies (float64)."""
    if not id_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    # Converted and moved to global docnums once for all segments, not once a segment
    # (a term is read from every segment: their number multiplies any per-part cost).
    ids = np.concatenate(id_parts, dtype=np.int64)
    if any(offsets):
        ids += np.repeat(np.asarray(offsets, dtype=np.int64), [len(part) for part in id_parts])
    return ids, np.concatenate(weight_parts, dtype=np.float64)


def field_lengths(reader: IndexReader, fieldname: str) -> np.ndarray:
    """The (quantised) length of ``fieldname`` in every document, by global docnum
    (int64); a field that is not Whoosh's has its lengths in the posting arrays
    (0 in a segment whose arrays are lost)."""
    parts = []
    for leaf, _ in reader.leaf_readers():
        n = leaf.doc_count_all()
        if fieldname in reader.schema:
            get = leaf.doc_field_length
            parts.append(np.fromiter((get(d, fieldname) or 0 for d in range(n)), dtype=np.int64, count=n))
            continue
        arrays = postarrays.for_leaf(leaf)
        found = None if arrays is None else arrays.lengths(fieldname)
        parts.append(found[:n] if found is not None and len(found) >= n else np.zeros(n, dtype=np.int64))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def value_decoder(reader: IndexReader, fieldname: str, chars: bool = False) -> Callable[[bytes], list]:
    """The field's own decoder of an encoded posting value: positions, or with
    ``chars`` (position, startchar, endchar) triples."""
    fmt = reader.schema[fieldname].format
    return fmt.decode_characters if chars else fmt.decode_positions


def read_positions(reader: IndexReader, fieldname: str, term: str, docs: list[int],
                   chars: bool = False, limit: int | None = None) -> dict[int, list]:
    """Word positions of ``term`` in each of ``docs`` (sorted global docnums) that holds it;
    with ``chars``, (position, startchar, endchar) of each occurrence instead; with
    ``limit``, only a document's first ``limit`` occurrences.

    A segment with posting arrays answers from those; elsewhere only the blocks
    holding a wanted document are decoded, and only that document's value in
    them: far cheaper than Whoosh's span matchers, which decode every posting
    they step over.
    """
    decode = value_decoder(reader, fieldname, chars)
    out: dict[int, list] = {}
    key = postarrays.key_of(fieldname, term.encode("utf-8"))
    for leaf, offset, lo, hi in _segments(reader, docs):
        arrays = postarrays.for_leaf(leaf)
        if arrays is not None and arrays.has_positions(fieldname):
            _array_occurrences(arrays, key, docs[lo:hi], offset, chars, out, limit)
            continue
        from civicsearch.index.internals import leaf_matcher, wanted_values  # the fallback, as above

        m = leaf_matcher(leaf, fieldname, term)
        if m is None:
            continue
        for w, value in wanted_values(m, [d - offset for d in docs[lo:hi]]):
            out[w + offset] = decode(value)[:limit]
    return out


def _array_occurrences(arrays: postarrays.PostingArrays, key: bytes, docs: list[int], offset: int, chars: bool,
                       out: dict[int, list], limit: int | None = None) -> None:
    """:func:`read_positions` for one segment's share of ``docs``, from its arrays."""
    found = arrays.get_spans(key) if chars else arrays.get_positions(key)
    if found is None:
        return
    docnums, bounds, positions = found[0], found[1], found[2]
    for k, i in where_found(docnums, [d - offset for d in docs]):
        a, b = int(bounds[i]), int(bounds[i + 1])
        if limit is not None:
            b = min(b, a + limit)
        if chars:
            starts = found[3][a:b]
            out[docs[k]] = list(zip(positions[a:b].tolist(), starts.tolist(), (starts + found[4][a:b]).tolist()))
        else:
            out[docs[k]] = positions[a:b].tolist()


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


def phrase_docs(reader: IndexReader, fieldname: str, terms: tuple[str, ...], docs: list[int],
                positions: Callable[[str, list[int]], dict[int, list]] | None = None) -> list[int]:
    """Those of ``docs`` (sorted global docnums) where ``terms`` stand in order, one after
    another. A segment with positions in its arrays answers with array operations;
    the others through ``positions(term, docs)`` (default :func:`read_positions`)."""
    out: list[int] = []
    rest: list[int] = []  # docs of segments without positions in arrays
    keys = [postarrays.key_of(fieldname, t.encode("utf-8")) for t in terms]
    for leaf, offset, lo, hi in _segments(reader, docs):
        arrays = postarrays.for_leaf(leaf)
        if arrays is None or not arrays.has_positions(fieldname):
            rest.extend(docs[lo:hi])
            continue
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
            out.extend((np.unique(common >> 32) + offset).tolist())
    if rest:
        read = positions or (lambda t, ds: read_positions(reader, fieldname, t, ds))
        at = [read(t, rest) for t in terms]
        out.extend(d for d in rest if all(d in p for p in at) and adjacent([p[d] for p in at]))
        out.sort()
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
    starts, counts = bounds[at], bounds[at + 1] - bounds[at]
    # Every occurrence's index into flat: each posting's range laid end to end.
    index = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return np.repeat(local[hit], counts) << 32 | flat[index].astype(np.int64)


def phrase_starts(positions: list[list[int]]) -> Iterator[int]:
    """Each position of the first word where all the words stand in order, one after another."""
    later = [set(p) for p in positions[1:]]
    return (start for start in positions[0] if all(start + i in s for i, s in enumerate(later, 1)))


def adjacent(positions: list[list[int]]) -> bool:
    """Whether the words stand in order, one after another, somewhere (a phrase match)."""
    if len(positions) == 2:  # the common case, in C: some p in the first with p + 1 in the second
        return not set(positions[1]).isdisjoint(map((1).__add__, positions[0]))
    return next(phrase_starts(positions), None) is not None
