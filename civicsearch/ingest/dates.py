"""A document's date from its running text, when no metadata gives one.

Best evidence first: a full date near the top (the dateline) or on the last lines
(the signature of a notice); else a day without a year in the lead paragraph
(``11月23日``) with the year the document is written in; else that year alone.

The year a document is written in is read from how it speaks of years: "2020年
是不平凡的一年", "2018年的收尾工作" and "2018年以来" speak of the present, while
"2019年工作思路" or "2021年，街道将…" plan for the next year, so they point to the
year before. Years come only from four digits followed by 年 (never from 5371.2 or
1+1+N), and no date lies after the day of indexing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime

from civicsearch.ingest.headers import CHINA_TZ, ParsedDate, parse_date

LEAD = 300
TAIL = 200
_FULL = re.compile(
    r"(?<![\d.+\-])(?:(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|(?:19|20)\d{2}-\d{1,2}-\d{1,2}(?![\d-])"
    r"|[〇零○一二三四五六七八九]{4}年[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}日)"
)
_DAY_NO_YEAR = re.compile(r"(?<![\d年.])(\d{1,2})月(\d{1,2})[日号]")
_YEAR = re.compile(r"(?<![\d.+\-])((?:19|20)\d{2})\s*年(?!\d)")
_PRESENT = re.compile(r"^(?:度)?(?:是|以来|的收尾|收尾|上半年|前三季度|1至\d+月|1-\d+月|全年|取得|完成|实现|共|累计|已)")
_PLAN = re.compile(
    r"^(?:度)?(?:[^。；;！？\n]{0,8}?(?:将|计划|拟)|的?(?:社区)?工作(?:思路|计划|重点|打算|要点)"
    r"|的?(?:主要)?(?:预期)?目标|规划)"
)


def document_year(text: str, today: date) -> int | None:
    """The year a document speaks from (see the module docstring), or None."""
    scores: dict[int, float] = defaultdict(float)
    for m in _YEAR.finditer(text):
        year = int(m.group(1))
        if year > today.year or year < 1949:
            continue
        after = text[m.end() : m.end() + 12]
        if _PRESENT.match(after):
            scores[year] += 2.0
        elif _PLAN.match(after):
            scores[year - 1] += 1.5
        else:
            scores[year] += 0.5
    scores = {y: s for y, s in scores.items() if y <= today.year}
    if not scores:
        return None
    return max(scores.items(), key=lambda kv: (kv[1], kv[0]))[0]


def date_from_text(title: str, body: str, today: date | None = None) -> ParsedDate | None:
    """The best date the text itself gives, or None."""
    today = today or datetime.now(CHINA_TZ).date()
    for region in (body[:LEAD], body[-TAIL:]):
        for m in _FULL.finditer(region):
            parsed = parse_date(m.group(0), today=today)
            if parsed is not None:
                return parsed
    text = f"{title}\n{body}"
    year = document_year(text, today)
    if year is None:
        return None
    m = _DAY_NO_YEAR.search(body[:LEAD])
    if m:
        try:
            day = datetime(year, int(m.group(1)), int(m.group(2)), tzinfo=CHINA_TZ)
        except ValueError:
            day = None
        if day is not None and day.date() <= today:
            return ParsedDate(day, "day")
    return ParsedDate(datetime(year, 1, 1, tzinfo=CHINA_TZ), "year")
