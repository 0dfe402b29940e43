"""Shim: indexes of schemas 5 and 6 pickled ``civicsearch.bigrams.BigramTokenizer`` and
``GramField`` into their schema (they open, and ask for a rebuild).

The classes live in :mod:`civicsearch.index.analyzers`; this path must stay importable.
"""

from civicsearch.index.analyzers import BigramTokenizer, GramField

__all__ = ["BigramTokenizer", "GramField"]
