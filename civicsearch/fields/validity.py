"""Validity (时效性) of laws, regulations and notices, when the text says so: the hit's ``validity``,
the ``validity`` facet and ``--in-force``.

What a document can say about itself: a header's 时效性 / 有效性 (``已废止``, ``失效``,
``现行有效``), a mark in the title (``（已废止）``), its legislative history (``…常务委员会第三次
会议修正``, ``根据…决定第二次修订``), the day it takes effect (``本条例自2025年1月1日起施行``)
and the day it ends (``本通知有效期至2020年12月31日``, ``暂执行至2020年6月30日止``). The dates
are stored, not the verdict: whether a notice has run out or a law is not yet in force is
decided on the day of the search, so an index built last year does not say 有效 of what
expired since. Nothing said, nothing claimed: a law that only says when it took effect has
no validity (it may have been repealed since by another text).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from civicsearch.text import lazyre
from civicsearch.fields.flags import AllOf, AnyOf, Column, ColumnData, Date, Keywords, Not, Range, Term
from civicsearch.fields.lists import ranked
from civicsearch.fields.registry import MetaField, Option, register
from civicsearch.ingest.headers import as_text
from civicsearch.results import FacetValue
from civicsearch.text.normalize import fold

IN_FORCE, AMENDED, REPEALED, EXPIRED, PENDING = "有效", "已修改", "已废止", "已失效", "尚未生效"
#: What ``--in-force`` drops.
NOT_IN_FORCE = (REPEALED, EXPIRED, PENDING)
COLUMN = "validity_facet"

_HEADER_KEYS = ("时效性", "有效性", "效力状态", "时效状态")
_STATUS_WORDS = ((("部分失效", "部分废止"), IN_FORCE), (("废止",), REPEALED), (("失效", "无效", "过期"), EXPIRED), (("尚未生效", "未生效"), PENDING),
                 (("修改", "修正", "修订"), AMENDED), (("有效", "现行"), IN_FORCE))
_TITLE_MARK = lazyre.compile(r"[（(【\[]\s*(已?废止|已?失效)\s*[)）】\]]")
_DAY = r"(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"
_SELF = r"本(?:法|条例|规定|办法|细则|决定|解释|规则|意见|通知|通告|公告|措施|方案|安排|政策)"
_EFFECTIVE = lazyre.compile(_SELF + r"[^。；]{0,20}?(?:自|从|于)\s*" + _DAY + r"\s*(?:零时)?起?\s*(?:施行|实施|执行|生效)")
_EXPIRES = lazyre.compile(_SELF + r"[^。；]{0,40}?(?:有效期(?:至|到|截至)|执行至|实施至|截止(?:日期|时间)?(?:为|至)?)\s*" + _DAY)
#: A validity period after the day a text takes effect (…起施行，有效期至2025年12月31日); a licence's is not its own.
_CLOSING_EXPIRES = lazyre.compile(r"(?:施行|实施|执行|生效)[^。；]{0,12}?[，,]\s*有效期(?:至|到|截至)\s*" + _DAY)
_PERIOD = lazyre.compile(_SELF + r"[^。；]{0,30}?(?:自|从|于)\s*" + _DAY + r"[^。；]{0,20}?有效期(?:为|暂定为)?\s*"
                     r"(?P<n>[一二三四五六七八九十两\d]{1,2})\s*年")
_NUMERALS = {c: i for i, c in enumerate("零一二三四五六七八九十", 0)} | {"两": 2}
#: A line of the text's own legislative history; a history cited (…修正的《…》) is another text's.
_HISTORY = lazyre.compile(
    r"(?P<y>(?:19|20)\d{2})\s*年(?:\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日)?"
    r"(?P<via>(?:(?!通过|批准|\d{4}\s*年)[^。；《》]){0,60}?(?:会议|决定)(?:《[^《》。]{1,80}》)?|《[^《》。]{1,80}》|)"
    r"\s*(?:第[一二三四五六七八九十]+次)?(?:修正|修订)(?![案的])")


#: A repeal in the text's own history, in the parentheses under its title
#: (``（2001年3月1日…通过　根据2015年修正　2022年6月1日废止）``).
_REPEALED_ON = lazyre.compile(r"(?:^|(?<=[（(、，,\s]))" + _DAY + r"[^（）()《》。；\n]{0,40}?(?:予以)?废止"
                          r"(?=\s*[）)、，,；;]|\s*$)")


def _in_parentheses(text: str, at: int) -> bool:
    """Whether ``at`` lies inside an open parenthesis of its line."""
    start = text.rfind("\n", 0, at) + 1
    before = text[start:at]
    return before.count("（") + before.count("(") > before.count("）") + before.count(")")


def _day(m: re.Match) -> str | None:
    """The match's date as ISO text, cut to a year when the text gives only that (1997年第一次修正)."""
    if m.group("m") is None:
        return m.group("y")
    try:
        return date(int(m.group("y")), int(m.group("m")), int(m.group("d"))).isoformat()
    except ValueError:
        return None


def _period_end(text: str) -> str | None:
    """The last day of ``本办法自2016年1月1日起施行，有效期5年``: 2020-12-31."""
    m = _PERIOD.search(text)
    if not m:
        return None
    n = m.group("n")
    years = int(n) if n.isdigit() else (10 + _NUMERALS.get(n[1:], 0) if n.startswith("十") else _NUMERALS.get(n, 0))
    start = _day(m)
    if not years or not start or len(start) < 10:
        return None
    try:
        first = date.fromisoformat(start)
        return (first.replace(year=first.year + years) - timedelta(days=1)).isoformat()
    except ValueError:  # 29 February
        return date(first.year + years, 2, 28).isoformat()


def _cites_another(text: str, m: re.Match) -> bool:
    """A history in the sentence that repeals another text (…修正的《某条例》同时废止) is that text's;
    a bare ``1997年修正`` counts only inside a history's list (``（…通过、1997年第一次修正）``)."""
    if not m.group("via") and not (m.start() > 0 and text[m.start() - 1] in "（(、，, \u3000"
                                   and text[m.end():m.end() + 1] in ("）", ")", "、", "，", ",", "\n", "")):
        return True
    start = max(text.rfind(c, 0, m.start()) for c in "。；\n") + 1
    ends = [i for i in (text.find(c, m.end()) for c in "。；\n") if i >= 0]
    end = min(ends, default=len(text))
    before, after = text[start:m.start()], text[m.end():end]
    # Inside a cited title (《某市总体规划（2014年修订）》) or just after one (《某规程》（2016年修订）): that text's.
    closes = after.find("》")
    inside = before.count("《") > before.count("》") or (closes >= 0 and "《" not in after[:closes])
    return "废止" in text[start:end] or inside or before.rstrip().endswith(("》（", "》("))


def _header_status(doc: Any) -> str | None:
    for key in _HEADER_KEYS:
        value = fold(as_text(doc.meta.get(key) or doc.record.get(key)) or "").strip()
        for words, status in _STATUS_WORDS:
            if value and any(w in value for w in words):
                return status
    return None


def _extract(doc: Any) -> dict[str, Any] | None:
    status = _header_status(doc)
    mark = _TITLE_MARK.search(doc.title or "")
    if mark:
        status = REPEALED if "废止" in mark.group(1) else EXPIRED
    text = doc.body
    # History stands at the top (in parentheses under the title) or at the very end. Each
    # expression is run only where the words it cannot match without stand: most texts
    # hold none of them, and an expression with no fixed start tries every character.
    edges = text[:1000] + "。" + text[-600:]
    amended = sorted({d for m in _HISTORY.finditer(edges) if (d := _day(m)) and not _cites_another(edges, m)}) \
        if "修正" in edges or "修订" in edges else []
    if "废止" in edges and any(_in_parentheses(edges, m.start()) for m in _REPEALED_ON.finditer(edges)):
        status = REPEALED
    effective = next((d for m in _EFFECTIVE.finditer(text) if (d := _day(m))), None)
    expires = next((d for m in _EXPIRES.finditer(text) if (d := _day(m))), None)
    if expires is None and "有效期" in text:
        expires = next((d for m in _CLOSING_EXPIRES.finditer(text) if (d := _day(m))), None) or _period_end(text)
    if not (status or amended or expires or effective):
        return None
    return {"status": status, "amended": amended, "effective": effective, "expires": expires}


def status(v: dict[str, Any], today: date | None = None) -> str | None:
    """The document's validity on ``today`` (default: the day it is asked), or None when unknown."""
    today_iso = (today or date.today()).isoformat()
    if v["status"] in (REPEALED, EXPIRED):
        return v["status"]
    if v["expires"] and v["expires"] < today_iso:
        return EXPIRED
    if v["effective"] and v["effective"] > today_iso:
        return PENDING
    if v["amended"]:
        return AMENDED
    if v["status"]:
        return v["status"]
    return IN_FORCE if v["expires"] else None


def _encode(v: dict[str, Any]) -> bytes:
    return "|".join([v["status"] or "", v["effective"] or "", v["expires"] or "", ",".join(v["amended"])]).encode()


def _decode(raw: bytes) -> dict[str, Any]:
    st, effective, expires, amended = raw.decode("utf-8").split("|")
    return {"status": st or None, "effective": effective or None, "expires": expires or None,
            "amended": amended.split(",") if amended else []}


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day)


def _index(v: dict[str, Any]) -> dict[str, Any]:
    # --in-force reads the column now; the three index fields are still written because
    # dropping them changes the schema, which would ask every index for a full rebuild.
    out: dict[str, Any] = {COLUMN: _encode(v)}
    # The status said, and 已修改 when the text was amended: what the filter needs without the column.
    said = " ".join(s for s in (v["status"], AMENDED if v["amended"] else None) if s)
    if said:
        out["validity"] = said
    if v["effective"]:
        out["valid_from"] = _at(v["effective"])
    if v["expires"]:
        out["valid_until"] = _at(v["expires"])
    return out


def _mask(given: dict[str, Any], columns: ColumnData) -> np.ndarray:
    """--in-force: every document but those known, today, to be repealed, expired or not yet in force."""
    today = date.today()
    return columns.where(COLUMN, lambda raw: not raw or status(_decode(raw), today) not in NOT_IN_FORCE)


def _filter(given: dict[str, Any]) -> Not:
    """--in-force as a filter on the index fields, the same verdict as :func:`status` on the day asked."""
    today = datetime.combine(date.today(), datetime.min.time())
    return Not(AnyOf((
        Term("validity", REPEALED), Term("validity", EXPIRED),
        Range("valid_until", end=today, strict=True),  # ran out before today
        Range("valid_from", start=today + timedelta(days=1)),  # takes effect after today
        AllOf((Term("validity", PENDING), Not(Term("validity", AMENDED)))),
    )))


def _facets(values: Counter, given: dict[str, Any]) -> dict[str, list[FacetValue]]:
    counts: Counter[str] = Counter()
    today = date.today()
    for raw, n in values.items():
        s = _cell_status(raw, today)
        if s:
            counts[s] += n
    return {"validity": ranked(counts)}


@lru_cache(maxsize=4096)
def _cell_status(raw: bytes, today: date) -> str | None:
    """:func:`status` of a column cell on ``today`` (a facet count asks of every distinct cell
    among the matches, on every search)."""
    return status(_decode(raw), today)


def _detail(v: dict[str, Any]) -> str | None:
    s = status(v)
    extra = [f"amended {', '.join(v['amended'])}" if v["amended"] else "",
             f"in force from {v['effective']}" if v["effective"] else "",
             f"until {v['expires']}" if v["expires"] else ""]
    parts = ", ".join(e for e in extra if e)
    return f"{s or 'unknown'}" + (f" ({parts})" if parts else "")


FIELD = register(MetaField(
    name="validity",
    version=3,
    label="validity",
    order=70,
    extract=_extract,
    schema={"validity": Keywords(" "), "valid_from": Date(),
            "valid_until": Date(), COLUMN: Column()},
    index=_index,
    output=lambda v: {"validity": status(v)},
    keys={"validity": None},
    options=(Option("in_force", "Leave out what is known not to be in force today (repealed, expired, "
                                "not yet in force).", flag=True),),
    filter=_filter,
    mask=_mask,
    column=COLUMN,
    facets=_facets,
    facet_names=("validity",),
    brief=status,
    detail=_detail,
))
