"""The ranking's parameters as one frozen value (the default is what the bench tuned).

Pass your own to :class:`~civicsearch.search.rank.Ranker` (or ``SearchEngine(params=…)``)
with :func:`dataclasses.replace`: ``replace(DEFAULT, proximity=0.0)``. Why each has
its value, and what else was measured, is in ``docs/ranking.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from civicsearch.index.grampool import FIELD as GRAMS


def _frozen(values: dict[str, float]) -> Mapping[str, float]:
    return MappingProxyType(values)


@dataclass(frozen=True)
class RankParams:
    """BM25F over title and body, the bigrams' BM25 beside it, and the rules of matching."""

    #: BM25's term-frequency saturation for the words.
    k1: float = 1.2
    #: BM25 length normalisation per field.
    b: Mapping[str, float] = field(default_factory=lambda: _frozen({"title": 0.3, "body": 0.75, GRAMS: 0.9}))
    #: A field's weight (a title word counts twice a body word).
    field_weight: Mapping[str, float] = field(default_factory=lambda: _frozen({"title": 2.0, "body": 1.0,
                                                                                GRAMS: 1.0}))
    #: The bigrams' saturation, and their weight beside the words' (each side first
    #: divided by its best score among the matching documents).
    gram_k1: float = 2.0
    gram_weight: float = 1.0
    #: A long query also matches documents holding this share of its bigrams' idf mass.
    gram_coverage: float = 0.1
    #: Bigrams rank only in an index of this many documents or more: in a handful (the
    #: five seeds) a place name's four bigrams, repeated in one article, outweigh the
    #: document the words say is the answer.
    min_gram_docs: int = 100
    #: A synonym's weight beside the word it stands for.
    synonym_weight: float = 0.8
    #: A long query's words are also looked for by their parts (农民工 → 农民, 民工), at this weight.
    subword_weight: float = 0.5
    #: The bonus for two query words standing together, in order.
    proximity: float = 0.3
    #: Documents the proximity bonus looks at (the best by score before it).
    rerank_depth: int = 50
    #: Queries of this many concepts or more are natural-language: ranked, not all-words.
    long_query: int = 5
    #: Share of a long query's information (idf mass) a document must hold to match.
    coverage: float = 0.3
    #: Concepts in more than this share of documents give no evidence of a match...
    common: float = 0.2
    #: ...once that share is this many documents: in a small corpus every word is in a
    #: fifth of the documents, and idf alone weighs them.
    min_common_docs: int = 100
    #: A concept's forms and fields are merged in a dense array once their postings
    #: number a ``1 / dense_share`` share of the index's documents (else by merging their
    #: sorted runs, which is quicker up to about a quarter).
    dense_share: int = 4
    #: Words that ask rather than tell (None: data/question_words.txt).
    question_words: frozenset[str] | None = None
    # The semantic rerank (civicsearch.search.semantic), where the index keeps vectors.
    semantic_depth: int = 30
    semantic_weight: float = 2.0
    semantic_spread_floor: float = 0.03
    semantic_spread: float = 0.12
    semantic_margin: float = 0.0
    semantic_covered_from: float = 0.8
    semantic_covered: float = 1.0
    #: Candidates holding at least this share of the question's information come before
    #: those that hold less (meaning orders within each part; 0: no such rule).
    semantic_whole: float = 0.9
    #: Short queries are reranked too (else only long natural questions).
    semantic_short: bool = False


DEFAULT = RankParams()
