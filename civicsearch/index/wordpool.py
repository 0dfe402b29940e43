"""A segment's word postings, pooled as flat arrays and written only to its posting arrays.

The word fields (title, body) are where every query's words are found, ranked,
checked as phrases and highlighted: each occurrence's word position and start
character is kept. Whoosh would keep them pickled a posting at a time in its
blocks; here a segment writer hands each document's text to the pool, which
keeps one row an occurrence (term code, docnum, position, start character, four
u4 slots) and the flush sorts them into posting lists at once
(:mod:`civicsearch.index.postarrays`). The tokens are
:func:`civicsearch.text.tokens.iter_words`' with sub-words, as the field's
analyzer (:class:`civicsearch.index.analyzers.CivicTokenizer`) gives them at index
time; an occurrence's end is its start plus the term's length. A merge brings an
old segment's words over from that segment's arrays.
"""

from __future__ import annotations

from array import array
from typing import Any, Iterable

import numpy as np

from civicsearch.index import postarrays
from civicsearch.index.analyzers import CivicCharacters, CivicTokenizer
from civicsearch.index.radix import by_code_then_doc
from civicsearch.text.tokens import word_rows

#: Bytes an occurrence costs in the pool (four u4 slots), and while the flush sorts
#: and gathers them (a sort key, its order, gathered copies, the file's columns).
OCCURRENCE_BYTES = 16
FLUSH_BYTES = 80
#: Bytes a distinct term costs (its str and dict slot).
TERM_BYTES = 100


def word_fields(schema: Any) -> frozenset[str]:
    """The schema's word fields: their postings live in the posting arrays only."""
    return frozenset(name for name, f in schema.items()
                     if isinstance(f.format, CivicCharacters) and type(f.analyzer) is CivicTokenizer)


class _Codes(dict):
    """Each term's code, numbered in the order terms first come (a new term takes the next)."""

    def __missing__(self, term: str) -> int:
        code = self[term] = len(self)
        return code


class _Field:
    """One field's pooled occurrences."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = _Codes()
        self.codes, self.docs, self.positions, self.starts = array("I"), array("I"), array("I"), array("I")
        self.lengths: dict[int, int] = {}  # docnum → its number of words (sub-words too)

    def extend(self, codes: Iterable[int], docs: np.ndarray | Iterable[int], positions: Iterable[int],
               starts: Iterable[int]) -> None:
        for column, values in ((self.codes, codes), (self.docs, docs), (self.positions, positions),
                               (self.starts, starts)):
            if isinstance(values, np.ndarray):
                column.frombytes(values.astype(np.uint32).tobytes())
            elif isinstance(values, list):
                column.fromlist(values)  # half the time of extend's item by item
            else:
                column.extend(values)

    def postings(self) -> postarrays.Postings:
        """The pooled occurrences as posting lists: terms in code order, each one's
        postings by docnum, each posting's occurrences in the order they came. It empties
        the pool (a segment's flush: every occurrence is held once, as posting lists)."""
        held, starts, docnums, freqs, positions = self.coded()
        return postarrays.Postings(self.names(held), starts, docnums, freqs.astype(np.float64), positions)

    def names(self, codes: np.ndarray) -> list[bytes]:
        """The terms of ``codes`` (UTF-8), as the file keeps them."""
        terms = list(self.ids)
        return [terms[c].encode("utf-8") for c in codes.tolist()]

    def coded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`postings` with each term as its code (ascending) and the frequencies
        as integers: what a spilled run keeps (:mod:`civicsearch.index.runs`). It empties
        the pool; the codes stay, so that every run of a segment numbers a term alike."""
        codes, docs = np.frombuffer(self.codes, dtype=np.uint32), np.frombuffer(self.docs, dtype=np.uint32)
        key = codes.astype(np.int64)
        key <<= 32
        key |= docs  # term code, then docnum
        order = by_code_then_doc(codes, docs)
        del codes, docs
        self.codes, self.docs = array("I"), array("I")
        key = key[order]
        first = np.ones(len(key), dtype=bool)  # the first occurrence of each posting
        np.not_equal(key[1:], key[:-1], out=first[1:])
        at = np.flatnonzero(first)
        del first
        key = key[at]  # each posting's
        freqs = np.diff(np.append(at, len(order)))
        counts = np.bincount(key >> 32, minlength=len(self.ids))
        held = np.flatnonzero(counts)  # a term whose every document a merge dropped holds none
        starts = np.zeros(len(held) + 1, dtype=np.int64)
        np.cumsum(counts[held], out=starts[1:])
        positions = np.empty((len(order), 2), dtype=np.uint32)
        positions[:, 0] = np.frombuffer(self.positions, dtype=np.uint32)[order]
        self.positions = array("I")
        positions[:, 1] = np.frombuffer(self.starts, dtype=np.uint32)[order]
        self.starts = array("I")
        return held, starts, (key & 0xFFFFFFFF).astype(np.uint32), freqs, positions


class WordPool:
    """The words of one segment's documents in each of ``fields``, in the order they were added."""

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = {name: _Field() for name in fields}

    @property
    def nbytes(self) -> int:
        """Memory the pool takes, and what its flush will take besides."""
        return self.pending_bytes + sum(TERM_BYTES * len(f.ids) for f in self.fields.values())

    @property
    def pending_bytes(self) -> int:
        """The part of :attr:`nbytes` a flush or a spill frees: the occurrences'."""
        return sum((OCCURRENCE_BYTES + FLUSH_BYTES) * len(f.codes) for f in self.fields.values())

    def add(self, fieldname: str, docnum: int, text: str) -> int:
        """Pool the words of document ``docnum``'s ``text`` in ``fieldname``; their number
        (sub-words included: the field's length, as Whoosh counts it)."""
        if not isinstance(text, str):
            raise ValueError(f"{text!r} is not unicode or sequence")  # Whoosh's own words for it
        terms, positions, starts = word_rows(text)
        if not terms:
            return 0
        field = self.fields[fieldname]
        field.extend(map(field.ids.__getitem__, terms), array("I", (docnum,)) * len(terms), positions, starts)
        field.lengths[docnum] = len(terms)
        return len(terms)

    def add_segment(self, arrays: postarrays.PostingArrays, docmap: np.ndarray) -> None:
        """Pool an old segment's words for a merge: ``docmap`` gives each of its
        docnums the new one, or -1 where the document is deleted."""
        for fieldname, field in self.fields.items():
            terms, term_of, docnums, weights, positions, starts = arrays.field_postings(fieldname)
            if positions is None:
                raise ValueError(f"the segment's arrays hold no positions of {fieldname!r}")
            lengths = arrays.lengths(fieldname)
            if lengths is not None:  # quantised already: quantising again keeps them
                held = np.flatnonzero(lengths)
                moved = docmap[held]
                kept = moved >= 0
                field.lengths.update(zip(moved[kept].tolist(), lengths[held][kept].tolist()))
            counts = weights.astype(np.int64)  # a posting has as many occurrences as its frequency
            new = np.repeat(docmap[docnums.astype(np.int64)], counts)
            live = new >= 0
            codes = np.array([field.ids[t.decode("utf-8")] for t in terms], dtype=np.int64)
            field.extend(np.repeat(codes[term_of], counts)[live], new[live], positions[live].astype(np.int64),
                         starts[live].astype(np.int64))

    def postings(self) -> dict[str, postarrays.Postings]:
        """Each field's pooled postings."""
        return {name: field.postings() for name, field in self.fields.items()}

    def lengths(self, doc_count: int) -> dict[str, np.ndarray]:
        """Each field's length in every document (0 where it has no words)."""
        out = {}
        for name, field in self.fields.items():
            lengths = out[name] = np.zeros(doc_count, dtype=np.int64)
            if field.lengths:
                lengths[np.fromiter(field.lengths, dtype=np.int64)] = np.fromiter(field.lengths.values(),
                                                                                 dtype=np.int64)
        return out
