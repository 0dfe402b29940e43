"""Snippets: the best window of a document's body with the matched words marked.

Offsets come from the postings (the body is indexed with character offsets), so
no document is segmented a second time.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Callable

from civicsearch.postings import phrase_starts
from civicsearch.query import Clause

#: The field snippets are cut from.
FIELD = "body"
WINDOW = 120
LEAD = 24
_BREAKS = str.maketrans({"\n": " ", "\r": " ", "\t": " "})


Occurrences = Callable[[str, str, int], "list[tuple[int, int, int]]"]


def match_spans(docnum: int, clauses: list[Clause], occurrences: Occurrences,
                fieldname: str = FIELD) -> list[tuple[int, int, str]]:
    """Character spans (start, end, key) where the query matched ``fieldname``.

    A phrase counts only where its words stand in order; ``key`` names the clause
    word, so a window can be scored by how many different words it shows.
    ``occurrences(fieldname, term, docnum)`` gives (position, startchar, endchar)
    of a word in the document (``Ranker.characters``: the postings the ranking read).
    """
    spans: list[tuple[int, int, str]] = []
    for clause in clauses:
        if fieldname not in clause.fields:
            continue
        if clause.phrase and len(clause.terms) > 1:
            lists = [occurrences(fieldname, t, docnum) for t in clause.terms]
            if not all(lists):
                continue
            starts = {p: s for p, s, _ in lists[0]}
            ends = {p: e for p, _, e in lists[-1]}
            last = len(lists) - 1
            spans.extend((starts[p], ends[p + last], clause.text)
                         for p in phrase_starts([[p for p, _, _ in lst] for lst in lists]))
        else:
            for t in clause.terms:
                spans.extend((s, e, t) for _, s, e in occurrences(fieldname, t, docnum))
    return sorted(set(spans))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def make_snippet(text: str, spans: list[tuple[int, int, str]], width: int = WINDOW) -> tuple[str, list[tuple[int, int]]]:
    """Cut the window that shows the most different matched words; mark them."""
    if not spans:
        snippet = text[:width].translate(_BREAKS)
        return snippet + ("…" if len(text) > width else ""), []
    best, best_score = 0, (-1, -1)
    starts = [s for s, _, _ in spans]
    for i, start in enumerate(starts):
        limit = start + width - LEAD
        # Only spans starting before the window's end can lie inside it.
        inside = [sp for sp in spans[i: bisect_right(starts, limit, i)] if sp[1] <= limit]
        score = (len({k for _, _, k in inside}), len(inside))
        if score > best_score:
            best, best_score = i, score
    anchor = spans[best][0]
    begin = max(0, anchor - LEAD)
    # Start at a sentence boundary when one is close before the first match.
    cut = max(text.rfind(p, begin, anchor) for p in "。！？\n")
    if cut >= 0:
        begin = cut + 1
    end = min(len(text), begin + width)
    prefix = "…" if begin > 0 else ""
    body = text[begin:end].translate(_BREAKS)
    highlights = [
        (max(s, begin) - begin + len(prefix), min(e, end) - begin + len(prefix))
        for s, e, _ in spans
        if s < end and e > begin
    ]
    return prefix + body + ("…" if end < len(text) else ""), _merge(highlights)
