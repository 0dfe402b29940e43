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
  long text that scatters the same words;
* the body's character bigrams rank beside the words (``GRAM_*``), so a word
  jieba cuts differently in the query and in the document still meets it.

BM25F parameters, and why: K1 = 1.2, the usual saturation; body b = 0.75
(lengths run from 30 to 200,000 characters, so length must be normalised, but
fully (b = 1) would bury every regulation); title b = 0.3 (titles are all about
as long, and a short title is no more telling); a title word counts twice a
body word, and a document with no title loses nothing but that bonus.

Measured (MRR@10, the first 300 queries of the even half of the bench's dev
queries, collapsing off): as set 0.496; PROXIMITY 0.15 → 0.493, 0.5 → 0.482;
K1 0.8 → 0.487, 2.0 → 0.488; title weight 1.0 → 0.501, 0.5 → 0.501 (within
noise of 2.0, which is kept so that a short query's title match leads). The odd
half, never tuned on, scores as the even half does (see README, Performance).

Bigrams (``civicsearch.bigrams``) fuse in: each side divided by its best score
among the matching documents, then summed with ``GRAM_WEIGHT``. Tuned on the
whole even half (704 queries, collapsing on, strict MRR@10) on 2026-12-01:
words alone 0.512; + bigrams at weight 2.0 0.530, 1.0 0.532, 3.0 0.532; a title
bigram field beside the body's 0.526 (dropped); GRAM_COVERAGE 0.5 → 0.533, 0.3 →
0.536, 0.2 → 0.541, 0.1 → 0.545, 0 → 0.545 (slower); bigram b 0.5 / 0.75 / 0.9 /
1.0 → 0.534 / 0.536 / 0.540 / 0.546; no proximity bonus in a fused long query
+0.004; question words weighing nothing (not only left out of the mass) 0.552 →
0.561 at b 0.9 and k1 1.2. Kept then: weight 1.0, k1 0.8, b 0.75 (0.556), because
b 0.9 / k1 1.2 (0.561) ranked the five seeds' news article above their work plan
for the README's own question. Since bigrams rank only in an index of
``MIN_GRAM_DOCS`` documents the seeds are not concerned; re-tuned on the whole even
half on 2026-12-02 (k1 / b → strict MRR@10): 0.8 / 0.75 0.556, 1.2 / 0.9 0.559,
1.2 / 1.0 0.559, 0.8 / 0.9 0.558, 1.6 / 0.9 0.561, 2.0 / 0.9 0.562, 2.0 / 1.0 0.562,
3.0 / 0.9 0.559. Kept: k1 2.0, b 0.9. At those, GRAM_WEIGHT 0.7 / 1.5 → 0.559 /
0.562 (1.0 kept), COVERAGE 0.2 / 0.4 change no ranking (a long query's bigram
coverage already admits what the words' would), K1 0.9 / 2.0 → 0.561 / 0.558 and
SUBWORD_WEIGHT 0.3 / 0.7 → 0.562 / 0.561 (both kept). Checked again later that day
(0.5621 as set): the words' body b 0.9 / 1.0 → 0.5640 / 0.5638; at body b 0.9, title weight
1.0 / 3.0 → 0.5645 / 0.5624 and GRAM_WEIGHT 1.3 → 0.5631. All within 0.003 of the setting,
so none was taken (a change that small is not evidence on 704 queries).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache, reduce
from importlib import resources
from heapq import nlargest
from typing import Callable, Iterator

import numpy as np
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from civicsearch.grampool import FIELD as GRAMS
from civicsearch.postings import (field_lengths, phrase_docs, read_positions, read_postings, read_postings_many,
                                 value_decoder, where_found, within)
from civicsearch.query import Concept
from civicsearch.segment import get_segmenter

K1 = 1.2
B = {"title": 0.3, "body": 0.75, GRAMS: 0.9}
FIELD_WEIGHT = {"title": 2.0, "body": 1.0, GRAMS: 1.0}
#: The bigram BM25's saturation, and its weight beside the words' (each first
#: divided by the best score among the matching documents).
GRAM_K1 = 2.0
GRAM_WEIGHT = 1.0
#: A long query also matches documents holding this share of its bigrams' idf mass.
GRAM_COVERAGE = 0.1
#: Bigrams rank only in an index of this many documents or more: in a handful (the
#: five seeds) a place name's four bigrams, repeated in one article, outweigh the
#: document the words say is the answer.
MIN_GRAM_DOCS = 100
SYNONYM_WEIGHT = 0.8
#: A long query's words are also looked for by their parts (农民工 → 农民, 民工).
SUBWORD_WEIGHT = 0.5
PROXIMITY = 0.3
RERANK_DEPTH = 50
#: Queries of this many concepts or more are natural-language: ranked, not all-words.
LONG_QUERY = 5
#: Share of a long query's information (idf mass) a document must hold to match.
COVERAGE = 0.3
#: Concepts in more than this share of documents give no evidence of a match...
COMMON = 0.2
#: ...once that share is this many documents: in a small corpus (the five seeds)
#: every word is in a fifth of the documents, and idf alone weighs them.
MIN_COMMON_DOCS = 100
_CACHE_TERMS = 512
#: A concept's forms and fields are merged in a dense array once their postings
#: number a ``1 / DENSE_SHARE`` share of the index's documents (else by sorting them).
DENSE_SHARE = 16


@lru_cache(maxsize=1)
def question_words() -> frozenset[str]:
    """Words that ask rather than tell (data/question_words.txt): in a long question
    they weigh nothing, neither as words nor as the bigrams inside them (a short
    query's 如何 is what the user asked for)."""
    text = resources.files("civicsearch.data").joinpath("question_words.txt").read_text("utf-8")
    return frozenset(w for line in text.splitlines() if (w := line.split("#")[0].strip()))


def _asks(concept: Concept) -> bool:
    return len(concept.own) == 1 and concept.own[0] in question_words()


@dataclass
class Scored:
    """A concept's evidence: the documents holding it (sorted docnums) with each
    one's saturated-tf input, and the concept's idf."""

    docs: np.ndarray
    tf: np.ndarray
    idf: float
    weight: float
    terms: tuple[str, ...] = ()
    informative: bool = True


@dataclass
class Ranking:
    """Matching documents (sorted docnums) with scores; ``order`` is best first
    (as deep as asked) and ``scores`` holds the score of each document in it."""

    matched: np.ndarray
    scores: dict[int, float] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)


_EMPTY_DOCS = np.zeros(0, dtype=np.int64)


class Ranker:
    """Scores for one searcher (reuse it: field lengths and hot postings are cached)."""

    def __init__(self, searcher: Searcher) -> None:
        self.reader: IndexReader = searcher.reader()
        self.n_docs = max(1, self.reader.doc_count())
        #: Docnums run up to here (deleted documents keep theirs until a merge).
        self.size = self.reader.doc_count_all()
        self._inverse: dict[str, np.ndarray] = {}
        self._postings: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._forms: OrderedDict[tuple[str, str, bool], list[int]] = OrderedDict()
        # Postings with their encoded positions, for the ranking under way only
        # (positions are large; the LRU above keeps docnums and frequencies).
        self._query: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, list[bytes]]] = {}
        # Postings read at once for a query of more terms than the LRU keeps (a pasted
        # page), for the ranking under way only.
        self._fetched: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        # Where the words stand in the hits of the page under way (for snippets).
        self._chars: dict[tuple[str, str], tuple[set[int], dict[int, list]]] = {}

    # -- statistics ------------------------------------------------------------

    def inverse_norm(self, fieldname: str) -> np.ndarray:
        """Per document: field weight / BM25 length normalisation (0 for an empty field)."""
        if fieldname not in self._inverse:
            lengths = field_lengths(self.reader, fieldname)
            present = lengths[lengths > 0]
            avg = (int(present.sum()) / len(present)) if len(present) else 1.0
            b, w = B[fieldname], FIELD_WEIGHT[fieldname]
            with np.errstate(divide="ignore"):
                inverse = w / (1 - b + b * lengths / avg)
            self._inverse[fieldname] = np.where(lengths > 0, inverse, 0.0)
        return self._inverse[fieldname]

    def postings(self, fieldname: str, term: str, positions: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, term frequencies as float64), cached; within one ranking the
        encoded positions are kept too (unless ``positions`` is false)."""
        key = (fieldname, term)
        if key in self._query:
            return self._query[key][:2]
        if key in self._postings:
            self._postings.move_to_end(key)
            return self._postings[key]
        if key in self._fetched:
            return self._fetched[key]
        values: list[bytes] | None = [] if positions else None
        ids, weights, filled = read_postings(self.reader, fieldname, term, values)
        if filled:
            self._query[key] = (ids, weights, values)
        self._postings[key] = (ids, weights)
        if len(self._postings) > _CACHE_TERMS:
            self._postings.popitem(last=False)
        return ids, weights

    def positions(self, fieldname: str, term: str, docs: list[int], chars: bool = False,
                  limit: int | None = None) -> dict[int, list]:
        """Word positions of ``term`` in each of ``docs`` (sorted) that holds it; with
        ``chars``, (position, startchar, endchar) triples (for snippets); with ``limit``,
        a document's first ``limit`` only."""
        kept = self._query.get((fieldname, term))
        if kept is None:
            return read_positions(self.reader, fieldname, term, docs, chars, limit)
        ids, _, values = kept
        decode = value_decoder(self.reader, fieldname, chars)
        return {docs[k]: decode(values[i])[:limit] for k, i in where_found(ids, docs)}

    def prefetch_characters(self, fieldname: str, terms: set[str], docs: list[int], limit: int | None = None) -> None:
        """Read where ``terms`` stand in ``docs`` (the hits of a page) in one pass a term
        (each document's first ``limit``), so that :meth:`characters` answers from memory."""
        wanted = sorted(docs)
        for term in terms:
            self._chars[(fieldname, term)] = (set(wanted), self.positions(fieldname, term, wanted, True, limit))

    def characters(self, fieldname: str, term: str, docnum: int, limit: int | None = None
                   ) -> list[tuple[int, int, int]]:
        """(position, startchar, endchar) of ``term`` in one document (the first ``limit``)."""
        read = self._chars.get((fieldname, term))
        if read is not None and docnum in read[0]:
            return read[1].get(docnum, [])
        return self.positions(fieldname, term, [docnum], True, limit).get(docnum, [])

    def form_docs(self, fieldname: str, form: tuple[str, ...], phrase: bool) -> list[int]:
        """Documents holding every word of ``form`` in ``fieldname`` (as a phrase: in order, adjacent)."""
        key = (fieldname, " ".join(form), phrase)
        if key in self._forms:
            self._forms.move_to_end(key)
            return self._forms[key]
        lists = sorted((self.postings(fieldname, t)[0] for t in form), key=len)
        found = reduce(within, lists).tolist()  # the shortest list first: each step bisects into the next
        if phrase and found:
            # Only the documents holding every word have their positions read.
            found = self._phrase(fieldname, form, found)
        self._forms[key] = found
        if len(self._forms) > _CACHE_TERMS:
            self._forms.popitem(last=False)
        return found

    def idf(self, df: int) -> float:
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    # -- evidence --------------------------------------------------------------

    def _form_postings(self, concept: Concept) -> Iterator[tuple[float, str, np.ndarray, np.ndarray | None]]:
        """``(form weight, field, docnums, frequencies)`` of each form of ``concept`` in each
        of its fields; a form of several words gives the documents holding it (as a phrase
        when quoted or a synonym) and no frequencies."""
        for i, form in enumerate(concept.forms):
            form_weight = 1.0 if i == 0 else SYNONYM_WEIGHT
            for f in concept.fields:
                if len(form) == 1:
                    ids, weights = self.postings(f, form[0])
                    yield form_weight, f, ids, weights
                else:
                    yield form_weight, f, np.asarray(self.form_docs(f, form, concept.phrase or i > 0),
                                                     dtype=np.int64), None

    def holding_any(self, clauses: list[list[Concept]]) -> np.ndarray:
        """A boolean mask of the documents holding every concept of at least one of
        ``clauses`` (a concept: any of its forms in any of its fields), from the posting arrays."""
        found = np.zeros(self.size, dtype=bool)
        for concepts in clauses:
            if concepts:
                found |= self._holding([[ids for _, _, ids, _ in self._form_postings(c)] for c in concepts])
        return found

    def score_concept(self, concept: Concept, weight: float = 1.0) -> Scored:
        # Each form in each field adds to the documents that hold it, in the order
        # the forms and fields come (np.bincount adds in input order).
        ids_parts, tf_parts = [], []
        for form_weight, f, ids, weights in self._form_postings(concept):
            inverse = self.inverse_norm(f)
            ids_parts.append(ids)
            tf_parts.append(form_weight * inverse[ids] if weights is None else form_weight * weights * inverse[ids])
        parts = [k for k, ids in enumerate(ids_parts) if len(ids)]
        if not parts:
            docs, tf = _EMPTY_DOCS, np.zeros(0)
        elif len(parts) == 1:
            docs, tf = ids_parts[parts[0]], tf_parts[parts[0]]
        elif sum(len(ids_parts[k]) for k in parts) * DENSE_SHARE >= self.size:
            # Long lists: added up in a dense array by docnum (no document twice in
            # one part), the same additions in the same order as below, without a sort.
            held, added = np.zeros(self.size, dtype=bool), np.zeros(self.size)
            for k in parts:
                held[ids_parts[k]] = True
                added[ids_parts[k]] += tf_parts[k]
            docs = np.flatnonzero(held)
            tf = added[docs]
        else:
            docs, where = np.unique(np.concatenate([ids_parts[k] for k in parts]), return_inverse=True)
            tf = np.bincount(where, weights=np.concatenate([tf_parts[k] for k in parts]), minlength=len(docs))
        return Scored(docs, tf, self.idf(len(docs)), weight, concept.own if len(concept.forms[0]) == 1 else (),
                      informative=weight > 0 and len(docs) <= max(COMMON * self.n_docs, MIN_COMMON_DOCS))

    def evidence(self, concepts: list[Concept], question: bool) -> list[Scored]:
        """Each concept's evidence, in order; for a long question (``question``) the
        asking words weigh nothing and long words also count by their parts."""
        plan = [(c, 0.0 if question and _asks(c) else 1.0) for c in concepts]
        if question:
            seg = get_segmenter()
            seen = {c.own for c in concepts}
            for c in concepts:
                if len(c.own) != 1 or len(c.own[0]) < 3 or _asks(c):
                    continue
                for gram, _ in seg.subwords(c.own[0]):
                    if (gram,) not in seen:
                        seen.add((gram,))
                        plan.append((Concept([(gram,)], c.fields), SUBWORD_WEIGHT))
        self.prefetch([(f, t) for c, _ in plan for form in c.forms for f in c.fields for t in form])
        return [self.score_concept(c, weight) for c, weight in plan]

    def prefetch(self, wanted: list[tuple[str, str]]) -> None:
        """Read the postings of the ``(field, term)`` pairs not cached yet, each segment
        asked once for all of them (a long query's terms are many, and so are segments)."""
        todo = [k for k in dict.fromkeys(wanted)
                if k not in self._query and k not in self._postings and k not in self._fetched]
        if not todo:
            return
        found = read_postings_many(self.reader, todo)
        if found is None:  # a segment without posting arrays: term by term, as they come
            return
        if len(todo) > _CACHE_TERMS // 2:
            self._fetched.update(zip(todo, found))  # more than the LRU should hold: this ranking's only
            return
        self._postings.update(zip(todo, found))
        while len(self._postings) > _CACHE_TERMS:
            self._postings.popitem(last=False)

    # -- ranking ---------------------------------------------------------------

    def gram_evidence(self, grams: list[str]) -> tuple[np.ndarray, np.ndarray, float]:
        """Every document's bigram BM25 for ``grams`` (a dense array), the bigram idf
        mass each holds, and the query's whole mass (bigrams no document holds carry none)."""
        scores, held, total = np.zeros(self.size), np.zeros(self.size), 0.0
        inverse = self.inverse_norm(GRAMS)
        self.prefetch([(GRAMS, g) for g in grams])
        for g in grams:
            ids, weights = self.postings(GRAMS, g, positions=False)
            if not len(ids):
                continue
            idf = self.idf(len(ids))
            x = weights * inverse[ids]
            scores[ids] += idf * x / (x + GRAM_K1)
            held[ids] += idf
            total += idf
        return scores, held, total

    def rank(
        self,
        concepts: list[Concept],
        *,
        matched: np.ndarray | None = None,
        every: bool = False,
        allowed: np.ndarray | None = None,
        coverage: float = COVERAGE,
        depth: int = 10,
        sort_key: Callable[[int], float] | None = None,
        grams: list[str] | None = None,
        required: list[int] | None = None,
    ) -> Ranking:
        """Score ``concepts`` and rank the documents that match.

        Those are ``matched`` when given (a boolean array by docnum); with ``every``, the
        documents holding every concept (all-words mode); otherwise every document
        holding ``coverage`` of the query's information (ranked mode), or
        ``GRAM_COVERAGE`` of its bigrams' when ``grams`` are given, and each concept
        whose index is in ``required`` (a quoted phrase). Given ``grams`` (in an
        index of ``MIN_GRAM_DOCS`` documents or more), the score fuses the words'
        BM25F with the bigrams' BM25; they widen only a ranked query's matches.
        ``allowed`` (a boolean array by docnum) rules documents out. Scores add up in dense arrays, one
        vectorised step per concept; ties rank by docnum.
        """
        long = matched is None and not every
        self._query.clear()
        self._fetched.clear()
        self._chars.clear()
        evidence = self.evidence(concepts, question=long)
        keep: np.ndarray | None = None  # a boolean mask of the documents that can match
        if matched is not None:
            keep = matched.copy()
        elif every:
            keep = self._holding([[ev.docs] for ev in evidence[: len(concepts)]])
        scores = np.zeros(self.size)
        found = np.zeros(self.size, dtype=bool)  # documents the telling concepts found
        # Common concepts only add to documents the telling ones found.
        for ev in sorted(evidence, key=lambda e: not e.informative):
            factor = ev.weight * ev.idf
            docs, x = ev.docs, ev.tf
            if long and not ev.informative:
                inside = found[docs]
                docs, x = docs[inside], x[inside]
            scores[docs] += factor * x / (x + K1)
            found[docs] = True
        fused = scores
        scale = 1.0  # of the proximity bonus: in a fused score, the words' share
        gram_scores = None
        asked = [c.own[0] for c in concepts if long and _asks(c)]
        grams = [g for g in grams or () if not any(g in w for w in asked)] if self.n_docs >= MIN_GRAM_DOCS else []
        if grams:
            gram_scores, gram_held, gram_total = self.gram_evidence(grams)
            if not gram_total:
                gram_scores = None  # no document holds one (or the segments' bigrams are lost): words rank alone
        if long:
            telling = [ev for ev in evidence if ev.informative and len(ev.docs)]
            total = sum(ev.weight * ev.idf for ev in telling) or 1.0
            held = np.zeros(self.size)
            for ev in telling:
                held[ev.docs] += ev.weight * ev.idf
            keep = held >= coverage * total
            keep &= held > 0
            if not keep.any():
                keep = held > 0
            if gram_scores is not None and gram_total:
                keep |= gram_held >= GRAM_COVERAGE * gram_total
            if required:
                keep &= self._holding([[evidence[i].docs] for i in required])
        assert keep is not None
        if gram_scores is not None:
            inside = keep if allowed is None else keep & allowed
            if inside.any():
                word_best = float(scores[inside].max()) or 1.0
                gram_best = float(gram_scores[inside].max()) or 1.0
                fused = scores / word_best + GRAM_WEIGHT * gram_scores / gram_best
                scale = 1.0 / word_best
        if allowed is not None:
            keep &= allowed
        docs = np.flatnonzero(keep)
        if sort_key is not None:
            order = nlargest(depth, docs.tolist(), key=lambda d: (sort_key(d), fused[d]))
            return Ranking(docs, {d: float(fused[d]) for d in order}, order)
        head = _top(docs, fused, max(depth, RERANK_DEPTH))
        head_scores = {d: float(fused[d]) for d in head}
        if not (long and gram_scores is not None):
            # A long question is typed as runs of text, and its bigrams that span two
            # words already reward them standing together (a bonus on top measured worse);
            # the words of a short query are typed apart, and only the bonus sees their order.
            self._proximity(head, concepts, evidence, head_scores, scale)
        order = sorted(head, key=lambda d: -head_scores[d])[:depth]
        return Ranking(docs, head_scores, order)

    def _holding(self, each: list[list[np.ndarray]]) -> np.ndarray:
        """A boolean mask of the documents found in at least one docnum list of every item of ``each``."""
        keep = np.zeros(self.size, dtype=bool)
        for n, lists in enumerate(each):
            holds = keep if n == 0 else np.zeros(self.size, dtype=bool)
            for docs in lists:
                holds[docs] = True
            if n:
                keep &= holds
        return keep

    def _proximity(self, docs: list[int], concepts: list[Concept], evidence: list[Scored],
                   scores: dict[int, float], scale: float = 1.0) -> None:
        """Add the bonus for query words that stand together, in order, in a document."""
        # A question word (weight 0) pairs with nothing: 怎么申请 says nothing of the topic.
        singles = [(ev.terms[0], ev.idf * (ev.weight > 0)) for ev in evidence[: len(concepts)] if len(ev.terms) == 1]
        pairs = [(a, b, min(ia, ib)) for (a, ia), (b, ib) in zip(singles, singles[1:]) if a != b and ia and ib]
        if not pairs or not docs or PROXIMITY <= 0:
            return
        docs_wanted = sorted(docs)
        for fieldname in ("body", "title"):
            bonus = dict.fromkeys(docs, 0.0)
            for a, b, weight in pairs:
                for d in self._phrase(fieldname, (a, b), docs_wanted):
                    bonus[d] += weight
            for d in docs:
                scores[d] += scale * PROXIMITY * bonus[d]

    def _phrase(self, fieldname: str, words: tuple[str, ...], docs: list[int]) -> list[int]:
        """Those of ``docs`` (sorted) where ``words`` stand as a phrase."""
        return phrase_docs(self.reader, fieldname, words, docs,
                           lambda t, wanted: self.positions(fieldname, t, wanted))


def _top(docs: np.ndarray, scores: np.ndarray, k: int) -> list[int]:
    """The ``k`` best of ``docs`` by score, best first, ties by docnum."""
    if len(docs) > k:
        values = scores[docs]
        cut = np.partition(values, len(values) - k)[len(values) - k]
        docs = docs[values >= cut]  # every document tied with the k-th stays a candidate
    values = scores[docs]
    return docs[np.lexsort((docs, -values))][:k].tolist()
