"""CivicWriter writes the same bytes Whoosh's own SegmentWriter writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SEEDS
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.writing import SegmentWriter

from civicsearch.index import postarrays
from civicsearch.index.grampool import FIELD as GRAMS
from civicsearch.index.indexer import prepare
from civicsearch.index.internals import CivicWriter, TermPool
from civicsearch.index.schema import make_schema
from civicsearch.ingest.readers import read_path


def _documents() -> list[dict[str, Any]]:
    docs = [prepare(rec).fields for path in SEEDS for rec in read_path(path, path.parent)]
    # Frequent words fill several 128-posting blocks; rare ones give single postings.
    docs += [prepare_text(f"extra{i:03d}", f"第{i}号通知：老旧小区加装电梯，第{i % 7}批申请受理。" * (1 + i % 5))
             for i in range(300)]
    return docs


def prepare_text(doc_id: str, text: str) -> dict[str, Any]:
    return {"id": doc_id, "path": f"{doc_id}.txt", "body": text, "hash": doc_id, "place": f"31,{doc_id}"}


def _build(folder: Path, writer_class: type, batches: list[list[dict[str, Any]]], **kwargs: Any) -> Any:
    """Index ``batches`` (one commit each, the last merging all segments) in a new index."""
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), make_schema())
    for n, batch in enumerate(batches, 1):
        codec = W3Codec()
        codec.length_stats = False
        writer = writer_class(ix, compound=False, codec=codec, **kwargs)
        for fields in batch:
            if not isinstance(writer, CivicWriter):
                fields = {k: v for k, v in fields.items() if k != GRAMS}  # CivicWriter's own, not Whoosh's
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


def _postings(ix: Any) -> tuple[list[tuple], list[tuple]]:
    """Every posting, and every term's statistics, as Whoosh's reader reads them."""
    with ix.reader() as reader:
        stats = []
        for fieldname, text in reader.all_terms():
            info = reader.term_info(fieldname, text)
            stats.append((fieldname, text, info.weight(), info.doc_frequency(), info.max_weight(),
                          info.min_id(), info.max_id()))
        return list(reader.iter_postings()), stats


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
    ours = _files(_build(tmp_path / "ours", CivicWriter, batches, limitmb=limitmb, block_protocol=2,
                         min_compress=0))
    whoosh = _files(_build(tmp_path / "whoosh", SegmentWriter, batches, limitmb=limitmb))
    # The posting arrays are civicsearch's own file: the bigrams always, the words'
    # postings when the pool stayed in memory.
    arrays = tmp_path / "arrays.csa"
    arrays.write_bytes(ours.pop(".csa"))
    covered = {GRAMS} if case == "pool spills to disk" else {GRAMS, "title", "body"}
    assert postarrays.PostingArrays(str(arrays)).fields == covered
    assert sorted(ours) == sorted(whoosh) and ".pst" in ours and ".trm" in ours
    for ext in ours:
        assert ours[ext] == whoosh[ext], ext
    assert len(ours[".pst"]) > 100_000
    if case == "pool spills to disk":
        assert len(spills) > 3


@pytest.mark.parametrize("case", ["one segment", "segments merged"])
def test_protocol_4_and_small_blocks_uncompressed_read_back_as_whooshs(tmp_path: Path, case: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    batches, limitmb, _ = _case(case, monkeypatch)
    ours_ix = _build(tmp_path / "ours", CivicWriter, batches, limitmb=limitmb)
    whoosh_ix = _build(tmp_path / "whoosh", SegmentWriter, batches, limitmb=limitmb)
    postings, stats = _postings(ours_ix)
    assert (postings, stats) == _postings(whoosh_ix)
    assert len(postings) > 5_000 and max(s[3] for s in stats) > 128  # terms of several blocks
    ours, whoosh = _files(ours_ix), _files(whoosh_ix)
    assert len(ours[".pst"]) < 0.75 * len(whoosh[".pst"])
    for ext in ours.keys() - {".pst", ".trm", ".csa"}:  # the term table holds offsets into the postings
        assert ours[ext] == whoosh[ext], ext


def _counting(method: Any, calls: list[int]) -> Any:
    def wrapper(self: Any) -> None:
        calls.append(1)
        method(self)
    return wrapper
