"""The Whoosh analyzers and posting format of the text fields (the tokens: :mod:`civicsearch.text.tokens`).

Whoosh pickles the analyzers' import paths into every index's schema. Each class
here says it lives at its old path (``civicsearch.analysis`` or, for the bigram
field of schemas 5 and 6, ``civicsearch.bigrams``), where a shim re-exports it:
those paths and names must never change, so that an index built by any version
opens (or asks for a rebuild). Bump ``SCHEMA_VERSION`` in
:mod:`civicsearch.index.schema` when their output changes.
"""

from __future__ import annotations

from typing import Any, Iterator

from whoosh.analysis import Token, Tokenizer
from whoosh.compat import dumps
from whoosh.fields import TEXT
from whoosh.formats import Characters
from whoosh.system import pack_uint

from civicsearch.text.bigrams import count_grams, gram_spans
from civicsearch.text.normalize import fold
from civicsearch.text.tokens import iter_words


class SpanTokenizer(Tokenizer):
    """A Whoosh tokenizer whose tokens are :meth:`spans` of the text; subclasses say
    what the spans are (this class and its subclasses are pickled by import path)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    def spans(self, value: str, mode: str) -> Iterator[tuple[str, int, int, int]]:
        """``(term, position, startchar, endchar)`` of each token of ``value``."""
        raise NotImplementedError

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = fold(value)
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        for term, pos, start, end in self.spans(value, mode):
            t.text = term
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = value[start:end]
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t


class CivicTokenizer(SpanTokenizer):
    """Whoosh tokenizer: folding + jieba + our own digit/letter rules (see module doc)."""

    def spans(self, value: str, mode: str) -> Iterator[tuple[str, int, int, int]]:
        return iter_words(value, subwords=mode != "query")


def CivicAnalyzer() -> CivicTokenizer:
    """The analyzer used for every full-text field."""
    return CivicTokenizer()


class CivicCharacters(Characters):
    """Whoosh's ``Characters`` posting format (positions and character offsets, the
    same bytes on disk) with a fast path for :class:`CivicTokenizer`.

    Whoosh's own path sets six attributes on a ``Token`` for every word and reads
    them back; this takes the words straight from :func:`iter_words`. civicsearch's
    writer pools the words itself (:mod:`civicsearch.index.wordpool`); the format
    marks the word fields and serves Whoosh's own writer (the tests' reference index).
    """

    def word_values(self, value: Any, analyzer: Any, **kwargs: Any) -> Iterator[tuple[str, int, float, bytes]]:
        if not (type(analyzer) is CivicTokenizer and isinstance(value, str)
                and kwargs.get("mode", "index") != "query"
                and not kwargs.get("start_pos") and not kwargs.get("start_char")):
            yield from super().word_values(value, analyzer, **kwargs)
            return
        # Per term: [last position, last end char, deltas], the deltas being what
        # Characters.encode would make of the occurrences (so the bytes are the same).
        seen: dict[str, list[Any]] = {}
        get = seen.get
        for term, pos, start, end in iter_words(value, subwords=True):
            entry = get(term)
            if entry is None:
                seen[term] = [pos, end, [(pos, start, end - start)]]
            else:
                entry[2].append((pos - entry[0], start - entry[1], end - start))
                entry[0], entry[1] = pos, end
        boost = self.field_boost
        for term, (_, _, deltas) in seen.items():
            n = len(deltas)
            yield term, n, n * boost, pack_uint(n) + dumps(deltas, 2)


class BigramTokenizer(SpanTokenizer):
    """Whoosh tokenizer: folding, then the tokens of :func:`gram_spans`."""

    def spans(self, value: str, mode: str) -> Iterator[tuple[str, int, int, int]]:
        return gram_spans(value)


class GramField(TEXT):
    """The ``grams`` field of schemas 5 and 6: Whoosh's ``TEXT`` with frequencies only,
    indexed from one count of the bigrams instead of a ``Token`` per occurrence."""

    def __init__(self) -> None:
        super().__init__(analyzer=BigramTokenizer(), phrase=False)

    def index(self, value: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or kwargs.get("mode", "index") != "index":
            return super().index(value, **kwargs)
        boost = self.format.field_boost
        return [(term.encode("utf-8"), n, n * boost, pack_uint(n)) for term, n in count_grams(value).items()]


#: Where each class is pickled from (and a shim re-exports it): never change these.
_PICKLED_AT = {"civicsearch.analysis": (SpanTokenizer, CivicTokenizer, CivicCharacters),
               "civicsearch.bigrams": (BigramTokenizer, GramField)}
for _module, _classes in _PICKLED_AT.items():
    for _cls in _classes:
        _cls.__module__ = _module
