"""Text to words: folding, jieba's cut of Chinese runs, our own rule for runs of digits and letters.

Text is folded (traditional → simplified, width, case; one character to one, so
offsets stay true), Chinese runs are segmented by jieba in precise mode, and runs
of digits and letters are tokenized by our own rule, so both jieba engines give
the same tokens and one-character numbers (the 1 in 国办发〔2024〕1号) survive.
Positions count words. At index time jieba's search-mode sub-words are emitted at
their parent word's position, so 服务中心 finds 党群服务中心 while the quoted
phrase "党群服务中心" still matches only where the whole word stands. The index's
analyzers (:mod:`civicsearch.index.analyzers`) index exactly these tokens: change
them, and bump ``SCHEMA_VERSION`` in :mod:`civicsearch.index.schema`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Iterator

from civicsearch.text.normalize import fold
from civicsearch.text.words import MIN_PARENT, RUN_END, get_segmenter

if TYPE_CHECKING:
    import numpy as np

#: The code points of Han characters (a Chinese run is made of them), first and last.
HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x3007, 0x3007))


def char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    """The inside of a regular expression's character class holding ``ranges`` (first and
    last code point of each)."""
    return "".join(chr(lo) if lo == hi else f"{chr(lo)}-{chr(hi)}" for lo, hi in ranges)


def in_ranges(points: "np.ndarray", ranges: tuple[tuple[int, int], ...] = HAN_RANGES) -> "np.ndarray":
    """Which of ``points`` (an array of code points) fall in ``ranges`` (a boolean array)."""
    out = points < 0
    for lo, hi in ranges:
        out |= (points >= lo) & (points <= hi)
    return out


_HAN = char_class(HAN_RANGES)
_WORD = rf"[^\W_{_HAN}]+(?:\.[0-9]+)*"
# A Chinese run, or a run of letters/digits (a decimal point kept inside numbers).
TOKEN_RE = re.compile(rf"(?P<han>[{_HAN}]+)|(?P<word>{_WORD})")
#: The runs of letters and digits alone (none holds a Han character).
WORD_RE = re.compile(_WORD)


def iter_words(text: str, subwords: bool = False,
               only: Callable[[str], bool] | None = None) -> Iterator[tuple[str, int, int, int]]:
    """Yield ``(term, position, startchar, endchar)`` for ``text``.

    ``text`` is folded first; sub-words (``subwords=True``) share their parent's
    position and come just before it. With ``only``, a Chinese run for which it is
    false is not segmented and stands for one position: the words of the other runs
    keep their characters, and two of them are adjacent exactly when they are in the
    whole text (what finding a few words' occurrences needs, at a fraction of the cost).
    """
    terms, positions, starts = word_rows(text, subwords, only)
    for term, pos, start in zip(terms, positions, starts):
        yield term, pos, start, start + len(term)


def word_rows(text: str, subwords: bool = True,
              only: Callable[[str], bool] | None = None) -> tuple[list[str], list[int], list[int]]:
    """:func:`iter_words` as three lists, terms, positions and start characters (what a
    segment writer pools, sub-words included: no tuple an occurrence)."""
    terms: list[str] = []
    positions: list[int] = []
    starts: list[int] = []
    term, position, start = terms.append, positions.append, starts.append
    seg = get_segmenter()
    split = seg.subwords
    matches = list(TOKEN_RE.finditer(fold(text)))
    runs = [m.group("han") for m in matches]
    if only is not None:  # a run left whole stands for one position, as None does below
        runs = [run if run is None or only(run) else "" for run in runs]
    words = iter(seg.cut_runs([run for run in runs if run]))  # one cut for the whole text
    pos = 0
    for m, run in zip(matches, runs):
        if run is None:
            term(m.group())
            position(pos)
            start(m.start())
            pos += 1
            continue
        if not run:
            pos += 1  # a run holds one word at least
            continue
        offset = m.start()
        for word in words:
            if word == RUN_END:
                break
            size = len(word)
            if subwords and size >= MIN_PARENT:  # shorter words have no sub-words: spare the call
                for gram, i in split(word):
                    term(gram)
                    position(pos)
                    start(offset + i)
            term(word)
            position(pos)
            start(offset)
            offset += size
            pos += 1
    return terms, positions, starts


def query_terms(text: str) -> list[str]:
    """The terms a query string analyzes to (precise mode, no sub-words)."""
    return [w for w, _, _, _ in iter_words(text)]
