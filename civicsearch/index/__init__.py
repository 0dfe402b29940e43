"""The index: Whoosh as the container (schema, segments, deletions, stored fields, keyword
fields) and the project's own posting arrays inside it.

Whoosh is imported here first, without three imports it makes for code civicsearch never
runs: ``whoosh.compat`` imports ``urllib.request`` (with ``http.client``, ``email`` and
``ssl``) for a download helper, ``whoosh.reading`` the ``cached_property`` package, which
imports ``asyncio`` for coroutine properties, and ``whoosh.query`` the English morphology
(six large expressions compiled) for a query type civicsearch never builds; together a
tenth of a terminal search (docs/performance.md). Each gets a stand-in for the length of
that import: a function loads the real module when called, and the property is the
standard library's.
"""

from __future__ import annotations

import functools
import sys
import types


def _import_whoosh_lightly() -> None:
    if "whoosh.reading" in sys.modules:
        return

    def urlretrieve(*args, **kwargs):  # type: ignore[no-untyped-def]
        from urllib.request import urlretrieve as real

        return real(*args, **kwargs)

    stand_ins = {}
    if "urllib.request" not in sys.modules:
        stand_ins["urllib.request"] = types.ModuleType("urllib.request")
        stand_ins["urllib.request"].urlretrieve = urlretrieve  # type: ignore[attr-defined]
    if "cached_property" not in sys.modules:
        stand_ins["cached_property"] = types.ModuleType("cached_property")
        stand_ins["cached_property"].cached_property = functools.cached_property  # type: ignore[attr-defined]
    if "whoosh.lang.morph_en" not in sys.modules:

        def variations(*args, **kwargs):  # type: ignore[no-untyped-def]
            from whoosh.lang.morph_en import variations as real

            return real(*args, **kwargs)

        stand_ins["whoosh.lang.morph_en"] = types.ModuleType("whoosh.lang.morph_en")
        stand_ins["whoosh.lang.morph_en"].variations = variations  # type: ignore[attr-defined]
    sys.modules.update(stand_ins)
    try:
        import whoosh.compat  # noqa: F401
        import whoosh.query  # noqa: F401
        import whoosh.reading  # noqa: F401
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


_import_whoosh_lightly()
