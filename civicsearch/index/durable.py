"""Durable writes: a file's bytes and a folder's entries on the disk before anything points at them.

A commit is published by a rename (a segment table of contents, ``CURRENT``): after a
power cut the disk must hold every file the new name points to. So each file of a
commit is fsynced, then the rename is made, then the folder holding it is fsynced
(which makes the rename itself durable); the old generation goes only after that.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable


def sync_file(path: str | os.PathLike[str]) -> None:
    """fsync one file by name (its bytes written by a stream since closed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_folder(path: str | os.PathLike[str]) -> None:
    """fsync a folder: the files created, renamed or removed in it are on the disk."""
    sync_file(path)


def sync_files(folder: Path, names: Iterable[str]) -> None:
    for name in names:
        sync_file(folder / name)


class DurableRenames:
    """A Whoosh storage whose ``rename_file`` (how Whoosh publishes a table of contents)
    fsyncs the file before the rename and the folder after it; everything else is the
    storage's own."""

    def __init__(self, storage: Any) -> None:
        self._storage = storage

    def rename_file(self, frm: str, to: str, safe: bool = False) -> None:
        folder = Path(self._storage.folder)
        sync_file(folder / frm)
        self._storage.rename_file(frm, to, safe=safe)
        sync_folder(folder)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)
