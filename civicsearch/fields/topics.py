"""The document's subjects: the State Council's classes and the source's own labels."""

from __future__ import annotations

from typing import Any

from civicsearch.fields.flags import Column, Keywords, Term
from civicsearch.fields.lists import count_list, encode_list, keywords, ranked
from civicsearch.fields.registry import MetaField, Option, keyword_option, register

COLUMN = "topic_facet"


def _index(topics: list[str]) -> dict[str, Any]:
    return {"topic": keywords(topics), COLUMN: encode_list(topics)}


FIELD = register(MetaField(
    name="topics",
    label="topics",
    order=30,
    extract=lambda doc: list(doc.topics),
    schema={"topic": Keywords(), COLUMN: Column()},
    index=_index,
    keys={"topics": []},
    options=(Option("topic", "Only documents with this topic (e.g. 重大行动计划)."),),
    canonical=keyword_option("topic", "topic", "topics"),
    filter=lambda given: Term("topic", given["topic"]),
    column=COLUMN,
    facets=lambda cells, given: {"topic": ranked(count_list(cells))},
    facet_names=("topic",),
    brief=", ".join,
    detail=", ".join,
))
