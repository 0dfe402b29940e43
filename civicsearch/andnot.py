"""``AndNot`` as Whoosh 2.7.5 means it, with its matcher's first step mended.

Whoosh's ``AndNotMatcher`` checks its first document against the prohibited
matcher only when that matcher stands on the same document: when the prohibited
one starts earlier (its first document is smaller), the first document of each
segment is let through even if it holds the excluded word. ``wq.AndNot(a, x)``
over documents ``x``, ``a x``, ``a`` gives ``a x``. Every ``AndNot`` civicsearch
builds comes from here.
"""

from __future__ import annotations

from typing import Any

from whoosh import query as wq
from whoosh.matching import AndNotMatcher


class _AndNotMatcher(AndNotMatcher):
    def _find_first(self) -> None:
        if self.a.is_active() and self.b.is_active() and self.b.id() < self.a.id():
            self.b.skip_to(self.a.id())
        super()._find_first()


class AndNot(wq.AndNot):
    """Documents matching ``a`` and not ``b``."""

    def matcher(self, searcher: Any, context: Any = None) -> _AndNotMatcher:
        scored = self.a.matcher(searcher, context)
        prohibited = self.b.matcher(searcher, searcher.boolean_context())
        return _AndNotMatcher(scored, prohibited)
