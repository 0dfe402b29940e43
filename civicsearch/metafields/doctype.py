"""The document's type (规划计划, 工作报告, 通知公告 …: ``civicsearch/data/doctypes.tsv``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from whoosh import fields
from whoosh import query as wq
from whoosh.columns import VarBytesColumn

from civicsearch.registry import MetaField, Option, register
from civicsearch.results import FacetValue

COLUMN = "doctype_facet"


def _facets(values: Counter, given: dict[str, Any]) -> dict[str, list[FacetValue]]:
    types = sorted(((raw.decode("utf-8"), n) for raw, n in values.items()), key=lambda kv: (-kv[1], kv[0]))
    return {"type": [FacetValue(t, t, c) for t, c in types]}


FIELD = register(MetaField(
    name="doc_type",
    label="type",
    order=40,
    extract=lambda doc: doc.doc_type,
    schema={"doctype": fields.ID(), COLUMN: fields.COLUMN(VarBytesColumn())},
    index=lambda t: {"doctype": t, COLUMN: t.encode()},
    options=(Option("type", "Only documents of this type (规划计划, 工作报告, 调研走访, 会议, 通知公告, 新闻)."),),
    filter=lambda given, reader: wq.Term("doctype", given["type"].strip()),
    column=COLUMN,
    facets=_facets,
    facet_names=("type",),
    brief=str,
))
