"""Turn a raw record into a :class:`Document`: clean, pick the title, gather metadata."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from civicsearch.errors import DocumentReadError
from civicsearch.ingest.cleaning import clean
from civicsearch.ingest.dates import date_from_text
from civicsearch.ingest.docno import find_docnos
from civicsearch.ingest.headers import DATE_FIELDS, as_list, as_text, parse_date, split_header
from civicsearch.ingest.kinds import document_kind
from civicsearch.ingest.places import Place, resolve
from civicsearch.ingest.readers import RawRecord
from civicsearch.ingest.topics import assign_topics
from civicsearch.text.normalize import letters_only, strip_controls, unformat

_ORIGINAL_TITLE = re.compile(r"^_?本文原始标题\s*[:：]\s*(?P<t>.+)$")
_BYLINE = re.compile(r"^(?:记者|文|通讯员|作者|撰稿|文/图|图/文)\s*[:：/ ]")
_MASTHEAD = re.compile(r"主办|社区报|周报|日报|第\s*\d+\s*期|二维码|^[\W\d_a-zA-Z]+$|^(?:\S\s*/\s*){3,}")
_SENTENCE_END = "。！？!?；;"
#: Cleaning that keeps less than this share of a document's letters has mistaken
#: the text for junk: the document is indexed as read instead.
CLEAN_KEEPS_AT_LEAST = 0.25


@dataclass
class Document:
    """A cleaned document ready for the index."""

    doc_id: str
    path: str
    title: str
    body: str
    original: str
    date: datetime | None = None
    date_precision: str | None = None
    date_source: str | None = None
    place: Place | None = None
    #: Explicit place metadata that names no known division (e.g. an anonymised "A市").
    place_hint: str | None = None
    #: Official subject classes first, then the source's own labels.
    topics: list[str] = field(default_factory=list)
    doc_type: str | None = None
    #: The document's own numbers (发文字号), normalised: 国办发〔2024〕1号.
    docnos: list[str] = field(default_factory=list)
    source: str | None = None
    url: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    #: The record's own metadata as read (JSONL keys, front matter), for the fields that read it.
    record: dict[str, Any] = field(default_factory=dict)
    line: int | None = None
    #: Cleaning would have emptied the text (or nearly): it was indexed as read.
    uncleaned: bool = False

    @property
    def place_label(self) -> str | None:
        return self.place.label if self.place else self.place_hint


def _is_title_candidate(line: str) -> bool:
    s = line.strip()
    han = sum(1 for c in s if "\u4e00" <= c <= "\u9fff")
    # A line holding a full stop, or ending in a colon or comma, is running text (a reply's
    # opening), not a headline.
    return (han >= 4 and len(s) <= 80 and not _MASTHEAD.search(s) and s[-1] not in _SENTENCE_END
            and "。" not in s and "；" not in s and s[-1] not in "：:，,")


def pick_title(lines: list[str]) -> tuple[str, set[int]]:
    """The document's title from its first lines, and the line indexes it used.

    ``_本文原始标题:`` wins; a line just before a byline (记者 …) is a headline;
    else the first real line that reads like a title.
    """
    for i, line in enumerate(lines[:6]):
        m = _ORIGINAL_TITLE.match(line.strip())
        if m:
            used = {i}
            if i > 0 and lines[i - 1].strip():
                used.add(i - 1)  # the aggregator's (possibly cut) copy of the same title
            return m.group("t").strip(), used
    for i, line in enumerate(lines[:30]):
        if _BYLINE.match(line.strip()):
            for j in range(i - 1, -1, -1):
                if _is_title_candidate(lines[j]):
                    return lines[j].strip(), {j}
            break
    real = [i for i, line in enumerate(lines) if line.strip()]
    for i in real[:8]:
        # A one-paragraph text has no title line: its only line stays the body.
        if len(real) > 1 and _is_title_candidate(lines[i]):
            return lines[i].strip(), {i}
    for line in lines:
        if line.strip():
            return line.strip()[:60], set()
    return "", set()


def _letters(text: str) -> int:
    return len(letters_only(text))


def build_document(record: RawRecord) -> Document:
    """Clean a raw record and gather its metadata (best evidence first).

    Raises :class:`DocumentReadError` for a record with no text at all.
    """
    fields: dict[str, Any] = dict(record.fields)
    text = unformat(strip_controls(record.text.replace("\r\n", "\n").replace("\r", "\n")))
    header, text = split_header(text)
    cleaned = clean(text)
    # Counting letters costs: only when cleaning cut much is it worth a look.
    uncleaned = len(cleaned.text) < 2 * CLEAN_KEEPS_AT_LEAST * len(text) and \
        _letters(cleaned.text) < CLEAN_KEEPS_AT_LEAST * _letters(text)
    lines = ("\n".join(line.strip() for line in text.split("\n")).strip() if uncleaned else cleaned.text).split("\n")

    title = unformat(strip_controls(as_text(fields.get("title")) or header.get("标题") or header.get("名称") or "")).strip()
    if title:
        used = {i for i, line in enumerate(lines[:3]) if line.strip() == title}
    else:
        title, used = pick_title(lines)
    body = "\n".join(line for i, line in enumerate(lines) if i not in used).strip()
    if not title and not body:
        raise DocumentReadError(record.path, "no text", record.line)

    date = date_source = precision = None
    candidates = [("metadata", fields.get("date"))] + [("header", header.get(k)) for k in DATE_FIELDS]
    for where, value in candidates:
        parsed = parse_date(value) if value not in (None, "") else None
        if parsed:
            date = parsed.value.replace(tzinfo=None)  # stored as China local time
            precision, date_source = parsed.precision, where
            break
    if date is None:
        parsed = date_from_text(title, body)
        if parsed:
            date, precision, date_source = parsed.value.replace(tzinfo=None), parsed.precision, "text"

    explicit = as_text(fields.get("place")) or header.get("发布机构", "").strip() or None
    place = resolve(title, body, explicit)
    labels = as_list(fields.get("topic")) + as_list(fields.get("topics")) + as_list(header.get("主题分类"))
    topics = assign_topics(title, body) + labels
    docnos = find_docnos(" ".join([header.get("文号", ""), header.get("发文字号", ""), title, body[:200]]))
    meta = {k: v for k, v in header.items() if v and k not in ("浏览次数", "字体")}
    source = as_text(fields.get("source")) or cleaned.source or header.get("信息来源")
    return Document(
        doc_id=record.doc_id,
        path=record.path,
        title=title,
        body=body,
        original=record.text.strip(),
        date=date,
        date_precision=precision,
        date_source=date_source,
        place=place,
        place_hint=explicit if place is None else None,
        topics=list(dict.fromkeys(topics)),
        doc_type=document_kind(title, body, fields, header),
        docnos=docnos,
        source=str(source).strip() if source else None,
        url=as_text(fields.get("url")),
        meta=meta,
        record={k: v for k, v in fields.items() if k != "text"},
        line=record.line,
        uncleaned=uncleaned,
    )
