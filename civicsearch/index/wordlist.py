"""The Han words of two to four characters an index's title and body hold, as arrays for
the did-you-mean (:mod:`civicsearch.search.suggest`), and their file beside the segments.

Every word is a row of code points, each size's rows in code point order, and for each
blanked position a bucket: the rows sorted by the other characters (:class:`Bucketed`),
so that a word's one-character-away neighbours are a run found by bisection. Building them
reads every segment's term tables (60 ms on the bench index, more than a search), so an
index run that changed the index writes them to ``words-<key>.arr`` in the generation's
folder, ``key`` naming the segments they were read from (deletions leave a segment's terms
as they are until a merge, and so do these words); a process that opens the index maps the
file for its segments, or builds the arrays itself where there is none (an index of an
older version, a folder it could not write).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from civicsearch.index import arrayfile
from civicsearch.index.postarrays import code_points, point_codes, term_code
from civicsearch.index.postings import lexicon_parts
from civicsearch.index.radix import union
from civicsearch.text.tokens import char_class, in_ranges

#: Words of this many Han characters are what a suggestion can restore.
WORD_SIZES = (2, 3, 4)
#: The size of the words too long for a code (kept as text).
LONG_WORD = WORD_SIZES[-1]
#: Han characters, the extensions too (folding maps some traditional forms there: 轇 → 𫐖):
#: the first and last code point of each range.
HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
HAN_RUN = re.compile(f"[{char_class(HAN_RANGES)}]+")
#: The fields whose words count.
TERM_FIELDS = ("title", "body")
MAGIC = b"CSWORDS1"
_PATTERN = "words-*.arr"


@dataclass
class Bucketed:
    """Rows of code points by their key (the code of their characters): the keys sorted, and
    the rows in that order (a stable sort: rows of one key keep their order)."""

    keys: np.ndarray
    order: np.ndarray

    @classmethod
    def of(cls, columns: np.ndarray) -> "Bucketed":
        keys = point_codes(columns)
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], order)

    def rows_of(self, chars: str) -> np.ndarray:
        """The rows whose characters are ``chars``, in their order."""
        key = code(chars)
        return self.order[int(self.keys.searchsorted(key, "left")): int(self.keys.searchsorted(key, "right"))]


@dataclass
class Words:
    """Each size's words as rows of code points (in code point order) with a bucket for each
    blanked position, and the two- and three-character words' codes (sorted)."""

    rows: dict[int, np.ndarray]
    buckets: dict[int, list[Bucketed]]
    keys: dict[int, np.ndarray]


def code(chars: str) -> np.uint64:
    """The short-term code of one to three characters (:func:`~civicsearch.index.postarrays.term_code`)."""
    return np.uint64(term_code(chars.encode("utf-8")) or 0)


def texts(rows: np.ndarray) -> list[str]:
    """Rows of code points (none 0) as strings."""
    size, text = rows.shape[1], rows.astype("<u4").tobytes().decode("utf-32-le")
    return [text[k: k + size] for k in range(0, len(text), size)]


def build(term_parts: Callable[[str, tuple[int, int]], tuple[np.ndarray, list[str]]]) -> Words:
    """The words of :data:`TERM_FIELDS` from ``term_parts`` (a field's short terms' codes,
    and its longer terms of the UTF-8 bytes asked for: :meth:`Storage.term_parts`)."""
    codes, longer = [], set()
    for field in TERM_FIELDS:
        # The longer terms a word can be: four Han characters, three or four bytes each.
        coded, others = term_parts(field, (3 * LONG_WORD, 4 * LONG_WORD))
        codes.append(coded)
        longer.update(w for w in others if len(w) == LONG_WORD and HAN_RUN.fullmatch(w))
    points = code_points(union(codes))  # rows in code point order
    han = in_ranges(points, HAN_RANGES)  # as HAN_RUN takes them
    words = Words({}, {}, {})
    for size in (2, 3):
        rows = points[han[:, 3 - size:].all(axis=1) & (points[:, : 3 - size] == 0).all(axis=1)][:, 3 - size:]
        words.keys[size] = point_codes(rows)
        words.rows[size] = rows
    words.rows[LONG_WORD] = np.frombuffer("".join(sorted(longer)).encode("utf-32-le"),
                                          dtype="<u4").reshape(-1, LONG_WORD)
    for size, rows in words.rows.items():
        words.buckets[size] = [Bucketed.of(np.delete(rows, i, axis=1)) for i in range(size)]
    return words


def segment_ids(reader: Any) -> list[str]:
    """The ids of ``reader``'s segments, sorted (none for an index with no documents)."""
    return sorted(segment.segment_id() for leaf, _ in reader.leaf_readers()
                  if (segment := leaf.segment()) is not None)


def key_of(reader: Any) -> str:
    """What names the words of ``reader``'s segments (their ids)."""
    return _key(segment_ids(reader))


def _key(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()[:24]


def save(folder: Path, key: str, words: Words) -> bool:
    """Write ``words`` for the segments ``key`` names into ``folder`` (whole or not at all:
    a file under another name renamed into place), and remove the words of other segments;
    whether it could (a full disk or a folder it may not write leaves searches to build
    their own)."""
    arrays: list[tuple[str, np.ndarray]] = []
    for size in sorted(words.rows):
        arrays.append((f"rows{size}", np.ascontiguousarray(words.rows[size], dtype="<u4")))
        for i, bucket in enumerate(words.buckets[size]):
            arrays += [(f"keys{size}.{i}", bucket.keys.astype("<u8")), (f"order{size}.{i}", bucket.order.astype("<i8"))]
    for size in sorted(words.keys):
        arrays.append((f"codes{size}", words.keys[size].astype("<u8")))
    name = f"words-{key}.arr"
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as out:
            arrayfile.write(out, MAGIC, {"key": key}, arrays)
            out.flush()
            os.fsync(out.fileno())  # on the disk before its name: a power cut leaves no torn file
        os.replace(tmp, folder / name)
        for old in folder.glob(_PATTERN):
            if old.name != name:
                old.unlink(missing_ok=True)
    except OSError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def write_for(folder: Path, reader: Any) -> None:
    """Write the words of ``reader``'s segments into ``folder``, unless they are there already
    (a run that changed only what the index remembers of its inputs), or when it holds
    no segment (every document skipped: no words)."""
    ids = segment_ids(reader)
    if not ids:
        return
    key = _key(ids)
    if load(folder, key) is None:
        save(folder, key, build(lambda field, nbytes: lexicon_parts(reader, field, nbytes)))


def load(folder: Path, key: str) -> Words | None:
    """The words written for the segments ``key`` names, memory-mapped (a look-up reads a
    few pages), or None (no such file, or one cut short or garbled)."""
    try:
        header, found, _ = arrayfile.read(folder / f"words-{key}.arr", MAGIC, "the index's words")
        if header.get("key") != key:
            return None
        rows = {int(n[4:]): a for n, a in found.items() if n.startswith("rows")}
        return Words(rows, {s: [Bucketed(found[f"keys{s}.{i}"], found[f"order{s}.{i}"]) for i in range(s)]
                            for s in rows},
                     {int(n[5:]): a for n, a in found.items() if n.startswith("codes")})
    except (OSError, ValueError, KeyError):
        return None
