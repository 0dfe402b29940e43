"""Civic synonyms and abbreviations (data/synonyms.txt), applied at query time.

Editing the data file needs no reindex: members are analysed like query text and
matched against the query's words, longest first.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from civicsearch.text.tokens import query_terms

Form = tuple[str, ...]


def load_groups(text: str) -> list[list[str]]:
    """Groups of equivalent expressions from the data file's text."""
    groups = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        members = list(dict.fromkeys(m.strip() for m in line.split("=") if m.strip()))
        if len(members) > 1:
            groups.append(members)
    return groups


@lru_cache(maxsize=1)
def synonym_table() -> dict[Form, list[Form]]:
    """Each member's words → the other members' words."""
    text = resources.files("civicsearch.data").joinpath("synonyms.txt").read_text("utf-8")
    table: dict[Form, list[Form]] = {}
    for members in load_groups(text):
        forms = [tuple(query_terms(m)) for m in members]
        forms = [f for f in dict.fromkeys(forms) if f]
        for f in forms:
            others = table.setdefault(f, [])
            others.extend(o for o in forms if o != f and o not in others)
    return table


def find_synonyms(terms: list[str]) -> list[tuple[int, int, list[Form]]]:
    """``(start, end, alternatives)`` for runs of ``terms`` that have synonyms, left to right, longest first."""
    table = synonym_table()
    longest = max((len(f) for f in table), default=0)
    found, i = [], 0
    while i < len(terms):
        for size in range(min(longest, len(terms) - i), 0, -1):
            alts = table.get(tuple(terms[i : i + size]))
            if alts:
                found.append((i, i + size, alts))
                i += size
                break
        else:
            i += 1
    return found
