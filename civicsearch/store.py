"""The on-disk layout of an index folder, and the one-writer lock.

::

    index/
      CURRENT             the name of the live generation (replaced atomically)
      reindex.lock        held (flock) by the one process that writes
      gen-…/              a Whoosh index + civicsearch.json (schema version, roots,
                          file manifest, last run)

Incremental runs commit a new Whoosh generation inside the live folder (Whoosh
swaps its table of contents atomically). A full rebuild writes a new ``gen-…``
folder and switches ``CURRENT`` to it with one rename, so readers see either the
old index or the new one, never a half-built one.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.index import FileIndex

from civicsearch.errors import IndexNotFoundError, IndexVersionError, ReindexRunningError
from civicsearch.schema import META_FILE, SCHEMA_VERSION, make_schema

INDEX_NAME = "MAIN"
POINTER = "CURRENT"
LOCK_FILE = "reindex.lock"
GEN_PREFIX = "gen-"


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when there is no index."""
    try:
        name = (index_dir / POINTER).read_text("utf-8").strip()
    except OSError:
        return None
    gen = index_dir / name
    return gen if name.startswith(GEN_PREFIX) and gen.is_dir() else None


def exists(index_dir: Path) -> bool:
    gen = current_generation(index_dir)
    return gen is not None and whoosh_index.exists_in(str(gen), indexname=INDEX_NAME)


def read_meta(gen: Path | None) -> dict[str, Any]:
    if gen is None:
        return {}
    try:
        return json.loads((gen / META_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def _replace_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file, fsync, rename."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_meta(gen: Path, meta: dict[str, Any]) -> None:
    _replace_file(gen / META_FILE, json.dumps(meta, ensure_ascii=False))


def _rebuild_message(index_dir: Path, found: object) -> str:
    return (
        f"the index at {index_dir} was built by another version of civicsearch "
        f"(schema {found}, this version uses {SCHEMA_VERSION}); run `civicsearch index --full`"
    )


def open_index(index_dir: Path) -> FileIndex:
    """Open the live index, refusing one written by another schema version."""
    gen = current_generation(index_dir)
    if gen is None or not whoosh_index.exists_in(str(gen), indexname=INDEX_NAME):
        raise IndexNotFoundError(
            f"no index at {index_dir}; build one with `civicsearch --index {index_dir} index PATH`"
        )
    found = read_meta(gen).get("schema_version")
    if found != SCHEMA_VERSION:
        raise IndexVersionError(_rebuild_message(index_dir, found if found is not None else "unknown"))
    try:
        return whoosh_index.open_dir(str(gen), indexname=INDEX_NAME)
    except (pickle.UnpicklingError, ImportError, AttributeError, EOFError, TypeError) as e:
        # The pickled schema names an analyzer this version does not have.
        raise IndexVersionError(_rebuild_message(index_dir, f"unreadable: {e}")) from None


def new_generation(index_dir: Path) -> tuple[Path, FileIndex]:
    """Create an empty index in a new generation folder (not live until :func:`switch`)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    gen = index_dir / f"{GEN_PREFIX}{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
    gen.mkdir()
    ix = whoosh_index.create_in(str(gen), make_schema(), indexname=INDEX_NAME)
    write_meta(gen, {"schema_version": SCHEMA_VERSION, "created": now_iso(), "updated": None,
                     "roots": [], "files": {}})
    return gen, ix


def switch(index_dir: Path, gen: Path) -> None:
    """Make ``gen`` the live generation with one atomic rename."""
    _replace_file(index_dir / POINTER, gen.name + "\n")
    fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_other_generations(index_dir: Path) -> None:
    """Delete every generation folder but the live one (old or left by a crash)."""
    live = current_generation(index_dir)
    for child in index_dir.glob(GEN_PREFIX + "*"):
        if child.is_dir() and child != live:
            shutil.rmtree(child, ignore_errors=True)


def size_on_disk(index_dir: Path) -> int:
    gen = current_generation(index_dir)
    return sum(p.stat().st_size for p in gen.iterdir() if p.is_file()) if gen else 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WriterLock:
    """One writer per index folder: an ``flock`` on ``reindex.lock``.

    The kernel drops the lock when its process dies, however it dies, so a lock
    left by a killed run is recognised (its pid is gone) and taken over safely.
    """

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / LOCK_FILE
        self.fd: int | None = None
        #: pid of a dead writer whose lock file this run took over, if any.
        self.stale_pid: int | None = None

    def __enter__(self) -> "WriterLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
            os.close(fd)
            pid, since = (holder + ["?", "?"])[:2]
            raise ReindexRunningError(f"another reindex is running (pid {pid}, since {since})") from None
        previous = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
        if previous and previous[0].isdigit() and int(previous[0]) != os.getpid() and not _pid_alive(int(previous[0])):
            self.stale_pid = int(previous[0])
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {now_iso()}\n".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
