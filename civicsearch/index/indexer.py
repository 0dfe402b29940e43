"""Index documents: read → clean → extract metadata → analyse → write, one commit a run.

A run holds the index's writer lock. Files whose size and mtime match the
manifest of the last run are not read at all; a changed file is read, and only
records whose raw bytes changed are cleaned and analysed again. Documents that
came from the run's roots and are gone now are deleted. A full rebuild writes a
new generation and switches to it atomically (see :mod:`civicsearch.index.store`); on a
big corpus its documents are cleaned, analysed and written by one worker process
per core (:mod:`civicsearch.index.parallel`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol

from civicsearch.errors import (
    DocumentReadError,
    IndexDamagedError,
    IndexWriteError,
    InvalidArgumentError,
    MassDeletionError,
)
from civicsearch.fields import registry
from civicsearch.index import gcfreeze, grampool, parallel, store, wordlist
from civicsearch.index.budget import OverBudget, seconds_for, time_budget
from civicsearch.index.codec import CivicCodec
from civicsearch.index.embeddings import Embeddings
from civicsearch.index.internals import VECTOR_FIELD, CivicWriter
from civicsearch.ingest.documents import Document, build_document
from civicsearch.ingest.fingerprint import sketch
from civicsearch.ingest.places import gazetteer
from civicsearch.ingest.readers import (
    DEFAULT_MAX_BYTES,
    KnownRecord,
    RawRecord,
    Skipped,
    check_roots,
    file_digest,
    format_of,
    iter_files,
    load_bytes,
    path_text,
)
from civicsearch.results import WRITING, IndexReport, SkippedInput
from civicsearch.text.embed import identity
from civicsearch.text.words import get_segmenter

#: Called as progress(files_done, files_total, current_path); during a parallel build's
#: writing, as progress(records_written, records, WRITING).
Progress = Callable[[int, int, str], None]
#: Below this much input one process is done in seconds: no writer processes.
PARALLEL_MIN_BYTES = 1_000_000
#: Memory (MB) a writer's posting pool may take before it sorts runs out to disk.
WRITER_MB = 256
#: A writer spills its words and bigrams to a run file when its pools reach this many
#: bytes (:mod:`civicsearch.index.runs`): it bounds a writer's memory. A parallel build's
#: worker starts a new segment only when what cannot be spilled reaches it, or after
#: ``parallel.SEGMENT_RUNS`` runs: fewer segments answer queries faster.
SEGMENT_BYTES = 320 * 1024 * 1024
#: A run deleting this many documents of a root, and more than this share of them,
#: is refused (as is one deleting all of a root's where no file is left): see
#: ``_Run.delete_missing``.
MASS_DELETION = 100
MASS_DELETION_SHARE = 0.5
CRASH_ENV = "CIVICSEARCH_CRASH_AT"
#: ``$CIVICSEARCH_PAUSE_AT`` names a point where the run writes ``PAUSED`` to stderr and
#: waits a minute: the signal tests stop real runs there.
PAUSE_ENV = "CIVICSEARCH_PAUSE_AT"
KEPT_OUT = store.KEPT_OUT
#: The meta key of the model whose vectors the index keeps (absent or None: no vectors).
SEMANTIC = "semantic"
#: The characters of a document's text that are searched (about 3 MB of Han text).
MAX_INDEXED_CHARS = 1_000_000


def checkpoint(name: str) -> None:
    """Die here with SIGKILL when ``$CIVICSEARCH_CRASH_AT`` names this point (or pause,
    for ``$CIVICSEARCH_PAUSE_AT``).

    The crash-safety and signal tests stop real reindex processes at each named point.
    """
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(PAUSE_ENV) == name:
        os.write(2, b"PAUSED\n")
        time.sleep(60)


def to_fields(doc: Document, raw_hash: str) -> dict[str, Any]:
    """The Whoosh field values for one document: its text, and every metadata field's (civicsearch.fields.registry)."""
    # A document's analysis takes memory in proportion to its text: past MAX_INDEXED_CHARS
    # the text is kept (``show`` gives it whole) but not searched, so that one giant line
    # cannot exhaust a worker's memory and cost the run.
    body = doc.body[:MAX_INDEXED_CHARS]
    fields: dict[str, Any] = {
        "id": doc.doc_id,
        "path": doc.path,
        "title": doc.title,
        "body": body,
        grampool.FIELD: body,  # the bigram field: the writer pools it apart from Whoosh's
        "hash": raw_hash,
        **registry.index_values(registry.extract(doc)),
    }
    if doc.original != body:
        fields["original"] = doc.original
    fingerprint = sketch(doc.body)
    if fingerprint:
        fields["sketch"] = fingerprint
    return fields


@dataclass
class Prepared:
    """A record's Whoosh field values, and whether cleaning was given up for it."""

    fields: dict[str, Any]
    uncleaned: bool = False


#: The run's embeddings when it keeps vectors (set before a parallel build's workers fork).
_EMBEDDINGS: Embeddings | None = None


def _embed(prepared: Prepared) -> None:
    """Add the document's vector (a model that fails on one leaves that one without)."""
    if _EMBEDDINGS is None:
        return
    fields = prepared.fields
    try:
        fields[VECTOR_FIELD] = _EMBEDDINGS.vector(fields.get("title") or "", fields.get("body") or "")
    except Exception:  # noqa: BLE001,S110 - the document goes in; it ranks by its words only
        pass


def index_record(rec: RawRecord) -> Prepared | Skipped:
    """A record cleaned, its metadata read and its Whoosh field values given
    (:func:`build_document`, :func:`to_fields`) behind the document boundary: whatever
    goes wrong with one record, foreseen or not, or a record that takes longer than its
    time budget, becomes a :class:`Skipped` naming it, and the run goes on. Its vector,
    where the run keeps vectors, is made outside the budget (the model's time is not the
    text's)."""
    return index_records([rec])[0]


def index_records(recs: list[RawRecord]) -> list[Prepared | Skipped]:
    """:func:`index_record` for each of ``recs``, a stage at a time: every record's
    document (:func:`build_document`), then every document's fields (:func:`to_fields`),
    then their vectors, so that each stage's tables stay in the processor's caches (a
    parallel worker's batch). Each record keeps its own boundary, and one budget for both
    its stages."""
    budgets = [seconds_for(len(rec.text)) for rec in recs]
    docs = []
    for rec, budget in zip(recs, budgets):
        started = time.monotonic()
        doc = _bounded(rec, budget, budget, build_document, rec)
        docs.append((doc, budget - (time.monotonic() - started)))
    out: list[Prepared | Skipped] = []
    for rec, budget, (doc, left) in zip(recs, budgets, docs):
        fields = doc if isinstance(doc, Skipped) else _bounded(rec, budget, left, to_fields, doc, rec.raw_hash)
        out.append(fields if isinstance(fields, Skipped) else Prepared(fields, doc.uncleaned))
    for prepared in out:
        if isinstance(prepared, Prepared):
            _embed(prepared)
    return out


def _bounded(rec: RawRecord, budget: float, seconds: float, work: Callable[..., Any], *args: Any) -> Any:
    """``work(*args)`` for ``rec`` behind the document boundary, given what is ``seconds``
    left of its ``budget``; a :class:`Skipped` when anything goes wrong."""
    try:
        if seconds <= 0:
            raise OverBudget(f"took longer than {budget:.0f} s")
        with time_budget(seconds):
            return work(*args)
    except DocumentReadError as e:
        return Skipped(rec.path, e.reason, rec.line)
    except OverBudget:
        return Skipped(rec.path, f"took longer than its {budget:.0f} s budget to clean and read", rec.line)
    except Exception as e:  # noqa: BLE001 - the boundary: one bad document never costs the others
        return Skipped(rec.path, f"cannot index ({type(e).__name__}: {e})"[:300], rec.line)


class Sink(Protocol):
    """Where a run's changes go when the index is not on this machine (a search cluster).

    The run reads, cleans and checks as for the local index, and hands the sink each
    document's index field values (:func:`to_fields`; ``replace``: it held the document
    before) and each deletion; ``commit`` sends what is pending and gives back, by id, why
    each document it could not write was refused (what was there before stays).
    """

    def add(self, fields: dict[str, Any], replace: bool) -> None: ...

    def delete(self, doc_id: str) -> None: ...

    def commit(self) -> dict[str, str]: ...

    def cancel(self) -> None: ...


def _existing(ix: Any) -> dict[str, tuple[str, str]]:
    """id → (raw hash, path) for every live document, read from columns a segment at a time.

    Raises :class:`IndexDamagedError` when the columns do not account for every
    document: the run would add them all again.
    """
    existing: dict[str, tuple[str, str]] = {}
    with ix.reader() as r:
        count = r.doc_count()
        if count == 0:
            return existing
        for leaf, _ in r.leaf_readers():
            columns = zip(*(leaf.column_reader(name) for name in ("id", "hash", "path")))
            if leaf.has_deletions():
                columns = (c for n, c in enumerate(columns) if not leaf.is_deleted(n))
            existing.update((doc_id, (raw_hash, path)) for doc_id, raw_hash, path in columns)
    if len(existing) != count or "" in existing:
        raise store.damaged(Path(ix.storage.folder).parent,
                            f"its id column accounts for {len(existing)} of its {count} documents")
    return existing


def _under(path: str, roots: list[Path]) -> bool:
    p = Path(path)
    return any(p == root or root in p.parents for root in roots)


class _Run:
    """The state of one indexing run (one writer, one commit)."""

    def __init__(self, ix: Any, existing: dict[str, tuple[str, str]], manifest: dict[str, list], procs: int,
                 lock_fd: int | None = None, sink: Sink | None = None) -> None:
        self.ix = ix
        #: Where changes go instead of the local index's writer (one process then).
        self.sink = sink
        #: (path, line, replaced) of each document handed to the sink, by id.
        self._sent: dict[str, tuple[str, int | None, bool]] = {}
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
        self.unchanged_paths: set[str] = set()  # not read again: what they skipped before still stands
        #: (id, path, line) of each record dealt to a worker: changed unless the worker skips it.
        self._dealt: list[tuple[str, str, int | None]] = []
        self._writer: Any = None
        self._build: parallel.ParallelBuild | None = None
        #: Called once a document (``gcfreeze.building``: the build's data kept from the collector).
        self.settle: Callable[[], None] = lambda: None
        #: Called with how many records the workers of a parallel build have written.
        self.on_written: Callable[[int], None] | None = None

    @property
    def writer(self) -> Any:
        # Opened on first change, so a run with nothing to do never writes.
        # compound=False: Whoosh copies a compound segment's files into memory
        # whenever a reader opens; plain files are opened in place.
        if self._writer is None:
            # keep_files: a search opening the old table of contents must still find it.
            self._writer = CivicWriter(self.ix, limitmb=WRITER_MB, compound=False, codec=CivicCodec(),
                                       keep_files=True, spill_bytes=SEGMENT_BYTES)
        return self._writer

    @property
    def build(self) -> parallel.ParallelBuild:
        if self._build is None:
            kwargs = dict(compound=False, codec=CivicCodec())
            self._build = parallel.ParallelBuild(self.ix, self.procs, index_records, kwargs, SEGMENT_BYTES,
                                                 lock_fds=(self.lock_fd,) if self.lock_fd is not None else (),
                                                 on_written=self.on_written)
        return self._build

    def skip(self, item: Skipped) -> None:
        self.report.skipped.append(SkippedInput(item.path, item.reason, item.line))
        if item.keep:
            # Not readable this time (a file, a folder, the rest of a file): keep
            # what it gave before.
            self.kept_paths.add(item.path)

    def keep_unchanged(self, path: str) -> None:
        self.unchanged_paths.add(path)
        ids = self.by_path.get(path, [])
        self.seen.update(ids)
        self.report.unchanged += len(ids)

    def file(self, path: Path, root: Path, max_bytes: int) -> None:
        key = path_text(path)
        try:
            st = path.stat()
        except OSError as e:
            self.skip(Skipped(key, f"cannot read: {e.strerror or e}", keep=True))
            return
        old = self.old_manifest.get(key)
        if old and old[0] == st.st_size and old[1] == st.st_mtime_ns and key in self.by_path:
            self.manifest[key] = old
            self.keep_unchanged(key)
            return
        records: Iterator[RawRecord | KnownRecord | Skipped]
        fmt = format_of(path)
        if fmt is None:
            self.skip(Skipped(key, "no input format reads this file name", keep=True))
            return
        if fmt.stream is not None:
            # A crawl dump of any size: hashed, then read, as streams.
            # Read as it is now: a dump appended to meanwhile is not followed past this size.
            digest = file_digest(path, st.st_size)
            if isinstance(digest, Skipped):
                self.skip(digest)
                return
            # Lines this path gave before, byte for byte, need no parsing.
            known = {self.existing[doc_id][0]: doc_id for doc_id in self.by_path.get(key, [])}
            records = fmt.stream(path, max_bytes, known, st.st_size)
        else:
            data = load_bytes(path, max_bytes)
            if isinstance(data, Skipped):
                self.skip(data)
                return
            digest = hashlib.sha1(data).hexdigest()
            records = fmt.parse(path, root, data)  # type: ignore[misc]
        self.manifest[key] = [st.st_size, st.st_mtime_ns, digest]
        if old and old[2] == digest and key in self.by_path:
            self.keep_unchanged(key)  # touched, not changed
            return
        while True:
            try:
                rec = next(records)
            except StopIteration:
                break
            except Exception as e:  # noqa: BLE001 - a reader failure nobody foresaw costs this file only
                self.skip(Skipped(key, f"cannot read ({type(e).__name__}: {e})"[:300], keep=True))
                break
            if isinstance(rec, Skipped):
                self.skip(rec)
            else:
                self.record(rec)

    def record(self, rec: RawRecord | KnownRecord) -> None:
        self.settle()
        if rec.doc_id in self.seen:
            self.skip(Skipped(rec.path, f"duplicate id {rec.doc_id!r}", rec.line))
            return
        # Seen even if it fails below: the version indexed before is kept.
        self.seen.add(rec.doc_id)
        old = self.existing.get(rec.doc_id)
        if isinstance(rec, KnownRecord) or (old is not None and old[0] == rec.raw_hash and old[1] == rec.path):
            self.report.unchanged += 1
            return
        if self.procs > 1:
            self.build.add(rec)  # fresh: nothing to update; the worker reports what it skips
            self.report.added += 1
            self._dealt.append((rec.doc_id, rec.path, rec.line))
            return
        prepared = index_record(rec)
        if isinstance(prepared, Skipped):
            self.skip(prepared)
            return
        self.report.uncleaned += prepared.uncleaned
        self.report.changed_ids.append(rec.doc_id)
        if self.sink is not None:
            self.sink.add(prepared.fields, replace=old is not None)
            self._sent[rec.doc_id] = (rec.path, rec.line, old is not None)
            if old is None:
                self.report.added += 1
            else:
                self.report.updated += 1
        elif old is None:
            self.writer.add_document(**prepared.fields)
            self.report.added += 1
        else:
            self.writer.update_document(**prepared.fields)
            self.report.updated += 1

    def delete_missing(self, roots: list[Path], found: list[Path], allow_deletes: bool = False) -> None:
        """Delete the documents of ``roots`` this run did not see. Unless ``allow_deletes``,
        refuse (:class:`MassDeletionError`) when a root where no file was ``found`` held
        some, or when most of many would go: an unmounted disk leaves its mount point an
        empty folder."""
        kept = [Path(p) for p in self.kept_paths]
        gone = []
        for root in roots:
            held = [(doc_id, path) for path, ids in self.by_path.items() if _under(path, [root]) for doc_id in ids]
            missing = [doc_id for doc_id, path in held if doc_id not in self.seen and not _under(path, kept)]
            empty = not any(f == root or root in f.parents for f in found)
            if not allow_deletes and missing and ((empty and len(missing) == len(held)) or (
                    len(missing) >= MASS_DELETION and len(missing) > MASS_DELETION_SHARE * len(held))):
                what = "none" if len(missing) == len(held) else f"only {len(held) - len(missing):,}"
                raise MassDeletionError(
                    f"corpus root {path_text(root)} gave {what} of the {len(held):,} documents indexed from it "
                    "(an unmounted disk or an emptied folder?): nothing was changed; if they are gone for good, "
                    "run again with --allow-deletes")
            gone += missing
        for doc_id in dict.fromkeys(gone):  # roots may nest
            if self.sink is not None:
                self.sink.delete(doc_id)
            else:
                self.writer.delete_by_term("id", doc_id)
            self.report.deleted += 1

    def _sink_commit(self) -> None:
        """Send what is pending; a document the sink refused is reported, and its file read
        again by the next run (its manifest entry dropped)."""
        checkpoint("before-commit")
        failed = self.sink.commit()  # type: ignore[union-attr]
        for doc_id, reason in failed.items():
            if doc_id not in self._sent:
                continue  # a deletion that failed: the document stays, and goes next run
            path, line, replaced = self._sent[doc_id]
            self.skip(Skipped(path, reason, line))
            self.manifest.pop(path, None)
            if replaced:
                self.report.updated -= 1
            else:
                self.report.added -= 1
        if failed:
            self.report.changed_ids = [i for i in self.report.changed_ids if i not in failed]
            self.report.deleted -= sum(1 for i in failed if i not in self._sent)
        checkpoint("after-commit")

    def commit(self) -> None:
        if self.sink is not None:
            self._sink_commit()
            return
        if self._writer is not None or self._build is not None:
            checkpoint("before-commit")
            if self._build is not None:
                self._build.commit()
                for item in self._build.skipped:
                    self.skip(item)
                failed = {(s.path, s.line) for s in self._build.skipped}
                self.report.changed_ids += [i for i, path, line in self._dealt if (path, line) not in failed]
                self.report.added -= len(self._build.skipped)
                self.report.uncleaned += self._build.uncleaned
            if self._writer is not None:
                self._writer.commit()
                store.remove_unused_files(self.ix)
            checkpoint("after-commit")

    def cancel(self) -> None:
        """Undo what is not committed. Its own failures (a full disk again) are
        swallowed: the error that made the run fail is the one to report."""
        steps = [self.sink.cancel] if self.sink is not None else []
        if self._build is not None:
            steps.append(self._build.cancel)
        if self._writer is not None and not self._writer.is_closed:  # not yet committed
            steps.append(self._writer.cancel)
        for step in steps:
            try:
                step()
            except Exception:  # noqa: BLE001,S110 - see the docstring
                pass


def _mount_point(path: Path) -> Path:
    path = path.resolve()
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def _write_error(e: OSError, index_dir: Path) -> IndexWriteError:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return IndexWriteError(f"no space left on the disk of {index_dir} (mounted at {_mount_point(index_dir)}): "
                               "the index was left as it was")
    return IndexWriteError(f"cannot write the index at {index_dir}: {e.strerror or e} "
                           f"({path_text(e.filename or index_dir)}); the index was left as it was")


def index_paths(
    index_dir: Path,
    paths: Iterable[str | Path],
    *,
    full: bool = False,
    progress: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    procs: int | None = None,
    allow_deletes: bool = False,
    semantic: bool | None = None,
) -> IndexReport:
    """Bring the index at ``index_dir`` in step with ``paths`` (see the module docstring).

    ``semantic``: keep every document's embedding (:mod:`civicsearch.index.embeddings`);
    None keeps what the index was built with. Turning it on or off takes a full build.

    All changes are one commit: a failure or a kill leaves the index as it was.
    Raises :class:`~civicsearch.errors.ReindexRunningError` when another process
    writes, :class:`~civicsearch.errors.CorpusRootError` when a root cannot be seen
    (nothing is deleted then), :class:`~civicsearch.errors.MassDeletionError` when the run
    would delete every document of a root or most of many (unless ``allow_deletes``),
    :class:`~civicsearch.errors.IndexDamagedError` for a
    damaged index (``full=True`` rebuilds it) and
    :class:`~civicsearch.errors.IndexWriteError` when the disk is full.
    """
    started = time.perf_counter()
    roots = check_roots(paths)
    try:
        with store.WriterLock(index_dir) as lock:
            return _index_locked(index_dir, roots, lock, full, progress, max_bytes, procs, started, allow_deletes,
                                 semantic)
    except OSError as e:
        raise _write_error(e, index_dir) from None


def _vectors_model(index_dir: Path, live: Path | None, fresh: bool, semantic: bool | None) -> str | None:
    """The model a run embeds with (None: the index keeps no vectors): ``semantic`` for a
    fresh build, else what the index was built with; turning vectors on or off, or another
    model, takes a full build."""
    remembered = None
    if live is not None:
        try:
            remembered = store.read_meta(live).get(SEMANTIC)
        except IndexDamagedError:
            if not fresh:
                raise
    wanted = bool(remembered) if semantic is None else semantic
    if not fresh and wanted != bool(remembered):
        what = "keep" if wanted else "drop"
        raise InvalidArgumentError(
            f"the index at {index_dir} was built {'with' if remembered else 'without'} vectors: to {what} them, "
            "rebuild it", remedy=f"SearchEngine(...).index(paths, full=True, semantic={wanted})",
            cli_remedy=f"run `civicsearch --index {index_dir} index --full {'--semantic' if wanted else '--no-semantic'}`")
    if not wanted:
        return None
    model = identity()
    if not fresh and remembered != model:
        raise store.model_changed(index_dir, remembered, model)
    return model


def _index_locked(index_dir: Path, roots: list[Path], lock: store.WriterLock, full: bool,
                  progress: Progress | None, max_bytes: int, procs: int | None, started: float,
                  allow_deletes: bool = False, semantic: bool | None = None) -> IndexReport:
    global _EMBEDDINGS
    live = store.current_generation(index_dir, damaged_ok=full)
    if live is not None or not full:
        store.remove_other_generations(index_dir)  # debris of a crashed full rebuild
    fresh = full or live is None
    model = _vectors_model(index_dir, live, fresh, semantic)
    if live is None:
        # Remembered before anything is built: a first build that dies must not
        # leave the nightly job without its roots.
        store.remember_pending_roots(index_dir, [str(r) for r in roots])
    if fresh:
        gen, ix = store.new_generation(index_dir)
    else:
        assert live is not None
        ix = store.open_index(index_dir)
        store.remove_unused_files(ix)  # left by a run that was killed, or while searches read
        gen = live
    # A full rebuild starts a new generation: what was kept out before, and since when, comes along.
    previous = None
    if fresh and live is not None:
        try:
            previous = store.read_meta(live).get(KEPT_OUT, [])
        except IndexDamagedError:
            previous = []  # the rebuild repairs it; what it kept out is read again

    # A full rebuild reuses the vectors of the index it replaces (the same model's).
    embeddings = _EMBEDDINGS = Embeddings(index_dir, previous=live if fresh else None) \
        if model is not None else None
    try:
        report = _run(index_dir, gen, ix, roots, lock, fresh, progress, max_bytes, procs, started, allow_deletes,
                      previous, model)
        if embeddings is not None:
            embeddings.clear()  # committed: the vectors are in the index
        return report
    except BaseException:
        # Nothing a failed run wrote stays behind (on a full disk, least of all).
        if fresh and store.current_generation_name(index_dir) != gen.name:
            shutil.rmtree(gen, ignore_errors=True)
        elif not fresh:
            try:
                store.remove_unused_files(ix)
            except OSError:
                pass
        raise
    finally:
        if embeddings is not None:
            embeddings.close()
        _EMBEDDINGS = None


def kept_out(previous: list[dict[str, Any]], run_skipped: list[SkippedInput], roots: list[Path],
             unchanged: set[str], now: str) -> list[dict[str, Any]]:
    """Every input kept out of the index after a run, and since when: what this run
    skipped, and what earlier runs skipped in files it did not read again (or under other
    roots). A file read again, fixed or gone drops its earlier entries; an entry seen
    again keeps its first ``since``."""
    since = {(e["path"], e.get("line"), e["reason"]): e["since"] for e in previous}
    out = {(e["path"], e.get("line"), e["reason"]): e for e in previous
           if e["path"] in unchanged or not _under(e["path"], roots)}
    for s in run_skipped:
        key = (s.path, s.line, s.reason)
        out.setdefault(key, {"path": s.path, "line": s.line, "reason": s.reason, "since": since.get(key, now)})
    return sorted(out.values(), key=lambda e: (e["path"], e.get("line") or 0, e["reason"]))


def _listing(roots: list[Path]) -> tuple[list[Any], list[tuple[Path, Path]], int]:
    """Every file under ``roots`` (and what cannot be listed), the readable ones, their size."""
    listed = list(iter_files(roots))
    files = [item for item in listed if not isinstance(item, Skipped)]
    size = 0
    for f, _ in files:
        try:
            size += f.stat().st_size
        except OSError:
            pass  # reported when it is read
    return listed, files, size


def _read_all(run: _Run, listed: list[Any], files: list[tuple[Path, Path]], roots: list[Path],
              progress: Progress | None, max_bytes: int, allow_deletes: bool) -> None:
    """Read every file into the run, delete what is gone, commit (or undo it all)."""
    for item in listed:
        if isinstance(item, Skipped):
            run.skip(item)
    try:
        with gcfreeze.building() as settle:
            run.settle = settle
            for n, (file, root) in enumerate(files, 1):
                run.file(file, root, max_bytes)
                if progress:
                    progress(n, len(files), path_text(file))
            checkpoint("after-read")
            if progress and run._build is not None:
                # The files are read; the workers write on: their records are the count now.
                run.on_written = run._build.on_written = lambda done: progress(done, run.report.added, WRITING)
            run.delete_missing(roots, [f for f, _ in files], allow_deletes)
            run.commit()
    except BaseException:
        run.cancel()
        raise


def _settle(meta: dict[str, Any], run: _Run, roots: list[Path], previous: list[dict[str, Any]] | None,
            started: float, fresh: bool, stale_pid: Any) -> bool:
    """Put the run's outcome in its report and ``meta`` (roots, manifest, what is kept out, the
    last run); whether anything changed that must be written."""
    report = run.report
    now = store.now_iso()
    ledger = kept_out(meta.get(KEPT_OUT, []) if previous is None else previous, report.skipped, roots,
                      run.unchanged_paths, now)
    # The report lists every input kept out of the index, not only what this run read.
    report.skipped = [SkippedInput(e["path"], e["reason"], e.get("line"), e["since"]) for e in ledger]
    report.seconds = round(time.perf_counter() - started, 3)
    # Files under other roots keep their manifest entries.
    files_meta = {k: v for k, v in meta.get("files", {}).items() if not _under(k, roots)}
    files_meta.update(run.manifest)
    remembered = list(dict.fromkeys(meta.get("roots", []) + [str(r) for r in roots]))
    changed = fresh or stale_pid or report.added or report.updated or report.deleted or (
        files_meta, ledger, remembered) != (meta.get("files", {}), meta.get(KEPT_OUT, []), meta.get("roots", []))
    if not changed:
        return False  # a run with nothing to do writes nothing
    meta.update(
        roots=remembered,
        files=files_meta,
        updated=now,
        last_run=dict(report.to_dict(), finished=now, full=fresh, stale_lock_cleared=stale_pid),
    )
    meta[KEPT_OUT] = ledger
    return True


def sync(sink: Sink, existing: dict[str, tuple[str, str]], meta: dict[str, Any], roots: list[Path],
         lock: store.WriterLock | None, *, fresh: bool, progress: Progress | None = None,
         max_bytes: int = DEFAULT_MAX_BYTES, allow_deletes: bool = False,
         started: float | None = None) -> tuple[IndexReport, bool]:
    """One run into ``sink`` (an index elsewhere), under the caller's writer ``lock`` (None: a dry run):
    ``existing`` is what the index holds (id → (raw hash, path)) and ``meta`` the state of
    the last run (roots, manifest, what is kept out), updated in place. The same reading,
    skipping, manifest and mass-deletion guard as a local run. Gives the report, and whether
    ``meta`` changed (to be saved once the sink's changes are visible)."""
    started = time.perf_counter() if started is None else started
    listed, files, _ = _listing(roots)
    run = _Run(None, {} if fresh else existing, {} if fresh else meta.get("files", {}), 1,
               lock.fd if lock is not None else None, sink=sink)
    _read_all(run, listed, files, roots, progress, max_bytes, allow_deletes)
    run.report.documents = (0 if fresh else len(existing)) + run.report.added - run.report.deleted
    previous = meta.get(KEPT_OUT, []) if fresh else None
    changed = _settle(meta, run, roots, previous, started, fresh, lock.stale_pid if lock is not None else None)
    return run.report, changed


def _run(index_dir: Path, gen: Path, ix: Any, roots: list[Path], lock: store.WriterLock, fresh: bool,
         progress: Progress | None, max_bytes: int, procs: int | None, started: float,
         allow_deletes: bool = False, previous: list[dict[str, Any]] | None = None,
         model: str | None = None) -> IndexReport:
    meta = store.read_meta(gen)  # a new generation starts with no roots and no manifest
    if fresh:
        meta[SEMANTIC] = model
    listed, files, size = _listing(roots)
    get_segmenter().load()  # a build cuts millions of characters: rjieba's own dictionary
    procs = procs if procs is not None else os.cpu_count() or 1
    if not (fresh and size >= PARALLEL_MIN_BYTES and parallel.available()):
        procs = 1
    if procs > 1:
        # Loaded once, before the worker processes fork, which then share them (each worker
        # loads its own embedding model: its threads do not survive a fork). The place-name
        # automaton takes 0.14 s to build.
        gazetteer().automaton
        if _EMBEDDINGS is not None:
            _EMBEDDINGS.load()
    run = _Run(ix, {} if fresh else _existing(ix), {} if fresh else meta.get("files", {}), procs, lock.fd)
    _read_all(run, listed, files, roots, progress, max_bytes, allow_deletes)
    with ix.reader() as r:
        run.report.documents = r.doc_count()
        if not _settle(meta, run, roots, previous, started, fresh, lock.stale_pid):
            return run.report
        # The did-you-mean's words, read from the term tables once here, not in every search process.
        wordlist.write_for(gen, r)
    store.write_meta(gen, meta)
    if fresh:
        checkpoint("before-switch")
        store.switch(index_dir, gen)
        checkpoint("after-switch")
        store.forget_pending_roots(index_dir)
        store.remove_other_generations(index_dir)
    return run.report
