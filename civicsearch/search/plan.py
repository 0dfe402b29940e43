"""Query planning: which matching mode a parsed query takes, and the fallbacks when it finds nothing.

* A long natural query (``long_query`` concepts or more) is ranked, not required word
  by word: every document holding enough of its information matches; its quoted
  phrases are required unless no document holds them all (then it is ranked as if
  unquoted, and the user is told).
* A short query of words and phrases needs every one, from the ranker's postings.
* OR between clauses, a document number, or nothing but exclusions: matched group by
  group (a number through its keyword field).
* A short query no document holds whole is relaxed: the documents holding any word rank.

Filters and excluded words become one mask of allowed documents first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from civicsearch.fields import registry
from civicsearch.index.storage import Storage
from civicsearch.search.query import Clause, ParsedQuery, docno_filter
from civicsearch.search.params import RankParams
from civicsearch.search.rank import Ranker, Ranking


@dataclass
class Planned:
    """A query's ranking, whether it had to relax, and the notes for the user."""

    ranking: Ranking
    relaxed: bool = False
    notes: list[str] = field(default_factory=list)


#: What a long question that no document answers with every quoted phrase is told.
UNQUOTED_NOTE = "no document holds every quoted phrase: ranked without requiring them"


def is_long(parsed: ParsedQuery, params: RankParams) -> bool:
    """Whether the query is a natural question ranked by coverage rather than required word by word."""
    return parsed.is_natural() and len(parsed.concepts()) >= params.long_query


def holding(storage: Storage, ranker: Ranker, clauses: list[Clause]) -> np.ndarray:
    """The documents any of ``clauses`` matches, as a boolean array by docnum."""
    found = ranker.holding_any([c.concepts for c in clauses if not c.docno])
    for c in clauses:
        if c.docno:
            found |= storage.filter_mask([docno_filter(c)])  # type: ignore[operator]
    return found


def allowed(storage: Storage, ranker: Ranker, parsed: ParsedQuery, given: dict[str, Any]) -> np.ndarray | None:
    """The filters and the excluded words as a boolean array by docnum (None when nothing is ruled out)."""
    by_terms = storage.filter_mask(registry.term_filters(given))
    mask = registry.filter_mask(given, storage.columns)
    if by_terms is None and mask is None and not parsed.excluded:
        return None
    if mask is None:
        mask = np.ones(ranker.size, dtype=bool)
    if by_terms is not None:
        mask &= by_terms
    if parsed.excluded:
        mask &= ~holding(storage, ranker, parsed.excluded)
    return mask


def rank_query(storage: Storage, ranker: Ranker, parsed: ParsedQuery, given: dict[str, Any], depth: int = 0,
               sort_key: Callable[[int], Any] | None = None) -> Planned:
    """Match and rank ``parsed`` under the (canonical) filters ``given``, ``depth`` deep."""
    mask = allowed(storage, ranker, parsed, given)
    concepts, grams = parsed.concepts(), parsed.grams()
    notes = list(parsed.notes)
    if is_long(parsed, ranker.p):
        ranked = dict(matched=None, allowed=mask, depth=depth, sort_key=sort_key, grams=grams)
        required = parsed.quoted()
        ranking = ranker.rank(concepts, required=required, **ranked)
        if not (required and not len(ranking.matched)):
            return Planned(ranking, False, notes)
        # Quotes in a pasted title are often emphasis (收取“进站费”): rather than
        # nothing, the question ranked as if unquoted, and the user told.
        notes.append(UNQUOTED_NOTE)
        return Planned(ranker.rank(concepts, **ranked), True, notes)
    if concepts and parsed.is_conjunction():
        # Every clause is words or a phrase: the ranker's own postings say which
        # documents hold them all.
        ranking = ranker.rank(concepts, every=True, allowed=mask, depth=depth, sort_key=sort_key, grams=grams)
    else:
        matched = storage.live()
        if mask is not None:
            matched &= mask
        for group in parsed.groups:
            matched &= holding(storage, ranker, group)
        ranking = ranker.rank(concepts, matched=matched, depth=depth, sort_key=sort_key)
    if len(ranking.matched) or parsed.term_count() < 2 or not concepts:
        return Planned(ranking, False, notes)
    # No document holds every word: rank those holding any of them.
    return Planned(ranker.rank(parsed.loose_concepts(), matched=None, allowed=mask, coverage=0.0, depth=depth,
                               sort_key=sort_key, grams=grams), True, notes)
