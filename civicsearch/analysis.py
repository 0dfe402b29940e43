"""Shim: indexes pickle the analyzers' import path ``civicsearch.analysis`` into their schema.

The classes live in :mod:`civicsearch.index.analyzers`; this path must stay importable.
"""

from civicsearch.index.analyzers import CivicAnalyzer, CivicCharacters, CivicTokenizer, SpanTokenizer

__all__ = ["CivicAnalyzer", "CivicCharacters", "CivicTokenizer", "SpanTokenizer"]
