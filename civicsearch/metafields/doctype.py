"""The document's type (规划计划, 工作报告, 通知公告 …: ``civicsearch/data/doctypes.tsv``)."""

from __future__ import annotations

from whoosh import fields
from whoosh import query as wq
from whoosh.columns import VarBytesColumn

from civicsearch.facets import count_list, encode_list, ranked
from civicsearch.registry import MetaField, Option, register

COLUMN = "doctype_facet"


FIELD = register(MetaField(
    name="doc_type",
    label="type",
    order=40,
    extract=lambda doc: doc.doc_type,
    schema={"doctype": fields.ID(), COLUMN: fields.COLUMN(VarBytesColumn())},
    index=lambda t: {"doctype": t, COLUMN: encode_list([t])},
    options=(Option("type", "Only documents of this type (规划计划, 工作报告, 调研走访, 会议, 通知公告, 新闻)."),),
    filter=lambda given, reader: wq.Term("doctype", given["type"].strip()),
    column=COLUMN,
    facets=lambda cells, given: {"type": ranked(count_list(cells))},
    facet_names=("type",),
    brief=str,
))
