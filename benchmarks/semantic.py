"""The semantic rerank on an index built with vectors: ranking and cost, with and without it.

    python benchmarks/semantic.py --index IX [--bench ../shared/bench]

For the dev set (citizen titles → official replies) and the second set of queries the words
already answer (``benchmarks/semantic-notices.jsonl``, built by ``semantic_set.py``), each half
(even lines tune, odd lines report): MRR@10 and Recall@10 strict and folded, searched as a user
searches (folding on), with ``semantic=True`` and ``semantic=False``; and the in-process
latency of the dev titles, p50/p95, both ways (the query's embedding is one model call). Skips
when the bench or the index's vectors are absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _corpus import dev_queries, jsonl_rows, known_item, percentiles

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--bench", type=Path, default=HERE.parent.parent / "shared" / "bench")
    args = ap.parse_args()
    if not (args.bench / "queries").is_dir():
        print(f"skipped: no bench at {args.bench}")
        return 0
    from civicsearch import SearchEngine

    engine = SearchEngine(args.index)
    if engine.backend.storage().vector_model() is None:
        print(f"skipped: the index at {args.index} keeps no vectors (index --full --semantic)")
        return 0
    sets = {"dev": dev_queries(args.bench), "notices": jsonl_rows(HERE / "semantic-notices.jsonl")}
    for name, queries in sets.items():
        for semantic in (False, True):
            ranked, seconds, used = [], [], 0
            for q in queries:
                started = time.perf_counter()
                res = engine.search(q["query"], semantic=semantic)
                seconds.append(time.perf_counter() - started)
                used += res.semantic
                ranked.append([[h.id, *h.similar_ids] for h in res.hits])
            halves = {half: known_item(ranked[i::2], queries[i::2]) for half, i in (("even", 0), ("odd", 1))}
            print(f"{name} semantic={semantic} (reranked {used} of {len(queries)}): even {halves['even']} "
                  f"odd {halves['odd']}; latency {percentiles(seconds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
