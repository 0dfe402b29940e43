"""The metadata field registry: every field a document carries beside its text, declared once.

A field (date, place, topics, document type, issuing body …) is one module under
:mod:`civicsearch.fields` that builds a :class:`MetaField` and registers it.
The declaration says how a :class:`~civicsearch.ingest.documents.Document` provides the
value, which index fields and column hold it (declared neutrally, :mod:`civicsearch.fields.flags`,
and how it is encoded there),
which search options filter on it, which facets it counts and how a hit shows
it. The indexer, the filter builder, the facet counter, the engine's results and
the CLI only walk the registry, so adding a field is one module (with its test
and its README lines), and what a field encodes is decoded in the same module.

Every stored value is plain data (str, int, list, dict, datetime) kept in the
document's one stored ``info`` mapping under the field's name.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import pkgutil
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from civicsearch.errors import InvalidArgumentError
from civicsearch.fields.flags import ColumnData, Filter, Flag, Lexicons

if TYPE_CHECKING:
    from civicsearch.ingest.documents import Document
    from civicsearch.results import FacetValue

#: The ``info`` key of the registry's own version of the stored values.
STORED_FIELD = "info"


@dataclass(frozen=True)
class Option:
    """A search option: the API keyword argument ``name``, the CLI option ``--name`` (``_`` as ``-``)."""

    name: str
    help: str
    #: A yes/no option (``--in-force``); else it takes a string.
    flag: bool = False

    @property
    def cli(self) -> str:
        return "--" + self.name.replace("_", "-")


#: (the field's options given, as {name: value}) → a neutral filter (:mod:`civicsearch.fields.flags`), or None:
#: what a backend without the local columns (a cluster) filters on.
FilterFn = Callable[[dict[str, Any]], "Filter | None"]
#: (the field's options given; the searcher's column data) → a boolean array by docnum: the
#: local index answers the field's options from its column (a date range, validity on the day
#: asked) instead of its ``filter``, which would walk a range's terms or every document.
MaskFn = Callable[[dict[str, Any], ColumnData], "np.ndarray"]
#: (the field's options given; the index's keyword lexicons) → the same options with each value as the
#: index holds it (a code's trailing zeros cut, a unique part of a name made whole), or an
#: :class:`InvalidArgumentError` naming the nearest values when it names nothing indexed.
CanonicalFn = Callable[[dict[str, Any], Lexicons], dict[str, Any]]
#: (value counts of the field's column over the matching documents; every option given) → facets by name.
FacetFn = Callable[[Counter, dict[str, Any]], "dict[str, list[FacetValue]]"]


def _own(name: str) -> Callable[[Any], dict[str, Any]]:
    return lambda value: {name: value}


@dataclass(frozen=True)
class MetaField:
    """One metadata field. Only ``name`` and ``extract`` are required.

    ``extract`` gives the stored value from a document (None or an empty list
    when it is unknown); ``index`` turns a stored value into the values of the
    index fields ``schema`` declares (neutral flags); ``output`` gives the JSON keys of a hit or a
    document record; ``options`` filter through ``filter`` (a neutral filter; the local
    index answers them from the field's column through ``mask`` when there is one), after
    ``canonical`` has checked their values
    against the index; ``facets`` counts
    ``column``'s values; ``brief`` is the field's part of a hit's summary line on
    the terminal and ``label`` its name in ``civicsearch show``.
    """

    name: str
    extract: Callable[["Document"], Any]
    label: str = ""
    #: Part of the index signature: bump it when what the field indexes changes,
    #: and an index built before asks to be rebuilt.
    version: int = 1
    schema: Mapping[str, Flag] = None  # type: ignore[assignment]
    index: Callable[[Any], dict[str, Any]] | None = None
    output: Callable[[Any], dict[str, Any]] | None = None
    #: The JSON keys ``output`` gives, each with its value when the field is unknown.
    keys: Mapping[str, Any] = None  # type: ignore[assignment]
    #: False: shown by ``civicsearch show`` only, not on hits.
    in_hits: bool = True
    options: tuple[Option, ...] = ()
    filter: FilterFn | None = None
    mask: MaskFn | None = None
    canonical: CanonicalFn | None = None
    column: str | None = None
    facets: FacetFn | None = None
    #: The facet names ``facets`` gives, in the order they are shown.
    facet_names: tuple[str, ...] = ()
    brief: Callable[[Any], str | None] | None = None
    #: The field's row in ``civicsearch show`` (default: ``brief``).
    detail: Callable[[Any], str | None] | None = None
    #: Position among the fields (summary line, ``show`` rows, facet panel).
    order: int = 100

    def __post_init__(self) -> None:
        if self.schema is None:
            object.__setattr__(self, "schema", {})
        if self.keys is None:
            object.__setattr__(self, "keys", {self.name: None})
        if self.output is None:
            object.__setattr__(self, "output", _own(self.name))
        if (self.filter is not None) != bool(self.options) or (self.mask is not None and not self.options) \
                or (self.facets is None) != (not self.facet_names):
            raise ValueError(f"field {self.name}: options come with a filter (and maybe a mask), "
                             "facet names with facets")


_FIELDS: dict[str, MetaField] = {}
_loaded = False
_ordered: list[MetaField] | None = None


def register(field: MetaField) -> MetaField:
    """Add a field (called by its module in :mod:`civicsearch.fields` at import)."""
    if field.name in _FIELDS and _FIELDS[field.name] is not field:
        raise ValueError(f"the field {field.name!r} is declared twice")
    global _ordered
    _FIELDS[field.name] = field
    _ordered = None
    return field


def fields() -> list[MetaField]:
    """Every registered field, in display order (the field modules are imported on first call)."""
    global _loaded, _ordered
    if not _loaded:
        from civicsearch import fields as package

        # Every module of the package is imported: a field's module registers it.
        for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
            importlib.import_module(f"{package.__name__}.{module}")
        _loaded = True
    if _ordered is None:
        _ordered = sorted(_FIELDS.values(), key=lambda f: (f.order, f.name))
    return _ordered


def signature() -> dict[str, int]:
    """{field: version}: written beside an index; an index with another signature must be rebuilt."""
    return {f.name: f.version for f in fields()}


# -- indexing ------------------------------------------------------------------


def index_fields() -> dict[str, Flag]:
    """Every index field the metadata fields declare, with its neutral flag."""
    out: dict[str, Flag] = {}
    for f in fields():
        for name, flag in f.schema.items():
            if name in out:
                raise ValueError(f"the index field {name!r} is declared by two metadata fields")
            out[name] = flag
    return out


def extract(doc: "Document") -> dict[str, Any]:
    """{field: stored value} for what the document says (unknown fields left out)."""
    values = {}
    for f in fields():
        value = f.extract(doc)
        if value not in (None, "", [], {}):
            values[f.name] = value
    return values


def index_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The index field values for a document's stored values, ``info`` among them."""
    out: dict[str, Any] = {STORED_FIELD: dict(values)}
    for f in fields():
        if f.index is not None and f.name in values:
            out.update(f.index(values[f.name]))
    return out


# -- results -------------------------------------------------------------------


def describe(info: Mapping[str, Any] | None, record: bool = False) -> dict[str, Any]:
    """The JSON keys of a hit (or, with ``record``, of a document record) from its stored values."""
    info = info or {}
    out: dict[str, Any] = {}
    for f in fields():
        if not (record or f.in_hits):
            continue
        if f.name in info:
            out.update(f.output(info[f.name]))  # type: ignore[misc]
        else:
            out.update({k: copy.copy(v) for k, v in f.keys.items()})
    return out


def summary(info: Mapping[str, Any] | None) -> list[str]:
    """A hit's summary line on the terminal: each field's brief text, in order."""
    info = info or {}
    parts = []
    for f in fields():
        if f.brief is not None and f.name in info:
            text = f.brief(info[f.name])
            if text:
                parts.append(text)
    return parts


def rows(info: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(label, text) for ``civicsearch show``: every labelled field the document has."""
    info = info or {}
    out = []
    for f in fields():
        if f.label and f.name in info:
            show = f.detail or f.brief or str
            text = show(info[f.name])
            if text:
                out.append((f.label, text))
    return out


# -- filters and facets ----------------------------------------------------------


def options() -> list[tuple[MetaField, Option]]:
    return [(f, o) for f in fields() for o in f.options]


def check_filters(given: Mapping[str, Any]) -> dict[str, Any]:
    """The filters that are set, checked: a name no field declares or a value of the wrong
    type is an :class:`InvalidArgumentError`. None (and False for a flag) means unset."""
    known = {o.name: o for _, o in options()}
    out = {}
    for name, value in given.items():
        option = known.get(name)
        if option is None:
            raise InvalidArgumentError(f"search() got an unknown filter {name!r}; the filters are: "
                                       + ", ".join(known))
        if value is None:
            continue
        kind = bool if option.flag else str
        if not isinstance(value, kind):
            raise InvalidArgumentError(f"must be {kind.__name__} or None, not {type(value).__name__}", name)
        if option.flag and not value:
            continue
        if not option.flag and not value.strip():
            continue
        out[name] = value
    return out


def _own_options(f: MetaField, given: Mapping[str, Any]) -> dict[str, Any]:
    """The options of ``f`` among the checked filters ``given``."""
    return {o.name: given[o.name] for o in f.options if o.name in given}


def canonical_filters(given: Mapping[str, Any], lexicons: Lexicons) -> dict[str, Any]:
    """The checked filters with every value as the index holds it (each field's ``canonical``)."""
    out = dict(given)
    for f in fields():
        own = _own_options(f, given)
        if own and f.canonical is not None:
            out.update(f.canonical(own, lexicons))
    return out


def keyword_option(option: str, field: str, what: str, prepare: Callable[[str], str] = str.strip) -> CanonicalFn:
    """``canonical`` for an option matched against the keyword field ``field`` (see :func:`resolve`)."""
    return lambda given, lexicons: {option: resolve(option, prepare(given[option]), lexicons.lexicon(field), what)}


def term_filters(given: Mapping[str, Any], masked: bool = False) -> list[Filter]:
    """The filters of the checked filters (:func:`check_filters`): a document must match every one.
    Those of the fields :func:`filter_mask` answers from columns come only with ``masked``
    (a backend without the local columns)."""
    parts = []
    for f in fields():
        own = _own_options(f, given)
        if own and f.filter is not None and (masked or f.mask is None):
            q = f.filter(own)
            if q is not None:
                parts.append(q)
    return parts


def filter_mask(given: Mapping[str, Any], columns: ColumnData) -> "np.ndarray | None":
    """The checked filters of the fields that filter by column (``mask``), as one boolean
    array by docnum, or None when none is set."""
    masks = []
    for f in fields():
        own = _own_options(f, given)
        if own and f.mask is not None:
            masks.append(f.mask(own, columns))
    return np.logical_and.reduce(masks) if masks else None


#: How many values an error about a filter's value names, and how alike (difflib's ratio)
#: a value must be to be named; a field of at most ALL_LISTED values names them all.
NEAREST_LISTED = 5
NEAREST_CUTOFF = 0.4
ALL_LISTED = 30


def resolve(option: str, value: str, known: list[str], what: str, parts: bool = True) -> str:
    """The indexed value a filter's ``value`` stands for: itself when the index holds it,
    else (with ``parts``) the one value containing it, or the shortest when every value
    containing it starts with that one (全国人民代表大会 for its standing committee too).

    Raises :class:`InvalidArgumentError` naming the candidates when several unrelated
    values contain it, or the nearest values when none does: a filter that can match
    nothing says so instead of answering nothing.
    """
    if value in known:
        return value
    found = [k for k in known if value in k] if parts else []
    if found:
        root = min(found, key=len)
        if all(k.startswith(root) for k in found):
            return root
        shown = sorted(found, key=lambda k: (len(k), k))[:NEAREST_LISTED]
        more = " …" if len(found) > NEAREST_LISTED else ""
        raise InvalidArgumentError(f"{value!r} is part of {len(found)} {what} ({', '.join(shown)}{more}): "
                                   "give more of the name", option)
    nearest = difflib.get_close_matches(value, known, n=NEAREST_LISTED, cutoff=NEAREST_CUTOFF)
    if nearest:
        hint = f"; the nearest: {', '.join(nearest)}"
    elif not known:
        hint = "; the index holds none"
    elif len(known) <= ALL_LISTED:
        hint = f"; the index holds: {', '.join(known)}"
    else:
        hint = f"; none of its {len(known):,} is close (the {option} facet lists them)"
    raise InvalidArgumentError(f"{value!r} names none of the {what} in the index{hint}", option)


def facet_names() -> list[str]:
    return [n for f in fields() for n in f.facet_names]


def count_facets(columns: ColumnData, docs: "np.ndarray | list[int]", given: Mapping[str, Any]
                 ) -> dict[str, list["FacetValue"]]:
    """Every field's facets over ``docs`` (the facet a filter narrows may drill down, as place does)."""
    docs = np.asarray(docs, dtype=np.int64)
    out: dict[str, list[FacetValue]] = {}
    for f in fields():
        if f.facets is not None and f.column is not None:
            out.update(f.facets(columns.counts(f.column, docs), dict(given)))
    return out
