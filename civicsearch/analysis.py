"""The Whoosh analyzer for Chinese civic text.

Whoosh pickles the analyzer's import path into every index: this module,
``SpanTokenizer``, ``CivicTokenizer`` and ``CivicCharacters`` must never move or be renamed (bump ``SCHEMA_VERSION`` in
``civicsearch.schema`` when their output changes).

Text is folded (traditional → simplified, width, case; one character to one, so
offsets stay true), Chinese runs are segmented by jieba in precise mode, and runs
of digits and letters are tokenized by our own rule, so both jieba engines give
the same tokens and one-character numbers (the 1 in 国办发〔2024〕1号) survive.
Positions count words. At index time jieba's search-mode sub-words are emitted at
their parent word's position, so 服务中心 finds 党群服务中心 while the quoted
phrase "党群服务中心" still matches only where the whole word stands.
"""

from __future__ import annotations

import re
from array import array
from itertools import chain
from pickle import loads
from typing import TYPE_CHECKING, Any, Iterator

from whoosh.analysis import Token, Tokenizer
from whoosh.compat import dumps
from whoosh.formats import Characters
from whoosh.system import _INT_SIZE, pack_uint

from civicsearch.normalize import fold
from civicsearch.segment import MIN_PARENT, get_segmenter

if TYPE_CHECKING:
    import numpy as np

#: The code points of Han characters (a Chinese run is made of them), first and last.
HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x3007, 0x3007))
_HAN = "".join(chr(lo) if lo == hi else f"{chr(lo)}-{chr(hi)}" for lo, hi in HAN_RANGES)
_WORD = rf"[^\W_{_HAN}]+(?:\.[0-9]+)*"
# A Chinese run, or a run of letters/digits (a decimal point kept inside numbers).
TOKEN_RE = re.compile(rf"(?P<han>[{_HAN}]+)|(?P<word>{_WORD})")
#: The runs of letters and digits alone (none holds a Han character).
WORD_RE = re.compile(_WORD)


def iter_words(text: str, subwords: bool = False) -> Iterator[tuple[str, int, int, int]]:
    """Yield ``(term, position, startchar, endchar)`` for ``text``.

    ``text`` is folded first; sub-words (``subwords=True``) share their parent's
    position and come just before it.
    """
    folded = fold(text)
    seg = get_segmenter()
    pos = 0
    for m in TOKEN_RE.finditer(folded):
        start = m.start()
        run = m.group("han")
        if run is None:
            yield m.group(), pos, start, m.end()
            pos += 1
            continue
        offset = start
        for word in seg.cut(run):
            if subwords and len(word) >= MIN_PARENT:  # shorter words have none: spare the call
                for gram, i in seg.subwords(word):
                    yield gram, pos, offset + i, offset + i + len(gram)
            yield word, pos, offset, offset + len(word)
            offset += len(word)
            pos += 1


def query_terms(text: str) -> list[str]:
    """The terms a query string analyzes to (precise mode, no sub-words)."""
    return [w for w, _, _, _ in iter_words(text)]


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
    them back; indexing takes the words straight from :func:`iter_words`.
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

    def flat_occurrences(self, values: list[bytes]) -> tuple["np.ndarray", "np.ndarray"]:
        """Every occurrence in ``values`` (postings as encoded for a segment being
        written, in order) as one int64 row of (word position, start character, end
        character); and each posting's number of occurrences."""
        import numpy as np  # lazily: only a segment writer needs it here

        deltas, counts = array("q"), array("q")
        for value in values:
            if not value:
                counts.append(0)
                continue
            codes = loads(value[_INT_SIZE:])  # a count, then the pickled deltas (encode())
            counts.append(len(codes))
            deltas.extend(chain.from_iterable(codes))
        n = np.frombuffer(counts, dtype=np.int64)
        # (position delta, start after the last end, length) per occurrence; in each
        # posting, a position and an end are the running sums of their deltas. Built
        # in place, column by column: a segment holds millions of occurrences.
        codes = np.frombuffer(deltas, dtype=np.int64).reshape(-1, 3)
        out = np.empty((len(codes), 3), dtype=np.int64)
        np.cumsum(codes[:, 0], out=out[:, 0])
        np.add(codes[:, 1], codes[:, 2], out=out[:, 2])
        np.cumsum(out[:, 2], out=out[:, 2])
        # Each posting's deltas start again from 0: take off the running sums before it.
        held = n > 0
        first, repeats = (np.cumsum(n) - n)[held], n[held]
        later = first > 0
        for j in (0, 2):
            before = np.zeros(len(first), dtype=np.int64)
            before[later] = out[first[later] - 1, j]
            out[:, j] -= np.repeat(before, repeats)
        np.subtract(out[:, 2], codes[:, 2], out=out[:, 1])
        return out, n