"""The floor: read the bench corpus and segment it with rjieba on every core, nothing else.

``python benchmarks/_floor.py CORPUS_DIR`` prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import peak_rss_mb, records, text_bytes  # noqa: E402

CHUNK = 200


def _segment(texts: list[str]) -> int:
    import rjieba

    return sum(len(rjieba.cut(t)) for t in texts)


def _chunks(corpus: Path):
    batch: list[str] = []
    for rec in records(corpus):
        batch.append((rec.get("title") or "") + "\n" + (rec.get("text") or ""))
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def main() -> None:
    corpus = Path(sys.argv[1])
    started = time.perf_counter()
    docs = sum(1 for _ in records(corpus))
    mb = sum(text_bytes(r) for r in records(corpus)) / 1e6
    counted = time.perf_counter() - started  # the size count is not part of the floor
    started = time.perf_counter()
    with Pool(os.cpu_count() or 1) as pool:
        tokens = sum(pool.imap_unordered(_segment, _chunks(corpus)))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": round(seconds, 2), "docs": docs, "mb": round(mb, 2), "tokens": tokens,
                      "procs": os.cpu_count(), "peak_rss_mb": peak_rss_mb(),
                      "counting_seconds": round(counted, 2)}))


if __name__ == "__main__":
    main()
