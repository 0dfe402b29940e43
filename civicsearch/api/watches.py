"""Saved searches ("watches") and what each run brought them: the feeds behind ``/feeds/NAME.atom``.

A watch is a name, a query and its filters. After every indexing run the documents the
run added or changed that a watch matches (as a search would, never by relaxing) are
recorded in its feed with the run's time, newest first, at most ``FEED_ENTRIES``. Watches
and feeds live in the index folder beside the generations (``watches.json``), so a
``--full`` rebuild keeps them; every change is written atomically under a lock of their own.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from civicsearch.errors import DocumentNotFoundError, InvalidArgumentError
from civicsearch.index.store import now_iso, replace_file

if TYPE_CHECKING:
    from civicsearch.api.engine import SearchEngine

FILE = "watches.json"
LOCK = "watches.lock"
#: A feed keeps this many entries, newest first.
FEED_ENTRIES = 200
#: A name is part of a URL (``/feeds/NAME.atom``): letters, digits, ``-`` and ``_``.
_NAME = re.compile(r"^[\w-]{1,64}$")


@dataclass
class Watch:
    """A saved search and its feed: ``entries`` are ``{"id", "title", "date", "url", "seen"}``."""

    name: str
    query: str
    filters: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    entries: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read(index_dir: Path) -> dict[str, Watch]:
    try:
        raw = json.loads((index_dir / FILE).read_text("utf-8"))
    except FileNotFoundError:
        return {}
    return {name: Watch(**w) for name, w in raw.items()}


def _write(index_dir: Path, watches: dict[str, Watch]) -> None:
    replace_file(index_dir / FILE, json.dumps({n: w.to_dict() for n, w in watches.items()}, ensure_ascii=False))


def all_watches(index_dir: Path) -> list[Watch]:
    """Every watch, by name."""
    return sorted(_read(index_dir).values(), key=lambda w: w.name)


def get(index_dir: Path, name: str) -> Watch:
    watch = _read(index_dir).get(name)
    if watch is None:
        raise DocumentNotFoundError(f"no watch named {name!r}")
    return watch


def add(engine: "SearchEngine", name: str, query: str, **filters: Any) -> Watch:
    """Save a search under ``name`` (checked by running it once: a bad query or filter is
    refused now, not every night)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidArgumentError(f"{name!r} is not a watch name: letters, digits, - and _, at most 64")
    engine.search(query, limit=1, **filters)
    given = {k: v for k, v in filters.items() if v not in (None, False, "")}
    with _locked(engine.index_dir):
        watches = _read(engine.index_dir)
        if name in watches:
            raise InvalidArgumentError(f"a watch named {name!r} exists already")
        watches[name] = Watch(name, query, given, now_iso())
        _write(engine.index_dir, watches)
    return watches[name]


def remove(index_dir: Path, name: str) -> None:
    with _locked(index_dir):
        watches = _read(index_dir)
        if watches.pop(name, None) is None:
            raise DocumentNotFoundError(f"no watch named {name!r}")
        _write(index_dir, watches)


def record(engine: "SearchEngine", changed: list[str], when: str) -> None:
    """Add to every watch's feed the documents of ``changed`` (added or changed by the run
    that ended ``when``) that it matches."""
    if not changed or not (engine.index_dir / FILE).exists():
        return
    with _locked(engine.index_dir):
        watches = _read(engine.index_dir)
        for watch in watches.values():
            try:
                found = engine.matching(watch.query, changed, **watch.filters)
            except InvalidArgumentError:
                continue  # a filter value the index no longer holds matches nothing
            new = []
            for doc_id in found:
                doc = engine.get(doc_id)
                new.append({"id": doc_id, "title": doc.title or doc_id, "date": doc.fields.get("date"),
                            "url": doc.fields.get("url"), "seen": when})
            ids = {e["id"] for e in new}
            watch.entries = (new + [e for e in watch.entries if e["id"] not in ids])[:FEED_ENTRIES]
        _write(engine.index_dir, watches)
