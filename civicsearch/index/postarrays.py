"""A segment's ranked postings as flat arrays, in a file beside Whoosh's.

A ranked query reads the whole posting lists of a few dozen terms in every
segment. Whoosh keeps each posting's positions and character offsets pickled in
the same compressed block as its docnum and frequency, so reading docnums and
frequencies decompresses and unpickles every position too, and each term costs
a look-up in each segment's term table even where the segment lacks it. The
segment writer therefore also writes every term of the scored fields (the
ranked text: title, body) as flat arrays of docnums and frequencies into
one file per segment (``<segment>.csa``), which the ranker slices from a memory
map: a term the file lacks is in none of the segment's documents. The word
positions of the positioned fields (title, body) are there too, so that phrase
checks and the proximity bonus work on arrays, and their start characters, so
that the page's snippets need no second segmentation. The file is the only home
of these postings: the word fields (:mod:`civicsearch.index.wordpool`) and the
bigram field (:mod:`civicsearch.index.grampool`, with its documents' lengths)
have no term table or blocks in Whoosh's files, which keep the schema, the
segments, deletions, stored fields, the words' lengths and the keyword fields.
A segment whose file is missing or damaged is a damaged index
(:class:`~civicsearch.errors.IndexDamagedError`: rebuild it). Whoosh ignores the
file, and deletes it with its segment (the name matches Whoosh's segment file
pattern).

Layout (each part padded to a multiple of 8 bytes): the magic; a little-endian
u32 length and a JSON header (counts, the fields covered, the array types); for each
field, two tables of terms: its terms of one to three characters (most of a segment's:
the bigrams, two- and three-character words) by code (u8: their code points, 21 bits
each, sorted; a look-up is exact), then the others by the 32-bit hash of their key
(field name, NUL, term bytes), sorted, beside where each term's bytes start and the bytes
(without the field's name), which a look-up compares, so that a hash collision can only
cost a second compare, never a wrong answer; each table with where each term's postings
start (one more entry than terms) and, for a positioned field, where its positions start.
Then the docnums (segment-local; u2 where the segment has at most 65,536 documents); the
frequencies (u1 where all are whole numbers, with those of 255 and more kept apart: their
indexes and u4 values; else f4); the word positions, posting after posting, as many for a
posting as its frequency (u2 where all are below 65,536, else u4); then, for each positioned
field, where each of its word positions starts in the document, a document at a time: where
each document's run starts (one more than documents), and the gaps between consecutive
starts (the first from 0) four bits each, two a byte, those of 15 and more kept apart (their
indexes and u4 values; a gap is a word's length and the punctuation after it). An
occurrence's start character is its position's start, or for a sub-word (which stands at its
parent word's position) where the sub-word is found inside the parent in the document's
text (:func:`occurrence_starts`); its end is the start plus the term's length in characters
(the words are slices of the folded text). Then, for each field whose lengths the file keeps, one byte a
document (Whoosh's quantised length); then, for each column the file keeps (the values facets,
dates and collapsing read for every document), a code a document (u2 where
there are at most 65,536 distinct values, else u4) and the distinct values
(int64, or where each starts and their bytes); then, in an index built with
vectors, every document's embedding (int8, a row a document; the header names
the model). A new layout takes a new magic: a file of another one is
passed over like a damaged one (and, since the bigrams are kept here only, a
new ``SCHEMA_VERSION``).
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import zlib
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from dataclasses import field as _field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Sequence
from weakref import WeakKeyDictionary

import numpy as np
from whoosh.util.numeric import byte_to_length, length_to_byte

from civicsearch.index.radix import stable_argsort
from civicsearch.text.normalize import fold

EXTENSION = ".csa"
MAGIC = b"CSARR10\n"
_LENGTH = struct.Struct("<I")
ALIGN = 8


def key_of(fieldname: str, tbytes: bytes) -> bytes:
    return fieldname.encode("utf-8") + b"\0" + tbytes


def key_hashes(keys: Sequence[bytes]) -> np.ndarray:
    """The table's hash of each key (the one :class:`KeySet` looks them up by)."""
    return np.fromiter(map(_hash, keys), dtype=np.uint32, count=len(keys))


#: Terms of up to this many characters are kept by code, not by hash and bytes.
CODED_CHARS = 3
_CODE_BITS = 21  # every code point is below 2 ** 21


def term_code(tbytes: bytes) -> int | None:
    """A short term's code: its code points, 21 bits each (a term of one to three characters,
    most of a segment's terms: the bigrams, and two- and three-character words), or None."""
    if len(tbytes) > 4 * CODED_CHARS:
        return None
    try:
        text = tbytes.decode("utf-8")
    except UnicodeDecodeError:  # not a term the analysis makes: kept by hash, like a long one
        return None
    if not 0 < len(text) <= CODED_CHARS:
        return None
    code = 0
    for char in text:  # no code point is 0, so no two lengths share a code
        code = code << _CODE_BITS | ord(char)
    return code


def term_codes(terms: Sequence[bytes]) -> np.ndarray:
    """:func:`term_code` of each of ``terms`` at once (i8, -1 where it gives None): a
    segment's flush codes hundreds of thousands of terms."""
    out = np.full(len(terms), -1, dtype=np.int64)
    if not terms:
        return out
    joined = b"".join(terms)
    data = np.frombuffer(joined, dtype=np.uint8)
    ends = np.cumsum(np.fromiter(map(len, terms), dtype=np.int64, count=len(terms)))
    starts = np.concatenate([[0], ends[:-1]])
    lead = (data & 0xC0) != 0x80  # a character's first byte
    try:
        points = np.frombuffer(joined.decode("utf-8").encode("utf-32-le"), dtype="<u4")
    except UnicodeDecodeError:
        points = None
    # Every term is whole UTF-8 when all of it is and no term starts inside a character.
    if points is None or not lead[starts[starts < len(data)]].all():
        return np.asarray([-1 if (code := term_code(t)) is None else code for t in terms], dtype=np.int64)
    before = np.zeros(len(data) + 1, dtype=np.int64)  # the characters before each byte
    np.cumsum(lead, out=before[1:])
    first, chars = before[starts], before[ends] - before[starts]
    short = np.flatnonzero((chars > 0) & (chars <= CODED_CHARS))
    first, chars = first[short], chars[short]
    padded = np.concatenate([points, np.zeros(CODED_CHARS, dtype=points.dtype)])
    rows = np.zeros((len(short), CODED_CHARS), dtype=np.uint32)
    for j in range(CODED_CHARS):  # right-aligned, 0 before a shorter term's first character
        k = chars - (CODED_CHARS - j)  # which of the term's characters stands in column j
        rows[:, j] = np.where(k >= 0, padded[first + np.maximum(k, 0)], 0)
    out[short] = point_codes(rows).astype(np.int64)
    return out


@lru_cache(maxsize=2**16)
def _split(key: bytes) -> tuple[str, bytes, int | None]:
    """A key's field, term and the term's code (a query asks every segment for the same keys)."""
    field, _, tbytes = key.partition(b"\0")
    return field.decode("utf-8"), tbytes, term_code(tbytes)


def _code_term(code: int) -> bytes:
    chars = []
    while code:
        chars.append(chr(code & (1 << _CODE_BITS) - 1))
        code >>= _CODE_BITS
    return "".join(reversed(chars)).encode("utf-8")


def _hash(key: bytes) -> int:
    # zlib's C checksum: a stable 32-bit spread at a tenth of a cryptographic hash's
    # cost; the few keys of a segment that collide are told apart by the key compare.
    return zlib.crc32(key)


class _KeptApart:
    """Values kept in a narrow type, those at or above its top kept apart: their indexes in
    ``at`` (sorted) and their values in ``values`` (rare: a word said 255 times, a gap of 15
    characters between two words' starts)."""

    at: np.ndarray
    values: np.ndarray
    _kept: list[int] | None

    def _put_back(self, part: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """``part`` (the narrow values ``lo:hi``) with the values kept apart in their place
        (as int64), or ``part`` itself where none of them falls in it."""
        if not len(self.at):
            return part
        if self._kept is None:
            self._kept = self.at.tolist()  # few: bisected in Python, cheaper than a numpy call
        a, b = bisect_left(self._kept, lo), bisect_left(self._kept, hi)
        if a == b:
            return part
        out = part.astype(np.int64)
        out[self.at[a:b].astype(np.int64) - lo] = self.values[a:b]
        return out


@dataclass
class Escaped(_KeptApart):
    """An array of counts kept in a narrow type (``main``), those at or above its top kept apart."""

    main: np.ndarray
    at: np.ndarray
    values: np.ndarray
    _kept: list[int] | None = None

    @classmethod
    def split(cls, values: np.ndarray, dtype: str, index_dtype: str, top: int | None = None) -> "Escaped":
        """``values`` as ``dtype`` (u1 or u2), those from ``top`` (default: the type's largest) kept apart."""
        top = np.iinfo(np.dtype(dtype)).max if top is None else top
        values = np.asarray(values)
        big = np.flatnonzero(values >= top)
        return cls(np.minimum(values, top).astype(dtype), big.astype(index_dtype), values[big].astype("<u4"))

    def __len__(self) -> int:
        return len(self.main)

    def slice(self, lo: int, hi: int) -> np.ndarray:
        """Values ``lo:hi``: a view into the file where none was kept apart."""
        return self._put_back(self.main[lo:hi], lo, hi)

    def take(self, lo: np.ndarray, counts: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The values of the runs ``lo[i]`` to ``lo[i] + counts[i]``, end to end (``rows``:
        their indexes, :func:`spans`), those kept apart put back (as int64): they are found
        by the runs' bounds, not by every row."""
        out = self.main[rows]
        if not len(self.at) or not len(rows):
            return out
        first, last = self.at.searchsorted(lo), self.at.searchsorted(lo + counts)
        if not (last > first).any():
            return out
        kept = spans(first, last - first)  # the kept-apart values' indexes, run by run
        run = np.repeat(np.arange(len(lo)), last - first)
        out = out.astype(np.int64)
        out[(np.cumsum(counts) - counts)[run] + self.at[kept].astype(np.int64) - lo[run]] = self.values[kept]
        return out


@dataclass
class WordStarts(_KeptApart):
    """Where each word position of one positioned field starts in its document, for every
    document of a segment: document ``d``'s positions are entries ``runs[d]:runs[d + 1]``,
    kept as the gaps between consecutive starts (the first from 0), four bits each, two a
    byte (``packed``), those of ``TOP`` and more kept apart (index in ``at``, value in
    ``values``: a few hundred of the bench's 16 million)."""

    runs: np.ndarray
    packed: np.ndarray
    at: np.ndarray
    values: np.ndarray
    entries: int
    _kept: list[int] | None = None
    _recent: dict[int, np.ndarray] = _field(default_factory=dict)

    TOP = 15

    @classmethod
    def of(cls, postings: "Postings", doc_count: int) -> "WordStarts":
        """From a positioned field's postings (each occurrence's position and start character):
        a position's start is the least of its occurrences' (its word's; the sub-words standing
        at it start there or after), and a position none stands at starts where the one before
        it does."""
        counts, gaps = cls.gaps(postings.docnums, postings.weights, postings.positions, doc_count)
        runs = np.zeros(doc_count + 1, dtype=np.int64)
        np.cumsum(counts, out=runs[1:])
        return cls.packing(runs, cls.kept(gaps))

    @classmethod
    def kept(cls, gaps: np.ndarray) -> Escaped:
        """Gaps as the file keeps them: four bits each, those of :attr:`TOP` and more apart."""
        return Escaped.split(gaps, "u1", "<i8", top=cls.TOP)

    @classmethod
    def packing(cls, runs: np.ndarray, kept: Escaped) -> "WordStarts":
        """From each document's run of entries and their :meth:`kept` gaps, two a byte."""
        low = kept.main if len(kept.main) % 2 == 0 else np.append(kept.main, np.uint8(0))
        return cls(runs, low[0::2] | low[1::2] << 4, kept.at, kept.values, len(kept.main))

    @staticmethod
    def gaps(docnums: np.ndarray, weights: np.ndarray, positions: Any,
             doc_count: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`of`'s work from postings (their docnums, frequencies and occurrences' rows
        of word position and start character): each document's number of word positions,
        and the gaps between consecutive starts, documents end to end (int64 both)."""
        # A segment's flush holds every occurrence: the temporaries here are freed as soon as
        # they are used, and the writer calls this before it gathers the rest.
        rows = np.asarray(positions).reshape(-1, 2)  # as the pool gives them (u4): no copy
        at = np.repeat(np.asarray(docnums, dtype=np.int64), np.asarray(weights, dtype=np.int64))
        # (ufunc.at's fast path wants every operand of one type: int64 throughout.)
        counts = np.zeros(doc_count, dtype=np.int64)
        np.maximum.at(counts, at, rows[:, 0].astype(np.int64) + 1)
        runs = np.zeros(doc_count + 1, dtype=np.int64)
        np.cumsum(counts, out=runs[1:])
        at = runs[at]
        at += rows[:, 0]  # each occurrence's entry
        unset = np.iinfo(np.int64).max
        starts = np.full(int(runs[-1]), unset, dtype=np.int64)
        np.minimum.at(starts, at, rows[:, 1].astype(np.int64))
        del at
        hole = starts == unset
        if hole.any():  # the start before it: a running maximum that a document's own key resets
            owner = np.repeat(np.arange(doc_count, dtype=np.int64), counts)
            starts = np.maximum.accumulate(owner << 32 | np.where(hole, 0, starts)) & 0xFFFFFFFF
        gaps = np.diff(starts, prepend=0)
        first = runs[:-1][counts > 0]
        gaps[first] = starts[first]
        return counts, gaps

    def parts(self, index_dtype: str) -> list[np.ndarray]:
        """The arrays as the file keeps them."""
        return [self.runs.astype(index_dtype), np.asarray(self.packed, dtype=np.uint8),
                self.at.astype(index_dtype), self.values.astype("<u4")]

    def _gaps(self, lo: int, hi: int) -> np.ndarray:
        """Entries ``lo:hi``'s gaps (int64)."""
        return self._put_back(_NIBBLES[self.packed[lo // 2: (hi + 1) // 2]].reshape(-1)[lo % 2: lo % 2 + hi - lo],
                              lo, hi)

    def document(self, local: int, upto: int | None = None) -> np.ndarray:
        """Where each of document ``local``'s positions starts (int64), or its first ``upto``
        positions at least (a long law's snippet needs its first few hundred words; the last
        few documents asked for are kept: a page's snippets ask for each of its documents once
        a word)."""
        lo, hi = int(self.runs[local]), int(self.runs[local + 1])
        wanted = hi - lo if upto is None else min(hi - lo, upto)
        found = self._recent.get(local)
        if found is None or len(found) < wanted:
            if found is None and len(self._recent) >= RECENT_DOCUMENTS:
                del self._recent[next(iter(self._recent))]
            found = self._recent[local] = np.cumsum(self._gaps(lo, lo + wanted))
        return found

    def every(self) -> np.ndarray:
        """Every entry's start (int64), documents end to end (for a merge)."""
        sums = np.cumsum(self._gaps(0, self.entries))
        runs = np.asarray(self.runs, dtype=np.int64)
        before = np.concatenate([np.zeros(1, dtype=np.int64), sums])[runs[:-1]]
        return sums - np.repeat(before, np.diff(runs))


def occurrence_starts(starts: np.ndarray, positions: Sequence[int], term: str, text: str,
                      found: list[int] | None = None) -> list[int]:
    """The start character of each occurrence of ``term`` at ``positions`` (one document's,
    in the postings' order) in ``text`` (the document's field as stored), from where each of
    its positions starts (``starts``: :meth:`PostingArrays.starts`; ``found``: the starts of
    ``positions`` where the caller looked them up already, for many terms at once).

    ``starts`` may end early: past its last entry, a position's word is taken to run to the
    text's end (only a sub-word's search looks there, and finds it inside its word first).

    An occurrence starts where its position does, except a sub-word's
    (:func:`civicsearch.text.tokens.iter_words`): it stands at its parent word's position,
    and starts where it is found inside the parent (the folded text from the position's start
    to the next one's: only punctuation follows the word), the ``k``-th occurrence of a term
    at one position at the ``k``-th place it is found (the tokenizer emits a sub-word at each
    place, in order; overlapping places count)."""
    if not len(positions):
        return []
    if found is None:
        found = starts[np.asarray(positions, dtype=np.int64)].tolist()
    plain = [text.startswith(term, s) for s in found]
    if all(plain) and len(set(positions)) == len(positions):
        return found  # each where its position starts (most): no sub-word, none repeated
    out, last, before, repeat = [], len(starts) - 1, -1, 0
    size = len(term)
    for p, s, there in zip(positions, found, plain):
        repeat = repeat + 1 if p == before else 0
        before = p
        if not repeat and (there or fold(text[s: s + size]) == term):
            out.append(s)
            continue
        region = fold(text[s: int(starts[p + 1]) if p < last else len(text)])
        i = -1
        for _ in range(repeat + 1):
            i = region.find(term, i + 1)
            if i < 0:
                break
        out.append(s + max(i, 0))
    return out


@dataclass
class Postings:
    """One field's terms, all at once: term ``i`` (bytes, in any order) holds the
    postings ``starts[i]:starts[i + 1]`` of ``docnums`` (sorted within a term) and
    ``weights``; ``positions`` (or None) holds every occurrence's word position and
    start character (a row of two), posting after posting, as many for a posting
    as its frequency."""

    terms: list[bytes]
    starts: np.ndarray
    docnums: np.ndarray
    weights: np.ndarray
    positions: np.ndarray | None = None

    @classmethod
    def of(cls, terms: Iterable[tuple[bytes, Sequence[int], Sequence[float]]]) -> "Postings":
        """From ``(term, docnums, frequencies)`` triples (arrays gather fastest)."""
        names, lengths, ids_all, weights_all = [], array("Q"), array("I"), array("d")
        for tbytes, ids, weights in terms:
            names.append(tbytes)
            lengths.append(len(ids))
            ids_all.extend(ids)
            weights_all.extend(weights)
        return cls(names, _starts(lengths).astype(np.int64), np.frombuffer(ids_all, dtype=np.uint32),
                   np.frombuffer(weights_all, dtype=np.float64))


@dataclass
class Coded:
    """One column's values by code: ``codes`` (one a document) index ``distinct`` (bytes
    values, or int values; ``[None]`` where no document of the segment has a value)."""

    codes: np.ndarray
    distinct: Sequence[bytes] | Sequence[int] | Sequence[None]

    @classmethod
    def none(cls, doc_count: int) -> "Coded":
        """A column no document holds a value of (Whoosh reads None for each)."""
        return cls(np.zeros(doc_count, dtype=np.uint8), [None])


class Blobs(Sequence[bytes]):
    """A bytes column's distinct values in the file, each cut out when asked: counting a
    facet over the matches reads the few its codes name, not a segment's every value;
    going through them all reads them at once."""

    def __init__(self, starts: np.ndarray, blob: np.ndarray) -> None:
        self._starts, self._blob = starts, blob
        self._every: list[bytes] | None = None

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, i: int) -> bytes:  # type: ignore[override]
        if self._every is not None:
            return self._every[i]
        if not 0 <= i < len(self):
            if not -len(self) <= i < 0:
                raise IndexError(i)
            i += len(self)
        return self._blob[int(self._starts[i]): int(self._starts[i + 1])].tobytes()

    def take(self, indices: list[int]) -> list[bytes]:
        """The values at ``indices`` (each in range), cut out of one copy of the bytes: a
        facet's count over a segment's matches reads those its codes name, not all."""
        if self._every is not None:
            every = self._every
            return [every[i] for i in indices]
        found = np.asarray(indices, dtype=np.int64)
        blob = self._blob.tobytes()
        return [blob[a:b] for a, b in zip(self._starts[found].tolist(), self._starts[found + 1].tolist())]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._all())

    def __contains__(self, value: object) -> bool:
        return value in self._all()

    def _all(self) -> list[bytes]:
        if self._every is None:
            starts, blob = self._starts.tolist(), self._blob.tobytes()
            self._every = [blob[a:b] for a, b in zip(starts, starts[1:])]
        return self._every


def values_at(distinct: Sequence[Any], indices: list[int]) -> list[Any]:
    """The values of a column's ``distinct`` (:attr:`Coded.distinct`) at ``indices``, read
    together where the file keeps them (:meth:`Blobs.take`)."""
    return distinct.take(indices) if isinstance(distinct, Blobs) else [distinct[i] for i in indices]


@dataclass
class Vectors:
    """Every document's embedding (int8 rows, a zero row where a document has none) and the
    name of the model that made them."""

    model: str
    rows: np.ndarray


def write(out: BinaryIO, fields: dict[str, Postings], doc_count: int,
          lengths: dict[str, np.ndarray] | None = None, columns: dict[str, Coded] | None = None,
          vectors: Vectors | None = None) -> None:
    """Write every term of ``fields`` (docnums below ``doc_count``) to ``out``, and
    for each field of ``lengths`` every document's length in it (read at open as one
    array, where Whoosh's per-document lengths cost a call a document), each of
    ``columns`` coded (likewise for Whoosh's column values), and the documents' ``vectors``."""
    lengths = lengths or {}
    columns = columns or {}
    names = sorted(fields)
    # First, while the flush holds least besides.
    starts_of = {n: WordStarts.of(fields[n], doc_count) for n in names if fields[n].positions is not None}
    # Every term of every field, end to end; then each field's two tables (its short terms
    # by code, the others by hash), each a run of that order.
    starts, pos_counts, pos_parts, posting_base = [np.zeros(1, dtype=np.int64)], [], [], 0
    for name in names:
        block = fields[name]
        starts.append(np.asarray(block.starts[1:], dtype=np.int64) + posting_base)
        posting_base += int(block.starts[-1])
        if block.positions is None:
            pos_counts.append(np.zeros(len(block.terms), dtype=np.int64))
        else:
            # A posting has as many positions as its frequency.
            ends = np.cumsum(np.asarray(block.weights, dtype=np.int64))
            term_ends = ends[np.asarray(block.starts[1:], dtype=np.int64) - 1] if len(ends) else ends
            pos_counts.append(np.diff(term_ends, prepend=0))
            pos_parts.append(np.asarray(block.positions).reshape(-1, 2))
    all_starts = np.concatenate(starts)
    pos_starts = np.zeros(sum(len(fields[n].terms) for n in names) + 1, dtype=np.int64)
    if len(pos_starts) > 1:
        np.cumsum(np.concatenate(pos_counts), out=pos_starts[1:])
    sections, order = sections_of(names, {n: fields[n].terms for n in names},
                                {n for n in names if fields[n].positions is not None})
    docnums = np.concatenate([np.asarray(fields[n].docnums) for n in names]) if names else np.zeros(0, np.uint32)
    weights = np.concatenate([np.asarray(fields[n].weights, dtype=np.float64) for n in names]) if names \
        else np.zeros(0)
    # Terms in table order, each one's postings and positions with it (the positions a
    # column at a time: they are most of a segment's memory).
    # (Each gathered in turn, what it was gathered from dropped: a flush holds a segment's postings.)
    take, starts_out = _gather(all_starts, order)
    docnums, weights = docnums[take], weights[take]
    del take
    take, pos_starts_out = _gather(pos_starts, order)
    words = np.concatenate([part[:, 0] for part in pos_parts]) if pos_parts else np.zeros(0, dtype=np.int64)
    del pos_parts
    words = words[take]
    del take
    whole = bool(np.all((weights == np.floor(weights)) & (weights >= 0) & (weights < 2**16)))
    header = header_of(names, {n for n in names if fields[n].positions is not None}, sections, len(docnums),
                     len(words), int(words.max()) if len(words) else 0, whole, doc_count, lengths, columns,
                     vectors, starts_of)
    # Frequencies a byte, the few that do not fit kept apart.
    weights_out = Escaped.split(weights, "<u1", header["tables"]) if whole else None
    header["weight_exceptions"] = len(weights_out.at) if weights_out is not None else 0
    for part in [head_bytes(header), *table_parts(sections, starts_out, pos_starts_out, header["tables"]),
                 docnums.astype(header["docnums"]),
                 *((weights_out.main, weights_out.at, weights_out.values) if weights_out is not None
                   else (weights.astype(header["weights"]),)),
                 words.astype(header["word_positions"]),
                 *tail_parts(header, starts_of, lengths, columns, vectors, doc_count)]:
        write_part(out, part)


def sections_of(names: list[str], field_terms: dict[str, list[bytes]],
              positioned: set[str]) -> tuple[list[dict], np.ndarray]:
    """Each field's two tables (its short terms by code, the others by hash) and the
    order of its terms in them: ``order`` lists the indexes of the fields' terms, end
    to end, table after table."""
    sections, order_parts, first = [], [], 0
    for name in names:
        terms = field_terms[name]
        codes = term_codes(terms)
        short, long = np.flatnonzero(codes >= 0), np.flatnonzero(codes < 0)
        coded = codes[short].astype(np.uint64)
        hashed = key_hashes([key_of(name, terms[i]) for i in long.tolist()])
        by_code, by_hash = stable_argsort(coded), stable_argsort(hashed)
        sections.append({"field": name, "coded": True, "terms": len(short), "positioned": name in positioned,
                         "lookup": coded[by_code]})
        sections.append({"field": name, "coded": False, "terms": len(long), "positioned": name in positioned,
                         "lookup": hashed[by_hash], "keys": [terms[i] for i in long[by_hash].tolist()]})
        order_parts += [first + short[by_code], first + long[by_hash]]
        first += len(terms)
    return sections, np.concatenate(order_parts) if order_parts else np.zeros(0, dtype=np.int64)


def header_of(names: list[str], positioned: set[str], sections: list[dict], postings: int, positions: int,
            word_max: int, whole: bool, doc_count: int, lengths: dict[str, np.ndarray], columns: dict[str, Coded],
            vectors: Vectors | None, starts_of: dict[str, WordStarts]) -> dict:
    """The file's header (but its count of frequencies kept apart)."""
    key_bytes = sum(len(k) for section in sections for k in section.get("keys", ()))
    size = max(postings, key_bytes, positions)
    return {
        "postings": postings, "fields": names, "positioned": sorted(positioned), "positions": positions,
        "tables": "<u4" if size < 2**32 else "<u8",
        "docnums": "<u2" if doc_count <= 2**16 else "<u4", "weights": "<u1" if whole else "<f4",
        "word_positions": "<u2" if word_max < 2**16 else "<u4",
        "sections": [{"field": sec["field"], "coded": sec["coded"], "terms": sec["terms"],
                      "positioned": sec["positioned"], "key_bytes": sum(map(len, sec.get("keys", ())))}
                     for sec in sections],
        "documents": doc_count, "lengths": sorted(lengths),
        "columns": [_column_header(name, columns[name]) for name in sorted(columns)],
        "vectors": None if vectors is None else {"model": vectors.model, "dim": int(vectors.rows.shape[1])},
        "word_starts": [{"field": n, "entries": starts_of[n].entries, "exceptions": len(starts_of[n].at)}
                        for n in sorted(starts_of)],
    }


def head_bytes(header: dict) -> bytes:
    """The file's start: its magic, and its header's length and JSON."""
    encoded = json.dumps(header).encode("utf-8")
    return MAGIC + _LENGTH.pack(len(encoded)) + encoded


def table_parts(sections: list[dict], starts_out: np.ndarray, pos_starts_out: np.ndarray,
                 tables: str) -> list[np.ndarray]:
    """Each table as the file keeps it: its look-up, where each term's postings (and
    positions) start, and a hashed table's term bytes."""
    parts, at = [], 0
    for sec in sections:
        n = sec["terms"]
        parts += [sec["lookup"].astype("<u8" if sec["coded"] else "<u4"), starts_out[at: at + n + 1].astype(tables)]
        if sec["positioned"]:
            parts.append(pos_starts_out[at: at + n + 1].astype(tables))
        if not sec["coded"]:
            parts += [_starts(array("Q", map(len, sec["keys"]))).astype(tables),
                      np.frombuffer(b"".join(sec["keys"]), dtype=np.uint8)]
        at += n
    return parts


def tail_parts(header: dict, starts_of: dict[str, WordStarts], lengths: dict[str, np.ndarray],
                columns: dict[str, Coded], vectors: Vectors | None, doc_count: int) -> list[np.ndarray]:
    """What follows the word positions: their starts, the lengths, the columns, the vectors."""
    return [*(part for n in sorted(starts_of) for part in starts_of[n].parts(header["tables"])),
            *(_length_bytes(lengths[n], doc_count) for n in sorted(lengths)),
            *(part for entry in header["columns"] for part in _column_parts(columns[entry["name"]], entry, doc_count)),
            *(() if vectors is None else (_vector_rows(vectors.rows, doc_count),))]


def write_part(out: BinaryIO, part: bytes | np.ndarray) -> None:
    """Write one part of the file, padded to a multiple of :data:`ALIGN` bytes."""
    data = memoryview(part).cast("B") if isinstance(part, np.ndarray) else part
    out.write(data)
    out.write(b"\0" * padding(len(data)))


def _column_header(name: str, coded: Coded) -> dict:
    held = None not in coded.distinct
    ints = held and all(isinstance(v, int) for v in coded.distinct) and bool(coded.distinct)
    return {"name": name, "distinct": len(coded.distinct) if held else 0, "ints": ints, "held": held,
            "codes": "<u2" if len(coded.distinct) <= 2**16 else "<u4",
            "bytes": 0 if ints or not held else sum(map(len, coded.distinct))}


def _column_parts(coded: Coded, header: dict, doc_count: int) -> list[np.ndarray]:
    """A column's codes (one a document), then its distinct values: int64s, or where each
    starts (u8, one more than values) and their bytes (``header``: its :func:`_column_header`)."""
    codes = np.zeros(doc_count, dtype=header["codes"])
    codes[: len(coded.codes)] = coded.codes
    if not header["held"]:
        return [codes[:0]]
    if header["ints"]:
        return [codes, np.asarray(coded.distinct, dtype="<i8")]
    blob = b"".join(coded.distinct)  # type: ignore[arg-type]
    return [codes, _starts(array("Q", map(len, coded.distinct))).astype("<u8"), np.frombuffer(blob, dtype=np.uint8)]


def _vector_rows(rows: np.ndarray, doc_count: int) -> np.ndarray:
    out = np.zeros((doc_count, rows.shape[1]), dtype=np.int8)
    out[: len(rows)] = rows[:doc_count]
    return out


def _length_bytes(lengths: np.ndarray, doc_count: int) -> np.ndarray:
    """Every document's length as Whoosh quantises it (one byte a document)."""
    out = np.zeros(doc_count, dtype=np.uint8)
    out[: len(lengths)] = np.fromiter(map(length_to_byte, np.asarray(lengths).tolist()), dtype=np.uint8,
                                      count=len(lengths))
    return out


def spans(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The indexes ``starts[i]`` to ``starts[i] + counts[i]`` (excluded) for each ``i``, end to end."""
    ends = np.cumsum(counts)
    if not len(ends) or not ends[-1]:
        return np.zeros(0, dtype=np.int64)
    take = np.repeat(np.asarray(starts, dtype=np.int64) - (ends - counts), counts)
    take += np.arange(int(ends[-1]), dtype=np.int64)  # in place: a flush's occurrences are many
    return take


def _gather(starts: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For consecutive parts (part ``i`` is ``starts[i]:starts[i + 1]``) put in
    ``order``: the index of each item in the new sequence, and the new starts."""
    counts = np.diff(starts)[order]
    new_starts = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(counts, out=new_starts[1:])
    return spans(starts[:-1][order], counts), new_starts


def _starts(lengths: array) -> np.ndarray:
    """Where each of consecutive parts of ``lengths`` starts, and where the last ends."""
    starts = np.zeros(len(lengths) + 1, dtype=np.uint64)
    np.cumsum(np.frombuffer(lengths, dtype=np.uint64), out=starts[1:])
    return starts


def padding(size: int) -> int:
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
            at += length + padding(at + length)
        except (struct.error, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: damaged header ({e})") from e
        self.fields = frozenset(header["fields"])
        self.positioned = frozenset(header["positioned"])

        def take(dtype: str, count: int) -> np.ndarray:
            nonlocal at
            view = np.frombuffer(self._map, dtype=dtype, count=count, offset=at)
            at += view.nbytes + padding(view.nbytes)
            return view

        tables = header["tables"]
        try:
            #: Each field's tables: its short terms by code, the others by hash.
            self._tables: dict[str, list[_Table]] = {}
            for sec in header["sections"]:
                n = sec["terms"]
                lookup = take("<u8" if sec["coded"] else "<u4", n)
                starts = take(tables, n + 1)
                pos_starts = take(tables, n + 1) if sec["positioned"] else None
                key_starts, keys = (None, None) if sec["coded"] else (take(tables, n + 1), take("u1", sec["key_bytes"]))
                self._tables.setdefault(sec["field"], []).append(
                    _Table(sec["coded"], lookup, starts, pos_starts, key_starts, keys))
            self.docnums = take(header["docnums"], header["postings"])
            main = take(header["weights"], header["postings"])
            self.weights = Escaped(main, take(tables, header["weight_exceptions"]),
                                   take("<u4", header["weight_exceptions"])) if header["weights"] == "<u1" \
                else Escaped(main, main[:0].astype(tables), main[:0].astype("<u4"))
            self.positions = take(header["word_positions"], header["positions"])
            #: Each positioned field's word starts.
            self.word_starts = {entry["field"]: WordStarts(
                take(tables, header["documents"] + 1), take("u1", (entry["entries"] + 1) // 2),
                take(tables, entry["exceptions"]), take("<u4", entry["exceptions"]), entry["entries"])
                for entry in header["word_starts"]}
            self._lengths = {name: take("u1", header["documents"]) for name in header["lengths"]}
            # Each column's arrays, as views; their values are decoded when first asked for.
            self._column_parts: dict[str, tuple[dict, list[np.ndarray]]] = {}
            for column in header["columns"]:
                parts = []
                if column["held"]:
                    parts.append(take(column["codes"], header["documents"]))
                    if column["ints"]:
                        parts.append(take("<i8", column["distinct"]))
                    else:
                        parts += [take("<u8", column["distinct"] + 1), take("u1", column["bytes"])]
                self._column_parts[column["name"]] = (column, parts)
            self._columns: dict[str, Coded] = {}
            self._documents = header["documents"]
            found = header.get("vectors")
            #: The documents' embeddings (int8 rows by docnum) and their model, where the index keeps them.
            self.vectors: Vectors | None = None if not found else Vectors(
                found["model"], take("i1", header["documents"] * found["dim"]).reshape(-1, found["dim"]))
        except ValueError as e:
            raise ValueError(f"{path}: shorter than its header says ({e})") from e
        if at != len(self._map):
            raise ValueError(f"{path}: {len(self._map)} bytes, the header says {at}")

    def lengths(self, fieldname: str) -> np.ndarray | None:
        """Every document's length in ``fieldname`` (quantised as Whoosh's), for a field
        whose lengths the file keeps, else None."""
        found = self._lengths.get(fieldname)
        return None if found is None else BYTE_LENGTHS[found]

    def length_bytes(self, fieldname: str) -> np.ndarray | None:
        """:meth:`lengths` as kept, a byte a document (u1; :data:`BYTE_LENGTHS` reads them)."""
        return self._lengths.get(fieldname)

    def column(self, fieldname: str) -> Coded | None:
        """A column's values by code (one code a document), for a column the file keeps, else
        None; decoded once, on the first call (a command that reads no column decodes none)."""
        if fieldname not in self._columns and fieldname in self._column_parts:
            column, parts = self._column_parts[fieldname]
            if not column["held"]:  # no document of the segment has a value
                self._columns[fieldname] = Coded.none(self._documents)
            elif column["ints"]:
                self._columns[fieldname] = Coded(parts[0], parts[1].tolist())
            else:
                self._columns[fieldname] = Coded(parts[0], Blobs(parts[1], parts[2]))
        return self._columns.get(fieldname)

    def cell(self, fieldname: str, local: int) -> Any:
        """One document's value of a column, as :meth:`column` would give it, without decoding
        the column's other values (None where the file keeps no such column)."""
        if fieldname in self._columns:
            coded = self._columns[fieldname]
            return coded.distinct[int(coded.codes[local])]
        if fieldname not in self._column_parts:
            return None
        column, parts = self._column_parts[fieldname]
        if not column["held"]:
            return None
        code = int(parts[0][local])
        if column["ints"]:
            return int(parts[1][code])
        return parts[2][int(parts[1][code]): int(parts[1][code + 1])].tobytes()

    def _table(self, key: bytes) -> tuple["_Table", int] | None:
        """The table of ``key``'s term and its row there, or None: no document holds it
        (one key: what the positions ask for, a term and a segment at a time)."""
        field, tbytes, code = _split(key)
        tables = self._tables.get(field)
        if not tables:
            return None
        table = tables[0] if code is not None else tables[1]
        row = table.row(code if code is not None else _hash(key), tbytes)
        return None if row is None else (table, row)

    def terms(self, fieldname: str) -> list[bytes]:
        """Every term of ``fieldname`` in the file (in no useful order)."""
        return [t for table in self._tables.get(fieldname, ()) for t in table.terms()]

    def term_parts(self, fieldname: str, nbytes: tuple[int, int] | None = None) -> tuple[np.ndarray, list[bytes]]:
        """Every term of ``fieldname`` in the file, as kept: the short terms' codes (u8, to be
        read with :func:`code_texts`) and the other terms' bytes (in no useful order), those
        of ``nbytes`` (the least and most bytes, when given) alone."""
        tables = self._tables.get(fieldname, ())
        codes = [table.lookup for table in tables if table.coded]
        return (np.concatenate(codes) if codes else np.zeros(0, dtype="<u8"),
                [t for table in tables if not table.coded for t in table.terms(nbytes)])

    def field_terms(self, fieldname: str) -> Iterator[tuple[bytes, np.ndarray, np.ndarray]]:
        """(term, docnums, frequencies) of every term of ``fieldname`` in the file (for a merge)."""
        for table in self._tables.get(fieldname, ()):
            for i, term in enumerate(table.terms()):
                yield (term, *self._postings_at(table, i))

    def field_postings(self, fieldname: str) -> tuple[list[bytes], np.ndarray, np.ndarray, np.ndarray,
                                                      np.ndarray | None, np.ndarray | None]:
        """Every posting of ``fieldname`` at once (for a merge): the terms; each posting's
        term (an index into them), docnums and frequency; and for a positioned field
        every occurrence's word position and its position's start character (a sub-word's
        parent word's: a new file takes the least start of a position as its start), posting
        after posting."""
        tables = self._tables.get(fieldname, [])
        terms = [t for table in tables for t in table.terms()]
        # A field's tables are consecutive runs of the file's postings (and occurrences).
        lo = int(tables[0].starts[0]) if tables else 0
        hi = int(tables[-1].starts[-1]) if tables else 0
        counts = np.concatenate([np.diff(t.starts.astype(np.int64)) for t in tables]) if tables \
            else np.zeros(0, dtype=np.int64)
        term_of = np.repeat(np.arange(len(terms), dtype=np.int64), counts)
        docnums, weights = self.docnums[lo:hi], self.weights.slice(lo, hi).astype(np.int64)
        if fieldname not in self.positioned or not tables:
            return terms, term_of, docnums, weights, None, None
        a, b = int(tables[0].pos_starts[0]), int(tables[-1].pos_starts[-1])  # type: ignore[index]
        positions = self.positions[a:b].astype(np.int64)
        occurring = np.repeat(docnums.astype(np.int64), weights)  # a posting has as many as its frequency
        starts = self.word_starts[fieldname]
        return terms, term_of, docnums, weights, positions, starts.every()[starts.runs[occurring] + positions]

    def has_positions(self, fieldname: str) -> bool:
        """Whether every term of ``fieldname`` has its word positions in the file."""
        return fieldname in self.positioned

    def _postings_at(self, table: "_Table", i: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = int(table.starts[i]), int(table.starts[i + 1])
        return self.docnums[lo:hi], self.weights.slice(lo, hi)

    def ranges(self, keys: "KeySet") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which of ``keys`` the segment holds (their indexes) and the rows of their postings
        (from, to: int64 arrays), each table searched once for all of its keys: a query's
        terms in one call a segment, worked out once for all segments."""
        members, bounds = [], []
        for field, coded, group, lookups, terms in keys.groups:
            tables = self._tables.get(field)
            if not tables:
                continue
            table = tables[0] if coded else tables[1]
            held, rows = table.found(lookups, terms)
            if len(rows):
                members.append(group[held])
                bounds.append(table.starts[rows[:, None] + _BOUNDS])
        if not members:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        rows = np.concatenate(bounds).astype(np.int64)
        return np.concatenate(members), rows[:, 0], rows[:, 1]

    def gather(self, lo: np.ndarray, counts: np.ndarray, rows: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """The docnums and frequencies of the postings ``lo[i]`` to ``lo[i] + counts[i]``,
        run after run (the rows :meth:`ranges` gives; ``rows``: their indexes, where worked
        out already, ``spans(lo, counts)``)."""
        if rows is None:
            rows = spans(lo, counts)
        return self.docnums[rows], self.weights.take(lo, counts, rows)

    def get(self, key: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """(docnums, frequencies) as views into the file, or None when no document
        of the segment holds the term."""
        found = self._table(key)
        return None if found is None else self._postings_at(*found)

    def get_positions(self, key: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(docnums, where each posting's positions start and the last ends, positions)
        of a term of a positioned field, or None when no document of the segment holds it."""
        found = self._table(key)
        if found is None or found[0].pos_starts is None:
            return None
        table, i = found
        docnums, weights = self._postings_at(table, i)
        bounds = np.zeros(len(docnums) + 1, dtype=np.int64)
        np.cumsum(weights, out=bounds[1:])  # a posting has as many positions as its frequency
        p = int(table.pos_starts[i])  # type: ignore[index]
        return docnums, bounds, self.positions[p: p + int(bounds[-1])]

    def starts(self, fieldname: str, local: int, upto: int | None = None) -> np.ndarray:
        """Where each word position of a positioned field starts in document ``local`` (int64,
        one a position; with ``upto``, the first ``upto`` positions at least; not to be changed:
        the last few documents' are kept)."""
        return self.word_starts[fieldname].document(local, upto)


class KeySet:
    """A query's keys as each segment's tables are searched for them: grouped by field and
    kind (coded, or by hash), each group's codes or hashes in one array, worked out once for
    every segment."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        self.count = len(keys)
        found: dict[tuple[str, bool], tuple[list[int], list[int], list[bytes]]] = {}
        for k, key in enumerate(keys):
            field, tbytes, code = _split(key)
            members, lookups, terms = found.setdefault((field, code is not None), ([], [], []))
            members.append(k)
            lookups.append(code if code is not None else _hash(key))
            terms.append(tbytes)
        #: (field, coded, the keys' indexes, their codes (u8) or hashes (u4), their term bytes)
        self.groups = [(field, coded, np.asarray(members, dtype=np.int64),
                        np.asarray(lookups, dtype="<u8" if coded else "<u4"), terms)
                       for (field, coded), (members, lookups, terms) in found.items()]


@dataclass
class _Table:
    """One field's terms of one kind, sorted by ``lookup``: short terms by code (u8), the
    others by the 32-bit hash of their key with the term's bytes beside it (``keys``, each
    from ``key_starts``); where each term's postings start (``starts``, into the file's
    arrays, one more than terms) and, for a positioned field, its occurrences."""

    coded: bool
    lookup: np.ndarray
    starts: np.ndarray
    pos_starts: np.ndarray | None
    key_starts: np.ndarray | None
    keys: np.ndarray | None

    def found(self, lookups: np.ndarray, terms: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Which terms the table holds (a boolean mask) and their rows there (``lookups``: each
        term's code, or its key's hash, as the table is kept, in the table's own type: numpy
        would convert the whole table to another; ``terms``: their bytes); the table is
        searched once for all of them."""
        n = len(self.lookup)
        if not n:
            return np.zeros(len(lookups), dtype=bool), np.zeros(0, dtype=np.int64)
        at = self.lookup.searchsorted(lookups)
        if not self.coded:
            rows = [self._check(i, lookup, t) for i, lookup, t in zip(at.tolist(), lookups.tolist(), terms)]
            held = np.fromiter((r is not None for r in rows), dtype=bool, count=len(rows))
            return held, np.asarray([r for r in rows if r is not None], dtype=np.int64)
        np.minimum(at, n - 1, out=at)  # a code is the term itself: one compare each, at once
        held = self.lookup[at] == lookups
        return held, at[held]

    def row(self, lookup: int, tbytes: bytes) -> int | None:
        """The row of one term (as :meth:`found` finds it), or None."""
        return self._check(int(self.lookup.searchsorted(self.lookup.dtype.type(lookup))), lookup, tbytes)

    def _check(self, i: int, lookup: int, tbytes: bytes) -> int | None:
        """The term's row from where its ``lookup`` would sit, ``i``: a code is the term itself;
        among the rows that share a key's hash, the one whose bytes are the term's (a hash
        collision costs a second compare, never a wrong answer)."""
        n = len(self.lookup)
        if self.coded:
            return i if i < n and int(self.lookup[i]) == lookup else None
        while i < n and int(self.lookup[i]) == lookup:
            a, b = int(self.key_starts[i]), int(self.key_starts[i + 1])  # type: ignore[index]
            if self.keys[a:b].tobytes() == tbytes:  # type: ignore[index]
                return i
            i += 1
        return None

    def terms(self, nbytes: tuple[int, int] | None = None) -> list[bytes]:
        """The table's terms, or a hashed table's of ``nbytes`` (the least and most bytes)."""
        if self.coded:
            return [t.encode("utf-8") for t in code_texts(self.lookup)]
        assert self.key_starts is not None and self.keys is not None
        if nbytes is None:
            starts, keys = self.key_starts.tolist(), self.keys.tobytes()
            return [keys[a:b] for a, b in zip(starts, starts[1:])]
        sizes = np.diff(self.key_starts.astype(np.int64))
        chosen = np.flatnonzero((sizes >= nbytes[0]) & (sizes <= nbytes[1]))
        keys = self.keys.tobytes()
        return [keys[a:a + n] for a, n in zip(self.key_starts[chosen].tolist(), sizes[chosen].tolist())]


def code_points(codes: np.ndarray) -> np.ndarray:
    """The code points of short-term codes (u8; :func:`term_code`): a row of three a code
    (u4), 0 before the first character of a term shorter than three."""
    mask = np.uint64((1 << _CODE_BITS) - 1)
    return np.stack([(codes >> np.uint64(_CODE_BITS * j)) & mask for j in (2, 1, 0)], axis=1).astype("<u4")


def point_codes(points: np.ndarray) -> np.ndarray:
    """Rows of up to three code points (0 before a shorter term's first) as short-term codes
    (u8): what :func:`term_code` gives each row's characters, the inverse of :func:`code_points`."""
    out = np.zeros(len(points), dtype=np.uint64)
    for j in range(points.shape[1]):
        out = out << np.uint64(_CODE_BITS) | points[:, j].astype(np.uint64)
    return out


def code_texts(codes: np.ndarray) -> list[str]:
    """The terms of short-term codes (u8; :func:`term_code`), decoded at once."""
    text = code_points(codes).tobytes().decode("utf-32-le")
    return [text[i: i + 3].replace("\0", "") for i in range(0, len(text), 3)]


#: A row's and the next one's (where a term's postings start, and end).
_BOUNDS = np.asarray([0, 1], dtype=np.int64)
#: Each byte's two four-bit gaps, low half first.
_NIBBLES = np.stack([np.arange(256) & 15, np.arange(256) >> 4], axis=1).astype(np.int64)
#: Documents whose word starts a field keeps decoded.
RECENT_DOCUMENTS = 64
#: The length each length byte stands for (Whoosh's quantisation; byte 0 is length 0).
BYTE_LENGTHS = np.asarray([byte_to_length(b) for b in range(256)], dtype=np.int64)
_OPEN: WeakKeyDictionary = WeakKeyDictionary()


def for_leaf(leaf: object) -> PostingArrays:
    """The arrays of a segment reader's segment, opened once per reader by the segment's
    codec (:class:`civicsearch.index.codec.CivicCodec`).

    Raises :class:`~civicsearch.errors.IndexDamagedError` when the file is missing or
    damaged: it is the only home of the segment's words and bigrams.
    """
    try:
        return _OPEN[leaf]
    except (KeyError, TypeError):
        pass
    # A segment reader's own segment and storage (a reader of several segments has neither).
    segment = leaf.segment() if hasattr(leaf, "segment") else None  # type: ignore[attr-defined]
    opener = getattr(segment.codec(), "posting_arrays", None) if segment is not None else None
    if opener is None:
        raise TypeError(f"not a segment written with civicsearch's codec: {leaf!r}")
    storage = leaf.storage()  # type: ignore[attr-defined]
    try:
        found = opener(storage, segment)
    except (OSError, ValueError) as e:
        from civicsearch.index.store import damaged  # the error names the way out

        folder, name = storage.folder, segment.make_filename(EXTENSION)
        why = "is missing" if isinstance(e, FileNotFoundError) else f"is unreadable: {e}".replace(
            f"{os.path.join(folder, name)}: ", "")
        raise damaged(Path(folder).parent, f"{Path(folder).name}/{name} {why}") from None
    _OPEN[leaf] = found
    return found
