"""The document's kind (文种: 通知, 地方性法规, 留言, 答复, 新闻 …: :mod:`civicsearch.ingest.kinds`)."""

from __future__ import annotations

from civicsearch.fields.flags import Column, Keywords, Term
from civicsearch.fields.lists import count_list, encode_list, ranked
from civicsearch.fields.registry import MetaField, Option, keyword_option, register

COLUMN = "doctype_facet"


FIELD = register(MetaField(
    name="doc_type",
    version=2,
    label="type",
    order=40,
    extract=lambda doc: doc.doc_type,
    schema={"doctype": Keywords(None), COLUMN: Column()},
    index=lambda t: {"doctype": t, COLUMN: encode_list([t])},
    options=(Option("type", "Only documents of this kind (文种): 通知, 公告, 意见, 地方性法规, 法律, 留言, 答复, 新闻 …"),),
    canonical=keyword_option("type", "doctype", "document types"),
    filter=lambda given: Term("doctype", given["type"]),
    column=COLUMN,
    facets=lambda cells, given: {"type": ranked(count_list(cells))},
    facet_names=("type",),
    brief=str,
))
