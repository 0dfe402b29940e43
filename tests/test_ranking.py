"""Ranking: long natural queries, word order, civic synonyms, reposts collapsed."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, SEEDS, seed, whoosh_reference

from civicsearch import SearchEngine
from civicsearch.cli import cli
from civicsearch.ingest.fingerprint import similarity, sketch
from civicsearch.search.params import DEFAULT, RankParams
from civicsearch.text.synonyms import load_groups, synonym_table
from civicsearch.text.tokens import query_terms

# Ordinary civic prose: enough of it that the test documents have realistic lengths
# and that words such as 工作 and 开展 are common in the little corpus.
FILLER = ("今年以来，区里认真开展各项工作，进一步完善工作机制，加强统筹协调，"
          "推动各项任务落实落地，群众满意度不断提升。")


def write_jsonl(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "docs.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", "utf-8")
    return folder


def record(doc_id: str, text: str, title: str = "") -> dict:
    return {"id": doc_id, "title": title, "date": "2023-05-01", "url": "", "text": text}


def hit_ids(results) -> list[str]:
    return [h.doc_id for h in results.hits]


def build(tmp_path: Path, records: list[dict], params: RankParams | None = None) -> SearchEngine:
    engine = SearchEngine(tmp_path / "index", params=params)
    report = engine.index([write_jsonl(tmp_path / "corpus", records)])
    assert report.added == len(records) and not report.skipped
    return engine


# -- long natural queries -----------------------------------------------------

@pytest.fixture
def replies(tmp_path: Path) -> SearchEngine:
    """Official replies without titles among other civic texts, as in the citizen-message data."""
    records = [
        record("reply-wages", "您好！经区人社局核实，K2区发吉房地产公司拖欠的农民工工资已于3月底前全部结清，"
               "劳动监察大队将继续跟踪该项目用工情况。感谢您的来信。"),
        record("reply-fair", "您好！受疫情影响暂停举办的展会项目，市商务局对已发生的场地费用给予补贴，"
               "具体申报办法见市商务局网站。感谢您的来信。"),
        record("law-wages", "保障农民工工资支付条例。第一条 为了规范农民工工资支付行为，保障农民工按时足额获得工资，"
               "根据有关法律制定本条例。" + FILLER * 3, title="保障农民工工资支付条例"),
        record("news-housing", "本市召开房地产市场工作会议，要求房地产开发企业依法经营，维护购房群众合法权益。" + FILLER,
               title="本市召开房地产市场工作会议"),
        record("news-expo", "本市会展业协会召开年会，总结一年来展会工作，部署下一阶段会展业发展。" + FILLER,
               title="会展业协会召开年会"),
    ] + [record(f"filler-{i}", f"第{i}期工作简报。" + FILLER * 2, title=f"工作简报第{i}期") for i in range(8)]
    return build(tmp_path, records)


def test_a_complaint_title_finds_the_untitled_reply_that_answers_it(replies):
    res = replies.search("投诉K2区发吉房地产公司拖欠农民工血汗钱")
    # 投诉 and 血汗钱 are in no document: requiring every word would find nothing.
    assert replies.search("投诉").total == 0 and replies.search("血汗钱").total == 0
    assert not res.relaxed
    assert hit_ids(res)[0] == "reply-wages"


def test_a_question_finds_its_answer_and_question_words_count_little(replies):
    res = replies.search("请问对于因疫情影响暂停举办的展会项目有何支持政策？")
    assert hit_ids(res)[0] == "reply-fair"
    # Documents that only share the common words (工作, 开展 …) are not matches at all.
    assert not {i for i in hit_ids(res) if i.startswith("filler-")}


def test_short_queries_still_need_every_word(replies):
    res = replies.search("农民工 展会")
    assert res.relaxed  # no document holds both: the fallback says so
    strict = replies.search("农民工 工资")
    assert not strict.relaxed
    assert set(hit_ids(strict)) == {"reply-wages", "law-wages"}


@pytest.mark.parametrize("sentence", [
    "嘉定镇街道2023年推进既有住宅加装电梯的工作计划是什么",
    # Every word of this one is in more than a fifth of the five seeds: in a corpus
    # this small no word may count as too common to tell (it once found nothing).
    "嘉定镇街道2023年对加装电梯有什么计划？",
])
def test_a_natural_sentence_finds_the_seed_it_describes(seed_index, sentence):
    res = seed_index.search(sentence)
    assert res.hits and res.hits[0].doc_id.startswith("001_")


# -- word order -----------------------------------------------------------------

def test_words_together_and_in_order_outrank_the_same_words_scattered(tmp_path):
    together = "社区招募垃圾分类志愿者，" + FILLER * 2 + "欢迎居民报名。"
    scattered = "社区推进垃圾分类，" + FILLER * 2 + "欢迎志愿者报名。"
    reversed_ = "社区表彰志愿者垃圾分类，" + FILLER * 2 + "欢迎居民报名。"
    engine = build(tmp_path, [record("scattered", scattered), record("reversed", reversed_),
                              record("together", together)]
                   + [record(f"filler-{i}", FILLER * 2) for i in range(5)])
    # The three share their filler, so they are near-duplicates: keep them apart here.
    res = engine.search("垃圾分类 志愿者", collapse=False)
    assert set(hit_ids(res)) == {"together", "scattered", "reversed"}
    assert hit_ids(res)[0] == "together"
    by_id = {h.doc_id: h.score for h in res.hits}
    assert by_id["together"] > by_id["scattered"]
    assert by_id["together"] > by_id["reversed"]


def test_a_title_match_helps_without_burying_untitled_documents(replies):
    res = replies.search("农民工 工资")
    # The regulation has the words in its title; the short untitled reply is still a hit.
    assert hit_ids(res)[0] == "law-wages"
    assert "reply-wages" in hit_ids(res)


# -- synonyms -------------------------------------------------------------------

def files_containing(text: str) -> set[str]:
    return {p.name for p in SEEDS if text in p.read_text("utf-8")}


@pytest.mark.parametrize("query, other", [("加梯", "加装电梯"), ("棚改", "棚户区改造"),
                                          ("退伍军人", "退役军人")])
def test_a_synonym_finds_documents_that_only_use_the_other_form(seed_index, query, other):
    assert not files_containing(query), "the seeds must not use the query's own form"
    expected = files_containing(other)
    assert expected
    res = seed_index.search(query, limit=50)
    assert {Path(h.path).name for h in res.hits} == expected
    assert other in res.also_searched
    assert seed_index.search(query, synonyms=False).total == 0


def test_a_synonym_of_several_words_is_matched_as_a_phrase(tmp_path):
    engine = build(tmp_path, [
        record("full", "本街道打造15分钟社区生活圈，完善社区服务设施。"),
        record("apart", "本街道15分钟步行可达，社区生活更加便利，生活圈概念深入人心。"),
    ] + [record(f"filler-{i}", FILLER) for i in range(3)])
    res = engine.search("15分钟生活圈")
    assert hit_ids(res) == ["full"]
    assert "15分钟社区生活圈" in res.also_searched


def test_the_relaxed_fallback_loosens_a_typed_synonym_term_to_its_words(seed_index):
    # 老旧小区改造 (a synonym group's member) matches as a phrase while every word is
    # required; seed 000 writes 老旧小区综合改造, so it only counts once the search relaxes.
    loose = seed_index.search("老旧小区改造怎么申请")
    assert loose.relaxed
    assert any(h.doc_id.startswith("000_") for h in loose.hits)
    quoted = seed_index.search('"老旧小区改造" 怎么申请')
    assert quoted.relaxed
    assert not any(h.doc_id.startswith("000_") for h in quoted.hits)


def test_the_synonym_data_is_large_and_well_formed():
    text = (Path(__file__).resolve().parent.parent / "civicsearch" / "data" / "synonyms.txt").read_text("utf-8")
    groups = load_groups(text)
    assert len(groups) >= 100
    members = [m for g in groups for m in g]
    assert len(members) == len(set(members)), "a member appears in two groups"
    table = synonym_table()
    assert ("放管服",) in table and any(f == ("加装电梯",) for f in table[("加梯",)])


def test_synonyms_looked_up_among_the_querys_groups_are_the_whole_tables():
    from civicsearch.text import synonyms

    table = synonym_table()
    longest = max(len(f) for f in table)

    def whole(terms: list[str]) -> list:  # the look-up over the whole table
        found, i = [], 0
        while i < len(terms):
            for size in range(min(longest, len(terms) - i), 0, -1):
                if table.get(tuple(terms[i:i + size])):
                    found.append((i, i + size, table[tuple(terms[i:i + size])]))
                    i += size
                    break
            else:
                i += 1
        return found

    groups = [members for members, _ in synonyms._groups()]
    queries = [f"推进{a}和{b}工作" for a, b in zip([m for g in groups for m in g], [g[-1] for g in groups] * 9)]
    queries += ["加装电梯", "老旧小区加梯改造", "放管服改革一网通办", "ＡＢＣ 第3条 放管服", "没有同义词的一句话"]
    hits = 0
    for q in queries:
        terms = query_terms(q)
        assert synonyms.find_synonyms(terms) == whole(terms), q
        hits += bool(whole(terms))
    assert hits > len(groups)


# -- reposts --------------------------------------------------------------------

def reposts_of(original: str) -> list[str]:
    """Three reposts as aggregators make them: a new header, trailing junk, a few words changed."""
    header = original.replace("title: '陆方舟调研嘉定镇街道强调：凝心聚力谱写古镇发展的新篇章'",
                              "title: '区委书记调研嘉定镇街道：谱写古镇发展新篇章'").replace("author: 趣头条", "author: 嘉定发布")
    junk = original.rstrip() + ("\n<p>推荐阅读</p><p>嘉定新城又一所学校开工</p><p>这个周末去哪儿玩</p>"
                                "<p>特别声明：本文转载自网络，如有侵权请联系删除。电话：021-12345678</p>\n")
    edited = original
    for old, new in (("今天（12月23日）上午", "23日上午"), ("深入座谈交流", "座谈交流"), ("宏伟蓝图", "蓝图")):
        assert old in edited
        edited = edited.replace(old, new, 1)
    return [header, junk, edited]


@pytest.fixture
def repost_index(tmp_path: Path) -> SearchEngine:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    original = seed("000").read_text("utf-8")
    for i, text in enumerate(reposts_of(original), 1):
        (corpus / f"repost_{i}.txt").write_text(text, "utf-8")
    engine = SearchEngine(tmp_path / "index")
    engine.index([corpus])
    return engine


def test_reposts_collapse_into_one_hit_with_a_count(repost_index):
    res = repost_index.search("陆方舟 调研", limit=10)
    assert res.total == 4
    assert len(res.hits) == 1
    assert res.hits[0].similar == 3
    group = {res.hits[0].doc_id, *res.hits[0].similar_ids}
    assert group == {seed("000").name, "repost_1.txt", "repost_2.txt", "repost_3.txt"}


def test_no_collapse_shows_every_repost(repost_index):
    res = repost_index.search("陆方舟 调研", collapse=False)
    assert len(res.hits) == 4 and all(h.similar == 0 for h in res.hits)


def test_different_articles_are_not_collapsed(seed_index):
    res = seed_index.search("嘉定", limit=10)
    plain = seed_index.search("嘉定", limit=10, collapse=False)
    assert hit_ids(res) == hit_ids(plain)
    assert all(h.similar == 0 for h in res.hits)
    texts = [seed_index.get(p.name).body for p in SEEDS]
    assert max(similarity(sketch(a), sketch(b)) for i, a in enumerate(texts) for b in texts[i + 1:]) < 0.3


def test_cli_shows_the_count_and_no_collapse_lists_all(repost_index):
    runner = CliRunner()
    base = ["--index", str(repost_index.index_dir), "search", "陆方舟 调研"]
    folded = runner.invoke(cli, base)
    assert folded.exit_code == 0, folded.output
    assert "+3 similar" in folded.output
    assert len(re.findall(r"^\d+\. ", folded.output, flags=re.M)) == 1
    every = runner.invoke(cli, base + ["--no-collapse"])
    assert every.exit_code == 0, every.output
    assert len(re.findall(r"^\d+\. ", every.output, flags=re.M)) == 4
    assert "similar" not in every.output
    data = json.loads(runner.invoke(cli, base + ["--json"]).output)
    assert data["collapsed"] is True and data["hits"][0]["similar"] == 3


def test_cli_says_what_was_also_searched(seed_index):
    runner = CliRunner()
    out = runner.invoke(cli, ["--index", str(seed_index.index_dir), "search", "加梯"])
    assert out.exit_code == 0, out.output
    assert "Also searched: " in out.output and "加装电梯" in out.output
    off = runner.invoke(cli, ["--index", str(seed_index.index_dir), "search", "加梯", "--no-synonyms"])
    assert "Also searched" not in off.output


def _whoosh_postings(searcher, fieldname: str, form: tuple[str, ...], phrase: bool) -> dict[int, float]:
    """docnum → frequency of a word (1.0 for a form of several words), read through
    Whoosh's own matchers and queries rather than the ranker's block reader."""
    from whoosh import query as wq
    from whoosh.reading import TermNotFound

    if len(form) > 1:
        query = wq.Phrase(fieldname, list(form)) if phrase else wq.And([wq.Term(fieldname, t) for t in form])
        return {d: 1.0 for d in searcher.docs_for_query(query)}
    try:
        m = searcher.reader().postings(fieldname, form[0])
    except TermNotFound:
        return {}
    out = {}
    while m.is_active():
        out[m.id()] = m.weight()
        m.next()
    return out


def _reference_scores(searcher, ours, ranker, concepts, long: bool) -> dict[int, float]:
    """BM25F as the ranker computed it before it used arrays: per document, in dicts,
    evidence in the same order (common concepts last, only where telling ones found),
    from a Whoosh ``searcher`` of the same documents (``ours``: each of its docnums' docnum
    in the ranker's index)."""
    p = ranker.p
    evidence = []
    for concept in concepts:
        tf: dict[int, float] = {}
        for i, form in enumerate(concept.forms):
            form_weight = 1.0 if i == 0 else p.synonym_weight
            for f in concept.fields:
                inverse = ranker.inverse_norm(f)
                for d, w in _whoosh_postings(searcher, f, form, concept.phrase or i > 0).items():
                    d = ours[d]
                    # A form of several words adds its form weight alone, as the ranker does.
                    tf[d] = tf.get(d, 0.0) + (form_weight * w if len(form) == 1 else form_weight) * float(inverse[d])
        informative = len(tf) <= max(p.common * ranker.n_docs, p.min_common_docs)
        evidence.append((tf, ranker.idf(len(tf)), informative))
    scores: dict[int, float] = {}
    for tf, factor, informative in sorted(evidence, key=lambda e: not e[2]):
        for d, x in tf.items():
            if long and not informative and d not in scores:
                continue
            scores[d] = scores.get(d, 0.0) + factor * x / (x + p.k1)
    return scores


@pytest.mark.parametrize("query", ["加装电梯", "党群服务中心 社区", "嘉定镇街道 2023年 规划计划 城市更新 重点工作",
                                   "嘉定 规划"])
@pytest.mark.parametrize("dense_share", [1, 10**9])  # a concept's parts merged by sorting; in a dense array
def test_array_scores_equal_the_per_document_computation(seed_index, query, dense_share, tmp_path):
    from civicsearch.search import rank
    from civicsearch.search.query import parse

    # The word-order bonus apart: BM25F alone.
    ranker = rank.Ranker(seed_index.backend.storage(), replace(DEFAULT, proximity=0.0, dense_share=dense_share))
    concepts = parse(query).concepts()
    ranking = ranker.rank(concepts, every=True, depth=100)
    ix, ours = whoosh_reference(seed_index, tmp_path / "reference")
    searcher = ix.searcher()
    expected = _reference_scores(searcher, ours, ranker, concepts, long=False)
    assert ranking.order, query
    assert [ranking.scores[d] for d in ranking.order] == [expected[d] for d in ranking.order]
    # Every document holding every concept, and no other, is matched.
    holding = set.intersection(*[set(_reference_scores(searcher, ours, ranker, [c], False)) for c in concepts])
    assert set(ranking.matched.tolist()) == holding
    assert ranking.order == sorted(holding, key=lambda d: (-expected[d], d))
    searcher.close()


def test_documents_with_equal_scores_rank_by_docnum(tmp_path):
    text = "社区食堂试营业，老年居民用餐享受优惠。"
    engine = build(tmp_path, [record(f"copy{i}", text + FILLER * (i % 2)) for i in range(6)])
    first = [h.doc_id for h in engine.search("社区食堂", collapse=False).hits]
    assert first == sorted(first, key=lambda d: (int(d[-1]) % 2, int(d[-1])))  # equal lengths tie
    engine.close()


def test_a_query_of_more_terms_than_the_cache_keeps_reads_them_at_once_and_ranks_alike(seed_index, monkeypatch):
    from civicsearch.index import storage
    query = "嘉定镇街道2023年城市更新和加装电梯的重点工作有哪些，党群服务中心如何开展社区服务"
    expected = [(h.doc_id, h.score, h.snippet) for h in seed_index.search(query).hits]
    index_dir = seed_index.index_dir
    monkeypatch.setattr(storage, "CACHE_TERMS", 4)  # every query term now overflows the LRU
    one_by_one: list[str] = []
    read = storage.read_postings
    monkeypatch.setattr(storage, "read_postings", lambda r, f, t, v=None: one_by_one.append(t) or read(r, f, t, v))
    with SearchEngine(index_dir) as engine:
        assert [(h.doc_id, h.score, h.snippet) for h in engine.search(query).hits] == expected
        assert len(engine.backend.storage()._postings) <= 4  # the batch stayed out of the LRU
    assert expected and not one_by_one, one_by_one


def test_the_matching_documents_of_a_posting_list_are_found_by_either_path() -> None:
    import numpy as np

    from civicsearch.search.rank import _BISECT_SHARE, _where

    rng = np.random.default_rng(4)
    paths = set()
    for _ in range(300):
        size = int(rng.integers(1, 500))
        ids = np.flatnonzero(rng.random(size) < rng.random())  # a sorted posting list
        inside = rng.random(size) < rng.choice([0.002, 0.02, 0.5])  # the matches
        docs = np.flatnonzero(inside)
        paths.add(len(docs) * _BISECT_SHARE < len(ids))
        assert _where(ids, inside, docs).tolist() == np.flatnonzero(inside[ids]).tolist()
    assert paths == {True, False}
