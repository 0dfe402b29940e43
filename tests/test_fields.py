"""The metadata field registry, the document type filter and issuing bodies (发文机关)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner
from conftest import CORPUS, REPO

from civicsearch import SearchEngine
from civicsearch.cli import cli
from civicsearch.errors import IndexVersionError, InvalidArgumentError
from civicsearch.fields import registry
from civicsearch.index.schema import META_FILE
from civicsearch.index.store import current_generation
from civicsearch.ingest.documents import build_document
from civicsearch.ingest.orgs import from_docno, issuing_bodies, normalize, parents
from civicsearch.ingest.readers import RawRecord

RECORDS = [
    {"id": "npc-law", "title": "某某保护法", "date": "2019-01-01",
     "text": "（2019年1月1日第十三届全国人民代表大会常务委员会第七次会议通过）\n第一条 为了保护湿地，制定本法。\n第二条 湿地保护适用本法。"},
    {"id": "npc-resolution", "title": "第十四届全国人民代表大会第二次会议关于政府工作报告的决议", "date": "2024-03-11",
     "text": "第十四届全国人民代表大会第二次会议听取和审议了政府工作报告，决定批准这个报告。湿地保护写入报告。"},
    {"id": "town-notice", "title": "关于暂停政务服务中心线下窗口服务的通告", "date": "2020-02-02",
     "text": "广大市民朋友：\n为防止疫情扩散，决定暂停线下窗口服务，湿地公园同时关闭。\n特此通告。\n泰州市海陵区行政审批局\n2020年2月2日"},
    {"id": "joint-notice", "title": "关于支持疫情防控有关税收政策的公告",
     "text": "现就有关税收政策公告如下：一、对疫情防控重点保障物资生产企业全额退还增值税，湿地保护企业同样适用。 "
             "二、本公告自2020年1月1日起实施。 财政部 税务总局 2020年2月6日"},
    {"id": "numbered", "title": "上海市加快湿地建设的若干措施", "date": "2020-03-01",
     "text": "沪府办发〔2020〕3号\n各区人民政府，市政府各委、办、局：\n现将湿地建设措施印发给你们，请认真执行。"},
    {"id": "explicit", "title": "嘉定镇街道湿地整治工作计划", "org": "嘉定镇街道办事处", "date": "2023-01-04",
     "url": "https://example.org/plan", "text": "索引号：00001434-9/2023-00000020\n主题分类：重大行动计划\n"
                                                "一、目标。完成湿地整治。二、措施。街道各部门配合。"},
    {"id": "news", "title": "湿地公园迎来候鸟", "source": "新华社", "date": "2023-02-01",
     "text": "新华社北京2月1日电 记者从国家林业和草原局获悉，湿地公园迎来候鸟。国务院有关部门表示将加强保护。"},
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchEngine]:
    root = tmp_path_factory.mktemp("org-corpus")
    (root / "docs.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS) + "\n", "utf-8")
    for seed in sorted(CORPUS.glob("*.txt")):
        (root / seed.name).write_bytes(seed.read_bytes())
    eng = SearchEngine(tmp_path_factory.mktemp("org-index"))
    report = eng.index([root])
    assert not report.skipped and report.added == len(RECORDS) + 5
    eng.corpus = root  # type: ignore[attr-defined]
    yield eng
    eng.close()  # its files closed now, not whenever the collector gets to them


def _orgs(record: dict) -> list[str]:
    fields = {k: v for k, v in record.items() if k not in ("id", "text")}
    doc = build_document(RawRecord(record["id"], "docs.jsonl", record["text"], fields))
    return issuing_bodies(doc.record, doc.meta, doc.title, doc.body, doc.source)


# -- the registry ----------------------------------------------------------------


def test_every_field_round_trips_from_the_document_through_the_index_to_its_hit(engine):
    """Walks the registry: every field some document gives comes back, decoded, on the hit
    and the document record exactly as the field describes the extracted value."""
    root = engine.corpus
    raws = [RawRecord(r["id"], str(root / "docs.jsonl"), r["text"], {k: v for k, v in r.items() if k not in ("id", "text")},
                      line=n)
            for n, r in enumerate(RECORDS, 1)]
    given: set[str] = set()
    for raw in raws:
        values = registry.extract(build_document(raw))
        given |= values.keys()
        expected_hit = registry.describe(values)
        expected_record = registry.describe(values, record=True)
        record = engine.get(raw.doc_id)
        for key, value in expected_record.items():
            assert record.fields[key] == value, (raw.doc_id, key)
        hits = [h for h in engine.search(record.title, limit=50, collapse=False).hits if h.doc_id == raw.doc_id]
        assert hits, raw.doc_id
        as_json = hits[0].to_dict()
        for key, value in expected_hit.items():
            assert as_json[key] == value, (raw.doc_id, key)
            assert getattr(hits[0], key) == value
    names = {f.name for f in registry.fields()}
    # The fixture gives every field a value somewhere (else the walk above proves nothing for it).
    assert names == given
    seeds = SearchEngine(engine.index_dir).search("嘉定镇街道", limit=20)
    seed_values = [h.fields for h in seeds.hits]
    assert any(v["place_code"] for v in seed_values)


def test_every_facet_a_field_declares_comes_back_with_a_search(engine):
    res = engine.search("湿地", since="2020-01", until="2020-12")
    for name in registry.facet_names():
        assert name in res.facets, name
    assert {v.value for v in res.facets["month"]} >= {"2020-02", "2020-03"}


def test_fields_declare_their_whoosh_fields_once_and_the_schema_holds_them():
    from civicsearch.fields.flags import Date
    from civicsearch.index.schema import make_schema, unkept

    schema = make_schema()
    dates = set()
    for f in registry.fields():
        for name, flag in f.schema.items():
            if isinstance(flag, Date):  # filtered by the field's column: no Whoosh terms
                dates.add(name)
                assert name not in schema.names(), (f.name, name)
            else:
                assert name in schema.names(), (f.name, name)
        if f.column:
            assert f.column in f.schema
    assert unkept() == dates and {"date", "valid_from", "valid_until"} <= dates
    with pytest.raises(ValueError, match="declared twice"):
        registry.register(registry.MetaField(name="org", extract=lambda doc: None))


def test_unknown_filters_and_wrong_types_are_refused(engine):
    with pytest.raises(InvalidArgumentError, match="unknown filter 'organ'"):
        engine.search("湿地", organ="国务院")
    with pytest.raises(InvalidArgumentError, match="org: must be str"):
        engine.search("湿地", org=3)


def test_an_index_built_with_other_fields_asks_to_be_rebuilt(tmp_path):
    eng = SearchEngine(tmp_path / "ix")
    eng.index([CORPUS])
    eng.close()
    meta_path = current_generation(tmp_path / "ix") / META_FILE
    meta = json.loads(meta_path.read_text("utf-8"))
    meta["fields"].pop("org")
    meta_path.write_text(json.dumps(meta), "utf-8")
    with pytest.raises(IndexVersionError, match=r"org.*full=True"):
        SearchEngine(tmp_path / "ix").search("加装电梯")
    meta["schema_version"] = 5
    meta_path.write_text(json.dumps(meta), "utf-8")
    result = CliRunner().invoke(cli, ["--index", str(tmp_path / "ix"), "search", "加装电梯"])
    assert result.exit_code == 1 and "index --full" in result.output and "Traceback" not in result.output


def test_the_readme_documents_every_facet_and_hit_key():
    readme = (REPO / "README.md").read_text("utf-8")
    for name in registry.facet_names():
        assert f"`{name}`" in readme, name
    for f in registry.fields():
        if f.in_hits:
            for key in f.keys:
                assert f"`{key}`" in readme or f'"{key}"' in readme, key


# -- document type -----------------------------------------------------------------


def test_type_filter_keeps_only_that_type(engine):
    everything = engine.search("湿地", limit=50)
    types = {h.doc_type for h in everything.hits}
    assert len(types) >= 2
    for t in types - {None}:
        narrowed = engine.search("湿地", type=t, limit=50)
        assert narrowed.total == sum(1 for h in everything.hits if h.doc_type == t) > 0
        assert {h.doc_type for h in narrowed.hits} == {t}
        assert [v.value for v in narrowed.facets["type"]] == [t]
    # A kind no document has is an error naming the kinds the index holds, not an empty answer.
    with pytest.raises(InvalidArgumentError, match=r"type: '没有这种类型' names none of the document types in the index; "
                                                   r"the index holds: .*新闻") as e:
        engine.search("湿地", type="没有这种类型")
    assert e.value.for_cli().startswith("--type: '没有这种类型'")


# -- issuing bodies: extraction -------------------------------------------------------


@pytest.mark.parametrize("record, expected", [
    (RECORDS[0], ["全国人民代表大会常务委员会"]),
    (RECORDS[1], ["全国人民代表大会"]),
    (RECORDS[2], ["泰州市海陵区行政审批局"]),
    (RECORDS[3], ["财政部", "国家税务总局"]),
    (RECORDS[4], ["上海市人民政府办公厅"]),
    (RECORDS[5], ["嘉定镇街道办事处"]),
    (RECORDS[6], []),
    ({"id": "x", "title": "国务院办公厅关于延长2020年春节假期的通知", "text": "经国务院批准，春节假期延长。"}, ["国务院办公厅"]),
    ({"id": "x", "title": "2026年湖南省政府工作报告", "text": "各位代表：现在，我代表省人民政府向大会报告工作。"}, ["湖南省人民政府"]),
    ({"id": "x", "title": "最高人民法院 最高人民检察院关于办理案件适用法律若干问题的解释", "text": "第一条 ……"},
     ["最高人民法院", "最高人民检察院"]),
    ({"id": "x", "title": "北京市某某条例",
      "text": "（1992年9月19日北京市第九届人民代表大会常务委员会第三十六次会议通过）\n第一条 为了……"},
     ["北京市人民代表大会常务委员会"]),
    ({"id": "x", "title": "某某条例", "text": "（中华人民共和国国务院令第588号）\n第一条 为了……"}, ["国务院"]),
    ({"id": "x", "title": "告市民书",
      "text": "请市民配合。\n广西壮族自治区新型冠状病毒感染的肺炎疫情\n防控工作领导小组指挥部\n2020年2月8日"},
     ["广西壮族自治区新型冠状病毒感染的肺炎疫情防控工作领导小组指挥部"]),
])
def test_issuing_bodies_come_from_what_the_document_says(record, expected):
    assert _orgs(record) == expected


@pytest.mark.parametrize("record", [
    {"id": "x", "title": "城关镇", "text": "城关镇召开会议。"},
    # A decision of another body, cited: not this document's enacting line.
    {"id": "x", "title": "某某条例", "text": "第一条 1996年山东省第八届人民代表大会常务委员会第二十四次会议通过的《决定》同时废止。"},
    # A date that does not close the document, and a speaker before a body's name.
    {"id": "x", "title": "通知", "text": "他说财政部 2020年2月20日将召开会议，请各单位准时参加，并提前报送材料。"},
    {"id": "x", "title": "通知", "text": "根据国办发〔2020〕1号文件精神，现通知如下。"},  # a cited number
    {"id": "x", "title": "新闻", "source": "人民日报", "text": "记者获悉，某地开展活动。"},
    # A document cited by its title in the opening line of a news item.
    {"id": "x", "title": "乡村振兴文件发布", "text": "《中共中央 国务院关于做好全面推进乡村振兴重点工作的意见》今天发布。"},
])
def test_no_evidence_gives_no_issuing_body(record):
    assert _orgs(record) == []


def test_names_are_normalised_and_know_their_parents():
    assert normalize("全国人大常委会") == "全国人民代表大会常务委员会"
    assert normalize("中华人民共和国教育部") == "教育部"
    assert normalize("上海市政府") == "上海市人民政府"
    assert normalize("人力资源社会保障部办公厅") == "人力资源和社会保障部办公厅"
    assert normalize("國務院辦公廳") == "国务院办公厅"
    assert parents("全国人民代表大会常务委员会") == ["全国人民代表大会"]
    assert parents("上海市人民政府办公厅") == ["上海市人民政府"]
    assert parents("财政部") == []
    assert from_docno("国办发") == "国务院办公厅" and from_docno("沪府办发") == "上海市人民政府办公厅"
    assert from_docno("法工委发") is None  # a one-character prefix needs a series ending to match


def test_the_prefix_table_covers_the_state_council_and_every_province():
    from civicsearch.ingest.orgs import _table

    names = set(_table()[1].values())
    provinces = ["北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省", "上海市", "江苏省",
                 "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省",
                 "广西壮族自治区", "海南省", "重庆市", "四川省", "贵州省", "云南省", "西藏自治区", "陕西省", "甘肃省",
                 "青海省", "宁夏回族自治区", "新疆维吾尔自治区"]
    for p in provinces:
        assert f"{p}人民政府" in names and f"{p}人民政府办公厅" in names, p
    assert {"国务院", "国务院办公厅", "财政部", "教育部", "国家卫生健康委员会"} <= names


# -- issuing bodies: search ---------------------------------------------------------------


def _ids(res) -> set[str]:
    return {h.doc_id for h in res.hits}


def test_org_filter_matches_a_name_its_parent_and_an_unambiguous_part(engine):
    assert _ids(engine.search("湿地", org="全国人民代表大会常务委员会")) == {"npc-law"}
    # The NPC finds its standing committee's laws too.
    assert _ids(engine.search("湿地", org="全国人民代表大会")) == {"npc-law", "npc-resolution"}
    assert _ids(engine.search("湿地", org="全国人大")) == {"npc-law", "npc-resolution"}
    assert _ids(engine.search("湿地", org="海陵区行政审批")) == {"town-notice"}
    assert _ids(engine.search("湿地", org="税务总局")) == {"joint-notice"}
    assert _ids(engine.search("湿地", org="上海市人民政府")) == {"numbered"}
    with pytest.raises(InvalidArgumentError, match="'外交部' names none of the issuing bodies"):
        engine.search("湿地", org="外交部")
    with pytest.raises(InvalidArgumentError, match="issuing bodies"):
        engine.search("湿地", org="人民")  # 全国人民代表大会, 上海市人民政府 …


def test_org_is_a_hit_key_and_a_facet(engine):
    res = engine.search("湿地", limit=50)
    by_id = {h.doc_id: h for h in res.hits}
    assert by_id["joint-notice"].org == ["财政部", "国家税务总局"]
    assert by_id["news"].to_dict()["org"] == []
    facet = {v.value: v.count for v in res.facets["org"]}
    assert facet["财政部"] == 1 and facet["全国人民代表大会"] == 1


def test_org_on_the_command_line(engine):
    runner = CliRunner()
    base = ["--index", str(engine.index_dir), "search", "湿地"]
    out = runner.invoke(cli, base + ["--org", "全国人民代表大会", "--json"])
    assert out.exit_code == 0, out.output
    assert {h["id"] for h in json.loads(out.output)["hits"]} == {"npc-law", "npc-resolution"}
    text = runner.invoke(cli, base + ["--org", "税务总局"])
    assert "财政部、国家税务总局" in text.output
    bad = runner.invoke(cli, base + ["--org", "人民"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: --org") and "Traceback" not in bad.output
    shown = runner.invoke(cli, ["--index", str(engine.index_dir), "show", "joint-notice"])
    assert "issuing body: 财政部、国家税务总局" in shown.output


def test_show_lists_every_labelled_field(engine):
    record = engine.get("town-notice")
    labels = [label for label, _ in record.rows]
    assert {"date", "issuing body", "type"} <= set(labels)
    assert isinstance(Path(record.path), Path)


def test_every_subpackage_is_installed():
    """An installed civicsearch holds every package of the source tree (the field modules among them)."""
    import re

    listed = re.search(r"^packages = \[(.*?)\]$", (REPO / "pyproject.toml").read_text("utf-8"), re.M | re.S)
    assert listed
    packages = set(re.findall(r'"([^"]+)"', listed.group(1)))
    for init in (REPO / "civicsearch").rglob("__init__.py"):
        assert ".".join(init.parent.relative_to(REPO).parts) in packages, init
