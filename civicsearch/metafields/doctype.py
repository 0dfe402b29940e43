"""The document's kind (文种: 通知, 地方性法规, 留言, 答复, 新闻 …: :mod:`civicsearch.kinds`)."""

from __future__ import annotations

from whoosh import fields
from whoosh import query as wq
from whoosh.columns import VarBytesColumn

from civicsearch.facets import count_list, encode_list, ranked
from civicsearch.registry import MetaField, Option, keyword_option, register

COLUMN = "doctype_facet"


FIELD = register(MetaField(
    name="doc_type",
    version=2,
    label="type",
    order=40,
    extract=lambda doc: doc.doc_type,
    schema={"doctype": fields.ID(), COLUMN: fields.COLUMN(VarBytesColumn())},
    index=lambda t: {"doctype": t, COLUMN: encode_list([t])},
    options=(Option("type", "Only documents of this kind (文种): 通知, 公告, 意见, 地方性法规, 法律, 留言, 答复, 新闻 …"),),
    canonical=keyword_option("type", "doctype", "document types"),
    filter=lambda given, reader: wq.Term("doctype", given["type"]),
    column=COLUMN,
    facets=lambda cells, given: {"type": ranked(count_list(cells))},
    facet_names=("type",),
    brief=str,
))
