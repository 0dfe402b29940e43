"""Clean the body text of crawled civic documents before indexing.

The original text is kept for display; what is indexed is the cleaned text:
image placeholders and masthead lines gone, aggregator spacing mended, trailing
junk (推荐阅读, 特别声明, ads, phone numbers, unrelated headlines) cut, and
OCR line breaks inside sentences re-joined. A ``来源`` line is saved as the
document's source before it is cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"^\s*(?:文章图片|图片|点击查看大图|\[图片\]|\[image\])\s*$", re.I)
_HEAD_JUNK = re.compile(r"^\s*(?:扫描二维码|扫一扫|长按|关注“|关注\"|阅读其他|点击上方|点击蓝字)")
_TAIL_MARKER = re.compile(
    r"^[\s*＊#>\-【\[]*(?:推荐阅读|相关阅读|延伸阅读|热门推荐|猜你喜欢|往期回顾|往期推荐|特别声明|免责声明|"
    r"版权声明|转载请注明|本文转载|扫一扫|长按|责任编辑|编辑[:：]|审核[:：]|点击阅读原文)"
)
_AGGREGATOR_FOOTER = re.compile(r"^【.{4,}】\s*(?:来源|信息来源)\s*[:：]")
_SOURCE = re.compile(r"(?:^|】|\s)(?:来源|信息来源|稿件来源|文章来源)\s*[:：]\s*(?P<src>[^\s|｜,，。]{2,40})")
_REPRINT_SOURCE = re.compile(r"转载请注明(?:来自|来源[:：]?|出处[:：]?)\s*(?P<src>[^\s,，。;；]{2,40})")
_PHONE = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|400[\s-]?\d{3,4}[\s-]?\d{3,4}|0\d{2,3}-\d{7,8})(?!\d)")
_AD_WORDS = re.compile(r"招商|租售|微信号|公众号|二维码|联系我们|仅微信|加微信|商务合作|广告")
# The look-behind makes a run of spaces a match attempt once, not once per space
# (100 KB of spaces took minutes).
_SPACE_BEFORE_PUNCT = re.compile(r"(?<![ \t\u3000])[ \t\u3000]+(?=[,，。、；;：:！!？?）)\]】”’》])")
# After Chinese punctuation, or ASCII punctuation that follows a Chinese character,
# spaces are aggregator padding; "a, b" in Latin text keeps its space.
_SPACE_AFTER_PUNCT = re.compile(
    r"(?:(?<=[，。、；：！？（【“‘《])|(?<=[\u3400-\u9fff][,;:!?(\[]))[ \t\u3000]+"
    r"|(?<=[,;:!?])[ \t\u3000]+(?=[\u3400-\u9fff“‘（《])"
)
_TERMINAL = set("。！？!?；;：:…”」』）)】>》")
_ENUMERATOR = re.compile(
    r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[）)]|\d+[.、．]|第[一二三四五六七八九十百\d]+[章节条部分])"
)
_HAN = re.compile(r"[\u3400-\u9fff]")
_SOURCE_LINE = re.compile(r"^\s*(?:来源|信息来源|文章来源)\s*[:：]")
_SENTENCE_PUNCT = re.compile(r"[，,。！？；]")


@dataclass
class Cleaned:
    text: str
    source: str | None = None


def _source_in(lines: list[str]) -> str | None:
    for line in lines:
        m = _SOURCE.search(line)
        if m:
            return m.group("src")
    for line in lines:
        m = _REPRINT_SOURCE.search(line)
        if m:
            return m.group("src")
    return None


def _tail_cut(lines: list[str]) -> int:
    """Index of the first line of trailing junk (len(lines) when there is none)."""
    total = sum(len(x) for x in lines) or 1
    seen = 0
    for i, line in enumerate(lines):
        if seen / total >= 0.3 and (_TAIL_MARKER.match(line) or _AGGREGATOR_FOOTER.match(line)):
            return i
        seen += len(line)
    return len(lines)


#: Longer lines are running text that happens to give a phone number, not an ad.
AD_LINE_MAX = 60


def _is_ad(line: str) -> bool:
    return len(line.strip()) <= AD_LINE_MAX and bool(_PHONE.search(line) or _AD_WORDS.search(line))


def _is_headline(line: str) -> bool:
    s = line.strip()
    return 0 < len(s) <= 40 and s[-1] not in _TERMINAL and not _ENUMERATOR.match(s)


def _strip_trailing(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines.pop()
    # Ads go only from after the text: the first line is never cut as one.
    while len(lines) > 1 and (not lines[-1].strip() or _is_ad(lines[-1])):
        lines.pop()
    # A run of four or more short unpunctuated lines at the very end is a list of
    # unrelated headlines, not the article's conclusion.
    run = 0
    for line in reversed(lines):
        if not line.strip():
            continue
        if not _is_headline(line):
            break
        run += 1
    # ... unless the run is the text itself (a notice of short lines: title, 各居委会,
    # items, the signature, the date).
    if run >= 4 and run < sum(1 for line in lines if line.strip()) / 2:
        kept = 0
        for i in range(len(lines) - 1, -1, -1):
            if lines[i].strip():
                kept += 1
            if kept == run:
                lines = lines[:i]
                break
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _rejoin(lines: list[str]) -> list[str]:
    """Re-join sentences that OCR broke across a blank line.

    Both sides must read as running text (long, with sentence punctuation), so
    mastheads, headings and photo captions stay on lines of their own.
    """
    out: list[str] = []
    blank = False
    for line in lines:
        if not line.strip():
            blank = True
            continue
        prev = out[-1] if out else ""
        if (
            blank
            and len(prev) >= 20
            and prev[-1] not in _TERMINAL
            and _SENTENCE_PUNCT.search(prev)
            and _SENTENCE_PUNCT.search(line)
            and (_HAN.match(prev[-1]) or prev[-1].isalnum())
            and _HAN.match(line[0])
            and not _ENUMERATOR.match(line)
        ):
            out[-1] = prev + line
        else:
            if blank and out:
                out.append("")
            out.append(line)
        blank = False
    return out


def _unpadded(line: str) -> str:
    """``line`` without the padding spaces around punctuation, stripped."""
    if " " in line or "\t" in line or "\u3000" in line:  # the only spaces both patterns remove
        line = _SPACE_AFTER_PUNCT.sub("", _SPACE_BEFORE_PUNCT.sub("", line))
    return line.strip()


def clean(text: str) -> Cleaned:
    """Clean one document body; see the module docstring."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [line for line in lines if not _PLACEHOLDER.match(line)]
    head = 0
    while head < len(lines) and head < 12 and (not lines[head].strip() or (
        _HEAD_JUNK.match(lines[head]) and len(lines[head]) < 30
    )):
        head += 1
    lines = lines[head:]
    cut = _tail_cut(lines)
    source = _source_in(lines[cut:]) or _source_in(
        [line for line in lines[:cut] if line.lstrip().startswith(("来源", "信息来源", "文章来源"))]
    )
    lines = [line for line in lines[:cut] if not _SOURCE_LINE.match(line)]
    lines = _strip_trailing(lines)
    lines = [_unpadded(line) for line in lines]
    lines = _rejoin(lines)
    return Cleaned("\n".join(lines).strip(), source)
