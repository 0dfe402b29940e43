"""The bigram field and the fused ranking: found past jieba's word boundaries, and
the coverage rule that counts what a question is about."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from test_ranking import FILLER, hit_ids, record
from test_ranking import build as build_with

from civicsearch import SearchEngine, SearchResults
from civicsearch.index.grampool import FIELD as GRAMS
from civicsearch.index.postings import field_lengths, read_postings
from civicsearch.search.params import DEFAULT
from civicsearch.text import bigrams
from civicsearch.text.bigrams import iter_grams, query_grams

#: The test indexes hold a dozen documents: let the bigrams rank there too.
SMALL = replace(DEFAULT, min_gram_docs=0)


def build(tmp_path: Path, records: list[dict]) -> SearchEngine:
    return build_with(tmp_path, records, SMALL)


def search_with(engine: SearchEngine, params: dict[str, object], query: str, **options: object) -> SearchResults:
    """``query`` searched on the same index with other ranking parameters."""
    with SearchEngine(engine.index_dir, params=replace(SMALL, **params)) as other:
        return other.search(query, **options)


def test_bigrams_do_not_rank_below_the_minimum_index(tmp_path: Path) -> None:
    engine = build(tmp_path, [record("a", "居委会通知：居委会换届。"), record("b", "换届通知。")])
    ranked = engine.search("居委 换届", collapse=False).hits
    unfused = search_with(engine, {"min_gram_docs": 3}, "居委 换届", collapse=False).hits
    assert [h.score for h in ranked] != [h.score for h in unfused]
    engine.close()


@pytest.mark.parametrize("text, grams", [
    ("居委会", ["居委", "委会"]),
    ("加裝電梯", ["加装", "装电", "电梯"]),  # folded as the words are
    ("第3批 申请", ["第", "3", "批", "申请"]),  # a lone Han character is its own token
    ("国办发〔2024〕1号", ["国办", "办发", "2024", "1", "号"]),
    ("ＡＢＣ12路", ["abc12", "路"]),  # letters and digits stay whole
    ("", []),
])
def test_bigram_tokens(text: str, grams: list[str]) -> None:
    assert list(iter_grams(text)) == grams


def test_only_the_first_characters_give_bigrams(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bigrams, "MAX_CHARS", 6)
    assert list(iter_grams("一二三四五六七八")) == ["一二", "二三", "三四", "四五", "五六"]
    assert bigrams.count_grams("一二三四五六七八") == Counter(iter_grams("一二三四五六七八"))


def test_query_grams_are_distinct_and_in_order() -> None:
    assert query_grams("电梯 加装电梯") == ["电梯", "加装", "装电"]


def _grams(engine: SearchEngine, term: str) -> dict[str, int]:
    """Each document holding bigram ``term``: its id and the bigram's frequency."""
    searcher = engine.backend.storage().searcher
    docs, freqs = read_postings(searcher.reader(), GRAMS, term)
    return {searcher.stored_fields(d)["id"]: int(f) for d, f in zip(docs.tolist(), freqs.tolist())}


def _gram_length(engine: SearchEngine, doc_id: str) -> int:
    searcher = engine.backend.storage().searcher
    return int(field_lengths(searcher.reader(), GRAMS)[searcher.document_number(id=doc_id)])


def test_the_index_holds_the_bigrams_with_frequencies(tmp_path: Path) -> None:
    engine = build(tmp_path, [record("a", "居委会通知：居委会换届。")])
    assert _grams(engine, "委会") == {"a": 2}
    assert _gram_length(engine, "a") == len(list(iter_grams("居委会通知：居委会换届。")))
    # The bigrams live in the posting arrays only: Whoosh's files hold no term of them.
    reader = engine.backend.storage().reader
    assert GRAMS not in reader.schema and not any(f == GRAMS for f, _ in reader.all_terms())
    engine.close()


def test_a_merge_brings_the_bigrams_along(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    engine = SearchEngine(tmp_path / "index", params=SMALL)
    texts = {"a": "居委会通知换届选举", "b": "居委会安排加装电梯", "c": "街道办事处通知加装电梯",
             "d": "社区卫生服务中心", "e": "垃圾分类宣传活动", "f": "老旧小区改造工程"}

    def put(doc_id: str, text: str) -> None:
        # A file a run, so one commit and one new segment each: from the sixth on
        # Whoosh merges the small ones.
        (corpus / f"{doc_id}.jsonl").write_text(json.dumps(record(doc_id, text), ensure_ascii=False) + "\n", "utf-8")
        engine.index([corpus])

    for doc_id, text in texts.items():
        put(doc_id, text)
    put("a", "居委会通知换届选举结果")  # a's old copy is deleted
    reader = engine.backend.storage().reader
    assert len(list(reader.leaf_readers())) < 7  # segments were merged
    assert _grams(engine, "居委") == {"a": 1, "b": 1}
    assert _grams(engine, "电梯") == {"b": 1, "c": 1}
    assert _grams(engine, "结果") == {"a": 1}
    assert _gram_length(engine, "c") == len(list(iter_grams(texts["c"])))
    assert hit_ids(engine.search("居委会 选举结果"))[:1] == ["a"]
    engine.close()


@pytest.fixture
def places(tmp_path: Path) -> SearchEngine:
    """Two replies alike but for the place: the letter's 下泉塘 is 泉塘 in one of them."""
    reply = "网友您好！经联系区规划局后得知，{}东四线以西的土地已规划为商住用地。感谢您对我们工作的关心和监督！"
    records = [
        record("reply-baishatang", reply.format("白沙塘")),  # first, so it wins a tie
        record("reply-quantang", reply.format("泉塘")),
        *[record(f"news-{i}", FILLER * (2 + i)) for i in range(6)],
    ]
    engine = build(tmp_path, records)
    yield engine
    engine.close()


def test_a_word_jieba_cuts_differently_is_found_through_bigrams(places: SearchEngine) -> None:
    # jieba's sub-words of 下泉塘 hold 泉塘 too: here the bigrams alone must find it.
    for question in ("咨询下泉塘片区土地规划用途", "下泉塘 规划"):
        hits = search_with(places, {"subword_weight": 0.0}, question, collapse=False).hits
        assert hits[0].doc_id == "reply-quantang" and hits[0].score > hits[1].score, question
    # By the words alone the two replies tie: 下泉塘 is in no document.
    hits = search_with(places, {"subword_weight": 0.0, "gram_weight": 0.0}, "咨询下泉塘片区土地规划用途",
                       collapse=False).hits
    assert [h.doc_id for h in hits[:2]] == ["reply-baishatang", "reply-quantang"]
    assert hits[0].score == hits[1].score


@pytest.fixture
def questions(tmp_path: Path) -> SearchEngine:
    records = [
        record("notice-lift", "关于老旧小区加装电梯财政补贴的通知。对既有多层住宅加装电梯，"
               "市区两级财政按每台二十万元给予补贴，业主提出申请后由街道审核。" + FILLER,
               title="关于老旧小区加装电梯财政补贴的通知"),
        # Pages full of the question's asking words, about something else.
        *[record(f"faq-{i}", f"请问如何办理居住证？请问有哪些要求？怎么申请比较快呢？第{i}期问答：居住证办理。"
                 + FILLER) for i in range(3)],
        *[record(f"news-{i}", FILLER * (2 + i)) for i in range(6)],
    ]
    engine = build(tmp_path, records)
    yield engine
    engine.close()


def test_a_long_question_finds_the_notice_that_answers_it(questions: SearchEngine) -> None:
    question = "请问加装电梯有哪些要求怎么申请呢"
    res = questions.search(question)
    assert hit_ids(res)[0] == "notice-lift"
    assert not res.relaxed
    # Counted as what the question is about, 请问 / 哪些 / 怎么 … (in few documents here,
    # so heavy) would put the pages that ask the same way first.
    assert hit_ids(search_with(questions, {"question_words": frozenset()}, question))[0] != "notice-lift"


def test_a_quoted_term_keeps_a_long_question_ranked(questions: SearchEngine) -> None:
    # Not every word is in the notice (申请流程, 多少钱): a ranked question still finds it.
    res = questions.search('"加装电梯" 老旧小区 补贴 申请流程 需要 多少钱')
    assert hit_ids(res)[0] == "notice-lift"
    assert not res.relaxed
    # The quoted phrase is required: pages without it do not match, however many words they hold.
    res = questions.search('"居住证" 老旧小区 加装电梯 补贴 申请 审核')
    assert res.total and all("居住证" in questions.get(h.doc_id).body for h in res.hits)
    assert not res.relaxed


def test_a_quoted_term_no_document_holds_leaves_the_question_ranked(questions: SearchEngine) -> None:
    # A pasted title's quotes are often emphasis: with the phrase in no document the
    # question is ranked without requiring it, and says so.
    res = questions.search('投诉老旧小区加装电梯收取“电梯使用费”补贴不到位')
    assert hit_ids(res)[:1] == ["notice-lift"]
    assert res.relaxed and any("quoted" in note for note in res.notes)


def test_a_short_query_keeps_every_word(questions: SearchEngine) -> None:
    res = questions.search("加装电梯 居住证")
    # No document holds both: the relaxed ranking says so.
    assert res.relaxed
    assert questions.search("加装电梯 补贴").total == 1
    # In a short query an asking word is what the user typed: it must match, and it scores.
    res = questions.search("请问 居住证")
    assert res.total == 3 and all(h.score > 0 for h in res.hits)
