"""The did-you-mean's words are written by the index run that changed the index and read by
every search process; a file for other segments, or a damaged one, is never used."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from civicsearch import SearchEngine
from civicsearch.index import wordlist
from civicsearch.search import suggest


def _files(index_dir: Path) -> list[Path]:
    return sorted(index_dir.rglob("words-*.arr"))


def _same(a: wordlist.Words, b: wordlist.Words) -> bool:
    return (a.rows.keys() == b.rows.keys() and all(np.array_equal(a.rows[s], b.rows[s]) for s in a.rows)
            and all(np.array_equal(x.keys, y.keys) and np.array_equal(x.order, y.order)
                    for s in a.buckets for x, y in zip(a.buckets[s], b.buckets[s]))
            and all(np.array_equal(a.keys[s], b.keys[s]) for s in a.keys))


@pytest.fixture
def indexed(corpus_copy: Path, tmp_path: Path) -> Iterator[tuple[SearchEngine, Path, wordlist.Words]]:
    """An engine over the bundled corpus, its words' file, and the words built from its term tables."""
    with SearchEngine(tmp_path / "ix") as engine:
        engine.index([corpus_copy], procs=1)
        (found,) = _files(tmp_path / "ix")
        yield engine, found, wordlist.build(engine.backend.storage().term_parts)


def test_an_index_run_writes_the_words_a_search_reads(indexed: tuple[SearchEngine, Path, wordlist.Words],
                                                      corpus_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, first, built = indexed
    index_dir = first.parent.parent
    storage = engine.backend.storage()
    assert len(built.rows[2]) > 300 and len(built.rows[4]) > 20
    monkeypatch.setattr(wordlist, "build", lambda *a: pytest.fail("the file was not read"))
    assert _same(storage.words(), built)
    vocabulary = suggest.Vocabulary(storage)
    assert vocabulary.holds("加装电梯") and vocabulary.neighbours("佳装电梯", 0) == ["加装电梯"]
    monkeypatch.undo()
    assert engine.search("佳装电梯").suggestion == "加装电梯"

    # A run that changes nothing leaves the file; one that adds a segment writes the new
    # segments' words and removes the old file.
    stamp = first.stat().st_mtime_ns
    engine.index([corpus_copy], procs=1)
    assert _files(index_dir) == [first] and first.stat().st_mtime_ns == stamp
    (corpus_copy / "new.md").write_text("# 稀有词语\n\n鹦鹉螺号潜水艇今日靠港。", encoding="utf-8")
    engine.index([corpus_copy], procs=1)
    (second,) = _files(index_dir)
    assert second != first
    assert _same(engine.backend.storage().words(), wordlist.build(engine.backend.storage().term_parts))
    assert suggest.Vocabulary(engine.backend.storage()).holds("潜水艇")


def test_a_file_cut_short_or_for_other_segments_is_not_used(indexed: tuple[SearchEngine, Path, wordlist.Words]) -> None:
    engine, found, expected = indexed
    storage = engine.backend.storage()
    key = wordlist.key_of(storage.reader)
    assert wordlist.load(found.parent, key) is not None
    assert wordlist.load(found.parent, "another") is None
    data = found.read_bytes()
    for broken in (data[: len(data) // 2], b"", b"x" * 100, data + b"\0" * 8):
        found.write_bytes(broken)
        assert wordlist.load(found.parent, key) is None
        assert _same(storage.words(), expected)  # built from the term tables instead
    assert engine.search("佳装电梯").suggestion == "加装电梯"


def test_a_folder_it_cannot_write_leaves_searches_to_build_their_own(corpus_copy: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(path: object, mode: str = "r", *args: object) -> object:
        if "w" in mode:
            raise PermissionError(13, "Permission denied", str(path))
        return open(path, mode, *args)  # type: ignore[call-overload]

    monkeypatch.setattr(wordlist, "open", refused, raising=False)  # wordlist's own writes alone
    with SearchEngine(tmp_path / "ix") as engine:
        report = engine.index([corpus_copy], procs=1)
        assert report.added and not _files(tmp_path / "ix")
        assert not list((tmp_path / "ix").rglob(".words-*"))  # no half-written file left
        assert engine.search("佳装电梯").suggestion == "加装电梯"


def test_an_index_without_words_of_some_size_keeps_them_empty(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.md").write_text("# 电梯\n\n电梯。abc", encoding="utf-8")
    with SearchEngine(tmp_path / "ix") as engine:
        engine.index([tmp_path / "c"], procs=1)
        (found,) = _files(tmp_path / "ix")
        words = wordlist.load(found.parent, wordlist.key_of(engine.backend.storage().reader))
        assert words is not None and words.rows[4].shape == (0, 4) and len(words.rows[3]) == 0
        assert texts_of(words) == ["电梯"]


def texts_of(words: wordlist.Words) -> list[str]:
    return [w for size in sorted(words.rows) for w in wordlist.texts(words.rows[size])]
