"""The parallel full build (big corpora) must give the index a serial build gives, or fail cleanly."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from conftest import SEEDS
from whoosh.formats import Characters

from civicsearch import SearchEngine
from civicsearch.errors import IndexBuildError
from civicsearch.index import indexer
from civicsearch.index.analyzers import CivicCharacters, CivicTokenizer
from civicsearch.index.internals import CivicWriter
from civicsearch.ingest.readers import RawRecord

real_build_document = indexer.build_document
real_to_fields = indexer.to_fields
QUERIES = ["加装电梯", "党群服务中心", '"城市更新"', "社区 服务", "老旧小区加装电梯工作怎么推进"]


def _summary(engine: SearchEngine) -> list[tuple]:
    out = []
    for q in QUERIES:
        r = engine.search(q, limit=100, collapse=False)  # every hit: equal scores tie by document number
        out.append((q, r.total, sorted(h.doc_id for h in r.hits), [h.snippet for h in r.hits[:1]]))
    return out


def test_fast_posting_format_writes_what_whoosh_writes() -> None:
    tokenizer = CivicTokenizer()
    for path in SEEDS:
        text = path.read_text("utf-8")
        ours = sorted(CivicCharacters().word_values(text, tokenizer, mode="index"))
        whoosh = sorted(Characters().word_values(text, tokenizer, mode="index"))
        assert ours == whoosh and len(ours) > 100


def _with_extra_documents(corpus: Path) -> Path:
    # Many small documents, so that a tiny segment size gives several segments a worker.
    for i in range(40):
        (corpus / f"extra{i:02d}.md").write_text(
            f"# 第{i}号通知\n\n老旧小区加装电梯第{i}批，党群服务中心受理社区服务申请。\n" * 3, encoding="utf-8")
    return corpus


def _doc_ids(engine: SearchEngine) -> list[str]:
    """Document ids in document-number order (ties in ranking break by it)."""
    reader = engine.backend.storage().reader
    return [reader.stored_fields(n)["id"] for n in reader.all_doc_ids()]


def test_parallel_build_matches_serial_build(corpus_copy: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _with_extra_documents(corpus_copy)
    serial = SearchEngine(tmp_path / "serial")
    serial.index([corpus], procs=1)
    monkeypatch.setattr(indexer, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(indexer, "SEGMENT_BYTES", 20_000)
    builds = []
    for name in ("parallel", "again"):
        engine = SearchEngine(tmp_path / name)
        report = engine.index([corpus], procs=2)
        assert report.added == serial.stats().documents == len(SEEDS) + 40
        reader = engine.backend.storage().reader
        assert len(list(reader.leaf_readers())) > 2  # several segments from each worker
        assert isinstance(reader.schema["body"].format, CivicCharacters)
        assert _summary(engine) == _summary(serial)
        builds.append(engine)
    # Records are dealt by size, not to whichever worker is free: the same index every time.
    assert _doc_ids(builds[0]) == _doc_ids(builds[1])
    assert sorted(_doc_ids(builds[0])) == sorted(_doc_ids(serial))
    assert not multiprocessing.active_children()
    for engine in builds + [serial]:
        engine.close()


def _on_extra07(action: Any) -> Any:
    """``build_document`` that does ``action()`` on the document extra07 (in a worker)."""
    def build_document(rec: RawRecord) -> Any:
        if rec.doc_id.startswith("extra07"):
            action()
        return real_build_document(rec)
    return build_document


def _raise() -> None:
    raise ValueError("cannot clean this one")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _fields_fail_on_extra07(doc: Any, raw_hash: str) -> Any:
    if doc.doc_id.startswith("extra07"):
        _raise()
    return real_to_fields(doc, raw_hash)


@pytest.mark.parametrize("procs", [1, 2])
@pytest.mark.parametrize("stage", ["build_document", "to_fields"])  # a batch is read a stage at a time
def test_a_document_that_fails_is_skipped_and_the_rest_goes_in(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, procs: int, stage: str
) -> None:
    corpus = _with_extra_documents(corpus_copy)
    monkeypatch.setattr(indexer, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(indexer, stage, _on_extra07(_raise) if stage == "build_document" else _fields_fail_on_extra07)
    engine = SearchEngine(tmp_path / "index")
    report = engine.index([corpus], procs=procs)
    (skipped,) = report.skipped
    assert skipped.path.endswith("extra07.md")
    assert skipped.reason == "cannot index (ValueError: cannot clean this one)"
    assert report.added == report.documents == len(SEEDS) + 39
    assert not multiprocessing.active_children()
    engine.close()


def _writer_fails_on_extra07(real: Any) -> Any:
    def add_documents(self: Any, batch: list[dict[str, Any]]) -> None:
        if any(fields["id"].startswith("extra07") for fields in batch):
            raise ValueError("the writer broke")
        real(self, batch)
    return add_documents


@pytest.mark.parametrize("fault, message", [
    ("writer", "failed: ValueError: the writer broke"),
    ("kill", "ended with exit code -9"),
])
def test_a_failing_worker_fails_the_build_and_leaves_the_live_index(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str, message: str
) -> None:
    engine = SearchEngine(tmp_path / "index")
    engine.index([corpus_copy])
    before = engine.search("加装电梯").total
    corpus = _with_extra_documents(corpus_copy)
    monkeypatch.setattr(indexer, "PARALLEL_MIN_BYTES", 0)
    if fault == "kill":
        monkeypatch.setattr(indexer, "build_document", _on_extra07(_die))
    else:
        monkeypatch.setattr(CivicWriter, "add_documents", _writer_fails_on_extra07(CivicWriter.add_documents))
    with pytest.raises(IndexBuildError, match=message):
        engine.index([corpus], full=True, procs=2)
    assert not multiprocessing.active_children()
    assert engine.search("加装电梯").total == before
    assert engine.stats().documents == len(SEEDS)
    assert [p.name for p in engine.index_dir.glob("gen-*")] == [engine.backend._gen_name]  # no partial generation
    engine.close()


class _Reports:
    """A results queue holding some progress reports; it records how each get was asked."""

    def __init__(self, reports: list[Any]) -> None:
        self.reports = reports
        self.asked: list[tuple[bool, float | None]] = []

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        import queue

        self.asked.append((block, timeout))
        if not self.reports:
            raise queue.Empty
        return self.reports.pop(0)


def test_the_parent_waits_for_the_first_report_only() -> None:
    """Draining the workers' reports must not wait after each one: meanwhile the parent
    deals no records, and the workers' inboxes run dry (a second a report, seconds a build)."""
    from civicsearch.index import parallel

    build = object.__new__(parallel.ParallelBuild)  # no workers: only the parent's bookkeeping
    build.workers, build.done, build.written, build.on_written = [None, None], {}, [0, 0], None
    build.results = _Reports([parallel._Written(0, 5), parallel._Written(1, 7), parallel._Written(0, 9)])
    build._receive(parallel.POLL_SECONDS)
    assert build.written == [9, 7]
    assert build.results.asked == [(True, parallel.POLL_SECONDS), (False, 0), (False, 0), (False, 0)]
    build.results = _Reports([])
    build._receive(0)
    assert build.results.asked == [(False, 0)]
