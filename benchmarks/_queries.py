"""civicsearch's query latency and ranking on the bench queries, facets and snippets on.

    python benchmarks/_queries.py INDEX_DIR BENCH_DIR [--plain]

``--plain`` measures the engine as it ranked before long-query ranking: every
word required (any word when none holds them all), no proximity bonus, no
synonyms, no collapsing. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import dev_queries, known_item, percentiles, short_queries  # noqa: E402

from civicsearch import SearchEngine, rank  # noqa: E402


def main() -> None:
    index_dir, bench, *flags = sys.argv[1:]
    plain = "--plain" in flags
    options: dict = {}
    if plain:
        rank.LONG_QUERY = 10**9
        rank.PROXIMITY = 0.0
        options = {"collapse": False, "synonyms": False}
    engine = SearchEngine(index_dir)
    dev = dev_queries(Path(bench))
    short = short_queries(Path(bench))
    # Warm-up with queries outside both sets: open the index, load the columns and
    # field lengths, without caching any measured query's postings.
    for text in ("城市管理", "关于小区停车位不足和物业管理不规范问题的反映"):
        engine.search(text, **options)
    out: dict = {}
    for name, texts in (("dev", [q["query"] for q in dev]), ("short", short)):
        seconds, ranked = [], []
        for text in texts:
            t = time.perf_counter()
            res = engine.search(text, limit=10, **options)
            seconds.append(time.perf_counter() - t)
            assert res.facets, "facets are part of every search"
            ranked.append([h.doc_id for h in res.hits])
        out[name] = percentiles(seconds)
        if name == "dev":
            out["ranked"] = ranked
            out["ranking"] = known_item(ranked, dev)
            half = {"tuned (even)": slice(0, None, 2), "held out (odd)": slice(1, None, 2)}
            out["halves"] = {k: known_item(ranked[s], dev[s]) for k, s in half.items()}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
