"""Fold reposts of one article into the best-ranked copy."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from civicsearch.fingerprint import repost_pairs

#: How many folded ids the terminal shows under a hit (JSON lists them all).
SIMILAR_LISTED = 5


def collapse_similar(order: Sequence[int], sketches: Sequence[bytes | None], wanted: int) -> list[tuple[int, list[int]]]:
    """``(docnum, its reposts)`` for the first ``wanted`` distinct articles in ``order``.

    Every document of ``order`` (the ranked window) is compared with the kept
    ones, and folds into the best-ranked one it reposts, so a hit's count covers
    the reposts ranked within that window.
    """
    docs = list(order)
    raws = [(sketches[d] if d < len(sketches) else None) or b"" for d in docs]
    reposts = repost_pairs(raws)
    kept: list[tuple[int, list[int]]] = []
    kept_rows: list[int] = []
    for i, d in enumerate(docs):
        found = np.flatnonzero(reposts[i, kept_rows]) if kept_rows and raws[i] else ()
        if len(found):
            kept[int(found[0])][1].append(d)
        elif len(kept) < wanted:
            kept.append((d, []))
            kept_rows.append(i)
    return kept
