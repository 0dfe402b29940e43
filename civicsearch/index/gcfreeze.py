"""A build's own data kept out of the cyclic garbage collector's way.

An index build holds millions of small containers (posting pools, their term
tables) until a segment is written, and every full pass of Python's cyclic
collector walks all of them: 9% of a serial build's time went to collections
that found nothing. So while documents are indexed, the objects alive every
:data:`EVERY` documents are frozen (``gc.freeze``): the collector leaves them be,
reference counting still frees them the moment they are dropped, and new objects
are collected as ever. The build's end unfreezes them. A process that froze
objects of its own (a server that forks its workers) is left as it is.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Callable, Iterator

#: Documents between two freezes (a freeze costs next to nothing).
EVERY = 200
#: How many objects :func:`after_startup` set aside (0: it has not run).
_startup = 0


def after_startup() -> None:
    """Set aside what the process's start-up made (modules, functions, tables: alive until it
    ends), so that no collection walks it again, and turn the collector (back) on. The
    command runs it after its imports, which it makes with the collector off: the dozens of
    collections they would set off find nothing to free."""
    global _startup
    gc.freeze()
    _startup = gc.get_freeze_count()
    gc.enable()


@contextmanager
def building(every: int = EVERY, own_process: bool = False) -> Iterator[Callable[[], None]]:
    """Within: call the function given once a document. ``own_process``: a build
    worker's process, whose frozen objects (its parent's, forked) are all the build's."""
    active = gc.isenabled() and (own_process or gc.get_freeze_count() in (0, _startup))
    count = 0

    def document() -> None:
        nonlocal count
        count += 1
        if active and count % every == 0:
            gc.freeze()

    try:
        yield document
    finally:
        if active:
            gc.unfreeze()
