"""Plain result objects: they outlive the searcher that produced them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterator

#: The progress callback's "path" while a parallel build's workers write (see indexer.Progress).
WRITING = "writing the index"


class _Fields:
    """Metadata fields read as attributes: ``hit.date``, ``hit.place``, ``hit.org`` (the JSON keys)."""

    fields: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["fields"][name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None


@dataclass
class Hit(_Fields):
    """One search hit. Its metadata (``date``, ``place``, ``place_code``, ``topics``, ``doc_type``,
    ``docnos``, ``org``, ``validity``, ``source``, ``url`` … one per registered field) is in
    ``fields`` and reads as attributes."""

    doc_id: str
    title: str
    path: str
    score: float
    snippet: str
    #: (start, end) character spans of matched words inside ``snippet``.
    highlights: list[tuple[int, int]] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    #: Reposts of the same article folded under this hit, and their ids.
    similar: int = 0
    similar_ids: list[str] = field(default_factory=list)
    #: The hit's metadata as short texts for a summary line (date, place, topics …).
    summary: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        """The document's id (``id`` in the JSON): the same as ``doc_id``."""
        return self.doc_id

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.doc_id, "title": self.title, "path": self.path, **self.fields, "score": self.score,
                "snippet": self.snippet, "highlights": [list(span) for span in self.highlights],
                "similar": self.similar, "similar_ids": list(self.similar_ids)}


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
    #: Did you mean: a query one character away that finds documents, when this one found
    #: none or had to relax (None otherwise).
    suggestion: str | None = None
    #: True when the order of the top hits used the documents' meaning (the semantic rerank).
    semantic: bool = False

    def __len__(self) -> int:
        """The hits on this page (``total`` counts every matching document)."""
        return len(self.hits)

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __getitem__(self, index: int) -> Hit:
        return self.hits[index]

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
            "suggestion": self.suggestion,
            "semantic": self.semantic,
            "hits": [h.to_dict() for h in self.hits],
            "facets": {k: [asdict(v) for v in vs] for k, vs in self.facets.items()},
        }


@dataclass
class DocumentRecord(_Fields):
    """One document: its text and every metadata field (``fields``, readable as attributes,
    ``meta`` the disclosure header's fields and ``line`` its JSONL line among them)."""

    doc_id: str
    title: str
    path: str
    body: str
    original: str
    fields: dict[str, Any] = field(default_factory=dict)
    #: (label, text) for each metadata field the document has, in order.
    rows: list[tuple[str, str]] = field(default_factory=list)

    @property
    def id(self) -> str:
        """The document's id (``id`` in the JSON): the same as ``doc_id``."""
        return self.doc_id

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.doc_id, "title": self.title, "path": self.path, **self.fields,
                "body": self.body, "original": self.original}


@dataclass
class SkippedInput:
    """An input kept out of the index: a file (and line, in a JSONL file) and why; ``since``
    is when a run first kept it out (it stays listed until it is fixed or removed)."""

    path: str
    reason: str
    line: int | None = None
    since: str | None = None


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
    #: The ids of the documents this run added or changed (what watches are told of; not in the JSON).
    changed_ids: list[str] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["changed_ids"]
        return out


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
    #: Every input currently kept out of the index: ``{"path", "line", "reason", "since"}``.
    kept_out: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
