"""Place extraction on ../shared/bench/truth/places-dev.jsonl (laws and local regulations).

Prints the share of local regulations whose province is right, the share of
national legislation that wrongly gets a province, and what extraction costs
per document. Writes benchmarks/results/places.json. Skips when the bench is absent.

    python benchmarks/places.py [--bench DIR] [--errors N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

from civicsearch.ingest.dates import date_from_text
from civicsearch.ingest.docno import find_docnos
from civicsearch.ingest.documents import build_document
from civicsearch.ingest.kinds import document_kind
from civicsearch.ingest.places import gazetteer, resolve
from civicsearch.ingest.readers import RawRecord
from civicsearch.ingest.topics import assign_topics

HERE = Path(__file__).resolve().parent
DEFAULT_BENCH = HERE.parent.parent / "shared" / "bench"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    ap.add_argument("--errors", type=int, default=0, help="print this many misplaced documents")
    opts = ap.parse_args()
    truth_file = opts.bench / "truth" / "places-dev.jsonl"
    if not truth_file.exists():
        print(f"skipped: no truth file at {truth_file}")
        return 0
    truth = {r["id"]: r["province"] for r in map(json.loads, truth_file.open(encoding="utf-8"))}
    docs = []
    with gzip.open(opts.bench / "corpus" / "laws.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec["id"] in truth:
                raw = RawRecord(rec["id"], "laws", rec.get("text", ""), {k: v for k, v in rec.items() if k not in ("id", "text")})
                docs.append(build_document(raw))
    gazetteer().automaton  # loading is start-up cost, not per-document cost
    local_right = local = national = national_placed = 0
    errors = []
    started = time.perf_counter()
    for doc in docs:
        place = resolve(doc.title, doc.body)
        got = place.chain[0][1] if place else None
        want = truth[doc.doc_id]
        if want is None:
            national += 1
            national_placed += got is not None
            if got is not None:
                errors.append((doc.doc_id, doc.title, want, place.label))
        else:
            local += 1
            local_right += got == want
            if got != want:
                errors.append((doc.doc_id, doc.title, want, place.label if place else None))
    seconds = time.perf_counter() - started
    result = {
        "documents": len(docs),
        "local_province_accuracy": round(local_right / local, 4),
        "national_with_province": round(national_placed / national, 4),
        "local": local,
        "national": national,
        "ms_per_document": round(1000 * seconds / len(docs), 2),
        "chars": sum(len(d.body) + len(d.title) for d in docs),
        "seconds": round(seconds, 2),
    }
    print(f"local regulations, province right: {local_right}/{local} = {result['local_province_accuracy']:.2%}")
    print(f"national legislation given a province: {national_placed}/{national} = {result['national_with_province']:.2%}")
    print(f"extraction: {result['seconds']} s for {len(docs)} documents ({result['ms_per_document']} ms each)")
    for e in errors[: opts.errors]:
        print("  ", *e)

    # What extraction costs over the whole bench corpus (the 20% budget of indexing):
    # places, dates from the text, topics, document type and document numbers.
    total_docs, total_seconds = 0, 0.0
    for path in sorted((opts.bench / "corpus").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                raw = RawRecord(rec["id"], str(path), rec.get("text", ""), {k: v for k, v in rec.items() if k not in ("id", "text")})
                doc = build_document(raw)
                t = time.perf_counter()
                resolve(doc.title, doc.body, rec.get("place"))
                date_from_text(doc.title, doc.body)
                assign_topics(doc.title, doc.body)
                document_kind(doc.title, doc.body)
                find_docnos(doc.title + " " + doc.body[:200])
                total_seconds += time.perf_counter() - t
                total_docs += 1
    result["corpus_documents"] = total_docs
    result["corpus_extraction_seconds"] = round(total_seconds, 2)
    print(f"extraction (place, date, topics, type, document numbers) over the whole bench corpus: "
          f"{total_seconds:.1f} s for {total_docs} documents")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "places.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
