"""Reading the bench corpus and queries, shared by the benchmark's child processes."""

from __future__ import annotations

import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

#: Run before measuring, by both engines: outside both query sets, so they open the
#: index and load what it keeps in memory without caching any measured query's postings.
WARM_UP = ("城市管理", "关于小区停车位不足和物业管理不规范问题的反映")


def records(corpus: Path, every: int = 1) -> Iterator[dict]:
    """Every record of ``corpus/*.jsonl.gz`` in file order (or every ``every``-th one, a fixed sample)."""
    n = 0
    for f in sorted(corpus.glob("*.jsonl.gz")):
        with gzip.open(f, "rt", encoding="utf-8") as lines:
            for line in lines:
                if n % every == 0:
                    yield json.loads(line)
                n += 1


def document(rec: dict) -> Any:
    """A bench record as the indexer builds it: cleaned, every metadata field extracted
    (civicsearch is imported here: the baseline's processes never load it)."""
    from civicsearch.ingest.documents import build_document
    from civicsearch.ingest.readers import RawRecord

    return build_document(RawRecord(rec["id"], "bench", rec.get("text", ""),
                                    {k: v for k, v in rec.items() if k not in ("id", "text")}))


def text_bytes(rec: dict) -> int:
    """UTF-8 size of what is indexed: title and text."""
    return len((rec.get("title") or "").encode("utf-8")) + len((rec.get("text") or "").encode("utf-8"))


def jsonl_rows(path: Path) -> list[dict]:
    """The rows of a JSON-lines file (split on newlines only: ``str.splitlines`` also splits
    on U+2028 and U+0085, which a JSON string may hold as they are)."""
    return [json.loads(line) for line in path.read_text("utf-8").split("\n") if line.strip()]


def dev_queries(bench: Path) -> list[dict]:
    return jsonl_rows(bench / "queries" / "dev.jsonl")


def short_queries(bench: Path) -> list[str]:
    text = (bench / "queries" / "short.txt").read_text("utf-8")
    return [q.strip() for q in text.splitlines() if q.strip()]


def peak_rss_mb() -> float:
    """Peak resident memory of this process or any child it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def size_on_disk(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def size_by_kind(folder: Path) -> dict[str, float]:
    """An index's MB by file kind: Whoosh's term tables (.trm) and blocks (.pst), stored
    fields, columns (.col), civicsearch's posting arrays (.csa), the rest."""
    out: dict[str, float] = {}
    for p in folder.rglob("*"):
        if p.is_file():
            kind = "stored" if p.name.endswith("._stored.col") else p.suffix if p.suffix in (
                ".trm", ".pst", ".col", ".csa") else "other"
            out[kind] = out.get(kind, 0.0) + p.stat().st_size / 1e6
    return {k: round(v, 1) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}


def percentiles(seconds: list[float]) -> dict:
    """p50 / p95 / max in milliseconds."""
    s = sorted(seconds)
    if not s:
        return {"n": 0}
    return {"n": len(s), "p50_ms": round(s[len(s) // 2] * 1000, 1),
            "p95_ms": round(s[min(len(s) - 1, int(len(s) * 0.95))] * 1000, 1),
            "max_ms": round(s[-1] * 1000, 1)}


def known_item(ranked: list[list], queries: list[dict]) -> dict:
    """MRR@10 and Recall@10 of ranked hits against the queries' relevant ids.

    A hit is an id, or a list: the id shown, then the ids of the reposts folded
    under it. Strictly (``mrr@10``) only the id shown counts; ``folded`` also
    counts a hit that folds a relevant document (the user sees it as ``+N similar``).
    """
    n = max(1, len(queries))
    out: dict = {"n": len(queries)}
    for name, ids_of in (("", lambda hit: hit[:1]), ("folded_", lambda hit: hit)):
        rr = found = 0.0
        for hits, q in zip(ranked, queries):
            relevant = set(q["relevant"])
            for rank, hit in enumerate(hits[:10], 1):
                if relevant.intersection(ids_of([hit] if isinstance(hit, str) else hit)):
                    rr += 1 / rank
                    found += 1
                    break
        out[f"{name}mrr@10"], out[f"{name}recall@10"] = round(rr / n, 4), round(found / n, 4)
    return out


def timed(run: Callable[[str], list[str]], text: str) -> tuple[float, list[str]]:
    """Seconds one search took, and the ids it gave."""
    t = time.perf_counter()
    ids = run(text)
    return time.perf_counter() - t, ids


def serve(run: Callable[[str], list[str]]) -> None:
    """Answer queries in turn for the paired measurement: ``ready`` once warmed up, then for
    each JSON query text on stdin, one JSON line ``{"s": seconds, "ids": [...]}`` on stdout."""
    print("ready", flush=True)
    for line in sys.stdin:
        seconds, ids = timed(run, json.loads(line))
        print(json.dumps({"s": seconds, "ids": ids}), flush=True)


def civicsearch_command() -> list[str]:
    """How to start the ``civicsearch`` command of this Python's environment."""
    exe = shutil.which("civicsearch", path=str(Path(sys.executable).parent)) or shutil.which("civicsearch")
    return [exe] if exe else [sys.executable, "-m", "civicsearch"]


def whole_process_search(index: Path, query: str, runs: int = 7) -> dict:
    """``civicsearch search QUERY`` as a whole process on ``index`` (start-up included), after
    one run that is not counted: median and max seconds. Python may write its bytecode, as an
    installed package has it (where ``PYTHONDONTWRITEBYTECODE`` is set, each run would compile
    the package's modules again: 70 ms on this machine)."""
    command = [*civicsearch_command(), "--index", str(index), "search", query]
    return time_command(command, runs, env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})


def time_command(command: list[str], runs: int = 7, env: dict[str, str] | None = None) -> dict:
    """``command`` run ``runs`` times as a whole process, after one run that is not counted:
    median and max seconds."""
    subprocess.run(command, check=True, capture_output=True, timeout=120, env=env)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, timeout=120, env=env)
        seconds.append(time.perf_counter() - started)
    return {"median_s": round(statistics.median(seconds), 3), "max_s": round(max(seconds), 3)}
