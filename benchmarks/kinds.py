"""Document kinds (文种) on a labelled sample of the bench corpus (benchmarks/kinds-labelled.jsonl).

175 documents drawn at random (seed 2812) from the bench's laws (45), citizen messages
and official replies (50), COVID notices (40, of which 5 that are none of the kinds were
left out: an open letter, two guides, a Q&A and a procedure), news (25) and work reports
(20). Laws, notices and news were labelled by hand from the title, the opening and the
closing; messages, replies, reports and resolutions by what the source says they are.
Prints precision and recall per kind and, with --errors, every document whose kind
differs from its label. Skips when the bench is absent.

    python benchmarks/kinds.py [--bench DIR] [--errors]
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from pathlib import Path

from civicsearch.documents import build_document
from civicsearch.readers import RawRecord

HERE = Path(__file__).resolve().parent
DEFAULT_BENCH = HERE.parent.parent / "shared" / "bench"
SAMPLE = HERE / "kinds-labelled.jsonl"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    ap.add_argument("--errors", action="store_true", help="print every document whose kind differs from its label")
    opts = ap.parse_args()
    if not (opts.bench / "corpus").is_dir():
        print(f"skipped: no bench corpus at {opts.bench / 'corpus'}")
        return 0
    labels = {row["id"]: row["kind"] for row in map(json.loads, SAMPLE.read_text("utf-8").splitlines()) if row}
    found: dict[str, str] = {}
    for path in sorted((opts.bench / "corpus").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                if rec["id"] in labels:
                    doc = build_document(RawRecord(rec["id"], "bench", rec.get("text", ""),
                                                   {k: v for k, v in rec.items() if k not in ("id", "text")}))
                    found[rec["id"]] = doc.doc_type
                    if opts.errors and doc.doc_type != labels[rec["id"]]:
                        print(f"  {rec['id']} {doc.title[:50]!r}: {doc.doc_type}, labelled {labels[rec['id']]}")
    right = Counter(labels[i] for i in found if found[i] == labels[i])
    given = Counter(found.values())
    wanted = Counter(labels[i] for i in found)
    print(f"{'kind':<8} {'labelled':>8} {'found':>6} {'right':>6} {'precision':>9} {'recall':>7}")
    for kind in sorted(set(given) | set(wanted), key=lambda k: -wanted[k]):
        p = right[kind] / given[kind] if given[kind] else float("nan")
        r = right[kind] / wanted[kind] if wanted[kind] else float("nan")
        print(f"{kind:<8} {wanted[kind]:>8} {given[kind]:>6} {right[kind]:>6} {p:>9.3f} {r:>7.3f}")
    total = sum(right.values())
    print(f"all: {total} of {len(found)} right ({total / len(found):.3f}); {len(labels) - len(found)} labelled ids not found")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
