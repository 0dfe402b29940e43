"""civicsearch's codec (civicsearch.index.codec): every segment names it, a reader finds the
segment's posting arrays through it, and Whoosh treats the arrays as the segment's own file
(written with the segment, merged with it, removed with it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.index import TOC
from whoosh.writing import SegmentWriter

from civicsearch.index import postarrays
from civicsearch.index.codec import CivicCodec
from civicsearch.index.internals import CivicWriter
from civicsearch.index.schema import make_schema


def _doc(i: int) -> dict[str, Any]:
    return {"id": f"d{i}", "path": f"d{i}.txt", "hash": f"h{i}", "title": f"第{i}号通知",
            "body": f"批次 case{i:04d}：老旧小区加装电梯，居民议事会第{i}次会议。"}


def _commit(ix: Any, docs: list[dict[str, Any]], **commit: Any) -> None:
    writer = CivicWriter(ix, compound=False)
    for fields in docs:
        writer.add_document(**fields)
    writer.commit(**commit)


def _arrays_files(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*" + CivicCodec.ARRAYS_EXT)}


def _body_docs(ix: Any, word: str) -> list[str]:
    """The ids of the documents whose body holds ``word``, read through each segment's codec."""
    found = []
    with ix.reader() as reader:
        for leaf, offset in reader.leaf_readers():
            got = postarrays.for_leaf(leaf).get(postarrays.key_of("body", word.encode("utf-8")))
            if got is not None:
                found += [leaf.stored_fields(int(d))["id"] for d in got[0].tolist()]
    return sorted(found)


def test_every_segment_names_the_codec_and_its_import_path_is_in_the_table_of_contents(tmp_path: Path) -> None:
    ix = whoosh_index.create_in(str(tmp_path), make_schema())
    _commit(ix, [_doc(i) for i in range(3)])
    _commit(ix, [_doc(i) for i in range(3, 5)], merge=False)
    segments = TOC.read(ix.storage, ix.indexname).segments
    assert len(segments) == 2
    assert all(type(s.codec()) is CivicCodec and s.codec().length_stats is False for s in segments)
    # The path is pickled into every table of contents: moving the class needs a shim there.
    toc = sorted(tmp_path.glob("_MAIN_*.toc"))[-1].read_bytes()
    assert b"civicsearch.index.codec" in toc and b"CivicCodec" in toc
    # Each segment's arrays are its own file, named after it, and hold its documents.
    assert _arrays_files(tmp_path) == {s.make_filename(CivicCodec.ARRAYS_EXT) for s in segments}
    assert _body_docs(ix, "case0003") == ["d3"] and _body_docs(ix, "case0000") == ["d0"]
    assert _body_docs(ix, "电梯") == [f"d{i}" for i in range(5)]


def test_a_merge_brings_the_arrays_along_and_whoosh_removes_the_old_ones(tmp_path: Path) -> None:
    ix = whoosh_index.create_in(str(tmp_path), make_schema())
    _commit(ix, [_doc(i) for i in range(3)])
    _commit(ix, [_doc(i) for i in range(3, 5)], merge=False)
    before = _arrays_files(tmp_path)
    writer = CivicWriter(ix, compound=False)
    writer.delete_by_term("id", "d1")
    writer.add_document(**_doc(5))
    writer.commit(optimize=True)
    segments = TOC.read(ix.storage, ix.indexname).segments
    assert len(segments) == 1
    after = _arrays_files(tmp_path)
    assert after == {segments[0].make_filename(CivicCodec.ARRAYS_EXT)} and not after & before
    assert _body_docs(ix, "电梯") == ["d0", "d2", "d3", "d4", "d5"]


def test_a_writer_takes_no_other_codec_and_another_codecs_segment_has_no_arrays(tmp_path: Path) -> None:
    ix = whoosh_index.create_in(str(tmp_path), make_schema())
    with pytest.raises(ValueError, match="CivicCodec"):
        CivicWriter(ix, codec=W3Codec())
    writer = SegmentWriter(ix, compound=False)  # Whoosh's own writer and codec: no posting arrays
    writer.add_document(id="w", path="w.txt", hash="w")
    writer.commit()
    assert not _arrays_files(tmp_path)
    with ix.reader() as reader:
        with pytest.raises(TypeError, match="civicsearch's codec"):
            postarrays.for_leaf(reader.leaf_readers()[0][0])


def test_a_segment_term_table_is_opened_when_first_asked(seed_index, monkeypatch: pytest.MonkeyPatch) -> None:
    from civicsearch import SearchEngine

    opened: list[Any] = []
    real = W3Codec.terms_reader
    monkeypatch.setattr(W3Codec, "terms_reader", lambda self, storage, segment: opened.append(segment) or
                        real(self, storage, segment))
    engine = SearchEngine(seed_index.index_dir)
    plain = engine.search("加装电梯")
    assert plain.total and opened == []  # the words are the posting arrays': no term table read
    kind = plain.to_dict()["facets"]["type"][0]
    filtered = engine.search("加装电梯", type=kind["value"])  # a keyword field's filter reads Whoosh's terms
    assert opened and filtered.total == kind["count"] > 0
    engine.close()


def test_a_lazy_term_table_opens_once_and_closes() -> None:
    from civicsearch.index.codec import _LazyTerms

    events: list[str] = []

    class Table:
        def term_info(self, fieldname: str, text: bytes) -> tuple[str, bytes]:
            return fieldname, text

        def close(self) -> None:
            events.append("closed")

    lazy = _LazyTerms(lambda: events.append("opened") or Table())
    assert events == []
    assert lazy.term_info("type", b"a") == ("type", b"a") and lazy.term_info("type", b"b") == ("type", b"b")
    assert events == ["opened"]
    lazy.close()
    assert events == ["opened", "closed"]
    with pytest.raises(ValueError):
        lazy.term_info("type", b"a")
    _LazyTerms(lambda: events.append("never")).close()  # never opened: nothing to close
    assert events == ["opened", "closed"]
