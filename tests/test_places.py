from __future__ import annotations

import pytest
from conftest import seed
from test_cleaning import doc

from civicsearch.ingest.places import gazetteer, resolve, short_forms

EXPECTED = {
    "000": ("310114004", "上海市/嘉定区/嘉定镇街道"),
    "001": ("310114004", "上海市/嘉定区/嘉定镇街道"),
    "002": ("310112101", "上海市/闵行区/莘庄镇"),
    "003": ("320116001", "江苏省/南京市/六合区/大厂街道"),
    "004": ("310113109", "上海市/宝山区/顾村镇"),
}


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_every_seed_gets_its_town(prefix):
    d = doc(prefix)
    assert d.place is not None
    assert (d.place.code, d.place.label) == EXPECTED[prefix]


def test_the_gazetteer_is_complete():
    names = gazetteer().names
    by_level = {n: sum(1 for c in names if len(c) == n) for n in (2, 4, 6, 9)}
    assert by_level == {2: 31, 4: 342, 6: 2978, 9: 41352}


@pytest.mark.parametrize(
    "text, code",
    [
        ("城关镇召开安全生产工作会议", None),  # 88 towns are called 城关镇
        ("廊坊市大厂镇开展人居环境整治", "131028100"),
        ("南丹县大厂镇召开脱贫攻坚推进会", "451221101"),
        ("大厂镇召开全体干部大会", None),
    ],
)
def test_ambiguous_town_names_stop_at_the_level_the_evidence_supports(text, code):
    place = resolve(text, "")
    assert (place.code if place else None) == code


def test_split_evidence_stops_at_the_higher_level():
    # Two districts of Shanghai, equally: the province, not a guess between them.
    place = resolve("", "上海市嘉定区和闵行区联合开展垃圾分类检查。上海市嘉定区、闵行区各社区参加。")
    assert place is not None and place.code == "31"


def test_short_forms_that_are_ordinary_words_are_not_places():
    lookup = gazetteer().lookup
    for word in ("资源", "合作", "比如", "新华", "老城", "街道"):
        assert word not in lookup, word
    for short in ("嘉定", "闵行", "上海", "宝山"):
        assert short in lookup, short
    assert short_forms("嘉定镇街道", 4) == ["嘉定镇", "嘉定"]
    assert short_forms("广西壮族自治区", 1) == ["广西"]


def test_a_national_law_gets_no_province_and_a_local_one_does():
    national = resolve("中华人民共和国安全生产法", "第一条 为了加强安全生产工作，防止和减少生产安全事故，制定本法。")
    assert national is None
    local = resolve("宁波市人民调解条例", "第一条 为了完善人民调解制度，根据有关法律，结合本市实际，制定本条例。")
    assert local is not None and local.label == "浙江省/宁波市"
    zone = resolve("深圳经济特区数据条例", "第一条 为了规范数据处理活动，制定本条例。")
    assert zone is not None and zone.code == "4403"


def test_a_word_that_merely_contains_a_place_name_is_not_a_mention():
    # 中山大学 is one jieba word: 中山 (a city) inside it is not a place mention.
    assert [m[2] for m in gazetteer().mentions("他毕业于中山大学")] == []


def test_a_functional_zone_points_to_its_city():
    place = resolve("江北新区召开营商环境推进会", "江北新区各街道负责人参加会议。")
    assert place is not None and place.code == "3201"


def test_explicit_metadata_wins(tmp_path):
    place = resolve("通知", "正文", explicit="上海市宝山区")
    assert place is not None and place.code == "310113"


def test_filter_and_facet_by_every_level(seed_index):
    def facet(place):
        res = seed_index.search("社区", place=place)
        return res.total, [(f.value, f.label, f.count) for f in res.facets["place"]]

    assert facet(None) == (5, [("31", "上海市", 4), ("32", "江苏省", 1)])
    shanghai = (4, [("310114", "嘉定区", 2), ("310112", "闵行区", 1), ("310113", "宝山区", 1)])
    assert facet("上海") == facet("上海市") == facet("31") == shanghai
    assert facet("嘉定区") == facet("310114") == facet("嘉定") == (2, [("310114004", "嘉定镇街道", 2)])
    assert facet("江苏") == (1, [("3201", "南京市", 1)])
    assert facet("320116001")[0] == 1
    assert [h.doc_id for h in seed_index.search("社区", place="江北新区").hits] == [seed("003").name]
    hit = seed_index.search("大厂街道").hits[0]
    assert (hit.place, hit.place_code) == ("江苏省/南京市/六合区/大厂街道", "320116001")
    assert seed_index.get(seed("004").name).place_code == "310113109"
