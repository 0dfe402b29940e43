"""The ``grams`` field's tokens: overlapping Han character bigrams.

Indexes of schema 5 and 6 pickled ``BigramTokenizer`` and ``GramField`` into their
Whoosh schema: they must never move or be renamed, so that such an index still
opens and asks for a reindex. Since schema 7 the bigrams are pooled by
``civicsearch.index.grampool`` and kept in the posting arrays only. :func:`count_grams`
is the tokens' reference; the pool finds the same tokens with array operations
(``grampool.gram_codes``, held to it by a property test). Change both, and bump
``SCHEMA_VERSION`` in ``civicsearch.index.schema``, when the tokens change.

Citizens and officials write the same thing with different word boundaries
(jieba cuts 居委做 one way in a letter and another in the reply), and a word no
document holds still gets the largest idf. Bigrams do not depend on where jieba
cuts: 居委会 → 居委, 委会. So text is folded as for the words, each Han run of two
or more characters gives its overlapping bigrams, a lone Han character between
non-Han characters is its own token, and runs of letters and digits stay whole.
The field holds frequencies only: bigrams rank, they never decide a phrase.
Only the first ``MAX_CHARS`` characters are read: text without repeats (a
hostile or garbled record) gives a distinct bigram, and so a posting list, for
every character, and beyond a long law's length more bigrams no longer change
how a document ranks.
"""

from __future__ import annotations

from collections import Counter
from operator import add
from typing import Iterator

from civicsearch.text.normalize import fold
from civicsearch.text.tokens import TOKEN_RE

#: Characters of a text that give bigrams (the longest bench documents, laws, run to 200,000).
MAX_CHARS = 200_000


def gram_spans(text: str) -> Iterator[tuple[str, int, int, int]]:
    """``(bigram token, position, startchar, endchar)`` of ``text``, in order (see the module doc)."""
    pos = 0
    for m in TOKEN_RE.finditer(fold(text[:MAX_CHARS])):
        run, start = m.group("han"), m.start()
        if run is None or len(run) == 1:
            yield m.group(), pos, start, m.end()
            pos += 1
            continue
        for i in range(len(run) - 1):
            yield run[i : i + 2], pos, start + i, start + i + 2
            pos += 1


def iter_grams(text: str) -> Iterator[str]:
    """The bigram field's tokens of ``text``, in order."""
    return (term for term, _, _, _ in gram_spans(text))


def count_grams(text: str) -> Counter[str]:
    """Each token of :func:`iter_grams` with its frequency (C-level counting: indexing speed)."""
    counts: Counter[str] = Counter()
    for m in TOKEN_RE.finditer(fold(text[:MAX_CHARS])):
        run = m.group("han")
        if run is None:
            counts[m.group()] += 1
        elif len(run) == 1:
            counts[run] += 1
        else:
            counts.update(map(add, run, run[1:]))
    return counts


def query_grams(text: str) -> list[str]:
    """The distinct bigram tokens of a query text, in order."""
    return list(dict.fromkeys(iter_grams(text)))
