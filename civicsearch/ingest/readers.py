"""Read civic documents from files: formats, encodings, front matter, crawl dumps.

A reader yields :class:`RawRecord` objects for good input and :class:`Skipped`
for input it cannot read, so one bad file never stops a run. Every limit holds
for any input: a text file larger than the document limit is not read; a JSONL
file is read as a stream, split on ``\\n`` only and decoded line by line, so a
bad line (or one larger than the limit) costs only itself; front matter is size
limited and may not use YAML anchors; symlinks never lead outside the corpus.
"""

from __future__ import annotations

import codecs
import errno
import gzip
import hashlib
import json
import os
import re
import stat
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Mapping

from civicsearch.errors import CorpusRootError, DocumentReadError
from civicsearch.text.normalize import scrub

#: A document (a text file, or one JSONL record decompressed) larger than this is skipped.
DEFAULT_MAX_BYTES = 50_000_000
#: YAML front matter longer than this many characters is refused: front matter is a few fields.
FRONT_MATTER_MAX = 65_536
#: A .gz that inflates to more than this many times its size is a decompression
#: bomb (crawl dumps compress 4-10 times); what it held up to there is kept.
GZIP_MAX_RATIO = 200
#: After this many unreadable lines in a row a gzip stream is garbage from there
#: on (deflate has no resync point): the rest of the file is one skipped entry.
GZIP_BAD_RUN = 20
#: A record's id is a key shown in every result: longer than this it is not an id.
MAX_ID_CHARS = 1000
_CHUNK = 1 << 20
_GZIP_CHUNK = 1 << 15
_NEWLINES = re.compile(rb"\n+")


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
    """An input that was passed over, and why.

    ``keep``: the path could not be read this time (a file, a folder, the rest of
    a corrupt file, a text file too big, empty or malformed now), so the documents
    it gave before stay in the index.
    """

    path: str
    reason: str
    line: int | None = None
    keep: bool = False

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


def is_supported(path: Path) -> bool:
    """Whether some input format reads ``path`` (by its name's ending)."""
    return format_of(path) is not None


def path_text(path: Path | str) -> str:
    """A path as text that always encodes: a file name that is not UTF-8 shows its bytes (``\\xff``)."""
    text = str(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")


def check_roots(paths: Iterable[str | Path]) -> list[Path]:
    """The corpus roots as given (absolute, links not resolved: a root that is a link,
    ``current → release-41``, stays the link when it moves); a missing or unreadable one
    is a :class:`CorpusRootError`.

    A root that cannot be seen (an unmounted disk, a renamed folder) must fail the
    run: walking it as empty would delete every document it gave.
    """
    roots = []
    for given in paths:
        root = Path(os.path.abspath(given))
        try:
            # Opening is the test, for a folder as for a file: nothing is listed twice.
            os.close(os.open(root, os.O_RDONLY | os.O_NONBLOCK))
        except FileNotFoundError:
            raise CorpusRootError(f"corpus root {path_text(given)} does not exist: nothing was changed") from None
        except OSError as e:
            raise CorpusRootError(f"corpus root {path_text(given)} cannot be read ({e.strerror or e}): "
                                  "nothing was changed") from None
        roots.append(root)
    return roots


def _resolve(path: Path) -> Path:
    """Where a link leads (a looping one: to itself), without raising."""
    return Path(os.path.realpath(path))


def _not_a_file(link: Path) -> str | None:
    """Why a link cannot be read as a file (None when it can)."""
    try:
        mode = os.stat(link).st_mode
    except OSError as e:
        return "symlink loop: cannot read" if e.errno == errno.ELOOP else "broken symlink: cannot read"
    return None if stat.S_ISREG(mode) else "not a regular file"


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _walk(top: Path, onerror: Callable[[OSError], None]) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk(top)`` top-down without following links, kept on a list rather than the
    call stack: a thousand nested folders cost no ``RecursionError``. The caller may cut
    or reorder ``dirnames``; they are walked in the order it leaves them."""
    stack = [os.fspath(top)]
    while stack:
        here = stack.pop()
        try:
            with os.scandir(here) as entries:
                dirs, files = [], []
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    (dirs if is_dir else files).append(entry.name)
        except OSError as e:
            onerror(e)
            continue
        yield here, dirs, files
        stack.extend(os.path.join(here, d) for d in reversed(dirs) if not os.path.islink(os.path.join(here, d)))


def iter_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, Path] | Skipped]:
    """Yield ``(file, root)`` for every supported file under ``paths``, in a stable order.

    Folders are walked recursively; hidden entries are ignored; a root inside another
    adds nothing (its files are the outer root's). A folder that
    cannot be read is reported (its documents are kept). A symlink whose target
    lies outside the roots is reported and not read; one inside them is read once,
    at its target. Pipes, sockets and devices are reported, never opened.
    """
    given = list(dict.fromkeys(Path(os.path.abspath(p)) for p in paths))
    real = {r: r.resolve() for r in given}
    # A root inside another (given twice, or a sub-folder of one) is walked with the
    # outer one: each file read once, its id relative to the outer root. Roots are
    # walked as given (a link stays the link); where links lead is judged by their targets.
    roots = [r for n, r in enumerate(given)
             if not any(real[o] in real[r].parents or (real[o] == real[r] and m < n) for m, o in enumerate(given))]
    inside = [real[r] for r in roots]

    def _as_given(target: Path) -> Path:
        """A link's target under the root it lies in, named as that root was given."""
        for r in roots:
            if target == real[r] or real[r] in target.parents:
                return r / target.relative_to(real[r])
        return target
    found: list[tuple[Path, Path] | Skipped] = []
    linked: set[int] = set()  # places in found of files reached through a link
    for root in roots:
        if root.is_file():
            found.append((root, root.parent))
            continue
        if not root.is_dir():
            found.append(Skipped(path_text(root), "no such file or folder"))
            continue
        errors: list[OSError] = []
        for dirpath, dirnames, filenames in _walk(root, errors.append):
            found += _folder_errors(errors)
            here = Path(dirpath)
            walked = []
            for d in sorted(dirnames):
                if d.startswith("."):
                    continue
                sub = here / d
                if sub.is_symlink():
                    # Not followed (no loops); its target is walked where it lies, or is outside.
                    if not _inside(_resolve(sub), inside):
                        found.append(Skipped(path_text(sub), "symlink leads outside the corpus"))
                    continue
                walked.append(d)
            dirnames[:] = walked
            for name in sorted(filenames):
                p = here / name
                if name.startswith(".") or not is_supported(p):
                    continue
                try:
                    mode = os.lstat(p).st_mode
                except OSError:
                    continue  # vanished since the folder was listed
                if stat.S_ISLNK(mode):
                    target = _resolve(p)
                    if not _inside(target, inside):
                        found.append(Skipped(path_text(p), "symlink leads outside the corpus"))
                    elif (why := _not_a_file(p)) is not None:
                        found.append(Skipped(path_text(p), why))
                    else:
                        linked.add(len(found))
                        found.append((_as_given(target), root))
                elif stat.S_ISREG(mode):
                    found.append((p, root))
                else:
                    found.append(Skipped(path_text(p), "not a regular file"))
        found += _folder_errors(errors)  # the root's own, reported after the walk
    # A link inside the corpus is read once: not at all when its target is read anyway.
    seen = {item[0] for n, item in enumerate(found) if not isinstance(item, Skipped) and n not in linked}
    for n, item in enumerate(found):
        if n in linked:
            if item[0] in seen:  # type: ignore[index]
                continue
            seen.add(item[0])  # type: ignore[index]
        yield item


def _folder_errors(errors: list[OSError]) -> list[Skipped]:
    """The folders ``os.walk`` could not list, as skipped entries that keep their documents
    (taken out of ``errors``)."""
    skipped = [Skipped(path_text(e.filename or "?"), f"cannot read folder: {e.strerror or e}", keep=True)
               for e in errors]
    errors.clear()
    return skipped


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


# A "<" that no ">" closes before the next "<" is text. HTMLParser rescans an
# unclosed tag from its start on every step, which is quadratic (20,000 unclosed
# "<a " took a minute); as "&lt;" it is plain text, read once.
_UNCLOSED = re.compile(r"<(?![^<>]*>)")


def html_to_text(html: str) -> tuple[str, str | None]:
    """Visible text of an HTML page or fragment (one line per block) and its <title>."""
    parser = _TextExtractor()
    parser.feed(_UNCLOSED.sub("&lt;", html))
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line), parser.title


def looks_like_html(text: str) -> bool:
    head = text[:4000].lower()
    return any(tag in head for tag in ("<p>", "<p ", "<div", "<br", "<html", "<body", "<span", "<table"))


# -- front matter ------------------------------------------------------------


@lru_cache(maxsize=1)
def _front_matter_loader() -> type:
    import yaml  # here, not at the top: searching imports this module and never needs YAML

    class FrontMatterLoader(yaml.SafeLoader):
        """``safe_load`` without anchors and aliases (500 bytes of aliases expand to
        gigabytes), and with impossible dates kept as text instead of raising."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise yaml.YAMLError("YAML anchors and aliases are not allowed in front matter")
            return super().compose_node(parent, index)

        def construct_yaml_timestamp(self, node: Any) -> Any:
            try:
                return super().construct_yaml_timestamp(node)
            except (ValueError, OverflowError):
                return self.construct_scalar(node)

    FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp", FrontMatterLoader.construct_yaml_timestamp)
    return FrontMatterLoader


def split_front_matter(text: str, path: str) -> tuple[dict[str, Any], str]:
    """Split YAML front matter (``---`` … ``---``) from the body: safe, bounded, alias-free."""
    stripped = text.lstrip()
    if not stripped.startswith("---"):
        return {}, text
    first_nl = stripped.find("\n")
    if first_nl < 0 or stripped[:first_nl].strip() != "---":
        return {}, text
    end = stripped.find("\n---", first_nl, first_nl + FRONT_MATTER_MAX + 1)
    if end < 0:
        if stripped.find("\n---", first_nl) >= 0:
            raise DocumentReadError(path, f"YAML front matter longer than {FRONT_MATTER_MAX:,} characters")
        raise DocumentReadError(path, "malformed YAML front matter: no closing ---")
    block = stripped[first_nl + 1 : end]
    rest = stripped[end + 4 :]
    rest = rest[rest.find("\n") + 1 :] if "\n" in rest else ""
    import yaml

    try:
        data = yaml.load(block, Loader=_front_matter_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        why = "" if mark is not None or not str(e) else f": {e}"
        raise DocumentReadError(path, f"malformed YAML front matter{where}{why}") from None
    except RecursionError:
        raise DocumentReadError(path, "malformed YAML front matter: nested too deeply") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DocumentReadError(path, "malformed YAML front matter: not a mapping")
    return {str(k): _scrubbed(v) for k, v in data.items()}, rest


def _scrubbed(value: Any) -> Any:
    """A metadata value with every string made encodable (lone surrogates replaced)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    if isinstance(value, dict):
        return {scrub(str(k)): _scrubbed(v) for k, v in value.items()}
    return value


# -- files -------------------------------------------------------------------


def _doc_id(path: Path, root: Path) -> str:
    try:
        return path_text(path.relative_to(root).as_posix())
    except ValueError:
        return path_text(path.name)


def read_text_file(path: Path, root: Path, data: bytes) -> RawRecord:
    """A .txt/.md/.html file as one record (front matter and HTML handled)."""
    raw_hash = hashlib.sha1(data).hexdigest()
    where = path_text(path)
    text = decode_bytes(data, where)
    fields: dict[str, Any] = {}
    is_html = path.suffix.lower() in (".html", ".htm")
    if not is_html:
        fields, text = split_front_matter(text, where)
        is_html = looks_like_html(text)
    if is_html:
        text, html_title = html_to_text(text)
        if html_title and "title" not in fields:
            fields["title"] = html_title
    return RawRecord(_doc_id(path, root), where, text, fields, is_html=is_html, raw_hash=raw_hash)


def open_file(path: Path) -> IO[bytes]:
    """Open a regular file for reading, never through a link nor blocking on a pipe.

    The walk resolved links already: a path that is a link now was swapped in
    since (by whoever writes the corpus), and is not followed.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise DocumentReadError(path_text(path), "not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class _Upto:
    """A file read only up to the size it had when the run looked at it: a dump appended
    to meanwhile is read as it was, and the rest is the next run's (``grew`` says so)."""

    def __init__(self, raw: IO[bytes], size: int) -> None:
        self.raw, self.left, self.size = raw, size, size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.raw.read(n) if n > 0 else b""
        self.left -= len(data)
        return data

    @property
    def grew(self) -> bool:
        return os.fstat(self.raw.fileno()).st_size > self.size

    def fileno(self) -> int:
        return self.raw.fileno()

    def __enter__(self) -> "_Upto":
        return self

    def __exit__(self, *exc: object) -> None:
        self.raw.close()


def _open_upto(path: Path, size: int | None) -> Any:
    raw = open_file(path)
    return raw if size is None else _Upto(raw, size)


def _cannot_read(path: Path, e: OSError) -> Skipped:
    if e.errno in (errno.ELOOP, errno.EMLINK):
        return Skipped(path_text(path), "became a symlink while the corpus was read: not followed", keep=True)
    return Skipped(path_text(path), f"cannot read: {e.strerror or e}", keep=True)


def file_digest(path: Path, size: int | None = None) -> str | Skipped:
    """sha1 of a file's bytes (its first ``size`` when given), read in chunks (a crawl dump of any size)."""
    h = hashlib.sha1()
    try:
        with _open_upto(path, size) as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    except DocumentReadError as e:
        return Skipped(e.path, e.reason, keep=True)
    except OSError as e:
        return _cannot_read(path, e)
    return h.hexdigest()


class _Utf8Stream:
    """A UTF-16 stream read as UTF-8 bytes, so that every JSONL file splits the same way."""

    def __init__(self, head: bytes, raw: Any) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        self.head, self.raw = head, raw

    def read(self, n: int) -> bytes:
        while True:
            data, self.head = self.head + self.raw.read(n), b""
            text = self.decoder.decode(data, final=not data)
            if text or not data:
                return text.encode("utf-8")


class _Bounded:
    """A decompressing stream that stops at ``GZIP_MAX_RATIO`` times the compressed size."""

    def __init__(self, raw: IO[bytes], compressed: int) -> None:
        self.raw, self.left = raw, max(compressed, 1) * GZIP_MAX_RATIO
        self.exceeded = False

    def read(self, n: int) -> bytes:
        if self.left <= 0:
            self.exceeded = bool(self.raw.read(1))
            return b""
        data = self.raw.read(min(n, self.left))
        self.left -= len(data)
        return data


def _lines(stream: Any, max_bytes: int, chunk_size: int = _CHUNK, keep_tail: Callable[[], bool] = lambda: True
           ) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, bytes)`` for every non-blank line split on ``\\n`` only; ``None``
    for a line over ``max_bytes``, whose bytes are dropped as they are read. A last line
    without its ``\\n`` is dropped when ``keep_tail()`` says so (a line still being written).

    ``str.splitlines`` would also split on U+2028 or U+0085 inside a record's text.
    """
    lineno = 1
    parts: list[bytes] = []
    size = 0
    over = False
    while chunk := stream.read(chunk_size):
        start = 0
        while (nl := chunk.find(b"\n", start)) >= 0:
            if over:
                yield lineno, None
            elif parts or nl > start:
                line = b"".join(parts) + chunk[start:nl]
                if len(line) > max_bytes:
                    yield lineno, None
                elif line.strip():
                    yield lineno, line
            parts, size, over = [], 0, False
            lineno += 1
            start = nl + 1
            # Runs of blank lines are passed over in C, not one by one.
            if (run := _NEWLINES.match(chunk, start)) is not None:
                lineno += run.end() - start
                start = run.end()
        if not over and start < len(chunk):
            size += len(chunk) - start
            if size > max_bytes:
                parts, over = [], True
            else:
                parts.append(chunk[start:])
    if not keep_tail():
        return
    if over:
        yield lineno, None
    elif parts and (line := b"".join(parts)).strip():
        yield lineno, line


def _decode_line(raw: bytes, where: str, first: bool) -> str:
    if first and raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return decode_bytes(raw, where)  # a GBK crawl dump, line by line


def _json_kind(value: Any) -> str:
    """What a JSON value is, in a reason's words."""
    if isinstance(value, bool):
        return "true or false"
    return {dict: "an object", list: "a list", int: "a number", float: "a decimal number"}.get(type(value), "not text")


def _record(obj: Any, where: str, lineno: int, raw_hash: str) -> RawRecord | Skipped:
    if not isinstance(obj, dict):
        return Skipped(where, "not a JSON object", lineno)
    doc_id, body = obj.get("id"), obj.get("text")
    if doc_id is None or str(doc_id).strip() == "":
        return Skipped(where, "record has no id", lineno)
    if not isinstance(doc_id, (str, int)) or isinstance(doc_id, bool):
        return Skipped(where, f"record's id is {_json_kind(doc_id)}, not a string", lineno)
    if len(str(doc_id)) > MAX_ID_CHARS:
        return Skipped(where, f"record's id is longer than {MAX_ID_CHARS:,} characters", lineno)
    if body is None:
        return Skipped(where, "record has no text", lineno)
    if not isinstance(body, str):
        return Skipped(where, f"record's text is {_json_kind(body)}, not a string", lineno)
    if not body.strip():
        return Skipped(where, "record has empty text", lineno)
    fields = {scrub(str(k)): _scrubbed(v) for k, v in obj.items() if k not in ("id", "text") and v not in (None, "")}
    body = scrub(body)
    is_html = looks_like_html(body)
    if is_html:
        body, _ = html_to_text(body)
    return RawRecord(scrub(str(doc_id)), where, body, fields, line=lineno, is_html=is_html, raw_hash=raw_hash)


def _parse_line(line: bytes | None, where: str, lineno: int, max_bytes: int, known: Mapping[str, str] | None
                ) -> RawRecord | KnownRecord | Skipped:
    if line is None:
        return Skipped(where, f"record larger than the {max_bytes / 1e6:g} MB limit", lineno)
    raw_hash = hashlib.sha1(line).hexdigest()
    if known and raw_hash in known:
        return KnownRecord(known[raw_hash], where, lineno, raw_hash)
    try:
        obj = json.loads(_decode_line(line, where, lineno == 1))
    except DocumentReadError as e:
        return Skipped(where, e.reason, lineno)
    except (json.JSONDecodeError, RecursionError) as e:
        msg = e.msg if isinstance(e, json.JSONDecodeError) else "nested too deeply"
        return Skipped(where, f"malformed JSON ({msg})", lineno)
    return _record(obj, where, lineno, raw_hash)


def read_jsonl(path: Path, max_bytes: int = DEFAULT_MAX_BYTES, known: Mapping[str, str] | None = None,
               size: int | None = None) -> Iterator[RawRecord | KnownRecord | Skipped]:
    """One record per line: ``id``, ``title``, ``date``, ``url``, ``text`` (+ place, topic, source).

    Read as a stream (a dump of any size, gzip'd or not); a line that is too long,
    malformed or undecodable is skipped with its number and the other lines go in.
    ``known`` maps the sha1 of lines the caller already has to their ids: those
    lines come back as :class:`KnownRecord` without being parsed. With ``size``, only
    that many bytes are read (the size the run saw): a dump being appended to is read as
    it was, and a last line still being written is left to the next run.
    """
    where = path_text(path)
    try:
        raw = _open_upto(path, size)
    except DocumentReadError as e:
        yield Skipped(e.path, e.reason, keep=True)
        return
    except OSError as e:
        yield _cannot_read(path, e)
        return
    lineno = 0
    with raw:
        stream: Any = raw
        bounded = None
        pending: list[Skipped] = []
        try:
            if path.name.lower().endswith(".gz"):
                bounded = stream = _Bounded(gzip.GzipFile(fileobj=raw, mode="rb"), os.fstat(raw.fileno()).st_size)
            head = stream.read(2)
            if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                stream = _Utf8Stream(head, stream)
            else:
                stream = _Prefixed(head, stream)
            # A gzip stream is inflated a little at a time: corrupt data further on
            # costs the lines from there, not the ones before.
            keep_tail = (lambda: not raw.grew) if isinstance(raw, _Upto) else (lambda: True)
            for lineno, line in _lines(stream, max_bytes, _GZIP_CHUNK if bounded is not None else _CHUNK, keep_tail):
                item = _parse_line(line, where, lineno, max_bytes, known)
                if bounded is None:
                    yield item
                elif isinstance(item, Skipped):
                    pending.append(item)  # reported one by one unless the run turns out to be garbage
                    if len(pending) >= GZIP_BAD_RUN:
                        yield Skipped(where, f"corrupt data from line {pending[0].line} on: {len(pending)} unreadable "
                                             "lines in a row; the rest of the file was not read", keep=True)
                        return
                else:
                    yield from pending
                    pending.clear()
                    yield item
            yield from pending
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as e:
            yield from pending
            after = f" after line {lineno}" if lineno else ""
            yield Skipped(where, f"corrupt or unreadable data{after} ({type(e).__name__}: {e})", keep=True)
            return
        if bounded is not None and bounded.exceeded:
            yield Skipped(where, f"inflates to more than {GZIP_MAX_RATIO} times its size (a decompression bomb?): "
                                 f"read up to line {lineno}", keep=True)


class _Prefixed:
    """A stream with bytes already read put back in front."""

    def __init__(self, head: bytes, stream: Any) -> None:
        self.head, self.stream = head, stream

    def read(self, n: int) -> bytes:
        head, self.head = self.head, b""
        return head + self.stream.read(n - len(head)) if head else self.stream.read(n)


def load_bytes(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | Skipped:
    """The bytes of one text file, or a :class:`Skipped` saying why they cannot be had."""
    try:
        with open_file(path) as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_bytes:
                return Skipped(path_text(path), f"larger than the {max_bytes / 1e6:g} MB limit ({size} bytes)",
                               keep=True)
            data = f.read(max_bytes + 1)
    except DocumentReadError as e:
        return Skipped(e.path, e.reason, keep=True)
    except OSError as e:
        return _cannot_read(path, e)
    if len(data) > max_bytes:
        return Skipped(path_text(path), f"larger than the {max_bytes / 1e6:g} MB limit (it grew while read)",
                       keep=True)
    if not data.strip():
        return Skipped(path_text(path), "empty file", keep=True)
    return data


def parse_bytes(path: Path, root: Path, data: bytes) -> Iterator[RawRecord | Skipped]:
    """The record in one text or HTML file's bytes, or a :class:`Skipped` for why it cannot be read."""
    try:
        yield read_text_file(path, root, data)
    except DocumentReadError as e:
        yield Skipped(path_text(path), e.reason, keep=True)


@dataclass(frozen=True)
class Format:
    """An input format: the file name endings it reads, and its reader.

    A format ``streams`` (a crawl dump of any size, read record by record and
    hashed as it is read) or is read whole (up to ``max_bytes``) and parsed from
    its bytes by ``parse``. Adding a format is one reader and one line of :data:`FORMATS`.
    """

    name: str
    suffixes: tuple[str, ...]
    #: What the format holds, for the command's help and the README.
    description: str
    parse: Callable[[Path, Path, bytes], Iterator[RawRecord | Skipped]] | None = None
    stream: Callable[..., Iterator[RawRecord | KnownRecord | Skipped]] | None = None


#: Every input format, by the endings of the file names it reads (lower case).
FORMATS: tuple[Format, ...] = (
    Format("text", (".txt", ".md", ".markdown"), "one document a file; YAML front matter, HTML bodies",
           parse=parse_bytes),
    Format("html", (".html", ".htm"), "one page a file", parse=parse_bytes),
    Format("jsonl", (".jsonl", ".jsonl.gz"), "crawl dumps, one record a line, gzipped or not", stream=read_jsonl),
)


def format_of(path: Path) -> Format | None:
    """The format that reads ``path``, or None."""
    name = path.name.lower()
    return next((f for f in FORMATS if name.endswith(f.suffixes)), None)


def formats_text() -> str:
    """The formats in a line, for help texts: ``.txt, .md, … (one document a file …); …``."""
    return "; ".join(f"{', '.join(f.suffixes)} ({f.description})" for f in FORMATS)


def read_path(path: Path, root: Path, max_bytes: int = DEFAULT_MAX_BYTES,
              known: Mapping[str, str] | None = None) -> Iterator[RawRecord | KnownRecord | Skipped]:
    """Every record in one file, or a :class:`Skipped` saying why it could not be read."""
    fmt = format_of(path)
    if fmt is None:
        yield Skipped(path_text(path), "no input format reads this file name", keep=True)
        return
    if fmt.stream is not None:
        yield from fmt.stream(path, max_bytes, known)
        return
    data = load_bytes(path, max_bytes)
    if isinstance(data, Skipped):
        yield data
    else:
        yield from fmt.parse(path, root, data)  # type: ignore[misc]
