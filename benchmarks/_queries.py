"""civicsearch's query latency and ranking on the bench queries, facets and snippets on.

    python benchmarks/_queries.py INDEX_DIR BENCH_DIR [--plain | --serve]

``--plain`` measures the engine as it ranked before long-query ranking: every
word required (any word when none holds them all), no proximity bonus, no
synonyms, no collapsing. Prints one JSON line. ``--serve`` answers queries from
stdin instead, for the benchmark's paired measurement beside the baseline.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import WARM_UP, dev_queries, known_item, percentiles, serve, short_queries, timed  # noqa: E402

from civicsearch import SearchEngine  # noqa: E402
from civicsearch.search.params import DEFAULT  # noqa: E402


def searcher(index_dir: str, plain: bool = False) -> Callable[[str], list[list[str]]]:
    """A warmed-up search, facets and snippets on, giving the first ten hits, each as
    its id followed by the ids of the reposts folded under it."""
    options: dict = {}
    params = None
    if plain:
        params = replace(DEFAULT, long_query=10**9, proximity=0.0)
        options = {"collapse": False, "synonyms": False}
    engine = SearchEngine(index_dir, params=params)

    def run(text: str) -> list[list[str]]:
        res = engine.search(text, limit=10, **options)
        assert res.facets, "facets are part of every search"
        return [[h.doc_id, *h.similar_ids] for h in res.hits]

    for text in WARM_UP:
        run(text)
    return run


def main() -> None:
    index_dir, bench, *flags = sys.argv[1:]
    run = searcher(index_dir, plain="--plain" in flags)
    if "--serve" in flags:
        serve(run)
        return
    dev = dev_queries(Path(bench))
    short = short_queries(Path(bench))
    out: dict = {}
    for name, texts in (("dev", [q["query"] for q in dev]), ("short", short)):
        answers = [timed(run, text) for text in texts]
        ranked = [ids for _, ids in answers]
        out[name] = percentiles([seconds for seconds, _ in answers])
        if name == "dev":
            out["ranking"] = known_item(ranked, dev)
            half = {"tuned (even)": slice(0, None, 2), "held out (odd)": slice(1, None, 2)}
            out["halves"] = {k: known_item(ranked[s], dev[s]) for k, s in half.items()}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
