"""The ``civicsearch`` command's entry point: a look at the memory limit before the heavy imports.

Under an address-space limit (``ulimit -v``) too small for numpy, the dictionary and an index,
the command would die inside an import (a traceback) or inside the Rust segmenter (an abort
with a Rust backtrace). It says so in one line instead.
"""

from __future__ import annotations

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


def main() -> None:
    limit = _limit()
    if limit is not None and limit < MIN_ADDRESS_SPACE:
        sys.stderr.write(f"Error: this process may use at most {limit // 2**20} MB of memory (ulimit -v); "
                         f"civicsearch needs at least {MIN_ADDRESS_SPACE // 2**20} MB\n")
        sys.exit(2)
    try:
        from civicsearch.cli import main as cli_main
    except MemoryError:
        sys.stderr.write("Error: out of memory while starting: the machine (or this process's limit) has too little\n")
        sys.exit(2)
    cli_main()
