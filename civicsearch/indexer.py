"""Index documents: read → clean → extract metadata → analyse → write, one commit a run."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

from civicsearch.documents import Document, build_document
from civicsearch.normalize import fold
from civicsearch.readers import DEFAULT_MAX_BYTES, Skipped, iter_files, read_path
from civicsearch.results import IndexReport, SkippedInput
from civicsearch.segment import get_segmenter
from civicsearch import store

#: Called as progress(files_done, files_total, current_path).
Progress = Callable[[int, int, str], None]
#: Below this many files one process is faster than starting a pool.
PARALLEL_MIN_FILES = 2


def place_terms(place: str | None) -> list[str]:
    """Filter terms for a place: the whole name and each level of a ``/`` path."""
    if not place:
        return []
    parts = [place] + [p for p in place.replace("／", "/").split("/") if p.strip()]
    return list(dict.fromkeys(fold(p.strip()).replace(",", " ") for p in parts))


def to_fields(doc: Document) -> dict[str, Any]:
    """The Whoosh field values for one document."""
    fields: dict[str, Any] = {
        "id": doc.doc_id,
        "path": doc.path,
        "title": doc.title,
        "body": doc.body,
        "hash": doc.content_hash,
        "info": {
            "date_precision": doc.date_precision,
            "date_source": doc.date_source,
            "source": doc.source,
            "url": doc.url,
            "meta": doc.meta,
            "line": doc.line,
            "place": doc.place,
            "topics": doc.topics,
        },
    }
    if doc.original != doc.body:
        fields["original"] = doc.original
    if doc.date is not None:
        fields["date"] = doc.date
        fields["datekey"] = int(doc.date.strftime("%Y%m%d%H%M%S"))
    if doc.place:
        fields["place"] = ",".join(place_terms(doc.place))
        fields["place_facet"] = doc.place.encode()
    if doc.topics:
        fields["topic"] = ",".join(t.replace(",", " ") for t in doc.topics)
        fields["topic_facet"] = "\x1f".join(doc.topics).encode()
    if doc.source:
        fields["source"] = doc.source
    return fields


def _existing(ix: Any) -> dict[str, tuple[str, str]]:
    """id → (content hash, path) for every live document, read from columns."""
    with ix.reader() as r:
        if r.doc_count() == 0:
            return {}
        ids, hashes, paths = r.column_reader("id"), r.column_reader("hash"), r.column_reader("path")
        return {ids[n]: (hashes[n], paths[n]) for n in r.all_doc_ids()}


def _under(path: str, roots: list[Path]) -> bool:
    p = Path(path).resolve()
    return any(p == root or root in p.parents for root in roots)


def index_paths(
    index_dir: Path,
    paths: Iterable[str | Path],
    *,
    full: bool = False,
    progress: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    procs: int | None = None,
) -> IndexReport:
    """Bring the index at ``index_dir`` in step with ``paths``.

    New documents are added, changed ones replaced, and documents that came from
    these paths but are gone now are deleted; a file that cannot be read this time
    keeps what it gave before. ``full`` rebuilds from nothing. All changes are one
    commit: a failure leaves the index as it was.
    """
    started = time.perf_counter()
    paths = [Path(p) for p in paths]
    report = IndexReport()
    listed = list(iter_files(paths))
    files = [item for item in listed if not isinstance(item, Skipped)]
    for item in listed:
        if isinstance(item, Skipped):
            report.skipped.append(SkippedInput(item.path, item.reason, item.line))

    fresh = full or not store.exists(index_dir)
    ix = store.create_index(index_dir) if fresh else store.open_index(index_dir)
    existing = {} if fresh else _existing(ix)
    get_segmenter()  # load the dictionary once, before any worker process forks
    procs = procs if procs is not None else (os.cpu_count() or 1)
    # compound=False: Whoosh copies a compound segment's files into memory every
    # time a reader opens (~90 ms a segment on the bench corpus); plain files are
    # opened in place.
    if fresh and procs > 1 and len(files) >= PARALLEL_MIN_FILES:
        writer = ix.writer(procs=procs, multisegment=True, limitmb=256, compound=False)
    else:
        writer = ix.writer(limitmb=256, compound=False)

    seen: set[str] = set()
    failed_paths: set[str] = set()
    try:
        for n, (file, root) in enumerate(files, 1):
            for rec in read_path(file, root, max_bytes):
                if isinstance(rec, Skipped):
                    report.skipped.append(SkippedInput(rec.path, rec.reason, rec.line))
                    if rec.line is None:
                        failed_paths.add(str(Path(rec.path).resolve()))
                    continue
                doc = build_document(rec)
                if doc.doc_id in seen:
                    report.skipped.append(SkippedInput(rec.path, f"duplicate id {doc.doc_id!r}", rec.line))
                    continue
                seen.add(doc.doc_id)
                old = existing.get(doc.doc_id)
                if old is None:
                    writer.add_document(**to_fields(doc))
                    report.added += 1
                elif old[0] != doc.content_hash:
                    writer.update_document(**to_fields(doc))
                    report.updated += 1
                else:
                    report.unchanged += 1
            if progress:
                progress(n, len(files), str(file))
        roots = [p.resolve() for p in paths]
        for doc_id, (_, path) in existing.items():
            if doc_id not in seen and _under(path, roots) and str(Path(path).resolve()) not in failed_paths:
                writer.delete_by_term("id", doc_id)
                report.deleted += 1
        writer.commit()
    except BaseException:
        writer.cancel()
        raise

    with ix.reader() as r:
        report.documents = r.doc_count()
    report.seconds = round(time.perf_counter() - started, 3)
    meta = store.read_meta(index_dir)
    known = meta.get("roots", [])
    meta["roots"] = list(dict.fromkeys(known + [str(p.resolve()) for p in paths]))
    meta["updated"] = datetime.now().astimezone().isoformat(timespec="seconds")
    meta["last_run"] = report.to_dict()
    store.write_meta(index_dir, meta)
    return report
