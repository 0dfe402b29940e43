"""The Whoosh schema and the version written beside every index.

The body's character bigrams (``civicsearch.grampool``) are not a Whoosh field:
the segment writer keeps them in the posting arrays only.
"""

from __future__ import annotations

from whoosh import fields
from whoosh.columns import VarBytesColumn

from civicsearch import registry

from civicsearch.analysis import CivicAnalyzer, CivicCharacters, CivicTokenizer

#: Bump when the schema or the analyzer's output changes: older indexes then ask
#: for ``civicsearch index --full`` instead of answering wrongly. (7: the bigrams
#: moved from a Whoosh field to the posting arrays, civicsearch.postarrays; 8: invisible
#: format characters dropped and full-width digits read as ASCII before analysis.)
SCHEMA_VERSION = 8
META_FILE = "civicsearch.json"


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
        # The text as read, kept only where cleaning changed it (for `show`).
        original=fields.STORED(),
        # Near-duplicate sketch (civicsearch.fingerprint): reposts collapse at query time.
        sketch=fields.COLUMN(VarBytesColumn()),
        hash=fields.ID(stored=True, sortable=True),
        # Every metadata field's stored value, and its own Whoosh fields (civicsearch.registry).
        **{registry.STORED_FIELD: fields.STORED()},
        **registry.whoosh_fields(),
    )
