"""Fold reposts of one article into the best-ranked copy."""

from __future__ import annotations

from typing import Sequence

from civicsearch.fingerprint import is_repost, values

#: How many folded ids the terminal shows under a hit (JSON lists them all).
SIMILAR_LISTED = 5


def collapse_similar(order: Sequence[int], sketches: Sequence[bytes | None], wanted: int) -> list[tuple[int, list[int]]]:
    """``(docnum, its reposts)`` for the first ``wanted`` distinct articles in ``order``.

    Every document of ``order`` (the ranked window) is compared with the kept
    ones, so a hit's count covers the reposts ranked within that window.
    """
    kept: list[tuple[int, list[int]]] = []
    kept_values: list[frozenset[int]] = []
    for d in order:
        raw = sketches[d] if d < len(sketches) else None
        mine = values(raw) if raw else frozenset()
        home = None
        if mine:
            for (rep, similar), theirs in zip(kept, kept_values):
                if is_repost(mine, theirs):
                    home = similar
                    break
        if home is not None:
            home.append(d)
        elif len(kept) < wanted:
            kept.append((d, []))
            kept_values.append(mine)
    return kept
