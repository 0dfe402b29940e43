"""The search page and the JSON API (``civicsearch serve``), watches and their feeds (issue 30)."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree as ET

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
from conftest import CORPUS  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from civicsearch import SearchEngine  # noqa: E402
from civicsearch.api import watches  # noqa: E402
from civicsearch.web import ATOM, MAX_EXPORT, create_app  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "tests" / "artifacts"
PLACES = ["上海市嘉定区", "北京市朝阳区", "上海市浦东新区", "四川省成都市"]
#: Sentences the made documents draw from, so that they are not reposts of each other.
PHRASES = [f"{a}{b}。" for a in ("居民", "物业", "街道", "社区", "业委会", "施工方", "设计院", "志愿者")
           for b in ("召开协调会议", "征求意见", "公示方案", "完成审批", "开工建设", "验收合格", "申请补贴")]
HOSTILE_TITLE = "<script>alert('标题')</script>加装电梯通知"


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def make_corpus(folder: Path) -> Path:
    """The seeds, 30 records about lifts across places and years, and hostile ones."""
    corpus = folder / "corpus"
    shutil.copytree(CORPUS, corpus)
    rng = random.Random(30)
    rows = [{"id": f"lift-{i:02d}", "title": f"{PLACES[i % 4][-3:]}第{i}批老旧小区加装电梯工作推进情况",
             "date": f"{2021 + i % 3}-{1 + i % 12:02d}-15", "place": PLACES[i % 4],
             "text": f"{PLACES[i % 4]}第{i}批老旧小区加装电梯工作稳步推进。"
                     + "".join(rng.sample(PHRASES, 12)) + "加装电梯补贴申请流程简化。"}
            for i in range(30)]
    rows += [
        {"id": "hostile", "title": HOSTILE_TITLE, "url": "javascript:alert(1)", "place": "<b>上海</b>",
         "text": "正文<img src=x onerror=alert(1)>关于加装电梯的说明。\"'&<>"},
        {"id": "a/../../etc/passwd", "title": "奇怪的编号", "text": "编号里有斜杠的文档：河道保洁。"},
    ]
    write_jsonl(corpus / "lifts.jsonl", rows)
    return corpus


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, Path]:
    folder = tmp_path_factory.mktemp("web")
    corpus = make_corpus(folder)
    engine = SearchEngine(folder / "ix")
    engine.index([corpus])
    engine.close()
    with TestClient(create_app(folder / "ix")) as client:
        yield client, folder / "ix"


# -- the JSON API -----------------------------------------------------------------------------


def test_api_search_is_the_cli_json_plus_a_suggestion(served):
    client, ix = served
    r = client.get("/api/search", params={"q": "加装电梯", "place": "上海", "since": "2022", "limit": 5})
    assert r.status_code == 200
    body = r.json()
    with SearchEngine(ix) as engine:
        want = engine.search("加装电梯", place="上海", since="2022", limit=5).to_dict()
    for hit in want["hits"]:
        hit["path"] = None  # paths are not shown unless --show-paths
    assert body == want and "suggestion" in body and body["total"] > 5


@pytest.mark.parametrize("params, status, message", [
    ({"q": "加装电梯", "limit": 0}, 400, "limit: must be between 1 and 100, not 0"),
    ({"q": "加装电梯", "limit": "many"}, 400, "limit: "),
    ({"q": "加装电梯", "offset": 10**12}, 400, "offset: must be between 0 and 10,000"),
    ({"q": "加装电梯", "since": "2023-02-30"}, 400, "since: '2023-02-30' is not a date of the calendar"),
    ({"q": "加装电梯", "place": "xyz"}, 400, "place: 'xyz' names none of the places in the index"),
    ({"q": "加装电梯", "sort": "newest"}, 400, "sort: "),
    ({"q": "  "}, 400, "the query is empty"),
    ({"q": "x" * 5000}, 400, "q: is 5,000 characters long"),
    ({}, 400, "q: "),
])
def test_bad_input_is_a_4xx_with_one_line(served, params, status, message):
    client, _ = served
    r = client.get("/api/search", params=params)
    assert r.status_code == status and r.json()["error"].startswith(message), r.text
    assert "\n" not in r.json()["error"] and "Traceback" not in r.text


def test_documents_by_id_never_by_path(served):
    client, _ = served
    assert client.get("/api/documents/lift-03").json()["title"].endswith("加装电梯工作推进情况")
    odd = client.get("/api/documents/" + quote("a/../../etc/passwd", safe=""))
    assert odd.status_code == 200 and odd.json()["id"] == "a/../../etc/passwd"
    assert client.get("/api/documents/" + quote("/etc/passwd", safe="")).status_code == 404
    assert client.get("/api/documents/lift-03").json()["path"] is None


def test_a_missing_or_damaged_index_is_a_503_that_says_so(tmp_path):
    with TestClient(create_app(tmp_path / "none")) as client:
        for url in ("/healthz", "/api/search?q=电梯", "/api/stats"):
            r = client.get(url)
            assert r.status_code == 503 and r.json()["error"].startswith("no index at"), url
        page = client.get("/?q=电梯")
        assert page.status_code == 503 and "no index at" in page.text


def test_export_streams_every_hit_up_to_its_bound(served):
    client, _ = served
    csv = client.get("/api/export.csv", params={"q": "加装电梯"})
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert csv.status_code == 200 and lines[0].startswith("id,title,date,place")
    assert len(lines) - 1 == client.get("/api/search", params={"q": "加装电梯"}).json()["total"] > 30
    jsonl = client.get("/api/export.jsonl", params={"q": "加装电梯", "place": "北京", "limit": 3})
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    assert len(rows) == 3 and all(r["place"].startswith("北京市") for r in rows)
    assert client.get("/api/export.csv", params={"q": "加装电梯", "limit": MAX_EXPORT + 1}).status_code == 400


def test_every_error_has_the_same_one_line_form(served):
    client, _ = served
    for url, status in (("/api/nowhere", 404), ("/api/documents/", 404), ("/feeds/x.atom", 404)):
        r = client.get(url)
        assert r.status_code == status and "\n" not in r.json()["error"], url
    assert client.post("/api/search?q=x").json()["error"] == "method not allowed"
    page = client.get("/nowhere")
    assert page.status_code == 404 and "no such page" in page.text and page.headers["content-type"].startswith("text/html")


def test_openapi_health_stats_facets_and_suggest(served):
    client, _ = served
    schema = client.get("/openapi.json").json()
    assert {"/api/search", "/api/documents/{doc_id}", "/api/export.csv", "/api/export.jsonl", "/healthz",
            "/feeds/{name}.atom", "/api/suggest", "/api/facets", "/api/stats"} <= set(schema["paths"])
    names = {p["name"] for p in schema["paths"]["/api/search"]["get"]["parameters"]}
    assert {"q", "place", "since", "until", "topic", "type", "org", "in_force", "sort", "limit", "offset"} <= names
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/api/stats").json()["index_dir"] is None
    facets = client.get("/api/facets", params={"q": "加装电梯"}).json()["facets"]
    assert {f["label"] for f in facets["place"]} >= {"上海市", "北京市"}
    assert client.get("/api/suggest", params={"q": "佳装电梯"}).json()["suggestion"] == "加装电梯"
    assert client.get("/api/suggest", params={"q": "加装电梯"}).json()["suggestion"] is None


# -- the page -------------------------------------------------------------------------------------


def test_the_page_escapes_every_value_from_a_document(served):
    client, _ = served
    r = client.get("/", params={"q": "加装电梯 说明"})
    assert r.status_code == 200
    page = r.text
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<img" not in page
    assert "<b>上海</b>" not in page
    doc = client.get("/documents/hostile").text
    assert "<script>" not in doc and "javascript:" not in re.sub(r"<td>javascript:alert\(1\)</td>", "", doc)
    assert not re.search(r"href=['\"]javascript:", doc)
    assert "<img" not in doc
    for response in (r, client.get("/documents/hostile"), client.get("/api/search?q=电梯")):
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_page_keeps_the_query_offers_facets_paging_and_a_suggestion(served):
    client, _ = served
    page = client.get("/", params={"q": "加装电梯"}).text
    assert 'value="加装电梯"' in page and "<mark>" in page and "下一页" in page
    assert "place=31" in page and "since=2021&amp;until=2021" in page  # drill down, year → month
    year = client.get("/", params={"q": "加装电梯", "since": "2021", "until": "2021"}).text
    assert "月份" in year and "since=2021-" in year
    assert "/api/export.csv?" in page and "/api/export.jsonl?" in page
    typo = client.get("/", params={"q": "佳装电梯"}).text
    assert "您是不是要找" in typo and "q=%E5%8A%A0%E8%A3%85%E7%94%B5%E6%A2%AF" in typo


# -- watches and feeds -------------------------------------------------------------------------------


def test_a_watch_records_what_each_run_brings_and_serves_it_as_atom(tmp_path):
    corpus = make_corpus(tmp_path)
    ix = tmp_path / "ix"
    run = lambda *a: subprocess.run([sys.executable, "-m", "civicsearch", "--index", str(ix), *a],  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    assert run("index", str(corpus)).returncode == 0
    assert run("watch", "add", "lifts", "加装电梯", "--place", "北京").returncode == 0
    assert run("watch", "add", "lifts", "电梯").stderr.startswith("Error: a watch named 'lifts' exists")
    assert run("watch", "add", "bad/name", "电梯").returncode == 1
    assert run("watch", "add", "nowhere", "电梯", "--place", "xyz").returncode == 1  # checked when saved
    write_jsonl(corpus / "new.jsonl", [
        {"id": "bj-new", "title": "北京市朝阳区加装电梯新政策", "place": "北京市朝阳区", "text": "朝阳区加装电梯补贴提高。"},
        {"id": "sh-new", "title": "上海市加装电梯新政策", "place": "上海市", "text": "上海加装电梯补贴提高。"},
        {"id": "bj-other", "title": "北京市河道保洁", "place": "北京市", "text": "河道保洁安排。"}])
    assert run("reindex").returncode == 0
    entries = json.loads(run("watch", "show", "lifts", "--json").stdout)["entries"]
    assert [e["id"] for e in entries] == ["bj-new"]  # only what the run added and the watch matches
    assert run("reindex", "--full").returncode == 0  # the watch survives a rebuild
    assert json.loads(run("watch", "list", "--json").stdout)[0]["name"] == "lifts"
    with TestClient(create_app(ix)) as client:
        r = client.get("/feeds/lifts.atom")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
        feed = ET.fromstring(r.content)
        ns = {"a": ATOM}
        assert feed.tag == f"{{{ATOM}}}feed"
        for required in ("id", "title", "updated", "author/a:name"):
            assert feed.find(f"a:{required}", ns) is not None, required
        items = feed.findall("a:entry", ns)
        assert len(items) >= 1 and items[0].find("a:title", ns).text == "北京市朝阳区加装电梯新政策"
        for item in items:
            assert all(item.find(f"a:{t}", ns) is not None for t in ("id", "title", "updated", "link"))
        assert client.get("/feeds/none.atom").status_code == 404
    assert run("watch", "rm", "lifts").returncode == 0
    assert watches.all_watches(ix) == []


# -- the API fuzzed from its own schema ----------------------------------------------------------------


def test_the_api_never_fails_on_what_its_schema_allows(served):
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, settings
    from schemathesis.checks import not_a_server_error

    client, _ = served
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures = []
    for operation in schema.get_all_operations():
        op = operation.ok()
        strategy = op.as_strategy()

        # Fixed examples in the suite (no flaky CI); $CIVICSEARCH_FUZZ_EXAMPLES for a longer, random run.
        longer = os.environ.get("CIVICSEARCH_FUZZ_EXAMPLES")

        @settings(max_examples=int(longer or 40), deadline=None, suppress_health_check=list(HealthCheck),
                  database=None, derandomize=not longer)
        def run(case) -> None:  # noqa: ANN001
            response = case.call()
            if response.status_code >= 500:
                failures.append((op.path, case.query, response.status_code, response.text[:200]))
            elif response.status_code >= 400:
                assert "\n" not in response.json()["error"]
            case.validate_response(response, checks=[not_a_server_error])

        from hypothesis import given

        given(strategy)(run)()
    assert not failures, failures[:5]


# -- a real browser ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def server(tmp_path: Path):
    corpus = make_corpus(tmp_path)
    ix = tmp_path / "ix"
    SearchEngine(ix).index([corpus])
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "civicsearch", "--index", str(ix), "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_a_person_searches_in_a_real_browser(server):
    if _chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium for the browser test")
        pytest.skip("no chromium on this machine")
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(server + "/")
            page.fill("input[name=q]", "加装电梯")
            page.press("input[name=q]", "Enter")
            page.wait_for_url("**/?q=*")
            assert page.locator(".hit").count() > 0, page.content()[:3000]
            assert page.locator("mark").count() > 0 and "加装电梯" in page.locator("mark").first.inner_text()
            page.screenshot(path=str(ARTIFACTS / "search-page.png"), full_page=True)
            total = int(re.search(r"共 ([\d,]+) 条", page.inner_text("main")).group(1).replace(",", ""))
            # A place facet: the count narrows to that province.
            page.click(".facet:has(h3:text('地区')) a:text('北京市')")
            page.wait_for_selector(".chips")
            narrowed = int(re.search(r"共 ([\d,]+) 条", page.inner_text("main")).group(1).replace(",", ""))
            assert 0 < narrowed < total and "地区：11" in page.inner_text(".chips")
            # A year facet: a month facet appears.
            page.click(".facet:has(h3:text('年份')) li a >> nth=0")
            page.wait_for_selector(".facet h3:text('月份')")
            page.click(".chips a:has-text('地区')")  # remove a filter
            page.wait_for_selector(".hit")
            page.goto(server + "/?q=" + quote("加装电梯"))
            page.click("a[rel=next]")
            page.wait_for_selector(".hit")
            assert "第 11–" in page.inner_text("main")
            page.click(".hit h2 a >> nth=0")
            page.wait_for_selector("article")
            assert page.locator("article mark").count() > 0 and "返回搜索结果" in page.inner_text("article")
            page.goto(server + "/?q=" + quote("佳装电梯"))
            page.click(".suggest a")
            page.wait_for_selector(".hit")
            assert page.input_value("input[name=q]") == "加装电梯"
            href = page.get_attribute(".export a >> nth=0", "href")
            exported = page.request.get(server + href)
            assert exported.status == 200 and exported.text().lstrip("\ufeff").startswith("id,title")
            page.set_viewport_size({"width": 390, "height": 800})  # a phone's width
            page.reload()
            assert page.evaluate("document.documentElement.scrollWidth") <= 400
        finally:
            browser.close()
