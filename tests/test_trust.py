"""What the README promises is what happens: queries, filters, the command line, the
nightly job, the API's edges, the kinds of documents (issue 28).

Each test covers a kind of input or failure with cases of its own, not only the
example that was reported.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from typing import Iterator
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, PROCESS_TAG, tagged_processes

import civicsearch
from civicsearch import InvalidArgumentError, SearchEngine
from civicsearch.cli import cli
from civicsearch.index import indexer, store
from civicsearch.ingest.kinds import document_kind

REPO = Path(__file__).resolve().parent.parent


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civicsearch", *args], capture_output=True, text=True,
                          env=env or dict(os.environ), timeout=timeout)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchEngine]:
    """The seeds and a few records made for these tests."""
    corpus = tmp_path_factory.mktemp("trust") / "corpus"
    shutil.copytree(CORPUS, corpus)
    write_jsonl(corpus / "made.jsonl", [
        {"id": "yibao", "title": "医保报销指南", "text": "城乡居民医保报销比例提高。"},
        {"id": "yiliao", "title": "医疗保险通知", "text": "关于基本医疗保险缴费的通知。"},
        {"id": "zw", "title": "电梯工程", "text": "本小区加装\u200b电梯工程\u2060今日开工，居民\u00ad反映良好。"},
        {"id": "wide", "title": "国务院办公厅关于印发方案的通知",
         "text": "国办发〔２０２４〕１号\n各省、自治区、直辖市人民政府：现将方案印发给你们。\n国务院办公厅\n２０２３年０１月０４日"},
        {"id": "nums", "title": float("nan"), "topic": 1e5, "source": float("inf"), "url": 3.5, "place": -0.0,
         "text": "关于河道保洁的安排。"},
        {"id": "edu-sh", "org": "上海市教育委员会", "title": "关于社区教育的通知", "text": "社区教育工作安排。"},
        {"id": "edu-bj", "org": "北京市教育委员会", "title": "关于社区学校的通知", "text": "社区学校工作安排。"},
        {"id": "repealed", "title": "某市河道管理条例",
         "text": "（2001年3月1日某市人民代表大会常务委员会通过　根据2015年修正　2022年6月1日废止）\n"
                 "第一条 为了加强河道管理，制定本条例。\n第二条 本条例自公布之日起施行。"},
    ])
    engine = SearchEngine(corpus.parent / "ix")
    engine.index([corpus])
    yield engine
    engine.close()


# -- queries -------------------------------------------------------------------------------


def test_a_quoted_phrase_means_exactly_its_characters(small):
    typed = small.search("医保")
    assert {h.id for h in typed} >= {"yibao", "yiliao"} and "医疗保险" in typed.also_searched
    for quoted in ('"医保"', "“医保”", "「医保」"):
        exact = small.search(quoted)
        assert {h.id for h in exact} == {"yibao"} and exact.also_searched == [], quoted
    # A phrase of a synonym group's member stays that phrase too.
    assert {h.id for h in small.search('"医疗保险"')} == {"yiliao"}


@pytest.mark.parametrize("query", ["加装电梯 -", "加装电梯 - ", "- 加装电梯", "加装电梯 -，", "加装电梯 “”"])
def test_a_lone_dash_or_empty_quotes_are_dropped_and_noted(small, query):
    res = small.search(query)
    assert res.total == small.search("加装电梯").total
    assert any("no words to search for" in n for n in res.notes), res.notes


def test_invisible_characters_never_hide_a_word(small):
    # In the document (zero-width space, word joiner, soft hyphen) and in the query.
    assert "zw" in {h.id for h in small.search("加装电梯")}
    assert "zw" in {h.id for h in small.search("加装\u200d电梯")}
    assert "zw" in {h.id for h in small.search('"电梯\ufeff工程"')}
    assert "\u200b" not in small.get("zw").body


def test_full_width_digits_are_read_as_ascii(small):
    doc = small.get("wide")
    assert doc.docnos == ["国办发〔2024〕1号"] and doc.date == "2023-01-04"
    assert {h.id for h in small.search("文号:国办发〔２０２４〕１号")} == {"wide"}


def test_json_numbers_where_text_belongs_are_dropped(small):
    doc = small.get("nums").to_dict()
    assert doc["title"] == "关于河道保洁的安排。"  # picked from the text, not "nan"
    assert doc["source"] is None and doc["url"] is None and doc["place"] is None
    assert not any(t in ("100000.0", "inf", "nan") for t in doc["topics"])
    assert "nan" not in json.dumps(doc) and "inf" not in json.dumps(doc)


# -- filters name what the index holds ---------------------------------------------------------


@pytest.mark.parametrize("given, same_as", [("310000", "31"), ("3101", "31"), ("310100", "31"),
                                           ("310114000", "310114"), ("310114004000", "310114004"),
                                           ("上海", "31"), ("嘉定", "嘉定区")])
def test_a_place_code_with_trailing_zeros_or_a_placeholder_level_resolves(small, given, same_as):
    want = small.search("社区", place=same_as, limit=50)
    got = small.search("社区", place=given, limit=50)
    assert got.total == want.total > 0
    assert [h.id for h in got] == [h.id for h in want] and got.facets["place"] == want.facets["place"]


@pytest.mark.parametrize("option, value, names", [
    ("place", "xyz", "places"), ("place", "999999", "division codes"), ("place", "北京", "places"),
    ("topic", "没有的主题", "topics"), ("type", "会议纪要", "document types"), ("org", "外交部", "issuing bodies"),
])
def test_a_filter_naming_nothing_the_index_holds_is_an_error_naming_the_nearest(small, option, value, names):
    with pytest.raises(InvalidArgumentError, match=rf"^{option}: '{value}' names none of the {names}") as e:
        small.search("社区", **{option: value})
    assert "; the nearest: " in str(e.value) or "; the index holds: " in str(e.value) or "is close" in str(e.value)
    result = CliRunner().invoke(cli, ["--index", str(small.index_dir), "search", "社区", f"--{option}", value])
    assert result.exit_code == 1 and result.output.startswith(f"Error: --{option}: '{value}' names none")
    assert result.output.count("\n") == 1


def test_a_unique_part_of_a_value_resolves_and_a_shared_part_is_ambiguous(small):
    topics = small.stats().documents and small.search("社区", limit=1).facets["topic"]
    whole = next(t.value for t in topics if "、" in t.value)
    part = whole.split("、")[0]
    assert small.search("社区", topic=part).total == small.search("社区", topic=whole).total > 0
    assert {h.id for h in small.search("社区", org="上海市教育")} == {"edu-sh"}
    with pytest.raises(InvalidArgumentError, match=r"^org: '教育' is part of 2 issuing bodies' names "
                                                   r"\(上海市教育委员会, 北京市教育委员会\): give more of the name"):
        small.search("社区", org="教育")


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize("args, says", [
    (["search", "加装电梯", "--limit", "0"], "--limit"),
    (["search", "加装电梯", "--sort", "newest"], "--sort"),
    (["search", "加装电梯", "--page", "0"], "--page"),
    (["search", "加装电梯", "--bogus"], "No such option"),
    (["search"], "Missing argument"),
    (["serch", "加装电梯"], "No such command"),
    (["show"], "Missing argument"),
    (["index", "--max-size", "-1"], "--max-size"),
])
def test_a_usage_error_is_one_error_line_and_exit_2(small, args, says):
    done = run_cli("--index", str(small.index_dir), *args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("Error: ") and says in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_a_closed_pipe_is_not_an_error(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "long.txt").write_text("长文。\n" + "第一条 关于河道保洁的长篇规定。\n" * 20000, "utf-8")
    ix = tmp_path / "ix"
    assert run_cli("--index", str(ix), "index", str(corpus)).returncode == 0
    for args in (["show", "long"], ["search", "河道", "--json"], ["stats"]):
        proc = subprocess.Popen([sys.executable, "-m", "civicsearch", "--index", str(ix), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.readline()
        proc.stdout.close()  # the reader goes away, as `| head -1` does
        assert proc.wait(timeout=60) == 0, args
        assert proc.stderr.read() == b""
        proc.stderr.close()


@pytest.mark.parametrize("megabytes", [120, 250])
def test_too_little_memory_is_one_error_line_not_an_abort(small, megabytes):
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes * 2**20, resource.RLIM_INFINITY))

    done = subprocess.run([sys.executable, "-m", "civicsearch", "--index", str(small.index_dir), "search", "社区"],
                          capture_output=True, text=True, timeout=60, preexec_fn=cap)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"Error: this process may use at most {megabytes} MB of memory (ulimit -v); "
                           "civicsearch needs at least 320 MB\n")


def test_the_output_on_a_full_disk_is_one_error_line_and_exit_2(small):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "civicsearch", "--index", str(small.index_dir), "stats", "--json"],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr == "Error: cannot write the output: No space left on device\n"


def test_the_terminal_shows_every_topic_and_cuts_facet_labels_rather_than_wrap_them(small, monkeypatch):
    from rich.console import Console

    from civicsearch import cli as cli_module
    screen = Console(force_terminal=True, width=200, record=True, color_system=None)
    monkeypatch.setattr(cli_module, "out", screen)
    CliRunner().invoke(cli, ["--index", str(small.index_dir), "search", "规划"])
    res = small.search("规划")
    many = next(h for h in res if len(h.topics) > 2)
    assert ", ".join(many.topics) in screen.export_text()  # every topic, as in the JSON
    for width in (60, 40):
        narrow = Console(force_terminal=True, width=width, record=True, color_system=None)
        monkeypatch.setattr(cli_module, "out", narrow)
        CliRunner().invoke(cli, ["--index", str(small.index_dir), "search", "规划"])
        panel = narrow.export_text()
        panel = panel[panel.index("╭─ Facets"):].splitlines()
        # One line a facet row between the borders and the header: no label wraps onto a second line.
        rows = max(len(v[:8]) for v in res.facets.values() if v)
        assert len(panel) == rows + 3, "\n".join(panel)
        assert "…" in "\n".join(panel)  # what does not fit is cut


def test_stats_says_when_the_index_was_created(small):
    out = CliRunner().invoke(cli, ["--index", str(small.index_dir), "stats"]).output
    assert re.search(r"^created: \d{4}-\d\d-\d\dT", out, re.M) and "kept out of the index: 0" in out


def test_show_pages_a_long_document_on_a_terminal(small, monkeypatch):
    from rich.console import ConsoleDimensions

    from civicsearch import cli as cli_module
    paged = []
    monkeypatch.setattr(type(cli_module.out), "is_terminal", property(lambda self: True))
    monkeypatch.setattr(cli_module.click, "echo_via_pager", lambda text: paged.append(text))
    monkeypatch.setattr(type(cli_module.out), "size", property(lambda self: ConsoleDimensions(80, 5)))
    CliRunner().invoke(cli, ["--index", str(small.index_dir), "show", "001"])
    assert len(paged) == 1 and paged[0].startswith("2023年嘉定镇街道规划计划") and "嘉定镇街道" in paged[0]


def test_no_matches_say_nothing_wrong_about_facets(small):
    out = CliRunner().invoke(cli, ["--index", str(small.index_dir), "search", "完全没有的词语组合乙丙"]).output
    assert "no place, date or topic known" not in out


# -- the Python API --------------------------------------------------------------------------------


def test_every_documented_error_is_importable_from_the_package():
    readme = (REPO / "README.md").read_text("utf-8")
    named = set(re.findall(r"`(\w+Error)`", readme))
    assert {"AmbiguousIdError", "IndexDamagedError", "IndexWriteError", "CorpusRootError", "MassDeletionError"} <= named
    for name in named:
        error = getattr(civicsearch, name)
        assert issubclass(error, civicsearch.CivicSearchError) and name in civicsearch.__all__


def test_api_errors_speak_the_api(small):
    with pytest.raises(InvalidArgumentError, match=r"^since: '2023-02-30' is not a date") as e:
        small.search("社区", since="2023-02-30")
    assert e.value.argument == "since" and e.value.for_cli().startswith("--since: ")
    with pytest.raises(InvalidArgumentError, match=r"^since: '2024' is after the end of the range \(until '2023'\)"):
        small.search("社区", since="2024", until="2023")
    with pytest.raises(InvalidArgumentError, match=r"^in_force: ") as e:
        small.search("社区", in_force="yes")
    assert e.value.for_cli().startswith("--in-force: ")
    assert "--" not in str(pytest.raises(InvalidArgumentError, small.search, "社区", org="人民").value)


def test_results_behave_as_a_list_of_hits_with_the_json_names(small):
    res = small.search("社区", limit=3)
    assert len(res) == len(res.hits) == 3 and list(res) == res.hits and res[0] is res.hits[0] and res[-1] is res.hits[-1]
    assert [h.id for h in res] == [h.doc_id for h in res] == [d["id"] for d in res.to_dict()["hits"]]
    doc = small.get(res[0].id)
    assert doc.id == doc.doc_id and doc.meta == doc.to_dict()["meta"]
    header = small.get("001")
    assert header.meta and header.meta == header.to_dict()["meta"] and header.meta["索引号"]


@pytest.mark.parametrize("kwargs", [dict(limit=2**63), dict(limit=True), dict(limit=0), dict(offset=10**30),
                                    dict(offset=-1), dict(offset=True), dict(limit=1.5)])
def test_absurd_paging_is_refused_the_same_way(small, kwargs):
    with pytest.raises(InvalidArgumentError, match=rf"^{next(iter(kwargs))}: "):
        small.search("社区", **kwargs)


def test_a_page_past_the_end_is_empty_with_the_true_total(small):
    res = small.search("社区", offset=100_000)
    assert res.hits == [] and res.total == small.search("社区").total


@pytest.mark.parametrize("path", ["ix\x00", "a\x00b/ix"])
def test_a_path_with_a_nul_byte_is_refused(path, tmp_path):
    with pytest.raises(InvalidArgumentError, match="index_dir: a path cannot hold a NUL"):
        SearchEngine(path)
    with pytest.raises(InvalidArgumentError, match="paths: "):
        SearchEngine(tmp_path / "ix").index([path])


# -- one engine, many threads, while the index changes ---------------------------------------------


def test_one_engine_serves_threads_while_reindexes_commit_and_switch(tmp_path):
    corpus = tmp_path / "c"
    shutil.copytree(CORPUS, corpus)
    writer = SearchEngine(tmp_path / "ix")
    writer.index([corpus])
    shared = SearchEngine(tmp_path / "ix")
    failures: list[BaseException] = []
    done = threading.Event()
    searches = [0]

    def search() -> None:
        while not done.is_set():
            try:
                res = shared.search("社区", limit=5)
                assert res.total > 0 and len(res) > 0
                shared.search("加装电梯 OR 规划", place="上海")
                shared.get(res[0].id)
                searches[0] += 1
            except BaseException as e:  # noqa: BLE001 - every failure is the test's
                failures.append(e)

    threads = [threading.Thread(target=search) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for n in range(6):
            (corpus / f"n{n}.txt").write_text(f"第{n}次：社区加装电梯的通知。", "utf-8")
            writer.index(full=(n % 3 == 2))  # incremental commits, and generation switches
    finally:
        done.set()
        for t in threads:
            t.join()
    shared.close()
    writer.close()
    assert not failures, failures[:3]
    assert searches[0] > 0


# -- the nightly job's report -----------------------------------------------------------------------


def _kept(result: subprocess.CompletedProcess) -> set[tuple[str, int | None, str]]:
    return {(Path(s["path"]).name, s["line"], s["reason"]) for s in json.loads(result.stdout)["skipped"]}


def test_every_input_kept_out_is_listed_every_run_until_fixed_or_removed(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("关于河道保洁的安排。", "utf-8")
    (corpus / "bin.txt").write_bytes(b"\x00\x01\x02 not text")
    write_jsonl(corpus / "d.jsonl", [{"id": "a", "text": "老旧小区改造。"}])
    with open(corpus / "d.jsonl", "a", encoding="utf-8") as f:
        f.write("{broken\n" + json.dumps({"id": "b"}) + "\n" + json.dumps({"id": "c", "text": "电梯。"}) + "\n")
    ix = str(tmp_path / "ix")
    all_three = {("bin.txt", None, "binary file (NUL bytes)"), ("d.jsonl", 2, None), ("d.jsonl", 3, "record has no text")}

    def same(kept: set) -> bool:
        return {(n, line) for n, line, _ in kept} == {(n, line) for n, line, _ in all_three}

    first = run_cli("--index", ix, "reindex", str(corpus), "--json")
    assert first.returncode == 1 and same(_kept(first))
    since = {(s["path"], s["line"]): s["since"] for s in json.loads(first.stdout)["skipped"]}
    time.sleep(1.1)
    (corpus / "ok.txt").write_text("关于河道保洁的新安排。", "utf-8")  # the JSONL unchanged: not read again
    second = run_cli("--index", ix, "reindex", "--json")
    assert second.returncode == 1 and same(_kept(second))
    assert {(s["path"], s["line"]): s["since"] for s in json.loads(second.stdout)["skipped"]} == since
    stats = json.loads(run_cli("--index", ix, "stats", "--json").stdout)
    assert {(Path(e["path"]).name, e["line"]) for e in stats["kept_out"]} == {(n, line) for n, line, _ in all_three}

    full = run_cli("--index", ix, "reindex", "--full", "--json")  # a rebuild keeps the dates
    assert {(s["path"], s["line"]): s["since"] for s in json.loads(full.stdout)["skipped"]} == since
    write_jsonl(corpus / "d.jsonl", [{"id": "a", "text": "老旧小区改造。"}, {"id": "c", "text": "电梯。"}])
    fixed = run_cli("--index", ix, "reindex", "--json")
    assert fixed.returncode == 1 and _kept(fixed) == {("bin.txt", None, "binary file (NUL bytes)")}
    (corpus / "bin.txt").unlink()
    clean = run_cli("--index", ix, "reindex", "--json")
    assert clean.returncode == 0 and _kept(clean) == set()
    text = run_cli("--index", ix, "stats").stdout
    assert "kept out of the index: 0" in text


def test_index_and_reindex_report_alike(tmp_path):
    corpus = tmp_path / "c"
    shutil.copytree(CORPUS, corpus)
    (corpus / "bad.md").write_text("---\ntitle: [oops\n---\n正文", "utf-8")
    first = run_cli("--index", str(tmp_path / "a"), "index", str(corpus), "--json")
    second = run_cli("--index", str(tmp_path / "b"), "reindex", str(corpus), "--json")
    assert first.returncode == second.returncode == 1
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert set(a) == set(b) and a["documents"] == b["documents"] == 5
    assert [s["reason"] for s in a["skipped"]] == [s["reason"] for s in b["skipped"]]
    for command in ("index", "reindex"):
        quiet = run_cli("--index", str(tmp_path / "a"), command, "--quiet")
        assert quiet.returncode == 1 and quiet.stdout == "" and "bad.md: malformed YAML" in quiet.stderr
        missing = run_cli("--index", str(tmp_path / "a"), command, str(tmp_path / "nowhere"))
        assert missing.returncode == 2 and missing.stderr.startswith("Error: corpus root ")


def test_a_run_follows_a_corpus_root_that_is_a_link_as_given(tmp_path):
    releases = tmp_path / "crawl"
    for name, text in (("release-41", "第四十一版：河道保洁。"), ("release-42", "第四十二版：河道保洁。")):
        (releases / name).mkdir(parents=True)
        (releases / name / "notice.txt").write_text(text, "utf-8")
    current = releases / "current"
    current.symlink_to(releases / "release-41")
    engine = SearchEngine(tmp_path / "ix")
    engine.index([current])
    assert engine.remembered_roots() == [str(current)]
    current.unlink()
    current.symlink_to(releases / "release-42")
    shutil.rmtree(releases / "release-41")
    report = engine.index()  # the bare nightly run
    assert (report.updated, report.deleted, report.skipped) == (1, 0, [])
    assert engine.get("notice.txt").body.startswith("第四十二版")
    engine.close()


def test_a_thousand_nested_folders_are_walked(tmp_path):
    corpus = tmp_path / "c"
    levels = [corpus]
    corpus.mkdir()
    for _ in range(1000):  # made (and removed) one by one: pathlib's own recursion would fail here
        levels.append(levels[-1] / "d")
        os.mkdir(levels[-1])
    (levels[-1] / "deep.txt").write_text("最深处的河道保洁通知。", "utf-8")
    (corpus / "top.txt").write_text("最上面的通知。", "utf-8")
    try:
        with SearchEngine(tmp_path / "ix") as engine:
            report = engine.index([corpus])
            assert report.added == 2 and not report.skipped
            assert engine.search("河道保洁").total == 1
    finally:
        (levels[-1] / "deep.txt").unlink()
        (corpus / "top.txt").unlink()
        for level in reversed(levels):
            os.rmdir(level)


def test_a_dump_appended_to_while_it_is_read_is_read_as_it_was(tmp_path):
    from civicsearch.ingest.readers import RawRecord, read_jsonl

    dump = tmp_path / "live.jsonl"
    write_jsonl(dump, [{"id": f"r{i}", "text": f"第{i}条记录。"} for i in range(3)])
    size = dump.stat().st_size
    got = []
    with open(dump, "a", encoding="utf-8") as writer:
        for item in read_jsonl(dump, size=size):
            got.append(item)
            # The crawler goes on writing, a line at a time, the last one cut mid-record.
            writer.write(json.dumps({"id": f"late{len(got)}", "text": "后来的。"}) + "\n{\"id\": \"cut")
            writer.flush()
    assert [r.doc_id for r in got if isinstance(r, RawRecord)] == ["r0", "r1", "r2"] and len(got) == 3


def test_a_giant_document_costs_memory_in_proportion_to_what_is_searched(tmp_path):
    text = "河道保洁" + "关于老旧小区加装电梯的长篇记录。" * 200_000  # 3.2 million characters
    doc = indexer.to_fields(__import__("civicsearch.ingest.documents", fromlist=["x"]).build_document(
        __import__("civicsearch.ingest.readers", fromlist=["x"]).RawRecord("big", "big.jsonl", text, {})), "h")
    assert len(doc["body"]) == indexer.MAX_INDEXED_CHARS and doc["original"] == text.strip()


# -- signals and workers ----------------------------------------------------------------------------


def _parallel_corpus(corpus: Path) -> None:
    write_jsonl(corpus / "big.jsonl", [{"id": f"big{i}", "text": f"第{i}期：社区加装电梯工作推进情况。" * 60}
                                       for i in range(600)])
    assert (corpus / "big.jsonl").stat().st_size > indexer.PARALLEL_MIN_BYTES


def _wait_for(predicate, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGKILL, -9)])
def test_a_stopped_parallel_build_takes_its_workers_and_leaves_the_index_as_it_was(tmp_path, sig, status):
    corpus = tmp_path / "c"
    shutil.copytree(CORPUS, corpus)
    ix = tmp_path / "ix"
    assert run_cli("--index", str(ix), "index", str(corpus), "--quiet").returncode == 0
    live = store.current_generation(ix).name
    _parallel_corpus(corpus)
    tag = f"{os.environ[PROCESS_TAG]}-{sig.name}"
    env = dict(os.environ, **{indexer.PAUSE_ENV: "after-read", PROCESS_TAG: tag})
    # As a context manager: a run that overstays the bound is killed and its pipes closed.
    with subprocess.Popen([sys.executable, "-m", "civicsearch", "--index", str(ix), "reindex", "--full"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True) as proc:
        assert proc.stderr.readline() == "PAUSED\n"
        assert len(tagged_processes(tag)) >= 2  # the run and its workers
        proc.send_signal(sig)
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == status
    if sig != signal.SIGKILL:
        assert err == f"Error: interrupted by {sig.name} (the index keeps its last committed state)\n" and out == ""
    assert _wait_for(lambda: not tagged_processes(tag), 10), tagged_processes(tag)
    if sig != signal.SIGKILL:
        assert [p.name for p in ix.glob("gen-*")] == [live]  # the partial generation is gone
    assert store.current_generation(ix).name == live
    with SearchEngine(ix) as engine:
        assert engine.search("社区").total > 0


def test_a_parallel_build_reports_the_workers_progress(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    _parallel_corpus(corpus)
    # In a fresh interpreter: workers are forked only from a process with one thread.
    code = ("import json, sys\nfrom civicsearch import SearchEngine\nseen = []\n"
            f"SearchEngine({str(tmp_path / 'ix')!r}).index([{str(corpus)!r}], procs=2, "
            "progress=lambda d, t, w: seen.append((d, t, w)))\nprint(json.dumps(seen))")
    seen = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                     timeout=300).stdout)
    writing = [(d, t) for d, t, what in seen if what == "writing the index"]
    assert writing and tuple(writing[-1]) == (600, 600) and [d for d, _ in writing] == sorted(d for d, _ in writing)


# -- durability ---------------------------------------------------------------------------------------


def test_every_file_of_a_commit_is_on_the_disk_before_it_is_published(tmp_path, monkeypatch):
    corpus = tmp_path / "c"
    shutil.copytree(CORPUS, corpus)
    calls: list[tuple[str, str]] = []
    real_fsync, real_replace, real_rename = os.fsync, os.replace, os.rename

    def fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(a, b, **kw):  # noqa: ANN001
        calls.append(("rename", str(b)))
        real_replace(a, b, **kw)

    def rename(a, b, **kw):  # noqa: ANN001
        calls.append(("rename", str(b)))
        real_rename(a, b, **kw)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "rename", rename)
    ix = tmp_path / "ix"
    engine = SearchEngine(ix)
    for step in ("first", "incremental", "full"):
        calls.clear()
        if step == "incremental":
            (corpus / "new.txt").write_text("新的河道保洁通知。", "utf-8")
        engine.index([corpus], full=step == "full")
        gen = store.current_generation(ix)
        toc = max(gen.glob("_MAIN_*.toc"))
        published = [i for i, (kind, path) in enumerate(calls) if kind == "rename" and path.endswith(toc.name)]
        assert published, (step, calls)
        synced_before = {path for kind, path in calls[:published[-1]] if kind == "fsync"}
        listed = {str(p) for p in gen.iterdir() if p.name.startswith("MAIN_") and p.is_file()
                  and any(p.name.startswith(s.segment_id()) for s in store.open_index(ix)._segments())}
        assert listed and listed <= synced_before, (step, listed - synced_before)
        # The folder is synced after the rename that publishes the table.
        assert ("fsync", str(gen)) in calls[published[-1]:]
        if step != "incremental":
            switched = [i for i, (kind, path) in enumerate(calls) if kind == "rename" and path.endswith("/CURRENT")]
            assert switched and published[-1] < switched[-1]
            assert ("fsync", str(gen)) in calls[published[-1]:switched[-1]]
            assert ("fsync", str(ix)) in calls[switched[-1]:]
    engine.close()


# -- the deployment files ------------------------------------------------------------------------------


def test_the_systemd_units_verify_and_the_cron_line_writes_where_its_user_can(tmp_path):
    service = (REPO / "deploy" / "civicsearch-reindex.service").read_text("utf-8")
    install = (REPO / "deploy" / "install.sh").read_text("utf-8")
    for needed in ("User=civicsearch", "StateDirectory=civicsearch", "CIVICSEARCH_INDEX=/var/lib/civicsearch/index",
                   "ExecStart=/opt/civicsearch/venv/bin/civicsearch reindex --quiet", "SuccessExitStatus=1"):
        assert needed in service
    # install.sh makes what the unit names: the user, its state folder, the venv.
    for made in ("useradd --system", "/var/lib/civicsearch", "venv=/opt/civicsearch/venv", "runuser -u \"$user\""):
        assert made in install
    assert subprocess.run(["bash", "-n", str(REPO / "deploy" / "install.sh")]).returncode == 0
    cron = [line for line in (REPO / "deploy" / "crontab").read_text("utf-8").splitlines() if line and line[0] != "#"]
    assert len(cron) == 1 and ">> /var/lib/civicsearch/reindex.log" in cron[0] and "/var/log/" not in cron[0]
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze here")
    # The unit as installed, its ExecStart pointed at this environment's command.
    exe = Path(sys.executable).parent / "civicsearch"
    (tmp_path / "civicsearch-reindex.service").write_text(
        service.replace("/opt/civicsearch/venv/bin/civicsearch", str(exe)), "utf-8")
    shutil.copy(REPO / "deploy" / "civicsearch-reindex.timer", tmp_path)
    serve = (REPO / "deploy" / "civicsearch-serve.service").read_text("utf-8")
    assert "--host 127.0.0.1" in serve and "User=civicsearch" in serve
    (tmp_path / "civicsearch-serve.service").write_text(
        serve.replace("/opt/civicsearch/venv/bin/civicsearch", str(exe)), "utf-8")
    verify = subprocess.run([analyze, "verify", str(tmp_path / "civicsearch-reindex.service"),
                             str(tmp_path / "civicsearch-reindex.timer"), str(tmp_path / "civicsearch-serve.service")],
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and "civicsearch-" not in verify.stderr, verify.stderr


# -- kinds of documents and their validity -----------------------------------------------------------


@pytest.mark.parametrize("title, body, kind", [
    ("上海市人民政府办公厅关于做好垃圾分类工作的通知", "各区人民政府：现将有关事项通知如下。", "通知"),
    ("关于疫情防控期间暂停营业的通告", "为做好防控，现通告如下。", "通告"),
    ("海淀区审批服务公告", "为方便群众办事，现公告如下。", "公告"),
    ("国务院关于促进民营经济发展的若干意见", "各省、自治区、直辖市人民政府：", "意见"),
    ("关于同意设立某某街道的批复", "你区《关于设立某某街道的请示》收悉。经研究，同意。此复。", "批复"),
    ("某局关于申请专项经费的请示", "市财政局：为做好工作，特申请经费。妥否，请批示。", "请示"),
    ("专题会议纪要", "会议由局长主持。会议议定如下事项。", "纪要"),
    ("中华人民共和国长江保护法", "第一章 总则\n第一条 为了加强长江流域生态环境保护，制定本法。", "法律"),
    ("野生动物保护法", "第一章 总则\n第一条 为了保护野生动物，制定本法。", "法律"),
    ("河北省河湖保护和治理条例", "第一章 总则\n第一条 为了保护河湖，根据有关法律，结合本省实际，制定本条例。", "地方性法规"),
    ("城镇排水与污水处理条例", "第一章 总则\n第一条 为了加强对城镇排水与污水处理的管理，制定本条例。", "行政法规"),
    ("最高人民法院关于审理劳动争议案件适用法律问题的解释（二）", "为正确审理劳动争议案件，制定本解释。\n第一条 劳动者……", "司法解释"),
    ("小区门口路灯不亮，晚上出行很危险，请尽快维修", "我是某小区居民，门口路灯坏了两个月，希望有关部门尽快处理，谢谢！", "留言"),
    ("某某花园物业乱收停车费", "本人是某某花园业主，物业每月多收停车费，至今没有说法，业主们都很无奈。", "留言"),
    ("", "网友“市民甲”：您好！您反映的问题已转区城管局核实办理，感谢您的留言。", "答复"),
    ("", "来信人：您好！经调查核实，该路段路灯已于本周修复。", "答复"),
    ("2025年某市人民政府工作报告", "各位代表：现在，我代表市人民政府，向大会报告工作，请予审议。", "工作报告"),
    ("某街道召开2024年安全生产工作推进会", "3月5日，街道召开安全生产工作推进会，部署全年工作。", "会议"),
    ("某区2024年老旧小区改造实施方案", "为推进老旧小区改造，制定本方案。一、工作目标……", "规划计划"),
    ("第十四届全国人民代表大会第二次会议关于政府工作报告的决议", "会议听取和审议了政府工作报告，决定批准这个报告。", "决议"),
    ("某市举办农民丰收节活动", "新华社某地9月23日电 某市今天举办农民丰收节，群众踊跃参加。", "新闻"),
    ("俄方称将继续推进和谈计划", "央视网消息：俄方表示将继续推进和谈。", "新闻"),
    # A crawler's title cut at the issuing body: the whole title opens the text.
    ("某省财政厅", "某省财政厅 某省税务局关于延长申报期限的通知 各市财政局：现将有关事项通知如下。", "通知"),
    ("某市应对疫情指挥部", "某市应对疫情指挥部公告（第3号） 根据防控需要，现公告如下。", "公告"),
    ("某省第十场新闻发布会召开", "2月10日，某省召开疫情防控新闻发布会。", "会议"),
    ("上海市人民政府令", "第12号 《上海市某某管理办法》已经市政府常务会议通过，现予公布。", "命令"),
    ("中华人民共和国国务院令 第777号", "《某某条例》已经国务院常务会议通过，现予公布。", "命令"),
    ("习近平签署国家主席令", "央视网消息：国家主席习近平签署第十号主席令。", "新闻"),
    ("关于2023年度防汛工作的通报", "各街道：现将有关情况通报如下。", "通报"),
    ("关于提请审议某某议案的议案", "全国人民代表大会常务委员会：", "议案"),
    # A news text quoting a decision is still news.
    ("全会精神引发热烈反响", "央视网消息：中共中央关于加强基层治理的决定发布后，各地干部群众表示……", "新闻"),
])
def test_document_kinds_from_title_opening_and_form(title, body, kind):
    assert document_kind(title, body) == kind


def test_a_declared_kind_wins(tmp_path):
    assert document_kind("某某事项", "正文。", record={"文种": "通报"}) == "通报"
    assert document_kind("某某事项", "正文。", header={"公文种类": "决定"}) == "决定"


def test_validity_reads_a_repeal_in_the_texts_own_history(small):
    assert small.get("repealed").validity == "已废止"
    assert "repealed" in {h.id for h in small.search("河道管理")}
    assert "repealed" not in {h.id for h in small.search("河道管理", in_force=True)}
