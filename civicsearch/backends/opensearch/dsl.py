"""civicsearch's query language as OpenSearch's query DSL (a ``_search`` body).

The planner's rules (:mod:`civicsearch.search.plan`) in the cluster's terms:

* a word matches ``<field>_words`` and, ranked lower, ``<field>_sub``; a form of several
  words (a quoted phrase, a synonym) is a ``match_phrase`` on the words fields, whose
  positions are civicsearch's own;
* a short query needs every concept (``bool.must``); OR groups are ``should`` with one
  needed; ``-word`` is ``must_not``; ``标题:``/``正文:`` name one field, ``文号:`` is a
  ``term`` (a whole number) or ``prefix`` on the document numbers;
* a long natural query needs a share of its concepts (``minimum_should_match``, its
  question words left out, long words also by their sub-words) or of its bigrams;
* the body's bigrams rank beside the words (a ``match`` on the text as read);
* filters are the registry's neutral filters (:mod:`civicsearch.fields.flags`) as
  ``term``/``prefix``/``range``/``bool``; facets are aggregations on the registry's
  columns, turned back into the fields' own facets by the fields' own code.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from civicsearch.backends.opensearch.mapping import GRAMS_FIELD, column_value, sub_field, words_field
from civicsearch.fields import registry
from civicsearch.fields.date import COLUMN as DATE_COLUMN
from civicsearch.fields.docnos import INDEX_FIELD as DOCNO_FIELD
from civicsearch.fields.flags import AllOf, AnyOf, Column, Filter, Not, Prefix, Range, Term
from civicsearch.results import FacetValue
from civicsearch.search.params import DEFAULT, RankParams
from civicsearch.search.query import Clause, Concept, ParsedQuery
from civicsearch.search.plan import is_long
from civicsearch.search.rank import asking_words, question_plan

#: Distinct values a facet's aggregation returns (a facet with more is cut, and says so).
FACET_BUCKETS = 10_000
#: The fields a hit's first request reads (the page's documents are fetched whole after folding).
RANK_SOURCE = ["id", "sketch"]


def filter_query(f: Filter) -> dict[str, Any]:
    """A neutral filter as a query clause."""
    if isinstance(f, Term):
        return {"term": {f.field: f.value}}
    if isinstance(f, Prefix):
        return {"prefix": {f.field: f.value}}
    if isinstance(f, Range):
        bounds: dict[str, Any] = {}
        if f.start is not None:
            bounds["gt" if f.strict else "gte"] = f.start.isoformat()
        if f.end is not None:
            bounds["lt" if f.strict else "lte"] = f.end.isoformat()
        return {"range": {f.field: bounds}}
    if isinstance(f, AnyOf):
        return {"bool": {"should": [filter_query(p) for p in f.parts], "minimum_should_match": 1}}
    if isinstance(f, AllOf):
        return {"bool": {"filter": [filter_query(p) for p in f.parts]}}
    if isinstance(f, Not):
        return {"bool": {"must_not": [filter_query(f.part)]}}
    raise TypeError(f"not a filter: {f!r}")


def filters(given: dict[str, Any]) -> list[dict[str, Any]]:
    """The checked, canonical filters as query clauses (every field's, none from columns)."""
    return [filter_query(f) for f in registry.term_filters(given, masked=True)]


def _boost(value: float) -> float:
    return round(value, 6)


def word_query(word: str, fields: tuple[str, ...], weight: float, params: RankParams) -> dict[str, Any]:
    """One word in ``fields``: as a word, and (ranked lower) inside a longer word."""
    should = []
    for f in fields:
        w = weight * params.field_weight[f]
        should.append({"term": {words_field(f): {"value": word, "boost": _boost(w)}}})
        should.append({"term": {sub_field(f): {"value": word, "boost": _boost(w * params.subword_weight)}}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def form_query(form: tuple[str, ...], fields: tuple[str, ...], phrase: bool, weight: float,
               params: RankParams) -> dict[str, Any]:
    """One form of a concept: a word, a phrase of words, or (unquoted) its words anywhere."""
    if len(form) == 1:
        return word_query(form[0], fields, weight, params)
    if not phrase:
        return {"bool": {"must": [word_query(w, fields, weight, params) for w in form]}}
    should = [{"match_phrase": {words_field(f): {"query": " ".join(form),
                                                 "boost": _boost(weight * params.field_weight[f])}}}
              for f in fields]
    return {"bool": {"should": should, "minimum_should_match": 1}}


def concept_query(concept: Concept, params: RankParams = DEFAULT) -> dict[str, Any]:
    """A concept: its own form, or any of its synonyms (a synonym counts a little less)."""
    forms = [form_query(form, concept.fields, concept.phrase or i > 0, 1.0 if i == 0 else params.synonym_weight,
                        params) for i, form in enumerate(concept.forms)]
    return forms[0] if len(forms) == 1 else {"bool": {"should": forms, "minimum_should_match": 1}}


def clause_query(clause: Clause, params: RankParams = DEFAULT) -> dict[str, Any]:
    """A clause: a document number, or every one of its concepts."""
    if clause.docno:
        kind = "term" if clause.phrase else "prefix"
        return {kind: {DOCNO_FIELD: clause.terms[0]}}
    parts = [concept_query(c, params) for c in clause.concepts]
    return parts[0] if len(parts) == 1 else {"bool": {"must": parts}}


def grams_query(grams: list[str], boost: float, share: float | None = None) -> dict[str, Any]:
    """The bigrams as one ``match`` on the text as read (its analyzer makes each token its bigram)."""
    body: dict[str, Any] = {"query": " ".join(grams), "boost": _boost(boost)}
    if share is not None:
        body["minimum_should_match"] = f"{max(1, round(share * 100))}%"
    return {"match": {GRAMS_FIELD: body}}


def _telling(parsed: ParsedQuery, params: RankParams) -> tuple[list[dict[str, Any]], list[str]]:
    """A long question's clauses as the ranker plans them (:func:`civicsearch.search.rank.question_plan`:
    its words that ask left out, its long words also by their sub-words) and the words that asked."""
    parts, asked = [], []
    for c, weight in question_plan(parsed.concepts(), asking_words(params), params.subword_weight):
        if not weight:
            asked.append(c.own[0])
        elif weight == 1.0:
            parts.append(concept_query(c, params))
        else:
            parts.append(word_query(c.own[0], c.fields, weight, params))
    return parts, asked


def _gram_boost(params: RankParams, n_concepts: int, n_grams: int) -> float:
    """The bigram side's weight: the words' and the bigrams' BM25 are summed, so the bigrams
    (more tokens than words) are scaled to the words' count."""
    return params.gram_weight * max(1, n_concepts) / max(1, n_grams)


def query(parsed: ParsedQuery, given: dict[str, Any], params: RankParams = DEFAULT, *, relaxed: bool = False,
          unquoted: bool = False) -> dict[str, Any]:
    """The ``query`` of a search (``relaxed``: any word will do; ``unquoted``: a long question's
    quoted phrases are not required)."""
    out: dict[str, Any] = {}
    grams = parsed.grams()
    if is_long(parsed, params):
        parts, asked = _telling(parsed, params)
        grams = [g for g in grams if not any(g in w for w in asked)]
        words = {"bool": {"should": parts, "minimum_should_match": f"{round(params.coverage * 100)}%"}}
        should = [words]
        if grams:
            should.append(grams_query(grams, _gram_boost(params, len(parts), len(grams)), params.gram_coverage))
        out["should"] = should
        out["minimum_should_match"] = 1
        required = [parsed.concepts()[i] for i in parsed.quoted()] if not unquoted else []
        if required:
            out["must"] = [concept_query(c, params) for c in required]
    elif relaxed:
        out["must"] = [{"bool": {"should": [concept_query(c, params) for c in parsed.loose_concepts()],
                                 "minimum_should_match": 1}}]
        if grams:
            out["should"] = [grams_query(grams, _gram_boost(params, len(parsed.concepts()), len(grams)))]
    elif parsed.concepts() and parsed.is_conjunction():
        out["must"] = [concept_query(c, params) for c in parsed.concepts()]
        if grams:
            out["should"] = [grams_query(grams, _gram_boost(params, len(parsed.concepts()), len(grams)))]
    else:
        groups = []
        for group in parsed.groups:
            parts = [clause_query(c, params) for c in group]
            groups.append(parts[0] if len(parts) == 1 else {"bool": {"should": parts, "minimum_should_match": 1}})
        out["must"] = groups or [{"match_all": {}}]
    if parsed.excluded:
        out["must_not"] = [clause_query(c, params) for c in parsed.excluded]
    where = filters(given)
    if where:
        out["filter"] = where
    return {"bool": out}


def facet_fields() -> list[registry.MetaField]:
    return [f for f in registry.fields() if f.facets is not None and f.column is not None]


def facet_aggs() -> dict[str, Any]:
    """One aggregation a facet column: its values and their counts (an integer column with a
    granularity in buckets that wide)."""
    flags = registry.index_fields()
    aggs = {}
    for f in facet_fields():
        flag = flags[f.column]  # type: ignore[index]
        if isinstance(flag, Column) and flag.kind == "int64" and flag.granularity > 1:
            aggs[f.column] = {"histogram": {"field": f.column, "interval": flag.granularity, "min_doc_count": 1}}
        else:
            aggs[f.column] = {"terms": {"field": f.column, "size": FACET_BUCKETS}}
    return aggs  # type: ignore[return-value]


def facets(aggregations: dict[str, Any], given: dict[str, Any]) -> tuple[dict[str, list[FacetValue]], list[str]]:
    """Every field's facets from the aggregations' buckets (by the fields' own facet code),
    and the columns whose values were cut at :data:`FACET_BUCKETS`."""
    out: dict[str, list[FacetValue]] = {}
    cut = []
    for f in facet_fields():
        agg = aggregations.get(f.column, {})  # type: ignore[arg-type]
        counts = Counter({column_value(f.column, b["key"]): b["doc_count"] for b in agg.get("buckets", [])
                          if b.get("doc_count")})  # type: ignore[arg-type]
        if agg.get("sum_other_doc_count"):
            cut.append(f.column)
        out.update(f.facets(counts, dict(given)))  # type: ignore[misc]
    return out, cut  # type: ignore[return-value]


def search_body(parsed: ParsedQuery, given: dict[str, Any], *, size: int, sort: str = "relevance",
                params: RankParams = DEFAULT, relaxed: bool = False, unquoted: bool = False,
                aggregations: bool = True) -> dict[str, Any]:
    """The ``_search`` body of one search: the first ``size`` hits (their ids and sketches),
    the exact total and every facet."""
    body: dict[str, Any] = {
        "query": query(parsed, given, params, relaxed=relaxed, unquoted=unquoted),
        "size": size,
        "track_total_hits": True,
        "_source": RANK_SOURCE,
    }
    if sort == "date":
        body["sort"] = [{DATE_COLUMN: {"order": "desc", "missing": "_last"}}, {"_score": {"order": "desc"}},
                        {"id": {"order": "asc"}}]
    else:
        body["sort"] = [{"_score": {"order": "desc"}}, {"id": {"order": "asc"}}]
    if aggregations:
        body["aggs"] = facet_aggs()
    return body

