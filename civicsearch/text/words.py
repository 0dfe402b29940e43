"""jieba word segmentation behind one small interface.

``rjieba`` (the jieba-rs binding) is the default engine: the same dictionary and
algorithm as jieba, much faster and with no cache file. The pure-Python ``jieba``
package is the fallback (``CIVICSEARCH_SEGMENTER=jieba``) and the parity oracle in
the tests. Both get the civic lexicon with the same explicit frequencies.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

ENGINES = ("rjieba", "jieba")
#: Frequency given to civic lexicon words that name none: about that of a common
#: word, enough to keep the term whole without swallowing its neighbours.
DEFAULT_LEXICON_FREQ = 2000
#: Sub-words are looked for up to this length (longer dictionary words are rare).
MAX_WORD = 12
#: Words shorter than this have no sub-words.
MIN_PARENT = 3
_SUBWORD_CACHE = 200_000


def lexicon() -> list[tuple[str, int]]:
    """The civic words added to the dictionary, with their frequencies."""
    text = resources.files("civicsearch.data").joinpath("civic_words.txt").read_text("utf-8")
    words = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 else DEFAULT_LEXICON_FREQ
        words.append((parts[0], freq))
    return words


def cache_dir() -> Path:
    """Where pure-Python jieba keeps its prefix-dictionary cache (never the shared $TMPDIR)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "civicsearch"


class Segmenter:
    """Precise-mode segmentation of pure Chinese runs, plus a dictionary look-up."""

    def __init__(self, engine: str = "rjieba") -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown segmenter {engine!r}; choose one of {', '.join(ENGINES)}")
        self.engine = engine
        self._subwords: dict[str, list[tuple[str, int]]] = {}
        if engine == "rjieba":
            import rjieba

            # Importing rjieba already builds its default Jieba (0.12 s); a second
            # instance would double the start-up, so the lexicon goes into that one,
            # as jieba's own module-level add_word does.
            for word, freq in lexicon():
                rjieba.add_word(word, freq, None)
            self.cut = rjieba.cut
            self.has_word = rjieba.has_word
        else:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            directory = cache_dir()
            directory.mkdir(parents=True, exist_ok=True)
            tk.tmp_dir = str(directory)
            tk.initialize()
            for word, freq in lexicon():
                tk.add_word(word, freq)
            freq_table = tk.FREQ
            self.cut = lambda text: list(tk.cut(text, HMM=True))
            self.has_word = lambda word: bool(freq_table.get(word))

    def subwords(self, word: str) -> list[tuple[str, int]]:
        """Dictionary words inside ``word`` with their offsets, shortest first.

        jieba's search mode stops at 3-grams; we take every inner dictionary word
        (2 characters up to one less than the word) so that 服务中心 is found
        inside 党群服务中心. A word jieba's HMM made up (not in the dictionary, mostly
        names: 市发吉, 团头村) also gives its character bigrams, so that the same
        name cut differently elsewhere (发吉, 头村) still meets it.
        """
        n = len(word)
        if n < MIN_PARENT:
            return []
        known_subwords = self._subwords.get(word)
        if known_subwords is not None:
            return known_subwords
        out = []
        for size in range(2, min(n, MAX_WORD)):
            for i in range(n - size + 1):
                gram = word[i : i + size]
                if self.has_word(gram):
                    out.append((gram, i))
        if not self.has_word(word):
            known = {o for g, o in out if len(g) == 2}
            out[:0] = [(word[i : i + 2], i) for i in range(n - 1) if i not in known]
        # Words recur (Zipf): the cache spares most dictionary look-ups at index time.
        if len(self._subwords) >= _SUBWORD_CACHE:
            self._subwords.clear()
        self._subwords[word] = out
        return out


@lru_cache(maxsize=None)
def get_segmenter(engine: str | None = None) -> Segmenter:
    """The shared segmenter (``engine`` defaults to ``$CIVICSEARCH_SEGMENTER`` or rjieba)."""
    return Segmenter(engine or os.environ.get("CIVICSEARCH_SEGMENTER") or "rjieba")
