"""The document's own numbers (发文字号), normalised: ``文号:国办发〔2024〕1号`` finds it, ``文号:国办发`` its series."""

from __future__ import annotations

from whoosh import fields

from civicsearch.facets import keywords
from civicsearch.registry import MetaField, register

#: The Whoosh field the query syntax's ``文号:`` / ``docno:`` searches.
WHOOSH_FIELD = "docno"

FIELD = register(MetaField(
    name="docnos",
    label="document numbers",
    order=50,
    extract=lambda doc: list(doc.docnos),
    schema={WHOOSH_FIELD: fields.KEYWORD(commas=True, scorable=False)},
    index=lambda docnos: {WHOOSH_FIELD: keywords(docnos)},
    keys={"docnos": []},
    detail=", ".join,
))
