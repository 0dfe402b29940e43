"""A searching process raises glibc's thresholds once, so that a query's large arrays reuse
the memory the last ones freed (civicsearch.index.heap); a build never does."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from civicsearch import SearchEngine
from civicsearch.index import heap


def test_the_first_search_keeps_freed_memory_once(corpus_copy: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with SearchEngine(tmp_path / "ix") as engine:
        engine.index([corpus_copy], procs=1)
    calls = []
    monkeypatch.setattr(heap, "_set", None)
    monkeypatch.setattr(heap, "_mallopt", lambda: calls.append(1) or True)
    with SearchEngine(tmp_path / "ix") as engine:
        assert engine.search("加装电梯").total
        engine.search("党群服务中心")
    with SearchEngine(tmp_path / "ix") as engine:
        engine.search("加装电梯")
    assert calls == [1]


def test_a_build_leaves_the_allocator_alone(corpus_copy: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(heap, "_set", None)
    monkeypatch.setattr(heap, "_mallopt", lambda: calls.append(1) or True)
    with SearchEngine(tmp_path / "ix") as engine:
        engine.index([corpus_copy], procs=1)
    assert calls == []


def test_the_thresholds_are_set_by_glibc_unless_the_user_set_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    assert heap._mallopt() is False
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert heap._mallopt() is True
