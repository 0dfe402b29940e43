"""Time to read and clean pathological documents of n and 2n characters: linear means ×2.

    python benchmarks/hostile.py [--size N]

Each input is one kind of text that once made cleaning, HTML reading or
metadata extraction quadratic (long runs of spaces, punctuation, unclosed tags
…). Prints, per kind, the seconds for n and 2n characters and their ratio
(about 2 when linear, 4 when quadratic), and the time and peak memory of one
large JSONL record read, cleaned and given its metadata, in a child process. Needs no bench corpus.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

KINDS = {
    "spaces in a line": lambda n: "标题\nx" + " " * n + "y",
    "spaced punctuation": lambda n: "标题\n" + "， " * (n // 2),
    "ideographic spaces": lambda n: "标题\n" + "\u3000" * n + "。",
    "slashes": lambda n: "标题\n" + "/ " * (n // 2),
    "blank-line OCR": lambda n: "标题\n" + ("\n\n\n文" * (n // 4)),
    "one line of digits": lambda n: "标题\n" + "1" * n,
    "header labels": lambda n: "发布机构：" * (n // 5),
    "year mentions": lambda n: "2023年" * (n // 5),
    "html: unclosed <a": lambda n: "<p>正文</p>" + "<a " * (n // 3),
    "html: unclosed comments": lambda n: "<p>正文</p>" + "<!--" * (n // 4),
    "html: unclosed quote": lambda n: "<p>正文" + "<div class='" * (n // 12),
    "html: script without end": lambda n: "<p>正文</p><script>" + "if (a < b) " * (n // 11),
}


def _time(kind: str, n: int) -> float:
    from civicsearch.ingest.documents import build_document
    from civicsearch.ingest.readers import RawRecord, html_to_text

    text = KINDS[kind](n)
    started = time.perf_counter()
    if kind.startswith("html"):
        text, _ = html_to_text(text)
    build_document(RawRecord("x", "x.txt", text))
    return time.perf_counter() - started


def _big_record(chars: int) -> dict:
    """Peak RSS of reading and preparing one JSONL record of ``chars`` characters (own process)."""
    code = f"""
import json, resource, sys, tempfile, time
from pathlib import Path
from civicsearch.index.indexer import index_record
from civicsearch.ingest.readers import read_jsonl
folder = Path(tempfile.mkdtemp())
line = "关于老旧小区加装电梯的申请，嘉定镇街道受理。" * ({chars} // 22)
(folder / "big.jsonl").write_text(json.dumps({{"id": "big", "text": line}}, ensure_ascii=False) + "\\n", "utf-8")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
(rec,) = read_jsonl(folder / "big.jsonl")
result = index_record(rec) if hasattr(rec, "text") else rec
print(json.dumps({{"chars": len(line), "seconds": round(time.perf_counter() - started, 2),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                  "before_mb": base // 1024, "skipped": getattr(result, "reason", None)}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000, help="n, in characters")
    opts = ap.parse_args()
    _time("spaces in a line", 1000)  # load the dictionary and the gazetteer first
    print(f"{'kind':28} {'n s':>8} {'2n s':>8} {'ratio':>6}")
    worst = 0.0
    for kind in KINDS:
        one, two = _time(kind, opts.size), _time(kind, 2 * opts.size)
        ratio = two / one if one > 0 else float("nan")
        worst = max(worst, ratio)
        print(f"{kind:28} {one:8.3f} {two:8.3f} {ratio:6.2f}")
    print(f"worst ratio {worst:.2f} (2 is linear, 4 quadratic)")
    # The last is just under the default 50 MB limit (three bytes a character).
    for chars in (1_000_000, 10_000_000, 16_500_000):
        print("one record:", json.dumps(_big_record(chars)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
