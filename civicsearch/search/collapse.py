"""Fold reposts of one article into the best-ranked copy."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from civicsearch.ingest.fingerprint import repost_pairs

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
    # For each document, the better-ranked ones it reposts (few: most have none).
    earlier: dict[int, list[int]] = {}
    for i, j in zip(*np.nonzero(np.tril(repost_pairs(raws), -1))):
        earlier.setdefault(int(i), []).append(int(j))
    kept: list[tuple[int, list[int]]] = []
    kept_at: dict[int, int] = {}  # row in ``docs`` → index in ``kept``
    for i, d in enumerate(docs):
        # Kept rows come in order, so the first kept one it reposts is the best-ranked.
        home = next((kept_at[j] for j in earlier.get(i, ()) if j in kept_at), None)
        if home is not None:
            kept[home][1].append(d)
        elif len(kept) < wanted:
            kept_at[i] = len(kept)
            kept.append((d, []))
    return kept
