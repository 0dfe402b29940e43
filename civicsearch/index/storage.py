"""What the search layer reads from one open index: the storage interface.

A :class:`Storage` wraps one Whoosh searcher (one generation's segments at one
commit) and answers in docnums and numpy arrays: posting arrays, positions and
character offsets, the documents holding a phrase, field lengths, the live
documents, column data, stored fields, and a term or prefix filter as a mask. Its
caches (hot postings, phrase candidates, the positions read for the ranking and
the page under way) live here, so the ranker only scores. Nothing above
:mod:`civicsearch.index` names Whoosh: a second storage format or backend answers
the same calls.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import reduce
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from whoosh import query as wq
from whoosh.reading import EmptyReader
from whoosh.searching import Searcher

from civicsearch.fields.flags import Filter, Prefix, Term
from civicsearch.index import grampool, wordlist, wordpool
from civicsearch.index.columns import Columns
from civicsearch.index.postarrays import BYTE_LENGTHS
from civicsearch.index.postings import (
    doc_frequencies,
    doc_frequency,
    field_length_bytes,
    lexicon,
    lexicon_parts,
    live_docs,
    phrase_docs,
    read_characters,
    read_postings,
    read_postings_many,
    read_vectors,
    vector_model,
    within,
)

#: Terms whose postings (docnums and frequencies) stay cached between queries, and
#: phrase candidates likewise.
CACHE_TERMS = 512


#: Stored documents kept for the page under way (a page shows up to this many).
PAGE_DOCUMENTS = 100

#: A value not read yet (None is a value).
_UNREAD = object()


class _NoSegments(EmptyReader):
    """The reader of an index with no segment (a first run whose every document was
    skipped) that has no leaf either: Whoosh's gives itself as its one leaf, with no
    segment, hence no posting arrays, to read."""

    def leaf_readers(self) -> list[tuple[Any, int]]:
        return []


class Storage:
    """The read side of one open index (reuse it: field lengths and hot postings are cached).

    Docnums run from 0 to :attr:`size`; deleted documents keep theirs until a merge
    and are left out of every answer (:meth:`live` says which are not deleted).
    """

    def __init__(self, searcher: Searcher, folder: Path | None = None) -> None:
        #: The Whoosh searcher and reader underneath (for the index layer and its oracle tests).
        self.searcher = searcher
        self.reader = searcher.reader()
        if isinstance(self.reader, EmptyReader):
            self.reader = _NoSegments(self.reader.schema)
        #: The generation's folder (where :meth:`words` finds its file), if known.
        self.folder = folder
        #: Documents not deleted (at least 1, for idf).
        self.n_docs = max(1, self.reader.doc_count())
        #: Docnums run up to here.
        self.size = self.reader.doc_count_all()
        self.columns = Columns(self.reader)
        #: The fields whose terms live in the posting arrays, not in Whoosh's term table.
        self._array_fields = wordpool.word_fields(self.reader.schema) | {grampool.FIELD}
        self._lexicons: dict[str, list[str]] = {}
        self._vector_model: object = _UNREAD
        self._postings: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._forms: OrderedDict[tuple[str, str, bool], list[int]] = OrderedDict()
        # Postings read at once for a query of more terms than the LRU keeps (a pasted
        # page), for the ranking under way only.
        self._fetched: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        # Where the words stand in the hits of the page under way (for snippets), and those
        # hits' stored fields (their text finds a sub-word's place; the page shows them).
        self._chars: dict[tuple[str, str], tuple[set[int], dict[int, list]]] = {}
        self._page: dict[int, dict[str, Any]] = {}

    def close(self) -> None:
        self.searcher.close()

    def up_to_date(self) -> bool:
        """Whether the index has had no commit since this storage opened."""
        return self.searcher.up_to_date()

    def begin_query(self) -> None:
        """Drop what the last ranking and page kept (a batch of postings, where words stand)."""
        self._fetched.clear()
        self._chars.clear()
        self._page.clear()

    # -- postings --------------------------------------------------------------

    def postings(self, fieldname: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, term frequencies as float64), cached."""
        key = (fieldname, term)
        if key in self._postings:
            self._postings.move_to_end(key)
            return self._postings[key]
        if key in self._fetched:
            return self._fetched[key]
        ids, weights = read_postings(self.reader, fieldname, term)
        self._postings[key] = (ids, weights)
        if len(self._postings) > CACHE_TERMS:
            self._postings.popitem(last=False)
        return ids, weights

    def prefetch(self, wanted: list[tuple[str, str]]) -> None:
        """Read the postings of the ``(field, term)`` pairs not cached yet, each segment
        asked once for all of them (a long query's terms are many, and so are segments)."""
        todo = [k for k in dict.fromkeys(wanted) if k not in self._postings and k not in self._fetched]
        if not todo:
            return
        found = read_postings_many(self.reader, todo)
        if len(todo) > CACHE_TERMS // 2:
            self._fetched.update(zip(todo, found))  # more than the LRU should hold: this ranking's only
            return
        # A term's lists are views of what all of them were read into: the cache keeps its
        # own copy, or one cached term would keep the whole read alive.
        self._postings.update((key, tuple(_apart(a) for a in lists)) for key, lists in zip(todo, found))
        while len(self._postings) > CACHE_TERMS:
            self._postings.popitem(last=False)

    def _text(self, fieldname: str) -> Callable[[int], str]:
        """A docnum's stored text of ``fieldname`` (where a sub-word's place is found)."""
        return lambda docnum: self.stored(docnum).get(fieldname) or ""

    def prefetch_characters(self, fieldname: str, terms: set[str], docs: list[int], limit: int | None = None) -> None:
        """Read where ``terms`` stand in ``docs`` (the hits of a page) in one pass a segment
        (each document's first ``limit``), so that :meth:`characters` answers from memory."""
        wanted = sorted(docs)
        found = read_characters(self.reader, fieldname, sorted(terms), wanted, self._text(fieldname), limit)
        for term, where in found.items():
            self._chars[(fieldname, term)] = (set(wanted), where)

    def characters(self, fieldname: str, term: str, docnum: int, limit: int | None = None
                   ) -> list[tuple[int, int, int]]:
        """(position, startchar, endchar) of ``term`` in one document (the first ``limit``)."""
        read = self._chars.get((fieldname, term))
        if read is not None and docnum in read[0]:
            return read[1].get(docnum, [])
        return read_characters(self.reader, fieldname, [term], [docnum], self._text(fieldname), limit)[term].get(docnum, [])

    def form_docs(self, fieldname: str, form: tuple[str, ...], phrase: bool) -> list[int]:
        """Documents holding every word of ``form`` in ``fieldname`` (as a phrase: in order, adjacent)."""
        key = (fieldname, " ".join(form), phrase)
        if key in self._forms:
            self._forms.move_to_end(key)
            return self._forms[key]
        lists = sorted((self.postings(fieldname, t)[0] for t in form), key=len)
        found = reduce(within, lists).tolist()  # the shortest list first: each step bisects into the next
        if phrase and found:
            # Only the documents holding every word have their positions read.
            found = self.phrase_docs(fieldname, form, found)
        self._forms[key] = found
        if len(self._forms) > CACHE_TERMS:
            self._forms.popitem(last=False)
        return found

    def phrase_docs(self, fieldname: str, words: tuple[str, ...], docs: list[int]) -> list[int]:
        """Those of ``docs`` (sorted) where ``words`` stand as a phrase."""
        return phrase_docs(self.reader, fieldname, words, docs)

    def vector_model(self) -> str | None:
        """The embedding model of the index's vectors (None: it keeps none)."""
        if self._vector_model is _UNREAD:
            self._vector_model = vector_model(self.reader)
        return self._vector_model  # type: ignore[return-value]

    def vectors(self, docs: list[int]) -> np.ndarray:
        """The int8 embedding rows of ``docs`` (global docnums, in that order)."""
        order = sorted(range(len(docs)), key=docs.__getitem__)
        rows = read_vectors(self.reader, [docs[i] for i in order])
        out = np.empty_like(rows)
        out[order] = rows
        return out

    def length_bytes(self, fieldname: str) -> tuple[np.ndarray, np.ndarray]:
        """Every document's (quantised) length of ``fieldname`` as its byte, by docnum (u1),
        and the length each byte stands for (256 of them, int64): what depends on a
        document's length is worked out once a byte. Read afresh (the ranker keeps what it
        derives from them)."""
        return field_length_bytes(self.reader, fieldname), BYTE_LENGTHS

    # -- matching --------------------------------------------------------------

    def live(self) -> np.ndarray:
        """A boolean array by docnum: the documents not deleted."""
        return live_docs(self.reader, self.size)

    def filter_mask(self, filters: list[Filter]) -> np.ndarray | None:
        """The documents matching every filter, as a boolean array by docnum (None when there is none)."""
        if not filters:
            return None
        parts = [self._whoosh_query(f) for f in filters]
        return self._mask(parts[0] if len(parts) == 1 else wq.And(parts))

    @staticmethod
    def _whoosh_query(f: Filter) -> wq.Query:
        if isinstance(f, Term):
            return wq.Term(f.field, f.value)
        if isinstance(f, Prefix):
            return wq.Prefix(f.field, f.value)
        raise TypeError(f"not a filter: {f!r}")

    def _mask(self, q: wq.Query) -> np.ndarray:
        found = np.zeros(self.size, dtype=bool)
        found[list(self.searcher.docs_for_query(q))] = True
        return found

    def has_field(self, fieldname: str) -> bool:
        return fieldname in self.reader.schema

    def lexicon(self, fieldname: str) -> list[str]:
        """Every term of the keyword field ``fieldname`` (what a filter can match), read once."""
        if fieldname not in self._lexicons:
            self._lexicons[fieldname] = list(self.terms(fieldname))
        return self._lexicons[fieldname]

    def terms(self, fieldname: str) -> Iterator[str]:
        """Every term of ``fieldname`` in the index, in order (none for a field it lacks)."""
        if fieldname in self._array_fields:
            yield from lexicon(self.reader, fieldname)
        elif fieldname in self.reader.schema:
            for t in self.reader.lexicon(fieldname):
                yield t.decode("utf-8") if isinstance(t, bytes) else t

    def term_parts(self, fieldname: str, nbytes: tuple[int, int] | None = None) -> tuple[np.ndarray, list[str]]:
        """Every term of ``fieldname``: its terms of one to three characters as codes (sorted,
        u8; :func:`~civicsearch.index.postarrays.code_points` reads them) and the others as
        text (in no useful order), only those of ``nbytes`` UTF-8 bytes (the least and most)
        when given; what :meth:`terms` gives, without decoding every term (a field the
        posting arrays do not keep gives every term as text)."""
        if fieldname in self._array_fields:
            return lexicon_parts(self.reader, fieldname, nbytes)
        terms = self.terms(fieldname)
        if nbytes is not None:
            terms = (t for t in terms if nbytes[0] <= len(t.encode("utf-8")) <= nbytes[1])
        return np.zeros(0, dtype="<u8"), list(terms)

    def words(self) -> wordlist.Words:
        """The did-you-mean's words (:mod:`civicsearch.index.wordlist`): the file an index run
        wrote for these segments, or built from the term tables where there is none."""
        if self.folder is not None:
            found = wordlist.load(self.folder, wordlist.key_of(self.reader))
            if found is not None:
                return found
        return wordlist.build(self.term_parts)

    def doc_frequency(self, fieldname: str, term: str) -> int:
        """How many documents hold ``term`` in ``fieldname`` (deleted ones too, until a merge)."""
        if fieldname in self._array_fields:
            return doc_frequency(self.reader, fieldname, term)
        return self.reader.doc_frequency(fieldname, term) if fieldname in self.reader.schema else 0

    def doc_frequencies(self, fieldname: str, terms: list[str]) -> list[int]:
        """:meth:`doc_frequency` of each of ``terms``, read together."""
        if fieldname in self._array_fields:
            return doc_frequencies(self.reader, [(fieldname, t) for t in terms]).tolist()
        return [self.doc_frequency(fieldname, t) for t in terms]

    # -- documents -------------------------------------------------------------

    def doc_count(self) -> int:
        """Documents not deleted."""
        return self.searcher.doc_count()

    def stored(self, docnum: int) -> dict[str, Any]:
        """A document's stored fields (read once for a hit of the page under way; not to be changed)."""
        found = self._page.get(docnum)
        if found is None:
            found = self.searcher.stored_fields(docnum)
            if len(self._page) < PAGE_DOCUMENTS:
                self._page[docnum] = found
        return found

    def find(self, fieldname: str, value: str) -> int | None:
        """The docnum of the live document whose unique field ``fieldname`` is ``value``."""
        return self.searcher.document_number(**{fieldname: value})

    def with_prefix(self, fieldname: str, prefix: str, limit: int) -> list[int]:
        """Up to ``limit`` live documents whose keyword field holds a term starting with ``prefix``."""
        found = []
        for docnum in self.searcher.docs_for_query(wq.Prefix(fieldname, prefix)):
            if len(found) >= limit:
                break
            found.append(docnum)
        return found


def _apart(view: np.ndarray) -> np.ndarray:
    """``view`` itself where it is most of the array it is a view of, else a copy."""
    return view.copy() if view.base is not None and 2 * view.nbytes < view.base.nbytes else view
