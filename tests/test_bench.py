"""The benchmark harness on a tiny bench of its own (the real one lives outside the repo)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from civicsearch import SearchEngine

BENCHMARKS = REPO / "benchmarks"

RECORDS = [
    {"id": "reply-1", "date": "2019-05-10", "text": "经调查，A2区景蓉花苑小区将于年内完成加装电梯工程，物业公司已进场施工。"},
    {"id": "reply-2", "date": "2019-06-01", "text": "关于B市生育保险报销的问题，男职工配偶未就业的，可按规定享受生育医疗费用补助。"},
    {"id": "law-1", "title": "上海市垃圾分类管理条例", "date": "2019-01-31",
     "text": "第一条 为了加强生活垃圾分类管理，改善人居环境，制定本条例。"},
]
DEV = [
    {"qid": "q1", "query": "景蓉花苑什么时候加装电梯？", "relevant": ["reply-1"]},
    {"qid": "q2", "query": "B市男职工生育险其配偶能报吗？", "relevant": ["reply-2"]},
]


def _bench_module():
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("bench", BENCHMARKS / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="module")
def tiny_bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bench = tmp_path_factory.mktemp("bench")
    (bench / "corpus").mkdir()
    with gzip.open(bench / "corpus" / "sample.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS)
    (bench / "queries").mkdir()
    (bench / "queries" / "dev.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in DEV), "utf-8")
    (bench / "queries" / "short.txt").write_text("加装电梯\n垃圾分类\n", "utf-8")
    return bench


def test_bench_skips_cleanly_without_the_bench_folder(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(BENCHMARKS / "bench.py"), "--bench", str(tmp_path / "absent")],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("skipped:")


def test_paired_queries_measure_both_engines_on_the_same_queries(tiny_bench: Path, tmp_path: Path) -> None:
    bench = _bench_module()
    ours, base = tmp_path / "ours", tmp_path / "baseline"
    assert SearchEngine(ours).index([tiny_bench / "corpus"], full=True).added == len(RECORDS)
    subprocess.run([sys.executable, str(BENCHMARKS / "_baseline.py"), "build", str(base), str(tiny_bench / "corpus")],
                   check=True, capture_output=True)
    out = bench.paired(ours, base, tiny_bench, every=1)
    for name in ("civicsearch", "baseline"):
        assert out[name]["dev"]["n"] == len(DEV)
        assert out[name]["short"]["n"] == 2
        assert 0 < out[name]["dev"]["p50_ms"] <= out[name]["dev"]["max_ms"]
    # civicsearch finds both replies first: the answers came back in step with their queries.
    assert out["civicsearch"]["ranking"] == {"n": 2, "mrr@10": 1.0, "recall@10": 1.0,
                                             "folded_mrr@10": 1.0, "folded_recall@10": 1.0}


def test_known_item_counts_a_folded_hit_only_when_asked() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    from _corpus import known_item

    queries = [{"relevant": ["r1"]}, {"relevant": ["r2"]}]
    ranked = [[["x", "r1"], ["r1"]], [["y"], ["r2", "z"]]]
    out = known_item(ranked, queries)
    assert (out["mrr@10"], out["recall@10"]) == (0.5, 1.0)  # both found second, strictly
    assert (out["folded_mrr@10"], out["folded_recall@10"]) == (0.75, 1.0)  # the first folds r1
    assert known_item([["a", "r1"]], queries[:1])["mrr@10"] == 0.5  # plain ids (the baseline's)


def test_scaling_skips_cleanly_without_the_bench_folder(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(BENCHMARKS / "scaling.py"), "--bench", str(tmp_path / "absent")],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("no bench corpus")


def test_scaling_builds_every_size_and_both_engines_answer(tiny_bench: Path, tmp_path: Path) -> None:
    results = tmp_path / "scaling.json"
    subprocess.run([sys.executable, str(BENCHMARKS / "scaling.py"), "--bench", str(tiny_bench), "--sizes", "0.5,1,3",
                    "--results", str(results)], check=True, capture_output=True, text=True)
    rows = json.loads(results.read_text("utf-8"))
    assert [r["docs"] for r in rows] == [2, 3, 9]  # a sample, the whole, three copies
    for r in rows:
        for engine in ("ours", "fts5"):
            assert r[engine]["short"]["n"] == 2 and r[engine]["long"]["n"] == 1 and r[engine]["longest 200"]["n"] == 2
