"""Build the second development set of the semantic rerank: queries the words already answer.

    python benchmarks/semantic_set.py [--bench ../shared/bench] > benchmarks/semantic-notices.jsonl

Issue 33's fusion must not cost what words already find: a policy question whose answer is one
notice among hundreds on one subject, or one law's own provision. From the bench's laws and
COVID notices (every k-th long record, 150 of each), one sentence of 20-50 characters from the
middle third of the text (an article's number dropped) becomes the query, its document the one
relevant answer. The set is kept as ids and queries (``benchmarks/semantic-notices.jsonl``);
even lines tune, odd lines report, as for the dev set. Skips when the bench is absent.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = ("laws", "ncp")
PER_SOURCE = 150
_SENTENCE = re.compile(r"[^。；！？\n]+")
_ARTICLE = re.compile(r"^\s*(第[一二三四五六七八九十百零〇\d]+条|[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+[.、])\s*")


def question(text: str) -> str | None:
    """A sentence of 20-50 characters from the middle third of ``text``, its numbering dropped."""
    third = len(text) // 3
    for m in _SENTENCE.finditer(text, third, 2 * third):
        sentence = _ARTICLE.sub("", m.group()).strip(" ，,：:")
        han = sum("\u4e00" <= c <= "\u9fff" for c in sentence)
        if 20 <= len(sentence) <= 50 and han >= 15:
            return sentence
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", type=Path, default=HERE.parent.parent / "shared" / "bench")
    args = ap.parse_args()
    if not (args.bench / "corpus").is_dir():
        print(f"skipped: no bench at {args.bench}", file=sys.stderr)
        return 0
    for source in SOURCES:
        with gzip.open(args.bench / "corpus" / f"{source}.jsonl.gz", "rt", encoding="utf-8") as lines:
            records = [json.loads(line) for line in lines]
        long = [r for r in records if len(r.get("text", "")) >= 600]
        step = max(1, len(long) // PER_SOURCE)
        made = 0
        for r in long[::step]:
            q = question(r["text"])
            if q and made < PER_SOURCE:
                print(json.dumps({"qid": f"{source}-{r['id']}", "query": q, "relevant": [r["id"]]}, ensure_ascii=False))
                made += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
