"""Where a document came from: its source (来源), URL, JSONL line and disclosure-header fields."""

from __future__ import annotations

from civicsearch.fields.registry import MetaField, register

SOURCE = register(MetaField(name="source", label="source", order=80, extract=lambda doc: doc.source, brief=str))
URL = register(MetaField(name="url", label="url", order=85, extract=lambda doc: doc.url))
LINE = register(MetaField(name="line", order=90, in_hits=False, extract=lambda doc: doc.line))
#: The disclosure header's fields as read (索引号, 发布机构 …): ``civicsearch show`` lists them.
HEADER = register(MetaField(name="meta", order=95, in_hits=False, extract=lambda doc: dict(doc.meta),
                            keys={"meta": {}}))
