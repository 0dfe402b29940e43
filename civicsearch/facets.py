"""Facet counts for a result set, read from column data (never from per-hit objects)."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from typing import Iterable

from whoosh.reading import IndexReader

from civicsearch.results import FacetValue

#: facet name → (column field, separator for several values in one document)
FACET_COLUMNS = {"place": ("place_facet", None), "year": ("datekey", None), "topic": ("topic_facet", "\x1f")}


def _leaf_columns(reader: IndexReader, fieldname: str) -> tuple[list[int], list[object]]:
    offsets, columns = [], []
    for leaf, offset in reader.leaf_readers():
        offsets.append(offset)
        columns.append(leaf.column_reader(fieldname) if leaf.has_column(fieldname) else None)
    return offsets, columns


def count_facets(reader: IndexReader, docnums: Iterable[int]) -> dict[str, list[FacetValue]]:
    """place, year and topic counts over ``docnums`` (years newest first, others by count)."""
    docs = sorted(docnums)
    out: dict[str, list[FacetValue]] = {}
    for name, (fieldname, sep) in FACET_COLUMNS.items():
        offsets, columns = _leaf_columns(reader, fieldname)
        counts: Counter[str] = Counter()
        for d in docs:
            i = bisect_right(offsets, d) - 1
            col = columns[i]
            if col is None:
                continue
            raw = col[d - offsets[i]]
            if not raw:
                continue
            if isinstance(raw, int):
                text = str(raw // 10**10)  # datekey YYYYMMDDhhmmss → year
            else:
                text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
            counts.update(text.split(sep) if sep else (text,))
        if name == "year":
            items = sorted(counts.items(), key=lambda kv: kv[0], reverse=True)
        else:
            items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        out[name] = [FacetValue(value=v, label=v, count=c) for v, c in items]
    return out
