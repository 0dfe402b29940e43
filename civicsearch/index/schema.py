"""The Whoosh schema (the text fields, and the metadata fields' neutral flags made Whoosh fields)
and the version written beside every index.

The body's character bigrams (``civicsearch.index.grampool``) are not a Whoosh field:
the segment writer keeps them in the posting arrays only.
"""

from __future__ import annotations

from whoosh import fields
from whoosh.columns import NumericColumn, VarBytesColumn

from civicsearch.fields import registry
from civicsearch.fields.flags import Column, Date, Flag, Keywords
from civicsearch.index.analyzers import CivicAnalyzer, CivicCharacters, CivicTokenizer

#: Bump when the schema or the analyzer's output changes: older indexes then ask
#: for ``civicsearch index --full`` instead of answering wrongly. (7: the bigrams
#: moved from a Whoosh field to the posting arrays, civicsearch.index.postarrays; 8: invisible
#: format characters dropped and full-width digits read as ASCII before analysis; 9: the words' postings in the
#: posting arrays only, with no character lengths; 10: frequencies a byte, start characters two bytes, key hashes
#: 32 bits, the values that do not fit kept apart; 11: each field's terms in two tables, those of up to three
#: characters by code, the others by hash with their bytes but not their field's name; 12: a document's word
#: starts four bits a position instead of two bytes an occurrence, the pure columns in the posting arrays only,
#: no terms for the dates; 13: every segment names civicsearch's codec, civicsearch.index.codec.CivicCodec, which
#: finds its posting arrays.)
SCHEMA_VERSION = 13
META_FILE = "civicsearch.json"


def _text(analyzer: CivicTokenizer) -> fields.TEXT:
    """A full-text field: word positions and character offsets (phrases, snippets), stored."""
    field = fields.TEXT(analyzer=analyzer, stored=True, chars=True)
    field.format = CivicCharacters(field_boost=field.format.field_boost)
    return field


def whoosh_field(flag: Flag) -> fields.FieldType | None:
    """The Whoosh field that keeps what a metadata field's flag declares, or None: a date's
    range is filtered here by the field's column (a mask), and its terms would be read by
    nothing (a cluster filters by range: :mod:`civicsearch.backends.opensearch`)."""
    if isinstance(flag, Keywords):
        if flag.separator is None:
            return fields.ID()
        return fields.KEYWORD(commas=flag.separator == ",", scorable=False)
    if isinstance(flag, Date):
        return None
    if isinstance(flag, Column):
        if flag.kind == "int64":
            return fields.COLUMN(NumericColumn("q", default=flag.default))
        return fields.COLUMN(VarBytesColumn())
    raise TypeError(f"no Whoosh field for {flag!r}")


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
        # Near-duplicate sketch (civicsearch.ingest.fingerprint): reposts collapse at query time.
        sketch=fields.COLUMN(VarBytesColumn()),
        hash=fields.ID(stored=True, sortable=True),
        # Every metadata field's stored value, and its own Whoosh fields (civicsearch.fields.registry).
        **{registry.STORED_FIELD: fields.STORED()},
        **{name: found for name, flag in registry.index_fields().items() if (found := whoosh_field(flag)) is not None},
    )


def unkept() -> frozenset[str]:
    """The metadata fields' index fields Whoosh keeps nothing of (a writer drops their values)."""
    return frozenset(name for name, flag in registry.index_fields().items() if whoosh_field(flag) is None)
