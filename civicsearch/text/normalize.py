"""Length-preserving character folding shared by indexing and querying.

Every character maps to exactly one character, so offsets computed on the folded
text are valid in the text the user sees: traditional → simplified, full-width →
ASCII (NFKC, where it yields one character), CJK compatibility ideographs →
unified ideographs, Latin → lower case.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# Blocks where NFKC folds a character to a single different one that matters here.
_NFKC_RANGES = (
    (0x00C0, 0x00DE),  # Latin-1 capitals (lowercased below)
    (0x2000, 0x206F),  # general punctuation: odd spaces and dashes
    (0x2150, 0x218F),  # number forms: Ⅴ → V
    (0x2460, 0x24FF),  # enclosed alphanumerics: ① → 1
    (0x2E80, 0x2FDF),  # CJK / Kangxi radicals → ideographs
    (0x3000, 0x3000),  # ideographic space
    (0xF900, 0xFAFF),  # CJK compatibility ideographs (common in OCR output)
    (0xFE30, 0xFE4F),  # vertical forms
    (0xFF00, 0xFFEF),  # full-width and half-width forms
    (0x2F800, 0x2FA1F),  # CJK compatibility supplement
)


def _t2s_pairs() -> dict[str, str]:
    text = resources.files("civicsearch.data").joinpath("t2s.txt").read_text("utf-8")
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        for i in range(0, len(line) - 1, 2):
            pairs[line[i]] = line[i + 1]
    return pairs


@lru_cache(maxsize=1)
def fold_table() -> dict[int, str]:
    """The translation table behind :func:`fold` (built once, ~5 ms)."""
    t2s = _t2s_pairs()
    table: dict[int, str] = {}
    for start, end in _NFKC_RANGES:
        for cp in range(start, end + 1):
            ch = chr(cp)
            folded = unicodedata.normalize("NFKC", ch)
            if len(folded) == 1:
                folded = folded.lower() if len(folded.lower()) == 1 else folded
                folded = t2s.get(folded, folded)
                if folded != ch:
                    table[cp] = folded
    for cp in range(ord("A"), ord("Z") + 1):
        table[cp] = chr(cp + 32)
    for trad, simp in t2s.items():
        table.setdefault(ord(trad), simp)
    return table


#: Texts from this many characters on are folded as an array of code points: ``str.translate``
#: looks a dict up for every character, and the array's fixed cost is paid back from here.
_ARRAY_CHARS = 80


@lru_cache(maxsize=1)
def _fold_points() -> "np.ndarray":
    """:func:`fold_table` as an array: each code point's folded one, up to the last it changes."""
    import numpy as np

    table = fold_table()
    points = np.arange(max(table) + 1, dtype=np.uint32)
    points[np.fromiter(table, dtype=np.int64, count=len(table))] = np.fromiter(
        map(ord, table.values()), dtype=np.uint32, count=len(table))
    return points


def _folded(text: str) -> str:
    if len(text) < _ARRAY_CHARS:
        return text.translate(fold_table())
    import numpy as np

    folded = _fold_points()
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if points.max() < len(folded):
        points = folded[points]
    else:  # a character past the table's last folds to itself
        points = np.where(points < len(folded), folded[np.minimum(points, len(folded) - 1)], points)
    return points.tobytes().decode("utf-32-le", "surrogatepass")


def fold(text: str) -> str:
    """Fold ``text`` for matching; ``len(fold(s)) == len(s)`` always holds. The last two
    texts folded are remembered (by identity): an index build folds each body for its
    words, then the title, then the body again for its bigrams."""
    global _recent
    recent = _recent
    for seen, folded in recent:
        if seen is text:
            return folded
    folded = _folded(text)
    _recent = ((text, folded), recent[0])
    return folded


_recent: tuple[tuple[str, str], tuple[str, str]] = (("", ""), ("", ""))


# C0 and C1 controls but tab and newline, DEL, and the bidirectional overrides and
# isolates: none belongs in civic text, and on a terminal they are escape sequences.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str, replacement: str = "") -> str:
    """``text`` without control characters (tab and newline kept); each one becomes
    ``replacement`` (one character keeps offsets into the text valid)."""
    return _CONTROLS.sub(replacement, text)


# Format characters that show nothing but split a word for a tokenizer: soft hyphen,
# combining grapheme joiner, Mongolian vowel separator, zero-width space, non-joiner and
# joiner, word joiner and the invisible operators, a BOM inside text.
_INVISIBLE = re.compile("[\u00ad\u034f\u180e\u200b-\u200d\u2060-\u2064\ufeff]")
_WIDE_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_WIDE_DIGIT = re.compile("[０-９]")


def unformat(text: str) -> str:
    """``text`` as it reads: invisible format characters (what web pages and word processors
    paste inside words) dropped, full-width digits as ASCII (国办发〔２０２４〕１号, ２０２３年)."""
    text = _INVISIBLE.sub("", text)
    # translate looks every character up (20 times the search): most texts have no such digit.
    return text.translate(_WIDE_DIGITS) if _WIDE_DIGIT.search(text) else text


_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub(text: str) -> str:
    """Text that encodes as UTF-8: a lone surrogate (a cut emoji in a JSON string) becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


_NOT_LETTER = re.compile(r"[\W_]+")


def letters_only(text: str) -> str:
    """``text`` with everything but letters and digits (Han included) removed."""
    return _NOT_LETTER.sub("", text)
