"""A segment's postings spilled to disk in runs, and their merge into the segment's one file.

A segment writer pools its documents' words and bigrams in memory
(:mod:`~civicsearch.index.wordpool`, :mod:`~civicsearch.index.grampool`). When the
pool reaches its bound, it spills: the posting lists of the documents since the
last spill, by term code, go to a run file beside the segment's own
(``<segment>.run<k>``), with the starts of their word positions; the pool empties
and keeps its term codes, so that every run of a segment codes a term alike. When
the segment is written, its posting arrays file (:mod:`~civicsearch.index.postarrays`)
is written from the runs a slice of terms at a time, and the runs are removed.

So a segment can hold many times what its pool holds, and a build of any size keeps
a few segments: a query pays for every segment it reads (each one's term tables and
its share of the work a posting list costs). The file the merge writes is byte for
byte the one the pool would have written had it held every document at once
(``tests/test_runs.py``). Run files are the segment's (Whoosh's pattern): a build that
dies leaves them to the next commit's clean-up, like the rest of its segment.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable

import numpy as np

from civicsearch.index import arrayfile, postarrays, radix
from civicsearch.index.postarrays import Coded, Escaped, Vectors, WordStarts

MAGIC = b"CSRUN01\n"
#: Postings (and, apart, word positions) gathered at a time by the merge: bounds its memory.
SLICE_POSTINGS = 1 << 21


@dataclass
class Spilled:
    """One field's postings of a run, by term code: ``codes`` (ascending) hold the
    postings ``starts[i]:starts[i + 1]`` of ``docnums`` and ``weights`` (counts); a
    positioned field's ``words`` hold every occurrence's word position, posting after
    posting (term ``i``'s are ``occurrences[i]:occurrences[i + 1]``), and ``gaps`` with
    ``counts`` where the run's documents' positions start (:meth:`WordStarts.gaps`,
    ``counts`` one a document of the run)."""

    codes: np.ndarray
    starts: np.ndarray
    docnums: np.ndarray
    weights: np.ndarray
    words: np.ndarray | None = None
    occurrences: np.ndarray | None = None
    counts: np.ndarray | None = None
    gaps: Escaped | None = None

    @classmethod
    def of(cls, codes: np.ndarray, starts: np.ndarray, docnums: np.ndarray, weights: np.ndarray,
           rows: np.ndarray | None = None, first_doc: int = 0, doc_count: int = 0) -> "Spilled":
        """A pool's coded postings; for a positioned field, ``rows`` holds each occurrence's
        word position and start character, and the run's documents are ``first_doc`` to
        ``doc_count`` (excluded)."""
        if rows is None:
            return cls(codes, starts, docnums, weights)
        counts, gaps = WordStarts.gaps(docnums, weights, rows, doc_count)
        # Term i's occurrences start where the weights of the postings before it sum to.
        return cls(codes, starts, docnums, weights, np.ascontiguousarray(rows[:, 0]),
                   _cumulative(weights.astype(np.int64))[starts], counts[first_doc:], WordStarts.kept(gaps))


def write_run(out: BinaryIO, first_doc: int, doc_count: int, fields: dict[str, Spilled]) -> None:
    """Write a run of documents ``first_doc`` to ``doc_count`` (excluded): their ``fields``."""
    arrays: list[tuple[str, np.ndarray]] = []
    for name in sorted(fields):
        f = fields[name]
        arrays += [(f"{name}/codes", f.codes.astype("<i8")), (f"{name}/starts", f.starts.astype("<i8")),
                   (f"{name}/docnums", f.docnums.astype("<u4")), (f"{name}/weights", f.weights.astype("<u4"))]
        if f.words is not None:
            assert f.counts is not None and f.gaps is not None
            assert f.occurrences is not None
            arrays += [(f"{name}/words", f.words.astype("<u4")), (f"{name}/occurrences", f.occurrences.astype("<i8")),
                       (f"{name}/counts", f.counts.astype("<i8")),
                       (f"{name}/gaps", f.gaps.main), (f"{name}/at", f.gaps.at.astype("<i8")),
                       (f"{name}/values", f.gaps.values.astype("<u4"))]
    # What the merge's header needs of every posting, counted while they are in memory.
    stats = {name: {"weight_max": int(f.weights.max()) if len(f.weights) else 0,
                    "weights_kept": int(np.count_nonzero(f.weights >= 255)),
                    "word_max": int(f.words.max()) if f.words is not None and len(f.words) else 0}
             for name, f in fields.items()}
    arrayfile.write(out, MAGIC, {"documents": [first_doc, doc_count], "fields": sorted(fields), "stats": stats},
                    arrays)


class Run:
    """A run file, memory-mapped: :attr:`fields` by name, as :class:`Spilled`, and
    :attr:`stats` (each field's largest weight and word position, and its weights of
    255 and more)."""

    def __init__(self, path: str) -> None:
        header, found, self._map = arrayfile.read(path, MAGIC, "a run of postings")
        self.first_doc, self.doc_count = header["documents"]
        self.stats: dict[str, dict[str, int]] = header["stats"]
        self.fields = {}
        for name in header["fields"]:
            positioned = f"{name}/words" in found
            self.fields[name] = Spilled(
                found[f"{name}/codes"], found[f"{name}/starts"], found[f"{name}/docnums"], found[f"{name}/weights"],
                found.get(f"{name}/words"), found.get(f"{name}/occurrences"), found.get(f"{name}/counts"),
                Escaped(found[f"{name}/gaps"], found[f"{name}/at"], found[f"{name}/values"]) if positioned else None)

    def release(self) -> None:
        """Drop the pages read so far from this process (the next read maps them again):
        the runs of a large segment are many times what the merge needs at once."""
        if hasattr(mmap, "MADV_DONTNEED"):  # else the system keeps them as it sees fit
            self._map.madvise(mmap.MADV_DONTNEED)

    def close(self) -> None:
        """Let the file go: the map closes once no array read from it is left."""
        self.fields = {}
        del self._map


def merge(out: BinaryIO, runs: list[Run], names: dict[str, Callable[[np.ndarray], list[bytes]]], doc_count: int,
          lengths: dict[str, np.ndarray], columns: dict[str, Coded], vectors: Vectors | None) -> None:
    """Write the posting arrays file of the documents of ``runs`` (in document order):
    what :func:`postarrays.write` writes for their postings together. ``names`` turns
    each field's term codes into their terms' bytes."""
    fields = sorted(names)
    positioned = {n for n in fields if any(r.fields[n].words is not None for r in runs if n in r.fields)}
    union: dict[str, np.ndarray] = {}
    counts: list[np.ndarray] = []
    pos_counts: list[np.ndarray] = []
    terms: dict[str, list[bytes]] = {}
    for name in fields:
        parts = [r.fields[name] for r in runs if name in r.fields]
        # Each run's codes are sorted: a stable sort merges them (np.unique would sort anew).
        codes = union[name] = radix.union([p.codes for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        n, c = np.zeros(len(codes), dtype=np.int64), np.zeros(len(codes), dtype=np.int64)
        for p in parts:
            at = np.searchsorted(codes, p.codes)
            n[at] += np.diff(p.starts)
            if p.occurrences is not None:
                c[at] += np.diff(p.occurrences)
        counts.append(n)
        pos_counts.append(c)
        terms[name] = names[name](codes)
    sections, order = postarrays.sections_of(fields, terms, positioned)
    del terms
    counts_all, pos_all = np.concatenate(counts), np.concatenate(pos_counts)
    starts_out, pos_starts_out = _cumulative(counts_all[order]), _cumulative(pos_all[order])
    postings, positions = int(starts_out[-1]), int(pos_starts_out[-1])
    fields_of = np.repeat(np.arange(len(fields)), [len(union[n]) for n in fields])
    local = order - np.concatenate([[0], np.cumsum([len(union[n]) for n in fields])])[fields_of[order]]
    stats = [s for r in runs for s in r.stats.values()]
    whole = max((s["weight_max"] for s in stats), default=0) < 2**16
    starts_of = {n: _word_starts([r for r in runs if n in r.fields], n, doc_count) for n in sorted(positioned)}
    for r in runs:
        r.release()
    header = postarrays.header_of(fields, positioned, sections, postings, positions,
                                max((s["word_max"] for s in stats), default=0), whole, doc_count, lengths, columns,
                                vectors, starts_of)
    header["weight_exceptions"] = sum(s["weights_kept"] for s in stats) if whole else 0
    postarrays.write_part(out, postarrays.head_bytes(header))
    for part in postarrays.table_parts(sections, starts_out, pos_starts_out, header["tables"]):
        postarrays.write_part(out, part)
    del sections
    plan = _Plan(runs, fields, union, fields_of[order], local, starts_out, pos_starts_out)
    _stream(out, plan.slices("docnums"), header["docnums"], postings)
    if whole:
        _stream_kept_apart(out, plan.slices("weights"), header["tables"], postings)
    else:
        _stream(out, plan.slices("weights"), header["weights"], postings)
    _stream(out, plan.slices("words"), header["word_positions"], positions)
    for part in postarrays.tail_parts(header, starts_of, lengths, columns, vectors, doc_count):
        postarrays.write_part(out, part)


def _cumulative(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _stream(out: BinaryIO, slices: Any, dtype: str, count: int) -> None:
    """Write one part of the file from its slices (``count`` items of ``dtype`` in all)."""
    for part in slices:
        out.write(memoryview(np.ascontiguousarray(part.astype(dtype))).cast("B"))
    out.write(b"\0" * postarrays.padding(count * np.dtype(dtype).itemsize))


def _stream_kept_apart(out: BinaryIO, slices: Any, index_dtype: str, count: int) -> None:
    """Write frequencies as :func:`postarrays.write` keeps whole ones: a byte each (``count``
    in all, from their slices), then the indexes and values of those that do not fit."""
    at, values, done = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype="<u4")], 0
    for part in slices:
        kept = Escaped.split(part, "<u1", "<i8")
        out.write(memoryview(kept.main).cast("B"))
        at.append(kept.at + done)
        values.append(kept.values)
        done += len(part)
    out.write(b"\0" * postarrays.padding(count))
    postarrays.write_part(out, np.concatenate(at).astype(index_dtype))
    postarrays.write_part(out, np.concatenate(values))


def _word_starts(runs: list[Run], name: str, doc_count: int) -> WordStarts:
    """A positioned field's word starts from each run's (its documents' own, end to end)."""
    counts = np.zeros(doc_count, dtype=np.int64)
    mains, ats, values, entries = [], [], [], 0
    for r in runs:
        f = r.fields[name]
        assert f.counts is not None and f.gaps is not None
        counts[r.first_doc: r.doc_count] = f.counts
        mains.append(f.gaps.main)
        ats.append(f.gaps.at + entries)
        values.append(f.gaps.values)
        entries += len(f.gaps.main)
    kept = Escaped(np.concatenate([np.zeros(0, dtype=np.uint8), *mains]),
                   np.concatenate([np.zeros(0, dtype=np.int64), *ats]),
                   np.concatenate([np.zeros(0, dtype="<u4"), *values]))
    return WordStarts.packing(_cumulative(counts), kept)


class _Plan:
    """The merge's order: the terms of every field, table after table, and each one's
    postings gathered from every run in turn (the runs hold consecutive documents)."""

    def __init__(self, runs: list[Run], fields: list[str], union: dict[str, np.ndarray], field_of: np.ndarray,
                 local: np.ndarray, starts_out: np.ndarray, pos_starts_out: np.ndarray) -> None:
        self.runs, self.fields, self.union = runs, fields, union
        self.field_of, self.local = field_of, local
        self.starts_out, self.pos_starts_out = starts_out, pos_starts_out

    def _cuts(self, starts: np.ndarray) -> list[tuple[int, int]]:
        """Slices of consecutive terms (a field's at a time) of about SLICE_POSTINGS items."""
        cuts = []
        bounds = [*np.flatnonzero(np.diff(self.field_of, prepend=-1)).tolist(), len(self.field_of)]
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            if starts[hi] == starts[lo]:
                continue  # none of the field's terms has any (the bigrams' word positions)
            marks = np.searchsorted(starts, np.arange(int(starts[lo]) + SLICE_POSTINGS, int(starts[hi]),
                                                      SLICE_POSTINGS))
            edges = np.unique(np.concatenate([[lo, hi], np.clip(marks, lo, hi)])).tolist()
            cuts += list(zip(edges[:-1], edges[1:]))
        return cuts

    def slices(self, what: str) -> Any:
        """The postings' ``docnums`` or ``weights``, or the occurrences' ``words``, in table order, a slice at a time."""
        starts = self.pos_starts_out if what == "words" else self.starts_out
        for lo, hi in self._cuts(starts):
            name = self.fields[int(self.field_of[lo])]
            codes = self.union[name][self.local[lo:hi]]
            pieces, sizes = [], []
            for r in self.runs:
                f = r.fields.get(name)
                if f is None:
                    sizes.append(np.zeros(hi - lo, dtype=np.int64))
                    continue
                at = np.searchsorted(f.codes, codes)
                found = at < len(f.codes)
                found[found] = f.codes[at[found]] == codes[found]
                at = at[found]
                bounds = f.occurrences if what == "words" else f.starts
                assert bounds is not None
                first, last = bounds[at], bounds[at + 1]
                source = getattr(f, what)
                size = np.zeros(hi - lo, dtype=np.int64)
                size[found] = last - first
                sizes.append(size)
                pieces.append(source[postarrays.spans(first, last - first)])
                r.release()
            # The pieces run after run; the file wants them term after term, runs in turn.
            matrix = np.stack(sizes, axis=1)  # a row a term, a column a run
            before = np.cumsum(matrix.sum(axis=0)) - matrix.sum(axis=0)
            within = np.cumsum(matrix, axis=0) - matrix
            joined = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint32)
            yield joined[postarrays.spans((within + before).reshape(-1), matrix.reshape(-1))]
