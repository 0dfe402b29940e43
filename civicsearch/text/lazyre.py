"""Regular expressions compiled when first used, not when their module is imported.

A terminal search imports the modules that read documents (issuing bodies, validity, document
numbers, headers) for their fields' declarations and filters, and compiling their expressions
cost it 11 ms of 0.28 s (docs/performance.md); most searches use none of them.
"""

from __future__ import annotations

import re
from typing import Any

_METHODS = ("match", "search", "fullmatch", "finditer", "findall", "sub", "subn", "split", "pattern", "flags",
            "groups", "groupindex")


class LazyPattern:
    """A stand-in for ``re.compile(pattern, flags)``: the first use compiles it, and its methods
    then sit on the stand-in itself, so that later calls cost what the pattern's cost."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._args = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_args":
            raise AttributeError(name)
        compiled = re.compile(*self._args)
        for method in _METHODS:
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)


def compile(pattern: str, flags: int = 0) -> Any:  # noqa: A001 (re's own name, on purpose)
    """``re.compile``, deferred to the pattern's first use."""
    return LazyPattern(pattern, flags)
