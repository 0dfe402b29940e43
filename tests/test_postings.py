"""The ranker reads the words from the posting arrays: they must agree with what Whoosh's
own writer and matchers make of the same documents (a reference index built with them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import whoosh_reference
from whoosh import query as wq

from civicsearch import SearchEngine
from civicsearch.index import postarrays
from civicsearch.index.postings import (doc_frequencies, doc_frequency, read_characters, read_positions,
                                        read_postings, read_postings_many)


def _multi_segment_engine(corpus_copy: Path, tmp_path: Path) -> SearchEngine:
    """An index with several segments and deleted documents (an update after the first build)."""
    engine = SearchEngine(tmp_path / "ix")
    engine.index([corpus_copy])
    first = sorted(corpus_copy.glob("*.txt"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n加装电梯工作持续推进。\n", encoding="utf-8")
    (corpus_copy / "extra.md").write_text("# 加装电梯\n\n老旧小区加装电梯，居民议事会商议电梯加装方案。\n",
                                          encoding="utf-8")
    engine.index([corpus_copy])
    return engine


@pytest.fixture(params=["one segment", "updated"])
def engine(request: pytest.FixtureRequest, seed_index: SearchEngine, corpus_copy: Path, tmp_path: Path):
    if request.param == "one segment":
        yield seed_index
    else:
        e = _multi_segment_engine(corpus_copy, tmp_path)
        yield e
        e.close()


def _terms(reader, fieldname: str, limit: int = 300) -> list[str]:
    return [t.decode("utf-8") for t in list(reader.lexicon(fieldname))[:limit]]


def test_update_leaves_deleted_documents_in_several_segments(corpus_copy: Path, tmp_path: Path) -> None:
    engine = _multi_segment_engine(corpus_copy, tmp_path)
    reader = engine.backend.storage().reader
    assert reader.has_deletions() or len(list(reader.leaf_readers())) > 1
    engine.close()


def test_postings_and_positions_match_whoosh(engine: SearchEngine, tmp_path: Path) -> None:
    reader = engine.backend.storage().reader
    ix, ours = whoosh_reference(engine, tmp_path / "reference")
    checked = 0
    with ix.reader() as theirs:
        for fieldname in ("title", "body"):
            for term in _terms(theirs, fieldname):
                m = theirs.postings(fieldname, term)
                expected: dict[int, tuple] = {}
                while m.is_active():
                    expected[ours[m.id()]] = (m.weight(), m.value_as("positions"), m.value_as("characters"))
                    m.next()
                ids, weights = read_postings(reader, fieldname, term)
                assert list(ids) == sorted(expected)
                assert [round(w, 4) for w in weights] == [round(expected[d][0], 4) for d in ids]
                docs = list(ids)
                assert read_positions(reader, fieldname, term, docs) == {d: list(expected[d][1]) for d in docs}
                texts = (lambda d, f=fieldname: reader.stored_fields(d).get(f) or "")
                assert read_characters(reader, fieldname, [term], docs, texts)[term] == {d: list(expected[d][2]) for d in docs}
                checked += 1
        assert checked > 100
        # The word lists and document counts the suggester reads are Whoosh's too.
        storage = engine.backend.storage()
        for fieldname in ("title", "body"):
            assert list(storage.terms(fieldname)) == _terms(theirs, fieldname, 10**9)
        if not reader.has_deletions():  # a count includes deleted documents until a merge
            assert all(storage.doc_frequency("body", t) == theirs.doc_frequency("body", t)
                       for t in _terms(theirs, "body"))


def test_postings_read_together_are_those_read_one_by_one(engine: SearchEngine) -> None:
    reader = engine.backend.storage().reader
    wanted = [(f, t) for f in ("title", "body") for t in _terms(reader, f, 150)]
    wanted += [("body", "没有这个词"), ("grams", "电梯"), ("grams", "梯梯")]  # absent terms, the bigram field
    wanted += wanted[:3]  # a term asked twice
    together = read_postings_many(reader, wanted)
    for (fieldname, term), (ids, weights) in zip(wanted, together):
        alone_ids, alone_weights = read_postings(reader, fieldname, term)
        assert ids.tolist() == alone_ids.tolist() and weights.tolist() == alone_weights.tolist()
        assert ids.dtype == alone_ids.dtype and weights.dtype == alone_weights.dtype
        # Each segment's postings of the term, one at a time, the deleted documents left out.
        expected: list[tuple[int, float]] = []
        for leaf, offset in reader.leaf_readers():
            found = postarrays.for_leaf(leaf).get(postarrays.key_of(fieldname, term.encode()))
            if found is not None:
                expected += [(offset + d, float(w)) for d, w in zip(found[0].tolist(), found[1].tolist())
                             if not leaf.is_deleted(d)]
        assert list(zip(ids.tolist(), weights.tolist())) == expected
    assert together[-3][0].size == 0 and together[-2][0].size > 0
    # How many documents hold each (deleted ones too): read together as one at a time.
    counts = doc_frequencies(reader, wanted)
    assert counts.tolist() == [doc_frequency(reader, f, t) for f, t in wanted]
    held = [[postarrays.for_leaf(leaf).get(postarrays.key_of(f, t.encode())) for leaf, _ in reader.leaf_readers()]
            for f, t in wanted]
    assert counts.tolist() == [sum(len(p[0]) for p in found if p is not None) for found in held]
    # What the search's cache keeps of a read of many terms: each term's lists, not the read.
    storage = engine.backend.storage()
    storage.prefetch(wanted[:40])
    kept = [a for key in dict.fromkeys(wanted[:40]) for a in storage._postings[key]]
    assert kept and all(a.base is None or 2 * a.nbytes >= a.base.nbytes for a in kept)


def test_phrase_documents_match_whoosh_phrase_query(engine: SearchEngine, tmp_path: Path) -> None:
    reader = engine.backend.storage().reader
    storage = engine.backend.storage()
    ix, ours = whoosh_reference(engine, tmp_path / "reference")
    # Word pairs that stand together somewhere, the same pairs reversed, and a triple.
    pairs: set[tuple[str, ...]] = set()
    with ix.reader() as theirs:
        body_terms = _terms(theirs, "body", 400)
    where: dict[str, dict[int, list[int]]] = {
        t: read_positions(reader, "body", t, sorted(read_postings(reader, "body", t)[0])) for t in body_terms}
    at: dict[tuple[int, int], str] = {(d, p): t for t, docs in where.items() for d, ps in docs.items() for p in ps}
    for (d, p), t in at.items():
        following = at.get((d, p + 1))
        if following:
            pairs.add((t, following))
            pairs.add((following, t))
            third = at.get((d, p + 2))
            if third and len(pairs) < 400:
                pairs.add((t, following, third))
        if len(pairs) >= 400:
            break
    assert len(pairs) >= 100
    found_some = 0
    with ix.searcher() as searcher:
        for form in sorted(pairs):
            expected = sorted(ours[d] for d in searcher.docs_for_query(wq.Phrase("body", list(form))))
            assert storage.form_docs("body", form, phrase=True) == expected, form
            found_some += bool(expected)
    assert found_some >= 50


@pytest.mark.parametrize("cutoff", [2**15, 3])
def test_a_varbytes_column_reads_as_whooshs_own_reader_reads_it(cutoff: int) -> None:
    """The id, path and hash columns are read with offsets summed by numpy (internals.VarBytesCells),
    whether the writer kept only the lengths (fewer rows than its cutoff) or the offsets too."""
    from io import BytesIO

    from whoosh.columns import VarBytesColumn
    from whoosh.filedb.structfile import BufferFile, StructFile

    from civicsearch.index.internals import VarBytesCells

    values = [f"doc-{i}".encode() * (i % 4) for i in range(40)] + ["加装电梯".encode(), b""]
    out = StructFile(BytesIO())
    writer = VarBytesColumn(write_offsets_cutoff=cutoff).writer(out)
    for docnum, value in enumerate(values):
        writer.add(docnum, value)
    writer.finish(len(values))
    data = out.file.getvalue()
    theirs = VarBytesColumn().reader(BufferFile(data), 0, len(data), len(values))
    ours = VarBytesCells().reader(BufferFile(data), 0, len(data), len(values))
    assert theirs.had_stored_offsets == (cutoff < len(values))
    assert [ours[d] for d in range(len(values))] == [theirs[d] for d in range(len(values))] == values
    assert list(ours) == values


def test_the_id_path_and_hash_columns_are_whooshs(engine: SearchEngine) -> None:
    storage = engine.backend.storage()
    reader = storage.reader
    for fieldname in ("id", "path", "hash"):
        theirs = list(reader.column_reader(fieldname))
        assert len(theirs) == storage.size > 3
        assert list(storage.columns[fieldname]) == theirs
        view = storage.columns.view(fieldname)
        assert [view[d] for d in range(storage.size)] == theirs
        assert [reader.stored_fields(d)[fieldname] for d in range(storage.size)] == theirs
