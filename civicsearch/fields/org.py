"""The issuing body (发文机关): the hit's ``org``, the ``org`` facet and ``--org``.

``--org`` takes a name or any unambiguous part of one: 全国人民代表大会 also finds its
standing committee's documents (every organ is indexed with the organs it lies under),
and 海陵区行政审批 finds 泰州市海陵区行政审批局. A part that several unrelated organs share
(教育) is an error that names them.
"""

from __future__ import annotations

from typing import Any

from civicsearch.fields.flags import Column, Keywords, Term
from civicsearch.fields.lists import count_list, encode_list, keywords, ranked
from civicsearch.fields.registry import MetaField, Option, keyword_option, register
from civicsearch.ingest.orgs import issuing_bodies, normalize, parents

COLUMN = "org_facet"
TERMS = "org"


def _extract(doc: Any) -> list[str]:
    return issuing_bodies(doc.record, doc.meta, doc.title, doc.body, doc.source)


def _index(orgs: list[str]) -> dict[str, Any]:
    return {TERMS: keywords(t for org in orgs for t in [org, *parents(org)]), COLUMN: encode_list(orgs)}


FIELD = register(MetaField(
    name="org",
    label="issuing body",
    order=60,
    extract=_extract,
    schema={TERMS: Keywords(), COLUMN: Column()},
    index=_index,
    keys={"org": []},
    options=(Option("org", "Only documents issued by this body: a name or an unambiguous part of one "
                           "(全国人民代表大会 also finds its standing committee's)."),),
    canonical=keyword_option("org", TERMS, "issuing bodies' names", normalize),
    filter=lambda given: Term(TERMS, given["org"]),
    column=COLUMN,
    facets=lambda cells, given: {"org": ranked(count_list(cells))},
    facet_names=("org",),
    brief="、".join,
))
