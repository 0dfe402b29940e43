"""The query language: parse a user's query string into clauses and concepts.

Syntax: plain words (all required, ranked by BM25F over title and body),
``"quoted phrases"`` (also “…” and 「…」), ``-word`` / ``-"phrase"`` to exclude,
``OR`` between two terms, ``title:`` / ``标题:`` (``body:`` / ``正文:``) to
search one field, and ``文号:`` / ``docno:`` for a document number (exact when
complete, 国办发〔2024〕1号 in any bracket style; a prefix such as 国办发 or
国办发〔2024〕 otherwise).

Queries are typed and pasted by people, so the parser forgives: a stray or
reversed quote, a dangling ``OR``, a field name with nothing after it are taken
as text or dropped, and ``ParsedQuery.notes`` says so. Only a query with nothing
searchable left is a :class:`QuerySyntaxError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from dataclasses import field as _field

from civicsearch.errors import InvalidArgumentError, QuerySyntaxError
from civicsearch.fields.docnos import INDEX_FIELD as DOCNO_FIELD
from civicsearch.fields.flags import Filter, Prefix, Term
from civicsearch.ingest.docno import normalize_query as normalize_docno
from civicsearch.text.bigrams import query_grams
from civicsearch.text.normalize import scrub, strip_controls, unformat
from civicsearch.text.synonyms import Form, find_synonyms
from civicsearch.text.tokens import iter_words

FIELD_ALIASES = {"title": "title", "标题": "title", "body": "body", "正文": "body", "内容": "body",
                 "docno": DOCNO_FIELD, "文号": DOCNO_FIELD}
_QUOTES = {'"': '"', "“": "”", "「": "」", "『": "』", "＂": "＂", "”": "”"}
_FIELD_RE = re.compile(r"^(" + "|".join(map(re.escape, FIELD_ALIASES)) + r")\s*[:：]", re.I)
SEARCH_FIELDS = ("title", "body")
#: Longer queries are cut here (a pasted page is not a query).
MAX_QUERY_CHARS = 2000
#: ...and to their first this many words: a pasted paragraph still finds its like, and
#: ranking it costs what a long question does, not ten times that (the longest of the
#: bench's 1,408 citizen titles has 18 words).
MAX_QUERY_WORDS = 100
_UNCLOSED_NOTE = "a quotation mark was not closed: the words after it were searched as plain words"
_OR_NOTE = "OR stands between two search terms: a dangling OR was ignored"


@dataclass
class Concept:
    """One thing a clause asks for: a word or a phrase, and its synonyms.

    Every form is a tuple of words; a form of several words matches as a phrase,
    except the user's own unquoted words, which match as separate words.
    """

    forms: list[Form]
    fields: tuple[str, ...]
    phrase: bool = False

    @property
    def own(self) -> Form:
        return self.forms[0]

    @property
    def synonyms(self) -> list[Form]:
        return self.forms[1:]


@dataclass
class Clause:
    """One unit of a query: a word group or a phrase, maybe negated, maybe in one field."""

    text: str
    terms: list[str]
    phrase: bool = False
    negated: bool = False
    field: str | None = None
    concepts: list[Concept] = _field(default_factory=list)

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field,) if self.field else SEARCH_FIELDS

    @property
    def docno(self) -> bool:
        """A document-number clause (matched through :func:`docno_query`, not by its concepts)."""
        return self.field == DOCNO_FIELD


def _concepts(clause: Clause, synonyms: bool) -> list[Concept]:
    """The clause's concepts: a phrase is one, a word group one per word (synonym runs joined)."""
    fields = clause.fields
    if clause.phrase:
        # Quotes mean exactly these characters: never widened with synonyms.
        return [Concept([tuple(clause.terms)], fields, phrase=True)]
    runs = {start: (end, alts) for start, end, alts in (find_synonyms(clause.terms) if synonyms else [])}
    out, i = [], 0
    while i < len(clause.terms):
        if i in runs:
            end, alts = runs[i]
            out.append(Concept([tuple(clause.terms[i:end]), *alts], fields, phrase=end - i > 1))
            i = end
        else:
            out.append(Concept([(clause.terms[i],)], fields))
            i += 1
    # The same word twice asks for it once.
    unique: dict[Form, Concept] = {}
    for c in out:
        unique.setdefault(c.own, c)
    return list(unique.values())


@dataclass
class ParsedQuery:
    """AND of groups; each group is an OR of clauses. Negated clauses apart."""

    text: str
    groups: list[list[Clause]] = field(default_factory=list)
    excluded: list[Clause] = field(default_factory=list)
    #: What the parser forgave (a stray quote, a dangling OR …), for the user.
    notes: list[str] = field(default_factory=list)
    #: The query as the caller gave it (``text`` is it cleaned).
    typed: str = ""

    def positive_clauses(self) -> list[Clause]:
        return [c for g in self.groups for c in g]

    def term_count(self) -> int:
        return sum(len(c.terms) for c in self.positive_clauses())

    def concepts(self) -> list[Concept]:
        return [k for c in self.positive_clauses() for k in c.concepts]

    def loose_concepts(self) -> list[Concept]:
        """The concepts, a civic term typed without quotes (老旧小区改造, a synonym
        group's member) matched by its words rather than as a phrase."""
        return [k if c.phrase else replace(k, phrase=False) for c in self.positive_clauses() for k in c.concepts]

    def is_natural(self) -> bool:
        """Words and quoted phrases in no field, with no OR: a sentence someone typed
        (a quoted term in it, or a word excluded, still leaves it a sentence)."""
        return all(len(g) == 1 and g[0].field is None for g in self.groups)

    def quoted(self) -> list[int]:
        """The indexes, in :meth:`concepts`, of the concepts the user quoted."""
        out, i = [], 0
        for c in self.positive_clauses():
            if c.phrase:
                out.extend(range(i, i + len(c.concepts)))
            i += len(c.concepts)
        return out

    def grams(self) -> list[str]:
        """The bigram tokens of the query's positive text (for the fused ranking)."""
        return query_grams(" ".join(c.text for c in self.positive_clauses() if not c.docno))

    def is_conjunction(self) -> bool:
        """No OR and no document-number clause: a document matches by holding every concept."""
        return all(len(g) == 1 and not g[0].docno for g in self.groups)

    def also_searched(self) -> list[str]:
        """The synonyms the query was widened with, as text."""
        return list(dict.fromkeys("".join(f) for k in self.concepts() for f in k.synonyms))


def _lex(text: str, notes: list[str]) -> list[tuple[str, str, bool, bool]]:
    """Split into (raw, field, quoted, negated) pieces; what was forgiven goes to ``notes``."""
    pieces = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = False
        if text[i] in "-－" and i + 1 < n and not text[i + 1].isspace():
            negated = True
            i += 1
        fld = ""
        m = _FIELD_RE.match(text[i : i + 12])
        if m:
            i += m.end()
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                notes.append(f"nothing follows {m.group(0)!r}: it was ignored")
                break
            fld = FIELD_ALIASES[m.group(1).lower()]
        if i < n and text[i] in _QUOTES:
            close = _QUOTES[text[i]]
            end = text.find(close, i + 1)
            if end < 0 and close == "”":
                end = text.find('"', i + 1)
            if end < 0:
                # A stray quote (a pasted title, 5" 屏幕): dropped, the rest read as words.
                if _UNCLOSED_NOTE not in notes:
                    notes.append(_UNCLOSED_NOTE)
                i += 1
                if fld or negated:
                    j = i
                    while j < n and not text[j].isspace() and text[j] not in _QUOTES:
                        j += 1
                    if j > i:
                        pieces.append((text[i:j], fld, False, negated))
                    i = j
                continue
            pieces.append((text[i + 1 : end], fld, True, negated))
            i = end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _QUOTES:
                j += 1
            pieces.append((text[i:j], fld, False, negated))
            i = j
    return pieces


def parse(text: str, synonyms: bool = True) -> ParsedQuery:
    """Parse a query string (see the module docstring); ``synonyms`` widens words with data/synonyms.txt."""
    if not isinstance(text, str):
        raise InvalidArgumentError(f"the query must be a string, not {type(text).__name__}")
    typed, text = text, unformat(scrub(strip_controls(text)))
    if not text.strip():
        raise QuerySyntaxError("the query is empty")
    pq = ParsedQuery(text, typed=typed)
    if len(text) > MAX_QUERY_CHARS:
        pq.notes.append(f"the query was cut to its first {MAX_QUERY_CHARS} characters")
        text = text[:MAX_QUERY_CHARS]
    pending_or = False
    room = MAX_QUERY_WORDS
    cut_note = f"the query was cut to its first {MAX_QUERY_WORDS} words"
    for raw, fld, quoted, negated in _lex(text, pq.notes):
        if room <= 0:
            if cut_note not in pq.notes:
                pq.notes.append(cut_note)
            break
        if not quoted and not fld and raw in ("OR", "|", "｜"):
            if not pq.groups or pending_or:
                if _OR_NOTE not in pq.notes:
                    pq.notes.append(_OR_NOTE)
                continue
            pending_or = True
            continue
        if not quoted and not fld and raw == "AND":
            continue
        if fld == DOCNO_FIELD:
            value, complete = normalize_docno(raw)
            if not value:
                continue
            clause = Clause(raw, [value], phrase=complete, negated=negated, field=fld)
        else:
            words = list(iter_words(raw))
            if not words:
                # Punctuation alone (a lone "-", "“”"): nothing to search for.
                note = f"{(('-' if negated else '') + raw).strip() or raw!r} has no words to search for: it was ignored"
                if note not in pq.notes:
                    pq.notes.append(note)
                continue
            if len(words) > room:
                words = words[:room]
                raw = raw[: words[-1][3]]  # folding keeps offsets: the text up to the last word kept
                pq.notes.append(cut_note)
            room -= len(words)
            clause = Clause(raw, [w for w, _, _, _ in words], phrase=quoted, negated=negated, field=fld or None)
        if not clause.docno:
            clause.concepts = _concepts(clause, synonyms and not negated)
        if negated:
            pq.excluded.append(clause)
        elif pending_or:
            pq.groups[-1].append(clause)
        else:
            pq.groups.append([clause])
        pending_or = False
    if pending_or and _OR_NOTE not in pq.notes:
        pq.notes.append(_OR_NOTE)
    if not pq.groups and not pq.excluded:
        raise QuerySyntaxError(f"the query {pq.text!r} has no words to search for")
    return pq


def docno_filter(clause: Clause) -> Filter:
    """A document-number clause as a filter: exact for a complete number (``phrase``),
    a prefix otherwise (国办发, 国办发〔2024〕)."""
    return Term(DOCNO_FIELD, clause.terms[0]) if clause.phrase else Prefix(DOCNO_FIELD, clause.terms[0])


def synonym_clauses(pq: ParsedQuery) -> list[Clause]:
    """The synonyms a query was widened with, as clauses (for highlighting them too)."""
    return [Clause("".join(form), list(form), phrase=len(form) > 1)
            for k in pq.concepts() for form in k.synonyms]
