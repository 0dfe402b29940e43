"""Everything of civicsearch that reaches under Whoosh's public API: written against
whoosh-reloaded 2.7.5 (pinned in pyproject.toml; another version must be read against this module).

A segment writer whose word and bigram postings never reach Whoosh: it writes with
civicsearch's codec (:mod:`civicsearch.index.codec`), hands the word fields' text
(title, body), the bigram field's, the pure column values (facets, dates,
sketches) and the embeddings to the segment's
:class:`~civicsearch.index.codec.ArrayWriter`, their only home, and brings an old
segment's arrays along in a merge; Whoosh still gets each word field's stored value
and length. The keyword fields' postings are Whoosh's, and its own writer keeps
every posting as a tuple in a sorting pool, sorts them, and hands them to the codec
one call at a time; this pool keeps one ``(docnums, weights, values)`` triple per
term, already in order, and the flush writes each term's blocks at once. Any Whoosh
reader reads the files, and nothing of this module is pickled into an index: with
Whoosh's pickle protocol Whoosh's files are byte for byte what Whoosh writes for the
same schema without the word fields' postings and the pure columns
(``tests/test_writer.py`` compares them).
A pool that outgrows its memory limit sorts itself out to Whoosh's run files and
the flush falls back to Whoosh's own path.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from pathlib import Path
from pickle import dumps
from typing import Any, Iterable, Iterator

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3FieldWriter, W3PostingsWriter
from whoosh.columns import VarBytesColumn
from whoosh.index import TOC, clean_files
from whoosh.util.numeric import length_to_byte
from whoosh.writing import PostingPool, SegmentWriter

from civicsearch.index import durable, grampool, postarrays
from civicsearch.index.codec import CivicCodec
from civicsearch.index.schema import unkept

#: Whoosh pickles posting blocks with protocol 2 (for Python 2), which writes each
#: posting's value bytes as a latin-1 text string. Protocol 4 makes a block of
#: positions and character offsets about half the size compressed and ten times
#: faster to unpickle; Whoosh's reader takes any protocol.
BLOCK_PROTOCOL = 4
#: Blocks smaller than this are stored uncompressed (the block says so, and Whoosh's
#: reader follows): below it zlib's header and checksum outweigh what it saves, and
#: half of a build's blocks (most terms are rare) are this small.
MIN_COMPRESS_BYTES = 64
#: Bytes a posting costs in the pool beyond its value: array slots and a list slot.
POSTING_BYTES = 4 + 8 + 8
#: Bytes a term's entry costs: the key, a tuple, two arrays and a list.
TERM_BYTES = 300

Posting = tuple[str, bytes, int, float, bytes]


class TermPool(PostingPool):
    """A posting pool grouped by field and term, in memory until ``limitmb``."""

    def __init__(self, tempstore: Any, segment: Any, limitmb: float = 128, **kwargs: Any) -> None:
        super().__init__(tempstore, segment, limitmb=limitmb, **kwargs)
        # fieldname → term bytes → (docnums, weights, values); a writer numbers
        # documents in order, so each term's docnums arrive sorted.
        self.terms: dict[str, dict[bytes, tuple[array, array, list[bytes]]]] = {}

    def _terms_of(self, fieldname: str) -> dict[bytes, tuple[array, array, list[bytes]]]:
        terms = self.terms.get(fieldname)
        if terms is None:
            terms = self.terms[fieldname] = {}
            self.fieldnames.add(fieldname)
        return terms

    def add(self, item: Posting) -> None:
        """One posting: Whoosh's merge of old segments adds them so (through
        :meth:`add_field`, a posting would cost a third more: measured)."""
        fieldname, tbytes, docnum, weight, vbytes = item
        terms = self._terms_of(fieldname)
        entry = terms.get(tbytes)
        if entry is None:
            entry = terms[tbytes] = (array("I"), array("d"), [])
            self.currentsize += TERM_BYTES + len(tbytes)
        entry[0].append(docnum)
        entry[1].append(weight)
        entry[2].append(vbytes or b"")
        self.currentsize += POSTING_BYTES + (33 + len(vbytes) if vbytes else 0)
        if self.currentsize > self.limit:
            self.save()

    def add_field(self, fieldname: str, docnum: int, items: Iterable[tuple[bytes, int, float, bytes]],
                  boost: float = 1.0) -> int:
        """Pool one document's postings in ``fieldname``, ``FieldType.index``'s
        (term bytes, frequency, weight, value bytes) each, the weights times
        ``boost``; the frequencies summed (the field's length)."""
        terms = self._terms_of(fieldname)
        get = terms.get
        length = size = 0
        # One call a document and field, not one a posting: a build pools millions.
        for tbytes, freq, weight, vbytes in items:
            weight *= boost
            length += freq
            entry = get(tbytes)
            if entry is None:
                entry = terms[tbytes] = (array("I"), array("d"), [])
                size += TERM_BYTES + len(tbytes)
            entry[0].append(docnum)
            entry[1].append(weight)
            if vbytes:
                entry[2].append(vbytes)
                size += POSTING_BYTES + 33 + len(vbytes)
            else:
                entry[2].append(b"")
                size += POSTING_BYTES
        self.currentsize += size
        if self.currentsize > self.limit:
            self.save()
        return length

    def _postings(self) -> Iterator[Posting]:
        """The pooled postings in Whoosh's sorted tuple form."""
        for fieldname in sorted(self.terms):
            terms = self.terms[fieldname]
            for tbytes in sorted(terms):
                yield from ((fieldname, tbytes, d, w, v) for d, w, v in zip(*terms[tbytes]))

    def save(self) -> None:
        self.current = list(self._postings())
        self.terms = {}
        super().save()

    def in_memory(self) -> bool:
        return not self.runs

    def items(self, maxsize: int = 1000) -> Iterator[Posting]:
        if self.in_memory():
            return self._postings()
        if self.terms:
            self.save()
        return super().items(maxsize)


#: The field of a document's embedding, ``(model name, int8 row)``: kept in the posting arrays, not by Whoosh.
VECTOR_FIELD = "vector"


class CivicWriter(SegmentWriter):
    """``SegmentWriter`` with the words and bigrams in posting arrays, a :class:`TermPool`
    and a block-at-a-time flush for the rest.

    ``block_protocol`` is the pickle protocol of the posting blocks (see
    :data:`BLOCK_PROTOCOL`) and ``min_compress`` the smallest block compressed;
    at 2 and 0 Whoosh's files are byte for byte Whoosh's. When :attr:`pooled_bytes`
    reaches ``spill_bytes`` (if given) and the words and bigrams are at least half of
    it, they are spilled to a run file (:meth:`ArrayWriter.spill`).
    """

    def __init__(self, ix: Any, block_protocol: int = BLOCK_PROTOCOL, min_compress: int = MIN_COMPRESS_BYTES,
                 keep_files: bool = False, spill_bytes: int | None = None, **kwargs: Any) -> None:
        codec = kwargs.setdefault("codec", CivicCodec())
        if not isinstance(codec, CivicCodec):
            raise ValueError(f"a CivicWriter writes with civicsearch's codec (CivicCodec), not {codec!r}")
        super().__init__(ix, **kwargs)
        if any(f.vector or f.separate_spelling() for _, f in self.schema.items()):
            raise ValueError("a schema with term vectors or spelling fields needs Whoosh's own writer")
        self.pool = TermPool(self._tempstorage, self.newsegment, limitmb=kwargs.get("limitmb", 128))
        #: The segment's words, bigrams, pure columns and embeddings (its posting arrays).
        self.arrays = codec.array_writer(self.storage, self.newsegment, self.schema)
        #: Index fields of the metadata Whoosh keeps nothing of (schema.unkept).
        self.unkept = unkept() - set(self.schema.names())
        self.block_protocol = block_protocol
        self.min_compress = min_compress
        self.spill_bytes = spill_bytes
        #: Leave the files the new table of contents no longer lists (the old one,
        #: merged segments) to the caller, who removes them once no reader needs them.
        self.keep_files = keep_files

    def _commit_toc(self, segments: list[Any]) -> None:
        """Publish ``segments`` durably: every file of every segment is fsynced before the
        table of contents is renamed into place, and the folder after (see :mod:`civicsearch.index.durable`)."""
        ids = tuple(seg.segment_id() for seg in segments)
        durable.sync_files(Path(self.storage.folder), (n for n in self.storage.list() if n.startswith(ids)))
        TOC(self.schema, segments, self.generation).write(durable.DurableRenames(self.storage), self.indexname)
        if not self.keep_files:
            clean_files(self.storage, self.indexname, self.generation, segments)

    @property
    def pooled_bytes(self) -> int:
        """Memory the segment's postings take so far (keywords, words and bigrams), and
        what its flush will take besides."""
        return int(self.pool.currentsize + self.arrays.nbytes)

    def finalize_segment(self) -> Any:
        """Write the segment under way and return it, without committing (a parallel build's worker)."""
        return self._finalize_segment()

    def commit_segments(self, segments: list[Any]) -> None:
        """Close this writer's own segment and commit it with ``segments`` (written by others) as one TOC."""
        self._close_segment()
        self._commit_toc(self.segments + segments)
        self._finish()

    def add_document(self, **fields: Any) -> None:
        """Whoosh 2.7.5's ``SegmentWriter.add_document`` for a schema without term
        vectors or spelling fields, with the words and bigrams pooled here and a
        keyword field's postings pooled in one call (:meth:`TermPool.add_field`)
        instead of one a posting."""
        self.add_documents([fields])

    def add_documents(self, batch: list[dict[str, Any]]) -> None:
        """:meth:`add_document` for each of ``batch`` (field dicts, emptied of what is not
        Whoosh's), a stage at a time: every document's words, then each one's other fields,
        then every one's bigrams and vectors, so that each stage's tables stay in the
        processor's caches. A document that fails leaves the writer to be cancelled."""
        self._check_state()
        schema, arrays, first = self.schema, self.arrays, self.docnum
        docs = []
        for fields in batch:
            text = fields.pop(grampool.FIELD, None)  # the bigram field is not Whoosh's
            vector = fields.pop(VECTOR_FIELD, None)  # nor the embedding
            for name in self.unkept:  # nor a date (its column is)
                fields.pop(name, None)
            fieldnames = sorted(name for name in fields if not name.startswith("_"))
            self._check_fields(schema, fieldnames)
            docs.append((fields, fieldnames, text, vector))
        words = arrays.words
        lengths = [{name: words.add(name, first + i, fields[name]) for name in fieldnames
                    if name in arrays.word_fields and fields[name] is not None}
                   for i, (fields, fieldnames, _, _) in enumerate(docs)]
        for (fields, fieldnames, _, _), own in zip(docs, lengths):
            self._add_fields(fields, fieldnames, own)
        for i, (_, _, text, vector) in enumerate(docs):
            if isinstance(text, str):
                arrays.grams.add(first + i, text)
            if vector is not None:
                arrays.vectors.add(first + i, *vector)
        self._added = True
        self._spill()

    def _add_fields(self, fields: dict[str, Any], fieldnames: list[str], word_lengths: dict[str, int]) -> None:
        """One document's stored fields, keyword postings and columns (its words pooled
        already, ``word_lengths`` their number in each word field); the next docnum."""
        perdocwriter, schema, docnum, arrays = self.perdocwriter, self.schema, self.docnum, self.arrays
        docboost = self._doc_boost(fields)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if fieldname in arrays.word_fields:
                    length = word_lengths[fieldname]
                elif field.indexed:
                    boost = self._field_boost(fields, fieldname, docboost)
                    length = self.pool.add_field(fieldname, docnum, field.index(value), boost)
                    if not field.scorable:
                        length = 0
                customval = fields.get(f"_stored_{fieldname}", value)
                perdocwriter.add_field(fieldname, field, customval if field.stored else None, length)
                column = field.column_type
                if column and customval is not None:
                    cell = field.to_column_value(customval)
                    if fieldname in arrays.columns.index:  # a pure column: the posting arrays' only
                        arrays.columns.add(fieldname, docnum, cell)
                    else:
                        perdocwriter.add_column_value(fieldname, column, cell)
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self.docnum += 1

    def _spill(self) -> None:
        """Spill the words and bigrams when the pools have reached the bound and they are
        at least half of it (else the caller's bound on the segment is what holds)."""
        arrays = self.arrays
        if self.spill_bytes is not None and self.pooled_bytes >= self.spill_bytes \
                and 2 * arrays.pending_bytes >= self.spill_bytes and arrays.can_spill:
            arrays.spill(self.docnum)

    def add_reader(self, reader: Any) -> None:
        """Whoosh's ``add_reader`` (a merge), bringing the segment's words and bigrams along."""
        self._check_state()
        basedoc = self.docnum
        fieldnames = set(self.schema.names()) | {f for f in reader.indexed_field_names() if f in self.schema}
        docmap = self.write_per_doc(fieldnames, reader)
        self.add_postings_to_pool(reader, basedoc, docmap)
        # Each old docnum's new one (-1: deleted); Whoosh's docmap is None when none is.
        if docmap is None:
            new = np.arange(basedoc, basedoc + reader.doc_count_all(), dtype=np.int64)
        else:
            new = np.full(reader.doc_count_all(), -1, dtype=np.int64)
            if docmap:
                new[np.fromiter(docmap, dtype=np.int64)] = np.fromiter(docmap.values(), dtype=np.int64)
        self.arrays.add_segment(postarrays.for_leaf(reader), new)
        self._added = True
        self._spill()  # an old segment at a time

    def _flush_segment(self) -> None:
        fieldwriter = self.fieldwriter
        if self.codec.length_stats or not self.pool.in_memory() or not isinstance(fieldwriter, W3FieldWriter):
            # Block statistics that need every posting's document length, a pool
            # that spilled to disk, another child codec: Whoosh's own path for the keywords.
            super()._flush_segment()
        else:
            self._write_terms(fieldwriter)
        self.arrays.write(self.docnum)

    def _write_terms(self, fieldwriter: W3FieldWriter) -> None:
        """Write the pool's terms a block at a time."""
        self.perdocwriter.close()
        for structfile in (fieldwriter._postfile, fieldwriter._tindex.dbfile):
            structfile.file = _Positioned(structfile.file)
        schema = self.schema
        pool = self.pool.terms
        for fieldname in sorted(pool):
            terms = pool[fieldname]
            fieldwriter.start_field(fieldname, schema[fieldname])
            postwriter = fieldwriter._postwriter
            for tbytes in sorted(terms):
                ids, weights, values = terms[tbytes]
                fieldwriter.start_term(tbytes)
                _write_blocks(postwriter, ids, weights, values, self.block_protocol, self.min_compress)
                fieldwriter.finish_term()
            fieldwriter.finish_field()
        fieldwriter.close()


class _Positioned:
    """A file written front to back that answers ``tell`` from its own count of the
    bytes written: a buffered file asks the OS each time, and Whoosh asks for every
    term it writes, three times (a system call each, 5% of a build)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._at = raw.tell()

    def write(self, data: Any) -> int:
        n = self._raw.write(data)
        self._at += n
        return n

    def tell(self) -> int:
        return self._at

    def seek(self, *args: Any) -> int:
        self._at = self._raw.seek(*args)
        return self._at

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def _write_blocks(postwriter: W3PostingsWriter, ids: array, weights: array, values: list[bytes],
                  protocol: int, min_compress: int) -> None:
    """Write one term's postings as ``W3PostingsWriter`` would, a block at a time.

    The block layout is Whoosh's ``_write_block``: a length (negative for the
    last block), a pickled info tuple, the pickled (and compressed) data.
    """
    postfile = postwriter._postfile
    terminfo = postwriter._terminfo
    compression = postwriter._compression
    limit = postwriter._blocklimit
    total = len(ids)
    postfile.write(WHOOSH3_HEADER_MAGIC)
    for start in range(0, total, limit):
        end = start + limit
        block_weights = weights[start:end]
        block_values = values[start:end]
        postwriter._ids = block_ids = ids[start:end]
        postwriter._weights = array("f", block_weights)
        # add_posting keeps only non-empty values.
        postwriter._values = block_values if all(block_values) else [v for v in block_values if v]
        postwriter._maxweight = max(0, max(block_weights))
        terminfo.add_block(postwriter)
        data = dumps((postwriter._mini_ids(), postwriter._mini_weights(), postwriter._mini_values()), protocol)
        level = compression if len(data) >= min_compress else 0
        if level:
            data = zlib.compress(data, level)
        info = dumps((len(block_ids), block_ids[-1], postwriter._maxweight, level,
                      length_to_byte(postwriter._minlength), length_to_byte(postwriter._maxlength)), 2)
        length = len(info) + len(data)
        postfile.write_int(-length if end >= total else length)
        postfile.write(info)
        postfile.write(data)
    postwriter._blockcount = -(-total // limit)
    postwriter._new_block()


class VarBytesCells(VarBytesColumn):
    """Whoosh's ``VarBytesColumn`` (the id, path and hash columns), read with each segment's
    offsets summed by numpy: a segment of fewer documents than the writer's cutoff keeps
    only their lengths, and Whoosh's reader sums them in a loop a document whenever it opens
    one (a search that shows a hit's reposts' ids opens every segment's). The values read
    are Whoosh's own (``tests/test_postings.py``)."""

    def reader(self, dbfile: Any, basepos: int, length: int, doccount: int) -> VarBytesColumn.Reader:
        return _VarBytesReader(dbfile, basepos, length, doccount)


class _VarBytesReader(VarBytesColumn.Reader):
    def _read_offsets_and_lengths(self) -> None:
        lastbyte = self._basepos + self._length - 1
        code = chr(self._dbfile.get_byte(lastbyte))
        if code == "X":  # the offsets were written: nothing to sum
            super()._read_offsets_and_lengths()
            return
        lengths = self._dbfile.get_array(lastbyte - struct.calcsize(code) * self._doccount, code, self._doccount)
        offsets = np.zeros(self._doccount, dtype=np.int64)
        np.cumsum(np.asarray(lengths, dtype=np.int64)[:-1], out=offsets[1:])
        self._offsets = array("q", offsets.tobytes())
        self._lengths = lengths
