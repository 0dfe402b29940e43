"""The encodings metadata fields share: a list of values in one column cell and in one
keyword field, and facet values ranked by count (the column data itself: :mod:`civicsearch.index.columns`)."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from civicsearch.results import FacetValue

#: Separates the values of a many-valued field in one column cell (topics, issuing bodies).
_SEP = "\x1f"


def encode_list(values: Iterable[str]) -> bytes:
    """A many-valued field's column cell."""
    return _SEP.join(values).encode()


def count_list(cells: Counter) -> Counter[str]:
    """Per value, the documents holding it, from the counts of :func:`encode_list` cells."""
    counts: Counter[str] = Counter()
    for raw, n in cells.items():
        for value in raw.decode("utf-8").split(_SEP):
            counts[value] += n
    return counts


def keywords(terms: Iterable[str]) -> str:
    """A KEYWORD field's value (``commas=True``): the terms, with any comma inside one made a space."""
    return ",".join(dict.fromkeys(t.replace(",", " ") for t in terms))


def ranked(counts: Counter[str]) -> list[FacetValue]:
    """Facet values labelled as they are, most documents first, ties by value."""
    return [FacetValue(v, v, c) for v, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
