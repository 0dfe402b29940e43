"""A time budget for one document, so that a pathological file is skipped, not a stalled night."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

#: Every document gets this much time to be cleaned and its metadata read ...
BASE_SECONDS = 5.0
#: ... plus this much per character (50 KB a second, some 30 times slower than usual).
SECONDS_PER_CHAR = 1 / 50_000


class OverBudget(Exception):
    """Raised inside the work that took longer than its budget."""


def seconds_for(chars: int) -> float:
    return BASE_SECONDS + chars * SECONDS_PER_CHAR


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise :class:`OverBudget` in the body once ``seconds`` of wall time have passed.

    A real-time timer (SIGALRM) interrupts even a regular expression that went
    quadratic. Only the main thread receives signals: elsewhere there is no budget.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise OverBudget(f"took longer than {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
