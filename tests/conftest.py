from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from civicsearch import SearchEngine

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SEEDS = sorted(CORPUS.glob("*.txt"))


def seed(prefix: str) -> Path:
    """The seed file whose name starts with ``prefix`` (000 … 004)."""
    return next(p for p in SEEDS if p.name.startswith(prefix))


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> SearchEngine:
    """An index of the bundled corpus, built once for the read-only tests."""
    engine = SearchEngine(tmp_path_factory.mktemp("seed-index"))
    report = engine.index([CORPUS])
    assert report.added == len(SEEDS) and not report.skipped
    return engine


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus."""
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest
