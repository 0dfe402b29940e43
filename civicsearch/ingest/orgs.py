"""Issuing bodies (发文机关): who issued a document, from what the document itself says.

Evidence, best first (the first that gives a name decides):

1. explicit metadata: a JSONL or front-matter ``org``; a disclosure header's 发文机关,
   制定机关, 发布机构 or 发布单位; a ``source`` or 信息来源 only when it names an organ;
2. the title: the organs before 关于 (``国务院办公厅关于…``, ``财政部 生态环境部关于…``),
   a session before 关于 (``第十四届全国人民代表大会第三次会议关于…``), a government's
   work report (``2023年四川省人民政府工作报告``); the same names standing before a 关于 title
   in the opening lines (``北京市人民政府办公厅 关于…``), unless they are a cited 《title》;
3. the signature block: organ names on the last lines, above the date (``嘉定镇街道办事处`` ⏎
   ``2023年1月4日``);
4. an enacting or promulgating line at the top (``…北京市第九届人民代表大会常务委员会第三十六次
   会议通过``, ``中华人民共和国国务院令第588号``);
5. the document's own number standing on its own line, by its organ prefix (国办发 →
   国务院办公厅, 沪府办发 → 上海市人民政府办公厅; ``civicsearch/data/organs.tsv``).

Names are normalised (traditional characters folded, 第…届 and 第…次会议 dropped,
中华人民共和国 before a central organ dropped, abbreviations such as 全国人大常委会 written
out). A document without such evidence gets no issuing body: a place name alone, a
news agency or a newspaper is not one.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from importlib import resources

from civicsearch.text import lazyre
from civicsearch.ingest.places import gazetteer
from civicsearch.text.normalize import fold, strip_controls

#: Endings that make a name an organ (longest first is not needed: each is tried on the end).
_ORGAN_END = lazyre.compile(
    r"(?:国务院|人民政府|政府|人民代表大会|常务委员会|委员会|人民法院|人民检察院|办公厅|办公室|办事处|"
    r"领导小组|指挥部|联防联控机制|总局|总署|审计署|中共中央|中央|人民银行|部|厅|局|委|"
    r"(?:管理|服务|控制|指挥|监测)中心)$")
#: A parent organ ends here, with a sub-organ after it (上海市人民政府 | 办公厅).
_PARENT_END = lazyre.compile(r"(?:国务院|人民政府|人民代表大会|人民法院|人民检察院|委员会|领导小组|总局|部|厅|局)$")
_NUMERAL = "一二三四五六七八九十百千零〇两\\d"
_SESSION = lazyre.compile(rf"第[{_NUMERAL}]+届|第[{_NUMERAL}]+次(?:全体|常务)?会议(?:审议)?|(?<=委员会)审判委员会")
_PRC = "中华人民共和国"
_BAD = lazyre.compile(r"[，。；：:、《》“”\"（）()？！?!\s\d]")
#: Media and other sources that name no organ (a 来源 line often names them).
_MEDIA = lazyre.compile(r"(?:新闻|日报|晚报|报社|电视台|广播|网站|新华社|人民网|客户端|融媒体|杂志|通讯社|记者|编辑)")
MAX_NAME = 40


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, str], dict[str, str]]:
    """(alias → name, document-number prefix → name) from ``data/organs.tsv``."""
    aliases: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    text = resources.files("civicsearch").joinpath("data", "organs.tsv").read_text("utf-8")
    for line in text.split("\n"):
        if not line.strip() or line.startswith("#"):
            continue
        cols = (line.split("\t") + ["", ""])[:3]
        name = cols[0].strip()
        aliases[name] = name
        for alias in cols[2].split(","):
            if alias.strip():
                aliases[fold(alias.strip())] = name
        for prefix in cols[1].split(","):
            if prefix.strip():
                prefixes[prefix.strip()] = name
    return aliases, prefixes


@lru_cache(maxsize=1)
def known_organs() -> frozenset[str]:
    return frozenset(_table()[0].values())


_ABBREVIATIONS = (
    ("人大常委会", "人民代表大会常务委员会"),
    ("人民代表大会常委会", "人民代表大会常务委员会"),
    ("人大", "人民代表大会"),
)
_SUB_ORGAN = lazyre.compile(r"办公厅|办公室|[\u4e00-\u9fff]{1,10}?(?:司|局|处|组|中心)")
_GOVERNMENT = lazyre.compile(r"(?<=[省市县区旗州])政府")


def normalize(name: str) -> str:
    """One spelling per organ: folded, without sessions, 中华人民共和国 or abbreviations."""
    s = re.sub(r"\s+", "", fold(name))
    s = _SESSION.sub("", s)
    aliases = _table()[0]
    if s in aliases:
        return aliases[s]
    if s.startswith(_PRC) and len(s) > len(_PRC):
        rest = s[len(_PRC):]
        return aliases.get(rest, rest)
    for short, full in _ABBREVIATIONS:
        if s.endswith(short) and not s.endswith(full):
            s = s[: -len(short)] + full
            break
    if "人民政府" not in s:
        s = _GOVERNMENT.sub("人民政府", s)
    if s in aliases:
        return aliases[s]
    # A sub-organ of a body known by another name (人力资源社会保障部办公厅).
    for i in range(len(s) - 2, 1, -1):
        if s[:i] in aliases and _SUB_ORGAN.fullmatch(s[i:]):
            return aliases[s[:i]] + s[i:]
    return s


_CENTRAL = ("国家", "国务院", "中共", "中国", "中央", "全国", "最高", "共青团")


def _places_at_end(text: str) -> str:
    """The run of place names that ends ``text`` (``日北京市`` → ``北京市``; ``江苏省南京市`` whole)."""
    start = len(text)
    for s, e, _ in sorted(gazetteer().names_in(text), key=lambda m: -m[1]):
        if e == start:
            start = s
    return text[start:]


def _starts_plausibly(name: str) -> bool:
    """An organ's name opens with a place or a national body (区卫健委 alone names no one)."""
    if name.startswith(_CENTRAL) or any(name.startswith(k) for k in known_organs()):
        return True
    return any(s == 0 for s, _, _ in gazetteer().names_in(name))


def is_organ(name: str) -> bool:
    """Whether a normalised name reads as an organ: a known one, or a place or national body
    followed by an organ's ending (局, 委员会, 人民政府, 办事处 …)."""
    if name in known_organs():
        return True
    if not 3 <= len(name) <= MAX_NAME or _BAD.search(name) or _MEDIA.search(name):
        return False
    return bool(_ORGAN_END.search(name)) and _starts_plausibly(name)


def parents(name: str) -> list[str]:
    """The organs a name lies under (全国人民代表大会常务委员会 → 全国人民代表大会), outermost first."""
    out = []
    for i in range(2, len(name)):
        head = name[:i]
        if (head in known_organs() or (i >= 3 and _PARENT_END.search(head))) and name[i:] not in ("", "部", "局"):
            out.append(head)
    return out


def _organs(text: str, trailing: bool = False) -> list[str]:
    """The organs in a run of names separated by spaces or 、: all must be organs, else none;
    with ``trailing``, the organs that end the run (a signature after other words).

    A name broken by a space (``…肺炎疫情 防控工作领导小组指挥部``) is joined again.
    """
    parts = [p for p in re.split(r"[\s、，,]+", html.unescape(text).strip()) if p]
    names: list[str] = []
    while parts:
        name = normalize(parts.pop())
        pieces = [name]
        while not is_organ(name) and parts and len(pieces) < 3:
            pieces.insert(0, parts.pop())
            name = normalize("".join(pieces))
        if not is_organ(name):
            if trailing:
                break
            return []
        names.insert(0, name)
    return list(dict.fromkeys(names))


_EXPLICIT_HEADERS = ("发文机关", "制定机关", "发布机构", "发布单位", "所属机构")
_SOFT_HEADERS = ("信息来源", "来源")
_TITLE_ABOUT = lazyre.compile(r"^(?P<orgs>[^《“\"]{3,120}?)\s*关于")
_WORK_REPORT = lazyre.compile(r"^(?:[\d〇一二三四五六七八九十]{4}年(?:度)?)?\s*(?P<org>[^\s关的]{2,30}?)(?:人民)?政府工作报告\s*(?:[（(].*)?$")
#: Names on their own before a 关于 title in the opening lines (a notice's header block).
_HEAD_ABOUT = lazyre.compile(r"(?:^|\n|\s{1,8})(?P<orgs>[^\s，。；：:《》“”]{3,40}(?:[ \t　、]+[^\s，。；：:《》“”]{3,40}){0,5})\s*\n?\s*关于")
_DATE_LINE = lazyre.compile(
    rf"(?:(?:19|20)\d{{2}}|[〇零一二三四五六七八九]{{4}})\s*年\s*[{_NUMERAL}]{{1,3}}\s*月\s*[{_NUMERAL}]{{1,3}}\s*日")
_ENACTED = lazyre.compile(
    rf"(?P<pre>[\u4e00-\u9fff]{{0,12}}?)(?:第[{_NUMERAL}]+届)?(?P<body>全国人民代表大会常务委员会|全国人民代表大会|"
    rf"人民代表大会常务委员会|人民代表大会|国务院|最高人民法院审判委员会|最高人民检察院检察委员会)"
    rf"第[{_NUMERAL}]+次(?:全体|常务)?会议(?:审议)?通过(?!的)")
_DECREE = lazyre.compile(r"(?P<org>中华人民共和国国务院|国务院|[\u4e00-\u9fff]{2,12}人民政府)令(?:第\s*\d+\s*号|〔)")
_OWN_DOCNO = lazyre.compile(r"(?:^|(?<=\s))(?P<series>[\u4e00-\u9fff]{1,8})\s*[〔\[［(（【]\s*(?:19|20)\d{2}\s*[〕\]］)）】]\s*"
                        r"(?:第\s*)?\d{1,5}\s*号(?=\s|$)")
_SERIES_END = ("发", "函", "办", "字", "规", "电", "令", "明电", "通")


def _from_title(title: str) -> list[str]:
    t = title.strip()
    m = _WORK_REPORT.match(t)
    if m:
        org = m.group("org")
        return _organs(org if org.endswith(("国务院", "人民政府")) else org + "人民政府")
    m = _TITLE_ABOUT.match(t)
    if m:
        return _organs(_SESSION.sub(" ", m.group("orgs")))
    return []


def _from_head(body: str) -> list[str]:
    """Organ names standing before a 关于 title in the opening lines (``北京市人民政府办公厅 关于…``)."""
    head = body[:300]
    if "关于" not in head:  # what the pattern ends with: spare its backtracking at every start
        return []
    for m in _HEAD_ABOUT.finditer(head):
        before = head[head.rfind("\n", 0, m.start("orgs")) + 1:m.start("orgs")]
        if before.count("《") > before.count("》"):
            continue  # a document cited by its title (《中共中央 国务院关于…》) is not this one's header
        found = _organs(m.group("orgs"))
        if found:
            return found
    return []


def _from_signature(body: str) -> list[str]:
    """Organ names just above the closing date (joint notices name several)."""
    tail = body[-400:]
    dates = list(_DATE_LINE.finditer(tail))
    if not dates:
        return []
    after = tail[dates[-1].end():]
    if len(after) > 80 or "。" in after:  # the date must close the document (an editor's note may follow)
        return []
    before = tail[: dates[-1].start()].rstrip()
    if "\n" in before.strip():
        names: list[str] = []
        carry = ""  # the end of a name broken over two lines
        for line in reversed(before.split("\n")):
            line = line.strip()
            if not line:
                continue
            found = _organs(line + carry)
            if found:
                names, carry = found + names, ""
            elif not carry and len(line) <= MAX_NAME:
                carry = line
            else:
                break
        return list(dict.fromkeys(names))
    # A flattened text: the names end it, after its last sentence.
    cut = max(before.rfind(c) for c in "。！？；")
    return _organs(before[cut + 1:], trailing=True)


def _from_enactment(body: str) -> list[str]:
    """``…北京市第九届人民代表大会常务委员会第三十六次会议通过``, ``中华人民共和国国务院令第588号``."""
    head = body[:400]
    # A match holds both words: looking for them first spares most heads the pattern's
    # scan (its lazy prefix tries every Han character as a start).
    m = _ENACTED.search(head) if "会议" in head and "通过" in head else None
    if m:
        organ = m.group("body").replace("审判委员会", "").replace("检察委员会", "")
        if not organ.startswith(("全国", "最高", "国务院")):
            place = _places_at_end(m.group("pre"))
            organ = place + organ if place else ""
        found = _organs(organ) if organ else []
        if found:
            return found
    m = _DECREE.search(head) if "令" in head else None
    return _organs(m.group("org")) if m else []


def from_docno(series: str) -> str | None:
    """The organ a document-number series belongs to (国办发 → 国务院办公厅), by its longest known prefix."""
    prefixes = _table()[1]
    for n in range(len(series), 0, -1):
        head = series[:n]
        if head in prefixes and (n >= 2 or series == head or series[n:] in _SERIES_END):
            return prefixes[head]
    return None


def _from_own_docno(header_numbers: list[str], body: str) -> list[str]:
    for text in [*header_numbers, body[:300]]:
        m = _OWN_DOCNO.search(text)
        if m:
            org = from_docno(m.group("series"))
            if org:
                return [org]
    return []


def issuing_bodies(record: dict, header: dict[str, str], title: str, body: str, source: str | None = None) -> list[str]:
    """The document's issuing bodies, normalised, or an empty list when nothing says.

    ``source`` is the 来源 the cleaner found (it counts when it names an organ).
    """
    for value in [record.get("org")] + [header.get(k) for k in _EXPLICIT_HEADERS]:
        if isinstance(value, (list, tuple)):  # front matter: a list of bodies
            value = "、".join(str(v) for v in value if isinstance(v, (str, int)))
        if isinstance(value, str) and value.strip():
            found = [normalize(p) for p in re.split(r"[\s、，,;；]+", strip_controls(value).strip()) if p]
            if found:
                return list(dict.fromkeys(found))
    for value in [record.get("source"), source] + [header.get(k) for k in _SOFT_HEADERS]:
        if isinstance(value, str) and value.strip():
            found = _organs(value)
            if found:
                return found
    for find in (lambda: _from_title(title), lambda: _from_head(body), lambda: _from_signature(body),
                 lambda: _from_enactment(body),
                 lambda: _from_own_docno([header.get("文号", ""), header.get("发文字号", "")], body)):
        found = find()
        if found:
            return found
    return []
