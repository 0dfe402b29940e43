"""The document's place: filter terms for every level (``--place 上海``, ``嘉定区``, ``310114``)
and a drill-down facet (China → provinces → districts → towns)."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Any

from civicsearch.fields.flags import Column, Keywords, Lexicons, Term
from civicsearch.fields.lists import keywords
from civicsearch.fields.registry import MetaField, Option, register, resolve
from civicsearch.ingest.places import PSEUDO, gazetteer, level_of, short_forms
from civicsearch.results import FacetValue
from civicsearch.text.normalize import fold

COLUMN = "place_facet"


@lru_cache(maxsize=65536)
def names(code: str, name: str) -> tuple[str, ...]:
    """What one level of a place answers to: its code, its name and its short forms, folded."""
    return tuple(dict.fromkeys([code, fold(name), *(fold(s) for s in short_forms(name, level_of(code)))]))


def _extract(doc: Any) -> dict[str, Any] | None:
    if doc.place is not None:
        return {"label": doc.place.label, "code": doc.place.code, "chain": [list(c) for c in doc.place.chain]}
    if doc.place_hint:
        # Explicit place metadata that names no division (an anonymised "A市"): a label, no code.
        return {"label": doc.place_hint, "code": None, "chain": [[doc.place_hint, doc.place_hint]]}
    return None


#: A level's own separators become their full-width forms: a place given as metadata
#: (``东区:北片``) must not split into another level.
_SEPARATORS = str.maketrans({":": "：", "|": "｜"})


def _encode_chain(chain: list[list[str]]) -> bytes:
    """``31:上海市|310114:嘉定区|310114004:嘉定镇街道``: the facet needs no gazetteer."""
    return "|".join(f"{code.translate(_SEPARATORS)}:{name.translate(_SEPARATORS)}" for code, name in chain).encode()


@lru_cache(maxsize=65536)
def _decode_chain(raw: bytes) -> list[tuple[str, str]]:
    return [tuple(item.split(":", 1)) for item in raw.decode("utf-8").split("|")]  # type: ignore[misc]


def _index(v: dict[str, Any]) -> dict[str, Any]:
    if v["code"] is None:
        terms = [fold(v["label"].strip())]
    else:
        terms = [t for code, name in v["chain"] for t in names(code, name)]
        terms += [fold(a) for a in gazetteer().aliases_of(gazetteer().place(v["code"]))]
    return {"place": keywords(terms), COLUMN: _encode_chain(v["chain"])}


#: A code's levels: province 2 digits, city 4, district 6, town 9, village 12.
_LEVEL_SIZES = (2, 4, 6, 9, 12)


def full_code(code: str) -> str:
    """A division code as the index holds it: the six-digit form people copy loses its
    trailing zeros (310000 → 31, 510100 → 5101, 310114000 → 310114), and a municipality's
    placeholder level (3101 市辖区) is its province (31)."""
    while len(code) > 2 and len(code) in _LEVEL_SIZES:
        shorter = max(n for n in _LEVEL_SIZES if n < len(code))
        if code[shorter:].strip("0"):
            break
        code = code[:shorter]
    gaz = gazetteer()
    if gaz.names.get(code) in PSEUDO:
        code = gaz.parent(code) or code
    return code


def _canonical(given: dict[str, Any], lexicons: Lexicons) -> dict[str, Any]:
    value = fold(given["place"].strip())
    if value.isascii() and value.isdigit():
        value = full_code(value)
    code = value.isdigit()
    terms = lexicons.lexicon("place")
    # A code is whole or nothing; a name may be a unique part of one. The nearest names
    # for a name, the nearest codes for a code.
    known = terms if value in terms else [t for t in terms if t.isdigit() == code]
    return {"place": resolve("place", value, known, "division codes" if code else "places", parts=not code)}


def _filter(given: dict[str, Any]) -> Term:
    return Term("place", given["place"])


def _facets(values: Counter, given: dict[str, Any]) -> dict[str, list[FacetValue]]:
    """Counts one level below the filter: provinces for all of China, districts for 上海市 …"""
    wanted = fold(given["place"].strip()) if given.get("place") else None
    counts: Counter[tuple[str, str]] = Counter()
    for raw, n in values.items():
        chain = _decode_chain(raw)
        if wanted is None:
            counts[chain[0]] += n
            continue
        at = min((i for i, (code, name) in enumerate(chain) if wanted in names(code, name)), default=None)
        if at is not None and at + 1 < len(chain):
            counts[chain[at + 1]] += n
    return {"place": [FacetValue(value=code, label=name, count=c)
                      for (code, name), c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0]))]}


FIELD = register(MetaField(
    name="place",
    label="place",
    order=20,
    extract=_extract,
    schema={"place": Keywords(), COLUMN: Column()},
    index=_index,
    output=lambda v: {"place": v["label"], "place_code": v["code"]},
    keys={"place": None, "place_code": None},
    options=(Option("place", "Only documents from this place: a name (上海市, 嘉定区), a short form (嘉定) "
                             "or a code (310114)."),),
    canonical=_canonical,
    filter=_filter,
    column=COLUMN,
    facets=_facets,
    facet_names=("place",),
    brief=lambda v: v["label"],
    detail=lambda v: f"{v['label']} ({v['code']})" if v["code"] else v["label"],
))
