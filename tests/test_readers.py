from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from conftest import seed

from civicsearch.errors import DocumentReadError
from civicsearch.ingest.documents import build_document
from civicsearch.ingest.readers import KnownRecord, RawRecord, Skipped, decode_bytes, iter_files, read_jsonl, read_path


def read_all(path: Path, root: Path | None = None) -> list[RawRecord | Skipped]:
    return list(read_path(path, root or path.parent))


def test_markdown_front_matter_with_html_body(tmp_path):
    (rec,) = read_all(seed("000"))
    assert rec.fields["title"].startswith("陆方舟调研嘉定镇街道")
    assert rec.is_html and "<p>" not in rec.text and "img" not in rec.text
    assert "社区党群服务中心建设发展情况" in rec.text


def test_html_file_gives_text_and_title(tmp_path):
    page = tmp_path / "notice.html"
    page.write_text(
        "<html><head><title>关于加装电梯的通知</title><style>p{}</style></head>"
        "<body><p>各居民区：</p><p>现就既有住宅加装电梯工作通知如下。</p><script>var x=1</script></body></html>",
        "utf-8",
    )
    (rec,) = read_all(page)
    doc = build_document(rec)
    assert doc.title == "关于加装电梯的通知"
    assert "现就既有住宅加装电梯工作通知如下" in doc.body and "var x" not in doc.body


def test_jsonl_and_gzip_records_keep_their_ids_and_fields(tmp_path):
    rows = [
        {"id": "a1", "title": "甲", "date": "2023-05-01", "url": "http://x/1", "text": "第一篇正文。", "topic": "城乡建设"},
        {"id": "a2", "text": "第二篇正文。", "place": "上海市/嘉定区"},
    ]
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    (tmp_path / "dump.jsonl").write_bytes(data)
    (tmp_path / "dump2.jsonl.gz").write_bytes(gzip.compress(data.replace(b'"a', b'"b')))
    recs = read_all(tmp_path / "dump.jsonl") + read_all(tmp_path / "dump2.jsonl.gz")
    assert [r.doc_id for r in recs] == ["a1", "a2", "b1", "b2"]
    assert recs[0].fields["url"] == "http://x/1" and recs[0].line == 1 and recs[1].line == 2
    doc = build_document(recs[1])
    assert doc.place_label == "上海市/嘉定区" and doc.title == "第二篇正文。"


def test_bad_jsonl_lines_are_reported_with_their_number_and_the_rest_is_read(tmp_path):
    f = tmp_path / "dump.jsonl"
    f.write_text('{"id": "ok1", "text": "好"}\n{"id": broken\n[1, 2]\n{"text": "无id"}\n{"id": "ok2", "text": "也好"}\n', "utf-8")
    recs = read_all(f)
    good = [r.doc_id for r in recs if isinstance(r, RawRecord)]
    bad = [(r.line, r.reason) for r in recs if isinstance(r, Skipped)]
    assert good == ["ok1", "ok2"]
    assert [line for line, _ in bad] == [2, 3, 4]
    assert "malformed JSON" in bad[0][1]


def test_gb18030_and_bom_files_decode(tmp_path):
    text = seed("001").read_text("utf-8")
    (tmp_path / "gbk.txt").write_bytes(text.encode("gb18030"))
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    for name in ("gbk.txt", "bom.txt"):
        (rec,) = read_all(tmp_path / name)
        assert rec.text == text


def test_big5_bytes_are_refused_not_guessed():
    big5 = "臺北市政府公告：本市將於明年推動老舊公寓增設電梯補助計畫，請市民踴躍申請。".encode("big5")
    with pytest.raises(DocumentReadError, match="undecodable"):
        decode_bytes(big5)


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("binary.txt", b"\x00\x01\x02PK\x03\x04" * 100, "binary"),
        ("empty.txt", b"", "empty"),
        ("latin1.txt", "caf\xe9 na\xefve r\xe9sum\xe9 \xff\xfe".encode("latin-1") * 3, "undecodable"),
        ("bad.md", "---\ntitle: [unclosed\n---\n正文".encode(), "malformed YAML front matter"),
        ("open.md", "---\ntitle: 无结尾\n正文".encode(), "malformed YAML front matter"),
    ],
)
def test_unreadable_files_are_skipped_with_a_reason(tmp_path, name, content, reason):
    f = tmp_path / name
    f.write_bytes(content)
    (item,) = read_all(f)
    assert isinstance(item, Skipped) and reason in item.reason and item.path == str(f)


def test_oversized_files_are_skipped(tmp_path):
    f = tmp_path / "big.txt"
    f.write_text("大" * 1000, "utf-8")
    (item,) = list(read_path(f, tmp_path, max_bytes=100))
    assert isinstance(item, Skipped) and "limit" in item.reason


def test_folders_are_walked_recursively_without_following_link_loops(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.md").write_text("深层文件", "utf-8")
    (tmp_path / "top.txt").write_text("顶层文件", "utf-8")
    (tmp_path / "skip.pdf").write_bytes(b"%PDF")
    (tmp_path / ".hidden.txt").write_text("隐藏", "utf-8")
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)
    found = [p.relative_to(tmp_path).as_posix() for p, _ in iter_files([tmp_path])]
    assert found == ["top.txt", "a/b/deep.md"]
    missing = list(iter_files([tmp_path / "nope"]))
    assert isinstance(missing[0], Skipped)


def test_jsonl_lines_the_caller_knows_are_not_parsed_again(tmp_path):
    lines = [json.dumps({"id": "a", "text": "加装电梯签约"}, ensure_ascii=False),
             json.dumps({"id": "b", "text": "<p>垃圾分类</p>"}, ensure_ascii=False)]
    f = tmp_path / "crawl.jsonl"
    f.write_text("\n".join(lines) + "\n", "utf-8")
    first = list(read_jsonl(f))
    assert [type(r) for r in first] == [RawRecord, RawRecord]
    known = {first[1].raw_hash: "b"}
    lines[0] = json.dumps({"id": "a", "text": "加装电梯竣工"}, ensure_ascii=False)
    f.write_text("\n".join(lines) + "\n", "utf-8")
    changed, same = read_jsonl(f, known=known)
    assert isinstance(changed, RawRecord) and changed.text == "加装电梯竣工"
    assert same == KnownRecord("b", str(f), 2, first[1].raw_hash)
