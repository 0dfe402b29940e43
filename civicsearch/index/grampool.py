"""A segment's bigram postings, pooled as flat arrays and written only to its posting arrays.

The bigram field ranks and never matches (``civicsearch.search.rank``), so its
postings need no place in Whoosh's files: a segment writer hands each
document's text here, the counts of its bigrams go into three flat arrays
(term code, docnum, count) at a few machine words a posting, and the flush
sorts them into posting lists at once (``civicsearch.index.postarrays``). A merge
brings an old segment's bigrams over from that segment's arrays.

The tokens are :func:`civicsearch.text.bigrams.count_grams`'s, found here with array
operations on the text's code points (a test holds the two to each other): a
Han bigram is coded as its two code points (``first << 21 | second``), a lone Han
character as its code point, so neither needs a dictionary look-up a document;
only the runs of letters and digits are numbered, as negative codes.
"""

from __future__ import annotations

from array import array
from itertools import repeat

import numpy as np

from civicsearch.index import postarrays
from civicsearch.index.radix import by_code_then_doc
from civicsearch.text.bigrams import MAX_CHARS
from civicsearch.text.normalize import fold
from civicsearch.text.tokens import TOKEN_RE, WORD_RE, in_ranges

#: The bigram field's name in the posting arrays and in the ranker.
FIELD = "grams"
#: Bytes a posting costs here (an i8 code and two u4 slots), and a distinct run of
#: letters and digits (its str and dict slot).
POSTING_BYTES = 16
TERM_BYTES = 120
_SHIFT = 21  # every code point is below 2 ** 21


def gram_code(term: str, words: dict[str, int]) -> int:
    """The code of one bigram token (a new run of letters and digits is numbered in ``words``)."""
    token = TOKEN_RE.fullmatch(term)
    if token is not None and token.group("han"):  # a Han bigram, or a lone Han character
        return ord(term[0]) << _SHIFT | ord(term[1]) if len(term) == 2 else ord(term)
    return -1 - words.setdefault(term, len(words))


def gram_term(code: int, words: list[str]) -> str:
    """The token a code stands for (``words``: the runs of letters and digits by number)."""
    if code < 0:
        return words[-1 - code]
    return chr(code >> _SHIFT) + chr(code & ((1 << _SHIFT) - 1)) if code >> _SHIFT else chr(code)


def gram_names(codes: np.ndarray, words: list[str]) -> list[bytes]:
    """:func:`gram_term` of each of ``codes`` (sorted), UTF-8 encoded: the Han tokens'
    at once, from their code points (a segment holds hundreds of thousands)."""
    han = int(np.searchsorted(codes, 0))  # the runs of letters and digits (negative) come first
    names = [words[-1 - c].encode("utf-8") for c in codes[:han].tolist()]
    firsts, seconds = codes[han:] >> _SHIFT, codes[han:] & ((1 << _SHIFT) - 1)
    pair = firsts > 0
    sizes = np.where(pair, 2, 1)
    ends = np.cumsum(sizes)
    points = np.empty(int(ends[-1]) if len(ends) else 0, dtype="<u4")
    points[ends - 1] = seconds  # a lone character's code is its code point
    points[(ends - 2)[pair]] = firsts[pair]
    utf8_sizes = 1 + (points >= 0x80) + (points >= 0x800) + (points >= 0x10000)
    byte_ends = np.cumsum(utf8_sizes)[ends - 1].tolist()
    joined = points.tobytes().decode("utf-32-le").encode("utf-8")
    names += [joined[a:b] for a, b in zip([0] + byte_ends[:-1], byte_ends)]
    return names


def gram_codes(text: str, words: dict[str, int]) -> np.ndarray:
    """The code of every bigram token of ``text`` (as :func:`civicsearch.text.bigrams.iter_grams`
    gives them, though not in its order); new runs of letters and digits are numbered in ``words``."""
    folded = fold(text[:MAX_CHARS])
    points = np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
    han = in_ranges(points)
    pair = han[:-1] & han[1:]
    bigrams = points[:-1][pair] << _SHIFT | points[1:][pair]
    # A lone Han character: no Han neighbour on either side.
    alone = han.copy()
    alone[1:] &= ~han[:-1]
    alone[:-1] &= ~han[1:]
    setdefault = words.setdefault
    runs = [-1 - setdefault(w, len(words)) for w in WORD_RE.findall(folded)]
    return np.concatenate([bigrams, points[alone], np.array(runs, dtype=np.int64)])


class GramPool:
    """The bigrams of one segment's documents, in the order they were added."""

    def __init__(self) -> None:
        self.words: dict[str, int] = {}  # run of letters and digits → its number
        self.codes, self.docs, self.counts = array("q"), array("I"), array("I")
        self.lengths: dict[int, int] = {}

    @property
    def nbytes(self) -> int:
        return self.pending_bytes + TERM_BYTES * len(self.words)

    @property
    def pending_bytes(self) -> int:
        """The part of :attr:`nbytes` a flush or a spill frees: the postings'."""
        return POSTING_BYTES * len(self.codes)

    def add(self, docnum: int, text: str) -> None:
        """Pool the bigrams of document ``docnum``'s ``text``."""
        codes, counts = np.unique(gram_codes(text, self.words), return_counts=True)
        if not len(codes):
            return
        self.codes.frombytes(codes.tobytes())
        self.counts.frombytes(counts.astype(np.uint32).tobytes())
        self.docs.extend(array("I", (docnum,)) * len(codes))
        self.lengths[docnum] = int(counts.sum())

    def add_segment(self, arrays: postarrays.PostingArrays | None, docmap: np.ndarray) -> None:
        """Pool an old segment's bigrams for a merge: ``docmap`` gives each of its
        docnums the new one, or -1 where the document is deleted. A segment
        whose arrays are lost gives none."""
        if arrays is None:
            return
        lengths = arrays.lengths(FIELD)
        if lengths is not None:
            held = np.flatnonzero(lengths)
            new = docmap[held]
            live = new >= 0
            self.lengths.update(zip(new[live].tolist(), lengths[held][live].tolist()))
        for tbytes, docnums, weights in arrays.field_terms(FIELD):
            new = docmap[docnums.astype(np.int64)]
            live = new >= 0
            if not live.any():
                continue
            n = int(live.sum())
            self.codes.extend(repeat(gram_code(tbytes.decode("utf-8"), self.words), n))
            self.docs.frombytes(new[live].astype(np.uint32).tobytes())
            self.counts.frombytes(weights[live].astype(np.uint32).tobytes())

    def postings(self) -> postarrays.Postings:
        """The pooled postings, term by term (docnums sorted)."""
        codes, starts, docs, counts = self.coded()
        return postarrays.Postings(self.names(codes), starts, docs, counts.astype(np.float64))

    def names(self, codes: np.ndarray) -> list[bytes]:
        """The tokens of ``codes`` (sorted; UTF-8), as the file keeps them."""
        return gram_names(codes, list(self.words))

    def coded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The pooled postings by term code (ascending): the codes, where each one's
        postings start, their docnums and counts. It empties the pool; the numbers of
        the runs of letters and digits stay, so that every run of a segment codes alike."""
        codes = np.frombuffer(self.codes, dtype=np.int64)
        docs = np.frombuffer(self.docs, dtype=np.uint32)
        order = by_code_then_doc(codes, docs)
        codes = codes[order]
        first = np.flatnonzero(np.diff(codes, prepend=codes[:1] - 1))  # each code's first posting
        starts = np.append(first, len(codes)).astype(np.int64)
        counts = np.frombuffer(self.counts, dtype=np.uint32)[order]
        docs = docs[order]
        self.codes, self.docs, self.counts = array("q"), array("I"), array("I")
        return codes[first], starts, docs, counts

    def document_lengths(self) -> np.ndarray:
        """Every pooled document's length (its number of bigram tokens)."""
        size = max(self.lengths, default=-1) + 1
        lengths = np.zeros(size, dtype=np.int64)
        if self.lengths:
            lengths[np.fromiter(self.lengths, dtype=np.int64)] = np.fromiter(self.lengths.values(), dtype=np.int64)
        return lengths
