"""The issuing body (发文机关): the hit's ``org``, the ``org`` facet and ``--org``.

``--org`` takes a name or any unambiguous part of one: 全国人民代表大会 also finds its
standing committee's documents (every organ is indexed with the organs it lies under),
and 海陵区行政审批 finds 泰州市海陵区行政审批局. A part that several unrelated organs share
(教育) is an error that names them.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from whoosh import fields
from whoosh import query as wq
from whoosh.columns import VarBytesColumn

from civicsearch.errors import InvalidArgumentError
from civicsearch.facets import count_list, encode_list, keywords, ranked
from civicsearch.orgs import issuing_bodies, normalize, parents
from civicsearch.registry import MetaField, Option, register

COLUMN = "org_facet"
TERMS = "org"
#: How many names an ambiguous --org lists.
AMBIGUOUS_LISTED = 5


def _extract(doc: Any) -> list[str]:
    return issuing_bodies(doc.record, doc.meta, doc.title, doc.body, doc.source)


def _index(orgs: list[str]) -> dict[str, Any]:
    return {TERMS: keywords(t for org in orgs for t in [org, *parents(org)]), COLUMN: encode_list(orgs)}


#: The issuing bodies' names an index holds, read once per reader (a searcher's life).
_LEXICONS: "WeakKeyDictionary[Any, list[str]]" = WeakKeyDictionary()


def _names(reader: Any) -> list[str]:
    if reader not in _LEXICONS:
        _LEXICONS[reader] = [t.decode("utf-8") if isinstance(t, bytes) else t for t in reader.lexicon(TERMS)] \
            if TERMS in reader.schema else []
    return _LEXICONS[reader]


def _filter(given: dict[str, Any], reader: Any) -> wq.Query:
    wanted = normalize(given["org"])
    names = _names(reader)
    if wanted in names:
        return wq.Term(TERMS, wanted)
    found = [n for n in names if wanted in n]
    if not found:
        return wq.Term(TERMS, wanted)  # no document has it: an empty result, not an error
    root = min(found, key=len)
    if all(n.startswith(root) for n in found):
        return wq.Term(TERMS, root)
    shown = sorted(found, key=lambda n: (len(n), n))[:AMBIGUOUS_LISTED]
    raise InvalidArgumentError(f"--org {given['org']!r} is part of {len(found)} issuing bodies' names "
                               f"({'、'.join(shown)}{' …' if len(found) > AMBIGUOUS_LISTED else ''}): give more of the name")


FIELD = register(MetaField(
    name="org",
    label="issuing body",
    order=60,
    extract=_extract,
    schema={TERMS: fields.KEYWORD(commas=True, scorable=False), COLUMN: fields.COLUMN(VarBytesColumn())},
    index=_index,
    keys={"org": []},
    options=(Option("org", "Only documents issued by this body: a name or an unambiguous part of one "
                           "(全国人民代表大会 also finds its standing committee's)."),),
    filter=_filter,
    column=COLUMN,
    facets=lambda cells, given: {"org": ranked(count_list(cells))},
    facet_names=("org",),
    brief="、".join,
))
