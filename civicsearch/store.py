"""Open, create and describe an index directory (Whoosh files + civicsearch.json)."""

from __future__ import annotations

import json
import os
import pickle
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.index import FileIndex

from civicsearch.errors import IndexNotFoundError, IndexVersionError
from civicsearch.schema import META_FILE, SCHEMA_VERSION, make_schema

INDEX_NAME = "MAIN"


def exists(index_dir: Path) -> bool:
    return index_dir.is_dir() and whoosh_index.exists_in(str(index_dir), indexname=INDEX_NAME)


def read_meta(index_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((index_dir / META_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def write_meta(index_dir: Path, meta: dict[str, Any]) -> None:
    """Replace civicsearch.json atomically (write a temporary file, then rename)."""
    tmp = index_dir / (META_FILE + ".tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2), "utf-8")
    os.replace(tmp, index_dir / META_FILE)


def _rebuild_message(index_dir: Path, found: object) -> str:
    return (
        f"the index at {index_dir} was built by another version of civicsearch "
        f"(schema {found}, this version uses {SCHEMA_VERSION}); run `civicsearch index --full`"
    )


def open_index(index_dir: Path) -> FileIndex:
    """Open an existing index, refusing one written by another schema version."""
    if not exists(index_dir):
        raise IndexNotFoundError(
            f"no index at {index_dir}; build one with `civicsearch --index {index_dir} index PATH`"
        )
    found = read_meta(index_dir).get("schema_version")
    if found != SCHEMA_VERSION:
        raise IndexVersionError(_rebuild_message(index_dir, found if found is not None else "unknown"))
    try:
        return whoosh_index.open_dir(str(index_dir), indexname=INDEX_NAME)
    except (pickle.UnpicklingError, ImportError, AttributeError, EOFError, TypeError) as e:
        # The pickled schema names an analyzer this version does not have.
        raise IndexVersionError(_rebuild_message(index_dir, f"unreadable: {e}")) from None


def create_index(index_dir: Path) -> FileIndex:
    """Create an empty index, removing an older one at the same place."""
    index_dir.mkdir(parents=True, exist_ok=True)
    ix = whoosh_index.create_in(str(index_dir), make_schema(), indexname=INDEX_NAME)
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    write_meta(index_dir, {"schema_version": SCHEMA_VERSION, "created": now, "updated": now, "roots": []})
    return ix


def size_on_disk(index_dir: Path) -> int:
    return sum(p.stat().st_size for p in index_dir.iterdir() if p.is_file())
