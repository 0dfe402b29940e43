"""Document numbers (发文字号): 国办发〔2024〕1号, 国办发[2024]1号, 国办发（2024）1号 → one form."""

from __future__ import annotations

import re

from civicsearch.text import lazyre

_DOCNO = lazyre.compile(
    r"(?P<prefix>[\u4e00-\u9fff]{1,15}?(?:发|函|字|令|办|规|电|通|复|呈|报|备|告|综|案)?)"
    r"\s*[〔\[［(（【]\s*(?P<year>(?:19|20)\d{2})\s*[〕\]］)）】]\s*(?:第\s*)?(?P<num>\d{1,5})\s*号"
)
#: What every document number holds: looked for first, since the number's own pattern
#: tries every Han character as the start of its prefix.
_YEAR_IN_BRACKETS = lazyre.compile(r"[〔\[［(（【]\s*(?:19|20)\d{2}\s*[〕\]］)）】]")
_TRIM = lazyre.compile(r"^(?:根据|按照|依据|印发|关于|转发|及|和|与|的|《|》|、)+")


def normalize(prefix: str, year: str, num: str) -> str:
    return f"{prefix}〔{year}〕{int(num)}号"


def find_docnos(text: str) -> list[str]:
    """Every document number in ``text``, normalised, in order of appearance, once each."""
    if "号" not in text or not _YEAR_IN_BRACKETS.search(text):
        return []
    found = []
    for m in _DOCNO.finditer(text):
        prefix = _TRIM.sub("", m.group("prefix"))
        if prefix:
            found.append(normalize(prefix, m.group("year"), m.group("num")))
    return list(dict.fromkeys(found))


def normalize_query(value: str) -> tuple[str, bool]:
    """A ``文号:`` query value → (normalised text, is_complete). An incomplete value
    (国办发, 国办发〔2024〕) is a prefix."""
    found = find_docnos(value)
    if found:
        return found[0], True
    m = re.match(r"^\s*(?P<prefix>[^\s〔\[［(（【]+)\s*(?:[〔\[［(（【]\s*(?P<year>\d{4})\s*[〕\]］)）】]?)?\s*$", value)
    if not m:
        return value.strip(), False
    prefix = m.group("prefix")
    return (f"{prefix}〔{m.group('year')}〕" if m.group("year") else prefix), False
