"""The contract suite: the OpenSearch backend against a live cluster, answer by answer with the local backend.

Skipped unless ``$CIVICSEARCH_OPENSEARCH_URL`` names a cluster (no server can run where the
rest of the suite runs); run it as ``pytest -m opensearch`` (docs/opensearch.md). It loads the
bundled corpus, and with ``$CIVICSEARCH_BENCH_CORPUS`` (a folder of ``*.jsonl.gz``) every
``$CIVICSEARCH_BENCH_EVERY``-th bench record too, into a throw-away alias on the cluster and
into a local index, then compares every answer. The parity it holds the backend to:

* word, phrase, exclusion, OR, field, document-number and filter queries: identical totals,
  identical facets, identical hit sets when the totals fit on a page;
* highlights and snippets of a document found by both: identical (both are civicsearch's);
* long natural questions (ranked by the cluster's BM25, needing a share of the words): top-10
  overlap of at least 0.8 on average, every question finding something when the local one does.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import uuid
from pathlib import Path

import pytest

from civicsearch import SearchEngine
from civicsearch.text.normalize import fold

URL = os.environ.get("CIVICSEARCH_OPENSEARCH_URL")
BENCH = os.environ.get("CIVICSEARCH_BENCH_CORPUS")
CORPUS = Path(__file__).resolve().parent.parent / "corpus"

pytestmark = [pytest.mark.opensearch,
              pytest.mark.skipif(not URL, reason="no OpenSearch cluster: set CIVICSEARCH_OPENSEARCH_URL")]

EXACT = [("加装电梯", {}), ("嘉定", {}), ('"党群服务中心"', {}), ('"加装电梯 工作"', {}), ("电梯 -嘉定", {}),
         ("加装电梯 OR 城市更新", {}), ("标题:嘉定", {}), ("正文:物业", {}), ("文号:国办发", {}),
         ("嘉定", {"place": "嘉定区"}), ("社区", {"since": "2023"}), ("社区", {"until": "2022-12"}),
         ("通知", {"in_force": True}), ("疫情 防控", {"type": "通知"}), ("-电梯", {}), ("嘉定 火星人", {})]
LONG = ["北京市对于因疫情影响暂停举办的展会项目有何支持政策", "关于小区停车位不足和物业管理不规范问题的反映",
        "老旧小区加装电梯的补贴资金什么时候能够发放到位"]
OVERLAP = 0.8


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[SearchEngine, SearchEngine]:
    from civicsearch.backends.opensearch import OpenSearchBackend

    root = tmp_path_factory.mktemp("contract")
    corpus = root / "corpus"
    corpus.mkdir()
    for f in CORPUS.iterdir():
        (corpus / f.name).write_bytes(f.read_bytes())
    if BENCH:
        every = int(os.environ.get("CIVICSEARCH_BENCH_EVERY", "50"))
        with (corpus / "bench.jsonl").open("w", encoding="utf-8") as out:
            for f in sorted(Path(BENCH).glob("*.jsonl.gz")):
                with gzip.open(f, "rt", encoding="utf-8") as lines:
                    for line in itertools.islice(lines, 0, None, every):
                        out.write(json.dumps(json.loads(line), ensure_ascii=False) + "\n")
    name = f"civic-contract-{uuid.uuid4().hex[:8]}"
    remote = OpenSearchBackend(URL, name, root / "state", replicas=0)
    there = SearchEngine(backend=remote)
    here = SearchEngine(root / "local")
    here.index([corpus])
    there.index([corpus])
    yield here, there
    for index in remote._targets():
        remote.client.indices.delete(index=index)
    remote.client.indices.delete_index_template(name=name)
    here.close()
    there.close()


def test_the_same_documents(pair) -> None:
    here, there = pair
    assert there.stats().documents == here.stats().documents


@pytest.mark.parametrize("text,given", EXACT)
def test_exact_queries_have_the_same_answers(pair, text, given) -> None:
    here, there = pair
    a, b = here.search(text, limit=50, **given), there.search(text, limit=50, **given)
    assert b.total == a.total and b.relaxed == a.relaxed
    assert b.facets == a.facets
    if a.total <= 50 and not a.relaxed:
        assert {h.id for h in b.hits} | {i for h in b.hits for i in h.similar_ids} == \
            {h.id for h in a.hits} | {i for h in a.hits for i in h.similar_ids}
    theirs = {h.id: h for h in b.hits}
    for h in a.hits:
        if h.id in theirs:
            assert (theirs[h.id].snippet, theirs[h.id].highlights) == (h.snippet, h.highlights)


def test_quoted_phrases_match_exactly(pair) -> None:
    here, there = pair
    for text in ('"党群服务中心"', '"加装电梯 工作"', '"嘉定镇街道"'):
        b = there.search(text, limit=50, collapse=False)
        for h in b.hits:
            body = there.get(h.id)
            assert fold(text.strip('"').replace(" ", "")) in fold(body.title + body.body).replace(" ", "")
        assert b.total == here.search(text, limit=50, collapse=False).total


def test_long_questions_find_the_same_top_ten(pair) -> None:
    here, there = pair
    overlaps = []
    for text in LONG:
        a = [h.id for h in here.search(text, collapse=False).hits]
        b = [h.id for h in there.search(text, collapse=False).hits]
        if a:
            assert b, f"the cluster found nothing for {text!r}"
            overlaps.append(len(set(a) & set(b)) / len(a))
    assert not overlaps or sum(overlaps) / len(overlaps) >= OVERLAP
