"""jieba's precise mode over a memory-mapped dictionary: a short text cut without building
jieba's dictionary in memory first.

rjieba builds its dictionary of 349,046 words when it is imported: 0.1 s, a quarter of a
terminal search that itself takes 20 ms (docs/performance.md). This module cuts the same way
as jieba-rs, the engine inside rjieba:

- every dictionary word starting at each character is an edge of a graph (a character no
  word starts with stands alone);
- the route maximises the sum of log(frequency / total), ties to the longer word;
- a run of characters the route leaves alone is, if it is not itself a word, cut by jieba's
  hidden Markov model (states B, M, E, S; Viterbi).

The dictionary is jieba's ``dict.txt`` with the civic lexicon added as rjieba's ``add_word``
adds it (a frequency replaced, the total adjusted), and the model is jieba's. They are kept
in one file (:func:`build`) of sorted 64-bit word hashes, frequencies and the words
themselves, read through ``mmap``, so opening costs nothing that grows with the dictionary:
the words a text holds are found all at once with ``numpy.searchsorted`` over the hashes of
its substrings, and each hit is checked against the stored word. Only text made of the
characters U+4E00-U+9FD5 (the model's) is cut here; :class:`civicsearch.text.words.Segmenter`
hands anything else to rjieba, and a test holds the two equal on the bench's runs.
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import os
import struct
from pathlib import Path
from typing import Iterable

import numpy as np

MAGIC = b"CSSEG01\n"
#: The characters this module cuts (the HMM's range, jieba's ``re_han`` in finalseg).
FIRST, LAST = 0x4E00, 0x9FD5
_STATES = "BEMS"  # jieba-rs's order: ties go to the later state, as in jieba's max over (p, state)
_PREV = {"B": "ES", "E": "BM", "M": "MB", "S": "SE"}
MIN_FLOAT = -3.14e100
_MASK = 2**64 - 1
#: The hash's base (odd, so invertible modulo 2**64) and its inverse.
_BASE = 0x100000001B3
_INVERSE = pow(_BASE, -1, 2**64)
#: Texts up to this long are hashed in Python, longer ones with numpy.
SMALL = 12


def cuttable(text: str) -> bool:
    """Whether this module cuts ``text`` (else rjieba does)."""
    return bool(text) and all(FIRST <= ord(c) <= LAST for c in text)


def _powers(base: int, n: int) -> np.ndarray:
    """base**0 .. base**(n-1) modulo 2**64."""
    out = np.empty(n, dtype=np.uint64)
    value = 1
    for i in range(n):
        out[i] = value
        value = value * base & _MASK
    return out


def _prefix_hashes(text: str) -> list[int]:
    """The hash of each of ``text``'s prefixes, shortest first, as :func:`_word_hashes` gives
    a word's (in Python: a short text's)."""
    out, h, power = [], 0, 1
    for char in text:
        h = (h + ord(char) * power) & _MASK
        power = power * _BASE & _MASK
        out.append(h)
    return out


def _word_hashes(words: list[str], longest: int) -> np.ndarray:
    """Each word's hash: the sum of its code points times base**i, modulo 2**64."""
    powers = _powers(_BASE, longest)
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    points = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    within = np.arange(len(points), dtype=np.int64) - np.repeat(starts, lengths)
    return np.add.reduceat(points * powers[within], starts) if len(words) else np.zeros(0, dtype=np.uint64)


def key(dict_path: Path, extra: list) -> str:
    """What the file is made from: the dictionary file (size and time) and ``extra`` (the
    lexicon, the engine it must cut as)."""
    stat = dict_path.stat()
    digest = hashlib.sha1(json.dumps([MAGIC.decode(), str(dict_path), stat.st_size, stat.st_mtime_ns, extra],
                                     ensure_ascii=False).encode()).hexdigest()
    return digest[:16]


def build(out: Path, dict_lines: Iterable[str], lexicon: list[tuple[str, int]], start: dict[str, float],
          trans: dict[str, dict[str, float]], emit: dict[str, dict[str, float]]) -> None:
    """Write the file: ``dict_lines`` (jieba's ``word freq [tag]``), then ``lexicon`` added
    word by word as jieba-rs's ``add_word`` adds it, and the model's probabilities."""
    freqs: dict[str, int] = {}
    for line in dict_lines:
        parts = line.split()
        if parts:
            freqs[parts[0]] = int(parts[1]) if len(parts) > 1 else 0
    total = sum(freqs.values())
    for word, freq in lexicon:
        total += freq - freqs.get(word, 0)
        freqs[word] = freq
    words = list(freqs)
    longest = max(map(len, words))
    hashes = _word_hashes(words, longest)
    order = np.argsort(hashes, kind="stable")
    if len(np.unique(hashes)) != len(hashes):
        raise ValueError("two dictionary words share a hash")
    encoded = [words[i].encode("utf-8") for i in order.tolist()]
    starts = np.concatenate([[0], np.cumsum([len(w) for w in encoded])]).astype("<u4")
    arrays = [hashes[order].astype("<u8"), np.asarray([freqs[words[i]] for i in order.tolist()], dtype="<u8"),
              starts, np.frombuffer(b"".join(encoded), dtype=np.uint8)]
    model = np.full((4, LAST - FIRST + 1), MIN_FLOAT, dtype="<f8")
    for s, state in enumerate(_STATES):
        for char, p in emit[state].items():
            if FIRST <= ord(char) <= LAST:
                model[s, ord(char) - FIRST] = p
    header = {"total": total, "longest": longest, "words": len(words), "bytes": int(starts[-1]),
              "start": [start[s] for s in _STATES], "trans": {a: dict(b) for a, b in trans.items()}}
    blob = json.dumps(header).encode()
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(blob)) + blob)
        for array in (*arrays, model):
            f.write(b"\0" * (-f.tell() % 8))
            f.write(np.ascontiguousarray(array).tobytes())
    os.replace(tmp, out)


class Dictionary:
    """The file of :func:`build`, memory-mapped: look-ups and jieba's precise cut."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if self._map[: len(MAGIC)] != MAGIC:
            raise ValueError(f"{path}: not a segmenter dictionary")
        (size,) = struct.unpack_from("<Q", self._map, len(MAGIC))
        at = len(MAGIC) + 8
        header = json.loads(self._map[at: at + size])
        at += size

        def take(dtype: str, count: int) -> np.ndarray:
            nonlocal at
            at += -at % 8
            array = np.frombuffer(self._map, dtype=dtype, count=count, offset=at)
            at += array.nbytes
            return array

        n = header["words"]
        self.hashes, self.freqs = take("<u8", n), take("<u8", n)
        self.starts, self.blob = take("<u4", n + 1), take("u1", header["bytes"])
        self.emit = take("<f8", 4 * (LAST - FIRST + 1)).reshape(4, -1)
        self.logtotal = math.log(header["total"])
        self.longest = int(header["longest"])
        self.start = dict(zip(_STATES, header["start"]))
        self.trans = header["trans"]
        self._powers = _powers(_BASE, 64)
        self._inverses = _powers(_INVERSE, 64)

    def _grow(self, n: int) -> None:
        if len(self._powers) < n:
            self._powers = _powers(_BASE, n)
            self._inverses = _powers(_INVERSE, n)

    def _word(self, i: int) -> bytes:
        return self.blob[int(self.starts[i]): int(self.starts[i + 1])].tobytes()

    def freq(self, word: str) -> int | None:
        """The word's frequency, or None when the dictionary does not hold it."""
        if not word:
            return None
        row = int(self._find(np.array(_prefix_hashes(word)[-1:], dtype=np.uint64))[0])
        return None if row < 0 or self._word(row) != word.encode("utf-8") else int(self.freqs[row])

    def _find(self, hashes: np.ndarray) -> np.ndarray:
        """Each hash's row in the table, or -1."""
        at = np.searchsorted(self.hashes, hashes)
        at = np.minimum(at, len(self.hashes) - 1)
        return np.where(self.hashes[at] == hashes, at, -1)

    def edges(self, text: str) -> list[list[tuple[int, int]]]:
        """For each character, ``(end, frequency)`` of every dictionary word starting there,
        shortest first."""
        n = len(text)
        if n <= SMALL:
            return self._small_edges(text)
        self._grow(n + 1)
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        prefix = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(points * self._powers[:n])])
        width = min(self.longest, n)
        starts = np.arange(n, dtype=np.int64)[:, None]
        ends = starts + np.arange(1, width + 1, dtype=np.int64)[None, :]
        inside = ends <= n
        ends = np.minimum(ends, n)
        hashes = (prefix[ends] - prefix[starts]) * self._inverses[starts]
        rows = np.where(inside, self._find(hashes), -1)
        out: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for k, j in zip(*np.nonzero(rows >= 0)):
            k, end, row = int(k), int(k + j + 1), int(rows[k, j])
            if self._word(row) == text[k:end].encode("utf-8"):
                out[k].append((end, int(self.freqs[row])))
        return out

    def _small_edges(self, text: str) -> list[list[tuple[int, int]]]:
        """:meth:`edges` of a short text, its substrings hashed in Python (numpy's per-call
        cost is most of a short text's)."""
        n, width = len(text), min(self.longest, len(text))
        spans = [(k, end) for k in range(n) for end in range(k + 1, min(n, k + width) + 1)]
        hashes = [h for k in range(n) for h in _prefix_hashes(text[k:k + width])]
        rows = self._find(np.array(hashes, dtype=np.uint64)).tolist()
        out: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for (k, end), row in zip(spans, rows):
            if row >= 0 and self._word(row) == text[k:end].encode("utf-8"):
                out[k].append((end, int(self.freqs[row])))
        return out

    def cut(self, text: str) -> list[str]:
        """jieba-rs's ``cut(text, hmm=True)`` of ``text`` (characters of :func:`cuttable`)."""
        n = len(text)
        edges = self.edges(text)
        route: list[tuple[float, int]] = [(0.0, 0)] * (n + 1)
        logtotal = self.logtotal
        for k in range(n - 1, -1, -1):
            found = edges[k] or [(k + 1, 1)]
            route[k] = max(((math.log(f) if f else -math.inf) - logtotal + route[end][0], end) for end, f in found)
        words: list[str] = []
        x, left = 0, None
        while x < n:
            y = route[x][1]
            if y - x == 1:
                if left is None:
                    left = x
            else:
                if left is not None:
                    self._alone(text[left:x], words)
                    left = None
                words.append(text[x:y])
            x = y
        if left is not None:
            self._alone(text[left:], words)
        return words

    def _alone(self, run: str, words: list[str]) -> None:
        """Characters the route left alone: one, a dictionary word's characters, or the HMM's words."""
        if len(run) == 1:
            words.append(run)
        elif self.freq(run) is None:
            words.extend(self._hmm(run))
        else:
            words.extend(run)

    def _hmm(self, run: str) -> list[str]:
        """jieba's HMM cut of a run (Viterbi over B, M, E, S)."""
        emit = self.emit
        columns = [ord(c) - FIRST for c in run]
        v = {y: self.start[y] + float(emit[s, columns[0]]) for s, y in enumerate(_STATES)}
        paths = {y: y for y in _STATES}
        for col in columns[1:]:
            nv, npaths = {}, {}
            for s, y in enumerate(_STATES):
                em = float(emit[s, col])
                prob, state = max((v[y0] + self.trans[y0].get(y, MIN_FLOAT) + em, y0) for y0 in _PREV[y])
                nv[y] = prob
                npaths[y] = paths[state] + y
            v, paths = nv, npaths
        _, last = max((v[y], y) for y in "ES")
        out, begin, nxt = [], 0, 0
        for i, state in enumerate(paths[last]):
            if state == "B":
                begin = i
            elif state == "E":
                out.append(run[begin: i + 1])
                nxt = i + 1
            elif state == "S":
                out.append(run[i])
                nxt = i + 1
        if nxt < len(run):
            out.append(run[nxt:])
        return out
