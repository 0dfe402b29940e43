"""A small embedder for the tests: character bigrams hashed into 64 dimensions (no model to load).

Importing this module registers it as ``fake``; ``$FAKE_EMBED_NAME`` names its model (a
change asks for a rebuild) and ``$FAKE_EMBED_LOG`` names a file that gets a line for every
passage it embeds (the count of a run's embeddings, across processes).
"""

from __future__ import annotations

import os
import zlib

import numpy as np

from civicsearch.text import embed

DIM = 64


class FakeEmbedder:
    dim = DIM

    @staticmethod
    def identity() -> str:
        return os.environ.get("FAKE_EMBED_NAME", "fake-1")

    @property
    def name(self) -> str:
        return self.identity()

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(DIM, dtype=np.float32)
        for a, b in zip(text, text[1:]):
            v[zlib.crc32((a + b).encode()) % DIM] += 1
        norm = np.linalg.norm(v)
        return v / norm if norm else v

    def query(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts])

    def passage(self, texts: list[str]) -> np.ndarray:
        log = os.environ.get("FAKE_EMBED_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as f:
                f.writelines(t.replace("\n", " ")[:40] + "\n" for t in texts)
        return np.stack([self._vector(t) for t in texts])


embed.register("fake", FakeEmbedder)
