"""The document's subjects: the State Council's classes and the source's own labels."""

from __future__ import annotations

from collections import Counter
from typing import Any

from whoosh import fields
from whoosh import query as wq
from whoosh.columns import VarBytesColumn

from civicsearch.registry import MetaField, Option, register
from civicsearch.results import FacetValue

COLUMN = "topic_facet"
_SEP = "\x1f"


def _index(topics: list[str]) -> dict[str, Any]:
    return {"topic": ",".join(t.replace(",", " ") for t in topics), COLUMN: _SEP.join(topics).encode()}


def _facets(values: Counter, given: dict[str, Any]) -> dict[str, list[FacetValue]]:
    topics: Counter[str] = Counter()
    for raw, n in values.items():
        for t in raw.decode("utf-8").split(_SEP):
            topics[t] += n
    return {"topic": [FacetValue(t, t, c) for t, c in sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))]}


FIELD = register(MetaField(
    name="topics",
    label="topics",
    order=30,
    extract=lambda doc: list(doc.topics),
    schema={"topic": fields.KEYWORD(commas=True, scorable=False), COLUMN: fields.COLUMN(VarBytesColumn())},
    index=_index,
    keys={"topics": []},
    options=(Option("topic", "Only documents with this topic (e.g. 重大行动计划)."),),
    filter=lambda given, reader: wq.Term("topic", given["topic"].strip()),
    column=COLUMN,
    facets=_facets,
    facet_names=("topic",),
    brief=lambda topics: ", ".join(topics[:2]),
    detail=", ".join,
))
