"""Each document's embedding, made at index time and kept on disk as it is made.

A first build with vectors is long (a tenth of a second a document on one core), so every
vector is appended, as it is made, to a file of the index folder's ``embeddings/`` (one file
a process: a parallel build's workers write their own). A build that is stopped and run
again finds what was embedded and embeds only the rest; a run that commits removes the
files (the vectors are in the index then). A full rebuild of an index that keeps vectors of the
same model takes each unchanged document's vector from it instead of embedding it again. A record is the SHA-1 of the model's name and
the passage, then the int8 row.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np

from civicsearch.errors import CivicSearchError
from civicsearch.text.embed import get_embedder, identity, passage_text, quantize

FOLDER = "embeddings"
_DIGEST = 20


class Embeddings:
    """The vectors of one run's documents, from the files of earlier runs where they are there."""

    def __init__(self, index_dir: Path, embedder: str | None = None, previous: Path | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.folder = self.index_dir / FOLDER
        self.embedder = embedder
        self.model = identity(embedder)
        #: The live generation a full rebuild replaces: its vectors of the same model are reused.
        self.previous = previous
        self.dim = 0
        self._known: dict[bytes, np.ndarray] | None = None
        self._out: tuple[int, object] | None = None  # (pid, file) of this process's records
        #: How many documents this process embedded (not found in the files).
        self.made = 0

    def _key(self, text: str) -> bytes:
        return hashlib.sha1(f"{self.model}\0{text}".encode("utf-8", "surrogatepass")).digest()

    def _reuse(self, known: dict[bytes, np.ndarray]) -> None:
        """The vectors the index being rebuilt keeps (same model), by their documents' passage:
        a full rebuild embeds only what is new or changed."""
        from civicsearch.index import postarrays, store

        try:
            ix = store.open_index(self.index_dir, self.previous)
        except CivicSearchError:
            return  # another schema, a damaged index: nothing to reuse
        with ix.reader() as reader:
            for leaf, _ in reader.leaf_readers():
                try:
                    found = postarrays.for_leaf(leaf).vectors
                except CivicSearchError:
                    continue
                if found is None or found.model != self.model:
                    continue
                for d in np.flatnonzero(np.abs(found.rows).sum(axis=1) > 0).tolist():
                    if not leaf.is_deleted(d):
                        stored = leaf.stored_fields(d)
                        known[self._key(passage_text(stored.get("title") or "", stored.get("body") or ""))] = found.rows[d]

    def load(self) -> None:
        """Read the records earlier runs left (a torn last record is passed over), and the vectors of
        the index a full rebuild replaces."""
        known: dict[bytes, np.ndarray] = {}
        if self.previous is not None:
            self._reuse(known)
        if self.folder.is_dir():
            for f in sorted(self.folder.glob("*.bin")):
                try:
                    dim = int(f.name.split(".")[1])
                    data = f.read_bytes()
                except (ValueError, IndexError, OSError):
                    continue
                size = _DIGEST + dim
                for at in range(0, len(data) - size + 1, size):
                    known[data[at:at + _DIGEST]] = np.frombuffer(data, dtype=np.int8, count=dim, offset=at + _DIGEST)
        self._known = known

    def vector(self, title: str, body: str) -> tuple[str, np.ndarray]:
        """``(model name, int8 row)`` of a document, from the files or made now (and recorded)."""
        if self._known is None:
            self.load()
        text = passage_text(title, body)
        key = self._key(text)
        found = self._known.get(key)  # type: ignore[union-attr]
        if found is not None:
            return self.model, found
        # One thread a process: a build's workers are its parallelism (set before the model loads).
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        row = quantize(get_embedder(self.embedder).passage([text]))[0]
        self._record(key, row)
        self._known[key] = row  # type: ignore[index]
        self.made += 1
        return self.model, row

    def _record(self, key: bytes, row: np.ndarray) -> None:
        pid = os.getpid()
        if self._out is None or self._out[0] != pid:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._out = (pid, open(self.folder / f"{pid}.{len(row)}.bin", "ab", buffering=0))
        self._out[1].write(key + row.tobytes())  # type: ignore[attr-defined]

    def close(self) -> None:
        if self._out is not None and self._out[0] == os.getpid():
            self._out[1].close()  # type: ignore[attr-defined]
        self._out = None

    def clear(self) -> None:
        """Remove the records: the run committed them to the index."""
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)
