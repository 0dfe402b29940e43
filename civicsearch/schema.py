"""The Whoosh schema and the version written beside every index."""

from __future__ import annotations

from whoosh import fields
from whoosh.columns import NumericColumn, VarBytesColumn

from civicsearch.analysis import CivicAnalyzer, CivicCharacters, CivicTokenizer
from civicsearch.bigrams import GramField

#: Bump when the schema or the analyzer's output changes: older indexes then ask
#: for ``civicsearch index --full`` instead of answering wrongly.
SCHEMA_VERSION = 5
META_FILE = "civicsearch.json"
TITLE_BOOST = 2.0


def _text(analyzer: CivicTokenizer) -> fields.TEXT:
    """A full-text field: word positions and character offsets (phrases, snippets), stored."""
    field = fields.TEXT(analyzer=analyzer, stored=True, chars=True)
    field.format = CivicCharacters(field_boost=field.format.field_boost)
    return field


def make_schema() -> fields.Schema:
    analyzer = CivicAnalyzer()
    return fields.Schema(
        id=fields.ID(unique=True, stored=True, sortable=True),
        path=fields.ID(stored=True, sortable=True),
        title=_text(analyzer),
        # The cleaned body: indexed with character offsets so snippets need no
        # second segmentation pass, and stored because snippets are cut from it.
        body=_text(analyzer),
        # The body again as character bigrams (frequencies only, not stored), for the fused ranking (rank.py).
        grams=GramField(),
        # The text as read, kept only where cleaning changed it (for `show`).
        original=fields.STORED(),
        date=fields.DATETIME(stored=True),
        # YYYYMMDDhhmmss, 0 when undated: sorts undated documents last and gives the
        # year facet. Facets are counted from column data, never from per-hit objects.
        datekey=fields.COLUMN(NumericColumn("q", default=0)),
        place=fields.KEYWORD(stored=True, commas=True, scorable=False),
        place_facet=fields.COLUMN(VarBytesColumn()),
        topic=fields.KEYWORD(stored=True, commas=True, scorable=False),
        topic_facet=fields.COLUMN(VarBytesColumn()),
        doctype=fields.ID(stored=True),
        doctype_facet=fields.COLUMN(VarBytesColumn()),
        # Normalised document numbers: 文号:国办发〔2024〕1号 exactly, 文号:国办发 as a prefix.
        docno=fields.KEYWORD(stored=True, commas=True, scorable=False),
        source=fields.ID(stored=True),
        # Near-duplicate sketch (civicsearch.fingerprint): reposts collapse at query time.
        sketch=fields.COLUMN(VarBytesColumn()),
        hash=fields.ID(stored=True, sortable=True),
        info=fields.STORED(),
    )
