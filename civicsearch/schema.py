"""The Whoosh schema and the version written beside every index."""

from __future__ import annotations

from whoosh import fields
from whoosh.columns import VarBytesColumn

from civicsearch import registry

from civicsearch.analysis import CivicAnalyzer, CivicCharacters, CivicTokenizer
from civicsearch.bigrams import GramField

#: Bump when the schema or the analyzer's output changes: older indexes then ask
#: for ``civicsearch index --full`` instead of answering wrongly. (The posting
#: arrays beside each segment, civicsearch.postarrays, did not bump it: a segment
#: without them answers the same from Whoosh's blocks, only slower.)
SCHEMA_VERSION = 6
META_FILE = "civicsearch.json"
TITLE_BOOST = 2.0


def _text(analyzer: CivicTokenizer) -> fields.TEXT:
    """A full-text field: word positions and character offsets (phrases, snippets), stored."""
    field = fields.TEXT(analyzer=analyzer, stored=True, chars=True)
    field.format = CivicCharacters(field_boost=field.format.field_boost)
    return field


def make_schema() -> fields.Schema:
    """The text fields, and every registered metadata field's."""
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
        # Near-duplicate sketch (civicsearch.fingerprint): reposts collapse at query time.
        sketch=fields.COLUMN(VarBytesColumn()),
        hash=fields.ID(stored=True, sortable=True),
        # Every metadata field's stored value, and its own Whoosh fields (civicsearch.registry).
        **{registry.STORED_FIELD: fields.STORED()},
        **registry.whoosh_fields(),
    )
