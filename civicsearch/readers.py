"""Read civic documents from files: formats, encodings, front matter, crawl dumps.

A reader yields :class:`RawRecord` objects for good input and :class:`Skipped`
for input it cannot read, so one bad file never stops a run.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from civicsearch.errors import DocumentReadError

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
#: Files larger than this are skipped (a crawl dump is split, a document is never this big).
DEFAULT_MAX_BYTES = 50_000_000


@dataclass
class RawRecord:
    """One document as read, before cleaning and metadata extraction."""

    doc_id: str
    path: str
    text: str
    fields: dict[str, Any] = field(default_factory=dict)
    line: int | None = None
    is_html: bool = False
    #: sha1 of the bytes the record came from (the file, or its JSONL line):
    #: an unchanged record is recognised without cleaning it again.
    raw_hash: str = ""


@dataclass
class KnownRecord:
    """A JSONL line whose bytes the caller already has (by sha1), so it is not parsed again."""

    doc_id: str
    path: str
    line: int
    raw_hash: str


@dataclass
class Skipped:
    """An input that was passed over, and why."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


def is_supported(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(TEXT_SUFFIXES + JSONL_SUFFIXES)


def iter_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, Path] | Skipped]:
    """Yield ``(file, root)`` for every supported file under ``paths``, in a stable order.

    Folders are walked recursively; hidden entries are ignored; symlinked folders
    are not followed (no loops). A path that does not exist is reported.
    """
    for given in paths:
        root = Path(given).resolve()
        if root.is_file():
            yield root, root.parent
        elif root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root, onerror=None):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    p = Path(dirpath) / name
                    if name.startswith(".") or not is_supported(p):
                        continue
                    if p.is_file() or not p.exists():
                        yield p, root  # a broken or looping link is reported when read
                    else:
                        yield Skipped(str(p), "not a regular file")
        else:
            yield Skipped(str(root), "no such file or folder")


# -- encodings ---------------------------------------------------------------


@lru_cache(maxsize=65536)
def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    if not sample:
        return False
    bad = sum(1 for c in sample if c < " " and c not in "\n\r\t\f\v")
    return bad / len(sample) > 0.01


def decode_bytes(data: bytes, path: str = "<bytes>") -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK.

    GB18030 decodes almost any byte string, so a GB18030 reading is accepted only
    when nearly all its Chinese characters are common (GB2312) ones: Big5 or other
    text read as GB18030 turns into rare characters and is refused, not guessed.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise DocumentReadError(path, f"undecodable UTF-16 ({e.reason})") from None
    elif b"\x00" in data[:8192]:
        raise DocumentReadError(path, "binary file (NUL bytes)")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                raise DocumentReadError(path, "undecodable: neither UTF-8 nor GB18030") from None
            han = [c for c in text[:20000] if "\u4e00" <= c <= "\u9fff"]
            if han and sum(map(_in_gb2312, han)) / len(han) < 0.9:
                raise DocumentReadError(path, "undecodable: not UTF-8, and as GB18030 it is not Chinese text")
    if _looks_binary(text):
        raise DocumentReadError(path, "binary file (control characters)")
    return text


# -- HTML --------------------------------------------------------------------

_BLOCK_TAGS = {
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section",
    "article", "table", "ul", "ol", "blockquote", "pre", "header", "footer", "dd", "dt",
}
_SKIP_TAGS = {"script", "style", "head", "noscript", "template", "svg"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.title: str | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        if tag == "title":
            self._in_title = True
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self.skip:
            self.skip -= 1
        if tag == "title":
            self._in_title = False
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = (self.title or "") + data.strip()
        elif not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str | None]:
    """Visible text of an HTML page or fragment (one line per block) and its <title>."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line), parser.title


def looks_like_html(text: str) -> bool:
    head = text[:4000].lower()
    return any(tag in head for tag in ("<p>", "<p ", "<div", "<br", "<html", "<body", "<span", "<table"))


# -- front matter ------------------------------------------------------------


def split_front_matter(text: str, path: str) -> tuple[dict[str, Any], str]:
    """Split YAML front matter (``---`` … ``---``) from the body; safe_load only."""
    stripped = text.lstrip()
    if not stripped.startswith("---"):
        return {}, text
    first_nl = stripped.find("\n")
    if first_nl < 0 or stripped[:first_nl].strip() != "---":
        return {}, text
    end = stripped.find("\n---", first_nl)
    if end < 0:
        raise DocumentReadError(path, "malformed YAML front matter: no closing ---")
    block = stripped[first_nl + 1 : end]
    rest = stripped[end + 4 :]
    rest = rest[rest.find("\n") + 1 :] if "\n" in rest else ""
    import yaml  # here, not at the top: searching imports this module and never needs YAML

    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise DocumentReadError(path, f"malformed YAML front matter{where}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DocumentReadError(path, "malformed YAML front matter: not a mapping")
    return data, rest


# -- files -------------------------------------------------------------------


def _doc_id(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def read_text_file(path: Path, root: Path, data: bytes) -> RawRecord:
    """A .txt/.md/.html file as one record (front matter and HTML handled)."""
    raw_hash = hashlib.sha1(data).hexdigest()
    text = decode_bytes(data, str(path))
    fields: dict[str, Any] = {}
    is_html = path.suffix.lower() in (".html", ".htm")
    if not is_html:
        fields, text = split_front_matter(text, str(path))
        is_html = looks_like_html(text)
    if is_html:
        text, html_title = html_to_text(text)
        if html_title and "title" not in fields:
            fields["title"] = html_title
    return RawRecord(_doc_id(path, root), str(path), text, fields, is_html=is_html, raw_hash=raw_hash)


def read_jsonl(path: Path, data: bytes, known: Mapping[str, str] | None = None
               ) -> Iterator[RawRecord | KnownRecord | Skipped]:
    """One record per line: ``id``, ``title``, ``date``, ``url``, ``text`` (+ place, topic, source).

    ``known`` maps the sha1 of lines the caller already has to their ids: those
    lines come back as :class:`KnownRecord` without being parsed (a reindex of a
    big crawl file with a few changed lines).
    """
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            yield Skipped(str(path), f"corrupt gzip file ({e})")
            return
    try:
        text = decode_bytes(data, str(path))
    except DocumentReadError as e:
        yield Skipped(str(path), e.reason)
        return
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        raw_hash = hashlib.sha1(line.encode("utf-8")).hexdigest()
        if known and raw_hash in known:
            yield KnownRecord(known[raw_hash], str(path), lineno, raw_hash)
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield Skipped(str(path), f"malformed JSON ({e.msg})", lineno)
            continue
        if not isinstance(obj, dict):
            yield Skipped(str(path), "not a JSON object", lineno)
            continue
        doc_id, body = obj.get("id"), obj.get("text")
        if doc_id is None or str(doc_id).strip() == "":
            yield Skipped(str(path), "record has no id", lineno)
            continue
        if not isinstance(body, str):
            yield Skipped(str(path), "record has no text", lineno)
            continue
        fields = {k: v for k, v in obj.items() if k not in ("id", "text") and v not in (None, "")}
        is_html = looks_like_html(body)
        if is_html:
            body, _ = html_to_text(body)
        yield RawRecord(str(doc_id), str(path), body, fields, line=lineno, is_html=is_html, raw_hash=raw_hash)


def load_bytes(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | Skipped:
    """The bytes of one file, or a :class:`Skipped` saying why they cannot be had."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return Skipped(str(path), f"larger than the {max_bytes / 1e6:g} MB limit ({size} bytes)")
        data = path.read_bytes()
    except OSError as e:
        return Skipped(str(path), f"cannot read: {e.strerror or e}")
    if not data.strip():
        return Skipped(str(path), "empty file")
    return data


def parse_bytes(path: Path, root: Path, data: bytes, known: Mapping[str, str] | None = None
                ) -> Iterator[RawRecord | KnownRecord | Skipped]:
    """Every record in one file's bytes, or a :class:`Skipped` for what cannot be read
    (``known``: see :func:`read_jsonl`)."""
    if path.name.lower().endswith(JSONL_SUFFIXES):
        yield from read_jsonl(path, data, known)
        return
    try:
        yield read_text_file(path, root, data)
    except DocumentReadError as e:
        yield Skipped(str(path), e.reason)


def read_path(path: Path, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[RawRecord | Skipped]:
    """Every record in one file, or a :class:`Skipped` saying why it could not be read."""
    data = load_bytes(path, max_bytes)
    if isinstance(data, Skipped):
        yield data
    else:
        yield from parse_bytes(path, root, data)
