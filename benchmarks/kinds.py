"""Document kinds (文种) on labelled samples of the bench corpus (benchmarks/kinds-*.jsonl).

175 documents drawn at random (seed 2812) from the bench's laws (45), citizen messages
and official replies (50), COVID notices (40, of which 5 that are none of the kinds were
left out: an open letter, two guides, a Q&A and a procedure), news (25) and work reports
(20). Laws, notices and news were labelled by hand from the title, the opening and the
closing; messages, replies, reports and resolutions by what the source says they are.
The rules were revised on that sample. ``kinds-heldout.jsonl``: 48 more (seed 3301: 24 laws,
24 COVID notices; a court case, a guide, two reminders, a Q&A and a list of measures left
out as none of the kinds), labelled after the rules were fixed and never tuned on.
Prints precision and recall per kind for each sample and, with --errors, every document
whose kind differs from its label. Skips when the bench is absent.

    python benchmarks/kinds.py [--bench DIR] [--errors]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _corpus import document, jsonl_rows, records  # noqa: E402

DEFAULT_BENCH = HERE.parent.parent / "shared" / "bench"
SAMPLES = (("tuned on", HERE / "kinds-labelled.jsonl"), ("held out", HERE / "kinds-heldout.jsonl"))


def _report(name: str, labels: dict[str, str], found: dict[str, str]) -> None:
    ids = [i for i in labels if i in found]
    right = Counter(labels[i] for i in ids if found[i] == labels[i])
    given = Counter(found[i] for i in ids)
    wanted = Counter(labels[i] for i in ids)
    print(f"{name}: {sum(right.values())} of {len(ids)} right ({sum(right.values()) / max(len(ids), 1):.3f}); "
          f"{len(labels) - len(ids)} labelled ids not found")
    print(f"  {'kind':<8} {'labelled':>8} {'found':>6} {'right':>6} {'precision':>9} {'recall':>7}")
    for kind in sorted(set(given) | set(wanted), key=lambda k: (-wanted[k], k)):  # ties: one order every run
        p = right[kind] / given[kind] if given[kind] else float("nan")
        r = right[kind] / wanted[kind] if wanted[kind] else float("nan")
        print(f"  {kind:<8} {wanted[kind]:>8} {given[kind]:>6} {right[kind]:>6} {p:>9.3f} {r:>7.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    ap.add_argument("--errors", action="store_true", help="print every document whose kind differs from its label")
    opts = ap.parse_args()
    if not (opts.bench / "corpus").is_dir():
        print(f"skipped: no bench corpus at {opts.bench / 'corpus'}")
        return 0
    samples = [(name, {row["id"]: row["kind"] for row in jsonl_rows(path)}) for name, path in SAMPLES]
    wanted_ids = {i for _, labels in samples for i in labels}
    found: dict[str, str] = {}
    titles: dict[str, str] = {}
    for rec in records(opts.bench / "corpus"):
        if rec["id"] in wanted_ids:
            doc = document(rec)
            found[rec["id"]], titles[rec["id"]] = doc.doc_type, doc.title
    for name, labels in samples:
        _report(name, labels, found)
        if opts.errors:
            for i, kind in labels.items():
                if found.get(i) != kind:
                    print(f"  [{name}] {i} {titles.get(i, '')[:50]!r}: {found.get(i)}, labelled {kind}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
