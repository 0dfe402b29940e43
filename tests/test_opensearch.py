"""The OpenSearch backend without a cluster: the query translation against expected DSL, the
mapping generated from the registry, the documents sent, the runs (full load, nightly
changes, refused documents, retries, a killed run's rerun) and the searches, on an
in-memory stand-in (tests/fake_opensearch.py) whose matching is held to the local backend's.
The live comparison is the contract suite (test_opensearch_contract.py, ``-m opensearch``)."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_opensearch import FakeOpenSearch

from civicsearch import BackendError, IndexVersionError, MassDeletionError, SearchEngine
from civicsearch.backends.opensearch import OpenSearchBackend, backend, dsl, mapping
from civicsearch.cli import cli
from civicsearch.fields import registry
from civicsearch.fields.flags import Column, Date, Keywords
from civicsearch.search.params import DEFAULT
from civicsearch.search.query import parse
from civicsearch.text.normalize import fold_table
from civicsearch.text.tokens import iter_words

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
W = DEFAULT.field_weight
SUB = DEFAULT.subword_weight


def word(w: str, fields: tuple[str, ...] = ("title", "body"), weight: float = 1.0) -> dict:
    """The expected DSL of one word (as a word, and inside longer words)."""
    should = []
    for f in fields:
        should += [{"term": {f"{f}_words": {"value": w, "boost": weight * W[f]}}},
                   {"term": {f"{f}_sub": {"value": w, "boost": weight * W[f] * SUB}}}]
    return {"bool": {"should": should, "minimum_should_match": 1}}


def q(text: str, **given: object) -> dict:
    return dsl.query(parse(text, synonyms=False), dict(given))["bool"]


# -- the translation ---------------------------------------------------------------------


def test_words_are_all_required_with_the_bigrams_beside() -> None:
    out = q("加装电梯 老旧小区")
    assert out["must"] == [word("加装电梯"), word("老旧小区")]
    (grams,) = out["should"]
    assert grams["match"]["body"]["query"] == "加装 装电 电梯 老旧 旧小 小区"
    assert "must_not" not in out and "filter" not in out


def test_a_quoted_phrase_is_a_match_phrase_on_the_words_fields() -> None:
    out = q('"党群服务中心" 活动')
    phrase = out["must"][0]
    assert phrase == word("党群服务中心")  # one word: a term, as the local index matches it
    out = q('"加装电梯 工作"')
    assert out["must"][0] == {"bool": {"should": [
        {"match_phrase": {"title_words": {"query": "加装电梯 工作", "boost": 2.0}}},
        {"match_phrase": {"body_words": {"query": "加装电梯 工作", "boost": 1.0}}}], "minimum_should_match": 1}}


def test_exclusions_or_field_prefixes_and_document_numbers() -> None:
    out = q("电梯 -嘉定 -\"城市 更新\"")
    assert out["must"] == [word("电梯")]
    assert out["must_not"][0] == word("嘉定")
    assert "match_phrase" in json.dumps(out["must_not"][1])
    out = q("加装电梯 OR 加梯 规划")
    assert out["must"][0] == {"bool": {"should": [word("加装电梯"), word("加梯")], "minimum_should_match": 1}}
    assert out["must"][1] == word("规划")
    assert q("标题:规划")["must"] == [word("规划", ("title",))]
    assert q("正文:规划")["must"] == [word("规划", ("body",))]
    assert q("文号:国办发〔2024〕1号")["must"] == [{"term": {"docno": "国办发〔2024〕1号"}}]
    assert q("文号:国办发")["must"] == [{"prefix": {"docno": "国办发"}}]
    assert q("-电梯")["must"] == [{"match_all": {}}]


def test_synonyms_count_a_little_less() -> None:
    concept = dsl.query(parse("加装电梯"), {})["bool"]["must"][0]
    forms = concept["bool"]["should"]
    assert forms[0] == word("加装电梯")
    assert forms[1] == word("加梯", weight=DEFAULT.synonym_weight)


def test_a_long_question_needs_a_share_of_its_words_not_its_question_words() -> None:
    text = "北京市对于因疫情影响暂停举办的展会项目有何支持政策"
    out = dsl.query(parse(text), {})["bool"]
    words, grams = out["should"]
    assert out["minimum_should_match"] == 1
    assert words["bool"]["minimum_should_match"] == f"{round(DEFAULT.coverage * 100)}%"
    sent = json.dumps(words, ensure_ascii=False)
    assert '"value": "展会"' in sent and '"value": "有何"' not in sent  # a question word weighs nothing
    assert grams["match"]["body"]["minimum_should_match"] == f"{round(DEFAULT.gram_coverage * 100)}%"
    assert "有何" not in grams["match"]["body"]["query"].split()
    quoted = dsl.query(parse(text + ' "展会项目"'), {})["bool"]
    assert quoted["must"]  # a quoted phrase is required
    assert "must" not in dsl.query(parse(text + ' "展会项目"'), {}, unquoted=True)["bool"]


def test_relaxed_takes_any_word() -> None:
    out = dsl.query(parse("加装电梯 火星", synonyms=False), {}, relaxed=True)["bool"]
    assert out["must"] == [{"bool": {"should": [word("加装电梯"), word("火星")], "minimum_should_match": 1}}]


def test_filters_are_the_registrys_neutral_filters() -> None:
    given = {"place": "上海", "topic": "城乡建设", "type": "通知", "org": "人民政府", "since": "2023",
             "until": "2023-06", "in_force": True}
    where = dsl.filters(given)
    assert {"term": {"place": "上海"}} in where
    assert {"term": {"topic": "城乡建设"}} in where and {"term": {"doctype": "通知"}} in where
    assert {"term": {"org_terms": "人民政府"}} in where or any("人民政府" in json.dumps(w, ensure_ascii=False)
                                                           for w in where)
    assert {"range": {"date": {"gte": "2023-01-01T00:00:00", "lte": "2023-06-30T23:59:59.999999"}}} in where
    (force,) = [w for w in where if "must_not" in w.get("bool", {})]
    sent = json.dumps(force, ensure_ascii=False)
    for status in ("已废止", "已失效", "尚未生效", "已修改", "valid_until", "valid_from"):
        assert status in sent


def test_the_search_body_asks_for_exact_totals_facets_and_the_date_order() -> None:
    body = dsl.search_body(parse("加装电梯"), {}, size=110, sort="date")
    assert body["track_total_hits"] is True and body["size"] == 110
    assert body["sort"][0] == {"datekey": {"order": "desc", "missing": "_last"}}
    assert set(body["aggs"]) == {f.column for f in dsl.facet_fields()}
    assert body["aggs"]["datekey"]["histogram"]["interval"] == 10**8


def test_facets_come_from_the_fields_own_code() -> None:
    chain = "31:上海市|310114:嘉定区|310114004:嘉定镇街道"
    aggs = {"place_facet": {"buckets": [{"key": chain, "doc_count": 3}], "sum_other_doc_count": 0},
            "datekey": {"buckets": [{"key": 20230600000000, "doc_count": 2}, {"key": 20220100000000, "doc_count": 1}]}}
    facets, cut = dsl.facets(aggs, {})
    local = {}
    for f in dsl.facet_fields():
        counts = {"place_facet": Counter({chain.encode(): 3}),
                  "datekey": Counter({20230600000000: 2, 20220100000000: 1})}.get(f.column, Counter())
        local.update(f.facets(counts, {}))
    assert facets == local and cut == []
    assert [(v.value, v.count) for v in facets["year"]] == [("2023", 2), ("2022", 1)]
    _, cut = dsl.facets({"org_facet": {"buckets": [], "sum_other_doc_count": 5}}, {})
    assert cut == ["org_facet"]


# -- the mapping and the documents --------------------------------------------------------------


def test_the_mapping_is_generated_from_the_registry() -> None:
    body = mapping.template("civic", shards=3, replicas=2)
    assert body["index_patterns"] == ["civic-*"]
    settings, mappings = body["template"]["settings"]["index"], body["template"]["mappings"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == (3, 2)
    assert mappings["dynamic"] == "strict"
    props = mappings["properties"]
    for name, flag in registry.index_fields().items():
        kind = props[name]["type"]
        assert kind == {Keywords: "keyword", Date: "date"}.get(type(flag), kind)
        if isinstance(flag, Column):
            assert kind == ("long" if flag.kind == "int64" else "keyword")
    for f in ("title", "body"):
        assert props[f"{f}_words"]["analyzer"] == "civic_words"
        assert props[f"{f}_words"]["similarity"] == f"civic_{f}"
    sims = settings["similarity"]
    assert sims["civic_title"]["b"] == DEFAULT.b["title"] and sims["civic_body"]["k1"] == DEFAULT.k1


def test_the_character_mapping_is_the_fold_table() -> None:
    rules = mapping.fold_mappings()
    decoded = {}
    for rule in rules:
        source, target = rule.split("=>")
        unescape = lambda s: s.encode("ascii").decode("unicode_escape").encode("utf-16", "surrogatepass").decode("utf-16")  # noqa: E731
        decoded[ord(unescape(source))] = unescape(target)
    assert decoded == fold_table()


def test_a_documents_words_keep_civicsearchs_positions() -> None:
    text = "党群服务中心加装电梯，國辦發〔2024〕1号 ABC"
    words, subs = mapping.split_words(text)
    precise = [w for w, _, _, _ in iter_words(text)]
    assert words.split() == precise  # one token a position: quoted phrases match as locally
    every = Counter(w for w, _, _, _ in iter_words(text, subwords=True))
    assert Counter(words.split()) + Counter(subs.split()) == every


def test_a_source_round_trips_its_stored_values() -> None:
    when = datetime(2023, 6, 1, 8, 30)
    fields = {"id": "a", "path": "p", "title": "t", "body": "加装电梯", "hash": "h", "sketch": b"\x01\x02",
              "grams": "加装电梯", registry.STORED_FIELD: {"date": {"value": when, "precision": "day"}},
              "datekey": 20230601083000, "date": when, "topic": "城乡建设,住房", "place_facet": "31:上海市".encode()}
    src = json.loads(mapping.dumps(mapping.source(fields)))
    assert "grams" not in src and src["topic"] == ["城乡建设", "住房"] and src["date"] == "2023-06-01T08:30:00"
    assert src["place_facet"] == "31:上海市" and src["body_words"] == "加装电梯"
    back = mapping.stored(src)
    assert back[registry.STORED_FIELD]["date"]["value"] == when and back["sketch"] == b"\x01\x02"
    assert mapping.column_value("datekey", 20230601083000.0) == 20230601083000
    assert mapping.column_value("place_facet", "31:上海市") == "31:上海市".encode()


# -- runs and searches on the stand-in --------------------------------------------------------


@pytest.fixture
def cluster(tmp_path: Path) -> tuple[FakeOpenSearch, SearchEngine, Path]:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    fake = FakeOpenSearch()
    engine = SearchEngine(backend=OpenSearchBackend("http://os:9200", "civic", tmp_path / "state", client=fake))
    yield fake, engine, corpus
    engine.close()


def bulk_actions(fake: FakeOpenSearch) -> list[tuple[str, dict]]:
    out = []
    for call in fake.sent("bulk"):
        for line in call["body"].strip().split("\n"):
            item = json.loads(line)
            if len(item) == 1 and next(iter(item)) in ("index", "delete"):
                out.append(next(iter(item.items())))
    return out


def test_a_full_load_fills_a_dated_index_then_moves_the_alias(cluster) -> None:
    fake, engine, corpus = cluster
    report = engine.index([corpus])
    assert (report.added, report.documents, report.skipped) == (5, 5, [])
    (template,) = fake.sent("indices.put_index_template")
    assert template["body"] == mapping.template("civic")
    (created,) = fake.sent("indices.create")
    assert re.fullmatch(r"civic-\d{20}", created["index"]) and created["body"] == backend.loading_settings()
    actions = bulk_actions(fake)
    assert [op for op, _ in actions] == ["index"] * 5
    assert all(a["version_type"] == "external" and a["_index"] == created["index"] for _, a in actions)
    assert fake.sent("indices.put_settings")[0]["body"] == backend.serving_settings(1)
    assert fake.sent("indices.update_aliases")[0]["body"] == backend.alias_swap("civic", created["index"], [])
    assert engine.exists() and engine.stats().documents == 5


def test_a_nightly_run_sends_only_what_changed(cluster) -> None:
    fake, engine, corpus = cluster
    engine.index([corpus])
    first_version = bulk_actions(fake)[0][1]["version"]
    fake.calls.clear()
    again = engine.index([corpus])
    assert (again.added, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 5)
    assert fake.sent("bulk") == [] and fake.sent("indices.create") == []
    files = sorted(corpus.iterdir())
    files[0].write_text(files[0].read_text("utf-8") + "\n补充：丹顶鹤保护工作会议召开。", "utf-8")
    files[1].unlink()
    report = engine.index([corpus])
    assert (report.updated, report.deleted, report.documents) == (1, 1, 4)
    ops = bulk_actions(fake)
    assert sorted(op for op, _ in ops) == ["delete", "index"]
    assert all(a["version"] > first_version for _, a in ops)  # a rerun never loses to an older run
    assert engine.search("丹顶鹤").total == 1


def test_an_emptied_root_is_refused_and_nothing_is_sent(cluster) -> None:
    fake, engine, corpus = cluster
    engine.index([corpus])
    fake.calls.clear()
    for f in corpus.iterdir():
        f.unlink()
    with pytest.raises(MassDeletionError):
        engine.index([corpus])
    assert fake.sent("bulk") == [] and engine.stats().documents == 5


def test_a_document_the_cluster_refuses_is_kept_out_and_read_again_next_run(cluster) -> None:
    fake, engine, corpus = cluster
    victim = sorted(corpus.iterdir())[2]
    fake.refuse[victim.name] = {"type": "mapper_parsing_exception", "reason": "failed to parse field [x]"}
    report = engine.index([corpus])
    assert report.added == 4 and report.documents == 4
    (kept,) = report.skipped
    assert kept.path.endswith(victim.name) and "failed to parse field [x]" in kept.reason
    fake.refuse.clear()
    again = engine.index([corpus])
    assert again.added == 1 and again.skipped == [] and again.documents == 5


def test_busy_answers_are_retried(cluster, monkeypatch) -> None:
    fake, engine, corpus = cluster
    import opensearchpy.helpers.actions as actions

    monkeypatch.setattr(actions.time, "sleep", lambda s: None)
    fake.busy = 3
    report = engine.index([corpus])
    assert report.added == 5 and report.skipped == [] and len(fake.sent("bulk")) == 2


def test_a_full_reload_swaps_the_alias_and_the_next_run_drops_the_old_index(cluster) -> None:
    fake, engine, corpus = cluster
    engine.index([corpus])
    old = fake.sent("indices.create")[0]["index"]
    engine.index([corpus], full=True)
    new = fake.sent("indices.create")[1]["index"]
    assert fake.sent("indices.update_aliases")[1]["body"] == backend.alias_swap("civic", new, [old])
    assert old in fake.indices_
    engine.index([corpus])
    assert old not in fake.indices_ and new in fake.indices_


def test_an_index_loaded_by_another_version_asks_for_a_full_load(cluster) -> None:
    fake, engine, corpus = cluster
    engine.index([corpus])
    (index,) = fake.aliases["civic"]
    fake.indices_[index]["mappings"] = dict(fake.indices_[index]["mappings"], _meta={})
    with pytest.raises(IndexVersionError, match="full=True"):
        engine.index([corpus])


QUERIES = [("加装电梯", {}), ("嘉定", {}), ('"党群服务中心"', {}), ("电梯 -嘉定", {}), ("加装电梯 OR 城市更新", {}),
           ("标题:嘉定", {}), ("嘉定", {"place": "嘉定区"}), ("嘉定", {"since": "2023"}), ("嘉定", {"in_force": True}),
           ("嘉定 火星人", {}), ("-电梯", {})]


@pytest.mark.parametrize("text,given", QUERIES)
def test_searches_match_what_the_local_backend_matches(cluster, seed_index, text, given) -> None:
    fake, engine, corpus = cluster
    engine.index([corpus])
    here, there = seed_index.search(text, **given), engine.search(text, **given)
    assert there.total == here.total and there.relaxed == here.relaxed
    assert {h.id for h in there.hits} == {h.id for h in here.hits}
    assert there.facets == here.facets
    by_id = {h.id: h for h in there.hits}
    for h in here.hits:  # snippets and highlights from civicsearch's own analysis: the same
        assert (by_id[h.id].snippet, by_id[h.id].highlights) == (h.snippet, h.highlights)
        assert by_id[h.id].fields == h.fields
    canonical = registry.canonical_filters(registry.check_filters(given), engine.backend)
    sent = [c for c in fake.sent("search") if "aggs" in c["body"]]
    assert sent[-1]["body"] == dsl.search_body(parse(text), canonical, size=110, relaxed=here.relaxed)
    assert sent[-1]["params"] == {"search_type": "dfs_query_then_fetch"}  # the whole index's idf on every shard


def test_show_and_a_bad_filter_value(cluster) -> None:
    fake, engine, corpus = cluster
    engine.index([corpus])
    doc = engine.get("000")
    assert doc.title.startswith("陆方舟") and doc.body
    with pytest.raises(Exception, match="ambiguous"):
        engine.get("00")
    with pytest.raises(Exception, match="names none of the places"):
        engine.search("嘉定", place="火星")


def test_an_unreachable_cluster_is_one_line_and_exit_2(tmp_path: Path) -> None:
    fake = FakeOpenSearch()
    fake.down = True
    engine = SearchEngine(backend=OpenSearchBackend("http://os:9200", "civic", tmp_path, client=fake))
    with pytest.raises(BackendError, match="cannot reach the OpenSearch cluster at http://os:9200 .*refused"):
        engine.search("加装电梯")
    result = CliRunner().invoke(cli, ["--backend", "opensearch", "--url", "http://127.0.0.1:9", "stats"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: cannot reach the OpenSearch cluster at http://127.0.0.1:9")
    assert "Traceback" not in result.output


# -- the dry runs ---------------------------------------------------------------------------


def test_dry_runs_print_what_would_be_sent(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--index-name", "civic2", "opensearch", "template", "--replicas", "0"])
    assert result.exit_code == 0 and json.loads(result.output) == mapping.template("civic2", replicas=0)
    result = runner.invoke(cli, ["opensearch", "query", "加装电梯", "-嘉定", "--place", "上海", "--sort", "date"])
    assert result.exit_code == 0
    assert json.loads(result.output) == backend.search_request("加装电梯 -嘉定", place="上海", sort="date")
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "broken.md").write_bytes(b"---\ntitle: [unclosed\n---\n\xff\xfe")
    result = runner.invoke(cli, ["opensearch", "bulk", str(corpus), "--into", "civic-1"])
    lines = result.stdout.strip().split("\n")
    assert len(lines) == 10 and result.exit_code == 1
    assert all(json.loads(a)["index"]["_index"] == "civic-1" for a in lines[0::2])
    assert all(json.loads(s)["body_words"] for s in lines[1::2])
    assert "broken.md" in result.stderr and "Traceback" not in result.stderr


def test_the_server_and_saved_searches_work_over_the_cluster(cluster, seed_index) -> None:
    from fastapi.testclient import TestClient

    from civicsearch.web import create_app

    fake, engine, corpus = cluster
    engine.index([corpus])
    with TestClient(create_app(engine=engine)) as client:
        got = client.get("/api/search", params={"q": "加装电梯", "place": "嘉定区"}).json()
        here = seed_index.search("加装电梯", place="嘉定区").to_dict()
        assert got["total"] == here["total"] and got["facets"] == here["facets"]
        assert client.get("/healthz").json()["documents"] == 5
        assert client.get("/api/search", params={"q": "嘉定", "place": "火星"}).status_code == 400
        fake.down = True
        assert client.get("/api/search", params={"q": "嘉定"}).status_code == 503
    fake.down = False
    ids = [h.id for h in seed_index.search("嘉定", limit=50).hits]
    assert engine.matching("嘉定", ids + ["nope"]) == sorted(ids)


def test_a_killed_load_leaves_nothing_the_next_load_keeps(cluster, monkeypatch) -> None:
    fake, engine, corpus = cluster
    fake.indices_["civic-archive"] = {"mappings": {"properties": {}}, "docs": {}, "settings": {}}  # not ours
    real = engine.backend.publish
    monkeypatch.setattr(engine.backend, "publish", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        engine.index([corpus])
    assert not engine.exists() and sorted(fake.indices_) == ["civic-archive"]  # the half load went
    fake.indices_["civic-20260101000000000000"] = {"mappings": {"properties": {}}, "docs": {}, "settings": {}}
    monkeypatch.setattr(engine.backend, "publish", real)
    assert engine.index([corpus]).documents == 5
    assert "civic-20260101000000000000" not in fake.indices_ and "civic-archive" in fake.indices_


@pytest.mark.parametrize("text", ['"加装电梯 工作"', "嘉定 街道 2023", '"党群服务中心"', "服务中心 -电梯", "ABC 加梯"])
def test_a_hits_spans_come_from_its_runs_that_hold_the_words(text: str) -> None:
    from civicsearch.search.query import synonym_clauses
    from civicsearch.search.snippets import match_spans

    parsed = parse(text)
    clauses = parsed.positive_clauses() + synonym_clauses(parsed)
    bodies = [f.read_text("utf-8") for f in sorted(CORPUS.iterdir())]
    bodies.append("加装电梯，工作推进。嘉定镇街道党群服务中心abc加梯2023年；加装电梯　工作")
    for body in bodies:
        every: dict = {}
        for term, pos, start, end in iter_words(body, subwords=True):
            every.setdefault(term, []).append((pos, start, end))
        whole = match_spans(0, clauses, lambda f, t, d: every.get(t, []))
        fast = match_spans(0, clauses, backend.occurrences(body, {t for c in clauses for t in c.terms}))
        assert fast == whole
    assert whole  # the last body holds every form
