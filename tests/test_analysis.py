from __future__ import annotations

import random

import pytest
from conftest import SEEDS

from civicsearch.index.analyzers import CivicAnalyzer
from civicsearch.text.normalize import fold
from civicsearch.text.tokens import iter_words, query_terms, word_rows
from civicsearch.text.words import Segmenter, lexicon


@pytest.fixture(scope="module")
def engines() -> tuple[Segmenter, Segmenter]:
    return Segmenter("rjieba"), Segmenter("jieba")


def test_rjieba_and_jieba_give_identical_tokens_on_every_seed(engines, monkeypatch):
    fast, oracle = engines
    import civicsearch.text.tokens as analysis

    for path in SEEDS:
        text = path.read_text("utf-8")
        runs = []
        for seg in (fast, oracle):
            monkeypatch.setattr(analysis, "get_segmenter", lambda seg=seg: seg)
            runs.append(list(iter_words(text, subwords=True)))
        assert runs[0] == runs[1], path.name
        assert len(runs[0]) > 100


def test_civic_lexicon_words_stay_whole(engines):
    for seg in engines:
        for word in ("党群服务中心", "加装电梯", "一网通办", "一网统管", "营商环境", "老旧小区"):
            assert seg.cut(f"推进{word}建设") .count(word) == 1, (seg.engine, word)
    assert ("党群服务中心", 2000) in lexicon()


def test_positions_count_words_not_characters():
    words = list(iter_words("推进加装电梯工作"))
    assert [(w, p) for w, p, _, _ in words] == [("推进", 0), ("加装电梯", 1), ("工作", 2)]


def test_offsets_point_at_the_original_characters():
    text = "嘉定鎮街道社區黨群服務中心 ＡＢＣ 第3條"
    for term, _, start, end in iter_words(text, subwords=True):
        assert fold(text[start:end]) == term


def test_one_character_numbers_are_kept():
    assert query_terms("国办发〔2024〕1号") == ["国办发", "2024", "1", "号"]
    assert query_terms("第3条") == ["第", "3", "条"]
    assert "5371.2" in query_terms("总面积5371.2平方米")


def test_subwords_share_their_parent_position_at_index_time_only():
    indexed = list(iter_words("社区党群服务中心", subwords=True))
    parent = next(p for w, p, _, _ in indexed if w == "党群服务中心")
    assert ("服务中心", parent) in [(w, p) for w, p, _, _ in indexed]
    assert "服务中心" not in query_terms("社区党群服务中心")


def test_word_rows_are_iter_words_with_subwords_as_lists():
    texts = [p.read_text("utf-8") for p in SEEDS] + [
        "社区党群服务中心ＡＢＣ2024年1.5亿元，國辦發〔2024〕1号", "", "。。。", "abc_def 3.14.15 团头村发吉市发吉",
        "看一看人民人民共和国共和国" * 3]
    for text in texts:
        rows = [(t, p, s) for t, p, s, _ in iter_words(text, subwords=True)]
        assert list(zip(*word_rows(text))) == rows
    assert len(list(zip(*word_rows(texts[0])))) > 100


def test_one_cut_of_a_texts_runs_is_each_runs_cut(engines):
    """cut_runs cuts a text's Chinese runs in one call (once the engine is built): the same
    words as one call a run, the runs apart, for either engine and runs jieba reads in part
    as non-Chinese (extension A, 〇, compatibility ideographs, the last unified ones)."""
    from civicsearch.text.tokens import TOKEN_RE
    from civicsearch.text.words import RUN_END

    texts = [p.read_text("utf-8") for p in SEEDS] + [
        "㐀㐁社区〇〇七号，豈更車賈，鿖鿗鿿团头村发吉市发吉。人。看一看人民人民共和国"]
    runs = [m.group("han") for t in texts for m in TOKEN_RE.finditer(fold(t)) if m.group("han")]
    assert len(runs) > 200
    for seg in (*engines, Segmenter("rjieba").load()):
        expected = [w for run in runs for w in [*seg.cut(run), RUN_END]][:-1]
        assert seg.cut_runs(runs) == expected
        assert seg.cut_runs([]) == [] and seg.cut_runs(["人"]) == ["人"]


def test_word_rows_with_a_built_engine_are_iter_words(monkeypatch):
    import civicsearch.text.tokens as analysis

    monkeypatch.setattr(analysis, "get_segmenter", lambda seg=Segmenter("rjieba").load(): seg)
    for path in SEEDS:
        text = path.read_text("utf-8") + "㐀社区〇七号，豈更車"
        rows = [(t, p, s) for t, p, s, _ in iter_words(text, subwords=True)]
        assert list(zip(*word_rows(text))) == rows and len(rows) > 100


def test_traditional_and_full_width_text_folds_to_the_simplified_terms():
    assert query_terms("加裝電梯") == query_terms("加装电梯") == ["加装电梯"]
    assert query_terms("ＣＢＤ２０２３") == ["cbd2023"]
    assert fold("黨群服務") == "党群服务"
    # Characters that are themselves simplified forms are never changed.
    assert fold("乾隆於是") == "乾隆於是"


def test_fold_never_changes_length():
    sample = "".join(chr(c) for c in range(0x20, 0x3000)) + "㎡①Ⅻ黨群服務ＡＢ"
    assert len(fold(sample)) == len(sample)


def test_a_long_text_folds_as_the_table_says() -> None:
    """A long text is folded as an array of code points: character by character it must
    be what the table gives, past the table's last code point and for lone surrogates too."""
    from civicsearch.text import normalize

    table = normalize.fold_table()
    rng = random.Random(7)
    blocks = [(0, 0x3000), (0x3000, 0x10000), (0xD800, 0xE000), (0x2F800, 0x2FA20), (0x2FA20, 0x110000)]
    for n in range(300):
        size = rng.choice([1, normalize._ARRAY_CHARS - 1, normalize._ARRAY_CHARS, 1000])
        text = "".join(chr(rng.randrange(*rng.choice(blocks))) for _ in range(size))
        assert fold(text) == text.translate(table), n
    long = "黨群服務ＡＢ㎡①Ⅻ" * 50 + chr(0x10FFFF)
    assert fold(long).startswith("党群服务ab") and fold(long)[-1] == chr(0x10FFFF) and len(fold(long)) == len(long)


def test_whoosh_analyzer_modes():
    ana = CivicAnalyzer()
    index_terms = [t.text for t in ana("党群服务中心", mode="index")]
    query_mode = [t.text for t in ana("党群服务中心", mode="query")]
    assert "服务中心" in index_terms and query_mode == ["党群服务中心"]
    toks = [(t.text, t.pos, t.startchar, t.endchar) for t in ana("加装电梯", positions=True, chars=True, mode="query")]
    assert toks == [("加装电梯", 0, 0, 4)]
