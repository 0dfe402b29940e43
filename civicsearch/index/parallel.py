"""Write a fresh index's segments in worker processes, one per core.

The parent reads, parses and de-duplicates records (the cheap part, and the part
that keeps the run's bookkeeping) and deals each record to the worker with the
least text so far. Each worker cleans, extracts metadata, analyses and writes its
records into segments of its own; the parent then lists every segment in one
table of contents. Neither jieba nor Whoosh scales with threads, hence processes.

Whoosh's ``MpWriter`` cleans in the parent and pickles every finished document
to its workers through files: the bench corpus took 253 CPU-seconds to build
that way, about 149 this way (with :mod:`civicsearch.index.internals`). Dealing records
by size rather than to whichever worker is free makes the index the same from
one build to the next.

The writers' ``_finalize_segment``, ``_close_segment``, ``_commit_toc`` and
``_finish`` are the steps Whoosh's own ``MpWriter`` commits with.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import queue
import signal
import sys
import threading
import traceback
from typing import Any, Callable, Iterator, NamedTuple, Sequence

from civicsearch.errors import IndexBuildError
from civicsearch.index import gcfreeze
from civicsearch.index.internals import CivicWriter
from civicsearch.ingest.readers import RawRecord, Skipped

#: Records are sent to a worker in batches of about this much text.
BATCH_CHARS = 200_000
#: Batches waiting for each worker: enough that a worker never starves while the
#: parent waits on the other one, few enough to bound the parent's memory.
QUEUE_BATCHES = 16
#: The text a record's fixed costs (fields, metadata, stored values) are worth
#: when balancing the workers.
RECORD_CHARS = 1_000
#: How long the parent waits on a queue before it checks the workers are alive.
POLL_SECONDS = 1.0
#: The runs a worker's segment holds at most: a query pays for every segment it reads,
#: and the merge of a segment's runs for every run it reads (its memory grows with the
#: runs' terms). The whole bench makes four a worker; three times it, about eleven.
SEGMENT_RUNS = 16
#: A worker writes a batch in chunks of text of the segment's bound over this, in
#: characters: 320,000 at the default bound, a whole batch. Pooled, a character costs
#: tens of bytes, so a segment outgrows its bound by under a tenth.
WRITE_CHUNK = 1_000

#: Turns each of a batch of records into an object with ``fields`` (its Whoosh field
#: values) and ``uncleaned``, or a :class:`Skipped` saying why it cannot be indexed.
Prepare = Callable[[list[RawRecord]], list[Any]]


class _Result(NamedTuple):
    """What a worker sends back when it ends: its segments, or the error it failed with."""

    worker: int
    segments: Sequence[Any] = ()
    skipped: Sequence[Skipped] = ()
    uncleaned: int = 0
    error: str | None = None  # the traceback
    errno: int | None = None


class _Written(NamedTuple):
    """What a worker sends after each batch: how many records it has written so far."""

    worker: int
    records: int


#: prctl(2)'s option that signals a process when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when the parent dies, however it dies (SIGKILL
    included): a worker left blocked on a pipe would hold a deleted generation's files."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the worker notices on its next look at the inbox
    if os.getppid() != parent:
        os._exit(1)  # the parent died before the request took effect


def available() -> bool:
    """Whether workers can be forked (so that they share the loaded dictionary and
    gazetteer): not where the platform cannot fork, nor in a process with other
    threads, whose locks a forked child could inherit held."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


class ParallelBuild:
    """Deal records to ``procs`` workers; :meth:`commit` lists their segments in ``ix``.

    ``prepare`` turns a batch of records into Whoosh fields or :class:`Skipped` (it runs
    in the workers); after :meth:`commit`, ``skipped`` lists what the workers skipped
    and ``uncleaned`` counts the documents indexed as read.
    A worker's writer spills its words and bigrams to run files when its pools reach
    ``segment_bytes`` (:mod:`civicsearch.index.runs`); the worker starts a new segment
    when what stays in memory reaches it all the same (the terms, the keyword postings)
    or the segment holds :data:`SEGMENT_RUNS` runs (Whoosh's keyword pool spills only above
    twice that: that path is slower).
    Workers close ``lock_fds`` at once: a lock must die with the parent, not
    outlive it in a worker that has yet to notice.
    """

    def __init__(self, ix: Any, procs: int, prepare: Prepare, writer_kwargs: dict[str, Any],
                 segment_bytes: int, lock_fds: tuple[int, ...] = (),
                 on_written: Callable[[int], None] | None = None) -> None:
        # The parent's writer holds Whoosh's lock and finally writes the table of contents.
        self.writer = CivicWriter(ix, **writer_kwargs)
        context = multiprocessing.get_context("fork")
        self.inboxes = [context.Queue(QUEUE_BATCHES) for _ in range(procs)]
        self.results = context.Queue()
        # Workers are forked before any queue has a feeder thread.
        self.workers = [
            context.Process(target=_work, name=f"civicsearch-writer-{k}", daemon=True,
                            args=(k, os.getpid(), ix, self.inboxes[k], self.results, prepare,
                                  dict(writer_kwargs, _lk=False, limitmb=2 * segment_bytes / 2**20,
                                       spill_bytes=segment_bytes),
                                  segment_bytes, lock_fds))
            for k in range(procs)
        ]
        for worker in self.workers:
            worker.start()
        self.load = [0] * procs
        self.batches: list[list[RawRecord]] = [[] for _ in range(procs)]
        self.batch_chars = [0] * procs
        self.done: dict[int, list[Any]] = {}  # worker → its segments
        self.skipped: list[Skipped] = []
        self.uncleaned = 0
        self.written = [0] * procs
        self.on_written = on_written

    def add(self, record: RawRecord) -> None:
        k = min(range(len(self.load)), key=self.load.__getitem__)
        cost = len(record.text) + RECORD_CHARS
        self.load[k] += cost
        self.batches[k].append(record)
        self.batch_chars[k] += cost
        if self.batch_chars[k] >= BATCH_CHARS:
            self._send(k)

    def _send(self, k: int) -> None:
        batch, self.batches[k], self.batch_chars[k] = self.batches[k], [], 0
        self._put(k, batch)

    def _put(self, k: int, batch: list[RawRecord] | None) -> None:
        while True:
            try:
                self.inboxes[k].put(batch, timeout=POLL_SECONDS)
                return
            except queue.Full:
                self._collect(wait=0)  # the put has waited already: the other worker may be starving

    def _collect(self, wait: float = POLL_SECONDS) -> None:
        """Take the results that have arrived (waiting up to ``wait`` for one); raise if
        a worker failed or died."""
        self._receive(wait)
        ended = [k for k, worker in enumerate(self.workers) if k not in self.done and worker.exitcode is not None]
        if ended:
            # A worker sends its result before it exits: what it sent may have
            # arrived since the last look.
            self._receive(POLL_SECONDS)
        for k in ended:
            if k not in self.done:
                worker = self.workers[k]
                raise IndexBuildError(f"indexing process {worker.name} ended with exit code {worker.exitcode}")

    def _receive(self, wait: float) -> None:
        """Take every result that has arrived, waiting up to ``wait`` for the first only:
        a wait after each would hold the parent while the workers' inboxes run dry
        (their progress reports come more often than the wait)."""
        while len(self.done) < len(self.workers):
            try:
                result: _Result | _Written = self.results.get(block=wait > 0, timeout=wait)
            except queue.Empty:
                return
            wait = 0
            if isinstance(result, _Written):
                self.written[result.worker] = result.records
                if self.on_written is not None:
                    self.on_written(sum(self.written))
                continue
            if result.errno in (errno.ENOSPC, errno.EDQUOT):
                raise OSError(result.errno, os.strerror(result.errno))  # a full disk, not a bug: the caller says which
            if result.error is not None:
                raise IndexBuildError(f"indexing process {self.workers[result.worker].name} failed", result.error)
            self.done[result.worker] = result.segments
            self.skipped += result.skipped
            self.uncleaned += result.uncleaned

    def commit(self) -> None:
        """Wait for the workers and make their segments the index's table of contents."""
        for k in range(len(self.workers)):
            if self.batches[k]:
                self._send(k)
            self._put(k, None)  # the end
        while len(self.done) < len(self.workers):
            self._collect()
        for worker in self.workers:
            worker.join()
        self._close_queues()
        writer = self.writer
        writer.commit_segments([s for k in sorted(self.done) for s in self.done[k]])

    def cancel(self) -> None:
        for worker in self.workers:
            if worker.is_alive():
                worker.kill()
            worker.join()
        for inbox in self.inboxes:
            inbox.cancel_join_thread()  # what a killed worker never read must not keep the parent waiting
        self._close_queues()
        if not self.writer.is_closed:
            self.writer.cancel()

    def _close_queues(self) -> None:
        # Their feeder threads end, so that the process can fork again.
        for q in self.inboxes + [self.results]:
            q.close()
            q.join_thread()


def _next_batch(inbox: Any, parent: int) -> list[RawRecord] | None:
    """The next batch, or None at the end; exits when the parent has died."""
    while os.getppid() == parent:
        try:
            return inbox.get(timeout=POLL_SECONDS)
        except queue.Empty:
            pass
    sys.exit(1)


def _chunks(items: list[tuple[Any, int]], chars: int) -> Iterator[list[Any]]:
    """``items`` (each with its size in characters) in runs of about ``chars`` characters."""
    chunk: list[Any] = []
    size = 0
    for item, n in items:
        chunk.append(item)
        size += n
        if size >= chars:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _work(k: int, parent: int, ix: Any, inbox: Any, results: Any, prepare: Prepare,
          writer_kwargs: dict[str, Any], segment_bytes: int, lock_fds: tuple[int, ...]) -> None:
    _die_with_parent(parent)
    for fd in lock_fds:
        os.close(fd)  # closing a copy of an flock'd descriptor leaves the parent's lock held
    # Ctrl-C reaches the whole process group: the parent cancels, and kills the workers.
    # SIGTERM ends a worker at once (the parent's handler, inherited, would unwind it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    segments = []
    skipped: list[Skipped] = []
    uncleaned = written = 0
    try:
        writer = None
        with gcfreeze.building(own_process=True) as settle:
            while (batch := _next_batch(inbox, parent)) is not None:
                # A batch read a stage at a time, then written so in chunks: each stage's
                # tables stay in the caches (indexer.index_records, CivicWriter.add_documents).
                ready: list[tuple[Any, int]] = []
                for record, prepared in zip(batch, prepare(batch)):
                    settle()
                    if isinstance(prepared, Skipped):
                        skipped.append(prepared)
                        continue
                    uncleaned += prepared.uncleaned
                    ready.append((prepared.fields, len(record.text)))
                for chunk in _chunks(ready, segment_bytes // WRITE_CHUNK):
                    if writer is None:
                        writer = CivicWriter(ix, **writer_kwargs)
                    writer.add_documents(chunk)
                    if writer.pooled_bytes >= segment_bytes or len(writer.arrays.runs) >= SEGMENT_RUNS:
                        segments.append(writer.finalize_segment())
                        writer = None
                written += len(batch)
                results.put(_Written(k, written))
            if writer is not None:
                segments.append(writer.finalize_segment())
    except Exception as e:
        results.put(_Result(k, error=traceback.format_exc(), errno=getattr(e, "errno", None)))
        sys.exit(1)  # after the queue has sent the traceback; SystemExit prints nothing
    results.put(_Result(k, segments, skipped, uncleaned))
