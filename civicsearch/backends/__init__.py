"""Backends: what answers a :class:`~civicsearch.SearchEngine`'s calls (:class:`Backend`).

The local backend (:class:`~civicsearch.backends.local.LocalBackend`) is the engine's
own index on this machine; another backend (a search cluster) implements the same protocol.
"""

from civicsearch.backends.base import Backend

__all__ = ["Backend"]
