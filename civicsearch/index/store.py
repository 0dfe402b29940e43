"""The on-disk layout of an index folder, and the one-writer lock.

::

    index/
      CURRENT             the name of the live generation (replaced atomically)
      reindex.lock        held (flock) by the one process that writes
      pending-roots.json  the roots of a first build until it is live
      gen-…/              a Whoosh index + civicsearch.json (schema version, roots,
                          file manifest, last run) + readers.lock

Incremental runs commit a new Whoosh generation inside the live folder (Whoosh
swaps its table of contents atomically). A full rebuild writes a new ``gen-…``
folder and switches ``CURRENT`` to it with one rename, so readers see either the
old index or the new one, never a half-built one. Every searcher holds a shared
``flock`` on its generation's ``readers.lock``; an old generation is removed only
when its exclusive lock can be taken, so a search that opened it finishes on it
(otherwise the next run removes it). Likewise the files an incremental commit
leaves unlisted (the previous table of contents, merged segments) are deleted
only while no searcher holds the generation.

A damaged folder (a missing or garbled ``CURRENT``, a missing segment or column
file, a malformed ``civicsearch.json``) is an :class:`IndexDamagedError`, never
taken for "no index": that would rebuild from scratch or add every document twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import shutil
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from whoosh import index as whoosh_index
from whoosh.index import TOC, FileIndex, clean_files

from civicsearch.errors import IndexDamagedError, IndexNotFoundError, IndexVersionError, ReindexRunningError
from civicsearch.fields import registry
from civicsearch.index import durable
from civicsearch.index.codec import CivicCodec
from civicsearch.index.schema import META_FILE, SCHEMA_VERSION, make_schema

INDEX_NAME = "MAIN"
POINTER = "CURRENT"
LOCK_FILE = "reindex.lock"
GEN_PREFIX = "gen-"
READERS_LOCK = "readers.lock"
PENDING_ROOTS = "pending-roots.json"
#: The metadata's list of the inputs kept out of the index: ``{"path", "line", "reason", "since"}``.
KEPT_OUT = "kept_out"
#: Files every segment has (every document has an id, a path and a hash).
SEGMENT_FILES = (".trm", ".pst", CivicCodec.ARRAYS_EXT, "._stored.col", ".id.col", ".path.col", ".hash.col")


def _segments(ix: FileIndex) -> list:
    """The index's segments, as its table of contents lists them."""
    return TOC.read(ix.storage, ix.indexname).segments


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def damaged(index_dir: Path, what: str) -> IndexDamagedError:
    """The error for a damaged index folder, naming the way out."""
    return IndexDamagedError(f"the index at {index_dir} is damaged ({what})",
                             remedy="rebuild it: SearchEngine(...).index(paths, full=True)",
                             cli_remedy=f"run `civicsearch --index {index_dir} index --full PATH` to rebuild it")


def _pointer(index_dir: Path) -> str | None:
    """What CURRENT says (None when there is no such file)."""
    try:
        return (index_dir / POINTER).read_bytes().decode("utf-8").strip()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise damaged(index_dir, f"{POINTER} is garbled") from None
    except OSError as e:
        raise damaged(index_dir, f"{POINTER} cannot be read: {e.strerror or e}") from None


def current_generation_name(index_dir: Path) -> str | None:
    """What ``CURRENT`` says, unchecked (None when it cannot be read)."""
    try:
        return _pointer(index_dir)
    except IndexDamagedError:
        return None


def current_generation(index_dir: Path, *, damaged_ok: bool = False) -> Path | None:
    """The live generation folder, or None when there is no index.

    Raises :class:`IndexDamagedError` for a damaged folder (None with ``damaged_ok``).
    """
    try:
        return _live(index_dir)
    except IndexDamagedError:
        if damaged_ok:
            return None
        raise


def _live(index_dir: Path) -> Path | None:
    name = _pointer(index_dir)
    for _ in range(3):
        if name is None:
            gens = [g for g in index_dir.glob(GEN_PREFIX + "*") if g.is_dir()] if index_dir.is_dir() else []
            if gens and not (index_dir / PENDING_ROOTS).exists():
                raise damaged(index_dir, f"{POINTER} is missing beside {len(gens)} index generation(s)")
            return None  # none yet, or only the debris of a first build that died
        if not name:
            raise damaged(index_dir, f"{POINTER} is empty")
        if not name.startswith(GEN_PREFIX) or "/" in name or "\x00" in name or len(name) > 200:
            raise damaged(index_dir, f"{POINTER} is garbled")
        gen = index_dir / name
        if gen.is_dir() and whoosh_index.exists_in(str(gen), indexname=INDEX_NAME):
            return gen
        # A generation is removed only after CURRENT names another: read it again.
        again = _pointer(index_dir)
        if again == name:
            what = "which is missing" if not gen.is_dir() else "which has no table of contents"
            raise damaged(index_dir, f"{POINTER} names {name}, {what}")
        name = again
    raise damaged(index_dir, f"{POINTER} keeps changing")


def exists(index_dir: Path) -> bool:
    return current_generation(index_dir) is not None


def read_meta(gen: Path | None) -> dict[str, Any]:
    """A generation's ``civicsearch.json`` ({} without a generation)."""
    if gen is None:
        return {}
    try:
        meta = json.loads((gen / META_FILE).read_text("utf-8"))
    except FileNotFoundError:
        raise damaged(gen.parent, f"{gen.name}/{META_FILE} is missing") from None
    except (OSError, ValueError) as e:
        raise damaged(gen.parent, f"{gen.name}/{META_FILE} cannot be read: {e}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("roots", []), list) \
            or not isinstance(meta.get("files", {}), dict):
        raise damaged(gen.parent, f"{gen.name}/{META_FILE} is malformed")
    return meta


def remember_pending_roots(index_dir: Path, roots: list[str]) -> None:
    """Remember a first build's roots before it starts (a build that dies keeps them)."""
    replace_file(index_dir / PENDING_ROOTS, json.dumps(roots, ensure_ascii=False))


def pending_roots(index_dir: Path) -> list[str]:
    try:
        roots = json.loads((index_dir / PENDING_ROOTS).read_text("utf-8"))
    except (OSError, ValueError):
        return []
    return [r for r in roots if isinstance(r, str)] if isinstance(roots, list) else []


def forget_pending_roots(index_dir: Path) -> None:
    try:
        (index_dir / PENDING_ROOTS).unlink()
    except FileNotFoundError:
        pass


def replace_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file, fsync, rename."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        durable.sync_folder(path.parent)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def write_meta(gen: Path, meta: dict[str, Any]) -> None:
    replace_file(gen / META_FILE, json.dumps(meta, ensure_ascii=False))


def model_changed(index_dir: Path, built: object, now: str) -> IndexVersionError:
    """The error for an index whose vectors another embedding model made."""
    return IndexVersionError(
        f"the index at {index_dir} keeps vectors of the model {built}; this civicsearch embeds with {now}",
        remedy="rebuild it: SearchEngine(...).index(paths, full=True)",
        cli_remedy=f"run `civicsearch --index {index_dir} index --full PATH` to rebuild it")


def _version_error(index_dir: Path, found: object) -> IndexVersionError:
    return IndexVersionError(
        f"the index at {index_dir} was built by another version of civicsearch "
        f"(schema {found}, this version uses {SCHEMA_VERSION})",
        remedy="rebuild it: SearchEngine(...).index(paths, full=True)",
        cli_remedy=f"run `civicsearch --index {index_dir} index --full PATH` to rebuild it")


def _not_found(index_dir: Path) -> IndexNotFoundError:
    return IndexNotFoundError(f"no index at {index_dir}", remedy="build one: SearchEngine(...).index(paths)",
                              cli_remedy=f"build one with `civicsearch --index {index_dir} index PATH`")


def open_index(index_dir: Path, gen: Path | None = None) -> FileIndex:
    """Open the live index (or ``gen``), refusing one written by another schema
    version and one whose segment files are missing."""
    gen = gen or current_generation(index_dir)
    if gen is None:
        raise _not_found(index_dir)
    meta = read_meta(gen)
    found = meta.get("schema_version")
    if found != SCHEMA_VERSION:
        raise _version_error(index_dir, found if found is not None else "unknown")
    if meta.get("fields") != registry.signature():
        # A metadata field was added, dropped or changed since the index was built.
        had, has = meta.get("fields") or {}, registry.signature()
        changed = sorted(k for k in had.keys() | has.keys() if had.get(k) != has.get(k))
        raise _version_error(index_dir, f"{found}, with other metadata fields: " + ", ".join(changed))
    try:
        ix = whoosh_index.open_dir(str(gen), indexname=INDEX_NAME)
    except (pickle.UnpicklingError, ImportError, AttributeError, EOFError, TypeError) as e:
        # The pickled schema names an analyzer this version does not have.
        raise _version_error(index_dir, f"unreadable: {e}") from None
    except (OSError, ValueError) as e:
        raise damaged(index_dir, f"{gen.name}: {e}") from None
    for segment in _segments(ix):
        for ext in SEGMENT_FILES:
            name = segment.make_filename(ext)
            if not ix.storage.file_exists(name):
                raise damaged(index_dir, f"{gen.name}/{name} is missing")
    return ix


def new_generation(index_dir: Path) -> tuple[Path, FileIndex]:
    """Create an empty index in a new generation folder (not live until :func:`switch`)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    gen = index_dir / f"{GEN_PREFIX}{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
    gen.mkdir()
    try:
        (gen / READERS_LOCK).touch()
        ix = whoosh_index.create_in(str(gen), make_schema(), indexname=INDEX_NAME)
        write_meta(gen, {"schema_version": SCHEMA_VERSION, "fields": registry.signature(), "created": now_iso(), "updated": None,
                         "roots": [], "files": {}})
    except BaseException:
        shutil.rmtree(gen, ignore_errors=True)
        raise
    return gen, ix


def switch(index_dir: Path, gen: Path) -> None:
    """Make ``gen`` the live generation with one atomic rename, once its folder's entries
    are on the disk (its files were synced as its segments were committed)."""
    durable.sync_folder(gen)
    durable.sync_folder(index_dir)
    replace_file(index_dir / POINTER, gen.name + "\n")  # synced, and the folder after the rename


@contextmanager
def _unheld(gen: Path) -> Iterator[bool]:
    """Whether no searcher holds ``gen`` (its ``readers.lock`` taken exclusively for
    the ``with`` block, so none starts meanwhile); True for a generation no searcher
    ever opened."""
    try:
        fd = os.open(gen / READERS_LOCK, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)


def remove_other_generations(index_dir: Path) -> None:
    """Delete every generation folder but the live one (old or left by a crash),
    except one a searcher still holds: the next run removes that one."""
    live = current_generation(index_dir)
    for child in index_dir.glob(GEN_PREFIX + "*"):
        if child.is_dir() and child != live:
            with _unheld(child) as unheld:
                if unheld:
                    shutil.rmtree(child, ignore_errors=True)


class ReaderHold:
    """A searcher's shared lock on the generation it reads, so it is not removed meanwhile."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.fd: int | None = None
        self.gen: Path | None = None

    def acquire(self) -> Path:
        """Hold the live generation and return it (retrying while a switch removes one)."""
        for _ in range(50):
            gen = current_generation(self.index_dir)
            if gen is None:
                raise _not_found(self.index_dir)
            try:
                fd = os.open(gen / READERS_LOCK, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            except FileNotFoundError:
                if gen.is_dir() and whoosh_index.exists_in(str(gen), indexname=INDEX_NAME):
                    return gen  # built before reader locks: nothing to hold
                time.sleep(0.01)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # being removed: CURRENT names another by now
                time.sleep(0.01)
                continue
            if (gen / READERS_LOCK).exists():
                self.release()
                self.fd, self.gen = fd, gen
                return gen
            os.close(fd)  # removed between open and lock
        raise damaged(self.index_dir, f"{POINTER} keeps naming a generation that is being removed")

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = self.gen = None


def remove_unused_files(ix: FileIndex) -> bool:
    """Delete the files of a live generation that its table of contents no longer
    lists (older tables, merged segments, what a failed or killed run left) and the
    writer's temporary folder: only while no searcher holds the generation, since
    one that is opening it may be about to read them. False when deferred."""
    folder = Path(ix.storage.folder)
    with _unheld(folder) as unheld:
        if unheld:
            clean_files(ix.storage, INDEX_NAME, ix.latest_generation(), _segments(ix))
            shutil.rmtree(folder / f"{INDEX_NAME}.tmp", ignore_errors=True)
        return unheld


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
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {now_iso()}\n".encode(), 0)
        except OSError:
            pass  # a full disk: the flock is the lock, the pid only informs
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
