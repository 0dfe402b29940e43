from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from civicsearch import SearchEngine
from civicsearch.index.indexer import Prepared, index_record

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SEEDS = sorted(CORPUS.glob("*.txt"))


def fields_of(record: Any) -> dict[str, Any]:
    """A record's Whoosh field values, as a build gives them."""
    prepared = index_record(record)
    assert isinstance(prepared, Prepared), prepared
    return prepared.fields


def seed(prefix: str) -> Path:
    """The seed file whose name starts with ``prefix`` (000 … 004)."""
    return next(p for p in SEEDS if p.name.startswith(prefix))


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchEngine]:
    """An index of the bundled corpus, built once for the read-only tests."""
    engine = SearchEngine(tmp_path_factory.mktemp("seed-index"))
    report = engine.index([CORPUS])
    assert report.added == len(SEEDS) and not report.skipped
    yield engine
    engine.close()


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus."""
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


# -- no process left behind -------------------------------------------------------------
#: Every process the suite starts inherits this tag; at the end none may be left.
PROCESS_TAG = "CIVICSEARCH_TEST_SESSION"


def tagged_processes(tag: str) -> list[int]:
    """The pids (other than this one) whose environment carries ``PROCESS_TAG=tag``."""
    marker = f"{PROCESS_TAG}={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            pass  # gone, or not ours to read
    return found


os.environ.setdefault(PROCESS_TAG, f"{os.getpid()}-{time.time_ns()}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not Path("/proc/self/environ").exists():
        return
    deadline = time.monotonic() + 10
    while (left := tagged_processes(os.environ[PROCESS_TAG])) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        session.config.get_terminal_writer().line(f"the suite left processes behind (killed now): {left}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def whoosh_reference(engine: SearchEngine, folder: Path) -> tuple[object, list[int]]:
    """The index's live documents' words indexed by Whoosh's own writer (the oracle), and
    each of its docnums' docnum in ``engine``'s index."""
    from whoosh import index as whoosh_index
    from whoosh.writing import SegmentWriter

    from civicsearch.index.schema import make_schema

    storage = engine.backend.storage()
    live = storage.live().nonzero()[0].tolist()
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), make_schema())
    writer = SegmentWriter(ix)
    for d in live:
        stored = storage.stored(d)
        writer.add_document(id=stored["id"], title=stored.get("title") or "", body=stored.get("body") or "")
    writer.commit()
    return ix, live
