"""Hostile input and faults: nothing lost, nothing blown up, nothing wedged.

Each test names the kind of input or fault it covers; the files are made here,
with other contents than the examples in the docs, so that a fix for the kind
is tested rather than a fix for one file.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import SEEDS
from whoosh.filedb.structfile import StructFile

from civicsearch import SearchEngine
from civicsearch.cli import cli
from civicsearch.errors import CivicSearchError, IndexWriteError
from civicsearch.index import budget, indexer, store
from civicsearch.ingest import cleaning
from civicsearch.ingest.readers import html_to_text


def reindex(index: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != indexer.CRASH_ENV}
    return subprocess.run([sys.executable, "-m", "civicsearch", "--index", str(index), "reindex", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def skipped(result: subprocess.CompletedProcess) -> dict[tuple[str, int | None], str]:
    return {(Path(s["path"]).name, s["line"]): s["reason"] for s in json.loads(result.stdout)["skipped"]}


def ids(engine: SearchEngine) -> set[str]:
    """Every document id in the index."""
    return {fields["id"] for fields in engine.backend.storage().reader.all_stored_fields()}


def write_jsonl(path: Path, rows: list[dict], ensure_ascii: bool = False) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=ensure_ascii) + "\n")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "good.md").write_text("---\ntitle: 社区议事会召开\n---\n社区议事会讨论了停车难问题。\n", "utf-8")
    return folder


# -- bounded by design -------------------------------------------------------------


def test_yaml_aliases_and_oversized_front_matter_are_refused_and_the_run_goes_on(tmp_path, corpus):
    levels = ["a: &a [x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        levels.append(f"{name}: &{name} [{', '.join(['*' + prev] * 8)}]")
    (corpus / "bomb.md").write_text("---\n" + "\n".join(levels) + "\ntitle: *i\n---\n正文。\n", "utf-8")
    (corpus / "anchor.md").write_text("---\nbase: &b 嘉定\nplace: *b\n---\n一个锚点。\n", "utf-8")
    (corpus / "long.md").write_text("---\ntitle: 长\nnote: " + "很" * 70_000 + "\n---\n正文。\n", "utf-8")
    result = reindex(tmp_path / "ix", str(corpus), "--json")
    assert result.returncode == 1, result.stderr
    reasons = skipped(result)
    assert "aliases are not allowed" in reasons[("bomb.md", None)]
    assert "aliases are not allowed" in reasons[("anchor.md", None)]
    assert "front matter longer than 65,536 characters" in reasons[("long.md", None)]
    assert json.loads(result.stdout)["added"] == 1


def test_the_size_limit_is_per_document_and_a_big_dump_is_read_as_a_stream(tmp_path, corpus):
    rows = [{"id": f"small{i}", "text": f"第{i}条：小区停车位改造。"} for i in range(200)]
    rows.insert(50, {"id": "huge", "text": "大" * 2_000})
    write_jsonl(corpus / "dump.jsonl", rows)  # about 12 KB: over the limit as a whole
    with gzip.open(corpus / "dump2.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": "gz-huge", "text": "长" * 5_000}, ensure_ascii=False) + "\n")
        f.write(json.dumps({"id": "gz-small", "text": "压缩文件里的小记录。"}, ensure_ascii=False) + "\n")
    result = reindex(tmp_path / "ix", str(corpus), "--json", "--max-size", "0.005")
    reasons = skipped(result)
    assert reasons == {("dump.jsonl", 51): "record larger than the 0.005 MB limit",
                       ("dump2.jsonl.gz", 1): "record larger than the 0.005 MB limit"}
    with SearchEngine(tmp_path / "ix") as engine:
        found = ids(engine)
    assert {"small0", "small199", "gz-small", "good.md"} <= found and not {"huge", "gz-huge"} & found


def test_a_decompression_bomb_keeps_the_lines_before_it(tmp_path, corpus):
    with gzip.open(corpus / "bomb.jsonl.gz", "wb") as f:
        f.write(json.dumps({"id": "before", "text": "炸弹之前的记录。"}, ensure_ascii=False).encode() + b"\n")
        for _ in range(40):
            f.write(b" \n" * 500_000)  # 40 MB of blank lines from some 40 KB
    result = reindex(tmp_path / "ix", str(corpus), "--json")
    assert "decompression bomb" in skipped(result)[("bomb.jsonl.gz", None)]
    with SearchEngine(tmp_path / "ix") as engine:
        assert "before" in ids(engine)


# -- one guard at the document boundary ----------------------------------------------


def test_crashing_inputs_of_every_kind_are_skipped_or_lose_only_their_bad_value(tmp_path, corpus):
    good = gzip.compress("".join(json.dumps({"id": f"z{i}", "text": f"第{i}号：垃圾分类。"}, ensure_ascii=False) + "\n"
                                 for i in range(3000)).encode())
    bad = bytearray(good)
    for k in range(len(bad) // 2, len(bad) // 2 + 40):
        bad[k] ^= 0x5A
    (corpus / "corrupt.jsonl.gz").write_bytes(bytes(bad))
    other = gzip.compress("".join(json.dumps({"id": f"t{i}", "text": f"第{i}号：停车。"}, ensure_ascii=False) + "\n"
                                  for i in range(3000)).encode())
    (corpus / "truncated.jsonl.gz").write_bytes(other[: len(other) // 3])
    (corpus / "date-impossible.md").write_text("---\ntitle: 不可能的日期\ndate: 9999-99-99\n---\n正文一。\n", "utf-8")
    (corpus / "date-year1.md").write_text("---\ntitle: 公元一年\ndate: 0001-01-01T00:00:00+08:00\n---\n正文二。\n", "utf-8")
    (corpus / "date-9999.md").write_text("---\ntitle: 九九九九\ndate: 9999-12-31T23:59:59-10:00\n---\n正文三。\n", "utf-8")
    write_jsonl(corpus / "dates.jsonl", [
        {"id": "j-year1", "date": "0001-01-01T00:00:00+08:00", "text": "记录甲。"},
        {"id": "j-9999", "date": "9999-12-31T23:59:59-10:00", "text": "记录乙。"},
        {"id": "j-feb30", "date": "2023-02-30", "text": "记录丙。"},
        {"id": "j-surrogate", "title": "截断的\ud83d表情", "text": "文本\udc00里有孤立代理。"},
    ], ensure_ascii=True)
    os.makedirs(corpus / "names", exist_ok=True)
    with open(os.path.join(os.fsencode(corpus / "names"), b"\xff\xfe-bad.txt"), "w", encoding="utf-8") as f:
        f.write("文件名不是 UTF-8 的通知：关于电动车充电桩。")
    result = reindex(tmp_path / "ix", str(corpus), "--json")
    assert result.returncode == 1, result.stderr  # inputs were skipped, the rest went in
    reasons = skipped(result)
    assert set(reasons) == {("corrupt.jsonl.gz", None), ("truncated.jsonl.gz", None)}, reasons
    with SearchEngine(tmp_path / "ix") as engine:
        found = ids(engine)
        assert {"date-impossible.md", "date-year1.md", "date-9999.md", "j-year1", "j-9999", "j-feb30"} <= found
        assert engine.get("date-impossible.md").date is None and engine.get("j-feb30").date is None
        assert engine.get("j-surrogate").title == "截断的\ufffd表情"
        assert "names/\\xff\\xfe-bad.txt" in found
        assert engine.search("充电桩").hits[0].doc_id == "names/\\xff\\xfe-bad.txt"
        assert {"z0", "z1", "t0", "t1"} <= found  # the lines before the corruption
        assert 0 < len({d for d in found if d.startswith("z")}) < 3000


def test_values_of_the_wrong_json_type_cost_only_themselves(tmp_path, corpus):
    long_id = "编号" * 600
    write_jsonl(corpus / "typed.jsonl", [
        {"id": "k-list-title", "title": ["列表", "标题"], "text": "河道保洁的安排。"},
        {"id": "k-odd-values", "title": False, "place": {"区": "东区"}, "source": [1, 2], "url": {"u": 1},
         "topic": [{"a": 1}, "水务"], "text": "河道保洁的第二份安排。"},
        {"id": {"n": 1}, "text": "对象做编号。"},
        {"id": True, "text": "布尔做编号。"},
        {"id": 7, "text": "数字做编号：河道保洁。"},
        {"id": long_id, "text": "很长的编号。"},
        {"id": "k-number-text", "text": 12345},
        {"id": "k-list-text", "text": ["河道"]},
    ])
    (corpus / "typed.md").write_text("---\ntitle: [甲, 乙]\nplace: {区: 东区}\nsource: true\n---\n"
                                      "河道保洁的第三份安排。\n", "utf-8")
    (corpus / "dated.md").write_text("---\ntitle: 2023-01-01\n---\n河道保洁的第四份安排。\n", "utf-8")
    result = reindex(tmp_path / "ix", str(corpus), "--json")
    assert result.returncode == 1, result.stderr
    reasons = skipped(result)
    assert reasons == {
        ("typed.jsonl", 3): "record's id is an object, not a string",
        ("typed.jsonl", 4): "record's id is true or false, not a string",
        ("typed.jsonl", 6): "record's id is longer than 1,000 characters",
        ("typed.jsonl", 7): "record's text is a number, not a string",
        ("typed.jsonl", 8): "record's text is a list, not a string",
    }, reasons
    with SearchEngine(tmp_path / "ix") as engine:
        assert {"k-list-title", "k-odd-values", "7"} <= ids(engine)
        assert engine.get("dated.md").title == "2023-01-01"  # YAML's date, as typed
        for doc_id in ("k-list-title", "k-odd-values", "typed.md"):
            doc = engine.get(doc_id)
            # The bad value is dropped (the title is then picked from the text), never shown as Python.
            assert doc.title.startswith("河道保洁") and "[" not in doc.title and "False" not in doc.title
        doc = engine.get("k-odd-values")
        assert doc.place is None and doc.source is None and doc.url is None and "水务" in doc.topics
        assert not any("{" in t for t in doc.topics)
        assert engine.get("typed.md").place is None and engine.get("typed.md").source is None


def test_a_place_given_with_separators_stays_one_facet_value(tmp_path, corpus):
    write_jsonl(corpus / "placed.jsonl", [{"id": "pl1", "place": "东区:北片|南", "text": "北片的防汛安排。"}])
    CliRunner().invoke(cli, ["--index", str(tmp_path / "ix"), "index", str(corpus)])
    with SearchEngine(tmp_path / "ix") as engine:
        facet = engine.search("防汛").facets["place"]
        assert [(v.label, v.count) for v in facet] == [("东区：北片｜南", 1)]
        assert [h.doc_id for h in engine.search("防汛", place=facet[0].value).hits] == ["pl1"]
        assert [h.doc_id for h in engine.search("防汛", place="东区:北片|南").hits] == ["pl1"]


def test_line_breaks_and_huge_values_stay_on_one_line_in_the_terminal(tmp_path, corpus):
    (corpus / "name\nwith\nbreaks.txt").write_text("文件名里有换行：关于路灯维修。", "utf-8")
    write_jsonl(corpus / "long.jsonl", [{"id": "huge", "title": "路灯" * 200_000, "text": "路灯维修的安排。"}])
    ix = str(tmp_path / "ix")
    CliRunner().invoke(cli, ["--index", ix, "index", str(corpus)])
    out = CliRunner().invoke(cli, ["--index", ix, "search", "路灯维修"]).output
    assert "name\\nwith\\nbreaks.txt" in out
    assert max(len(line) for line in out.splitlines()) < 400, "a value was printed whole"
    assert "路灯路灯…" in out
    result = CliRunner().invoke(cli, ["--index", ix, "search", "路灯维修", "--json"])
    titles = {h["id"]: h["title"] for h in json.loads(result.output)["hits"]}
    assert titles["huge"] == "路灯" * 200_000  # whole in JSON


def test_a_word_repeated_a_million_times_reads_a_bounded_share_for_its_snippet(tmp_path, corpus, monkeypatch):
    from civicsearch.index import storage as storage_module
    from civicsearch.search import snippets
    monkeypatch.setattr(snippets, "MAX_SPANS", 5)
    monkeypatch.setattr(snippets, "READ_SPANS", 6)
    (corpus / "repeats.txt").write_text("路灯巡查记录\n" + "今天巡查路灯，" * 40 + "发现路灯损坏。", "utf-8")
    write_jsonl(corpus / "one.jsonl", [{"id": "once", "text": "今天巡查了一次路灯，发现损坏已报修。"}])
    CliRunner().invoke(cli, ["--index", str(tmp_path / "ix"), "index", str(corpus)])
    read: list[int | None] = []
    characters = storage_module.read_characters

    def spy(reader, fieldname, terms, docs, texts, limit=None):
        found = characters(reader, fieldname, terms, docs, texts, limit)
        read.extend(max(map(len, each.values()), default=0) for each in found.values())
        return found

    monkeypatch.setattr(storage_module, "read_characters", spy)
    with SearchEngine(tmp_path / "ix") as engine:
        hits = {h.doc_id: h for h in engine.search("巡查 路灯").hits}
    assert read and max(read) <= 6, read  # not the 41 occurrences of 路灯
    repeats = hits["repeats.txt"]
    marked = "".join(repeats.snippet[s:e] for s, e in repeats.highlights)
    assert marked.startswith("巡查路灯") and set(marked) == set("巡查路灯")
    assert {hits["once"].snippet[s:e] for s, e in hits["once"].highlights} == {"巡查", "路灯"}


def test_snippet_spans_stop_where_a_cut_word_list_stops(monkeypatch):
    from civicsearch.search import snippets
    from civicsearch.search.query import Clause
    monkeypatch.setattr(snippets, "MAX_SPANS", 3)
    many = [(i, 10 * i, 10 * i + 2) for i in range(10)]  # 甲 at characters 0, 10, … 90
    late = [(100, 55, 57), (101, 95, 97)]  # 乙 at 55 and 95

    def occurrences(fieldname, term, docnum):
        return {"甲": many, "乙": late}[term]

    spans = snippets.match_spans(0, [Clause("甲 乙", ["甲", "乙"])], occurrences)
    # 甲's list is cut after its third occurrence (at 20): past that, 乙 would stand without it.
    assert spans == [(0, 2, "甲"), (10, 12, "甲"), (20, 22, "甲")]


def test_an_error_nobody_foresaw_costs_only_its_document(tmp_path, corpus, monkeypatch):
    (corpus / "victim.txt").write_text("受害者文档：社区食堂开业。", "utf-8")
    real = cleaning.clean

    def broken(text: str) -> Any:
        if "受害者" in text:
            raise KeyError("nobody saw this coming")
        return real(text)

    monkeypatch.setattr("civicsearch.ingest.documents.clean", broken)
    report = SearchEngine(tmp_path / "ix").index([corpus])
    (skip,) = report.skipped
    assert Path(skip.path).name == "victim.txt" and skip.reason == "cannot index (KeyError: 'nobody saw this coming')"
    assert report.added == 1


def _warmed(tmp_path: Path, corpus: Path) -> None:
    """Index ``corpus`` once aside: the lexicons and automata a process loads at its first
    document (a few tenths of a second) are loaded before a test shrinks the budget."""
    with SearchEngine(tmp_path / "warm") as engine:
        engine.index([corpus])


def test_a_document_over_its_time_budget_is_skipped(tmp_path, corpus, monkeypatch):
    _warmed(tmp_path, corpus)
    (corpus / "slow.txt").write_text("慢文档：需要很久。", "utf-8")
    real = cleaning.clean

    def slow(text: str) -> Any:
        if "慢文档" in text:
            while True:
                time.sleep(0.01)
        return real(text)

    monkeypatch.setattr("civicsearch.ingest.documents.clean", slow)
    monkeypatch.setattr(budget, "BASE_SECONDS", 0.3)
    report = SearchEngine(tmp_path / "ix").index([corpus])
    (skip,) = report.skipped
    assert Path(skip.path).name == "slow.txt" and "budget" in skip.reason and report.added == 1


@pytest.mark.parametrize("procs", [1, 2])
def test_a_documents_budget_covers_both_its_stages(tmp_path, corpus, monkeypatch, procs):
    # A batch is read a stage at a time (the document, then its fields): the budget is the
    # record's, whatever stage spends it, in a build's worker processes too.
    _warmed(tmp_path, corpus)
    (corpus / "slow.txt").write_text("慢文档：需要很久。", "utf-8")
    real_clean, real_fields = cleaning.clean, indexer.to_fields

    def slow_clean(text: str) -> Any:
        if "慢文档" in text:
            time.sleep(0.2)
        return real_clean(text)

    def slow_fields(doc: Any, raw_hash: str) -> Any:
        if "慢文档" in doc.title + doc.body:
            time.sleep(0.2)
        return real_fields(doc, raw_hash)

    monkeypatch.setattr("civicsearch.ingest.documents.clean", slow_clean)
    monkeypatch.setattr(indexer, "to_fields", slow_fields)
    monkeypatch.setattr(budget, "BASE_SECONDS", 0.3)
    monkeypatch.setattr(indexer, "PARALLEL_MIN_BYTES", 0)
    with SearchEngine(tmp_path / "ix") as engine:
        report = engine.index([corpus], procs=procs)
        assert engine.stats().documents == 1
    (skip,) = report.skipped
    assert Path(skip.path).name == "slow.txt" and "0 s budget" in skip.reason and report.added == 1


def test_a_failed_run_exits_2_with_one_line(tmp_path, corpus, monkeypatch):
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the run broke")

    monkeypatch.setattr(indexer, "_run", boom)
    result = CliRunner().invoke(cli, ["--index", str(tmp_path / "ix"), "reindex", str(corpus)])
    assert result.exit_code == 2
    assert result.output == "Error: unexpected RuntimeError: the run broke\n"


def test_a_run_that_skips_every_document_leaves_an_empty_index_that_answers(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.md").write_text("   \n", "utf-8")
    index = tmp_path / "ix"
    result = CliRunner().invoke(cli, ["--index", str(index), "index", str(corpus)])
    assert result.exit_code == 1 and "0 added" in result.output and "empty file" in result.output
    for query in ("加装电梯", "佳装电梯", '"加装电梯"', "关于请求为A7县公安局治安巡防队解决待遇问题的建议"):
        result = CliRunner().invoke(cli, ["--index", str(index), "search", query])
        assert result.exit_code == 0 and result.output.startswith(f"0 documents match '{query}'"), result.output
    with SearchEngine(index) as engine:
        assert engine.stats().documents == 0
        found = engine.search("加装电梯", sort="date")
        assert found.total == 0 and not found.hits
    (corpus / "good.md").write_text("---\ntitle: 加装电梯\n---\n老旧小区加装电梯工作推进。\n", "utf-8")
    with SearchEngine(index) as engine:
        report = engine.index([corpus])
        assert report.added == 1 and engine.search("加装电梯").total == 1
    assert list(index.glob("gen-*/words-*.arr"))  # the did-you-mean's words, once there are some


# -- nothing silently lost -------------------------------------------------------------


def test_jsonl_splits_on_newline_only_and_a_bad_byte_costs_one_line(tmp_path, corpus):
    lines = [json.dumps({"id": f"m{i}", "text": f"第{i}条意见：路灯不亮。"}, ensure_ascii=False).encode()
             for i in range(1500)]
    lines[3] = json.dumps({"id": "sep", "text": "第一段\u2028第二段\u0085第三段\u2029第四段：井盖缺失。"},
                          ensure_ascii=False).encode()
    lines[10] = lines[10].replace("路灯".encode(), b"\xc3\x28")
    lines[12] = b'{"id": "broken", "text": '
    (corpus / "messages.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    result = reindex(tmp_path / "ix", str(corpus), "--json")
    reasons = skipped(result)
    assert set(reasons) == {("messages.jsonl", 11), ("messages.jsonl", 13)}, reasons
    assert "undecodable" in reasons[("messages.jsonl", 11)] and "malformed JSON" in reasons[("messages.jsonl", 13)]
    with SearchEngine(tmp_path / "ix") as engine:
        assert engine.stats().documents == 1 + 1498
        assert engine.get("sep").line == 4 and engine.get("m1499").line == 1500
        assert engine.search("井盖缺失").hits[0].doc_id == "sep"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "gb18030"])
def test_a_dump_in_another_encoding_with_crlf_lines_is_read_line_by_line(tmp_path, corpus, encoding):
    rows = [{"id": f"e{i}", "text": f"第{i}条来信：垃圾清运\u2028不及时。"} for i in range(3)]
    text = "\r\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\r\n"
    (corpus / "dump.jsonl").write_bytes(text.encode(encoding, "replace"))
    with SearchEngine(tmp_path / "ix") as engine:
        report = engine.index([corpus])
        assert not report.skipped and report.added == 4
        assert engine.get("e2").line == 3 and engine.search("垃圾清运").total == 3


NOTICE = ["关于开展电动自行车安全检查的通知", "各居委会", "请于本周五前完成辖区自查", "检查结果报街道平安办",
          "安亭镇人民政府", "2023年6月12日"]


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_a_notice_of_short_lines_is_indexed_whole(tmp_path, corpus, encoding):
    (corpus / "notice.txt").write_bytes("\n".join(NOTICE).encode(encoding))
    with SearchEngine(tmp_path / "ix") as engine:
        engine.index([corpus])
        doc = engine.get("notice.txt")
        assert doc.title == NOTICE[0] and "平安办" in doc.body and "各居委会" in doc.body
        assert engine.search("平安办").hits[0].doc_id == "notice.txt"


def test_cleaning_that_would_empty_a_document_keeps_it_as_read(tmp_path, corpus):
    ads = [f"加装电梯咨询热线 1391234{i:04d}" for i in range(12)]
    (corpus / "hotlines.txt").write_text("\n".join(ads), "utf-8")
    with SearchEngine(tmp_path / "ix") as engine:
        report = engine.index([corpus])
        assert report.uncleaned == 1 and not report.skipped
        assert "13912340011" in engine.get("hotlines.txt").body


def test_a_flattened_disclosure_header_keeps_the_body(tmp_path, corpus):
    write_jsonl(corpus / "flat.jsonl", [{"id": "flat", "text": (
        "索引号：0012-2023-00045 发布机构：安亭镇人民政府 发文日期：2023年06月12日 主题分类：城乡建设 "
        "为推进美丽乡村建设，镇政府召开专题会议，研究村道硬化和河道整治工作。会议要求各村抓紧落实。")}])
    with SearchEngine(tmp_path / "ix") as engine:
        engine.index([corpus])
        doc = engine.get("flat")
        assert doc.body.startswith("为推进美丽乡村建设") and doc.meta["主题分类"] == "城乡建设"
        assert doc.date == "2023-06-12" and doc.meta["发布机构"] == "安亭镇人民政府"
        assert engine.search("河道整治").hits[0].doc_id == "flat"


def test_documents_with_no_text_are_reported(tmp_path, corpus):
    (corpus / "tags.html").write_text("<html><body><div><img src=x></div></body></html>", "utf-8")
    write_jsonl(corpus / "blank.jsonl", [{"id": "blank", "text": "   "}])
    result = reindex(tmp_path / "ix", str(corpus), "--json")
    assert skipped(result) == {("tags.html", None): "no text", ("blank.jsonl", 1): "record has empty text"}


# -- the nightly job never deletes what it cannot see -------------------------------------


def test_a_missing_corpus_root_fails_the_run_and_deletes_nothing(tmp_path, corpus):
    ix = tmp_path / "ix"
    assert reindex(ix, str(corpus), "--quiet").returncode == 0
    corpus.rename(tmp_path / "unmounted")
    result = reindex(ix, "--quiet")
    assert result.returncode == 2 and result.stderr.startswith("Error: corpus root ")
    assert str(corpus) in result.stderr and result.stderr.count("\n") == 1
    with SearchEngine(ix) as engine:
        assert ids(engine) == {"good.md"}


def test_an_emptied_corpus_root_deletes_nothing_unless_allowed(tmp_path, corpus):
    # An unmounted disk leaves its mount point: an empty folder, not a missing one.
    for i in range(3):
        (corpus / f"n{i}.md").write_text(f"---\ntitle: 第{i}份\n---\n关于路灯维修的第{i}份安排。\n", "utf-8")
    ix = tmp_path / "ix"
    assert reindex(ix, str(corpus), "--quiet").returncode == 0
    aside = tmp_path / "aside"
    aside.mkdir()
    for f in corpus.iterdir():
        f.rename(aside / f.name)
    for args in (("--quiet",), ("--json",), (str(corpus),)):
        result = reindex(ix, *args)
        assert result.returncode == 2, result
        assert result.stderr == (f"Error: corpus root {corpus} gave none of the 4 documents indexed from it (an "
                                 "unmounted disk or an emptied folder?): nothing was changed; if they are gone for "
                                 "good, run again with --allow-deletes\n")
    result = CliRunner().invoke(cli, ["--index", str(ix), "index", str(corpus)])
    assert result.exit_code == 2 and result.output.startswith("Error: corpus root ")
    with SearchEngine(ix) as engine:
        assert len(ids(engine)) == 4
    result = reindex(ix, "--allow-deletes", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["deleted"] == 4
    with SearchEngine(ix) as engine:
        assert ids(engine) == set()


def test_a_small_root_whose_files_were_all_renamed_is_not_taken_for_an_unmounted_disk(tmp_path, corpus):
    ix = tmp_path / "ix"
    assert reindex(ix, str(corpus), "--quiet").returncode == 0
    (corpus / "good.md").rename(corpus / "renamed.md")
    result = reindex(ix, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["added"], report["deleted"]) == (1, 1)
    with SearchEngine(ix) as engine:
        assert ids(engine) == {"renamed.md"}


def test_most_of_a_root_gone_at_once_is_refused_and_a_few_are_deleted(tmp_path, corpus, monkeypatch):
    monkeypatch.setattr(indexer, "MASS_DELETION", 3)
    (corpus / "mount").mkdir()
    for i in range(6):
        (corpus / "mount" / f"m{i}.txt").write_text(f"第{i}号：关于井盖更换的安排。", "utf-8")
    write_jsonl(corpus / "dump.jsonl", [{"id": f"j{i}", "text": f"第{i}条：关于绿化补种。"} for i in range(3)])
    ix = tmp_path / "ix"
    with SearchEngine(ix) as engine:
        engine.index([corpus])
        for f in list((corpus / "mount").iterdir())[:5]:  # 5 of 10 documents: not more than half
            f.unlink()
        assert engine.index([corpus]).deleted == 5
        write_jsonl(corpus / "dump.jsonl", [])  # 4 of 5, and at least MASS_DELETION: refused
        (corpus / "mount").rename(tmp_path / "unmounted")
        with pytest.raises(CivicSearchError, match=r"gave only 1 of the 5 documents indexed from it"):
            engine.index([corpus])
        assert len(ids(engine)) == 5
        assert engine.index([corpus], allow_deletes=True).deleted == 4
        assert ids(engine) == {"good.md"}


def test_an_unreadable_sub_folder_is_reported_and_keeps_its_documents(tmp_path, corpus, monkeypatch):
    (corpus / "sub").mkdir()
    (corpus / "sub" / "inner.txt").write_text("子目录里的文档：菜场改造。", "utf-8")
    engine = SearchEngine(tmp_path / "ix")
    engine.index([corpus])
    real = os.scandir

    def denied(path: Any = ".") -> Any:
        if os.fspath(path) == os.fspath(corpus / "sub"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", denied)
    report = engine.index()
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [("sub", "cannot read folder: Permission denied")]
    assert report.deleted == 0 and ids(engine) == {"good.md", "sub/inner.txt"}
    engine.close()


def test_a_bare_reindex_never_indexes_the_sample_corpus(tmp_path, corpus):
    result = reindex(tmp_path / "ix", "--quiet")
    assert result.returncode == 2 and "remembers no corpus folder" in result.stderr
    assert not (tmp_path / "ix" / "CURRENT").exists()


def test_a_first_build_that_died_leaves_its_roots_for_the_next_run(tmp_path, corpus):
    ix = tmp_path / "ix"
    env = dict(os.environ, **{indexer.CRASH_ENV: "after-read"})
    died = subprocess.run([sys.executable, "-m", "civicsearch", "--index", str(ix), "reindex", str(corpus)],
                          capture_output=True, env=env, timeout=120)
    assert died.returncode == -9
    result = reindex(ix, "--json")
    assert result.returncode == 0, result.stderr
    with SearchEngine(ix) as engine:
        assert ids(engine) == {"good.md"} and engine.stats().roots == [str(corpus)]
    assert not (ix / "pending-roots.json").exists()


def _damage(ix: Path, how: str) -> None:
    gen = ix / (ix / "CURRENT").read_text().strip()
    if how == "pointer missing":
        (ix / "CURRENT").unlink()
    elif how == "pointer empty":
        (ix / "CURRENT").write_text("")
    elif how == "pointer garbled":
        (ix / "CURRENT").write_bytes(b"\xff\xfe../../etc\n")
    elif how == "pointer to nothing":
        (ix / "CURRENT").write_text("gen-20200101T000000-1-000001\n")
    elif how == "column missing":
        next(gen.glob("*.id.col")).unlink()
    elif how == "segment missing":
        next(gen.glob("*.pst")).unlink()
    elif how == "metadata malformed":
        (gen / "civicsearch.json").write_text('{"schema_version": 4, "roots": [')


@pytest.mark.parametrize("how", ["pointer missing", "pointer empty", "pointer garbled", "pointer to nothing",
                                 "column missing", "segment missing", "metadata malformed"])
def test_a_damaged_index_says_so_and_a_full_rebuild_repairs_it(tmp_path, corpus, how):
    ix = tmp_path / "ix"
    assert reindex(ix, str(corpus), "--quiet").returncode == 0
    (corpus / "more.txt").write_text("新增文档：口袋公园建成。", "utf-8")
    _damage(ix, how)
    for args in (["reindex", "--quiet"], ["search", "议事会"], ["index", str(corpus)]):
        result = CliRunner().invoke(cli, ["--index", str(ix), *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("Error: the index at ") and "is damaged" in result.output
        assert "index --full" in result.output and result.output.count("\n") == 1
    repaired = CliRunner().invoke(cli, ["--index", str(ix), "index", "--full", str(corpus)])
    assert repaired.exit_code == 0, repaired.output
    with SearchEngine(ix) as engine:
        assert ids(engine) == {"good.md", "more.txt"}
    assert len(list(ix.glob("gen-*"))) == 1


# -- a full disk is a clean failure ------------------------------------------------------


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Whoosh's writes fail with ENOSPC once ``allow[0]`` bytes are written (in workers too)."""
    allow = [0]
    real = StructFile.write

    def write(self: StructFile, data: Any, *args: Any) -> Any:
        allow[0] -= len(data)
        if allow[0] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data, *args)

    monkeypatch.setattr(StructFile, "write", write)
    return allow


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.name not in ("reindex.lock", "MAIN_WRITELOCK")}


# Whoosh leaves the file whose write failed open; the warning of its collection is not ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("full, procs", [(False, 1), (True, 1), (True, 2)])
def test_a_full_disk_fails_cleanly_and_the_next_run_is_not_wedged(tmp_path, corpus, full_disk, monkeypatch,
                                                                    full, procs):
    ix = tmp_path / "ix"
    full_disk[0] = 10**9
    engine = SearchEngine(ix)
    engine.index([corpus])
    before = _files(ix)
    for i in range(60):
        (corpus / f"n{i}.txt").write_text(f"第{i}号新通知：关于小区垃圾箱房改造。" * 20, "utf-8")
    monkeypatch.setattr(indexer, "PARALLEL_MIN_BYTES", 0)
    full_disk[0] = 2_000
    with pytest.raises(IndexWriteError, match=f"no space left on the disk of {ix}"):
        engine.index(full=full, procs=procs)
    assert _files(ix) == before  # no partial generation, no half-written segment, no temporary file
    assert ids(engine) == {"good.md"}
    full_disk[0] = 10**9
    report = engine.index(procs=procs)
    assert report.added == 60 and len(ids(engine)) == 61
    engine.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_full_disk_is_exit_2_on_the_command_line(tmp_path, corpus, full_disk):
    full_disk[0] = 10**9
    ix = tmp_path / "ix"
    assert CliRunner().invoke(cli, ["--index", str(ix), "reindex", str(corpus), "--quiet"]).exit_code == 0
    (corpus / "new.txt").write_text("新文档：楼道堆物清理。" * 50, "utf-8")
    full_disk[0] = 100
    result = CliRunner().invoke(cli, ["--index", str(ix), "reindex", "--quiet"])
    assert result.exit_code == 2 and result.output.startswith(f"Error: no space left on the disk of {ix} (mounted at ")
    assert result.output.endswith("): the index was left as it was\n") and result.output.count("\n") == 1


# -- readers outlive a switch ---------------------------------------------------------------


def test_searches_in_fresh_processes_never_fail_during_full_rebuilds(tmp_path, corpus_copy):
    for i in range(600):
        (corpus_copy / f"extra{i:03d}.txt").write_text(f"第{i}号通知：老旧小区加装电梯第{i % 9}批。" * 30, "utf-8")
    ix = tmp_path / "ix"
    assert reindex(ix, str(corpus_copy), "--quiet").returncode == 0
    rebuilding = threading.Event()
    rebuilds: list[int] = []

    def rebuild() -> None:
        rebuilding.set()
        for _ in range(3):
            rebuilds.append(reindex(ix, "--full", "--quiet").returncode)
        rebuilding.clear()

    thread = threading.Thread(target=rebuild)
    thread.start()
    rebuilding.wait()
    failures, answered = [], 0
    while rebuilding.is_set():
        searches = [subprocess.Popen([sys.executable, "-m", "civicsearch", "--index", str(ix), "search", query,
                                      "--json", "--limit", "50"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    for query in ("加装电梯", "老旧小区 通知", "第7号")]
        for search in searches:
            out, errors = search.communicate(timeout=120)
            if search.returncode != 0 or json.loads(out)["total"] == 0:
                failures.append(errors.decode()[-500:])
            answered += 1
    thread.join()
    assert rebuilds == [0, 0, 0]
    assert failures == [] and answered >= 3
    assert reindex(ix, "--quiet").returncode == 0
    assert len(list(ix.glob("gen-*"))) == 1  # once nobody reads them, old generations go


def test_an_incremental_commit_keeps_the_files_a_search_may_still_open(tmp_path, corpus):
    ix = tmp_path / "ix"
    engine = SearchEngine(ix)
    engine.index([corpus])
    gen = store.current_generation(ix)
    before = sorted(gen.glob("_MAIN_*.toc"))
    hold = store.ReaderHold(ix)
    assert hold.acquire() == gen  # a search in another process, opening the index
    (corpus / "new.txt").write_text("新增文档：垃圾箱房改造完成。", "utf-8")
    assert engine.index().added == 1
    assert all(p.exists() for p in before)  # the table of contents it may be reading stays
    hold.release()
    (corpus / "newer.txt").write_text("又一篇新增文档：楼道灯修好了。", "utf-8")
    assert engine.index().added == 1
    assert not any(p.exists() for p in before)  # once nobody holds it, it goes
    assert ids(engine) == {"good.md", "new.txt", "newer.txt"}
    engine.close()


# -- symlinks stay inside ---------------------------------------------------------------------


def test_a_duplicate_id_keeps_the_first_record_read_and_names_the_others(tmp_path, corpus):
    write_jsonl(corpus / "a.jsonl", [{"id": "same", "text": "第一份：关于河道保洁。"},
                                     {"id": "same", "text": "第二份：关于河道保洁。"}])
    write_jsonl(corpus / "b.jsonl", [{"id": "same", "text": "第三份：关于河道保洁。"}, {"id": "other", "text": "别的。"}])
    result = reindex(tmp_path / "ix", str(corpus), "--json")
    assert result.returncode == 1, result.stderr
    assert skipped(result) == {("a.jsonl", 2): "duplicate id 'same'", ("b.jsonl", 1): "duplicate id 'same'"}
    (corpus / "b.jsonl").touch()  # read again (by its hash: unchanged), and still the first record stays
    again = reindex(tmp_path / "ix", "--json")
    # Still kept out, so still listed (exit 1), each since the first run that skipped it.
    assert again.returncode == 1 and skipped(again) == skipped(result)
    with SearchEngine(tmp_path / "ix") as engine:
        assert engine.get("same").body.startswith("第一份") and "other" in ids(engine)


def test_a_root_inside_another_is_read_once(tmp_path, corpus):
    (corpus / "sub").mkdir()
    (corpus / "sub" / "lamp.txt").write_text("关于路灯维修的安排。", "utf-8")
    ix = tmp_path / "ix"
    result = reindex(ix, str(corpus), str(corpus / "sub"), str(corpus), str(corpus / "good.md"), "--json")
    assert result.returncode == 0, result.stderr
    with SearchEngine(ix) as engine:
        assert ids(engine) == {"good.md", "sub/lamp.txt"}
    assert json.loads(reindex(ix, "--json").stdout)["unchanged"] == 2


def test_symlinks_never_lead_outside_the_corpus_and_inside_are_read_once(tmp_path, corpus):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("语料之外的秘密文件。", "utf-8")
    (corpus / "secret-link.txt").symlink_to(outside / "secret.txt")
    (corpus / "folder-link").symlink_to(outside, target_is_directory=True)
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "real").mkdir()
    (corpus / "real" / "doc.txt").write_text("语料之内的文件：健身步道。", "utf-8")
    (corpus / "alias.txt").symlink_to(corpus / "real" / "doc.txt")
    result = reindex(tmp_path / "ix", str(corpus), "--json")
    assert skipped(result) == {(name, None): "symlink leads outside the corpus"
                               for name in ("secret-link.txt", "folder-link", "passwd.txt")}
    with SearchEngine(tmp_path / "ix") as engine:
        assert ids(engine) == {"good.md", "real/doc.txt"}
        assert engine.search("秘密").total == 0


# -- forgiving queries ----------------------------------------------------------------------------


@pytest.mark.parametrize("query", ['关于"加装电梯的通知', "他说：“加装电梯", "”加装电梯“", '加装电梯 5" 屏幕',
                                   "加装电梯 OR", "OR 加装电梯", "加装电梯 OR OR 加梯", "加装电梯 -", "正文: 加装电梯 标题:",
                                   "「加装电梯", '-"加装电梯'])
def test_pasted_queries_with_stray_syntax_still_search(seed_index, query):
    res = seed_index.search(query)
    if query.startswith('-"'):
        assert res.total == len(SEEDS) - 3
    else:
        assert res.total >= 1, query
    if any(q in query for q in '"“”「') or "OR" in query or query.endswith(":"):
        assert res.notes, query


def test_the_command_line_joins_words_and_takes_minus_words_as_exclusions(seed_index):
    runner = CliRunner()
    index = str(seed_index.index_dir)
    joined = runner.invoke(cli, ["--index", index, "search", "加装电梯", "老旧小区", "--json"])
    quoted = runner.invoke(cli, ["--index", index, "search", "加装电梯 老旧小区", "--json"])
    assert joined.exit_code == 0 and json.loads(joined.stdout)["total"] == json.loads(quoted.stdout)["total"]
    minus = runner.invoke(cli, ["--index", index, "search", "电梯", "-嘉定", "--json"])
    assert minus.exit_code == 0, minus.output
    both = runner.invoke(cli, ["--index", index, "search", "电梯", "--json"])
    assert json.loads(minus.stdout)["total"] < json.loads(both.stdout)["total"]
    assert all("嘉定" not in h["title"] for h in json.loads(minus.stdout)["hits"])
    unknown = runner.invoke(cli, ["--index", index, "search", "电梯", "--limt", "3"])
    assert unknown.exit_code == 2 and "No such option" in unknown.output


@pytest.mark.parametrize("since, until, message", [
    ("0000", None, "outside 0001-9999"), (None, "10000", "cannot read"), ("2023-02-30", None, "calendar"),
    ("2023-13", None, "calendar"), (None, "2023-00-10", "calendar"),
])
def test_impossible_dates_are_a_clear_error(seed_index, since, until, message):
    with pytest.raises(CivicSearchError, match=message):
        seed_index.search("电梯", since=since, until=until)


def test_dates_at_the_ends_of_the_calendar_and_in_other_forms_are_fine(seed_index):
    every = seed_index.search("电梯").total
    assert seed_index.search("电梯", since="0001", until="9999").total == every
    assert seed_index.search("电梯", until="9999-12-31").total == every
    assert seed_index.search("电梯", since="2023年1月").total == seed_index.search("电梯", since="2023-01").total
    assert seed_index.search("电梯", since="20230104").total == seed_index.search("电梯", since="2023-01-04").total


@pytest.mark.parametrize("call", [
    lambda e: e.search(123), lambda e: e.search("电梯", limit="5"), lambda e: e.search("电梯", place=31),
    lambda e: e.search("电梯", since=2023), lambda e: e.search("电梯", collapse="no"), lambda e: e.get(5),
    lambda e: e.search("电梯", offset=True), lambda e: e.index(paths=[1]), lambda e: e.index(procs="2"),
])
def test_wrong_argument_types_raise_invalid_argument(seed_index, call):
    from civicsearch.errors import InvalidArgumentError
    with pytest.raises(InvalidArgumentError):
        call(seed_index)


def test_an_ambiguous_id_prefix_says_so_and_names_a_few(seed_index):
    from civicsearch.errors import AmbiguousIdError
    with pytest.raises(AmbiguousIdError, match="ambiguous") as raised:
        seed_index.get("00")
    assert "'000_7c9bfc895c904976.txt'" in str(raised.value)


# -- terminal safety ------------------------------------------------------------------------------------

# What the documents hold; on a terminal rich adds its own colour codes (ESC [ … m).
ESCAPES = ("\x1b]", "\x1b[2J", "\x1b[5m", "\x1b[31m", "\x07", "\x9b", "\x9d", "\u202e")


def _hostile_corpus(folder: Path) -> None:
    (folder / "esc.md").write_text(
        "---\ntitle: \"\\e]52;c;aGVsbG8=\\a社区通知\\e[2J\\u202e\"\nplace: \"[/bold]\"\ntopic: \"[link=http://evil]点我[/link]\"\n"
        "---\n" + "社区通知：关于楼道堆物清理的安排。" * 20 + "\x1b]0;窗口标题\x07\x9b31m红色\n", "utf-8")
    write_jsonl(folder / "c1.jsonl", [{"id": "c1\x1b[2J", "title": "楼道\x1b[5m堆物", "text": "楼道堆物\x9d清理。" * 30,
                                       "source": "\x1b]8;;http://evil\x07来源"}])


@pytest.mark.parametrize("terminal", [False, True])
def test_escape_sequences_and_markup_from_documents_never_reach_the_terminal(tmp_path, monkeypatch, terminal):
    from rich.console import Console

    from civicsearch import cli as cli_module
    folder = tmp_path / "corpus"
    folder.mkdir()
    _hostile_corpus(folder)
    (folder / "bad\x1b[31mname.txt").write_bytes(b"\x00\x01binary")
    ix = str(tmp_path / "ix")
    runner = CliRunner()
    outputs = [runner.invoke(cli, ["--index", ix, "index", str(folder)]).output]
    if terminal:
        # What a terminal gets: rich's own rendering, with colours and styles.
        monkeypatch.setattr(cli_module, "out", Console(force_terminal=True, width=120, highlight=False))
    for args in (["search", "楼道堆物"], ["search", "社区通知"], ["search", "楼道堆物", "--json"],
                 ["show", "esc.md"], ["show", "c1"], ["stats"], ["search", "通知\x1b[2J"]):
        result = runner.invoke(cli, ["--index", ix, *args])
        assert result.exit_code == 0, (args, result.output)
        outputs.append(result.output)
    text = "\n".join(outputs)
    for sequence in ESCAPES + (() if terminal else ("\x1b",)):
        assert sequence not in text, repr(sequence)
    assert "[/bold]" in text and "[link=http://evil]点我[/link]" in text  # shown as text, not markup


# -- linear time --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "标题\nx" + " " * 200_000 + "y",
    "标题\n" + "， " * 100_000,
    "标题\n" + "\u3000" * 100_000 + "。",
    "标题\n" + "/ " * 100_000,
    "标题\n" + ("\n" * 3 + "文") * 30_000,
])
def test_cleaning_pathological_text_is_linear(text):
    # Each took minutes while it was quadratic; linear, each takes well under a second.
    with budget.time_budget(30):
        cleaning.clean(text)


@pytest.mark.parametrize("html", [
    "<p>正文</p>" + "<a " * 40_000,
    "<p>正文</p>" + "<!--" * 40_000,
    "<p>正文</p>" + "</" * 40_000,
    "<p>正文" + "<div class='" * 20_000,
    "<p>正文</p><script>" + "if (a < b) " * 20_000,
])
def test_html_reading_of_unclosed_markup_is_linear(html):
    with budget.time_budget(30):
        text, _ = html_to_text(html)
    assert "正文" in text


def test_the_docs_say_what_bad_input_gets():
    # The README keeps the rule and links the list (docs/input.md).
    repo = Path(__file__).resolve().parent.parent
    assert "docs/input.md#what-bad-input-gets" in (repo / "README.md").read_text("utf-8")
    readme = "".join((repo / "docs" / name).read_text("utf-8") for name in ("input.md", "operations.md"))
    for phrase in ("decompression bomb", "symlink leads outside the corpus", "YAML anchors and aliases",
                   "is damaged", "no space left", "kept uncleaned", "time budget"):
        assert phrase in readme, phrase
