"""civicsearch's Whoosh codec: Whoosh's W3 codec, and each segment's posting arrays.

A segment's words, bigrams, pure columns and embeddings live in one file beside
Whoosh's own, ``<segment>.csa`` (:mod:`civicsearch.index.postarrays`). The codec
names that file, hands a segment writer the segment's :class:`ArrayWriter` and a
reader its :class:`~civicsearch.index.postarrays.PostingArrays`. Every segment it
makes names it as its codec, so a reader finds the file through ``segment.codec()``,
and Whoosh's clean-up removes it with the segment's other files. Everything else
(term tables, posting blocks, stored fields, columns, lengths, deletions) is W3's,
unchanged.

The codec is pickled into every table of contents (in each segment), so its
import path, ``civicsearch.index.codec.CivicCodec``, must never move: a move leaves
a shim here.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable

import numpy as np
from whoosh.codec.base import TermsReader, WrappingCodec
from whoosh.codec.whoosh3 import W3Codec, W3Segment

from civicsearch.index import columns, grampool, postarrays, runs, wordpool


class CivicCodec(WrappingCodec):
    """W3 (``child``, W3's defaults when None) with a posting arrays file a segment."""

    #: Per-block document-length bounds serve only the skipping in Whoosh's own
    #: scorer, which civicsearch never runs (the ranker scores whole posting lists);
    #: looking up every posting's document length for them cost 12% of a build.
    length_stats = False
    #: The posting arrays' file, beside the segment's other files.
    ARRAYS_EXT = postarrays.EXTENSION

    def __init__(self, child: W3Codec | None = None) -> None:
        super().__init__(child if child is not None else W3Codec())

    def new_segment(self, storage: Any, indexname: str) -> W3Segment:
        # WrappingCodec asks the child, whose segment would name the child as its codec.
        return W3Segment(self, indexname)

    def terms_reader(self, storage: Any, segment: Any) -> TermsReader:
        """W3's term table reader of ``segment``, opened when first asked: most searches never
        ask (the words and bigrams are in the posting arrays), and opening one reads the
        table's hash buckets, a cost every process that opens the index would pay for each
        segment."""
        return _LazyTerms(lambda: WrappingCodec.terms_reader(self, storage, segment))

    def array_writer(self, storage: Any, segment: Any, schema: Any) -> ArrayWriter:
        """The writer of ``segment``'s posting arrays (a segment writer's, beside W3's writers)."""
        return ArrayWriter(storage, segment, schema)

    def posting_arrays(self, storage: Any, segment: Any) -> postarrays.PostingArrays:
        """``segment``'s posting arrays, memory-mapped (``OSError`` or ``ValueError`` when the
        file is missing or damaged; ``TypeError`` for a segment not in a folder of plain files)."""
        folder = getattr(storage, "folder", None)
        if not folder or segment.is_compound():
            raise TypeError(f"posting arrays are mapped from a folder's plain files, not from {storage!r}")
        return postarrays.PostingArrays(os.path.join(folder, segment.make_filename(self.ARRAYS_EXT)))


class _LazyTerms(TermsReader):
    """A term table reader made by ``opener`` on first use (once, under a lock: a server's
    threads share the reader)."""

    def __init__(self, opener: Callable[[], TermsReader]) -> None:
        self._opener: Callable[[], TermsReader] | None = opener
        self._reader: TermsReader | None = None
        self._lock = threading.Lock()

    def _open(self) -> TermsReader:
        if self._reader is None:
            with self._lock:
                if self._reader is None:
                    if self._opener is None:
                        raise ValueError("the term table is closed")
                    self._reader = self._opener()
        return self._reader

    def __contains__(self, term: Any) -> bool:
        return term in self._open()

    def cursor(self, fieldname: str, fieldobj: Any) -> Any:
        return self._open().cursor(fieldname, fieldobj)

    def terms(self) -> Any:
        return self._open().terms()

    def terms_from(self, fieldname: str, prefix: Any) -> Any:
        return self._open().terms_from(fieldname, prefix)

    def items(self) -> Any:
        return self._open().items()

    def items_from(self, fieldname: str, prefix: Any) -> Any:
        return self._open().items_from(fieldname, prefix)

    def term_info(self, fieldname: str, text: Any) -> Any:
        return self._open().term_info(fieldname, text)

    def frequency(self, fieldname: str, text: Any) -> Any:
        return self._open().frequency(fieldname, text)

    def doc_frequency(self, fieldname: str, text: Any) -> Any:
        return self._open().doc_frequency(fieldname, text)

    def matcher(self, fieldname: str, text: Any, format_: Any, scorer: Any = None) -> Any:
        return self._open().matcher(fieldname, text, format_, scorer=scorer)

    def indexed_field_names(self) -> Any:
        return self._open().indexed_field_names()

    def close(self) -> None:
        with self._lock:
            reader, self._reader, self._opener = self._reader, None, None
        if reader is not None:
            reader.close()


class VectorPool:
    """The embeddings of one segment's documents (a row a document), and their model."""

    def __init__(self) -> None:
        self.model: str | None = None
        self.docs: list[int] = []
        self.rows: list[np.ndarray] = []

    def add(self, docnum: int, model: str, row: np.ndarray) -> None:
        if self.model is not None and model != self.model:
            raise ValueError(f"vectors of two models in one segment: {self.model} and {model}")
        self.model = model
        self.docs.append(docnum)
        self.rows.append(np.asarray(row, dtype=np.int8))

    def add_segment(self, arrays: postarrays.PostingArrays, docmap: np.ndarray) -> None:
        """An old segment's vectors for a merge (``docmap``: each docnum's new one, -1 if deleted)."""
        found = arrays.vectors
        if found is None:
            return
        keep = np.flatnonzero(docmap[: len(found.rows)] >= 0)
        for d, row in zip(docmap[keep].tolist(), found.rows[keep]):
            self.add(d, found.model, row)

    def matrix(self, doc_count: int) -> postarrays.Vectors | None:
        """Every document's row (zero where it has none), or None when no document has one."""
        if self.model is None:
            return None
        out = np.zeros((doc_count, len(self.rows[0])), dtype=np.int8)
        out[np.asarray(self.docs, dtype=np.int64)] = np.stack(self.rows)
        return postarrays.Vectors(self.model, out)


class ArrayWriter:
    """One segment's posting arrays under way: its documents' words (the schema's word
    fields), bigrams, pure column values and embeddings, pooled in memory and written
    once, when the segment is (:meth:`write`). The words and bigrams can be spilled
    to run files on the way (:meth:`spill`, :mod:`civicsearch.index.runs`), so that
    a segment can hold many times what its pool holds."""

    def __init__(self, storage: Any, segment: Any, schema: Any) -> None:
        self.storage = storage
        self.segment = segment
        #: The word fields: their postings are the arrays' only.
        self.word_fields = wordpool.word_fields(schema)
        self.words = wordpool.WordPool(sorted(self.word_fields))
        self.grams = grampool.GramPool()
        #: The pure column fields (:attr:`columns.index` names them): their values are the arrays' only.
        self.columns = columns.ColumnPool(schema)
        self.vectors = VectorPool()
        #: The run files spilled so far, and the first document the pool holds.
        self.runs: list[str] = []
        self._first_doc = 0

    @property
    def nbytes(self) -> int:
        """Memory the words and bigrams take so far, and what their write will take besides."""
        return self.words.nbytes + self.grams.nbytes

    @property
    def pending_bytes(self) -> int:
        """The part of :attr:`nbytes` a :meth:`spill` frees."""
        return self.words.pending_bytes + self.grams.pending_bytes

    @property
    def can_spill(self) -> bool:
        """Whether run files can be spilled (they are memory-mapped from a folder)."""
        return bool(getattr(self.storage, "folder", None))

    def add_segment(self, arrays: postarrays.PostingArrays, docmap: np.ndarray) -> None:
        """An old segment's arrays for a merge: ``docmap`` gives each of its docnums the new
        one, or -1 where the document is deleted."""
        self.words.add_segment(arrays, docmap)
        self.columns.add_segment(arrays, docmap)
        self.grams.add_segment(arrays, docmap)
        self.vectors.add_segment(arrays, docmap)

    def spill(self, doc_count: int) -> None:
        """Write the pooled words and bigrams of the documents before ``doc_count`` to a
        run file and empty the pool (the documents' lengths, columns and vectors stay)."""
        fields = {}
        for name, field in self.words.fields.items():
            fields[name] = runs.Spilled.of(*field.coded(), first_doc=self._first_doc, doc_count=doc_count)
        fields[grampool.FIELD] = runs.Spilled.of(*self.grams.coded())
        name = self.segment.make_filename(f".run{len(self.runs)}")
        out = self.storage.create_file(name)
        try:
            runs.write_run(out, self._first_doc, doc_count, fields)
        finally:
            out.close()
        self.runs.append(name)
        self._first_doc = doc_count

    def write(self, doc_count: int) -> None:
        """Write the segment's file for its ``doc_count`` documents."""
        if self.runs:
            self._write_runs(doc_count)
            return
        fields = self.words.postings()
        fields[grampool.FIELD] = self.grams.postings()
        out = self.storage.create_file(self.segment.make_filename(CivicCodec.ARRAYS_EXT))
        try:
            postarrays.write(out, fields, doc_count, lengths=self._lengths(doc_count),
                             columns=self.columns.coded(doc_count), vectors=self.vectors.matrix(doc_count))
        finally:
            out.close()

    def _lengths(self, doc_count: int) -> dict[str, np.ndarray]:
        """Each field's length in every document: the bigrams' and the words'."""
        return {grampool.FIELD: self.grams.document_lengths(), **self.words.lengths(doc_count)}

    def _write_runs(self, doc_count: int) -> None:
        """Write the segment's file from its runs (the pool's rest spilled as the last)."""
        if self.pending_bytes or self._first_doc < doc_count:
            self.spill(doc_count)
        opened = [runs.Run(os.path.join(self.storage.folder, name)) for name in self.runs]
        names: dict[str, Callable[[np.ndarray], list[bytes]]] = {
            name: field.names for name, field in self.words.fields.items()}
        names[grampool.FIELD] = self.grams.names
        out = self.storage.create_file(self.segment.make_filename(CivicCodec.ARRAYS_EXT))
        try:
            runs.merge(out, opened, names, doc_count, self._lengths(doc_count), self.columns.coded(doc_count),
                       self.vectors.matrix(doc_count))
        finally:
            out.close()
            for run in opened:
                run.close()
        for name in self.runs:
            self.storage.delete_file(name)
        self.runs = []
