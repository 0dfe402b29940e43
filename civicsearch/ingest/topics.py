"""Subject classes from weighted keyword rules kept as data.

Classes follow the State Council's top-level 主题分类 (``data/topics.tsv``), so
results line up with what government portals show. A document may have several;
a source's own label (``主题分类: 重大行动计划``) is kept beside them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import lru_cache
from importlib import resources

from ahocorasick_rs import AhoCorasick, MatchKind

TITLE_WEIGHT = 3.0
#: A class needs this much evidence, and at least this share of the best class's.
MIN_SCORE = 4.0
MIN_SHARE = 0.5
MAX_TOPICS = 3


def _data(name: str) -> list[list[str]]:
    text = resources.files("civicsearch.data").joinpath(name).read_text("utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def _rules() -> tuple[AhoCorasick, list[list[tuple[str, float]]], list[str]]:
    """The automaton over all keywords and, per keyword, the (class, weight) pairs it feeds."""
    feeds: dict[str, list[tuple[str, float]]] = defaultdict(list)
    classes = []
    for row in _data("topics.tsv"):
        classes.append(row[0])
        for item in (row[1].split(",") if len(row) > 1 and row[1] else []):
            word, weight = item.rsplit(":", 1)
            feeds[word].append((row[0], float(weight)))
    words = list(feeds)
    return AhoCorasick(words, matchkind=MatchKind.LeftmostLongest), [feeds[w] for w in words], classes


def topic_classes() -> list[str]:
    """The 22 official classes, in their official order."""
    return _rules()[2]


def _scores(text: str, weight: float, ac: AhoCorasick, feeds: list, into: dict[str, float]) -> None:
    counts: dict[int, int] = defaultdict(int)
    for index, _, _ in ac.find_matches_as_indexes(text, overlapping=False):
        counts[index] += 1
    for index, n in counts.items():
        for cls, w in feeds[index]:
            into[cls] += weight * w * (1 + math.log(n))  # repeats add less and less


def assign_topics(title: str, body: str) -> list[str]:
    """Up to three classes the document is about, strongest first (none when unclear)."""
    ac, feeds, _ = _rules()
    scores: dict[str, float] = defaultdict(float)
    _scores(title, TITLE_WEIGHT, ac, feeds, scores)
    _scores(body, 1.0, ac, feeds, scores)
    if not scores:
        return []
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    top = ranked[0][1]
    return [cls for cls, s in ranked[:MAX_TOPICS] if s >= MIN_SCORE and s >= MIN_SHARE * top]
