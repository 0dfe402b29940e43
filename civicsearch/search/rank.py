"""Ranking: BM25F over title and body plus word-order evidence, from whole posting lists.

The storage (:mod:`civicsearch.index.storage`) finds the documents and reads their
postings; the scores are computed here, because a long natural query (a
complaint's title, a question) needs what a generic scorer has no place for:

* each query concept weighs what it tells: its idf from the index, so words the
  corpus uses everywhere (的, 问题, 关于) count little without a hand list;
* a long query does not require every word: a document must hold a share
  (``coverage``) of the query's information, and ranks by how much it holds;
* synonyms from data/synonyms.txt count as the word they stand for, a little less;
* documents where two of the query's words stand together and in order gain a
  bonus (``proximity``), so the quoted title in an official reply outranks a
  long text that scatters the same words;
* the body's character bigrams rank beside the words (``gram_*``), so a word
  jieba cuts differently in the query and in the document still meets it: each
  side divided by its best score among the matching documents, then summed.

The parameters are one :class:`~civicsearch.search.params.RankParams`; why each has
its value, and the tuning history, are in ``docs/ranking.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from heapq import nlargest
from importlib import resources
from typing import Callable, Iterator, Sequence

import numpy as np

from civicsearch.index import heap
from civicsearch.index.storage import Storage
from civicsearch.search.params import DEFAULT, GRAMS, RankParams
from civicsearch.search.query import Concept
from civicsearch.text.words import get_segmenter


@lru_cache(maxsize=1)
def question_words() -> frozenset[str]:
    """Words that ask rather than tell (data/question_words.txt): in a long question
    they weigh nothing, neither as words nor as the bigrams inside them (a short
    query's 如何 is what the user asked for)."""
    text = resources.files("civicsearch.data").joinpath("question_words.txt").read_text("utf-8")
    return frozenset(w for line in text.splitlines() if (w := line.split("#")[0].strip()))


def asking_words(params: RankParams) -> frozenset[str]:
    """The words that ask, as ``params`` names them (default: data/question_words.txt)."""
    return params.question_words if params.question_words is not None else question_words()


def question_plan(concepts: list[Concept], asking: frozenset[str], subword_weight: float) -> list[tuple[Concept, float]]:
    """What a long question is scored by, with each one's weight: its concepts (a word that
    asks weighs nothing), then the dictionary words inside its long words (``subword_weight``,
    each once, none that is already a concept)."""
    def asks(c: Concept) -> bool:
        return len(c.own) == 1 and c.own[0] in asking

    plan = [(c, 0.0 if asks(c) else 1.0) for c in concepts]
    seg = get_segmenter()
    seen = {c.own for c in concepts}
    for c in concepts:
        if len(c.own) != 1 or len(c.own[0]) < 3 or asks(c):
            continue
        for gram, _ in seg.subwords(c.own[0]):
            if (gram,) not in seen:
                seen.add((gram,))
                plan.append((Concept([(gram,)], c.fields), subword_weight))
    return plan


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
    #: For a long question, the share of its information each document of ``order`` holds.
    coverage: dict[int, float] = field(default_factory=dict)


_EMPTY_DOCS = np.zeros(0, dtype=np.int64)
#: Bigrams' postings, each with its idf: (docnums, frequencies, idf).
GramPostings = list[tuple[np.ndarray, np.ndarray, float]]


class Ranker:
    """Scores over one storage (reuse it: the length normalisation is kept per field)."""

    def __init__(self, storage: Storage, params: RankParams = DEFAULT) -> None:
        heap.keep_freed()  # the arrays a query frees serve the next ones
        self.storage = storage
        self.p = params
        self.n_docs = storage.n_docs
        #: Docnums run up to here (deleted documents keep theirs until a merge).
        self.size = storage.size
        self._asking = asking_words(params)
        self._inverse: dict[str, np.ndarray] = {}

    def _asks(self, concept: Concept) -> bool:
        return len(concept.own) == 1 and concept.own[0] in self._asking

    def inverse_norm(self, fieldname: str) -> np.ndarray:
        """Per document: field weight / BM25 length normalisation (0 for an empty field),
        worked out once for each of the 256 quantised lengths, then looked up."""
        if fieldname not in self._inverse:
            codes, lengths = self.storage.length_bytes(fieldname)
            counts = np.bincount(codes, minlength=len(lengths))
            present = lengths > 0
            held = int(counts[present].sum())
            avg = (int((counts[present] * lengths[present]).sum()) / held) if held else 1.0
            b, w = self.p.b[fieldname], self.p.field_weight[fieldname]
            with np.errstate(divide="ignore"):
                inverse = w / (1 - b + b * lengths / avg)
            self._inverse[fieldname] = np.where(present, inverse, 0.0)[codes]
        return self._inverse[fieldname]

    def idf(self, df: int) -> float:
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    # -- evidence --------------------------------------------------------------

    def _form_postings(self, concept: Concept) -> Iterator[tuple[float, str, np.ndarray, np.ndarray | None]]:
        """``(form weight, field, docnums, frequencies)`` of each form of ``concept`` in each
        of its fields; a form of several words gives the documents holding it (as a phrase
        when quoted or a synonym) and no frequencies."""
        for i, form in enumerate(concept.forms):
            form_weight = 1.0 if i == 0 else self.p.synonym_weight
            for f in concept.fields:
                if len(form) == 1:
                    ids, weights = self.storage.postings(f, form[0])
                    yield form_weight, f, ids, weights
                else:
                    yield form_weight, f, np.asarray(self.storage.form_docs(f, form, concept.phrase or i > 0),
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
        elif sum(len(ids_parts[k]) for k in parts) * self.p.dense_share >= self.size:
            # Long lists: added up in a dense array by docnum (no document twice in
            # one part), the same additions in the same order as below, without a sort.
            held, added = np.zeros(self.size, dtype=bool), np.zeros(self.size)
            for k in parts:
                held[ids_parts[k]] = True
                added[ids_parts[k]] += tf_parts[k]
            docs = np.flatnonzero(held)
            tf = added[docs]
        else:
            # Each part is sorted by docnum: a stable sort merges the runs (np.unique's sort
            # would not see them), and keeps each document's parts in the order they came.
            ids = np.concatenate([ids_parts[k] for k in parts])
            order = np.argsort(ids, kind="stable")
            ids = ids[order]
            first = np.ones(len(ids), dtype=bool)
            np.not_equal(ids[1:], ids[:-1], out=first[1:])
            docs = ids[first]
            tf = np.bincount(np.cumsum(first) - 1, weights=np.concatenate([tf_parts[k] for k in parts])[order],
                             minlength=len(docs))
        return Scored(docs, tf, self.idf(len(docs)), weight, concept.own if len(concept.forms[0]) == 1 else (),
                      informative=weight > 0 and len(docs) <= max(self.p.common * self.n_docs, self.p.min_common_docs))

    def evidence(self, concepts: list[Concept], question: bool, grams: Sequence[str] = ()) -> list[Scored]:
        """Each concept's evidence, in order; for a long question (``question``) the
        asking words weigh nothing and long words also count by their parts. The postings
        of ``grams`` (bigrams :meth:`gram_evidence` will ask for) are read with the words':
        each segment is asked once a ranking."""
        plan = question_plan(concepts, self._asking, self.p.subword_weight) if question else \
            [(c, 1.0) for c in concepts]
        self.storage.prefetch([(f, t) for c, _ in plan for form in c.forms for f in c.fields for t in form]
                              + [(GRAMS, g) for g in grams])
        return [self.score_concept(c, weight) for c, weight in plan]

    # -- ranking ---------------------------------------------------------------

    def gram_evidence(self, grams: list[str], mass: bool = True) -> tuple[GramPostings, np.ndarray | None, float]:
        """The postings of ``grams`` that some document holds, each with its idf; with
        ``mass``, the bigram idf mass each document holds (a dense array; else None: only a
        long question's matching asks for it); and the query's whole mass."""
        held, total, found = np.zeros(self.size) if mass else None, 0.0, []
        for g in grams:  # read with the words' (:meth:`evidence`)
            ids, weights = self.storage.postings(GRAMS, g)
            if not len(ids):
                continue
            idf = self.idf(len(ids))
            found.append((ids, weights, idf))
            if held is not None:
                held[ids] += idf
            total += idf
        return found, held, total

    def gram_scores(self, found: GramPostings, inside: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """The bigram BM25 of each document of ``inside`` (a boolean mask, holding ``docs``;
        0 elsewhere) for the bigrams ``found`` (:meth:`gram_evidence`)."""
        scores, inverse = np.zeros(self.size), self.inverse_norm(GRAMS)
        for ids, weights, idf in found:
            at = _where(ids, inside, docs)
            ids = ids[at]
            x = weights[at] * inverse[ids]
            scores[ids] += idf * x / (x + self.p.gram_k1)
        return scores

    def rank(
        self,
        concepts: list[Concept],
        *,
        matched: np.ndarray | None = None,
        every: bool = False,
        allowed: np.ndarray | None = None,
        coverage: float | None = None,
        depth: int = 10,
        sort_key: Callable[[int], float] | None = None,
        grams: list[str] | None = None,
        required: list[int] | None = None,
    ) -> Ranking:
        """Score ``concepts`` and rank the documents that match.

        Those are ``matched`` when given (a boolean array by docnum); with ``every``, the
        documents holding every concept (all-words mode); otherwise every document
        holding ``coverage`` of the query's information (ranked mode), or
        ``gram_coverage`` of its bigrams' when ``grams`` are given, and each concept
        whose index is in ``required`` (a quoted phrase). Given ``grams`` (in an
        index of ``min_gram_docs`` documents or more), the score fuses the words'
        BM25F with the bigrams' BM25; they widen only a ranked query's matches.
        ``allowed`` (a boolean array by docnum) rules documents out. Which documents match
        is settled first, and only theirs are scored: scores add up in dense arrays, one
        vectorised step per concept; ties rank by docnum.
        """
        long = matched is None and not every
        p = self.p
        if coverage is None:
            coverage = p.coverage
        self.storage.begin_query()
        asked = [c.own[0] for c in concepts if long and self._asks(c)]
        grams = [g for g in grams or () if not any(g in w for w in asked)] if self.n_docs >= p.min_gram_docs else []
        evidence = self.evidence(concepts, question=long, grams=grams)
        keep: np.ndarray | None = None  # a boolean mask of the documents that can match
        if matched is not None:
            keep = matched.copy()
        elif every:
            keep = self._holding([[ev.docs] for ev in evidence[: len(concepts)]])
        gram_found: GramPostings = []
        if grams:
            # Empty when no document holds one (or the segments' bigrams are lost): words rank alone.
            gram_found, gram_held, gram_total = self.gram_evidence(grams, mass=long)
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
            if gram_found:
                assert gram_held is not None
                keep |= gram_held >= p.gram_coverage * gram_total
            if required:
                keep &= self._holding([[evidence[i].docs] for i in required])
        assert keep is not None
        if allowed is not None:
            keep &= allowed
        # Which documents match is settled before any is scored: only theirs are.
        scores = np.zeros(self.size)
        # Common concepts only add to documents the telling ones found (in a long question).
        found = self._holding([[ev.docs for ev in evidence if ev.informative]]) \
            if long and not all(ev.informative for ev in evidence) else None
        docs = np.flatnonzero(keep)
        for ev in sorted(evidence, key=lambda e: not e.informative):
            at = _where(ev.docs, keep, docs)
            if found is not None and not ev.informative:
                at = at[found[ev.docs[at]]]
            counted, x = ev.docs[at], ev.tf[at]
            scores[counted] += ev.weight * ev.idf * x / (x + p.k1)
        fused = scores
        scale = 1.0  # of the proximity bonus: in a fused score, the words' share
        gram_scores = self.gram_scores(gram_found, keep, docs) if gram_found else None
        if gram_scores is not None and len(docs):
            word_best = float(scores[docs].max()) or 1.0
            gram_best = float(gram_scores[docs].max()) or 1.0
            fused = np.zeros(self.size)
            fused[docs] = scores[docs] / word_best + p.gram_weight * gram_scores[docs] / gram_best
            scale = 1.0 / word_best
        if sort_key is not None:
            order = nlargest(depth, docs.tolist(), key=lambda d: (sort_key(d), fused[d]))
            return Ranking(docs, {d: float(fused[d]) for d in order}, order)
        head = _top(docs, fused, max(depth, p.rerank_depth))
        head_scores = {d: float(fused[d]) for d in head}
        if not (long and gram_scores is not None):
            # A long question is typed as runs of text, and its bigrams that span two
            # words already reward them standing together (a bonus on top measured worse);
            # the words of a short query are typed apart, and only the bonus sees their order.
            self._proximity(head, concepts, evidence, head_scores, scale)
        order = sorted(head, key=lambda d: -head_scores[d])[:depth]
        coverage = {d: float(held[d]) / total for d in order} if long else {}
        return Ranking(docs, head_scores, order, coverage)

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
        if not pairs or not docs or self.p.proximity <= 0:
            return
        docs_wanted = sorted(docs)
        for fieldname in ("body", "title"):
            bonus = dict.fromkeys(docs, 0.0)
            for a, b, weight in pairs:
                for d in self.storage.phrase_docs(fieldname, (a, b), docs_wanted):
                    bonus[d] += weight
            for d in docs:
                scores[d] += scale * self.p.proximity * bonus[d]


def _where(ids: np.ndarray, inside: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Where in ``ids`` (sorted docnums) the documents of ``inside`` (a boolean mask by docnum,
    holding the sorted ``docs``) stand, in order: a few documents looked up by bisection in a
    long list, else the list's documents looked up in the mask."""
    if len(docs) * _BISECT_SHARE < len(ids):
        at = np.searchsorted(ids, docs)
        held = at < len(ids)
        at = at[held]
        return at[ids[at] == docs[held]]
    return np.flatnonzero(inside[ids])


#: A list this many times longer than the documents asked about is bisected for them.
_BISECT_SHARE = 16


def _top(docs: np.ndarray, scores: np.ndarray, k: int) -> list[int]:
    """The ``k`` best of ``docs`` by score, best first, ties by docnum."""
    if len(docs) > k:
        values = scores[docs]
        cut = np.partition(values, len(values) - k)[len(values) - k]
        docs = docs[values >= cut]  # every document tied with the k-th stays a candidate
    values = scores[docs]
    return docs[np.lexsort((docs, -values))][:k].tolist()
