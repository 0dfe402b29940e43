"""How build time and query latency grow with the corpus, beside SQLite FTS5 on the same tokens.

    python benchmarks/scaling.py [--bench DIR] [--sizes 0.25,0.5,1,3]

For each size (a quarter, half and all of ../shared/bench's records, and the
corpus three times over: ids suffixed, each copy's paragraphs rotated so that no
copy is byte-identical) it builds civicsearch's index (a full build, one worker
per core) and an FTS5 table over the same jieba tokens (civicsearch's own
analyzer, precise mode), then both answer the same queries one after the other
in this run: the 60 short queries (all words), every 4th dev title and the 200
dev titles with the most words (any word, by bm25). civicsearch answers with
facets and snippets on; FTS5 gives ten ids and nothing else. Prints a table and
the growth factors from one size to the next, and whole-process searches (``civicsearch search``
for 加装电梯 and a long dev title, against the ``sqlite3`` command over the FTS5 table); writes
benchmarks/results/scaling.json (or ``--results``). Skips (exit 0) when the bench corpus is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_BENCH = HERE.parent.parent / "shared" / "bench"
sys.path.insert(0, str(HERE))
from _corpus import (dev_queries, percentiles, records, short_queries, size_on_disk, text_bytes,  # noqa: E402
                     time_command, whole_process_search)


def _tokens(batch: list[tuple[str, str]]) -> list[tuple[str, str]]:
    from civicsearch.text.tokens import query_terms

    return [(doc_id, " ".join(query_terms(text))) for doc_id, text in batch]


def tokenize(recs: list[dict]) -> dict[str, str]:
    """id → the space-joined tokens of title and text, on every core."""
    batches = [[(r["id"], (r.get("title") or "") + "\n" + (r.get("text") or "")) for r in recs[i: i + 200]]
               for i in range(0, len(recs), 200)]
    with Pool(os.cpu_count() or 1) as pool:
        return dict(pair for batch in pool.imap(_tokens, batches) for pair in batch)


def copies(recs: list[dict], size: float) -> list[dict]:
    """The records of one size: a fixed sample below 1, copies with rotated paragraphs above."""
    if size <= 1:
        every = round(1 / size)
        return recs[::every]
    out = []
    for k in range(round(size)):
        for r in recs:
            if k == 0:
                out.append(r)
                continue
            lines = (r.get("text") or "").split("\n")
            turn = k % len(lines)
            out.append(dict(r, id=f"{r['id']}~{k}", text="\n".join(lines[turn:] + lines[:turn]), source_id=r["id"]))
    return out


def write_corpus(folder: Path, recs: list[dict]) -> float:
    folder.mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps({k: v for k, v in r.items() if k != "source_id"}, ensure_ascii=False) + "\n")
    return sum(text_bytes(r) for r in recs) / 1e6


def build_fts(db: Path, recs: list[dict], tokens: dict[str, str]) -> float:
    started = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, body, tokenize='unicode61')")
    con.executemany("INSERT INTO docs (id, body) VALUES (?, ?)",
                    ((r["id"], tokens[r.get("source_id", r["id"])]) for r in recs))
    con.commit()
    con.close()
    return time.perf_counter() - started


def fts_query(tokens: list[str], every: bool) -> str:
    quoted = ['"' + t.replace('"', '""') + '"' for t in dict.fromkeys(tokens)]
    return (" AND " if every else " OR ").join(quoted)


def run_fts(db: Path, queries: dict[str, list[str]]) -> dict:
    from civicsearch.text.tokens import query_terms

    con = sqlite3.connect(db)
    out = {}
    for name, texts in queries.items():
        seconds = []
        for text in texts:
            match = fts_query(query_terms(text), every=name == "short")
            started = time.perf_counter()
            con.execute("SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT 10", (match,)).fetchall()
            seconds.append(time.perf_counter() - started)
        out[name] = percentiles(seconds)
    con.close()
    return out


def run_ours(index: Path, queries: dict[str, list[str]]) -> dict:
    code = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from _corpus import WARM_UP, percentiles
from civicsearch import SearchEngine
engine = SearchEngine(sys.argv[1])
for text in WARM_UP:
    engine.search(text)
out = {}
for name, texts in json.load(sys.stdin).items():
    seconds = []
    for text in texts:
        started = time.perf_counter()
        engine.search(text, limit=10)
        seconds.append(time.perf_counter() - started)
    out[name] = percentiles(seconds)
print(json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-c", code, str(index), str(HERE)], input=json.dumps(queries),
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def whole_process_fts(db: Path, text: str, every: bool, runs: int = 7) -> dict | None:
    """The anchor for a whole-process search: the ``sqlite3`` command over the FTS5 table, ten
    ids by bm25 (start-up included; None where the command is absent)."""
    from civicsearch.text.tokens import query_terms

    sqlite = shutil.which("sqlite3")
    if sqlite is None:
        return None
    match = fts_query(query_terms(text), every).replace("'", "''")
    return time_command([sqlite, str(db), f"SELECT id FROM docs WHERE docs MATCH '{match}' ORDER BY bm25(docs) LIMIT 10;"],
                        runs)


def build_ours(index: Path, corpus: Path) -> dict:
    done = subprocess.run([sys.executable, str(HERE / "_measure.py"), str(index), "--full", str(corpus)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def longest(texts: list[str], n: int) -> list[str]:
    from civicsearch.text.tokens import query_terms

    return sorted(texts, key=lambda t: (-len(query_terms(t)), t))[:n]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    ap.add_argument("--sizes", default="0.25,0.5,1,3")
    ap.add_argument("--results", type=Path, default=HERE / "results" / "scaling.json")
    opts = ap.parse_args()
    if not (opts.bench / "corpus").is_dir():
        print(f"no bench corpus at {opts.bench}: skipped")
        return 0
    sizes = [float(s) for s in opts.sizes.split(",")]
    dev = [q["query"] for q in dev_queries(opts.bench)]
    queries = {"short": short_queries(opts.bench), "long": dev[::4], "longest 200": longest(dev, 200)}
    recs = list(records(opts.bench / "corpus"))
    started = time.perf_counter()
    tokens = tokenize(recs)
    print(f"tokenized {len(recs)} records for FTS5 in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="civicsearch-scaling-") as tmp:
        for size in sizes:
            folder = Path(tmp) / f"x{size:g}"
            chosen = copies(recs, size)
            mb = write_corpus(folder / "corpus", chosen)
            built = build_ours(folder / "index", folder / "corpus")
            fts_seconds = build_fts(folder / "fts.db", chosen, tokens)
            segments = len(list((folder / "index").glob("gen-*/*.trm")))
            row = {"size": size, "docs": len(chosen), "mb": round(mb, 1), "build_s": built["seconds"],
                   "build_mb_per_s": round(mb / built["seconds"], 2), "segments": segments,
                   "index_mb": round(size_on_disk(folder / "index") / 1e6, 1), "fts_build_s": round(fts_seconds, 1),
                   "ours": run_ours(folder / "index", queries), "fts5": run_fts(folder / "fts.db", queries),
                   "whole_process": {name: {"ours": whole_process_search(folder / "index", text),
                                            "fts5": whole_process_fts(folder / "fts.db", text, name == "short")}
                                     for name, text in (("short", "加装电梯"), ("long", dev[1]))}}
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), file=sys.stderr)
            shutil.rmtree(folder)
    table(rows, list(queries))
    opts.results.parent.mkdir(parents=True, exist_ok=True)
    opts.results.write_text(json.dumps(rows, ensure_ascii=False, indent=1), "utf-8")
    return 0


def table(rows: list[dict], names: list[str]) -> None:
    print(f"{'size':>5} {'docs':>7} {'MB':>6} {'build s':>8} {'MB/s':>5} {'segs':>4} "
          + " ".join(f"{n + ' p95 ours/fts5 ms':>30}" for n in names))
    for r in rows:
        cells = [f"{r['ours'][n]['p95_ms']:>13} / {r['fts5'][n]['p95_ms']:<14}" for n in names]
        print(f"{r['size']:>5g} {r['docs']:>7} {r['mb']:>6} {r['build_s']:>8} {r['build_mb_per_s']:>5} "
              f"{r['segments']:>4} " + " ".join(f"{c:>30}" for c in cells))
    print("whole process, median s (ours / sqlite3 over FTS5): "
          + "; ".join(f"{r['size']:g}: " + ", ".join(
              f"{n} {w['ours']['median_s']} / {w['fts5']['median_s'] if w['fts5'] else 'n/a'}"
              for n, w in r["whole_process"].items()) for r in rows))
    print("growth from one size to the next (p95 latency; build time per MB):")
    for a, b in zip(rows, rows[1:]):
        grow = ", ".join(f"{n} ours ×{_ratio(b['ours'][n]['p95_ms'], a['ours'][n]['p95_ms'])} "
                         f"fts5 ×{_ratio(b['fts5'][n]['p95_ms'], a['fts5'][n]['p95_ms'])}" for n in names)
        per_mb = _ratio(b["build_s"] * a["mb"], a["build_s"] * b["mb"])
        print(f"  {a['size']:g} → {b['size']:g} (docs ×{b['docs'] / a['docs']:.2f}): {grow}; build s/MB ×{per_mb}")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


if __name__ == "__main__":
    sys.exit(main())
