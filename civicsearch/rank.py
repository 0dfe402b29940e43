"""Ranking: BM25F over title and body plus word-order evidence, from whole posting lists.

Whoosh finds the documents a structured query matches; the scores are computed
here, because a long natural query (a complaint's title, a question) needs what
Whoosh's scorer has no place for:

* each query concept weighs what it tells: its idf from the index, so words the
  corpus uses everywhere (的, 问题, 关于) count little without a hand list;
* a long query does not require every word: a document must hold a share
  (``COVERAGE``) of the query's information, and ranks by how much it holds;
* synonyms from data/synonyms.txt count as the word they stand for, a little less;
* documents where two of the query's words stand together and in order gain a
  bonus (``PROXIMITY``), so the quoted title in an official reply outranks a
  long text that scatters the same words.

BM25F parameters, and why: K1 = 1.2, the usual saturation; body b = 0.75
(lengths run from 30 to 200,000 characters, so length must be normalised, but
fully (b = 1) would bury every regulation); title b = 0.3 (titles are all about
as long, and a short title is no more telling); a title word counts twice a
body word, and a document with no title loses nothing but that bonus.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from heapq import nlargest
from typing import Callable, Iterable

from whoosh.reading import IndexReader, TermNotFound
from whoosh.searching import Searcher

from civicsearch.postings import field_lengths, read_postings
from civicsearch.query import Concept, form_query
from civicsearch.segment import get_segmenter

K1 = 1.2
B = {"title": 0.3, "body": 0.75}
FIELD_WEIGHT = {"title": 2.0, "body": 1.0}
SYNONYM_WEIGHT = 0.8
#: A long query's words are also looked for by their parts (农民工 → 农民, 民工).
SUBWORD_WEIGHT = 0.5
PROXIMITY = 0.3
RERANK_DEPTH = 50
#: Queries of this many concepts or more are natural-language: ranked, not all-words.
LONG_QUERY = 5
#: Share of a long query's information (idf mass) a document must hold to match.
COVERAGE = 0.3
#: Concepts in more than this share of documents give no evidence of a match.
COMMON = 0.2
_CACHE_TERMS = 512


@dataclass
class Scored:
    """A concept's evidence: document → saturated-tf input, and the concept's idf."""

    tf: dict[int, float]
    idf: float
    weight: float
    terms: tuple[str, ...] = ()
    informative: bool = True


@dataclass
class Ranking:
    """Matching documents with scores; ``order`` is best first (as deep as asked)."""

    matched: set[int]
    scores: dict[int, float] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)


class Ranker:
    """Scores for one searcher (reuse it: field lengths and hot postings are cached)."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.reader: IndexReader = searcher.reader()
        self.n_docs = max(1, self.reader.doc_count())
        self._inverse: dict[str, list[float]] = {}
        self._postings: OrderedDict[tuple[str, str], tuple] = OrderedDict()

    # -- statistics ------------------------------------------------------------

    def inverse_norm(self, fieldname: str) -> list[float]:
        """Per document: field weight / BM25 length normalisation (0 for an empty field)."""
        if fieldname not in self._inverse:
            lengths = field_lengths(self.reader, fieldname)
            present = [n for n in lengths if n]
            avg = (sum(present) / len(present)) if present else 1.0
            b, w = B[fieldname], FIELD_WEIGHT[fieldname]
            self._inverse[fieldname] = [w / (1 - b + b * n / avg) if n else 0.0 for n in lengths]
        return self._inverse[fieldname]

    def postings(self, fieldname: str, term: str) -> tuple:
        key = (fieldname, term)
        if key in self._postings:
            self._postings.move_to_end(key)
            return self._postings[key]
        value = read_postings(self.reader, fieldname, term)
        self._postings[key] = value
        if len(self._postings) > _CACHE_TERMS:
            self._postings.popitem(last=False)
        return value

    def idf(self, df: int) -> float:
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    # -- evidence --------------------------------------------------------------

    def score_concept(self, concept: Concept, weight: float = 1.0) -> Scored:
        tf: dict[int, float] = {}
        get = tf.get
        for i, form in enumerate(concept.forms):
            form_weight = 1.0 if i == 0 else SYNONYM_WEIGHT
            for f in concept.fields:
                inverse = self.inverse_norm(f)
                if len(form) == 1:
                    ids, weights = self.postings(f, form[0])
                    for d, w in zip(ids, weights):
                        tf[d] = get(d, 0.0) + form_weight * w * inverse[d]
                else:
                    q = form_query(f, form, concept.phrase or i > 0)
                    for d in self.searcher.docs_for_query(q):
                        tf[d] = get(d, 0.0) + form_weight * inverse[d]
        return Scored(tf, self.idf(len(tf)), weight, concept.own if len(concept.forms[0]) == 1 else (),
                      informative=len(tf) <= COMMON * self.n_docs)

    def evidence(self, concepts: list[Concept], subwords: bool) -> list[Scored]:
        scored = [self.score_concept(c) for c in concepts]
        if subwords:
            seg = get_segmenter()
            seen = {c.own for c in concepts}
            for c in concepts:
                if len(c.own) != 1 or len(c.own[0]) < 3:
                    continue
                for gram, _ in seg.subwords(c.own[0]):
                    if (gram,) not in seen:
                        seen.add((gram,))
                        scored.append(self.score_concept(Concept([(gram,)], c.fields), SUBWORD_WEIGHT))
        return scored

    # -- ranking ---------------------------------------------------------------

    def rank(
        self,
        concepts: list[Concept],
        *,
        matched: set[int] | None,
        allowed: Callable[[int], bool] | None = None,
        coverage: float = COVERAGE,
        depth: int = 10,
        sort_key: Callable[[int], float] | None = None,
    ) -> Ranking:
        """Score ``concepts``; rank ``matched`` (all-words mode) or, when it is None,
        every document holding ``coverage`` of the query's information (ranked mode)."""
        long = matched is None
        evidence = self.evidence(concepts, subwords=long)
        scores: dict[int, float] = {}
        get = scores.get
        # Common concepts only add to documents the telling ones found.
        for ev in sorted(evidence, key=lambda e: not e.informative):
            factor = ev.weight * ev.idf
            tf = ev.tf if not long or ev.informative else {d: x for d, x in ev.tf.items() if d in scores}
            for d, x in tf.items():
                scores[d] = get(d, 0.0) + factor * x / (x + K1)
        if long:
            total = sum(ev.weight * ev.idf for ev in evidence if ev.informative) or 1.0
            held: dict[int, float] = {}
            for ev in evidence:
                if ev.informative:
                    for d in ev.tf:
                        held[d] = held.get(d, 0.0) + ev.weight * ev.idf
            matched = {d for d, h in held.items() if h >= coverage * total}
            if not matched:
                matched = set(held)
        if allowed is not None:
            matched = {d for d in matched if allowed(d)}
        scores = {d: scores.get(d, 0.0) for d in matched}
        if sort_key is not None:
            order = nlargest(depth, matched, key=lambda d: (sort_key(d), scores[d]))
            return Ranking(matched, scores, order)
        head = nlargest(max(depth, RERANK_DEPTH), matched, key=scores.__getitem__)
        self._proximity(head, concepts, evidence, scores)
        order = sorted(head, key=lambda d: -scores[d])[:depth]
        return Ranking(matched, scores, order)

    def _proximity(self, docs: list[int], concepts: list[Concept], evidence: list[Scored],
                   scores: dict[int, float]) -> None:
        """Add the bonus for query words that stand together, in order, in a document."""
        singles = [(ev.terms[0], ev.idf) for ev in evidence[: len(concepts)] if len(ev.terms) == 1]
        pairs = [(a, b, min(ia, ib)) for (a, ia), (b, ib) in zip(singles, singles[1:]) if a != b]
        if not pairs or not docs or PROXIMITY <= 0:
            return
        wanted = sorted(docs)
        for fieldname in ("body", "title"):
            where = {t: self._positions(fieldname, t, wanted) for t in {t for p in pairs for t in p[:2]}}
            for d in docs:
                bonus = 0.0
                for a, b, weight in pairs:
                    pa, pb = where[a].get(d), where[b].get(d)
                    if pa and pb and not pa.isdisjoint(p - 1 for p in pb):
                        bonus += weight
                scores[d] += PROXIMITY * bonus

    def _positions(self, fieldname: str, term: str, docs: Iterable[int]) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        for leaf, offset in self.reader.leaf_readers():
            try:
                m = leaf.postings(fieldname, term)
            except TermNotFound:
                continue
            end = offset + leaf.doc_count_all()
            for d in docs:
                if not offset <= d < end or not m.is_active():
                    continue
                m.skip_to(d - offset)
                if m.is_active() and m.id() == d - offset:
                    out[d] = set(m.value_as("positions"))
        return out
