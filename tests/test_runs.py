"""A segment whose words and bigrams were spilled to run files on the way must be the
segment the pool would have written holding every document at once, byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from civicsearch import CivicSearchError, SearchEngine
from civicsearch.index import codec, indexer, runs


def _documents(corpus: Path) -> Path:
    """The bundled corpus and documents that reach each of the file's narrow types' edges."""
    for i in range(30):
        (corpus / f"extra{i:02d}.md").write_text(
            f"# 第{i}号通知\n\n老旧小区加装电梯第{i}批，党群服务中心受理社区服务申请。\n" * (1 + i % 4), encoding="utf-8")
    # A word said 300 times (a frequency kept apart), 70,000 words (positions past u2),
    # long gaps between words' starts (gaps kept apart), a document of no Han text.
    (corpus / "repeated.md").write_text("# 电梯\n\n" + "加装电梯，" * 300, encoding="utf-8")
    (corpus / "long.md").write_text("# 长文\n\n" + "居民 小区 " * 35_000, encoding="utf-8")
    (corpus / "gaps.md").write_text("# 间隔\n\n" + "电梯" + "—" * 40 + "加装" + "。" * 30 + "小区", encoding="utf-8")
    (corpus / "latin.md").write_text("# ABC\n\nelevator retrofit 2023 abc123 x", encoding="utf-8")
    return corpus


def _arrays(index_dir: Path) -> list[str]:
    return sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in index_dir.rglob("*.csa"))


def _build(corpus: Path, index_dir: Path, segment_bytes: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """Build serially with ``segment_bytes`` as the pools' bound; the number of spills."""
    spills = []
    spill = codec.ArrayWriter.spill
    monkeypatch.setattr(indexer, "SEGMENT_BYTES", segment_bytes)
    monkeypatch.setattr(codec.ArrayWriter, "spill", lambda self, n: (spills.append(n), spill(self, n))[1])
    engine = SearchEngine(index_dir)
    try:
        engine.index([corpus], procs=1)
    finally:
        engine.close()
    return len(spills)


@pytest.mark.parametrize("wide", [False, True])
def test_spilled_runs_merge_into_the_bytes_of_one_pool(corpus_copy: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, wide: bool) -> None:
    corpus = _documents(corpus_copy)
    if wide:  # a word said 70,000 times: every frequency kept as f4
        (corpus / "wide.md").write_text("# 居民\n\n" + "居民 " * 70_000, encoding="utf-8")
    assert _build(corpus, tmp_path / "whole", 2**40, monkeypatch) == 0
    spills = _build(corpus, tmp_path / "spilled", 20_000, monkeypatch)
    assert spills > 10
    whole, spilled = _arrays(tmp_path / "whole"), _arrays(tmp_path / "spilled")
    assert len(spilled) == 1 and spilled == whole
    assert not list((tmp_path / "spilled").rglob("*.run*"))  # the runs are gone once merged


def test_spilled_index_answers_and_updates_like_the_other(corpus_copy: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _documents(corpus_copy)
    _build(corpus, tmp_path / "whole", 2**40, monkeypatch)
    _build(corpus, tmp_path / "spilled", 20_000, monkeypatch)
    # A change afterwards: a document added and one removed, each index updated alike.
    (corpus / "added.md").write_text("# 新增\n\n加装电梯补贴申请流程。", encoding="utf-8")
    (corpus / "extra03.md").unlink()
    answers = []
    for name in ("whole", "spilled"):
        with SearchEngine(tmp_path / name) as engine:
            engine.index([corpus], procs=1)
            answers.append([(q, r.total, [(h.doc_id, h.score, h.snippet) for h in r.hits])
                            for q in ("加装电梯", "居民", "elevator", '"加装电梯"')
                            for r in [engine.search(q, limit=50, collapse=False)]])
    assert answers[0] == answers[1]
    assert answers[0][0][1] > 30


def test_a_run_file_keeps_what_was_spilled(tmp_path: Path) -> None:
    codes = np.array([3, 7, 9], dtype=np.int64)
    starts = np.array([0, 2, 3, 5], dtype=np.int64)
    docnums = np.array([4, 5, 5, 4, 6], dtype=np.uint32)
    weights = np.array([1, 2, 1, 300, 1], dtype=np.int64)
    rows = np.array([[0, 0], [1, 3], [0, 0], [2, 6], [0, 0], [1, 2]] + [[k, 3 * k] for k in range(300)],
                    dtype=np.uint32)
    rows = rows[: int(weights.sum())]
    field = runs.Spilled.of(codes, starts, docnums, weights, rows, first_doc=4, doc_count=7)
    path = tmp_path / "segment.run0"
    with open(path, "wb") as out:
        runs.write_run(out, 4, 7, {"body": field, "grams": runs.Spilled.of(codes, starts, docnums, weights)})
    run = runs.Run(str(path))
    got = run.fields["body"]
    for name in ("codes", "starts", "docnums", "weights", "words", "occurrences", "counts"):
        assert np.array_equal(getattr(got, name), getattr(field, name)), name
    assert np.array_equal(got.occurrences, [0, 3, 4, 305])
    assert len(got.counts) == 3 and run.fields["grams"].words is None
    assert run.stats["body"] == {"weight_max": 300, "weights_kept": 1, "word_max": int(rows[:, 0].max())}
    run.close()
    path.write_bytes(b"not a run")
    with pytest.raises(ValueError, match="not a run of postings"):
        runs.Run(str(path))


def test_a_merge_of_segments_spills_as_it_goes(corpus_copy: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from whoosh.index import open_dir

    from civicsearch.index.codec import CivicCodec
    from civicsearch.index.internals import CivicWriter

    corpus = _documents(corpus_copy)
    monkeypatch.setattr(indexer, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(indexer, "SEGMENT_BYTES", 20_000)
    out = []
    for name, spill_bytes in (("whole", None), ("spilled", 20_000)):
        engine = SearchEngine(tmp_path / name)
        engine.index([corpus], procs=2)  # several segments a worker
        engine.close()
        folder = tmp_path / name / (tmp_path / name / "CURRENT").read_text().strip()
        assert len(list(folder.glob("*.csa"))) > 2
        writer = CivicWriter(open_dir(str(folder)), compound=False, codec=CivicCodec(), spill_bytes=spill_bytes)
        spilled = []
        monkeypatch.setattr(writer.arrays, "spill", lambda n, f=writer.arrays.spill: (spilled.append(n), f(n))[1])
        writer.commit(optimize=True)  # every segment merged into one
        assert bool(spilled) == (spill_bytes is not None)
        out.append(_arrays(folder))
    assert len(out[0]) == 1 and out[0] == out[1]


def test_a_run_that_fails_mid_merge_leaves_no_runs_behind(corpus_copy: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _documents(corpus_copy)
    _build(corpus, tmp_path / "ix", 2**40, monkeypatch)
    for i in range(8):
        (corpus / f"later{i}.md").write_text(f"# 后来{i}\n\n" + "加装电梯补贴申请流程。" * 50, encoding="utf-8")
    monkeypatch.setattr(indexer, "SEGMENT_BYTES", 20_000)
    spilled = []
    spill = codec.ArrayWriter.spill
    monkeypatch.setattr(codec.ArrayWriter, "spill", lambda self, n: (spilled.append(n), spill(self, n))[1])

    def dies(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runs, "merge", dies)
    with SearchEngine(tmp_path / "ix") as engine:
        before = engine.stats().documents
        with pytest.raises(CivicSearchError, match="no space left .* left as it was"):
            engine.index([corpus], procs=1)
        assert spilled and not list((tmp_path / "ix").rglob("*.run*"))
        assert engine.stats().documents == before
    monkeypatch.setattr(runs, "merge", real_merge)
    with SearchEngine(tmp_path / "ix") as engine:
        assert engine.index([corpus], procs=1).added == 8
        assert engine.stats().documents == before + 8
        assert "later3.md" in [h.doc_id for h in engine.search("后来3 加装电梯", limit=50).hits]
    assert not list((tmp_path / "ix").rglob("*.run*"))


real_merge = runs.merge
