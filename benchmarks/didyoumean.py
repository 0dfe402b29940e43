"""Did you mean, on misspelt civic queries made from the bench's own (../shared/bench).

Each of the bench's short queries, and the first two-word civic phrase of each dev title,
is misspelt once, in one character of a word: by a character of the same
pinyin (a homophone typed by pinyin input), or by one that makes another word the index
holds (a near miss). A misspelling that still finds documents without relaxing is no
misspelling for the engine and is left out. Reports how often the suggestion is the
original query (first, and only, suggestion), how often it is another one, and how often
a correctly spelt query gets a suggestion at all. Seeded; even queries to tune on, odd to
report. Skips when the bench is absent.

    python benchmarks/didyoumean.py [--bench DIR] [--index DIR] [--errors N]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_BENCH = HERE.parent.parent / "shared" / "bench"
sys.path.insert(0, str(HERE))

from _corpus import dev_queries, short_queries  # noqa: E402

from civicsearch import SearchEngine  # noqa: E402
from civicsearch.text.words import get_segmenter  # noqa: E402


def _homophones() -> dict[str, list[str]]:
    """Pinyin (no tone) → common characters, from pypinyin's own table."""
    from pypinyin import Style, lazy_pinyin

    by_sound: dict[str, list[str]] = {}
    for cp in range(0x4E00, 0x9FA6):
        ch = chr(cp)
        by_sound.setdefault(lazy_pinyin(ch, style=Style.NORMAL)[0], []).append(ch)
    return by_sound


def queries(bench: Path, engine: SearchEngine) -> list[str]:
    """The short queries, and two-word civic phrases from the dev titles (each word of two
    Han characters or more, both held by 20 documents or more): what people type."""
    short = short_queries(bench)
    storage = engine.backend.storage()
    common = lambda w: storage.doc_frequency("body", w) >= 20  # noqa: E731
    phrases = []
    for row in dev_queries(bench):
        words = get_segmenter().cut(row["query"])
        for a, b in zip(words, words[1:]):
            if all(len(w) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", w) and common(w) for w in (a, b)):
                phrases.append(a + b)
                break
    return list(dict.fromkeys(short + phrases))


def misspell(query: str, rng: random.Random, by_sound: dict[str, list[str]], words: list[str]
             ) -> tuple[str, str] | None:
    """The query with one character of one of its words changed, and how, or None."""
    from pypinyin import Style, lazy_pinyin

    spans, at = [], 0
    for word in get_segmenter().cut(query):
        if len(word) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", word):
            spans.append((at, word))
        at += len(word)
    if not spans:
        return None
    start, word = rng.choice(spans)
    i = rng.randrange(len(word))
    old = word[i]
    kind = "homophone" if rng.random() < 0.5 else "near word"
    if kind == "homophone":
        choices = [c for c in by_sound.get(lazy_pinyin(old, style=Style.NORMAL)[0], []) if c != old]
    else:
        choices = [w[i] for w in words if len(w) == len(word) and w != word
                   and w[:i] == word[:i] and w[i + 1:] == word[i + 1:]]
    if not choices:
        return None
    return query[:start + i] + rng.choice(choices) + query[start + i + 1:], kind


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    ap.add_argument("--index", type=Path, help="an index of the bench corpus (default: build none, skip)")
    ap.add_argument("--errors", type=int, default=0, help="print this many wrong or missing suggestions")
    opts = ap.parse_args()
    if not (opts.bench / "queries").is_dir() or opts.index is None:
        print("skipped: needs ../shared/bench and --index of the bench corpus")
        return 0
    engine = SearchEngine(opts.index)
    engine.search("加装电梯")
    by_sound = _homophones()
    from civicsearch.search.suggest import Vocabulary

    vocab = sorted(Vocabulary(engine.backend.storage()).words())
    rng = random.Random(30)
    rows = {"even": [], "odd": []}
    clean = {"even": [0, 0], "odd": [0, 0]}
    seconds = []
    for n, q in enumerate(queries(opts.bench, engine)):
        half = "even" if n % 2 == 0 else "odd"
        res = engine.search(q)
        clean[half][0] += 1
        clean[half][1] += res.suggestion is not None
        made = misspell(q, rng, by_sound, vocab)
        if made is None or made[0] == q:
            continue
        wrong, kind = made
        started = time.perf_counter()
        miss = engine.search(wrong)
        seconds.append(time.perf_counter() - started)
        if miss.total and not miss.relaxed:
            continue  # still finds what it asks: nothing to correct
        rows[half].append((q, wrong, miss.suggestion, kind))
    for half in ("even", "odd"):
        for kind in ("homophone", "near word", None):
            r = [row for row in rows[half] if kind is None or row[3] == kind]
            right = sum(s == q for q, _, s, _ in r)
            other = sum(s is not None and s != q for q, _, s, _ in r)
            print(f"{half} {kind or 'both'}: {len(r)} misspelt queries: right suggestion {right} "
                  f"({right / max(len(r), 1):.3f}), another {other}, none {len(r) - right - other}")
        print(f"{half}: correctly spelt: {clean[half][1]} of {clean[half][0]} got a suggestion "
              f"({clean[half][1] / max(clean[half][0], 1):.3f})")
    seconds.sort()
    print(f"misspelt searches: p50 {seconds[len(seconds) // 2] * 1000:.0f} ms, "
          f"p95 {seconds[int(len(seconds) * 0.95)] * 1000:.0f} ms")
    shown = 0
    for q, wrong, s, _ in rows["even"]:
        if s != q and shown < opts.errors and _ == "homophone":
            print(f"  {wrong} → {s} (meant {q})")
            shown += 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
