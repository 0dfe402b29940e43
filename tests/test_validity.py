"""Validity (时效性): what a text says about its own force, the validity facet and --in-force."""

from __future__ import annotations

import json
from datetime import date
from typing import Iterator

import pytest
from click.testing import CliRunner

from civicsearch import SearchEngine
from civicsearch.cli import cli
from civicsearch.errors import InvalidArgumentError
from civicsearch.fields.validity import _extract, status
from civicsearch.ingest.documents import build_document
from civicsearch.ingest.readers import RawRecord

NEXT_YEAR = date.today().year + 1
RECORDS = [
    {"id": "amended", "title": "某市河道管理条例", "text": "（1995年6月16日某市第十届人民代表大会常务委员会第十九次会议通过 "
     "根据2010年9月17日某市第十三届人民代表大会常务委员会第二十一次会议《关于修改本市部分地方性法规的决定》修正）\n"
     "第一条 为了加强河道管理，制定本条例。\n第二条 本条例自1995年10月1日起施行。"},
    {"id": "expired", "title": "关于疫情期间河道保洁补贴的通知",
     "text": "一、对河道保洁企业给予补贴。\n二、本通知自发布之日起暂执行至2020年6月30日止。"},
    {"id": "running", "title": "关于河道保洁补贴延续的通知",
     "text": f"一、继续对河道保洁企业给予补贴。\n二、本通知有效期至{NEXT_YEAR + 5}年12月31日。"},
    {"id": "pending", "title": "某省河道保护条例", "text": f"第一条 为了保护河道，制定本条例。\n第二条 本条例自{NEXT_YEAR}年1月1日起施行。"},
    {"id": "repealed", "title": "某市河道采砂管理办法（已废止）", "text": "第一条 为了管理河道采砂，制定本办法。"},
    {"id": "header", "title": "某区河道整治方案", "text": "时效性：失效\n发布机构：某区水务局\n一、整治河道。"},
    {"id": "silent", "title": "河道管理规定", "text": "第一条 为了管理河道，制定本规定。\n第二条 本规定自1998年1月1日起施行。"},
    {"id": "cited", "title": "某市河道清淤办法", "text": "第一条 为了清淤河道，制定本办法。\n第九条 2001年5月8日某市第十一届人民代表大会"
     "常务委员会第二十次会议修正的《某市河道清淤规定》同时废止。"},
]


def _validity(record: dict, today: date | None = None) -> str | None:
    doc = build_document(RawRecord(record["id"], "v.jsonl", record["text"], {"title": record["title"]}))
    value = _extract(doc)
    return status(value, today) if value else None


@pytest.mark.parametrize("record, expected", list(zip(RECORDS, [
    "已修改", "已失效", "有效", "尚未生效", "已废止", "已失效", None, None])))
def test_validity_is_what_the_text_says(record, expected):
    assert _validity(record) == expected


@pytest.mark.parametrize("text, expected", [
    ("（1989年12月26日第七届全国人民代表大会常务委员会第十一次会议通过　2014年4月24日第十二届全国人民代表大会"
     "常务委员会第八次会议修订）\n第一条 为了保护环境，制定本法。", "已修改"),
    ("（2005年8月28日通过 根据2018年10月26日《全国人民代表大会常务委员会关于修改〈某法〉等十五部法律的决定》"
     "第三次修正）\n第一条 为了……", "已修改"),
    ("（1995年6月16日某市第十届人民代表大会常务委员会第十九次会议通过、1997年第一次修正）\n第一条 为了……", "已修改"),
    ("第一条 市人民政府2019年修订了实施细则，各区应当执行。", None),
    ("第一条 为了……\n第九条 本办法自2016年1月1日起施行，有效期5年。", "已失效"),
    ("第一条 为了……\n第九条 本办法自2016年1月1日起施行，有效期为三年。", "已失效"),
    ("第一条 为了……\n第九条 以上措施自2016年1月1日起执行，有效期至2018年12月31日。", "已失效"),
    ("两国于2010年签署条约，有效期到2026年2月5日。", None),
    ("依据《某市城市总体规划（2006-2020年）（2017年修订）》，该地块为居住用地。", None),
    ("规划年限为2020年）（2017年修订）》，该地块为居住用地。", None),
    ("根据《幼儿园工作规程》（2016年修订，教育部令第39号），幼儿园应当……", None),
    ("第一条 驾驶证有效期至2018年12月31日的，可以延期换证。\n第九条 本办法自2016年1月1日起施行。", None),
    ("第十条 有关部门应当根据实施情况及时修订配套规定。", None),
    ("第三十条 本条例自2000年1月1日起施行。1990年某省第七届人民代表大会常务委员会第十次会议通过、"
     "1997年5月27日某省第八届人民代表大会常务委员会第二十八次会议修正的《某省某某条例》同时废止。", None),
])
def test_only_the_texts_own_history_says_it_was_amended(text, expected):
    assert _validity({"id": "h", "title": "某某条例", "text": text}) == expected


@pytest.mark.parametrize("header, expected", [("现行有效", "有效"), ("已废止", "已废止"), ("失效", "已失效"),
                                              ("部分失效", "有效"), ("已被修改", "已修改"), ("尚未生效", "尚未生效")])
def test_a_headers_validity_is_taken_as_said(header, expected):
    assert _validity({"id": "h", "title": "某某办法", "text": f"时效性：{header}\n发布机构：某局\n第一条 为了……"}) == expected


def test_validity_is_decided_on_the_day_of_the_search():
    running, pending = RECORDS[2], RECORDS[3]
    assert _validity(running, date(NEXT_YEAR + 6, 1, 1)) == "已失效"
    assert _validity(pending, date(NEXT_YEAR, 1, 1)) is None  # in force from that day; nothing more is known
    assert _validity(RECORDS[1], date(2020, 6, 30)) == "有效"  # its last day


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchEngine]:
    root = tmp_path_factory.mktemp("validity-corpus")
    (root / "v.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS) + "\n", "utf-8")
    eng = SearchEngine(tmp_path_factory.mktemp("validity-index"))
    assert eng.index([root]).added == len(RECORDS)
    yield eng
    eng.close()


def test_in_force_drops_what_is_known_not_to_be_in_force(engine):
    every = {h.doc_id for h in engine.search("河道", limit=50).hits}
    kept = {h.doc_id for h in engine.search("河道", in_force=True, limit=50).hits}
    assert every == {r["id"] for r in RECORDS}
    assert kept == {"amended", "running", "silent", "cited"}
    assert engine.search("河道", in_force=False).total == len(RECORDS)
    with pytest.raises(InvalidArgumentError, match="in_force: must be bool"):
        engine.search("河道", in_force="yes")


def test_validity_is_a_hit_key_and_a_facet(engine):
    res = engine.search("河道", limit=50)
    by_id = {h.doc_id: h.to_dict()["validity"] for h in res.hits}
    assert by_id["amended"] == "已修改" and by_id["silent"] is None
    facet = {v.value: v.count for v in res.facets["validity"]}
    assert facet == {"已失效": 2, "已修改": 1, "有效": 1, "尚未生效": 1, "已废止": 1}
    narrowed = engine.search("河道", in_force=True, limit=50)
    assert {v.value for v in narrowed.facets["validity"]} == {"已修改", "有效"}


def test_in_force_on_the_command_line(engine):
    runner = CliRunner()
    out = runner.invoke(cli, ["--index", str(engine.index_dir), "search", "河道", "--in-force", "--json"])
    assert out.exit_code == 0, out.output
    assert {h["id"] for h in json.loads(out.output)["hits"]} == {"amended", "running", "silent", "cited"}
    shown = runner.invoke(cli, ["--index", str(engine.index_dir), "show", "amended"])
    assert "validity: 已修改 (amended 2010-09-17, in force from 1995-10-01)" in shown.output
