"""Snippets: the best window of a document's body with the matched words marked.

Offsets come from the index (where each word position starts, and a sub-word's place
inside its word found in the stored text), so no document is segmented a second time.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Callable

from civicsearch.index.postings import phrase_starts
from civicsearch.search.query import Clause

#: The field snippets are cut from.
FIELD = "body"
WINDOW = 120
LEAD = 24
_BREAKS = str.maketrans({"\n": " ", "\r": " ", "\t": " "})
#: From this many spans on (a common word in a long document), the window is
#: chosen with array operations: the loop's cost grows with spans × spans in a window.
ARRAY_SPANS = 32
#: A word's first this many occurrences in a document are weighed for its snippet: a
#: document of millions of characters repeating it would otherwise cost seconds a hit.
MAX_SPANS = 2000
#: What :func:`match_spans` reads of a word: one more than it weighs, to tell a list it cut.
READ_SPANS = MAX_SPANS + 1


Occurrences = Callable[[str, str, int], "list[tuple[int, int, int]]"]


def match_spans(docnum: int, clauses: list[Clause], occurrences: Occurrences,
                fieldname: str = FIELD) -> list[tuple[int, int, str]]:
    """Character spans (start, end, key) where the query matched ``fieldname``.

    A phrase counts only where its words stand in order; ``key`` names the clause
    word, so a window can be scored by how many different words it shows.
    ``occurrences(fieldname, term, docnum)`` gives (position, startchar, endchar)
    of a word in the document (``Storage.characters``: the postings the ranking read).
    """
    spans: list[tuple[int, int, str]] = []
    horizon: int | None = None  # the character where a word's list was cut, if one was

    def read(term: str) -> list[tuple[int, int, int]]:
        nonlocal horizon
        found = occurrences(fieldname, term, docnum)
        if len(found) > MAX_SPANS:
            found = found[:MAX_SPANS]
            horizon = found[-1][1] if horizon is None else min(horizon, found[-1][1])
        return found

    for clause in clauses:
        if fieldname not in clause.fields:
            continue
        if clause.phrase and len(clause.terms) > 1:
            lists = [read(t) for t in clause.terms]
            if not all(lists):
                continue
            starts = {p: s for p, s, _ in lists[0]}
            ends = {p: e for p, _, e in lists[-1]}
            last = len(lists) - 1
            spans.extend((starts[p], ends[p + last], clause.text)
                         for p in phrase_starts([[p for p, _, _ in lst] for lst in lists]))
        else:
            for t in clause.terms:
                spans.extend((s, e, t) for _, s, e in read(t))
    if horizon is not None:
        # Past the first cut list, other words' spans would stand without its own.
        spans = [sp for sp in spans if sp[0] <= horizon]
    return sorted(set(spans))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def best_window(spans: list[tuple[int, int, str]], width: int = WINDOW) -> int:
    """The span (of ``spans``, sorted) a window starts at: the first whose window holds
    the most different keys, then the most spans."""
    reach = width - LEAD
    if len(spans) < ARRAY_SPANS or any(e - s > reach for s, e, _ in spans):
        return _best_window_loop(spans, reach)
    return _best_window_arrays(spans, reach)


def _best_window_loop(spans: list[tuple[int, int, str]], reach: int) -> int:
    best, best_score = 0, (-1, -1)
    starts = [s for s, _, _ in spans]
    for i, start in enumerate(starts):
        limit = start + reach
        # Only spans starting before the window's end can lie inside it.
        inside = [sp for sp in spans[i: bisect_right(starts, limit, i)] if sp[1] <= limit]
        score = (len({k for _, _, k in inside}), len(inside))
        if score > best_score:
            best, best_score = i, score
    return best


def _best_window_arrays(spans: list[tuple[int, int, str]], reach: int) -> int:
    """As the loop, for spans none longer than ``reach``: then every span before the
    i-th ends inside the i-th's window, so the window holds the spans from i on that
    end by its limit, counted from the sorted ends; and it shows a key when the
    earliest end among that key's spans from i on is within the limit."""
    import numpy as np  # lazily: most snippets have a handful of spans

    starts = np.fromiter((s for s, _, _ in spans), dtype=np.int64, count=len(spans))
    ends = np.fromiter((e for _, e, _ in spans), dtype=np.int64, count=len(spans))
    codes: dict[str, int] = {}
    keys = np.fromiter((codes.setdefault(k, len(codes)) for _, _, k in spans), dtype=np.int64, count=len(spans))
    limits = starts + reach
    count = np.searchsorted(np.sort(ends), limits, side="right") - np.arange(len(spans))
    shown = np.zeros(len(spans), dtype=np.int64)
    for code in range(len(codes)):
        own_ends = np.where(keys == code, ends, np.iinfo(np.int64).max)
        shown += np.minimum.accumulate(own_ends[::-1])[::-1] <= limits
    return int(np.argmax(shown * (len(spans) + 1) + count))


def make_snippet(text: str, spans: list[tuple[int, int, str]], width: int = WINDOW) -> tuple[str, list[tuple[int, int]]]:
    """Cut the window that shows the most different matched words; mark them."""
    if not spans:
        snippet = text[:width].translate(_BREAKS)
        return snippet + ("…" if len(text) > width else ""), []
    anchor = spans[best_window(spans, width)][0]
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
