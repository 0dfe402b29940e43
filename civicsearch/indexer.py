"""Index documents: read → clean → extract metadata → analyse → write, one commit a run.

A run holds the index's writer lock. Files whose size and mtime match the
manifest of the last run are not read at all; a changed file is read, and only
records whose raw bytes changed are cleaned and analysed again. Documents that
came from the run's roots and are gone now are deleted. A full rebuild writes a
new generation and switches to it atomically (see :mod:`civicsearch.store`); on a
big corpus its documents are cleaned, analysed and written by one worker process
per core (:mod:`civicsearch.parallel`).
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable

from whoosh.codec.whoosh3 import W3Codec

from civicsearch import parallel, store
from civicsearch.fingerprint import sketch
from civicsearch.documents import Document, build_document
from civicsearch.normalize import fold
from civicsearch.places import gazetteer, level_of, short_forms
from civicsearch.readers import (DEFAULT_MAX_BYTES, KnownRecord, RawRecord, Skipped, iter_files, load_bytes,
                                 parse_bytes)
from civicsearch.results import IndexReport, SkippedInput
from civicsearch.segment import get_segmenter
from civicsearch.writer import CivicWriter

#: Called as progress(files_done, files_total, current_path).
Progress = Callable[[int, int, str], None]
#: Below this much input one process is done in seconds: no writer processes.
PARALLEL_MIN_BYTES = 1_000_000
#: Memory (MB) a writer's posting pool may take before it sorts runs out to disk.
WRITER_MB = 256
#: A parallel build's worker starts a new segment when its pool reaches this many
#: bytes: it bounds the workers' memory, and fewer segments answer queries faster.
SEGMENT_BYTES = 320 * 1024 * 1024
CRASH_ENV = "CIVICSEARCH_CRASH_AT"


def checkpoint(name: str) -> None:
    """Die here with SIGKILL when ``$CIVICSEARCH_CRASH_AT`` names this point.

    The crash-safety tests kill real reindex processes at each named point.
    """
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def place_terms(doc: Document) -> list[str]:
    """Filter terms for a document's place: every level's code, name and short forms.

    So ``--place 上海``, ``上海市``, ``31``, ``嘉定``, ``嘉定区`` and ``310114`` all match a
    document from 310114004 嘉定镇街道.
    """
    if doc.place is not None:
        terms = []
        for code, name in doc.place.chain:
            terms += [code, name] + short_forms(name, level_of(code))
        terms += gazetteer().aliases_of(doc.place)
    elif doc.place_hint:
        terms = [doc.place_hint]
    else:
        return []
    return list(dict.fromkeys(fold(t.strip()).replace(",", " ") for t in terms))


def place_facet_value(doc: Document) -> bytes:
    """``31:上海市|310114:嘉定区|310114004:嘉定镇街道``: the facet column needs no gazetteer."""
    chain = doc.place.chain if doc.place is not None else ((doc.place_hint or "", doc.place_hint or ""),)
    return "|".join(f"{code}:{name}" for code, name in chain).encode()


def to_fields(doc: Document, raw_hash: str) -> dict[str, Any]:
    """The Whoosh field values for one document."""
    fields: dict[str, Any] = {
        "id": doc.doc_id,
        "path": doc.path,
        "title": doc.title,
        "body": doc.body,
        "hash": raw_hash,
        "info": {
            "date_precision": doc.date_precision,
            "date_source": doc.date_source,
            "source": doc.source,
            "url": doc.url,
            "meta": doc.meta,
            "line": doc.line,
            "place": doc.place_label,
            "place_code": doc.place.code if doc.place else None,
            "topics": doc.topics,
            "doc_type": doc.doc_type,
            "docnos": doc.docnos,
        },
    }
    if doc.original != doc.body:
        fields["original"] = doc.original
    if doc.date is not None:
        fields["date"] = doc.date
        fields["datekey"] = datekey(doc)
    if doc.place_label:
        fields["place"] = ",".join(place_terms(doc))
        fields["place_facet"] = place_facet_value(doc)
    if doc.topics:
        fields["topic"] = ",".join(t.replace(",", " ") for t in doc.topics)
        fields["topic_facet"] = "\x1f".join(doc.topics).encode()
    if doc.doc_type:
        fields["doctype"] = doc.doc_type
        fields["doctype_facet"] = doc.doc_type.encode()
    if doc.docnos:
        fields["docno"] = ",".join(doc.docnos)
    if doc.source:
        fields["source"] = doc.source
    fingerprint = sketch(doc.body)
    if fingerprint:
        fields["sketch"] = fingerprint
    return fields


def prepare(rec: RawRecord) -> dict[str, Any]:
    """Clean a record, extract its metadata and give its Whoosh field values."""
    return to_fields(build_document(rec), rec.raw_hash)


def datekey(doc: Document) -> int:
    """YYYYMMDDhhmmss with unknown parts zero (2023 at year precision: 20230000000000),
    so the month facet counts only documents whose month is known."""
    assert doc.date is not None
    d = doc.date
    if doc.date_precision == "year":
        return d.year * 10**10
    if doc.date_precision == "month":
        return (d.year * 100 + d.month) * 10**8
    return int(d.strftime("%Y%m%d%H%M%S"))


def _existing(ix: Any) -> dict[str, tuple[str, str]]:
    """id → (raw hash, path) for every live document, read from columns a segment at a time."""
    existing: dict[str, tuple[str, str]] = {}
    with ix.reader() as r:
        if r.doc_count() == 0:
            return existing
        for leaf, _ in r.leaf_readers():
            columns = zip(*(leaf.column_reader(name) for name in ("id", "hash", "path")))
            if leaf.has_deletions():
                columns = (c for n, c in enumerate(columns) if not leaf.is_deleted(n))
            existing.update((doc_id, (raw_hash, path)) for doc_id, raw_hash, path in columns)
    return existing


def _under(path: str, roots: list[Path]) -> bool:
    p = Path(path)
    return any(p == root or root in p.parents for root in roots)


class _Run:
    """The state of one indexing run (one writer, one commit)."""

    def __init__(self, ix: Any, existing: dict[str, tuple[str, str]], manifest: dict[str, list], procs: int,
                 lock_fd: int | None = None) -> None:
        self.ix = ix
        self.existing = existing
        self.by_path: dict[str, list[str]] = defaultdict(list)
        for doc_id, (_, path) in existing.items():
            self.by_path[path].append(doc_id)
        self.old_manifest = manifest
        self.manifest: dict[str, list] = {}
        self.procs = procs  # > 1: a fresh build in worker processes
        self.lock_fd = lock_fd
        self.report = IndexReport()
        self.seen: set[str] = set()
        self.kept_paths: set[str] = set()  # unreadable now: keep what they gave before
        self._writer: Any = None
        self._build: parallel.ParallelBuild | None = None

    @staticmethod
    def _codec() -> W3Codec:
        # Per-block document-length bounds serve only the skipping in Whoosh's own
        # scorer, which civicsearch never runs (rank.py scores whole posting lists);
        # looking up every posting's document length for them cost 12% of a build.
        codec = W3Codec()
        codec.length_stats = False
        return codec

    @property
    def writer(self) -> Any:
        # Opened on first change, so a run with nothing to do never writes.
        # compound=False: Whoosh copies a compound segment's files into memory
        # whenever a reader opens; plain files are opened in place.
        if self._writer is None:
            self._writer = CivicWriter(self.ix, limitmb=WRITER_MB, compound=False, codec=self._codec())
        return self._writer

    @property
    def build(self) -> parallel.ParallelBuild:
        if self._build is None:
            kwargs = dict(compound=False, codec=self._codec())
            self._build = parallel.ParallelBuild(self.ix, self.procs, prepare, kwargs, SEGMENT_BYTES,
                                                 lock_fds=(self.lock_fd,) if self.lock_fd is not None else ())
        return self._build

    def skip(self, item: Skipped) -> None:
        self.report.skipped.append(SkippedInput(item.path, item.reason, item.line))

    def keep_unchanged(self, path: str) -> None:
        ids = self.by_path.get(path, [])
        self.seen.update(ids)
        self.report.unchanged += len(ids)

    def file(self, path: Path, root: Path, max_bytes: int) -> None:
        key = str(path)
        try:
            st = path.stat()
        except OSError as e:
            self.skip(Skipped(key, f"cannot read: {e.strerror or e}"))
            self.kept_paths.add(key)
            return
        old = self.old_manifest.get(key)
        if old and old[0] == st.st_size and old[1] == st.st_mtime_ns and key in self.by_path:
            self.manifest[key] = old
            self.keep_unchanged(key)
            return
        data = load_bytes(path, max_bytes)
        if isinstance(data, Skipped):
            self.skip(data)
            self.kept_paths.add(key)
            return
        digest = hashlib.sha1(data).hexdigest()
        self.manifest[key] = [st.st_size, st.st_mtime_ns, digest]
        if old and old[2] == digest and key in self.by_path:
            self.keep_unchanged(key)  # touched, not changed
            return
        # Lines this path gave before, byte for byte, need no parsing.
        known = {self.existing[doc_id][0]: doc_id for doc_id in self.by_path.get(key, [])}
        for rec in parse_bytes(path, root, data, known):
            if isinstance(rec, Skipped):
                self.skip(rec)
                if rec.line is None:
                    self.kept_paths.add(key)
            else:
                self.record(rec)

    def record(self, rec: RawRecord | KnownRecord) -> None:
        if rec.doc_id in self.seen:
            self.skip(Skipped(rec.path, f"duplicate id {rec.doc_id!r}", rec.line))
            return
        self.seen.add(rec.doc_id)
        old = self.existing.get(rec.doc_id)
        if isinstance(rec, KnownRecord) or (old is not None and old[0] == rec.raw_hash and old[1] == rec.path):
            self.report.unchanged += 1
            return
        if self.procs > 1:
            self.build.add(rec)  # fresh: nothing to update
            self.report.added += 1
            return
        fields = prepare(rec)
        if old is None:
            self.writer.add_document(**fields)
            self.report.added += 1
        else:
            self.writer.update_document(**fields)
            self.report.updated += 1

    def delete_missing(self, roots: list[Path]) -> None:
        for doc_id, (_, path) in self.existing.items():
            if doc_id not in self.seen and path not in self.kept_paths and _under(path, roots):
                self.writer.delete_by_term("id", doc_id)
                self.report.deleted += 1

    def commit(self) -> None:
        if self._writer is not None or self._build is not None:
            checkpoint("before-commit")
            if self._build is not None:
                self._build.commit()
            if self._writer is not None:
                self._writer.commit()
            checkpoint("after-commit")

    def cancel(self) -> None:
        if self._build is not None:
            self._build.cancel()
        if self._writer is not None and not self._writer.is_closed:  # not yet committed
            self._writer.cancel()


def index_paths(
    index_dir: Path,
    paths: Iterable[str | Path],
    *,
    full: bool = False,
    progress: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    procs: int | None = None,
) -> IndexReport:
    """Bring the index at ``index_dir`` in step with ``paths`` (see the module docstring).

    All changes are one commit: a failure or a kill leaves the index as it was.
    Raises :class:`~civicsearch.errors.ReindexRunningError` when another process writes.
    """
    started = time.perf_counter()
    roots = [Path(p).resolve() for p in paths]
    with store.WriterLock(index_dir) as lock:
        store.remove_other_generations(index_dir)  # debris of a crashed full rebuild
        fresh = full or not store.exists(index_dir)
        if fresh:
            gen, ix = store.new_generation(index_dir)
        else:
            ix = store.open_index(index_dir)
            gen = store.current_generation(index_dir)
            assert gen is not None
        meta = store.read_meta(gen)  # a new generation starts with no roots and no manifest

        listed = list(iter_files(roots))
        files = [item for item in listed if not isinstance(item, Skipped)]
        size = sum(f.stat().st_size for f, _ in files if f.exists())
        procs = procs if procs is not None else os.cpu_count() or 1
        if not (fresh and size >= PARALLEL_MIN_BYTES and parallel.available()):
            procs = 1
        if procs > 1:
            # Loaded once, before the worker processes fork, which then share them.
            get_segmenter()
            gazetteer()
        run = _Run(ix, {} if fresh else _existing(ix), {} if fresh else meta.get("files", {}), procs, lock.fd)
        for item in listed:
            if isinstance(item, Skipped):
                run.skip(item)
        try:
            for n, (file, root) in enumerate(files, 1):
                run.file(file, root, max_bytes)
                if progress:
                    progress(n, len(files), str(file))
            checkpoint("after-read")
            run.delete_missing(roots)
            run.commit()
        except BaseException:
            run.cancel()
            raise

        report = run.report
        with ix.reader() as r:
            report.documents = r.doc_count()
        report.seconds = round(time.perf_counter() - started, 3)
        # Files under other roots keep their manifest entries.
        files_meta = {k: v for k, v in meta.get("files", {}).items() if not _under(k, roots)}
        files_meta.update(run.manifest)
        meta.update(
            roots=list(dict.fromkeys(meta.get("roots", []) + [str(r) for r in roots])),
            files=files_meta,
            updated=store.now_iso(),
            last_run=dict(report.to_dict(), finished=store.now_iso(), full=fresh,
                          stale_lock_cleared=lock.stale_pid),
        )
        store.write_meta(gen, meta)
        if fresh:
            checkpoint("before-switch")
            store.switch(index_dir, gen)
            checkpoint("after-switch")
            store.remove_other_generations(index_dir)
    return report
