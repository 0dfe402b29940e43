"""A segment's ranked postings as flat arrays, in a file beside Whoosh's.

A ranked query reads the whole posting lists of a few dozen terms in every
segment. Whoosh keeps each posting's positions and character offsets pickled in
the same compressed block as its docnum and frequency, so reading docnums and
frequencies decompresses and unpickles every position too, and each term costs
a look-up in each segment's term table even where the segment lacks it. The
segment writer therefore also writes every term of the scored fields (the
ranked text: title, body, bigrams) as flat arrays of docnums and frequencies into
one file per segment (``<segment>.csa``), which the ranker slices from a memory
map: a term the file lacks is in none of the segment's documents. The word
positions of the positioned fields (title, body) are there too, so that phrase
checks and the proximity bonus work on arrays; character offsets (snippets, for
the ten hits of a page) stay in Whoosh's blocks. A segment without the file
(written by Whoosh's own path, or damaged) is read from the blocks as before:
the file is an accelerator, never the only copy. Whoosh ignores it, and deletes
it with its segment (the name matches Whoosh's segment file pattern).

Layout (each part padded to a multiple of 8 bytes): the magic; a little-endian
u32 length and a JSON header (counts, the fields covered, the array types);
each term's 64-bit key hash, sorted; where each term's postings start (one more
entry than terms); where each term's key starts (likewise); where each term's
positions start (likewise); the docnums (segment-local; u2 where the segment has
at most 65,536 documents); the frequencies (u2 where all are whole numbers below
65,536, else f4); the word positions, posting after posting, as many for a
posting as its frequency (u2 where all are below 65,536, else u4); the keys
(field name, NUL, term bytes), which a look-up compares, so that a hash
collision can only cost a second compare, never a wrong answer. A new layout
takes a new magic: a file of another one is passed over like a damaged one.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import zlib
from array import array
from typing import BinaryIO, Iterable
from weakref import WeakKeyDictionary

import numpy as np

EXTENSION = ".csa"
MAGIC = b"CSARR04\n"
_LENGTH = struct.Struct("<I")
ALIGN = 8


def key_of(fieldname: str, tbytes: bytes) -> bytes:
    return fieldname.encode("utf-8") + b"\0" + tbytes


def _hash(key: bytes) -> int:
    # Two of zlib's C checksums: a stable 64-bit spread at a tenth of a cryptographic
    # hash's cost; keys that collide are told apart by the key compare in get().
    return zlib.crc32(key) << 32 | zlib.adler32(key)


#: A term as written: its key, docnums, frequencies and word positions (or None).
Term = tuple[bytes, array, array, "np.ndarray | None"]


def write(out: BinaryIO, fieldnames: Iterable[str], terms: Iterable[Term], doc_count: int,
          positioned: Iterable[str] = ()) -> None:
    """Write ``(key, docnums, frequencies, positions)`` of every term of ``fieldnames``
    (docnums sorted, each below ``doc_count``; frequencies as any numeric array) to
    ``out``. ``positions`` (every occurrence's word position, posting after posting,
    as many for a posting as its frequency) are given for the terms of the
    ``positioned`` fields, and None for the others."""
    entries = list(terms)
    hashes = np.fromiter((_hash(entry[0]) for entry in entries), dtype=np.uint64, count=len(entries))
    order = np.argsort(hashes, kind="stable")
    ids_all, weights_all = array("I"), array("d")
    lengths, pos_lengths, keys, pos_parts = array("Q"), array("Q"), [], []
    for i in order.tolist():
        key, ids, weights, positions = entries[i]
        ids_all.extend(ids)
        weights_all.extend(weights)
        lengths.append(len(ids))
        keys.append(key)
        pos_lengths.append(0 if positions is None else len(positions))
        if positions is not None:
            pos_parts.append(positions)
    key_blob = b"".join(keys)
    positions_all = np.concatenate(pos_parts) if pos_parts else np.zeros(0, dtype=np.int64)
    weights_np = np.frombuffer(weights_all, dtype=np.float64)
    whole = bool(np.all((weights_np == np.floor(weights_np)) & (weights_np >= 0) & (weights_np < 2**16)))
    size = max(len(ids_all), len(key_blob), len(positions_all))
    header = {
        "terms": len(entries), "postings": len(ids_all), "key_bytes": len(key_blob), "fields": sorted(fieldnames),
        "positioned": sorted(positioned), "positions": len(positions_all),
        "tables": "<u4" if size < 2**32 else "<u8",
        "docnums": "<u2" if doc_count <= 2**16 else "<u4", "weights": "<u2" if whole else "<f4",
        "word_positions": "<u2" if not len(positions_all) or int(positions_all.max()) < 2**16 else "<u4",
    }
    encoded = json.dumps(header).encode("utf-8")
    parts = [MAGIC + _LENGTH.pack(len(encoded)) + encoded,
             hashes[order].astype("<u8"),
             _starts(lengths).astype(header["tables"]),
             _starts(array("Q", map(len, keys))).astype(header["tables"]),
             _starts(pos_lengths).astype(header["tables"]),
             np.frombuffer(ids_all, dtype=np.uint32).astype(header["docnums"]),
             weights_np.astype(header["weights"]),
             positions_all.astype(header["word_positions"]),
             key_blob]
    for part in parts:
        data = memoryview(part).cast("B") if isinstance(part, np.ndarray) else part
        out.write(data)
        out.write(b"\0" * _padding(len(data)))


def _starts(lengths: array) -> np.ndarray:
    """Where each of consecutive parts of ``lengths`` starts, and where the last ends."""
    starts = np.zeros(len(lengths) + 1, dtype=np.uint64)
    np.cumsum(np.frombuffer(lengths, dtype=np.uint64), out=starts[1:])
    return starts


def _padding(size: int) -> int:
    # Every array starts at a multiple of 8 bytes: numpy copies a misaligned
    # array before searching it, which would cost a copy of the table per look-up.
    return -size % ALIGN


class PostingArrays:
    """One segment's file, memory-mapped: :meth:`get` answers a term's postings."""

    def __init__(self, path: str) -> None:
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            if self._map[: len(MAGIC)] != MAGIC:
                raise ValueError(f"{path}: not a posting array file")
            at = len(MAGIC) + _LENGTH.size
            (length,) = _LENGTH.unpack_from(self._map, len(MAGIC))
            header = json.loads(self._map[at: at + length])
            at += length + _padding(at + length)
        except (struct.error, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: damaged header ({e})") from e
        self.fields = frozenset(header["fields"])
        self.positioned = frozenset(header["positioned"])

        def take(dtype: str, count: int) -> np.ndarray:
            nonlocal at
            view = np.frombuffer(self._map, dtype=dtype, count=count, offset=at)
            at += view.nbytes + _padding(view.nbytes)
            return view

        terms, tables = header["terms"], header["tables"]
        try:
            self.hashes = take("<u8", terms)
            self.starts = take(tables, terms + 1)
            self.key_starts = take(tables, terms + 1)
            self.pos_starts = take(tables, terms + 1)
            self.docnums = take(header["docnums"], header["postings"])
            self.weights = take(header["weights"], header["postings"])
            self.positions = take(header["word_positions"], header["positions"])
            self.keys = take("u1", header["key_bytes"])
        except ValueError as e:
            raise ValueError(f"{path}: shorter than its header says ({e})") from e
        if at != len(self._map):
            raise ValueError(f"{path}: {len(self._map)} bytes, the header says {at}")

    def covers(self, fieldname: str) -> bool:
        """Whether every term of ``fieldname`` in the segment is in the file."""
        return fieldname in self.fields

    def has_positions(self, fieldname: str) -> bool:
        """Whether every term of ``fieldname`` has its word positions in the file."""
        return fieldname in self.positioned

    def _find(self, key: bytes) -> int | None:
        h = _hash(key)
        # As a numpy scalar: a Python int above 2**63 makes numpy convert the whole table.
        i = int(self.hashes.searchsorted(np.uint64(h)))
        n = len(self.hashes)
        while i < n and int(self.hashes[i]) == h:
            a, b = int(self.key_starts[i]), int(self.key_starts[i + 1])
            if self.keys[a:b].tobytes() == key:
                return i
            i += 1
        return None

    def get(self, key: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """(docnums, frequencies) as views into the file, or None when no document
        of the segment holds the term."""
        i = self._find(key)
        if i is None:
            return None
        lo, hi = int(self.starts[i]), int(self.starts[i + 1])
        return self.docnums[lo:hi], self.weights[lo:hi]

    def get_positions(self, key: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(docnums, where each posting's positions start and the last ends, positions)
        of a term of a positioned field, or None when no document of the segment holds it."""
        i = self._find(key)
        if i is None:
            return None
        lo, hi = int(self.starts[i]), int(self.starts[i + 1])
        bounds = np.zeros(hi - lo + 1, dtype=np.int64)
        np.cumsum(self.weights[lo:hi], out=bounds[1:])  # a posting has as many positions as its frequency
        p = int(self.pos_starts[i])
        return self.docnums[lo:hi], bounds, self.positions[p: p + int(bounds[-1])]


_OPEN: WeakKeyDictionary = WeakKeyDictionary()


def for_leaf(leaf: object) -> PostingArrays | None:
    """The arrays of a segment reader's segment, or None (none written, or not a
    segment read from a folder); opened once per reader."""
    try:
        return _OPEN[leaf]
    except (KeyError, TypeError):
        pass
    found = None
    folder = getattr(getattr(leaf, "_storage", None), "folder", None)
    segment = getattr(leaf, "_segment", None)
    if folder and segment is not None and not segment.is_compound():
        path = os.path.join(folder, segment.make_filename(EXTENSION))
        if os.path.exists(path):
            try:
                found = PostingArrays(path)
            except (OSError, ValueError):
                found = None  # damaged: Whoosh's blocks still hold every posting
    try:
        _OPEN[leaf] = found
    except TypeError:
        pass
    return found
