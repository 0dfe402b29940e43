"""Posting arrays (civicsearch.index.postarrays): the only home of the words and bigrams
(tests/test_writer.py holds the words to what Whoosh's own writer would keep)."""

from __future__ import annotations

import json
import random
from array import array
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS, fields_of
from whoosh.util.numeric import byte_to_length, length_to_byte

from civicsearch import IndexDamagedError, SearchEngine
from civicsearch.index import postarrays
from civicsearch.index.columns import coded_fields
from civicsearch.index.grampool import FIELD as GRAMS
from civicsearch.ingest.readers import read_path
from civicsearch.text.bigrams import count_grams
from civicsearch.text.tokens import iter_words

QUERIES = ["加装电梯", "老旧小区加装电梯的补贴怎么申请", "垃圾分类 志愿者", "\"居民议事\"",
           "街道社区卫生服务中心开展健康义诊活动", "嘉定 2023 工作计划", "电梯"]


def _corpus(folder: Path, n: int = 240) -> Path:
    """The seeds and ``n`` records mixed from their sentences: enough documents for the
    bigram ranking (RankParams.min_gram_docs) and terms with many postings."""
    sentences = [s for p in SEEDS for s in p.read_text(encoding="utf-8").replace("\n", "。").split("。") if s.strip()]
    rnd = random.Random(7)
    folder.mkdir()
    for p in SEEDS:
        (folder / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    with open(folder / "mixed.jsonl", "w", encoding="utf-8") as f:
        for i in range(n):
            text = "。".join(rnd.sample(sentences, k=min(len(sentences), 3 + i % 9)))
            f.write(json.dumps({"id": f"mix{i}", "title": sentences[i % len(sentences)][:30], "text": text},
                               ensure_ascii=False) + "\n")
    return folder


def _updated(folder: Path, tmp_path: Path) -> SearchEngine:
    """An index built, then updated (a second segment, deletions, Whoosh's merge)."""
    engine = SearchEngine(tmp_path / "ix")
    engine.index([folder])
    lines = (folder / "mixed.jsonl").read_text(encoding="utf-8").split("\n")
    (folder / "mixed.jsonl").write_text("\n".join(lines[::2]), encoding="utf-8")
    (folder / "more.jsonl").write_text(
        "\n".join(json.dumps({"id": f"more{i}", "text": f"第{i}批老旧小区加装电梯申请受理。"}, ensure_ascii=False)
                  for i in range(40)), encoding="utf-8")
    engine.index([folder])
    return engine



def _find(arrays: postarrays.PostingArrays, keys: list[bytes]) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Each key's postings as :meth:`PostingArrays.ranges` finds them all at once (None: not held)."""
    out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(keys)
    members, lo, hi = arrays.ranges(postarrays.KeySet(keys))
    for k, a, b in zip(members.tolist(), lo.tolist(), hi.tolist()):
        out[k] = arrays.docnums[a:b], arrays.weights.slice(a, b)
    return out

def test_arrays_hold_the_words_and_bigrams_of_every_segment_through_updates_and_merges(tmp_path: Path) -> None:
    engine = _updated(_corpus(tmp_path / "corpus"), tmp_path)
    storage = engine.backend.storage()
    reader = storage.reader
    leaves = list(reader.leaf_readers())
    assert len(leaves) > 1 or reader.has_deletions()
    checked = {"title": 0, "body": 0, GRAMS: 0}
    for leaf, offset in leaves:
        arrays = postarrays.for_leaf(leaf)
        assert arrays.fields == {"title", "body", GRAMS}
        assert not [t for f, t in leaf.all_terms() if f in ("title", "body")]  # none in Whoosh's files
        # Every occurrence of every word, deleted documents too (until a merge drops them),
        # is what the stored text analyzes to.
        for fieldname in ("title", "body"):
            expected: dict[bytes, list[tuple[int, int, int]]] = {}
            for d in range(leaf.doc_count_all()):
                for term, pos, start, end in iter_words(leaf.stored_fields(d).get(fieldname) or "", subwords=True):
                    expected.setdefault(term.encode(), []).append((d, pos, start))
            assert sorted(arrays.terms(fieldname)) == sorted(expected)
            texts = {d: leaf.stored_fields(d).get(fieldname) or "" for d in range(leaf.doc_count_all())}
            for tbytes, occurrences in expected.items():
                docnums, bounds, flat = arrays.get_positions(postarrays.key_of(fieldname, tbytes))
                got = []
                for i, d in enumerate(docnums.tolist()):
                    at = flat[bounds[i]: bounds[i + 1]].tolist()
                    starts = postarrays.occurrence_starts(arrays.starts(fieldname, d), at, tbytes.decode(), texts[d])
                    got += [(d, p, s) for p, s in zip(at, starts)]
                assert got == occurrences
                checked[fieldname] += 1
        # The bigrams are in the arrays only: they must be what each stored body
        # (deleted documents' too, until a merge drops them) counts to.
        expected: dict[bytes, list[tuple[int, int]]] = {}
        lengths = []
        for d in range(leaf.doc_count_all()):
            counts = count_grams(leaf.stored_fields(d)["body"])
            lengths.append(sum(counts.values()))
            for gram, n in counts.items():
                expected.setdefault(gram.encode(), []).append((d, n))
        got_grams = {t: list(zip(ids.tolist(), weights.astype(int).tolist()))
                     for t, ids, weights in arrays.field_terms(GRAMS)}
        assert got_grams == expected and not arrays.has_positions(GRAMS)
        assert arrays.lengths(GRAMS).tolist() == [byte_to_length(length_to_byte(n)) for n in lengths]
        for fieldname in ("title", "body"):  # as Whoosh keeps them too
            assert arrays.lengths(fieldname).tolist() == [leaf.doc_field_length(d, fieldname) or 0
                                                          for d in range(leaf.doc_count_all())]
        checked[GRAMS] += len(got_grams)
    assert min(checked.values()) > 100
    assert arrays.get(postarrays.key_of("body", "不在索引里的词".encode())) is None
    engine.close()


def _answers(engine: SearchEngine) -> list[list[tuple[str, float, int]]]:
    out = []
    for q in QUERIES:
        res = engine.search(q, limit=10)
        out.append([(h.doc_id, h.score, res.total) for h in res.hits])
    return out


def test_a_damaged_or_missing_arrays_file_is_a_damaged_index(tmp_path: Path) -> None:
    folder = _corpus(tmp_path / "corpus", n=20)
    engine = SearchEngine(tmp_path / "ix")
    engine.index([folder])
    assert _answers(engine)[0]
    engine.close()
    files = list((tmp_path / "ix").glob("gen-*/*" + postarrays.EXTENSION))
    assert files
    for f in files:
        data = f.read_bytes()
        f.write_bytes(data[: len(data) // 2])
    again = SearchEngine(tmp_path / "ix")
    with pytest.raises(IndexDamagedError, match=r"damaged \(gen-[^/]*/[^/]*\.csa is unreadable: shorter than .*full=True"):
        again.search("加装电梯")
    again.close()
    for f in files:
        f.unlink()
    with pytest.raises(IndexDamagedError, match=r"\.csa is missing"):
        SearchEngine(tmp_path / "ix").search("加装电梯")


def _postings(terms: list[tuple[bytes, list[int], list[float], np.ndarray | None]], positioned: bool) -> postarrays.Postings:
    block = postarrays.Postings.of((t, array("I", ids), array("d", weights)) for t, ids, weights, _ in terms)
    if positioned:
        block.positions = np.concatenate([p for *_, p in terms])
    return block


def _position_starts(arrays: postarrays.PostingArrays, fieldname: str, docnums: np.ndarray, bounds: np.ndarray,
                     flat: np.ndarray) -> list[int]:
    """Where each occurrence's position starts, posting after posting."""
    return [int(arrays.starts(fieldname, d)[p]) for i, d in enumerate(docnums.tolist())
            for p in flat[bounds[i]: bounds[i + 1]].tolist()]


def test_the_file_round_trips(tmp_path: Path) -> None:
    def term(i: int) -> tuple[bytes, list[int], list[float], np.ndarray]:
        ids = list(range(i, 3 * i + 1, 2))
        weights = [float(1 + k % 4) for k in ids]
        positions = np.asarray([(7 * k + j, 40 * k + 3 * j)
                                for k, w in zip(ids, weights) for j in range(int(w))], dtype=np.int64)
        # Short terms are kept by code, longer ones by hash: both kinds here.
        return (f"词{i}" if i % 2 else f"很长的一个词语{i}").encode(), ids, weights, positions

    body = [term(i) for i in range(1, 60)]
    fractional = [(b"t", [0, 70_000], [0.5, 2.0], None)]
    for case, doc_count, title in (("small", 200, []), ("large", 100_000, fractional)):
        path = tmp_path / (case + postarrays.EXTENSION)
        lengths = np.arange(doc_count) * 3
        with open(path, "wb") as f:
            postarrays.write(f, {"body": _postings(body, True), "title": _postings(title, False)}, doc_count,
                             lengths={GRAMS: lengths})
        arrays = postarrays.PostingArrays(str(path))
        assert arrays.docnums.dtype.itemsize == (2 if case == "small" else 4)
        assert arrays.weights.main.dtype.str == ("|u1" if case == "small" else "<f4")
        assert arrays.positions.dtype.itemsize == 2  # every position below 65,536
        assert arrays.has_positions("body") and not arrays.has_positions("title")
        assert "title" in arrays.fields and GRAMS not in arrays.fields
        assert arrays.lengths(GRAMS).tolist() == [byte_to_length(length_to_byte(n)) for n in lengths.tolist()]
        tables = [t for field in arrays._tables.values() for t in field]
        assert {t.coded for t in arrays._tables["body"] if len(t.lookup)} == {True, False}
        for view in (*(a for t in tables for a in (t.lookup, t.starts, t.pos_starts, t.key_starts) if a is not None),
                     arrays.docnums, arrays.weights.main, arrays.weights.at, arrays.positions,
                     *(a for starts in arrays.word_starts.values() for a in (starts.runs, starts.packed, starts.at,
                                                                              starts.values))):
            assert view.flags.aligned  # a misaligned table is copied on every search
        assert sorted(arrays.terms("body")) == sorted(t for t, *_ in body)
        # Many keys at once (each table searched once) as one at a time, missing ones too.
        keys = [postarrays.key_of(f, t) for f, terms in (("body", body), ("title", title)) for t, *_ in terms]
        keys += [postarrays.key_of("body", "词0".encode()), postarrays.key_of("nofield", b"x"),
                 postarrays.key_of("body", "不在这里的长词语".encode())]
        many = _find(arrays, keys)
        one = [arrays.get(k) for k in keys]
        assert [None if m is None else (m[0].tolist(), m[1].tolist()) for m in many] == \
            [None if o is None else (o[0].tolist(), o[1].tolist()) for o in one]
        assert many[-3:] == [None, None, None] and None not in many[:-3]
        for fieldname, terms in (("body", body), ("title", title)):
            assert sorted((t, ids.tolist(), w.tolist()) for t, ids, w in arrays.field_terms(fieldname)) == \
                sorted((t, ids, w) for t, ids, w, _ in terms)
            for tbytes, ids, weights, positions in terms:
                key = postarrays.key_of(fieldname, tbytes)
                got = arrays.get(key)
                assert got is not None
                assert got[0].tolist() == ids and got[1].tolist() == weights
                if positions is not None:
                    docnums, bounds, flat = arrays.get_positions(key)
                    assert docnums.tolist() == ids and np.array_equal(flat, positions[:, 0])
                    assert np.diff(bounds).tolist() == weights
                    assert _position_starts(arrays, fieldname, docnums, bounds, flat) == positions[:, 1].tolist()
    assert arrays.get(postarrays.key_of("title", "词1".encode())) is None
    assert arrays.get(postarrays.key_of("body", "词0".encode())) is None
    assert arrays.get_positions(postarrays.key_of("body", "词0".encode())) is None


def test_short_terms_are_coded_one_to_one() -> None:
    terms = ["加", "加装", "加装电", "a", "ab", "abc", "𠀀", "𠀀𠀁𠀂", "\U0010ffff" * 3]
    codes = [postarrays.term_code(t.encode()) for t in terms]
    assert None not in codes and len(set(codes)) == len(codes)
    assert [postarrays._code_term(c) for c in codes] == [t.encode() for t in terms]
    assert all(c < 2**63 for c in codes)
    assert postarrays.term_code("加装电梯".encode()) is None and postarrays.term_code(b"") is None
    # Read as code points and back, in arrays, and as text.
    points = postarrays.code_points(np.asarray(codes, dtype=np.uint64))
    assert postarrays.point_codes(points).tolist() == codes
    assert postarrays.point_codes(points[:, 1:]).tolist() == [postarrays.term_code(t[-2:].encode()) for t in terms]
    assert postarrays.code_texts(np.asarray(codes, dtype=np.uint64)) == terms


def test_terms_are_coded_at_once_as_one_at_a_time() -> None:
    """A flush codes its terms in one pass: each must get what term_code gives it, for any
    bytes (empty, long, beyond the BMP, and not UTF-8: a term cut inside a character)."""
    rng = random.Random(5)
    alphabet = ["a", "7", "é", "加", "装", "电", "梯", "\U00020000", "\U0010FFFF", "中"]
    for n in range(400):
        terms = ["".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 2, 3, 3, 4, 6]))).encode()
                 for _ in range(rng.randrange(0, 30))]
        if n % 4 == 3 and terms:  # some bytes that are not UTF-8 by themselves
            k = rng.randrange(len(terms))
            terms[k] = terms[k][:-1] if len(terms[k]) > 1 else b"\xff"
        expected = [-1 if (code := postarrays.term_code(t)) is None else code for t in terms]
        assert postarrays.term_codes(terms).tolist() == expected, terms
    # A character cut in two between neighbouring terms: the bytes end to end are UTF-8.
    cut = "加".encode()
    assert postarrays.term_codes([cut[:2], cut[2:], b"ab"]).tolist() == [-1, -1, postarrays.term_code(b"ab")]


def test_positions_beyond_two_bytes_are_kept_whole(tmp_path: Path) -> None:
    path = tmp_path / ("wide" + postarrays.EXTENSION)
    positions = np.asarray([(3, 10), (70_000, 4_000_000), (5_000_000, 4_200_000)], dtype=np.int64)
    with open(path, "wb") as f:
        postarrays.write(f, {"body": _postings([(b"x", [4], [3.0], positions)], True)}, 10)
    arrays = postarrays.PostingArrays(str(path))
    docnums, bounds, words = arrays.get_positions(postarrays.key_of("body", b"x"))
    assert words.tolist() == positions[:, 0].tolist() and words.dtype.itemsize == 4
    assert _position_starts(arrays, "body", docnums, bounds, words) == [10, 4_000_000, 4_200_000]
    fresh = postarrays.PostingArrays(str(path))
    starts = fresh.starts("body", 4, 70_001)  # the positions before and between stand where the one before does
    assert len(starts) == 70_001 and starts[:4].tolist() == [0, 0, 0, 10] and starts[69_999] == 10
    assert starts[70_000] == 4_000_000
    whole = fresh.starts("body", 4)  # asked for more: decoded again, whole
    assert len(whole) == 5_000_001 and whole[-1] == 4_200_000 and fresh.starts("body", 4, 3) is whole


def test_frequencies_and_characters_beyond_their_type_are_kept_apart(tmp_path: Path) -> None:
    # A byte a frequency and four bits a word start's gap: what does not fit is kept apart
    # (a word said 255 times or more, a gap of 15 characters or more), and read back whole.
    path = tmp_path / ("apart" + postarrays.EXTENSION)
    weights = [1.0, 254.0, 255.0, 300.0, 2.0]
    n = int(sum(weights))
    positions = np.column_stack((np.arange(n), np.arange(n) * 300)).astype(np.int64)
    terms = [(b"a", [0, 1, 2, 5, 9], weights, positions), (b"b", [3, 4], [256.0, 1.0], None)]
    with open(path, "wb") as f:
        postarrays.write(f, {"body": _postings(terms[:1], True), "title": _postings(terms[1:], False)}, 10)
    arrays = postarrays.PostingArrays(str(path))
    assert arrays.weights.main.dtype.itemsize == 1 and arrays.word_starts["body"].packed.dtype.itemsize == 1
    assert len(arrays.weights.at) == 3 and len(arrays.word_starts["body"].at) == n - 1  # every gap but the first
    ids, got = arrays.get(postarrays.key_of("body", b"a"))
    assert ids.tolist() == [0, 1, 2, 5, 9] and got.tolist() == weights
    assert arrays.get(postarrays.key_of("title", b"b"))[1].tolist() == [256, 1]
    # Looked up together, as a query's terms are: the same values, kept apart or not.
    found = _find(arrays, [postarrays.key_of(f, t) for f, t in (("title", b"b"), ("title", b"zz"), ("body", b"a"))])
    assert found[1] is None
    assert found[0][1].tolist() == [256, 1]
    assert found[2][0].tolist() == [0, 1, 2, 5, 9] and found[2][1].tolist() == weights
    # Gathered in one step, as a query reads every segment: the runs in either order.
    keys = postarrays.KeySet([postarrays.key_of(f, t) for f, t in (("body", b"a"), ("title", b"b"))])
    members, lo, hi = arrays.ranges(keys)
    for order in (np.arange(len(lo)), np.arange(len(lo))[::-1]):  # runs in either order
        docnums, got = arrays.gather(lo[order], (hi - lo)[order])
        every = postarrays.spans(lo[order], (hi - lo)[order])
        assert docnums.tolist() == arrays.docnums[every].tolist()
        assert got.tolist() == [arrays.weights.slice(r, r + 1)[0] for r in every.tolist()]
    assert sorted(got.tolist()) == sorted(weights + [256, 1])
    # Part of a run, and an empty one: the kept-apart values still land in their places.
    for a, b in ((int(lo[0]) + 1, int(hi[0])), (int(lo[0]), int(lo[0])), (int(lo[1]), int(hi[1]) - 1)):
        _, got = arrays.gather(np.array([a]), np.array([b - a]))
        assert got.tolist() == arrays.weights.slice(a, b).tolist()
    docnums, bounds, flat = arrays.get_positions(postarrays.key_of("body", b"a"))
    assert np.diff(bounds).tolist() == weights
    assert _position_starts(arrays, "body", docnums, bounds, flat) == positions[:, 1].tolist()
    merged = arrays.field_postings("body")
    assert merged[3].tolist() == weights and merged[5].tolist() == positions[:, 1].tolist()


def test_a_file_of_another_layout_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ("old" + postarrays.EXTENSION)
    with open(path, "wb") as f:
        postarrays.write(f, {"body": _postings([(b"x", [0], [1.0], None)], False)}, 10)
    data = path.read_bytes()
    path.write_bytes(b"CSARR06\n" + data[len(postarrays.MAGIC):])  # an earlier layout's magic
    with pytest.raises(ValueError, match="not a posting array file"):
        postarrays.PostingArrays(str(path))


def _given_columns(folder: Path, reader: object, names: frozenset[str]) -> dict[str, list]:
    """Each column's value of every document as the indexer hands it over (from the corpus:
    a deleted document's is :data:`GONE`), the column's default where a document gives none,
    None for every document of a segment where none gives one."""
    records = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        for rec in read_path(path, folder):
            fields = fields_of(rec)
            records[fields["id"]] = fields
    out: dict[str, list] = {name: [] for name in names}
    for leaf, _ in reader.leaf_readers():  # type: ignore[attr-defined]
        given = [None if leaf.is_deleted(d) else records[leaf.stored_fields(d)["id"]]
                 for d in range(leaf.doc_count_all())]
        for name in names:
            field = reader.schema[name]  # type: ignore[attr-defined]
            values = [GONE if g is None else g.get(name) for g in given]
            held = any(v is not None and v is not GONE for v in values)
            default = field.column_type.default_value()
            out[name] += [v if v is GONE else None if not held else default if v is None
                          else field.to_column_value(v) for v in values]
    return out


GONE = object()


def test_the_coded_columns_read_as_the_values_given(tmp_path: Path) -> None:
    engine = _updated(_corpus(tmp_path / "corpus"), tmp_path)
    (tmp_path / "corpus" / "bare.txt").write_text("没有日期也没有地点的一段话。", encoding="utf-8")
    engine.index([tmp_path / "corpus"])  # a segment without some columns' values
    storage = engine.backend.storage()
    reader = storage.reader
    names = coded_fields(reader.schema)
    assert {"datekey", "sketch", "place_facet", "topic_facet"} <= names
    given = _given_columns(tmp_path / "corpus", reader, names)
    for name in sorted(names):
        # Kept in the posting arrays only: Whoosh's files hold no such column.
        assert not any(leaf.has_column(name) for leaf, _ in reader.leaf_readers()), name
        expected = given[name]
        live = [d for d, v in enumerate(expected) if v is not GONE]
        assert len(live) > 150
        # One document at a time, each decoded alone (what collapsing reads)...
        fresh = type(storage.columns)(reader)
        view = fresh.view(name)
        assert len(view) == len(expected) and [view[d] for d in live] == [expected[d] for d in live], name
        with pytest.raises(IndexError):
            view[len(expected)]
        # ...and the whole column at once.
        whole = storage.columns[name]
        assert len(whole) == len(expected) and [whole[d] for d in live] == [expected[d] for d in live], name
        # Counted a segment at a time (a field's first count), then over the index's numbering.
        docs = np.asarray(live[::2], dtype=np.int64)
        wanted = Counter(expected[d] for d in docs.tolist() if expected[d] not in (None, b"", 0))
        assert fresh.counts(name, docs) == wanted and name not in fresh._codes, name
        assert fresh.counts(name, docs) == wanted and name in fresh._codes, name
        codes, distinct = storage.columns.codes(name)
        assert [distinct[c] for c in codes[live].tolist()] == [expected[d] for d in live]
        assert len(set(distinct)) == len(distinct)
    assert None in given["datekey"] and b"" in given["place_facet"]  # no value, and the default
    assert len(set(storage.columns["datekey"])) > 1 and len(set(storage.columns["sketch"])) > 100
    engine.close()


def test_a_bytes_columns_values_are_cut_out_as_asked() -> None:
    values = [b"", b"a", "嘉定".encode(), b"xyz" * 10] * 20
    starts = np.asarray([0, *np.cumsum([len(v) for v in values])], dtype="<u8")
    blobs = postarrays.Blobs(starts, np.frombuffer(b"".join(values), dtype=np.uint8))
    assert len(blobs) == 80 and blobs[2] == values[2] and blobs[-1] == values[-1]
    assert blobs.take([3, 0, 3]) == [values[3], values[0], values[3]]
    assert blobs.take(list(range(0, 80, 2))) == values[::2] and blobs.take([]) == []
    assert blobs._every is None  # taking cuts out only the values asked for
    assert list(blobs) == values and values[2] in blobs and b"nope" not in blobs
    assert blobs.take([1, 2]) == values[1:3] and blobs[-80] == values[0]  # all read: taken from them
    with pytest.raises(IndexError):
        blobs[80]
    with pytest.raises(IndexError):
        postarrays.Blobs(starts, np.frombuffer(b"".join(values), dtype=np.uint8))[-81]
