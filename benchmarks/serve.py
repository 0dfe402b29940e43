"""The server under load, over loopback, on an index of the bench corpus (../shared/bench).

Starts ``civicsearch serve`` on a free port of 127.0.0.1 and sends it the bench's short
queries and dev titles from 1, 4 and 16 concurrent clients (wrk when installed, one thread;
else an async httpx client, which takes a core of its own), then
once more at 16 clients while ``reindex --full`` rebuilds the same index. Prints, for
each step, searches per second, p50/p95/p99 latency, failed requests, and the resident
memory of each server process; and, beside them, a terminal search as a whole process.
Every request loop is bounded in count and time and stops by itself. Skips when the bench
or the web extra is absent.

    python benchmarks/serve.py --index DIR [--bench DIR] [--workers 2] [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_BENCH = HERE.parent.parent / "shared" / "bench"
sys.path.insert(0, str(HERE))
from _corpus import dev_queries, whole_process_search  # noqa: E402


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _server_pids(root: int) -> list[int]:
    """The server process and its workers."""
    pids = [root]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().split(")")[1].split()[1]) == root:
                    pids.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                pass
    return pids


_WRK_SCRIPT = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format('WRK {"requests": %%d, "seconds": %%f, "errors": %%d, "p50_ms": %%.1f, "p95_ms": %%.1f, "p99_ms": %%.1f}\\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def _wrk(base: str, queries: list[str], clients: int, seconds: float) -> dict:
    """The load from wrk (C, one thread: the load costs the machine little), when installed."""
    import shutil
    import tempfile
    from urllib.parse import quote

    paths = ", ".join(json.dumps("/api/search?q=" + quote(q)) for q in queries)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_WRK_SCRIPT % paths)
    try:
        out = subprocess.run([shutil.which("wrk"), "-t1", f"-c{clients}", f"-d{int(seconds)}s", "--timeout", "30s",
                              "-s", f.name, base], capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(f.name)
    r = json.loads(out[out.index("WRK ") + 4:].splitlines()[0])
    return {"clients": clients, "requests": r["requests"], "per_second": round(r["requests"] / r["seconds"], 1),
            "p50_ms": r["p50_ms"], "p95_ms": r["p95_ms"], "p99_ms": r["p99_ms"], "errors": r["errors"], "tool": "wrk"}


async def _load(base: str, queries: list[str], clients: int, requests: int, seconds: float) -> dict:
    import httpx

    latencies: list[float] = []
    errors = 0
    todo = iter(range(requests))
    deadline = time.monotonic() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        for n in todo:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            try:
                r = await http.get("/api/search", params={"q": queries[n % len(queries)]})
                if r.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"clients": clients, "requests": len(latencies), "per_second": round(len(latencies) / wall, 1),
            "p50_ms": round(pick(0.50), 1), "p95_ms": round(pick(0.95), 1), "p99_ms": round(pick(0.99), 1),
            "errors": errors}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    ap.add_argument("--index", type=Path, help="an index of the bench corpus")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--requests", type=int, default=400, help="requests a step (bounded by --seconds too)")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--no-rebuild", action="store_true", help="skip the step during reindex --full")
    opts = ap.parse_args()
    try:
        import httpx  # noqa: F401

        import civicsearch.web  # noqa: F401
    except ImportError:
        print("skipped: needs the web extra and httpx (pip install '.[test]')")
        return 0
    if not (opts.bench / "queries").is_dir() or opts.index is None or not opts.index.is_dir():
        print("skipped: needs ../shared/bench and --index of the bench corpus")
        return 0
    short = [q.strip() for q in (opts.bench / "queries" / "short.txt").read_text("utf-8").splitlines() if q.strip()]
    dev = [row["query"] for row in dev_queries(opts.bench)]
    port = _port()
    env = dict(os.environ)
    server = subprocess.Popen([sys.executable, "-m", "civicsearch", "--index", str(opts.index), "serve", "--port",
                               str(port), "--workers", str(opts.workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        asyncio.run(_load(base, short, opts.workers, 4 * opts.workers, 30))  # warm every worker
        import shutil

        use_wrk = shutil.which("wrk") is not None
        for name, queries in (("short", short), ("dev", dev)):
            for clients in (1, 4, 16):
                r = _wrk(base, queries, clients, min(opts.seconds, 20)) if use_wrk else \
                    asyncio.run(_load(base, queries, clients, opts.requests, opts.seconds))
                rows.append({"queries": name, **r})
                print(json.dumps(rows[-1]), flush=True)
        if not opts.no_rebuild:
            rebuild = subprocess.Popen([sys.executable, "-m", "civicsearch", "--index", str(opts.index), "reindex",
                                        "--full", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            during = []
            while rebuild.poll() is None and len(during) < 50:
                during.append(_wrk(base, short, 16, 10) if use_wrk else asyncio.run(_load(base, short, 16, 200, 30)))
            rebuild.wait(timeout=900)
            merged = {"queries": "short, during reindex --full", "clients": 16, "steps": len(during),
                      "requests": sum(d["requests"] for d in during), "errors": sum(d["errors"] for d in during),
                      "per_second": round(statistics.mean(d["per_second"] for d in during), 1) if during else 0,
                      "p95_ms": max((d["p95_ms"] for d in during), default=0), "rebuild_exit": rebuild.returncode}
            rows.append(merged)
            print(json.dumps(merged), flush=True)
        memory = {pid: round(_rss_mb(pid), 1) for pid in _server_pids(server.pid)}
        print(json.dumps({"server_rss_mb": memory}))
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    terminal = {"search 加装电梯": whole_process_search(opts.index, "加装电梯", runs=5)["median_s"],
                "search (a dev title)": whole_process_search(opts.index, dev[1], runs=5)["median_s"]}
    print(json.dumps({"terminal_search_seconds_median": terminal}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
