"""The ``civicsearch`` command's entry point: what a process does before and after the command.

- A look at the memory limit before the heavy imports. Under an address-space limit
  (``ulimit -v``) too small for numpy, the dictionary and an index, the command would die
  inside an import (a traceback) or inside the Rust segmenter (an abort with a Rust
  backtrace). It says so in one line instead.
- numpy's OpenBLAS gets one thread (unless ``$OPENBLAS_NUM_THREADS`` says otherwise). It
  starts one a core at import, and they spin on cores the command's work could use.
  civicsearch's matrix products are small (a page's cosines, a fingerprint's pairs); the
  embedding model has its own threads (``$OMP_NUM_THREADS``).
- The imports are made with the cyclic collector off, and what they made is set aside
  (:func:`civicsearch.index.gcfreeze.after_startup`).
- A command that only reads and prints (:data:`civicsearch.cli.READING_COMMANDS`) ends the
  process once its output is flushed, without the interpreter's teardown (freeing every
  object, module by module), when no other thread or child process is left.
"""

from __future__ import annotations

import gc
import os
import sys

#: Below this address-space limit a search on a real index cannot be done (numpy, rjieba's
#: dictionary and the index's columns take about that much).
MIN_ADDRESS_SPACE = 320 * 2**20


def _limit() -> int | None:
    """The process's address-space limit in bytes, or None when there is none."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft


def _alone() -> bool:
    """No thread but this one and no child process left running."""
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return False
    multiprocessing = sys.modules.get("multiprocessing")
    return multiprocessing is None or not multiprocessing.active_children()


def _end(status: int) -> None:
    """End the process now, its output flushed (what could not be written was said already)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def main() -> None:
    limit = _limit()
    if limit is not None and limit < MIN_ADDRESS_SPACE:
        sys.stderr.write(f"Error: this process may use at most {limit // 2**20} MB of memory (ulimit -v); "
                         f"civicsearch needs at least {MIN_ADDRESS_SPACE // 2**20} MB\n")
        sys.exit(2)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    gc.disable()
    try:
        from civicsearch import cli
        from civicsearch.index import gcfreeze
    except MemoryError:
        sys.stderr.write("Error: out of memory while starting: the machine (or this process's limit) has too little\n")
        sys.exit(2)
    finally:
        gc.enable()
    gcfreeze.after_startup()
    try:
        cli.main()
    except SystemExit as e:
        if isinstance(e.code, int) and cli.only_read() and _alone():
            _end(e.code)
        raise
