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
from importlib import resources, util
from pathlib import Path
from typing import Callable

from civicsearch.text import lightseg

ENGINES = ("rjieba", "jieba")
#: Frequency given to civic lexicon words that name none: about that of a common
#: word, enough to keep the term whole without swallowing its neighbours.
DEFAULT_LEXICON_FREQ = 2000
#: Sub-words are looked for up to this length (longer dictionary words are rare).
MAX_WORD = 12
#: Words shorter than this have no sub-words.
MIN_PARENT = 3
_SUBWORD_CACHE = 200_000
#: Characters a process cuts with the memory-mapped dictionary before building rjieba's
#: (a search, with its synonyms and did-you-mean, cuts a few hundred to 1,500; a long-lived
#: process soon passes it and builds rjieba's once; an index build cuts millions).
LIGHT_CHARACTERS = 5_000
#: What stands between two runs in :meth:`Segmenter.cut_runs`' answer.
RUN_END = "\n"


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
    """Precise-mode segmentation of pure Chinese runs, plus a dictionary look-up.

    With rjieba, a process cuts its first :data:`LIGHT_CHARACTERS` characters with
    :mod:`civicsearch.text.lightseg` (the same words, from a memory-mapped dictionary), so that
    a terminal search never pays for building rjieba's; past that, or once :meth:`load` is
    called (an index build, the server), rjieba cuts.
    """

    def __init__(self, engine: str = "rjieba") -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown segmenter {engine!r}; choose one of {', '.join(ENGINES)}")
        self.engine = engine
        self._subwords: dict[str, list[tuple[str, int]]] = {}
        self._light: lightseg.Dictionary | None = None
        # Opened on first use: a process that calls load() first (a build, the server) never opens it.
        self._light_left = LIGHT_CHARACTERS if engine == "rjieba" else 0
        self._cut: Callable[[str], list[str]] | None = None
        self._has_word: Callable[[str], bool] | None = None
        if engine != "rjieba":
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
            self._cut = lambda text: list(tk.cut(text, HMM=True))
            self._has_word = lambda word: bool(freq_table.get(word))

    def load(self) -> "Segmenter":
        """Build the engine's own dictionary now (rjieba: 0.1 s), for a process that cuts much."""
        if self._cut is None:
            self._cut, self._has_word = _rjieba()
            self._light, self._light_left = None, 0
        return self

    @property
    def loaded(self) -> bool:
        """Whether the engine's own dictionary is built (else the light one cuts)."""
        return self._cut is not None

    def _lightly(self) -> lightseg.Dictionary | None:
        """The light dictionary while it still cuts (opened on the first call), else None."""
        if self._cut is None and self._light is None and self._light_left:
            self._light = light_dictionary()
            if self._light is None:  # none can be had here: rjieba cuts everything
                self._light_left = 0
        return self._light if self._cut is None else None

    def cut(self, text: str) -> list[str]:
        """jieba's precise cut (with its HMM) of a Chinese run."""
        if not text:
            return []
        if len(text) <= self._light_left and lightseg.cuttable(text) and (light := self._lightly()) is not None:
            self._light_left -= len(text)
            return light.cut(text)
        return self.load()._cut(text)  # type: ignore[misc]

    def cut_runs(self, runs: list[str]) -> list[str]:
        """The cuts of ``runs`` (Chinese runs) end to end, :data:`RUN_END` between two runs.

        Once the engine's own dictionary is built, one call cuts them all (half the time
        of a call a run, over a build's millions of runs): jieba cuts the text between two
        non-Chinese characters on its own, so a word never spans the newline.
        """
        if self._cut is None:  # the light dictionary may still cut (a search's first words)
            out: list[str] = []
            for run in runs:
                out += self.cut(run)
                out.append(RUN_END)
            return out[:-1]
        return self._cut(RUN_END.join(runs)) if runs else []

    def has_word(self, word: str) -> bool:
        """Whether the dictionary (with the civic lexicon) holds ``word``."""
        light = self._lightly()
        if light is not None:
            return light.freq(word) is not None
        return self.load()._has_word(word)  # type: ignore[misc]

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


def _rjieba() -> tuple[Callable[[str], list[str]], Callable[[str], bool]]:
    """rjieba's cut and look-up, its dictionary with the civic lexicon."""
    import rjieba

    # Importing rjieba already builds its default Jieba (0.1 s); a second instance would
    # double that, so the lexicon goes into that one, as jieba's own module-level add_word does.
    for word, freq in lexicon():
        rjieba.add_word(word, freq, None)
    return rjieba.cut, rjieba.has_word


def package_file(package: str, name: str) -> Path | None:
    """A file inside an installed package, found without importing the package."""
    spec = util.find_spec(package)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    found = [Path(folder) / name for folder in folders if (Path(folder) / name).is_file()]
    return found[0] if found else None


def _stamp(path: Path | None) -> list:
    stat = path.stat() if path is not None else None
    return [str(path), stat.st_size, stat.st_mtime_ns] if stat is not None else [None]


def light_dictionary() -> lightseg.Dictionary | None:
    """jieba's dictionary and the civic lexicon as :mod:`~civicsearch.text.lightseg` reads them,
    from the cache folder; built there on first use (0.7 s), after checking that it cuts a
    check text as rjieba does. None where it cannot be (no jieba, no writable cache, a
    difference): rjieba then cuts everything."""
    dict_txt = package_file("jieba", "dict.txt")
    rjieba_lib = util.find_spec("rjieba")
    if dict_txt is None or rjieba_lib is None:
        return None
    words = lexicon()
    key = lightseg.key(dict_txt, [*_stamp(Path(rjieba_lib.origin) if rjieba_lib.origin else None), words])
    path = cache_dir() / f"jieba-{key}.seg"
    refused = path.with_suffix(".differs")
    if refused.exists():
        return None
    try:
        if path.exists():
            try:
                return lightseg.Dictionary(path)
            except ValueError:  # damaged (a disk full, an older layout): made again
                path.unlink()
        _build_light(path, dict_txt, words, refused)
        return lightseg.Dictionary(path) if path.exists() else None
    except (OSError, ValueError):
        return None


def _build_light(path: Path, dict_txt: Path, words: list[tuple[str, int]], refused: Path) -> None:
    """Write the light dictionary, then keep it only if it cuts as rjieba (:func:`_sample_runs`)."""
    import jieba.finalseg as model

    lightseg.build(path, dict_txt.read_text("utf-8").splitlines(), words, model.start_P, model.trans_P,
                   model.emit_P)
    light = lightseg.Dictionary(path)
    cut, _ = _rjieba()
    for run in _sample_runs():
        if lightseg.cuttable(run) and light.cut(run) != cut(run):
            path.unlink()
            refused.write_text(f"cuts {run!r} otherwise than rjieba\n", encoding="utf-8")
            return


#: Text a new light dictionary must cut as rjieba does (with the lexicon's words in context
#: and the bundled corpus): names the HMM makes up, words the route joins, civic phrases.
_CHECK = ("我们中出了一个叛徒。他来到了网易杭研大厦。小明硕士毕业于中国科学院计算所，后在日本京都大学深造。"
          "南京市长江大桥。嘉定镇街道二〇二三年工作计划：推进老旧住宅加装电梯，完善社区党群服务中心功能，"
          "优化营商环境，深化一网通办改革。市民来信反映小区停车难、垃圾分类投放点设置不合理等问题，"
          "街道办事处经调查核实后予以答复。根据《中华人民共和国政府信息公开条例》的规定，现将有关情况公开如下。")


def _sample_runs() -> list[str]:
    """The Chinese runs of the check text, of the lexicon in context and of the bundled corpus."""
    import re

    texts = [_CHECK, *(f"推进{word}建设" for word, _ in lexicon())]
    folder = resources.files("civicsearch").joinpath("sample_corpus")
    if folder.is_dir():
        texts += [item.read_text("utf-8", errors="replace") for item in folder.iterdir() if item.name.endswith(".txt")]
    return [run for text in texts for run in re.findall("[\u4e00-\u9fd5]+", text)]


@lru_cache(maxsize=None)
def get_segmenter(engine: str | None = None) -> Segmenter:
    """The shared segmenter (``engine`` defaults to ``$CIVICSEARCH_SEGMENTER`` or rjieba)."""
    return Segmenter(engine or os.environ.get("CIVICSEARCH_SEGMENTER") or "rjieba")
