"""Properties that hold for any input: a query gives results or a CivicSearchError;
bytes through the readers give documents or skipped entries, never another exception."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicsearch.errors import CivicSearchError
from civicsearch.index.indexer import Prepared, index_record
from civicsearch.ingest.readers import KnownRecord, RawRecord, Skipped, read_path
from civicsearch.search.query import parse
from civicsearch.search.snippets import LEAD, _best_window_arrays, _best_window_loop, best_window

# Deterministic in CI (no example database, a fixed sequence): a failure here is
# reproducible, never a flake.
CHECKS = settings(derandomize=True, database=None, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# The pieces the query syntax and civic text are made of, so that random strings
# reach the interesting paths (quotes, fields, OR, minus, numbers) often.
SYNTAX = ['"', "“", "”", "「", "」", "『", "＂", "-", "－", "OR", "AND", "|", "｜", "标题:", "title:", "正文：",
          "文号:", "docno:", "〔2024〕", "国办发", "1号", " ", "\u3000", "\t", "\n", "\x1b", "\x00", "\ud83d",
          "\u2028", "加装电梯", "老旧小区", "嘉定", "服务中心", "，", "。", "？", "怎么", "a", "Z", "５", "1", "[", "]", ":"]
query_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(SYNTAX), max_size=14).map("".join),
    st.lists(st.one_of(st.sampled_from(SYNTAX), st.text(max_size=4)), max_size=10).map(" ".join),
)


@CHECKS
@given(text=query_text)
def test_any_string_parses_or_is_a_query_error(text: str) -> None:
    try:
        parsed = parse(text)
    except CivicSearchError:
        return
    assert parsed.groups or parsed.excluded


@settings(CHECKS, max_examples=150)
@given(text=query_text, since=st.one_of(st.none(), st.sampled_from(["2023", "0000", "2023-02-30", "9999", "x"])))
def test_any_string_searches_or_is_a_civicsearch_error(seed_index, text: str, since: str | None) -> None:
    try:
        results = seed_index.search(text, since=since)
    except CivicSearchError:
        return
    assert results.total >= len(results.hits)
    for hit in results.hits:
        assert all(0 <= s < e <= len(hit.snippet) for s, e in hit.highlights)


CIVIC = ["关于加装电梯的通知", "各居委会", "2023年5月4日", "索引号：1 发布机构：嘉定镇 发文日期：2023-01-04 ", "文章图片",
         "推荐阅读", "来源：新华网", "国办发〔2024〕1号", "<p>", "</p>", "<a ", "<!--", "   ", "\n", "\r\n", "\u2028",
         "\x1b[2J", "---\n", "title: x\n", "date: 9999-99-99\n", "a: &a [1]\nb: *a\n", "：", "。", "\ufeff"]
text_bytes = st.one_of(
    st.binary(max_size=400),
    st.lists(st.sampled_from(CIVIC), max_size=20).map(lambda parts: "".join(parts).encode("utf-8")),
    st.lists(st.sampled_from(CIVIC), max_size=20).map(lambda parts: "".join(parts).encode("gb18030")),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
json_value = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                                    st.text(max_size=20), st.sampled_from(CIVIC)),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3), max_leaves=8)
record = st.fixed_dictionaries({}, optional={
    "id": json_value, "text": st.one_of(json_value, st.lists(st.sampled_from(CIVIC), max_size=12).map("".join)),
    "title": json_value, "date": st.one_of(json_value, st.sampled_from(["0001-01-01T00:00:00+08:00", "2023-02-30",
                                                                       "9999-12-31", "Thu, 23 Dec 2021"])),
    "place": json_value, "topic": json_value, "source": json_value, "url": json_value,
})
jsonl_bytes = st.one_of(
    st.binary(max_size=400),
    st.lists(st.one_of(record.map(lambda r: json.dumps(r, ensure_ascii=False).encode("utf-8", "surrogatepass")),
                       record.map(lambda r: json.dumps(r).encode()), st.binary(max_size=30)), max_size=6)
    .map(b"\n".join),
    # UTF-16 (with its BOM), GB18030 and UTF-8 with a BOM and CRLF: whole dumps in another encoding.
    st.tuples(st.lists(record.map(lambda r: json.dumps(r, ensure_ascii=False)), max_size=4),
              st.sampled_from(["utf-16", "gb18030", "utf-8-sig"]), st.sampled_from(["\n", "\r\n"]))
    .map(lambda t: t[2].join(t[0]).encode(t[1], "replace")),
)


def _check(path: Path) -> None:
    for item in read_path(path, path.parent, max_bytes=2_000):
        assert isinstance(item, (RawRecord, KnownRecord, Skipped))
        if isinstance(item, RawRecord):
            assert isinstance(index_record(item), (Prepared, Skipped))


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html"])
@settings(CHECKS, max_examples=120)
@given(data=text_bytes)
def test_any_bytes_in_a_text_file_give_documents_or_skipped_entries(tmp_path: Path, suffix: str, data: bytes) -> None:
    path = tmp_path / f"doc{suffix}"
    path.write_bytes(data)
    _check(path)


@pytest.mark.parametrize("compress", [False, True])
@settings(CHECKS, max_examples=120)
@given(data=jsonl_bytes, cut=st.integers(min_value=0, max_value=60))
def test_any_bytes_in_a_crawl_dump_give_documents_or_skipped_entries(tmp_path: Path, compress: bool, data: bytes,
                                                                      cut: int) -> None:
    path = tmp_path / ("dump.jsonl.gz" if compress else "dump.jsonl")
    if compress:
        packed = gzip.compress(data)
        data = packed[: len(packed) - cut] if cut % 3 else packed  # truncated now and then
    path.write_bytes(data)
    _check(path)


sketch_values = st.frozensets(st.integers(min_value=0, max_value=200), max_size=24)
#: Sketch values that may hold the largest 64-bit value (the pairwise similarity pads with it).
edge_values = st.frozensets(st.one_of(st.integers(min_value=0, max_value=200), st.just(2**64 - 1)), max_size=24)


@CHECKS
@given(a=sketch_values, b=sketch_values, shared=sketch_values)
def test_the_quick_repost_test_decides_as_the_similarity_does(a: frozenset, b: frozenset, shared: frozenset) -> None:
    from civicsearch.ingest.fingerprint import SKETCH, THRESHOLD, is_repost, set_similarity

    # Sketches of overlapping sets: the common values plus each one's own, SKETCH at most.
    sa = frozenset(sorted(shared | a)[:SKETCH])
    sb = frozenset(sorted(shared | b)[:SKETCH])
    assert is_repost(sa, sb) == (set_similarity(sa, sb) >= THRESHOLD)


def _raw(values: frozenset) -> bytes:
    from array import array
    return array("Q", sorted(values)).tobytes()


@CHECKS
@given(shared=edge_values, own=st.lists(edge_values, min_size=0, max_size=12), wanted=st.integers(1, 6))
def test_the_fold_matrix_decides_as_the_pairwise_test_does(shared: frozenset, own: list, wanted: int) -> None:
    from civicsearch.ingest.fingerprint import SKETCH, is_repost, repost_pairs, values
    from civicsearch.search.collapse import collapse_similar

    # Sketches drawn around one shared core, so that many pairs are reposts; some empty.
    raws = [_raw(frozenset(sorted(shared | extra)[:SKETCH])) if k % 5 != 4 else b"" for k, extra in enumerate(own)]
    matrix = repost_pairs(raws)
    for i, a in enumerate(raws):
        for j, b in enumerate(raws):
            expected = i != j and bool(a) and bool(b) and is_repost(values(a), values(b))
            assert matrix[i, j] == expected
    # The fold: each document joins the first kept one it reposts (the loop it replaced).
    kept: list[tuple[int, list[int]]] = []
    for d, raw in enumerate(raws):
        home = next((similar for rep, similar in kept if raw and raws[rep] and is_repost(values(raw), values(raws[rep]))),
                    None)
        if home is not None:
            home.append(d)
        elif len(kept) < wanted:
            kept.append((d, []))
    assert collapse_similar(range(len(raws)), raws, wanted) == kept


@CHECKS
@given(values=st.lists(st.one_of(st.integers(0, 40), st.integers(0, 2**64 - 1)), max_size=400))
def test_a_sketch_keeps_the_smallest_distinct_values(values: list) -> None:
    """The partial sort must keep what sorting them all keeps, however many values repeat."""
    import numpy as np

    from civicsearch.ingest.fingerprint import SKETCH, _smallest

    array = np.array(values, dtype=np.uint64)
    assert _smallest(array).tolist() == sorted(set(values))[:SKETCH]


@CHECKS
@given(values=st.lists(st.one_of(st.integers(-3, 3), st.integers(-2**40, 2**52), st.integers(-2**62, 2**62)),
                       max_size=300))
def test_the_radix_sort_orders_as_a_stable_sort(values: list) -> None:
    """A flush sorts its keys sixteen bits at a time: ties must keep their order, as numpy's stable sort keeps them."""
    import numpy as np

    from civicsearch.index.radix import stable_argsort

    keys = np.array(values, dtype=np.int64)
    assert stable_argsort(keys).tolist() == np.argsort(keys, kind="stable").tolist()
    few = keys % 5  # many ties
    assert stable_argsort(few).tolist() == np.argsort(few, kind="stable").tolist()


@CHECKS
@given(parts=st.lists(st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 40), max_size=60), max_size=8),
       presorted=st.booleans())
def test_the_union_of_sorted_arrays_is_their_distinct_values(parts: list, presorted: bool) -> None:
    """The did-you-mean joins each segment's sorted term codes: the union is np.unique's, in any case."""
    import numpy as np

    from civicsearch.index.radix import union

    arrays = [np.array(sorted(p) if presorted else p, dtype="<u8") for p in parts]
    expected = np.unique(np.concatenate(arrays)) if arrays else np.zeros(0, dtype="<u8")
    found = union(arrays)
    assert found.dtype == np.dtype("<u8") and found.tolist() == expected.tolist()


def test_the_fold_matrix_holds_a_pair_at_the_threshold_exactly() -> None:
    from civicsearch.ingest.fingerprint import THRESHOLD, repost_pairs

    # Three shared of the union's five: 0.6, the threshold itself, is a repost; 2 of 6 is not.
    raws = [_raw(frozenset({1, 2, 3, 4})), _raw(frozenset({1, 2, 3, 5})), _raw(frozenset({1, 2, 6, 7}))]
    assert THRESHOLD == 0.6
    assert repost_pairs(raws).tolist() == [[False, True, False], [True, False, False], [False, False, False]]


@CHECKS
@given(sketches=st.lists(st.frozensets(st.integers(1, 60), max_size=24), min_size=2, max_size=14))
def test_shared_counts_by_pairs_and_by_product_are_the_intersections(sketches: list) -> None:
    import numpy as np

    from civicsearch.ingest.fingerprint import _shared_counts

    # A small universe of values, so that some sketches share many and others none.
    flat = np.array([v for s in sketches for v in sorted(s)], dtype=np.uint64)
    sizes = np.array([len(s) for s in sketches], dtype=np.int64)
    expected = np.array([[len(a & b) if i != j else 0 for j, b in enumerate(sketches)]
                         for i, a in enumerate(sketches)])
    for max_pairs in (0, 10**9, None):  # the product, the pairs, and whichever the size picks
        assert (_shared_counts(flat, sizes, max_pairs) == expected).all()


# Text as the bigram tokenizer meets it: Han runs of every length, the Han ranges'
# edges, letters, digits and decimals, full-width and traditional forms, astral and
# lone surrogate characters, punctuation.
GRAM_PIECES = ["居委会", "加裝電梯", "第", "3", "3.14", "1.2.x", "ＡＢＣ", "abc12", "〇", "\u3400", "\u4dbf",
               "\u9fff", "\uf900", "\ufaff", "\u33ff", "𠀀", "\ud800", "\udfff", "，", " ", "\n", ".", "_"]
gram_text = st.one_of(st.text(max_size=40),
                      st.lists(st.one_of(st.sampled_from(GRAM_PIECES), st.text(max_size=3)), max_size=16).map("".join))


@CHECKS
@given(texts=st.lists(gram_text, min_size=1, max_size=4))
def test_the_pools_codes_are_the_bigram_tokens(texts: list[str]) -> None:
    from collections import Counter

    import numpy as np

    from civicsearch.index.grampool import gram_code, gram_codes, gram_names, gram_term
    from civicsearch.text.bigrams import count_grams

    words: dict[str, int] = {}
    for text in texts:  # one numbering of the runs of letters and digits, as in a pool
        codes = gram_codes(text, words).tolist()
        assert Counter(gram_term(c, list(words)) for c in codes) == count_grams(text)
        assert all(gram_code(gram_term(c, list(words)), words) == c for c in codes)
        distinct = np.unique(np.asarray(codes, dtype=np.int64))  # a flush names its sorted codes at once
        assert gram_names(distinct, list(words)) == [gram_term(c, list(words)).encode() for c in distinct.tolist()]


@CHECKS
@given(a=st.lists(st.integers(-5, 60)), b=st.lists(st.integers(-5, 60)))
def test_sorted_keys_within_others_are_the_set_intersection(a: list, b: list) -> None:
    import numpy as np

    from civicsearch.index.postings import within

    # Occurrence keys come sorted, and a sub-word repeated inside one word repeats one.
    keys, others = np.array(sorted(a), dtype=np.int64), np.array(sorted(b), dtype=np.int64)
    assert within(keys, others).tolist() == [k for k in sorted(a) if k in set(b)]


spans_strategy = st.lists(
    st.tuples(st.integers(0, 3000), st.integers(0, 30), st.sampled_from(["加装", "电梯", "补贴", "申请", "老旧小区"])),
    min_size=1, max_size=300,
).map(lambda raw: sorted({(s, s + n, k) for s, n, k in raw}))


@CHECKS
@given(spans=spans_strategy, width=st.integers(LEAD + 1, 200))
def test_the_array_window_choice_is_the_loops(spans: list[tuple[int, int, str]], width: int) -> None:
    reach = width - LEAD
    expected = _best_window_loop(spans, reach)
    assert best_window(spans, width) == expected
    if all(e - s <= reach for s, e, _ in spans):
        assert _best_window_arrays(spans, reach) == expected
