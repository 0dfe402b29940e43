"""Posting arrays (civicsearch.postarrays) say what Whoosh's blocks say, and only speed things up."""

from __future__ import annotations

import json
import random
from array import array
from pathlib import Path

import numpy as np
import pytest

from civicsearch import SearchEngine, postarrays
from conftest import SEEDS

QUERIES = ["加装电梯", "老旧小区加装电梯的补贴怎么申请", "垃圾分类 志愿者", "\"居民议事\"",
           "街道社区卫生服务中心开展健康义诊活动", "嘉定 2023 工作计划", "电梯"]


def _corpus(folder: Path, n: int = 240) -> Path:
    """The seeds and ``n`` records mixed from their sentences: enough documents for the
    bigram ranking (rank.MIN_GRAM_DOCS) and terms with many postings."""
    sentences = [s for p in SEEDS for s in p.read_text(encoding="utf-8").replace("\n", "。").split("。") if s.strip()]
    rnd = random.Random(7)
    folder.mkdir()
    for p in SEEDS:
        (folder / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    with open(folder / "mixed.jsonl", "w", encoding="utf-8") as f:
        for i in range(n):
            text = "。".join(rnd.sample(sentences, k=min(len(sentences), 3 + i % 9)))
            f.write(json.dumps({"id": f"mix{i}", "title": sentences[i % len(sentences)][:30], "text": text},
                               ensure_ascii=False) + "\n")
    return folder


def _updated(folder: Path, tmp_path: Path) -> SearchEngine:
    """An index built, then updated (a second segment, deletions, Whoosh's merge)."""
    engine = SearchEngine(tmp_path / "ix")
    engine.index([folder])
    lines = (folder / "mixed.jsonl").read_text(encoding="utf-8").split("\n")
    (folder / "mixed.jsonl").write_text("\n".join(lines[::2]), encoding="utf-8")
    (folder / "more.jsonl").write_text(
        "\n".join(json.dumps({"id": f"more{i}", "text": f"第{i}批老旧小区加装电梯申请受理。"}, ensure_ascii=False)
                  for i in range(40)), encoding="utf-8")
    engine.index([folder])
    return engine


def test_arrays_hold_every_scored_term_as_whooshs_blocks(tmp_path: Path) -> None:
    engine = _updated(_corpus(tmp_path / "corpus"), tmp_path)
    reader = engine._current_searcher().reader()
    leaves = list(reader.leaf_readers())
    assert len(leaves) > 1 or reader.has_deletions()
    checked = {"title": 0, "body": 0, "grams": 0}
    for leaf, _ in leaves:
        arrays = postarrays.for_leaf(leaf)
        assert arrays is not None, "every segment civicsearch writes has its arrays"
        assert {"title", "body", "grams"} <= arrays.fields and "place" not in arrays.fields
        for fieldname in ("title", "body", "grams", "place"):
            lexicon = list(leaf.lexicon(fieldname))
            if fieldname != "place":
                assert sum(k.startswith(fieldname.encode() + b"\0") for k in _keys(arrays)) == len(lexicon)
            for tbytes in lexicon:
                fmt = leaf.schema[fieldname].format
                m = leaf._terms.matcher(fieldname, tbytes, fmt)  # deletions included
                ids, weights, positions = [], [], []
                while m.is_active():
                    ids.append(m.id())
                    weights.append(m.weight())
                    if fmt.supports("positions"):
                        positions.extend(fmt.decode_positions(m.value()))
                    m.next()
                key = postarrays.key_of(fieldname, tbytes)
                got = arrays.get(key)
                if fieldname == "place":
                    assert got is None  # not a scored field: Whoosh's blocks answer
                    continue
                assert got is not None, (fieldname, tbytes)
                assert got[0].tolist() == ids and got[1].tolist() == pytest.approx(weights)
                assert arrays.has_positions(fieldname) == (fieldname != "grams")
                if arrays.has_positions(fieldname):
                    docnums, bounds, flat = arrays.get_positions(key)
                    assert docnums.tolist() == ids and flat.tolist() == positions
                    assert np.diff(bounds).tolist() == weights  # as many positions as the frequency says
                checked[fieldname] += 1
    assert min(checked.values()) > 100
    assert arrays.get(postarrays.key_of("body", "不在索引里的词".encode())) is None
    engine.close()


def _keys(arrays: postarrays.PostingArrays) -> list[bytes]:
    return [arrays.keys[int(a):int(b)].tobytes() for a, b in zip(arrays.key_starts[:-1], arrays.key_starts[1:])]


def _answers(engine: SearchEngine) -> list[list[tuple[str, float, int]]]:
    out = []
    for q in QUERIES:
        res = engine.search(q, limit=10)
        out.append([(h.doc_id, h.score, res.total) for h in res.hits])
    return out


def test_rankings_are_the_same_with_and_without_arrays(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _updated(_corpus(tmp_path / "corpus"), tmp_path)
    with_arrays = _answers(engine)
    assert sum(map(len, with_arrays)) > 30
    engine.close()
    monkeypatch.setattr(postarrays, "for_leaf", lambda leaf: None)
    blocks_only = SearchEngine(tmp_path / "ix")
    assert _answers(blocks_only) == with_arrays
    blocks_only.close()


def test_a_damaged_arrays_file_is_passed_over(tmp_path: Path) -> None:
    folder = _corpus(tmp_path / "corpus")
    engine = SearchEngine(tmp_path / "ix")
    engine.index([folder])
    before = _answers(engine)
    engine.close()
    files = list((tmp_path / "ix").glob("gen-*/*" + postarrays.EXTENSION))
    assert files
    for f in files:
        data = f.read_bytes()
        f.write_bytes(data[: len(data) // 2])
    again = SearchEngine(tmp_path / "ix")
    assert _answers(again) == before
    reader = again._current_searcher().reader()
    assert all(postarrays.for_leaf(leaf) is None for leaf, _ in reader.leaf_readers())
    again.close()


def test_the_file_round_trips(tmp_path: Path) -> None:
    def term(i: int) -> postarrays.Term:
        ids = array("I", range(i, 3 * i + 1, 2))
        weights = array("d", [float(1 + k % 4) for k in ids])
        positions = np.asarray([7 * k + j for k, w in zip(ids, weights) for j in range(int(w))], dtype=np.int64)
        return postarrays.key_of("body", f"词{i}".encode()), ids, weights, positions

    terms = [term(i) for i in range(1, 60)]
    fractional = [(postarrays.key_of("title", b"t"), array("I", [0, 70_000]), array("d", [0.5, 2.0]), None)]
    for case, doc_count, listed in (("small", 200, terms), ("large", 100_000, terms + fractional)):
        path = tmp_path / (case + postarrays.EXTENSION)
        with open(path, "wb") as f:
            postarrays.write(f, ["body", "title"], listed, doc_count, positioned=["body"])
        arrays = postarrays.PostingArrays(str(path))
        assert arrays.docnums.dtype.itemsize == (2 if case == "small" else 4)
        assert arrays.weights.dtype.kind == ("u" if case == "small" else "f")
        assert arrays.positions.dtype.itemsize == 2  # every position below 65,536
        assert arrays.has_positions("body") and not arrays.has_positions("title")
        for view in (arrays.hashes, arrays.starts, arrays.key_starts, arrays.pos_starts, arrays.docnums,
                     arrays.weights, arrays.positions):
            assert view.flags.aligned  # a misaligned table is copied on every search
        for key, ids, weights, positions in listed:
            got = arrays.get(key)
            assert got is not None
            assert np.array_equal(got[0], np.asarray(ids)) and np.array_equal(got[1], np.asarray(weights))
            if positions is not None:
                docnums, bounds, flat = arrays.get_positions(key)
                assert np.array_equal(docnums, np.asarray(ids)) and np.array_equal(flat, positions)
                assert np.array_equal(np.diff(bounds), np.asarray(weights))
    assert arrays.get(postarrays.key_of("title", "词1".encode())) is None
    assert arrays.get(postarrays.key_of("body", "词0".encode())) is None
    assert arrays.get_positions(postarrays.key_of("body", "词0".encode())) is None


def test_positions_beyond_two_bytes_are_kept_whole(tmp_path: Path) -> None:
    path = tmp_path / ("wide" + postarrays.EXTENSION)
    positions = np.asarray([3, 70_000, 5_000_000], dtype=np.int64)
    with open(path, "wb") as f:
        postarrays.write(f, ["body"], [(postarrays.key_of("body", b"x"), array("I", [4]), array("d", [3.0]),
                                        positions)], 10, positioned=["body"])
    arrays = postarrays.PostingArrays(str(path))
    assert arrays.get_positions(postarrays.key_of("body", b"x"))[2].tolist() == positions.tolist()


def test_a_file_of_another_layout_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ("old" + postarrays.EXTENSION)
    with open(path, "wb") as f:
        postarrays.write(f, ["body"], [(postarrays.key_of("body", b"x"), array("I", [0]), array("d", [1.0]), None)], 10)
    data = path.read_bytes()
    path.write_bytes(b"CSARR03\n" + data[len(postarrays.MAGIC):])  # an earlier layout's magic
    with pytest.raises(ValueError, match="not a posting array file"):
        postarrays.PostingArrays(str(path))
