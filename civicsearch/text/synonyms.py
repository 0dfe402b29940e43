"""Civic synonyms and abbreviations (data/synonyms.txt), applied at query time.

Editing the data file needs no reindex: members are analysed like query text and
matched against the query's words, longest first.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from civicsearch.text.normalize import fold
from civicsearch.text.tokens import TOKEN_RE, query_terms

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
def _groups() -> list[tuple[list[str], list[str]]]:
    """The data file's groups, each member with what its words join to (found without the
    segmenter: the runs of its folded text)."""
    text = resources.files("civicsearch.data").joinpath("synonyms.txt").read_text("utf-8")
    return [(members, ["".join(m.group() for m in TOKEN_RE.finditer(fold(member))) for member in members])
            for members in load_groups(text)]


@lru_cache(maxsize=None)
def _forms(members: tuple[str, ...]) -> list[Form]:
    """A group's members as words (each analysed like query text), once a process."""
    return [f for f in dict.fromkeys(tuple(query_terms(m)) for m in members) if f]


def _table(groups: list[tuple[list[str], list[str]]]) -> dict[Form, list[Form]]:
    table: dict[Form, list[Form]] = {}
    for members, _ in groups:
        forms = _forms(tuple(members))
        for f in forms:
            others = table.setdefault(f, [])
            others.extend(o for o in forms if o != f and o not in others)
    return table


@lru_cache(maxsize=1)
def synonym_table() -> dict[Form, list[Form]]:
    """Each member's words → the other members' words."""
    return _table(_groups())


def find_synonyms(terms: list[str]) -> list[tuple[int, int, list[Form]]]:
    """``(start, end, alternatives)`` for runs of ``terms`` that have synonyms, left to right, longest first.

    Only the groups with a member whose text stands in the query's are segmented: a member
    matches a run of the query's words only if the words it joins to are a substring of theirs
    (the whole table is 250 cuts, more than a short query's search)."""
    joined = "".join(terms)
    table = _table([g for g in _groups() if any(key and key in joined for key in g[1])])
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
