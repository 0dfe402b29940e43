from __future__ import annotations

from datetime import date

import pytest
from test_cleaning import doc

from civicsearch.ingest.dates import date_from_text, document_year

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    "prefix, iso, precision, source",
    [
        ("000", "2021-12-23", "day", "metadata"),
        ("001", "2023-01-04", "day", "header"),
        ("002", "2018-11-23", "day", "text"),
        ("003", "2020-11-13", "day", "text"),
        ("004", "2023-01-01", "year", "text"),
    ],
)
def test_every_seed_gets_its_date(prefix, iso, precision, source):
    d = doc(prefix)
    assert d.date is not None
    assert (d.date.date().isoformat(), d.date_precision, d.date_source) == (iso, precision, source)


def test_the_year_comes_from_how_the_text_speaks_of_years():
    assert document_year("2020年是不平凡的一年。2021年，街道将坚持稳中求进。", TODAY) == 2020
    assert document_year("召开2019年工作思路务虚会。对于2018年的收尾工作，要抓好冲刺。", TODAY) == 2018
    assert document_year("2022年以来，全区完成改造。", TODAY) == 2022
    assert document_year("总面积5371.2平方米，形成1+1+N体系。", TODAY) is None
    assert document_year("到2035年基本实现现代化。", TODAY) is None  # never a future year


def test_full_dates_in_the_lead_or_the_signature_win():
    body = "各街道：\n现将有关事项通知如下。\n一、加强管理。\n" + "内容。" * 200 + "\n嘉定区人民政府\n2023年3月15日"
    parsed = date_from_text("关于加强管理的通知", body, today=TODAY)
    assert parsed is not None and (parsed.value.date().isoformat(), parsed.precision) == ("2023-03-15", "day")
    cn = date_from_text("通知", "二〇二三年一月四日，街道召开会议。", today=TODAY)
    assert cn is not None and cn.value.date() == date(2023, 1, 4)


def test_no_date_after_the_indexing_day():
    assert date_from_text("通知", "2027年5月1日起施行。", today=TODAY) is None
    future_day = date_from_text("通知", "2026年是关键一年。12月30日召开大会。", today=TODAY)
    assert future_day is not None and future_day.precision == "year"


def test_a_document_with_no_year_gets_no_date():
    assert date_from_text("通知", "11月23日，镇里召开会议。", today=TODAY) is None


def test_year_and_month_facets(seed_index):
    res = seed_index.search("社区")
    assert [(f.value, f.count) for f in res.facets["year"]] == [("2023", 2), ("2021", 1), ("2020", 1), ("2018", 1)]
    assert "month" not in res.facets
    in_2023 = seed_index.search("社区", since="2023", until="2023")
    # 004 is known only to its year: it counts for 2023 but for no month.
    assert in_2023.total == 2 and [(f.value, f.count) for f in in_2023.facets["month"]] == [("2023-01", 1)]
    assert seed_index.search("社区", since="2018-11", until="2018-11").total == 1
