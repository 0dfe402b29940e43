"""Meaning beside words: the top of a ranking reordered by the query's and the documents' embeddings.

A citizen and the official who answers often say the same thing in other words, and no
lexical signal finds that (docs/ranking.md). Where the index keeps vectors
(:mod:`civicsearch.index.embeddings`), the first ``semantic_depth`` documents of a long
question's ranking are reordered by a fused score: the engine's score divided by the best
one, plus ``semantic_weight`` times each document's cosine with the query, scaled to 0-1
over those candidates. The cosine's weight grows with how far the cosines spread over the
candidates (from nothing at ``semantic_spread_floor`` to whole at ``semantic_spread``) and falls as the words'
best score stands clear of the second (``semantic_margin``: the lead at which it is gone),
and as the words' best document holds more of the question's information (from whole at
``semantic_covered_from`` to nothing at ``semantic_covered``), so that meaning reorders only
where the words do not already decide. And a candidate that holds (nearly) the whole question
(``semantic_whole`` of its information) stays before every candidate that holds less: a
question quoted from a notice keeps that notice above the others on its subject that the
meaning prefers. Matching, totals, facets and folding are the ranking's own; only the order of
the candidates changes.
"""

from __future__ import annotations

import numpy as np

from civicsearch.search.params import RankParams


def weight(scores: np.ndarray, cosines: np.ndarray, p: RankParams, covered: float = 0.0) -> float:
    """The cosine's weight for these candidates (``scores`` best first; ``covered``: the share of
    the question's information the words' best document holds)."""
    w = p.semantic_weight
    if p.semantic_covered > p.semantic_covered_from:
        w *= min(1.0, max(0.0, (p.semantic_covered - covered) / (p.semantic_covered - p.semantic_covered_from)))
    if p.semantic_spread > p.semantic_spread_floor:
        spread = float(cosines.max() - cosines.min())
        w *= min(1.0, max(0.0, (spread - p.semantic_spread_floor) / (p.semantic_spread - p.semantic_spread_floor)))
    if p.semantic_margin > 0 and len(scores) > 1 and scores[0] > 0:
        lead = float(scores[0] - scores[1]) / float(scores[0])
        w *= max(0.0, 1.0 - lead / p.semantic_margin)
    return w


def fuse(scores: np.ndarray, cosines: np.ndarray, p: RankParams, covered: float = 0.0) -> np.ndarray:
    """Each candidate's fused score (``scores``: the engine's, best first; ``cosines``: with the query)."""
    scores = np.asarray(scores, dtype=np.float64)
    cosines = np.asarray(cosines, dtype=np.float64)
    best = float(scores.max()) if len(scores) else 0.0
    words = scores / best if best > 0 else np.zeros_like(scores)
    lo, hi = (float(cosines.min()), float(cosines.max())) if len(cosines) else (0.0, 0.0)
    meaning = (cosines - lo) / (hi - lo) if hi > lo else np.zeros_like(cosines)
    return words + weight(scores, cosines, p, covered) * meaning


def rerank(order: list[int], scores: dict[int, float], cosines: np.ndarray, p: RankParams,
           coverage: dict[int, float] | None = None) -> list[int]:
    """``order`` with its first ``len(cosines)`` documents reordered: those holding
    ``semantic_whole`` of the question first, then by :func:`fuse` (ties keep their order;
    ``coverage``: the ranking's share of the question each document holds)."""
    coverage = coverage or {}
    top = order[: len(cosines)]
    covered = coverage.get(top[0], 0.0) if top else 0.0
    fused = fuse(np.asarray([scores.get(d, 0.0) for d in top]), cosines, p, covered)
    whole = [p.semantic_whole > 0 and coverage.get(d, 0.0) >= p.semantic_whole for d in top]
    ranked = sorted(range(len(top)), key=lambda i: (not whole[i], -fused[i], i))
    return [top[i] for i in ranked] + order[len(top):]
