"""Facet counts for a result set, read from column data (never from per-hit objects)."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Any, Iterable

from whoosh.reading import IndexReader

from civicsearch.normalize import fold
from civicsearch.places import level_of, short_forms
from civicsearch.results import FacetValue


class Columns:
    """Column values by global docnum, read once per searcher (facets, date sort, collapsing)."""

    def __init__(self, reader: IndexReader) -> None:
        self.reader = reader
        self._loaded: dict[str, list[Any]] = {}

    def __getitem__(self, fieldname: str) -> list[Any]:
        if fieldname not in self._loaded:
            values: list[Any] = []
            for leaf, _ in self.reader.leaf_readers():
                n = leaf.doc_count_all()
                if fieldname in leaf.schema and leaf.has_column(fieldname):
                    col = leaf.column_reader(fieldname)
                    values.extend(col[i] for i in range(n))
                else:
                    values.extend([None] * n)
            self._loaded[fieldname] = values
        return self._loaded[fieldname]


def _value_counts(columns: Columns, fieldname: str, docs: list[int]) -> Counter[Any]:
    """How many of ``docs`` hold each distinct column value (empty values left out).

    Counted in C over the raw values; each distinct value is decoded once after.
    """
    counts = Counter(map(columns[fieldname].__getitem__, docs))
    for empty in (None, b"", 0):
        counts.pop(empty, None)
    return counts


@lru_cache(maxsize=65536)
def _names(code: str, name: str) -> set[str]:
    return {code, fold(name), *(fold(s) for s in short_forms(name, level_of(code)))}


@lru_cache(maxsize=65536)
def _chain(raw: bytes) -> list[tuple[str, ...]]:
    return [tuple(item.split(":", 1)) for item in raw.decode("utf-8").split("|")]


def _place_facet(values: Counter[bytes], place_filter: str | None) -> list[FacetValue]:
    """Counts one level below the filter: provinces for all of China, districts for 上海市 …"""
    wanted = fold(place_filter.strip()) if place_filter else None
    counts: Counter[tuple[str, str]] = Counter()
    for raw, n in values.items():
        chain = _chain(raw)
        if wanted is None:
            counts[chain[0]] += n
            continue
        at = min((i for i, (code, name) in enumerate(chain) if wanted in _names(code, name)), default=None)
        if at is not None and at + 1 < len(chain):
            counts[chain[at + 1]] += n
    return [FacetValue(value=code, label=name, count=c)
            for (code, name), c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0]))]


def count_facets(
    columns: Columns, docnums: Iterable[int], place_filter: str | None = None, year: int | None = None
) -> dict[str, list[FacetValue]]:
    """place, year, topic and document-type counts over ``docnums``.

    Years come newest first, places and topics by count. The place facet drills
    down: one level below ``place_filter`` (all of China → provinces). With
    ``year`` (a date filter inside one year) a ``month`` facet comes too.
    """
    docs = list(docnums)
    keys = _value_counts(columns, "datekey", docs)
    years: Counter[str] = Counter()
    for v, n in keys.items():
        years[str(v // 10**10)] += n
    topics: Counter[str] = Counter()
    for raw, n in _value_counts(columns, "topic_facet", docs).items():
        for t in raw.decode("utf-8").split("\x1f"):
            topics[t] += n
    types = Counter({raw.decode("utf-8"): n for raw, n in _value_counts(columns, "doctype_facet", docs).items()})
    facets = {
        "place": _place_facet(_value_counts(columns, "place_facet", docs), place_filter),
        "year": [FacetValue(y, y, c) for y, c in sorted(years.items(), reverse=True)],
        "topic": [FacetValue(t, t, c) for t, c in sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))],
        "type": [FacetValue(t, t, c) for t, c in sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))],
    }
    if year is not None:
        months: Counter[str] = Counter()
        for v, n in keys.items():
            if v // 10**10 == year and v // 10**8 % 100:
                months[f"{year}-{v // 10**8 % 100:02d}"] += n
        facets["month"] = [FacetValue(m, m, c) for m, c in sorted(months.items())]
    return facets
