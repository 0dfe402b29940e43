"""CivicWriter writes what Whoosh's own SegmentWriter writes: the same bytes for
everything Whoosh keeps, and in the posting arrays the same word postings Whoosh
would have kept in its blocks (and the pure columns, which Whoosh's files no longer hold)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import SEEDS, fields_of
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.writing import SegmentWriter

from civicsearch.index import postarrays
from civicsearch.index.codec import CivicCodec
from civicsearch.index.columns import coded_fields
from civicsearch.index.grampool import FIELD as GRAMS
from civicsearch.index.internals import CivicWriter, TermPool
from civicsearch.index.schema import make_schema, unkept
from civicsearch.ingest.readers import read_path


def _documents() -> list[dict[str, Any]]:
    docs = [fields_of(rec) for path in SEEDS for rec in read_path(path, path.parent)]
    # Frequent words fill several 128-posting blocks; rare ones give single postings.
    docs += [prepare_text(f"extra{i:03d}", f"第{i}号通知：老旧小区加装电梯，第{i % 7}批申请受理。" * (1 + i % 5))
             for i in range(300)]
    return docs


def prepare_text(doc_id: str, text: str) -> dict[str, Any]:
    return {"id": doc_id, "path": f"{doc_id}.txt", "body": text, "hash": doc_id, "place": f"31,{doc_id}"}


def _build(folder: Path, writer_class: type, batches: list[list[dict[str, Any]]], chunks: int = 0,
           **kwargs: Any) -> Any:
    """Index ``batches`` (one commit each, the last merging all segments) in a new index; with
    ``chunks``, through :meth:`CivicWriter.add_documents`, chunks of 1, 2, ... ``chunks`` documents."""
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), make_schema())
    for n, batch in enumerate(batches, 1):
        if writer_class is CivicWriter:
            codec = CivicCodec()
        else:  # Whoosh's own codec, as civicsearch's wraps it
            codec = W3Codec()
            codec.length_stats = False
        writer = writer_class(ix, compound=False, codec=codec, **kwargs)
        if chunks:
            at = size = 0
            while at < len(batch):
                size = size % chunks + 1
                writer.add_documents([dict(fields) for fields in batch[at:at + size]])
                at += size
            writer.commit(optimize=n == len(batches) > 1)
            continue
        for fields in batch:
            if not isinstance(writer, CivicWriter):
                # The bigrams are CivicWriter's own, and the dates Whoosh keeps nothing of.
                fields = {k: v for k, v in fields.items() if k != GRAMS and k not in unkept()}
            writer.add_document(**fields)
        writer.commit(optimize=n == len(batches) > 1)
    return ix


def _files(ix: Any) -> dict[str, bytes]:
    """The index's one segment's files, by extension."""
    with ix.reader() as reader:
        segments = [leaf.segment() for leaf, _ in reader.leaf_readers()]
    assert len(segments) == 1
    prefix = segments[0].make_filename("")
    folder = Path(ix.storage.folder)
    return {p.name[len(prefix):]: p.read_bytes() for p in folder.iterdir() if p.name.startswith(prefix)}


WORDS = ("title", "body")


def _postings(ix: Any) -> tuple[list[tuple], list[tuple]]:
    """Every keyword posting, and every keyword term's statistics, as Whoosh's reader reads them."""
    with ix.reader() as reader:
        stats = []
        for fieldname, text in reader.all_terms():
            if fieldname in WORDS:
                continue
            info = reader.term_info(fieldname, text)
            stats.append((fieldname, text, info.weight(), info.doc_frequency(), info.max_weight(),
                          info.min_id(), info.max_id()))
        return [p for p in reader.iter_postings() if p[0] not in WORDS], stats


def _same_words(ours: Any, whoosh: Any) -> int:
    """Every word posting Whoosh's own writer kept (docnum, frequency, positions and
    characters) is in our posting arrays, and no other; the number of terms compared."""
    compared = 0
    with ours.reader() as mine, whoosh.reader() as theirs:
        assert not [t for f, t in mine.all_terms() if f in WORDS]  # Whoosh's files hold no word postings
        arrays = postarrays.for_leaf(next(iter(mine.leaf_readers()))[0])
        for fieldname in WORDS:
            lexicon = list(theirs.lexicon(fieldname))
            assert sorted(arrays.terms(fieldname)) == lexicon
            fmt = theirs.schema[fieldname].format
            for tbytes in lexicon:
                m = theirs.postings(fieldname, tbytes.decode("utf-8"))
                ids, weights, occurrences = [], [], []
                while m.is_active():
                    ids.append(m.id())
                    weights.append(m.weight())
                    occurrences.extend(fmt.decode_characters(m.value()))
                    m.next()
                docnums, bounds, flat = arrays.get_positions(postarrays.key_of(fieldname, tbytes))
                assert docnums.tolist() == ids and np.diff(bounds).tolist() == weights
                term, got = tbytes.decode(), []
                for i, d in enumerate(ids):
                    at = flat[bounds[i]: bounds[i + 1]].tolist()
                    text = mine.stored_fields(d).get(fieldname) or ""
                    starts = postarrays.occurrence_starts(arrays.starts(fieldname, d), at, term, text)
                    got += [(p, s, s + len(term)) for p, s in zip(at, starts)]
                assert got == occurrences
                compared += 1
        for fieldname in WORDS:  # the lengths Whoosh keeps (for BM25) are the same
            assert [mine.doc_field_length(d, fieldname) for d in range(mine.doc_count_all())] == \
                [theirs.doc_field_length(d, fieldname) for d in range(theirs.doc_count_all())]
    return compared


CASES = ["one segment", "pool spills to disk", "segments merged"]


def _case(case: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[list[dict[str, Any]]], float, list[int]]:
    docs = _documents()
    batches = [docs[:120], docs[120:]] if case == "segments merged" else [docs]
    spills: list[int] = []
    if case == "pool spills to disk":
        monkeypatch.setattr(TermPool, "save", _counting(TermPool.save, spills))
    return batches, 0.05 if case == "pool spills to disk" else 128, spills


@pytest.mark.parametrize("case", CASES)
def test_with_whooshs_pickle_protocol_the_files_are_whooshs(tmp_path: Path, case: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    batches, limitmb, spills = _case(case, monkeypatch)
    ours_ix = _build(tmp_path / "ours", CivicWriter, batches, limitmb=limitmb, block_protocol=2, min_compress=0)
    whoosh_ix = _build(tmp_path / "whoosh", SegmentWriter, batches, limitmb=limitmb)
    assert _postings(ours_ix) == _postings(whoosh_ix)
    assert _same_words(ours_ix, whoosh_ix) > 500
    ours, whoosh = _files(ours_ix), _files(whoosh_ix)
    # The posting arrays are civicsearch's own file, with the words and the bigrams.
    arrays = tmp_path / "arrays.csa"
    arrays.write_bytes(ours.pop(".csa"))
    assert postarrays.PostingArrays(str(arrays)).fields == {GRAMS, "title", "body"}
    # The pure columns are the posting arrays' only (test_postarrays reads them back).
    columns = {f".{name}.col" for name in coded_fields(ours_ix.schema)} & whoosh.keys()
    assert {".sketch.col", ".datekey.col", ".place_facet.col"} <= columns and not columns & ours.keys()
    assert sorted(ours) == sorted(whoosh.keys() - columns) and ".pst" in ours and ".trm" in ours
    for ext in ours.keys() - {".pst", ".trm"}:  # the term table and blocks lack the words
        assert ours[ext] == whoosh[ext], ext
    assert len(ours[".pst"]) < 0.2 * len(whoosh[".pst"])
    if case == "pool spills to disk":
        assert len(spills) > 3


@pytest.mark.parametrize("case", CASES)
def test_documents_written_a_stage_at_a_time_make_the_same_files(tmp_path: Path, case: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # A parallel worker writes its batches with add_documents: every document's words, then
    # each one's other fields, then every one's bigrams; the files are those of one at a time.
    batches, limitmb, _ = _case(case, monkeypatch)
    one = _files(_build(tmp_path / "one", CivicWriter, [[dict(f) for f in b] for b in batches], limitmb=limitmb))
    chunked = _files(_build(tmp_path / "chunked", CivicWriter, batches, chunks=40, limitmb=limitmb))
    assert sorted(one) == sorted(chunked) and ".csa" in one
    for ext in one:
        assert one[ext] == chunked[ext], ext


@pytest.mark.parametrize("case", ["one segment", "segments merged"])
def test_protocol_4_and_small_blocks_uncompressed_read_back_as_whooshs(tmp_path: Path, case: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    batches, limitmb, _ = _case(case, monkeypatch)
    ours_ix = _build(tmp_path / "ours", CivicWriter, batches, limitmb=limitmb)
    whoosh_ix = _build(tmp_path / "whoosh", SegmentWriter, batches, limitmb=limitmb)
    postings, stats = _postings(ours_ix)
    assert (postings, stats) == _postings(whoosh_ix)
    assert len(postings) > 1_000 and max(s[3] for s in stats) > 128  # terms of several blocks
    ours, whoosh = _files(ours_ix), _files(whoosh_ix)
    for ext in ours.keys() - {".pst", ".trm", ".csa"}:
        assert ours[ext] == whoosh[ext], ext


def _counting(method: Any, calls: list[int]) -> Any:
    def wrapper(self: Any) -> None:
        calls.append(1)
        method(self)
    return wrapper
