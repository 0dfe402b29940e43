"""The document's own numbers (发文字号), normalised: ``文号:国办发〔2024〕1号`` finds it, ``文号:国办发`` its series."""

from __future__ import annotations

from civicsearch.fields.flags import Keywords
from civicsearch.fields.lists import keywords
from civicsearch.fields.registry import MetaField, register

#: The index field the query syntax's ``文号:`` / ``docno:`` searches.
INDEX_FIELD = "docno"

FIELD = register(MetaField(
    name="docnos",
    label="document numbers",
    order=50,
    extract=lambda doc: list(doc.docnos),
    schema={INDEX_FIELD: Keywords()},
    index=lambda docnos: {INDEX_FIELD: keywords(docnos)},
    keys={"docnos": []},
    detail=", ".join,
))
