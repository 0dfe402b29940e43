"""A segment's bigram postings, pooled as flat arrays and written only to its posting arrays.

The bigram field ranks and never matches (``civicsearch.rank``), so its
postings need no place in Whoosh's files: a segment writer hands each
document's text here, the counts of its bigrams go into three flat arrays
(term number, docnum, count) at a few machine words a posting, and the flush
sorts them into posting lists at once (``civicsearch.postarrays``). A merge
brings an old segment's bigrams over from that segment's arrays.
"""

from __future__ import annotations

from array import array
from itertools import repeat

import numpy as np

from civicsearch import postarrays
from civicsearch.bigrams import count_grams

#: The bigram field's name in the posting arrays and in the ranker.
FIELD = "grams"
#: Bytes a posting costs here (three u4 slots), and a distinct term (its str and dict slot).
POSTING_BYTES = 12
TERM_BYTES = 120


class GramPool:
    """The bigrams of one segment's documents, in the order they were added."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}  # term → its number, in order of first sight
        self.terms, self.docs, self.counts = array("I"), array("I"), array("I")
        self.lengths: dict[int, int] = {}

    @property
    def nbytes(self) -> int:
        return POSTING_BYTES * len(self.terms) + TERM_BYTES * len(self.numbers)

    def add(self, docnum: int, text: str) -> None:
        """Pool the bigrams of document ``docnum``'s ``text``."""
        counts = count_grams(text)
        if not counts:
            return
        numbers = self.numbers
        # setdefault's default is read before the call: a new term takes the next number.
        self.terms.extend([numbers.setdefault(t, len(numbers)) for t in counts])
        self.counts.extend(counts.values())
        self.docs.extend(repeat(docnum, len(counts)))
        self.lengths[docnum] = sum(counts.values())

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
        numbers = self.numbers
        for tbytes, docnums, weights in arrays.field_terms(FIELD):
            new = docmap[docnums.astype(np.int64)]
            live = new >= 0
            if not live.any():
                continue
            n = int(live.sum())
            self.terms.extend(repeat(numbers.setdefault(tbytes.decode("utf-8"), len(numbers)), n))
            self.docs.frombytes(new[live].astype(np.uint32).tobytes())
            self.counts.frombytes(weights[live].astype(np.uint32).tobytes())

    def postings(self) -> tuple[postarrays.Postings, np.ndarray]:
        """The pooled postings, term by term (docnums sorted), and every document's length."""
        terms = np.frombuffer(self.terms, dtype=np.uint32)
        docs = np.frombuffer(self.docs, dtype=np.uint32)
        order = np.lexsort((docs, terms))
        starts = np.zeros(len(self.numbers) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=len(self.numbers)), out=starts[1:])
        size = max(self.lengths, default=-1) + 1
        lengths = np.zeros(size, dtype=np.int64)
        if self.lengths:
            lengths[np.fromiter(self.lengths, dtype=np.int64)] = np.fromiter(self.lengths.values(), dtype=np.int64)
        names = [t.encode("utf-8") for t in self.numbers]
        return postarrays.Postings(names, starts, docs[order],
                                   np.frombuffer(self.counts, dtype=np.uint32)[order].astype(np.float64)), lengths
