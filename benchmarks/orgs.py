"""Issuing bodies on labelled samples of the bench corpus (benchmarks/orgs-*.jsonl).

Two samples, each document labelled by hand from its own title, header, signature and
enacting line (a document with no such evidence is labelled with no body):
``orgs-labelled.jsonl``, 155 documents drawn at random (seed 17) from the bench's laws (60),
COVID notices (55) and work reports (40), on which the rules were revised; and
``orgs-heldout.jsonl``, 85 more (seed 29: 30, 45, 10), labelled after the rules were
fixed and never tuned on. Prints precision and recall of the names found (each name of a
joint document counts) and, with --errors, where extraction and label differ. Skips when
the bench is absent.

    python benchmarks/orgs.py [--bench DIR] [--errors]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

from civicsearch.ingest.orgs import issuing_bodies

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _corpus import document, jsonl_rows  # noqa: E402

DEFAULT_BENCH = HERE.parent.parent / "shared" / "bench"
SAMPLES = (("tuned on", HERE / "orgs-labelled.jsonl"), ("held out", HERE / "orgs-heldout.jsonl"))
FILES = ("laws", "ncp", "workreports")


def score(pairs: list[tuple[list[str], list[str]]]) -> dict[str, float | int]:
    """Micro precision and recall over (found, labelled) name lists."""
    found = sum(len(f) for f, _ in pairs)
    labelled = sum(len(w) for _, w in pairs)
    right = sum(len(set(f) & set(w)) for f, w in pairs)
    return {"documents": len(pairs), "found": found, "labelled": labelled, "right": right,
            "precision": round(right / found, 3) if found else 1.0,
            "recall": round(right / labelled, 3) if labelled else 1.0}


def _print(name: str, pairs: list[tuple[list[str], list[str]]]) -> None:
    s = score(pairs)
    print(f"{name:>9}: precision {s['precision']:.3f} ({s['right']}/{s['found']}), "
          f"recall {s['recall']:.3f} ({s['right']}/{s['labelled']}) over {s['documents']} documents")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    ap.add_argument("--errors", action="store_true", help="print every document where extraction and label differ")
    opts = ap.parse_args()
    if not (opts.bench / "corpus").is_dir():
        print(f"skipped: no bench corpus at {opts.bench / 'corpus'}")
        return 0
    samples = [(name, jsonl_rows(path)) for name, path in SAMPLES]
    wanted = {row["id"] for _, rows in samples for row in rows}
    records = {}
    for name in FILES:
        with gzip.open(opts.bench / "corpus" / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                if rec["id"] in wanted:
                    records[rec["id"]] = rec
    every = []
    for sample, rows in samples:
        pairs = []
        for row in rows:
            rec = records[row["id"]]
            doc = document(rec)
            found = issuing_bodies(doc.record, doc.meta, doc.title, doc.body, doc.source)
            pairs.append((found, row["org"]))
            if opts.errors and set(found) != set(row["org"]):
                print(f"  [{sample}] {row['id']} {doc.title[:40]}: found {found}, labelled {row['org']}")
        every += pairs
        _print(sample, pairs)
    _print("both", every)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
