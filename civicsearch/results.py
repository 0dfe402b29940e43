"""Plain result objects: they outlive the searcher that produced them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


def format_date(value: datetime | None, precision: str | None) -> str | None:
    """ISO date cut to its precision: 2023, 2023-01 or 2023-01-04."""
    if value is None:
        return None
    if precision == "year":
        return f"{value.year:04d}"
    if precision == "month":
        return f"{value.year:04d}-{value.month:02d}"
    return value.date().isoformat()


@dataclass
class Hit:
    doc_id: str
    title: str
    path: str
    date: str | None
    place: str | None
    topics: list[str]
    score: float
    snippet: str
    #: (start, end) character spans of matched words inside ``snippet``.
    highlights: list[tuple[int, int]] = field(default_factory=list)
    source: str | None = None
    url: str | None = None
    place_code: str | None = None
    doc_type: str | None = None
    docnos: list[str] = field(default_factory=list)
    #: Reposts of the same article folded under this hit, and their ids.
    similar: int = 0
    similar_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["id"] = d.pop("doc_id")
        d["highlights"] = [list(span) for span in self.highlights]
        return d


@dataclass
class FacetValue:
    value: str
    label: str
    count: int


@dataclass
class SearchResults:
    query: str
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetValue]]
    offset: int = 0
    limit: int = 10
    sort: str = "relevance"
    #: True when no document held every word and any-word matching was used.
    relaxed: bool = False
    #: Synonyms and abbreviations the query was widened with.
    also_searched: list[str] = field(default_factory=list)
    #: True when reposts were folded into the hit they repeat.
    collapsed: bool = True
    #: What the query parser forgave (a stray quote, a dangling OR …).
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "sort": self.sort,
            "relaxed": self.relaxed,
            "also_searched": self.also_searched,
            "collapsed": self.collapsed,
            "notes": self.notes,
            "hits": [h.to_dict() for h in self.hits],
            "facets": {k: [asdict(v) for v in vs] for k, vs in self.facets.items()},
        }


@dataclass
class DocumentRecord:
    doc_id: str
    title: str
    path: str
    date: str | None
    date_source: str | None
    place: str | None
    topics: list[str]
    source: str | None
    url: str | None
    body: str
    original: str
    meta: dict[str, str] = field(default_factory=dict)
    line: int | None = None
    place_code: str | None = None
    doc_type: str | None = None
    docnos: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["id"] = d.pop("doc_id")
        return d


@dataclass
class SkippedInput:
    path: str
    reason: str
    line: int | None = None


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: list[SkippedInput] = field(default_factory=list)
    seconds: float = 0.0
    documents: int = 0
    #: Documents that cleaning would have emptied (or nearly), indexed as read.
    uncleaned: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class IndexStats:
    documents: int
    index_dir: str
    size_bytes: int
    schema_version: int
    created: str | None
    last_updated: str | None
    roots: list[str]
    segmenter: str
    last_run: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
