"""The light segmenter: jieba's precise cut from a memory-mapped dictionary, word for word
rjieba's, so that a terminal search does not build rjieba's dictionary."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SEEDS

from civicsearch import SearchEngine
from civicsearch.text import lightseg, words
from civicsearch.text.words import Segmenter, lexicon, light_dictionary

#: Texts that take each branch: the HMM's made-up words (names), words the route joins,
#: lexicon words, a run the route leaves alone that is itself a word.
HARD = ["我们中出了一个叛徒", "他来到了网易杭研大厦", "小明硕士毕业于中国科学院计算所", "南京市长江大桥",
        "嘉定镇街道党群服务中心推进加装电梯", "市发吉团头村村民", "江苏省南京市鼓楼区湖南路街道", "的的的的",
        "一网通办一网统管营商环境老旧小区"]


@pytest.fixture(scope="module")
def light() -> lightseg.Dictionary:
    found = light_dictionary()
    assert found is not None
    return found


@pytest.fixture(scope="module")
def rjieba() -> tuple:
    return words._rjieba()


def _runs() -> list[str]:
    runs = [r for path in SEEDS for r in re.findall("[\u4e00-\u9fd5]+", path.read_text("utf-8"))]
    return runs + HARD + [f"推进{w}建设" for w, _ in lexicon()]


def test_the_light_cut_is_rjiebas(light: lightseg.Dictionary, rjieba: tuple) -> None:
    cut, _ = rjieba
    runs = _runs()
    # Both ways of hashing a text's substrings, and the HMM, are exercised.
    assert len(runs) > 500 and sum(len(r) > lightseg.SMALL for r in runs) > 50
    assert any(light.freq(w) is None for r in runs for w in light.cut(r) if len(w) > 1)
    for run in runs:
        assert light.cut(run) == cut(run), run


def test_the_light_lookup_is_rjiebas(light: lightseg.Dictionary, rjieba: tuple) -> None:
    _, has_word = rjieba
    text = "".join(SEEDS[0].read_text("utf-8").split())[:2000]
    grams = {text[i:i + n] for n in (1, 2, 3, 4) for i in range(len(text) - n)} | {w for w, _ in lexicon()}
    held = [g for g in grams if has_word(g)]
    assert 200 < len(held) < len(grams)
    assert all((light.freq(g) is not None) == has_word(g) for g in grams)
    assert light.freq("") is None


def test_a_terminal_search_never_builds_rjiebas_dictionary(seed_index: SearchEngine,
                                                            light: lightseg.Dictionary) -> None:
    # (``light``: the dictionary is built, as after a process's first use; building it checks
    # it against rjieba, which loads rjieba that once.)
    query = "嘉定镇街道 加装电梯 工作计划"
    script = ("import json, sys\nfrom civicsearch import SearchEngine\n"
              f"r = SearchEngine({str(seed_index.index_dir)!r}).search({query!r})\n"
              "print(json.dumps([[h.id for h in r.hits], r.total, 'rjieba' in sys.modules]))")
    ids, total, loaded = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                                   check=True, timeout=120).stdout)
    assert not loaded
    here = seed_index.search(query)
    assert (ids, total) == ([h.id for h in here.hits], here.total) and total > 0


def test_past_its_characters_a_process_cuts_with_rjieba(monkeypatch: pytest.MonkeyPatch, rjieba: tuple) -> None:
    cut, _ = rjieba
    monkeypatch.setattr(words, "LIGHT_CHARACTERS", 10)
    seg = Segmenter("rjieba")
    assert seg.cut("推进加装电梯") == cut("推进加装电梯") and not seg.loaded  # 6 of 10
    assert seg.cut("推进加装电梯工作") == cut("推进加装电梯工作") and seg.loaded  # 8 more: rjieba
    other = Segmenter("rjieba")
    assert other.cut("〇㐀一二") == cut("〇㐀一二") and other.loaded  # outside the HMM's characters
    assert Segmenter("rjieba").load().loaded


def test_a_light_dictionary_that_cuts_otherwise_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          rjieba: tuple) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    build = lightseg.build

    def without_lexicon(out, lines, lexicon, *model):  # type: ignore[no-untyped-def]
        build(out, lines, [], *model)

    monkeypatch.setattr(lightseg, "build", without_lexicon)
    assert light_dictionary() is None
    (refused,) = (tmp_path / "civicsearch").glob("jieba-*.differs")
    assert "otherwise than rjieba" in refused.read_text("utf-8")
    assert not list((tmp_path / "civicsearch").glob("jieba-*.seg"))
    seg = Segmenter("rjieba")
    assert seg.cut("推进加装电梯的工作") == rjieba[0]("推进加装电梯的工作") and seg.loaded
    assert "加装电梯" in seg.cut("推进加装电梯的工作")


def test_without_a_writable_cache_rjieba_cuts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "civicsearch").write_text("a file where the folder would be", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert light_dictionary() is None
    assert Segmenter("rjieba").cut("推进加装电梯") == ["推进", "加装电梯"]


def test_a_damaged_dictionary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.seg"
    path.write_bytes(b"not a dictionary at all")
    with pytest.raises(ValueError, match="not a segmenter dictionary"):
        lightseg.Dictionary(path)
