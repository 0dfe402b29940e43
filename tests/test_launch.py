"""The command's process: one BLAS thread, its start-up set aside from the collector, and a
command that only reads ending once its output is out, without the interpreter's teardown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from civicsearch import SearchEngine

#: Runs the command as its entry point does, with an exit handler that says when the
#: interpreter's teardown runs (a quick end skips it).
RUN = """
import atexit, os, sys
atexit.register(lambda: sys.stderr.write("TEARDOWN\\n"))
sys.argv = ["civicsearch", *sys.argv[1:]]
from civicsearch.launch import main
main()
"""


def launch(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, timeout=120,
                          env=env or dict(os.environ))


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> SearchEngine:
    corpus = tmp_path_factory.mktemp("launch") / "corpus"
    corpus.mkdir()
    rows = [{"id": f"d{i}", "title": f"关于河道保洁的通知（第{i}号）", "text": "河道保洁工作安排。" * (i + 1)}
            for i in range(40)]
    (corpus / "a.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    eng = SearchEngine(tmp_path_factory.mktemp("launch-ix") / "index")
    eng.index([corpus])
    yield eng
    eng.close()


def test_a_reading_command_ends_without_the_teardown_and_with_all_of_its_output(engine):
    ix = str(engine.index_dir)
    done = launch("--index", ix, "search", "河道", "--json", "--limit", "40", "--no-collapse")
    assert done.returncode == 0 and "TEARDOWN" not in done.stderr, done.stderr
    hits = [h["id"] for h in json.loads(done.stdout)["hits"]]  # the whole output, or no JSON
    assert hits == [h.doc_id for h in engine.search("河道", limit=40, collapse=False).hits] and len(hits) == 40
    shown = launch("--index", ix, "show", "d7")
    assert shown.returncode == 0 and "TEARDOWN" not in shown.stderr
    assert shown.stdout.rstrip().endswith("河道保洁工作安排。" * 8)
    stats = launch("--index", ix, "stats", "--json")
    assert stats.returncode == 0 and "TEARDOWN" not in stats.stderr
    assert json.loads(stats.stdout)["documents"] == 40


def test_a_reading_command_that_fails_ends_the_same_way_with_its_one_line(tmp_path):
    done = launch("--index", str(tmp_path / "none"), "search", "河道")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("Error: no index at ") and done.stderr.count("\n") == 1, done.stderr


def test_a_command_that_writes_or_lists_gets_the_whole_teardown(engine, tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "one.txt").write_text("关于河道保洁的通知\n河道保洁。", "utf-8")
    built = launch("--index", str(tmp_path / "ix"), "index", str(corpus), "--quiet")
    assert built.returncode == 0 and built.stderr.endswith("TEARDOWN\n"), built.stderr
    listed = launch("--index", str(engine.index_dir), "watch", "list")
    assert listed.returncode == 0 and listed.stderr.endswith("TEARDOWN\n"), listed.stderr
    helped = launch("--help")
    assert helped.returncode == 0 and "Usage:" in helped.stdout and helped.stderr == "TEARDOWN\n"


COUNT = """
import atexit, os, sys
def report():
    import numpy  # noqa: F401  (its BLAS starts its threads at import)
    print(os.environ.get("OPENBLAS_NUM_THREADS"), len(os.listdir("/proc/self/task")))
atexit.register(report)
sys.argv = ["civicsearch", "--version"]
from civicsearch.launch import main
main()
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="threads counted in /proc")
def test_numpys_blas_gets_one_thread_unless_the_environment_says_otherwise():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", COUNT], capture_output=True, text=True, timeout=60, env=env)
    assert done.stdout.splitlines()[-1] == "1 1", done.stdout + done.stderr
    told = subprocess.run([sys.executable, "-c", COUNT], capture_output=True, text=True, timeout=60,
                          env=dict(env, OPENBLAS_NUM_THREADS="2"))
    assert told.stdout.splitlines()[-1].split()[0] == "2", told.stdout + told.stderr
