"""The nightly reindex job, with real files and real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from civicsearch import SearchEngine
from civicsearch.index import indexer
from civicsearch.index.indexer import CRASH_ENV, _Run
from civicsearch.index.store import WriterLock, current_generation
from civicsearch.ingest import readers
from civicsearch.ingest.readers import Skipped, load_bytes


def cli(index: Path, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop(CRASH_ENV, None)
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "civicsearch", "--index", str(index), *args],
        capture_output=True, text=True, env=env, timeout=120,
    )


def report(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout)


def doc_ids(index: Path) -> set[str]:
    with SearchEngine(index) as engine:
        res = engine.search("-qqqqzzzz", limit=1000)  # every document
        return {h.doc_id for h in res.hits}


def jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


ROWS = [
    {"id": "r1", "title": "加装电梯签约启动", "date": "2023-03-01", "text": "本小区加装电梯项目今日签约启动。"},
    {"id": "r2", "title": "垃圾分类宣传", "date": "2023-04-01", "text": "居委会开展垃圾分类宣传活动。"},
    {"id": "r3", "title": "老旧小区改造", "date": "2023-05-01", "text": "老旧小区综合改造工程完工。"},
]


@pytest.fixture
def corpus(corpus_copy: Path) -> Path:
    jsonl(corpus_copy / "crawl.jsonl", ROWS)
    return corpus_copy


def change_corpus(corpus: Path) -> None:
    """Add, change and delete files and JSONL records."""
    (corpus / "002_1e4085cf6dde9462.txt").unlink()
    p = corpus / "004_39cc09a31d753d9a.txt"
    p.write_text(p.read_text("utf-8").replace("加装电梯", "增设电梯"), "utf-8")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "new.md").write_text("---\ntitle: 新通知\n---\n关于城市更新的新通知。", "utf-8")
    rows = [dict(ROWS[0], text="本小区加装电梯项目今日竣工。"), ROWS[2], {"id": "r4", "text": "新增的记录。"}]
    jsonl(corpus / "crawl.jsonl", rows)


def clean_build_ids(corpus: Path, tmp_path: Path) -> set[str]:
    ix = tmp_path / "clean"
    assert cli(ix, "reindex", str(corpus), "--full", "--quiet").returncode == 0
    return doc_ids(ix)


def test_incremental_add_change_delete_then_noop(tmp_path, corpus):
    ix = tmp_path / "ix"
    first = cli(ix, "reindex", str(corpus), "--json")
    assert first.returncode == 0, first.stderr
    assert report(first)["added"] == 8
    assert set(report(first)) == {"added", "updated", "deleted", "unchanged", "uncleaned", "skipped", "seconds",
                                  "documents"}

    change_corpus(corpus)
    second = cli(ix, "reindex", "--json")  # no PATH: the remembered root
    r = report(second)
    assert (r["added"], r["updated"], r["deleted"], r["unchanged"]) == (2, 2, 2, 4), r
    assert doc_ids(ix) == clean_build_ids(corpus, tmp_path)
    with SearchEngine(ix) as engine:
        assert {h.doc_id for h in engine.search('"加装电梯"').hits} == {
            "000_7c9bfc895c904976.txt", "001_cde9a71d8de4f3a8.txt", "r1"}
        assert engine.search("竣工").hits[0].doc_id == "r1"

    gen = current_generation(ix)
    toc_before = sorted(p.name for p in gen.glob("_MAIN_*.toc"))
    (corpus / "crawl.jsonl").touch()  # touched, not changed
    third = cli(ix, "reindex", "--json")
    r = report(third)
    assert (r["added"], r["updated"], r["deleted"], r["unchanged"]) == (0, 0, 0, 8)
    assert sorted(p.name for p in gen.glob("_MAIN_*.toc")) == toc_before  # nothing was committed

    # A run with nothing to do writes nothing at all: not even the metadata's last update.
    meta = gen / "civicsearch.json"
    before = (meta.read_bytes(), meta.stat().st_mtime_ns)
    fourth = cli(ix, "reindex", "--json")
    assert report(fourth)["unchanged"] == 8 and fourth.returncode == 0
    assert (meta.read_bytes(), meta.stat().st_mtime_ns) == before


def test_full_rebuild_switches_atomically_while_a_searcher_holds_the_old_index(tmp_path, corpus):
    ix = tmp_path / "ix"
    assert cli(ix, "reindex", str(corpus), "--quiet").returncode == 0
    old_gen = current_generation(ix)
    engine = SearchEngine(ix)
    before = engine.search("加装电梯")
    assert before.total == 4

    change_corpus(corpus)
    full = cli(ix, "reindex", "--full", "--json")
    assert full.returncode == 0, full.stderr
    new_gen = current_generation(ix)
    # The engine still holds the old generation: it stays until nobody reads it.
    assert new_gen != old_gen and old_gen.exists()
    after = engine.search("加装电梯")  # the same engine notices the switch
    assert {h.doc_id for h in after.hits} == {"000_7c9bfc895c904976.txt", "001_cde9a71d8de4f3a8.txt", "r1"}
    assert engine.stats().last_run["full"] is True and engine.stats().roots == [str(corpus)]
    assert cli(ix, "reindex", "--quiet").returncode == 0  # the next run removes what nobody holds
    assert [p.name for p in ix.glob("gen-*")] == [new_gen.name]
    engine.close()


def test_a_second_writer_is_refused_at_once(tmp_path, corpus):
    ix = tmp_path / "ix"
    assert cli(ix, "reindex", str(corpus), "--quiet").returncode == 0
    with WriterLock(ix):
        result = cli(ix, "reindex")
    assert result.returncode == 2
    assert result.stderr.startswith(f"Error: another reindex is running (pid {os.getpid()}, since ")
    assert "Traceback" not in result.stderr
    assert cli(ix, "reindex", "--quiet").returncode == 0  # free again


def test_a_lock_left_by_a_killed_reindex_is_recovered(tmp_path, corpus):
    ix = tmp_path / "ix"
    assert cli(ix, "reindex", str(corpus), "--quiet").returncode == 0
    change_corpus(corpus)
    killed = cli(ix, "reindex", crash_at="after-read")
    assert killed.returncode == -signal.SIGKILL
    dead_pid = int((ix / "reindex.lock").read_text().split()[0])
    result = cli(ix, "reindex", "--json")
    assert result.returncode == 0, result.stderr
    with SearchEngine(ix) as engine:
        assert engine.stats().last_run["stale_lock_cleared"] == dead_pid


def test_a_killed_parallel_build_leaves_no_lock_behind(tmp_path, corpus):
    ix = tmp_path / "ix"
    assert cli(ix, "reindex", str(corpus), "--quiet").returncode == 0
    # Over a megabyte of input: the full build runs in worker processes.
    jsonl(corpus / "big.jsonl", [{"id": f"big{i}", "text": f"第{i}期：老旧小区加装电梯工作推进情况通报。" * 60}
                                 for i in range(400)])
    assert sum(p.stat().st_size for p in corpus.iterdir()) > indexer.PARALLEL_MIN_BYTES
    env = dict(os.environ, **{CRASH_ENV: "after-read"})
    # No pipes to wait on: this returns when the killed parent has gone, its workers maybe not.
    killed = subprocess.run([sys.executable, "-m", "civicsearch", "--index", str(ix), "reindex", "--full"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    result = cli(ix, "reindex", "--json")
    assert result.returncode == 0, result.stderr
    assert report(result)["added"] == 400


KILL_POINTS = [(p, False) for p in ("after-read", "before-commit", "after-commit")] + [
    (p, True) for p in ("after-read", "before-commit", "after-commit", "before-switch", "after-switch")
]


@pytest.mark.parametrize("point, full", KILL_POINTS, ids=[f"{p}-{'full' if f else 'incremental'}" for p, f in KILL_POINTS])
def test_sigkill_at_any_point_leaves_a_working_index_and_the_next_run_completes(tmp_path, corpus, point, full):
    ix = tmp_path / "ix"
    assert cli(ix, "reindex", str(corpus), "--quiet").returncode == 0
    before = doc_ids(ix)
    change_corpus(corpus)

    killed = cli(ix, "reindex", *(["--full"] if full else []), crash_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with SearchEngine(ix) as engine:  # still opens and answers
        res = engine.search("社区")
        assert res.total > 0 and res.hits
    assert doc_ids(ix) in (before, clean_build_ids(corpus, tmp_path))

    done = cli(ix, "reindex", "--json")
    assert done.returncode == 0, done.stderr
    assert doc_ids(ix) == clean_build_ids(corpus, tmp_path)
    assert [p.name for p in ix.glob("gen-*")] == [current_generation(ix).name]


def test_bad_inputs_are_reported_and_the_good_files_still_go_in(tmp_path, corpus):
    ix = tmp_path / "ix"
    assert cli(ix, "reindex", str(corpus), "--quiet").returncode == 0
    bad = corpus / "bad"
    bad.mkdir()
    (bad / "binary.txt").write_bytes(b"\x00\x01\x02\x03" * 50)
    (bad / "big5.txt").write_bytes("臺北市政府公告：本市將於明年推動老舊公寓增設電梯補助計畫。".encode("big5"))
    (bad / "empty.md").write_bytes(b"")
    (bad / "huge.txt").write_text("大" * 400_000, "utf-8")  # 1.2 MB, over --max-size 1
    (bad / "front.md").write_text("---\ntitle: [x\n---\n正文", "utf-8")
    jsonl(bad / "dump.jsonl", [{"id": "good1", "text": "好的记录一。"}])
    with open(bad / "dump.jsonl", "a", encoding="utf-8") as f:
        f.write('{"id": "broken", "text": \n{"id": "good2", "text": "好的记录二。"}\n')
    (bad / "loop1.txt").symlink_to(bad / "loop2.txt")
    (bad / "loop2.txt").symlink_to(bad / "loop1.txt")
    (bad / "dirloop").symlink_to(corpus, target_is_directory=True)
    os.mkfifo(bad / "pipe.txt")

    result = cli(ix, "reindex", "--json", "--max-size", "1")
    assert result.returncode == 1, result.stderr
    r = report(result)
    reasons = {(Path(s["path"]).name, s["line"]): s["reason"] for s in r["skipped"]}
    assert "binary" in reasons[("binary.txt", None)]
    assert "undecodable" in reasons[("big5.txt", None)]
    assert "empty" in reasons[("empty.md", None)]
    assert "1 MB limit" in reasons[("huge.txt", None)]
    assert "malformed YAML" in reasons[("front.md", None)]
    assert "malformed JSON" in reasons[("dump.jsonl", 2)]
    assert "cannot read" in reasons[("loop1.txt", None)] and "cannot read" in reasons[("loop2.txt", None)]
    assert "not a regular file" in reasons[("pipe.txt", None)]
    assert r["added"] == 2 and r["unchanged"] == 8
    assert {"good1", "good2"} <= doc_ids(ix)

    quiet = cli(ix, "reindex", "--quiet", "--max-size", "1")
    assert quiet.returncode == 1 and quiet.stdout == ""
    assert "skipped" in quiet.stderr and "binary.txt" in quiet.stderr


def test_a_file_that_cannot_be_read_keeps_what_it_gave_before(tmp_path, corpus, monkeypatch):
    ix = tmp_path / "ix"
    SearchEngine(ix).index([corpus])
    victim = corpus / "001_cde9a71d8de4f3a8.txt"
    victim.write_text(victim.read_text("utf-8") + "\n补充。", "utf-8")  # changed, so it must be read
    real = readers.open_file

    def denied(path: Path) -> Any:
        if path.name == victim.name:
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(readers, "open_file", denied)
    with SearchEngine(ix) as engine:
        rep = engine.index()
        assert [(Path(s.path).name, s.reason) for s in rep.skipped] == [(victim.name, "cannot read: Permission denied")]
        assert rep.deleted == 0 and engine.get(victim.name).title == "2023年嘉定镇街道规划计划"


def test_a_file_that_vanishes_mid_run_is_reported(tmp_path):
    gone = tmp_path / "gone.txt"
    assert isinstance(load_bytes(gone), Skipped)
    run = _Run(ix=None, existing={}, manifest={}, procs=1)
    run.file(gone, tmp_path, 10**6)
    assert run.report.skipped[0].reason.startswith("cannot read")
