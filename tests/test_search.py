from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SEEDS, seed

from civicsearch import (
    DocumentNotFoundError,
    IndexNotFoundError,
    IndexVersionError,
    InvalidArgumentError,
    QuerySyntaxError,
    SearchEngine,
)
from civicsearch.fields import registry
from civicsearch.index.schema import META_FILE
from civicsearch.index.store import current_generation


def ids(results) -> set[str]:
    return {h.doc_id for h in results.hits}


def files_containing(phrase: str) -> set[str]:
    return {p.name for p in SEEDS if phrase in p.read_text("utf-8")}


@pytest.mark.parametrize("phrase", ["加装电梯", "党群服务中心", "城市更新", "老旧小区", "社会治理"])
def test_quoted_phrase_returns_exactly_the_files_that_contain_it(seed_index, phrase):
    expected = files_containing(phrase)
    assert expected, phrase
    res = seed_index.search(f'"{phrase}"', limit=50)
    assert ids(res) == expected and res.total == len(expected)
    for hit in res.hits:
        assert phrase in hit.snippet
        marked = {hit.snippet[s:e] for s, e in hit.highlights}
        assert phrase in marked


def test_phrase_does_not_match_scattered_words(seed_index):
    # 城市 and 更新 both occur in 000 (新城, 老城更新 …) but never as 城市更新.
    assert "000_7c9bfc895c904976.txt" not in ids(seed_index.search('"城市更新"'))
    assert "000_7c9bfc895c904976.txt" in ids(seed_index.search("城市 更新"))


def test_a_sub_word_finds_the_longer_word(seed_index):
    res = seed_index.search("服务中心")
    assert files_containing("党群服务中心") <= ids(res)
    hit = res.hits[0]
    assert all(hit.snippet[s:e] == "服务中心" for s, e in hit.highlights)


def test_traditional_query_returns_what_simplified_returns(seed_index):
    a = seed_index.search("加裝電梯")
    b = seed_index.search("加装电梯")
    assert [h.doc_id for h in a.hits] == [h.doc_id for h in b.hits] and a.total == 3


def test_all_words_required_then_any_word_fallback(seed_index):
    both = seed_index.search("莘庄 停车难")
    assert ids(both) == {seed("002").name} and not both.relaxed
    res = seed_index.search("莘庄 火箭发射")
    assert res.relaxed and ids(res) == {seed("002").name}


def test_exclusion_or_and_title_field(seed_index):
    elevator = ids(seed_index.search("加装电梯"))
    without = ids(seed_index.search("加装电梯 -顾村"))
    assert without == elevator - {seed("004").name}
    either = ids(seed_index.search("莘庄 OR 大厂"))
    assert either == {seed("002").name, seed("003").name}
    assert ids(seed_index.search("标题:规划")) == {seed("001").name}
    assert ids(seed_index.search("title:顾村镇")) == {seed("004").name}
    assert seed("004").name in ids(seed_index.search("-莘庄"))


def test_title_weighs_more_than_body(seed_index):
    res = seed_index.search("顾村镇")
    assert res.hits[0].doc_id == seed("004").name


def test_filters_dates_topics_and_sorting(seed_index):
    dated = seed_index.search("嘉定", sort="date")
    dates = [h.date for h in dated.hits if h.date]
    assert dates == sorted(dates, reverse=True) and dates[0] == "2023-01-04"
    assert ids(seed_index.search("嘉定", since="2023")) == {seed("001").name}
    assert ids(seed_index.search("嘉定", until="2021-12")) == {seed("000").name}
    assert ids(seed_index.search("嘉定", since="2021-12-23", until="2021-12-23")) == {seed("000").name}
    assert ids(seed_index.search("嘉定", topic="重大行动计划")) == {seed("001").name}
    assert seed_index.search("嘉定", since="2024").total == 0


def test_facets_always_come_back_and_count_the_matches(seed_index):
    res = seed_index.search("加装电梯")
    years = {f.value: f.count for f in res.facets["year"]}
    assert years == {"2023": 2, "2021": 1}  # 004 is dated 2023 from its text
    topics = {f.value: f.count for f in res.facets["topic"]}
    assert topics["城乡建设、环境保护"] == 3 and topics["重大行动计划"] == 1
    assert set(res.facets) == set(registry.facet_names()) - {"month"}  # month: only inside one year
    assert sum(f.count for f in res.facets["type"]) == 3
    empty = seed_index.search("加装电梯", since="2030")
    assert empty.total == 0 and empty.facets == {name: [] for name in registry.facet_names() if name != "month"}


def test_paging(seed_index):
    all_hits = [h.doc_id for h in seed_index.search("社区", limit=10).hits]
    assert len(all_hits) == 5
    pages = [h.doc_id for p in range(0, 5, 2) for h in seed_index.search("社区", limit=2, offset=p).hits]
    assert pages == all_hits
    beyond = seed_index.search("社区", offset=100)
    assert beyond.hits == [] and beyond.total == len(all_hits)


def test_results_are_plain_data_that_outlive_the_searcher(seed_index):
    res = seed_index.search("党群服务中心")
    data = json.loads(json.dumps(res.to_dict(), ensure_ascii=False))
    assert data["total"] == res.total and data["hits"][0]["id"] == res.hits[0].doc_id
    assert set(data["hits"][0]) >= {"id", "path", "title", "date", "place", "topics", "score", "snippet"}
    assert set(data["facets"]["year"][0]) == {"value", "label", "count"}


def test_get_document_by_id_and_unique_prefix(seed_index):
    d = seed_index.get(seed("001").name)
    assert d.title == "2023年嘉定镇街道规划计划" and d.meta["主题分类"] == "重大行动计划"
    assert "索引号" in d.original and "索引号" not in d.body
    assert seed_index.get("003_").doc_id == seed("003").name
    with pytest.raises(DocumentNotFoundError):
        seed_index.get("no-such-document")
    with pytest.raises(DocumentNotFoundError):
        seed_index.get("00")  # ambiguous prefix


@pytest.mark.parametrize("query", ["", "   ", "标题:", "，。！", '"', "OR", "- -", "\x1b\x07"])
def test_queries_with_nothing_to_search_raise_query_syntax_error(seed_index, query):
    with pytest.raises(QuerySyntaxError):
        seed_index.search(query)


@pytest.mark.parametrize(
    "kwargs", [{"since": "明年"}, {"until": "2023-13-01"}, {"since": "2024", "until": "2023"}, {"sort": "size"}, {"limit": 0}]
)
def test_bad_arguments_raise_invalid_argument(seed_index, kwargs):
    with pytest.raises(InvalidArgumentError):
        seed_index.search("嘉定", **kwargs)


def test_missing_index_and_old_schema_give_clear_errors(tmp_path, seed_index):
    with pytest.raises(IndexNotFoundError, match="no index at"):
        SearchEngine(tmp_path / "none").search("嘉定")
    copy = tmp_path / "old"
    shutil.copytree(seed_index.index_dir, copy)
    meta_file = current_generation(copy) / META_FILE
    meta = json.loads(meta_file.read_text("utf-8"))
    meta["schema_version"] = 0
    meta_file.write_text(json.dumps(meta), "utf-8")
    with pytest.raises(IndexVersionError, match=r"schema 0, this version uses .*full=True") as e:
        SearchEngine(copy).search("嘉定")
    # The API's message speaks the API; the command line's names its command.
    assert "`civicsearch" not in str(e.value) and f"`civicsearch --index {copy} index --full PATH`" in e.value.for_cli()


def test_gb18030_copy_of_a_seed_is_indexed_and_found(tmp_path, corpus_copy):
    text = seed("002").read_text("utf-8")
    (corpus_copy / "gbk_copy.txt").write_bytes(text.encode("gb18030"))
    engine = SearchEngine(tmp_path / "ix")
    report = engine.index([corpus_copy])
    assert report.added == 6 and not report.skipped
    assert ids(engine.search('"停车难"', collapse=False)) == {"002_1e4085cf6dde9462.txt", "gbk_copy.txt"}
    # The copy is the same article: by default it folds under the other as "1 similar".
    (hit,) = engine.search('"停车难"').hits
    assert hit.similar == 1 and set(hit.similar_ids + [hit.doc_id]) == {"002_1e4085cf6dde9462.txt", "gbk_copy.txt"}


def test_reindex_adds_updates_deletes_and_skips_with_reasons(tmp_path, corpus_copy):
    engine = SearchEngine(tmp_path / "ix")
    first = engine.index([corpus_copy])
    assert (first.added, first.documents) == (5, 5)
    again = engine.index([corpus_copy])
    assert (again.added, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 5)

    (corpus_copy / "002_1e4085cf6dde9462.txt").unlink()
    p = corpus_copy / "004_39cc09a31d753d9a.txt"
    p.write_text(p.read_text("utf-8").replace("加装电梯", "增设电梯"), "utf-8")
    (corpus_copy / "new.jsonl").write_text(
        '{"id": "n1", "title": "新增加装电梯通知", "text": "本街道启动加装电梯。"}\n{bad json}\n', "utf-8"
    )
    (corpus_copy / "broken.txt").write_bytes(b"\x00\x01binary")
    report = engine.index([corpus_copy])
    assert (report.added, report.updated, report.deleted, report.unchanged) == (1, 1, 1, 3)
    reasons = {(Path(s.path).name, s.line): s.reason for s in report.skipped}
    assert ("new.jsonl", 2) in reasons and "binary" in reasons[("broken.txt", None)]
    assert ids(engine.search('"加装电梯"')) == {"000_7c9bfc895c904976.txt", "001_cde9a71d8de4f3a8.txt", "n1"}
    assert engine.stats().documents == 5


def test_stats_describe_the_index(seed_index):
    st = seed_index.stats()
    assert st.documents == 5 and st.size_bytes > 0 and st.last_updated
    assert st.roots and st.roots[0].endswith("corpus") and st.last_run["added"] == 5


def test_or_groups_and_exclusions_match_exactly_the_documents_that_hold_them(tmp_path):
    import random

    from civicsearch.text.tokens import query_terms

    words = ["河道", "路灯", "井盖", "绿化", "停车", "垃圾", "电梯", "噪音"]
    rng = random.Random(5)
    held: dict[str, set[str]] = {}
    rows = []
    for i in range(600):
        chosen = rng.sample(words, rng.randint(1, 4))
        body = "街道关于" + "、".join(chosen) + "问题的处理情况。"
        held[f"d{i}"] = set(chosen) & set(query_terms(body))
        rows.append(json.dumps({"id": f"d{i}", "title": f"第{i}号", "text": body}, ensure_ascii=False))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "docs.jsonl").write_text("\n".join(rows) + "\n", "utf-8")
    with SearchEngine(tmp_path / "ix") as engine:
        engine.index([tmp_path / "c"])
        for _ in range(40):
            a, b, c, d = rng.sample(words, 4)
            for query, wanted in ((f"{a} OR {b} -{c}", lambda h: (a in h or b in h) and c not in h),
                                  (f"{a} OR {b} {c} -{d}", lambda h: (a in h or b in h) and c in h and d not in h),
                                  (f"{a} OR {b} OR {c}", lambda h: bool({a, b, c} & h)),
                                  (f"-{a} -{b}", lambda h: a not in h and b not in h)):
                expected = {doc for doc, h in held.items() if wanted(h)}
                results = engine.search(query, limit=1000)
                assert results.total == len(expected), query
                assert {h.doc_id for h in engine.search(query, limit=1000, collapse=False).hits} == expected, query
        # Deleted documents (a sixth of them, gone from the dump) match nothing, not even "-word".
        kept = [r for r in rows if json.loads(r)["id"] not in {f"d{i}" for i in range(0, 600, 6)}]
        (tmp_path / "c" / "docs.jsonl").write_text("\n".join(kept) + "\n", "utf-8")
        assert engine.index([tmp_path / "c"]).deleted == 100
        held = {doc: h for doc, h in held.items() if int(doc[1:]) % 6}
        for a, b in ((words[0], words[1]), (words[2], words[3])):
            assert {h.doc_id for h in engine.search(f"-{a} -{b}", limit=1000, collapse=False).hits} == {
                doc for doc, h in held.items() if a not in h and b not in h}
            assert {h.doc_id for h in engine.search(f"{a} OR {b} -{words[4]}", limit=1000, collapse=False).hits} == {
                doc for doc, h in held.items() if (a in h or b in h) and words[4] not in h}


def test_document_numbers_combine_with_words_or_and_exclusions(tmp_path):
    rows = [{"id": f"n{i}", "title": f"国办发〔2020〕{i}号", "text": f"国办发〔2020〕{i}号 关于{topic}工作的通知。"}
            for i, topic in enumerate(["疫情防控", "停车管理", "疫情防控", "河道保洁"], 1)]
    rows += [{"id": "p1", "title": "沪府发〔2020〕1号", "text": "沪府发〔2020〕1号 关于停车管理工作的通知。"}]
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "docs.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                                                 "utf-8")
    with SearchEngine(tmp_path / "ix") as engine:
        engine.index([tmp_path / "c"])
        found = lambda q: {h.doc_id for h in engine.search(q, limit=100, collapse=False).hits}  # noqa: E731
        assert found("文号:国办发") == {"n1", "n2", "n3", "n4"}
        assert found("文号:国办发 -疫情防控") == {"n2", "n4"}
        assert found("文号:国办发 停车管理") == {"n2"}
        assert found("文号:沪府发 OR 河道保洁") == {"p1", "n4"}
        assert found("停车管理 -文号:沪府发") == {"n2"}
        assert found("文号:国办发〔2020〕3号") == {"n3"}


def test_date_filters_from_the_column_match_the_indexed_dates_at_every_precision(tmp_path):
    import itertools

    from civicsearch.fields import registry
    from civicsearch.fields.date import date_bounds

    dates = ["2019", "2019-06", "2019-06-15", "2019-06-15 10:20:30", "2019-12-31 23:59:59", "2020-01-01",
             "2020", "2018-12-31", "2020-02-29", None]
    rows = [json.dumps({"id": f"t{i}", "title": f"通知{i}", "text": "关于停车管理的通知。", "date": d},
                       ensure_ascii=False) for i, d in enumerate(dates * 3)]
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "docs.jsonl").write_text("\n".join(rows) + "\n", "utf-8")
    bounds = [None, "2019", "2019-06", "2019-06-15", "2019-12", "2020", "2020-01-01", "2018"]
    with SearchEngine(tmp_path / "ix") as engine:
        engine.index([tmp_path / "c"])
        searcher = engine.backend.storage().searcher
        stored = {d: searcher.stored_fields(d)["id"] for d in range(searcher.doc_count_all())}
        # Each document's date as extracted and stored (its first moment), None where it has none.
        moments = {}
        for d in stored:
            found = (searcher.stored_fields(d).get(registry.STORED_FIELD) or {}).get("date")
            moments[d] = found["value"] if found else None
        assert sum(m is not None for m in moments.values()) == 27
        checked = 0
        for since, until in itertools.product(bounds, bounds):
            start = date_bounds(since, "--since")[0] if since else None
            end = date_bounds(until, "--until")[1] if until else None
            if start and end and start > end:
                continue
            kwargs = {k: v for k, v in (("since", since), ("until", until)) if v}
            got = {h.doc_id for h in engine.search("停车", limit=100, collapse=False, **kwargs).hits}
            # The range over the stored dates, both ends included: the reference.
            expected = ({stored[d] for d, m in moments.items() if m is not None and (start is None or m >= start)
                         and (end is None or m <= end)} if start or end else set(stored.values()))
            assert got == expected, (since, until)
            checked += bool(kwargs)
        assert checked > 30


def test_a_pasted_page_is_cut_to_its_first_words_and_still_finds_its_source(tmp_path):
    from civicsearch.search.query import MAX_QUERY_WORDS, parse

    topics = ["河道保洁", "路灯维修", "垃圾分类", "加装电梯", "停车管理"]
    rows = []
    for i, topic in enumerate(topics):
        body = "".join(f"第{k}条，街道推进{topic}工作，落实第{k * 7 + i}项措施，居民反映良好。" for k in range(80))
        rows.append(json.dumps({"id": f"p{i}", "title": f"{topic}实施细则", "text": body}, ensure_ascii=False))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "docs.jsonl").write_text("\n".join(rows) + "\n", "utf-8")
    pasted = json.loads(rows[3])["text"][:1500]
    parsed = parse(pasted)
    assert parsed.term_count() == MAX_QUERY_WORDS
    assert parsed.notes == [f"the query was cut to its first {MAX_QUERY_WORDS} words"]
    assert pasted.startswith(" ".join(c.text for c in parsed.positive_clauses()).replace(" ", ""))
    with SearchEngine(tmp_path / "ix") as engine:
        engine.index([tmp_path / "c"])
        results = engine.search(pasted)
        assert results.hits[0].doc_id == "p3" and results.notes == parsed.notes


def test_the_did_you_mean_vocabulary_is_the_index_words_and_their_neighbours(seed_index, monkeypatch):
    import gc

    from civicsearch.index import wordlist
    from civicsearch.search import suggest

    storage = seed_index.backend.storage()
    vocabulary = suggest.Vocabulary(storage)
    expected = {w for f in ("title", "body") for w in storage.terms(f)
                if len(w) in wordlist.WORD_SIZES and wordlist.HAN_RUN.fullmatch(w)}
    assert {len(w) for w in expected} == {2, 3, 4} and len(expected) > 500
    assert sorted(vocabulary.words()) == sorted(expected)
    for f in ("title", "body"):  # the longer terms read are those of the bytes asked for, all of them
        _, others = storage.term_parts(f)
        _, chosen = storage.term_parts(f, nbytes=(12, 13))
        assert chosen and sorted(chosen) == sorted(t for t in others if 12 <= len(t.encode()) <= 13)
    assert all(vocabulary.holds(w) for w in expected)
    assert not any(vocabulary.holds(w) for w in ("\u4e00" * 3, "嘉定" + "\u4e00" * 2, "嘉", "a1", "嘉定镇街道"))
    # Each bucket: the words one character away at that position, in code point order.
    for word in sorted(expected)[::37]:
        for i in range(len(word)):
            fits = sorted(w for w in expected if len(w) == len(word) and w[:i] == word[:i] and w[i + 1:] == word[i + 1:])
            assert vocabulary.neighbours(word, i) == fits and word in fits
            assert vocabulary.neighbours(word[:i] + "\u4e00" + word[i + 1:], i) == fits
    assert vocabulary.neighbours("\u4e00" * 5, 0) == []
    # How many documents hold a word: read together, the most of the two fields, remembered.
    asked = sorted(expected)[::11] + ["没有这个词", "嘉定"] + sorted(expected)[:3]
    counts = vocabulary.documents_of(asked)
    assert counts == {w: max(storage.doc_frequency(f, w) for f in ("title", "body")) for w in asked}
    assert counts["没有这个词"] == 0 and max(counts.values()) > 1
    fresh = suggest.Vocabulary(storage)
    assert [fresh.documents(w) for w in asked] == [counts[w] for w in asked]
    fresh._documents.update(dict.fromkeys(asked[:5], 10**9))  # remembered, not read again
    assert fresh.documents(asked[0]) == 10**9
    # Past KNOWN_WORDS it starts again, and still answers every word asked, known before or not.
    monkeypatch.setattr(suggest, "KNOWN_WORDS", 6)
    small = suggest.Vocabulary(storage)
    assert small.documents_of(asked[:5]) == {w: counts[w] for w in asked[:5]}
    words = asked[:3] + asked[5:9]  # three known, four not: seven
    assert small.documents_of(words) == {w: counts[w] for w in words} and set(small._documents) == set(words)
    # Arrays and strings: a long-running searcher's garbage collector has nothing of it to walk.
    assert not gc.is_tracked(vocabulary._long)


def test_a_characters_sound_is_pypinyins_without_importing_it(monkeypatch):
    pytest.importorskip("pypinyin")
    import subprocess
    import sys

    from pypinyin import Style, lazy_pinyin

    from civicsearch.search import suggest

    readings = suggest._readings()
    assert readings is not None and len(readings) > 40000
    chars = [chr(int(k)) for k in readings] + [chr(c) for c in range(0x3400, 0x3500)] + ["a", "7", "〇", "𫐖"]
    sound = suggest._sound.__wrapped__
    assert [sound(c) for c in chars] == [lazy_pinyin(c, style=Style.NORMAL)[0] for c in chars]
    assert sound("绿") == "lv" and sound("中") == "zhong"
    # Its data file not found: pypinyin itself answers.
    monkeypatch.setattr(suggest, "_readings", lambda: None)
    assert [sound(c) for c in ("绿", "中", "a")] == ["lv", "zhong", "a"]
    # A search process that weighs a sound does not import pypinyin.
    code = "import sys; from civicsearch.search import suggest; suggest._sound('加'); print('pypinyin' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
