"""Near-duplicate fingerprints, so reposts of one article collapse into one result.

A fingerprint is a bottom-k MinHash sketch: the ``SKETCH`` smallest mixed
64-bit values of the document's character 4-gram shingles (letters, digits and
Han only, so spacing and punctuation do not count). Two sketches estimate the
Jaccard similarity of the shingle sets; a repost with another header, other
trailing junk and a few changed words keeps most shingles. It is computed once
at index time from the first ``SPAN`` characters of the cleaned body: reposts
share their opening, and the cap keeps a 200,000-character law as cheap as a
news item (under 0.5 ms a document).
"""

from __future__ import annotations

from array import array
from typing import Sequence

import numpy as np

from civicsearch.text.normalize import letters_only

SKETCH = 24
SPAN = 1000
#: Estimated Jaccard similarity from which two documents are one article.
THRESHOLD = 0.6
#: Shorter texts are too little evidence (a two-line notice is not a repost of another).
MIN_CHARS = 40
_MIX = 0x9E3779B97F4A7C15  # Fibonacci hashing: spreads the shingles' raw bytes
#: What pads a short sketch when sketches are compared in arrays (the largest value).
_PAD = np.uint64(2**64 - 1)


def sketch(text: str) -> bytes:
    """The fingerprint of ``text`` (empty when the text is too short to judge)."""
    chars = letters_only(text[: SPAN * 2].lower())[:SPAN]
    if len(chars) < MIN_CHARS:
        return b""
    data = chars.encode("utf-16-le")
    # Read as 8-byte words from four offsets: every 4-character shingle. Mixing is one
    # to one (an odd multiplier, modulo 2**64), so the distinct mixed values are the
    # distinct shingles' (numpy: half the time of a set and a heap).
    shingles = np.concatenate([np.frombuffer(data, dtype=np.uint64, count=(len(data) - shift) // 8, offset=shift)
                               for shift in (0, 2, 4, 6)])
    return _smallest(shingles * np.uint64(_MIX)).tobytes()


def _smallest(values: np.ndarray) -> np.ndarray:
    """The ``SKETCH`` smallest distinct ``values``, sorted. A partial sort brings the few
    smallest to the front without sorting the rest; where repeats among them leave fewer
    distinct ones, more are brought."""
    take = SKETCH
    while take < len(values):
        # The take + 1 smallest: every other value is at least the largest of them.
        front = np.unique(np.partition(values, take)[: take + 1])
        if len(front) >= SKETCH:
            return front[:SKETCH]
        take *= 4
    return np.unique(values)[:SKETCH]


def values(raw: bytes) -> frozenset[int]:
    """A sketch's hash values (decode once when comparing one sketch with many)."""
    decoded = array("Q")
    decoded.frombytes(raw)
    return frozenset(decoded)


def set_similarity(sa: frozenset[int], sb: frozenset[int]) -> float:
    """:func:`similarity` of two decoded sketches."""
    if not sa or not sb:
        return 0.0
    union = sorted(sa | sb)[:SKETCH]
    return sum(1 for h in union if h in sa and h in sb) / len(union)


def is_repost(sa: frozenset[int], sb: frozenset[int]) -> bool:
    """Whether ``set_similarity(sa, sb) >= THRESHOLD``, deciding most pairs without sorting.

    The estimate counts shared values among the union's ``SKETCH`` smallest, so it
    is at most (shared values) / min(SKETCH, union size): when that bound is
    under the threshold (as for almost every pair) the answer is no at once.
    """
    if not sa or not sb:
        return False
    common = len(sa & sb)
    if common < THRESHOLD * min(SKETCH, len(sa) + len(sb) - common):
        return False
    return set_similarity(sa, sb) >= THRESHOLD


def repost_pairs(raws: Sequence[bytes]) -> "np.ndarray":
    """Which of ``raws`` (sketches, empty where there is none) are reposts of which: a
    symmetric boolean matrix, as :func:`is_repost` decides each pair.

    The shared values of every pair are counted at once (:func:`_shared_counts`);
    only the pairs whose bound reaches the threshold (a few) are sorted.
    """
    n = len(raws)
    out = np.zeros((n, n), dtype=bool)
    sizes = np.fromiter((len(r) // 8 for r in raws), dtype=np.int64, count=n)
    if np.count_nonzero(sizes) < 2:
        return out
    common = _shared_counts(np.frombuffer(b"".join(raws), dtype=np.uint64), sizes)
    union = sizes[:, None] + sizes[None, :] - common
    maybe = common >= THRESHOLD * np.minimum(SKETCH, union)
    maybe &= (sizes > 0)[:, None] & (sizes > 0)[None, :]
    first, second = np.nonzero(np.triu(maybe, 1))
    if len(first):
        out[first, second] = out[second, first] = _similar_pairs(raws, sizes, first, second)
    return out


def _similar_pairs(raws: Sequence[bytes], sizes: "np.ndarray", first: "np.ndarray",
                   second: "np.ndarray") -> "np.ndarray":
    """Whether ``set_similarity`` of each pair of sketches ``raws[first[k]]``,
    ``raws[second[k]]`` reaches the threshold, for all the pairs at once: each pair's values
    sorted together, where a shared value stands twice in a row (none repeats in one sketch)."""
    flat = np.frombuffer(b"".join(raws), dtype=np.uint64)
    if len(flat) and flat.max() == _PAD:  # the padding would pass for a value: pair by pair
        decoded = [values(raw) for raw in raws]
        return np.fromiter((set_similarity(decoded[i], decoded[j]) >= THRESHOLD for i, j in zip(first, second)),
                           dtype=bool, count=len(first))
    width = int(sizes.max())
    table = np.full((len(raws), width), _PAD, dtype=np.uint64)  # each sketch's values, padded
    column = np.arange(len(flat)) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # each value's place in its sketch
    table[np.repeat(np.arange(len(raws)), sizes), column] = flat
    merged = np.sort(np.concatenate([table[first], table[second]], axis=1), axis=1)
    real = merged != _PAD
    again = np.zeros(merged.shape, dtype=bool)
    again[:, 1:] = (merged[:, 1:] == merged[:, :-1]) & real[:, 1:]
    # The union's values in order: a value's second copy has the first's rank.
    rank = np.cumsum(real & ~again, axis=1)
    shared = np.count_nonzero(again & (rank <= SKETCH), axis=1)
    union = np.minimum(rank[:, -1], SKETCH)
    return shared / union >= THRESHOLD


def _shared_counts(flat: "np.ndarray", sizes: "np.ndarray", max_pairs: int | None = None) -> "np.ndarray":
    """How many values each pair of sketches shares (the diagonal is left 0), from
    the sketches' values end to end (``sizes`` values each; none repeats in one).

    Pairs of holders are counted one by one while there are at most ``max_pairs``
    (default: as many as the matrix has cells), else by a matrix product.
    """
    n = len(sizes)
    doc = np.repeat(np.arange(n), sizes)
    order = np.argsort(flat, kind="stable")
    flat, doc = flat[order], doc[order]
    # Runs of one value, its holders in document order: each holder pairs with
    # every later one in its run.
    starts = np.r_[True, flat[1:] != flat[:-1]]
    run_end = np.r_[np.flatnonzero(starts)[1:], len(flat)]
    later = run_end[np.cumsum(starts) - 1] - np.arange(len(flat)) - 1
    total = int(later.sum())
    if total <= (n * n if max_pairs is None else max_pairs):
        # Few pairs (most values are in one sketch): count them one by one.
        a = np.repeat(np.arange(len(flat)), later)
        b = a + 1 + np.arange(total) - np.repeat(np.cumsum(later) - later, later)
        pairs = np.bincount(doc[a] * n + doc[b], minlength=n * n).reshape(n, n)
        return pairs + pairs.T
    # Many documents share many values (a page of reposts): one product of a
    # document-by-value matrix, over the values held twice or more.
    _, value_ids, counts = np.unique(flat, return_inverse=True, return_counts=True)
    shared = counts > 1
    column = np.cumsum(shared) - 1
    held = shared[value_ids]
    holds = np.zeros((n, int(column[-1]) + 1), dtype=np.float32)
    holds[doc[held], column[value_ids[held]]] = 1.0
    common = np.rint(holds @ holds.T).astype(np.int64)  # small whole numbers: exact in float32
    np.fill_diagonal(common, 0)
    return common


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the texts behind two sketches (0 when either is empty)."""
    return set_similarity(values(a), values(b)) if a and b else 0.0
