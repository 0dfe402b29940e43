"""A searching process keeps the memory its queries free for the next ones.

A ranking allocates arrays as long as the index has documents (a score, a mask, a
concept's sums: 850 KB each at 106,000 documents), dozens a query. glibc serves an
allocation that large with a fresh ``mmap`` (at first) or from the top of its heap, and
gives the top back to the system once a few MB lie free there: either way the next
array faults its pages in again, a cost that grows with the documents, not with the
postings read. Raising glibc's two thresholds (``mallopt``) keeps freed memory for the
next array. Set once, when the first ranker is made: a build (whose peak memory is
bounded) never searches. ``$MALLOC_MMAP_THRESHOLD_`` or ``$MALLOC_TRIM_THRESHOLD_``
in the environment are the user's choice and are left alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: glibc's ``mallopt`` parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Allocations below this come from the heap (glibc's own ceiling for its sliding threshold).
MMAP_BYTES = 32 * 2**20
#: Free memory at the heap's top kept up to this.
TRIM_BYTES = 128 * 2**20

_set: bool | None = None


def keep_freed() -> bool:
    """Raise the thresholds (once a process); whether they are raised."""
    global _set
    if _set is None:
        _set = _mallopt()
    return _set


def _mallopt() -> bool:
    if not sys.platform.startswith("linux") or any(
            name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # musl's mallopt does nothing and says so (0).
    return mallopt(M_MMAP_THRESHOLD, MMAP_BYTES) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_BYTES) == 1
