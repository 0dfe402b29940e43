"""Speed and ranking of civicsearch beside the baseline, on ../shared/bench.

    python benchmarks/bench.py [--bench DIR] [--quick] [--baseline-every N]

Runs, each step in its own child process (so peak memory is the step's own):
first the cold start of ``civicsearch search 加装电梯`` on the bundled corpus;
then the floor (read + rjieba on every core), civicsearch's full build, its query
latency (facets and snippets on) and MRR@10 / R@10 on all dev and short queries,
the same ranking as it was before long-query ranking (``--plain``), and the
Whoosh + ChineseAnalyzer baseline's build. Last, both engines answer the same
queries in turn, each in its own live process (``paired``): the latency ratios
come from that step, so both are measured under the same machine conditions.
Prints a table and writes benchmarks/results/bench.json.

``--quick`` builds the baseline on a fixed 1-in-8 sample (compared per MB) and
skips the paired queries. The baseline answers every ``--baseline-every``-th dev
query (default 4: 352 queries) and all the short ones. Skips (exit 0) when the
bench corpus is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_BENCH = REPO.parent / "shared" / "bench"
sys.path.insert(0, str(HERE))
from _corpus import (  # noqa: E402
    civicsearch_command,
    dev_queries,
    known_item,
    percentiles,
    short_queries,
    size_by_kind,
    size_on_disk,
    whole_process_search,
)


def child(script: str, *args: str) -> dict:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, str(HERE / script), *args], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"  {script} {args[0] if args else ''}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return result


def startup(runs: int = 9) -> dict:
    """``civicsearch search 加装电梯`` as a process on the bundled corpus, once built."""
    cmd = civicsearch_command()
    with tempfile.TemporaryDirectory(prefix="civicsearch-startup-") as tmp:
        # As in the README's quick start: ./corpus, and ./index built by the first search.
        shutil.copytree(REPO / "corpus", Path(tmp) / "corpus")
        env = {k: v for k, v in os.environ.items() if k != "CIVICSEARCH_INDEX"}
        run = lambda: subprocess.run([*cmd, "search", "加装电梯"], cwd=tmp, env=env, check=True,  # noqa: E731
                                     capture_output=True)
        started = time.perf_counter()
        run()  # the first search builds the index from corpus/
        first = time.perf_counter() - started
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            run()
            seconds.append(time.perf_counter() - started)
    return {"first_search_with_build_s": round(first, 2), "runs": runs,
            "median_s": round(statistics.median(seconds), 3), "max_s": round(max(seconds), 3)}


def paired(ours_ix: Path, base_ix: Path, bench: Path, every: int) -> dict:
    """Latency and ranking of both engines on the same queries, answered in turn.

    Each engine runs in its own warmed-up process; they take the queries one at a
    time, alternately going first. Both are then measured under the same machine
    conditions, so the ratio of their p95s does not move with the drift of a
    shared machine between steps many minutes apart.
    """
    commands = {
        "civicsearch": [sys.executable, str(HERE / "_queries.py"), str(ours_ix), str(bench), "--serve"],
        "baseline": [sys.executable, str(HERE / "_baseline.py"), "serve", str(base_ix)],
    }
    dev = dev_queries(bench)[::every]
    sets = {"dev": [q["query"] for q in dev], "short": short_queries(bench)}
    started = time.perf_counter()
    live = {name: subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8")
            for name, cmd in commands.items()}
    out: dict = {name: {} for name in live}
    try:
        for name, proc in live.items():
            if proc.stdout.readline().strip() != "ready":  # type: ignore[union-attr]
                raise RuntimeError(f"{name} did not start serving")
        for set_name, texts in sets.items():
            seconds: dict = {name: [] for name in live}
            ranked: dict = {name: [] for name in live}
            for i, text in enumerate(texts):
                for name in (list(live) if i % 2 == 0 else list(reversed(live))):
                    proc = live[name]
                    proc.stdin.write(json.dumps(text) + "\n")  # type: ignore[union-attr]
                    proc.stdin.flush()  # type: ignore[union-attr]
                    answer = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
                    seconds[name].append(answer["s"])
                    ranked[name].append(answer["ids"])
            for name in live:
                out[name][set_name] = percentiles(seconds[name])
                if set_name == "dev":
                    out[name]["ranking"] = known_item(ranked[name], dev)
    finally:
        for proc in live.values():
            proc.stdin.close()  # type: ignore[union-attr]
            proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
    print(f"  paired queries: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return out


def machine() -> dict:
    mem = ""
    try:
        mem = next(line.split(":")[1].strip() for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        pass
    cpu = platform.processor()
    try:
        cpu = next(line.split(":")[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cores": os.cpu_count(), "memory": mem, "cpu": cpu, "python": platform.python_version(),
            "system": platform.platform()}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def table(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    ours, base, floor = r["civicsearch"], r["baseline"], r["floor"]
    t = Table(title=f"civicsearch vs baseline ({r['machine']['cores']} cores, {r['machine']['memory']})")
    for col in ("measure", "civicsearch", "baseline", "ours / baseline"):
        t.add_column(col, justify="left" if col == "measure" else "right")
    b = ours["build"]
    bb = base.get("build") or {}
    sample = f" (1/{bb['every']} sample)" if bb.get("every", 1) > 1 else ""
    t.add_row("build: docs", str(b["docs"]), f"{bb.get('docs', '–')}{sample}", "")
    t.add_row("build: wall s", f"{b['seconds']:.1f}", f"{bb.get('seconds', '–')}", "")
    t.add_row("build: s per MB", f"{b['s_per_mb']:.3f}", f"{bb.get('s_per_mb', '–')}", str(r["ratios"]["build_s_per_mb"]))
    t.add_row("build: docs/s, MB/s", f"{b['docs_per_s']:.0f}, {b['mb_per_s']:.2f}",
              f"{bb.get('docs_per_s', '–')}, {bb.get('mb_per_s', '–')}", "")
    t.add_row("build: peak RSS MB", f"{b['peak_rss_mb']:.0f}", f"{bb.get('peak_rss_mb', '–')}", "")
    t.add_row("index size MB", f"{b['index_mb']:.0f}", f"{bb.get('index_mb', '–')}", "")
    t.add_row("  by kind", ", ".join(f"{k} {v:.0f}" for k, v in b["index_mb_by_kind"].items()), "", "")
    t.add_row("floor: read + rjieba, all cores, s", f"{floor['seconds']:.1f}", "", f"build = {r['ratios']['build_vs_floor']}× floor")
    bq, oq = base.get("queries") or {}, ours.get("paired") or {}
    ms = lambda q: f"{q['p50_ms']} / {q['p95_ms']} / {q['max_ms']}" if q else "–"  # noqa: E731
    for name in ("dev", "short"):
        q = ours["queries"][name]
        t.add_row(f"{name} queries ({q['n']}) p50 / p95 / max ms", ms(q), "", "")
        if oq:
            t.add_row(f"  the same {oq[name]['n']}, in turn with the baseline", ms(oq[name]), ms(bq.get(name)),
                      f"{r['ratios'].get(f'{name}_p95')} (p95)")
    rk = ours["queries"]["ranking"]
    t.add_row(f"dev MRR@10 / R@10 (all {rk['n']})", f"{rk['mrr@10']} / {rk['recall@10']}", "", "")
    for half, v in ours["queries"]["halves"].items():
        t.add_row(f"  {half} half", f"{v['mrr@10']} / {v['recall@10']}", "", "")
        t.add_row(f"  {half} half, counting a hit that folds it", f"{v['folded_mrr@10']} / {v['folded_recall@10']}",
                  "", "")
    pl = ours["plain"]["ranking"]
    t.add_row("  before (all words, no proximity/synonyms)", f"{pl['mrr@10']} / {pl['recall@10']}", "", "")
    if bq.get("ranking"):
        same = oq["ranking"]
        t.add_row(f"dev MRR@10 / R@10 (the {same['n']} answered by both)", f"{same['mrr@10']} / {same['recall@10']}",
                  f"{bq['ranking']['mrr@10']} / {bq['ranking']['recall@10']}", "")
    for q, w in ours["whole_process"].items():
        t.add_row(f"whole process on the bench index: search {q[:16]} s", f"{w['median_s']} (max {w['max_s']})", "", "")
    s = r["startup"]
    t.add_row("cold start: civicsearch search 加装电梯 s", f"{s['median_s']} (median of {s['runs']})", "", "")
    Console(width=132).print(t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    ap.add_argument("--quick", action="store_true", help="baseline build on a 1-in-8 sample, no baseline queries")
    ap.add_argument("--baseline-every", type=int, default=4, help="baseline answers every N-th dev query")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "bench.json")
    opts = ap.parse_args()
    corpus = opts.bench / "corpus"
    if not corpus.is_dir() or not (opts.bench / "queries" / "dev.jsonl").is_file():
        print(f"skipped: no bench corpus and queries under {opts.bench}")
        return 0
    r: dict = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    # First, so that nothing the builds leave behind (dirty pages, deleted indexes being written
    # back) weighs on a figure that is about the bundled corpus alone.
    r["startup"] = startup()
    with tempfile.TemporaryDirectory(prefix="civicsearch-bench-") as tmp:
        ours_ix, base_ix = Path(tmp) / "ours", Path(tmp) / "baseline"
        floor = r["floor"] = child("_floor.py", str(corpus))
        mb, docs = floor["mb"], floor["docs"]
        built = child("_measure.py", str(ours_ix), "--full", str(corpus))
        s = built["seconds"]
        ours = r["civicsearch"] = {"build": {
            "docs": built["report"]["documents"], "seconds": s, "s_per_mb": round(s / mb, 4),
            "docs_per_s": round(docs / s, 1), "mb_per_s": round(mb / s, 3), "peak_rss_mb": built["peak_rss_mb"],
            "index_mb": round(size_on_disk(ours_ix) / 1e6, 1), "index_mb_by_kind": size_by_kind(ours_ix)}}
        long_title = dev_queries(opts.bench)[1]["query"]
        ours["whole_process"] = {q: whole_process_search(ours_ix, q) for q in ("加装电梯", long_title)}
        ours["queries"] = child("_queries.py", str(ours_ix), str(opts.bench))
        ours["plain"] = child("_queries.py", str(ours_ix), str(opts.bench), "--plain")
        sample = 8 if opts.quick else 1
        bb = child("_baseline.py", "build", str(base_ix), str(corpus), "--every", str(sample))
        bb.update(every=sample, s_per_mb=round(bb["seconds"] / bb["mb"], 4),
                  docs_per_s=round(bb["docs"] / bb["seconds"], 1), mb_per_s=round(bb["mb"] / bb["seconds"], 3))
        r["baseline"] = {"build": bb}
        if not opts.quick:
            both = paired(ours_ix, base_ix, opts.bench, opts.baseline_every)
            ours["paired"] = both["civicsearch"]
            r["baseline"]["queries"] = both["baseline"]
    bq = r["baseline"].get("queries") or {}
    oq = ours.get("paired") or {}
    r["ratios"] = {
        "build_s_per_mb": ratio(ours["build"]["s_per_mb"], r["baseline"]["build"]["s_per_mb"]),
        "build_vs_floor": ratio(ours["build"]["seconds"], floor["seconds"]),
        # Same queries, answered in turn (see paired).
        "dev_p95": ratio((oq.get("dev") or {}).get("p95_ms"), (bq.get("dev") or {}).get("p95_ms")),
        "short_p95": ratio((oq.get("short") or {}).get("p95_ms"), (bq.get("short") or {}).get("p95_ms")),
    }
    r["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(r, ensure_ascii=False, indent=2), "utf-8")
    table(r)
    print(f"results: {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
