"""Benchmark the nightly reindex over ../shared/bench/corpus.

Prints, for a full build, a no-op reindex and a reindex after changing 1% of the
documents: wall time and peak memory, and the ratios the reindex issue sets
(no-op < 2% of the full build, 1% change < 5%). Writes benchmarks/results/reindex.json.

    python benchmarks/reindex.py [--bench DIR]

Skips (exit 0) when the bench corpus is absent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_BENCH = HERE.parent.parent / "shared" / "bench"


def step(index_dir: Path, *args: str) -> dict:
    out = subprocess.run([sys.executable, str(HERE / "_measure.py"), str(index_dir), *args],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def change_one_percent(corpus: Path, seed: int = 7) -> int:
    """Rewrite 1% of the records (spread over every file) with a changed text."""
    rng = random.Random(seed)
    changed = 0
    for f in sorted(corpus.glob("*.jsonl.gz")):
        lines = gzip.decompress(f.read_bytes()).decode("utf-8").splitlines()
        for i in rng.sample(range(len(lines)), max(1, len(lines) // 100)):
            rec = json.loads(lines[i])
            rec["text"] = rec.get("text", "") + "\n（本文已更新。）"
            lines[i] = json.dumps(rec, ensure_ascii=False)
            changed += 1
        f.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=1))
    return changed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    opts = ap.parse_args()
    source = opts.bench / "corpus"
    if not source.is_dir():
        print(f"skipped: no bench corpus at {source}")
        return 0
    with tempfile.TemporaryDirectory(prefix="civicsearch-reindex-bench-") as tmp:
        corpus, index_dir = Path(tmp) / "corpus", Path(tmp) / "index"
        shutil.copytree(source, corpus)
        rows = {"full build": step(index_dir, "--full", str(corpus))}
        rows["no-op reindex"] = step(index_dir)
        changed = change_one_percent(corpus)
        rows[f"reindex after changing 1% ({changed} docs)"] = step(index_dir)
    full = rows["full build"]["seconds"]
    print(f"{'step':45} {'wall s':>8} {'% of full':>9} {'peak RSS MB':>12}  report")
    for name, r in rows.items():
        rep = r["report"]
        print(f"{name:45} {r['seconds']:8.2f} {100 * r['seconds'] / full:8.2f}% {r['peak_rss_mb']:12.1f}  "
              f"+{rep['added']} ~{rep['updated']} -{rep['deleted']} ={rep['unchanged']} docs={rep['documents']}")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "reindex.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
