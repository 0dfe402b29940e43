"""Did you mean: the closest query the index can answer, for a query that found nothing or
had to relax.

A typo in Chinese is a wrong character: one that sounds the same (佳装电梯 for 加装电梯) or
looks or types alike (湿地保扩 for 湿地保护). It breaks a word into characters the segmenter
cannot join, so a suggestion replaces one such character so that the window around it
becomes a word the index holds, preferring a character that sounds the same (``pypinyin``,
when installed) and a word many documents hold, and keeps the candidate only if it finds
documents without relaxing. Traditional and full-width forms need no suggestion: the index
folds them (加裝電梯 finds what 加装电梯 finds).
"""

from __future__ import annotations

import json
import math
import time
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

from civicsearch.index import wordlist
from civicsearch.text.normalize import fold
from civicsearch.text.words import get_segmenter, package_file

if TYPE_CHECKING:
    from civicsearch.index.storage import Storage

#: Words fewer documents hold are no suggestion (a typo in the corpus itself).
MIN_DOCUMENTS = 2
#: The most the checks of a suggestion's candidates against the index may add to a search.
BUDGET_SECONDS = 0.3
#: How many candidate queries are tried against the index, best first.
TRIED = 24
#: A candidate's prior for a character that sounds the same, and the weight of the log of
#: how many documents the corrected query finds.
SAME_SOUND = 12.0
FOUND_WEIGHT = 2.0
#: What breaking a word the index holds costs a candidate (times the log of its documents).
BREAK_WEIGHT = 0.5
#: Words on each side of a corrected word that must stand with it in a document: first
#: one (the strongest evidence), else none (the word alone).
CONTEXTS = (1, 0)
#: Words whose document counts a vocabulary keeps (past it, it starts again).
KNOWN_WORDS = 65536


@lru_cache(maxsize=1)
def _readings() -> dict[str, str] | None:
    """pypinyin's readings of each character (its code point as text → ``"zhōng,zhòng"``),
    read from its data file without importing pypinyin, whose import loads phrase tables and
    a segmenter that a character's sound does not need; None where the file is not found."""
    path = package_file("pypinyin", "pinyin_dict.json")
    if path is None:
        return None
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


@lru_cache(maxsize=65536)
def _sound(ch: str) -> str | None:
    """A character's pinyin without tone, as pypinyin's ``lazy_pinyin(ch, style=Style.NORMAL)``
    gives it (the first reading, ü as v); None without pypinyin."""
    readings = _readings()
    if readings is None:
        try:
            from pypinyin import Style, lazy_pinyin
        except ImportError:
            return None
        return lazy_pinyin(ch, style=Style.NORMAL)[0]
    found = readings.get(str(ord(ch)))
    if found is None:
        return ch
    marked = unicodedata.normalize("NFD", found.split(",")[0]).replace("u\u0308", "v")
    return "".join(c for c in marked if not unicodedata.combining(c))


class Vocabulary:
    """The Han words of 2–4 characters an index holds, with how many documents hold
    them, and every word's one-character-away neighbours (a bucket per word with one
    position blanked, its words in code point order).

    The words and their buckets are the index's arrays (:meth:`Storage.words`,
    :mod:`civicsearch.index.wordlist`). Whether the index holds a word: the two- and
    three-character words (nine in ten) by their code (bisected), the four-character ones,
    too long for a code, as a dict's keys. A long-running searcher's garbage collector has
    nothing of it to walk (a set of the words and a list a bucket would be walked at every
    full collection).
    """

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        #: Each size's words as rows of code points, their buckets and the shorter ones' codes.
        self._words = storage.words()
        #: The four-character words (as keys), in code point order.
        self._long: dict[str, None] = dict.fromkeys(wordlist.texts(self._words.rows[wordlist.LONG_WORD]))
        #: How many documents hold a word, for the words asked about so far (at most KNOWN_WORDS).
        self._documents: dict[str, int] = {}

    def holds(self, word: str) -> bool:
        """Whether ``word`` is one of the vocabulary's words."""
        if len(word) in self._words.keys:
            keys = self._words.keys[len(word)]
            key = wordlist.code(word)
            at = int(keys.searchsorted(key))
            return at < len(keys) and int(keys[at]) == key
        return word in self._long

    def documents(self, word: str) -> int:
        """How many documents hold ``word`` (in the field that holds it most)."""
        return self.documents_of([word])[word]

    def documents_of(self, words: list[str]) -> dict[str, int]:
        """:meth:`documents` of each of ``words``, those not asked before read together (each
        segment's tables searched once for all of them, not once a word)."""
        known = self._documents
        todo = [w for w in dict.fromkeys(words) if w not in known]
        if todo:
            if len(known) + len(todo) > KNOWN_WORDS:
                known.clear()
                todo = list(dict.fromkeys(words))
            by_field = zip(*(self.storage.doc_frequencies(f, todo) for f in wordlist.TERM_FIELDS))
            known.update(zip(todo, map(max, by_field)))
        return {w: known[w] for w in words}

    def neighbours(self, window: str, i: int) -> list[str]:
        """Words the index holds that differ from ``window`` at position ``i`` only."""
        if len(window) not in self._words.rows:
            return []
        found = self._words.buckets[len(window)][i].rows_of(window[:i] + window[i + 1:])
        return wordlist.texts(self._words.rows[len(window)][found]) if len(found) else []

    def words(self) -> list[str]:
        """Every word, shortest first, each size in code point order."""
        return [w for size in (2, 3) for w in wordlist.texts(self._words.rows[size])] + list(self._long)


def _positions(run: str, vocabulary: Vocabulary, everywhere: bool) -> dict[int, float]:
    """Positions in a Han run where a typo may sit, each with a penalty. Suspects cost
    nothing: characters the segmenter leaves on their own (a typo breaks a word apart) or
    inside a "word" no document holds (the segmenter guessed one from the pieces). With
    ``everywhere``, every other position too, at the cost of the word it would break
    (the more documents hold it, the less likely it is the typo)."""
    out, at = {}, 0
    words = get_segmenter().cut(run)
    counts = vocabulary.documents_of(words)
    for word in words:
        n = counts[word]
        suspect = len(word) == 1 or n == 0
        if suspect or everywhere:
            for i in range(at, at + len(word)):
                out[i] = 0.0 if suspect else BREAK_WEIGHT * math.log(1 + n)
        at += len(word)
    return out


def _context(run: str, start: int, end: int, context: int) -> tuple[int, int]:
    """The evidence for a corrected word ``run[start:end]``: the words of the corrected run
    it overlaps, and ``context`` words on each side (whole words: a phrase matches as the
    segmenter cut the documents)."""
    spans, at = [], 0
    for word in get_segmenter().cut(run):
        spans.append((at, at + len(word)))
        at += len(word)
    inside = [k for k, (a, b) in enumerate(spans) if a < end and b > start]
    first, last = max(0, inside[0] - context), min(len(spans) - 1, inside[-1] + context)
    return spans[first][0], spans[last][1]


#: A candidate: its prior, the span of the Han run it changed, and of the word in that run.
Candidate = tuple[float, tuple[int, int], tuple[int, int]]


def _candidates(query: str, vocabulary: Vocabulary, everywhere: bool) -> dict[str, Candidate]:
    """Queries one character away from ``query`` whose changed window is a word the index
    holds: {query: (prior, run span, word span)}. The prior weighs the word's documents
    (log), its length and a same-sounding character, less the penalty of the position
    (:func:`_positions`)."""
    text = fold(query)
    out: dict[str, Candidate] = {}
    for m in wordlist.HAN_RUN.finditer(text):
        run = m.group()
        if len(run) < 2:
            continue
        tried = []  # (position, its penalty, window size and start, window, a word one character away)
        for i, penalty in sorted(_positions(run, vocabulary, everywhere).items()):
            for size in wordlist.WORD_SIZES:
                for start in range(max(0, i - size + 1), min(i, len(run) - size) + 1):
                    window = run[start:start + size]
                    if not everywhere and vocabulary.holds(window):
                        continue
                    tried += [(i, penalty, size, start, window, word)
                              for word in vocabulary.neighbours(window, i - start)]
        counts = vocabulary.documents_of([t[-1] for t in tried])
        for i, penalty, size, start, window, word in tried:
            n = counts[word]
            if word == window or n < MIN_DOCUMENTS:
                continue
            old, new = run[i], word[i - start]
            sound = _sound(old)
            prior = math.log(1 + n) + size - penalty + (
                SAME_SOUND if sound is not None and sound == _sound(new) else 0)
            at = m.start() + i
            fixed = query[:at] + new + query[at + 1:]  # fold keeps offsets
            if prior > out.get(fixed, (float("-inf"),))[0]:
                out[fixed] = (prior, m.span(), (start, start + size))
    return out


def _evidence(fixed: str, run: tuple[int, int], word: tuple[int, int], context: int) -> str:
    """The phrase that must stand in documents for a candidate: its corrected word with
    ``context`` words of its run on each side, quoted (see :func:`_context`)."""
    lo, hi = _context(fixed[run[0]:run[1]], word[0], word[1], context)
    return '"' + fixed[run[0] + lo:run[0] + hi] + '"'


def suggest(query: str, vocabulary: Vocabulary, answers: Callable[[str], int]) -> str | None:
    """The best correction of one character of ``query``, or None: among the likeliest
    candidates (:func:`_candidates`), one whose corrected word stands in documents with
    the characters around it, and whose whole query finds documents without relaxing
    (``answers``: how many a query finds, 0 when it has to relax); of those, the one whose
    phrase documents and prior weigh most. Suspect positions first; every position only
    when no suspect gives such a query."""
    deadline = None
    counted: dict[str, int] = {}

    def found_by(q: str) -> int:
        if q not in counted:
            counted[q] = answers(q)
        return counted[q]

    for everywhere in (False, True):
        candidates = sorted(_candidates(query, vocabulary, everywhere).items(), key=lambda kv: -kv[1][0])[:TRIED]
        # Counted from the first candidates on (the first suggestion of a process loads pypinyin).
        deadline = deadline or time.monotonic() + BUDGET_SECONDS
        # A word the index holds is changed only on the strongest evidence (with its neighbours).
        for level in range(1 if everywhere else len(CONTEXTS)):
            best, best_score = None, float("-inf")
            for fixed, (prior, run, word) in candidates:
                if time.monotonic() > deadline:
                    return best  # a suggestion must not cost the search more than its budget
                found = found_by(_evidence(fixed, run, word, CONTEXTS[level]))
                if not found or not found_by(fixed):
                    continue
                score = prior + FOUND_WEIGHT * math.log(1 + found)
                if score > best_score:
                    best, best_score = fixed, score
            if best is not None:
                return best
    return None
