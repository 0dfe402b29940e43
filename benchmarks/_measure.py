"""Run one civicsearch indexing step in this process and print its figures as JSON.

Used by the benchmarks as a child process, so that every step's peak memory is
its own: ``python benchmarks/_measure.py INDEX_DIR [--full] PATH…``.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from civicsearch import SearchEngine


def main() -> None:
    args = sys.argv[1:]
    full = "--full" in args
    index_dir, *paths = [a for a in args if a != "--full"]
    started = time.perf_counter()
    report = SearchEngine(index_dir).index(paths or None, full=full)
    seconds = time.perf_counter() - started
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(max(self_kb, children_kb) / 1024, 1),
        "report": {k: v for k, v in report.to_dict().items() if k != "skipped"},
        "skipped": len(report.skipped),
    }))


if __name__ == "__main__":
    main()
