"""The parallel full build (big corpora) must give the index a serial build gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh.formats import Characters

from civicsearch import SearchEngine, indexer
from civicsearch.analysis import CivicCharacters, CivicTokenizer
from conftest import SEEDS

QUERIES = ["加装电梯", "党群服务中心", '"城市更新"', "社区 服务", "老旧小区加装电梯工作怎么推进"]


def _summary(engine: SearchEngine) -> list[tuple]:
    out = []
    for q in QUERIES:
        r = engine.search(q, limit=20, collapse=False)
        out.append((q, r.total, sorted(h.doc_id for h in r.hits), [h.snippet for h in r.hits[:1]]))
    return out


def test_fast_posting_format_writes_what_whoosh_writes() -> None:
    tokenizer = CivicTokenizer()
    for path in SEEDS:
        text = path.read_text("utf-8")
        ours = sorted(CivicCharacters().word_values(text, tokenizer, mode="index"))
        whoosh = sorted(Characters().word_values(text, tokenizer, mode="index"))
        assert ours == whoosh and len(ours) > 100


def test_parallel_build_in_waves_matches_serial_build(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many small documents, so that a tiny wave size gives several waves.
    for i in range(40):
        (corpus_copy / f"extra{i:02d}.md").write_text(
            f"# 第{i}号通知\n\n老旧小区加装电梯第{i}批，党群服务中心受理社区服务申请。\n" * 3, encoding="utf-8")
    serial = SearchEngine(tmp_path / "serial")
    serial.index([corpus_copy], procs=1)
    monkeypatch.setattr(indexer, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(indexer, "WAVE_CHARS", 2_000)
    parallel = SearchEngine(tmp_path / "parallel")
    report = parallel.index([corpus_copy], procs=2)
    assert report.added == serial.stats().documents == len(SEEDS) + 40
    reader = parallel._current_searcher().reader()
    assert len(list(reader.leaf_readers())) > 2  # several waves, each its own segments
    assert isinstance(reader.schema["body"].format, CivicCharacters)
    assert _summary(parallel) == _summary(serial)
    serial.close()
    parallel.close()
