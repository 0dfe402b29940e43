"""Metadata from explicit sources: front matter, JSONL fields, disclosure headers.

Information-disclosure pages open with a header such as
``索引号: … 发布机构: … 发文日期: 2023年01月04日 主题分类: 重大行动计划``; those
labels become metadata and their lines leave the body. Dates given explicitly are
parsed here (inference from the running text is a later layer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from civicsearch.text import lazyre
from civicsearch.text.normalize import unformat

CHINA_TZ = timezone(timedelta(hours=8))

HEADER_LABELS = (
    "索引号", "发布机构", "发文机关", "发文日期", "成文日期", "发布日期", "发布时间", "主题分类",
    "体裁分类", "关键词", "文号", "发文字号", "浏览次数", "字体", "信息来源", "公开方式",
    "公开范围", "有效性", "生效日期", "标题", "名称", "所属机构", "组配分类", "制定机关", "发布单位",
    "时效性", "效力级别", "施行日期", "失效日期", "废止日期",
)
_LABEL_RE = lazyre.compile(r"(?:^|(?<=[\s【\[]))(" + "|".join(HEADER_LABELS) + r")\s*[:：]")
_HEADER_SCAN_LINES = 15
#: A header value is a name, a number or a date; a longer last value on a line is
#: a header flattened onto one line with the body (common in crawls).
HEADER_VALUE_MAX = 60

# Publication first; 成文日期 (the date it was written) only when nothing else says.
DATE_FIELDS = ("发布日期", "发布时间", "发文日期", "成文日期")


@dataclass
class ParsedDate:
    value: datetime
    precision: str  # "day" | "month" | "year"


def split_header(text: str) -> tuple[dict[str, str], str]:
    """Take disclosure-header labels out of the first lines of ``text``.

    A line is a header line when it starts with a known label; every
    ``label: value`` pair on it is kept (empty values included, so the line
    still leaves the body).
    """
    lines = text.split("\n")
    fields: dict[str, str] = {}
    keep: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if i < _HEADER_SCAN_LINES and _LABEL_RE.match(stripped):
            matches = list(_LABEL_RE.finditer(stripped))
            for j, m in enumerate(matches):
                last = j + 1 == len(matches)
                end = len(stripped) if last else matches[j + 1].start()
                value = stripped[m.end() : end].strip()
                if last:
                    value, rest = _cut_value(m.group(1), value)
                    if rest:
                        keep.append(rest)
                fields.setdefault(m.group(1), value.strip("【】[]"))
            continue
        keep.append(line)
    return fields, "\n".join(keep)


_SENTENCE = lazyre.compile(r"[，。；！？]")


def _cut_value(label: str, value: str) -> tuple[str, str]:
    """The last value on a header line, and the body text run onto it (if any).

    A value is a name, a number or a date: one that runs on past a space into
    sentences, or far past any header value's length, is the body glued on.
    """
    if label in DATE_FIELDS or label == "生效日期":
        m = _YMD.match(value)
        if m and value[m.end():].strip():
            return m.group(0).strip(), value[m.end():].strip()
    parts = value.split(None, 1)
    if len(parts) == 2 and (len(value) > HEADER_VALUE_MAX or _SENTENCE.search(parts[1])):
        return parts[0], parts[1]
    if len(value) > HEADER_VALUE_MAX:
        return "", value  # no break to cut at: the line is body text that starts with a label
    return value, ""


_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _cn_number(s: str) -> int | None:
    """二〇二三 → 2023, 十二 → 12, 二十三 → 23."""
    if s.isdigit():
        return int(s)
    if "十" in s:
        tens, _, ones = s.partition("十")
        t = _CN_DIGITS.get(tens, None) if tens else 1
        o = _CN_DIGITS.get(ones, None) if ones else 0
        return None if t is None or o is None else t * 10 + o
    digits = [_CN_DIGITS.get(c) for c in s]
    if not digits or None in digits:
        return None
    return int("".join(str(d) for d in digits))


_NUM = r"[0-9〇零○一二三四五六七八九十]"
_YMD = lazyre.compile(
    rf"(?P<y>{_NUM}{{4}})\s*(?:年|[-/.])\s*(?:(?P<m>{_NUM}{{1,3}})\s*(?:月|[-/.])?\s*(?:(?P<d>{_NUM}{{1,3}})\s*(?:日|号)?)?)?"
    r"(?:\s*[T ]?\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
)


def parse_date(value: Any, *, today: date | None = None) -> ParsedDate | None:
    """Parse an explicit date value (front matter, header, JSONL) into China time.

    Accepts datetime/date objects (YAML), RFC 2822 (``Thu, 23 Dec 2021 13:18:49
    GMT``), ISO forms, ``2023年01月04日`` and Chinese numerals. Returns None for
    anything else, and for dates after ``today`` (a document is never from the
    future).
    """
    try:
        return _parse_date(value, today or datetime.now(CHINA_TZ).date())
    except (ValueError, OverflowError, TypeError):
        return None  # an impossible value (9999-99-99, year 1 with a time zone) is no date


def _parse_date(value: Any, today: date) -> ParsedDate | None:
    result: ParsedDate | None = None
    if isinstance(value, datetime):
        dt = value.astimezone(CHINA_TZ) if value.tzinfo else value.replace(tzinfo=CHINA_TZ)
        result = ParsedDate(dt, "day")
    elif isinstance(value, date):
        result = ParsedDate(datetime(value.year, value.month, value.day, tzinfo=CHINA_TZ), "day")
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and 1000 <= value <= 9999:
        result = ParsedDate(datetime(int(value), 1, 1, tzinfo=CHINA_TZ), "year")
    elif isinstance(value, str) and value.strip():
        s = unformat(value).strip()
        if re.match(r"^[A-Za-z]{3},?\s+\d", s):
            from email.utils import parsedate_to_datetime  # only for such dates: 8 ms to import

            try:
                dt = parsedate_to_datetime(s)
            except (TypeError, ValueError):
                dt = None
            if dt is not None:
                dt = dt.astimezone(CHINA_TZ) if dt.tzinfo else dt.replace(tzinfo=CHINA_TZ)
                result = ParsedDate(dt, "day")
        if result is None and re.fullmatch(r"\d{4}", s) and 1000 <= int(s) <= 9999:
            result = ParsedDate(datetime(int(s), 1, 1, tzinfo=CHINA_TZ), "year")
        if result is None:
            m = _YMD.search(s)
            if m:
                result = _from_match(m)
    if result is None or result.value.date() > today:
        return None
    return result


def _from_match(m: re.Match[str]) -> ParsedDate | None:
    year = _cn_number(m.group("y"))
    month = _cn_number(m.group("m")) if m.group("m") else None
    day = _cn_number(m.group("d")) if m.group("d") else None
    if year is None or not 1000 <= year <= 2999:
        return None
    try:
        if month is None:
            return ParsedDate(datetime(year, 1, 1, tzinfo=CHINA_TZ), "year")
        if day is None:
            return ParsedDate(datetime(year, month, 1, tzinfo=CHINA_TZ), "month")
        hh = int(m.group("H") or 0)
        mm = int(m.group("M") or 0)
        ss = int(m.group("S") or 0)
        return ParsedDate(datetime(year, month, day, hh, mm, ss, tzinfo=CHINA_TZ), "day")
    except ValueError:
        return None


def as_text(value: Any) -> str | None:
    """A front-matter/JSONL value as text: a string, a number or a date (YAML reads
    ``2023-01-01`` as one); None for anything else (a list, a mapping, true/false, a
    number with a fraction or an exponent, NaN, Infinity), so that a bad value is dropped,
    not printed as Python (``nan``, ``100000.0``)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, date)):
        return None
    return str(value).strip() or None


def as_list(value: Any) -> list[str]:
    """A front-matter/JSONL value that may be a string or a list, as a list of strings
    (items that are not text are dropped)."""
    if isinstance(value, (list, tuple)):
        return [t for t in map(as_text, value) if t]
    text = as_text(value)
    return [p.strip() for p in re.split(r"[,，;；|]", text) if p.strip()] if text else []
