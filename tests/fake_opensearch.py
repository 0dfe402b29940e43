"""An in-memory stand-in for the parts of an OpenSearch cluster the backend uses (no server runs here).

It keeps indexes, aliases and templates, records every request, and answers the query DSL
civicsearch sends (bool, term, terms, prefix, range, match_phrase on whitespace-split words,
match on the body's bigrams, match_all) with exact matching semantics, so that tests can hold
the translation's *matches* (totals, filters, facets) to the local backend. Scores are not
BM25: a document scores the boosts of the clauses it matches. The real cluster's ranking is
what the contract suite (``pytest -m opensearch``) compares.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import datetime
from typing import Any

from opensearchpy.exceptions import NotFoundError, TransportError
from opensearchpy.serializer import JSONSerializer

from civicsearch.text.bigrams import iter_grams


def _tokens(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [t for v in value for t in _tokens(v)]
    return str(value).split()


def _values(src: dict, field: str) -> list[Any]:
    value = src.get(field)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class _Query:
    """Evaluates one query clause on one document source: (matched, score)."""

    def __init__(self, mappings: dict) -> None:
        self.props = mappings["properties"]

    def _is_text(self, field: str) -> bool:
        return self.props.get(field, {}).get("type") == "text"

    def run(self, q: dict, src: dict) -> tuple[bool, float]:
        (kind, body), = q.items()
        return getattr(self, kind)(body, src)

    def match_all(self, body: dict, src: dict) -> tuple[bool, float]:
        return True, 1.0

    def term(self, body: dict, src: dict) -> tuple[bool, float]:
        (field, spec), = body.items()
        value, boost = (spec["value"], spec.get("boost", 1.0)) if isinstance(spec, dict) else (spec, 1.0)
        held = _tokens(src.get(field)) if self._is_text(field) else _values(src, field)
        n = held.count(value)
        return n > 0, boost * n

    def terms(self, body: dict, src: dict) -> tuple[bool, float]:
        (field, values), = body.items()
        return any(v in values for v in _values(src, field)), 1.0

    def prefix(self, body: dict, src: dict) -> tuple[bool, float]:
        (field, value), = body.items()
        return any(str(v).startswith(value) for v in _values(src, field)), 1.0

    def range(self, body: dict, src: dict) -> tuple[bool, float]:
        (field, bounds), = body.items()
        for v in _values(src, field):
            moment = datetime.fromisoformat(v)
            ok = all(op(moment, datetime.fromisoformat(b)) for key, b in bounds.items()
                     for op in [{"gte": lambda a, c: a >= c, "gt": lambda a, c: a > c,
                                 "lte": lambda a, c: a <= c, "lt": lambda a, c: a < c}[key]])
            if ok:
                return True, 1.0
        return False, 0.0

    def match_phrase(self, body: dict, src: dict) -> tuple[bool, float]:
        (field, spec), = body.items()
        words, held = spec["query"].split(), _tokens(src.get(field))
        n = sum(held[i:i + len(words)] == words for i in range(len(held) - len(words) + 1))
        return n > 0, spec.get("boost", 1.0) * n

    def match(self, body: dict, src: dict) -> tuple[bool, float]:
        (field, spec), = body.items()
        wanted = spec["query"].split()
        held = Counter(iter_grams(src.get(field) or ""))
        found = [g for g in wanted if held[g]]
        need = spec.get("minimum_should_match")
        if need is not None:
            share = int(str(need).rstrip("%")) / 100
            if len(found) < max(1, int(share * len(wanted))):
                return False, 0.0
        return bool(found), spec.get("boost", 1.0) * len(found)

    def bool(self, body: dict, src: dict) -> tuple[bool, float]:
        score = 0.0
        for q in body.get("must", []):
            ok, s = self.run(q, src)
            if not ok:
                return False, 0.0
            score += s
        for q in body.get("filter", []):
            if not self.run(q, src)[0]:
                return False, 0.0
        for q in body.get("must_not", []):
            if self.run(q, src)[0]:
                return False, 0.0
        should = [self.run(q, src) for q in body.get("should", [])]
        matched = sum(ok for ok, _ in should)
        need = body.get("minimum_should_match")
        if need is None:
            need = 0 if body.get("must") or body.get("filter") else (1 if should else 0)
        elif isinstance(need, str):
            need = int(len(should) * int(need.rstrip("%")) / 100)
        if matched < need:
            return False, 0.0
        return True, score + sum(s for ok, s in should if ok)


class _Indices:
    def __init__(self, cluster: "FakeOpenSearch") -> None:
        self.c = cluster

    def exists_alias(self, name: str, **kw: Any) -> bool:
        self.c.log("indices.exists_alias", name=name)
        return name in self.c.aliases and bool(self.c.aliases[name])

    def get_alias(self, name: str, **kw: Any) -> dict:
        self.c.log("indices.get_alias", name=name)
        return {i: {"aliases": {name: {}}} for i in self.c.aliases.get(name, ())}

    def put_index_template(self, name: str, body: dict, **kw: Any) -> dict:
        self.c.log("indices.put_index_template", name=name, body=body)
        self.c.templates[name] = copy.deepcopy(body)
        return {"acknowledged": True}

    def create(self, index: str, body: dict, **kw: Any) -> dict:
        self.c.log("indices.create", index=index, body=body)
        template = next((t for t in self.c.templates.values()
                         if any(index.startswith(p.rstrip("*")) for p in t["index_patterns"])), None)
        if template is None:
            raise TransportError(400, "no template")
        self.c.indices_[index] = {"mappings": template["template"]["mappings"], "docs": {},
                                 "settings": copy.deepcopy(body.get("settings", {}))}
        return {"acknowledged": True}

    def put_settings(self, index: str, body: dict, **kw: Any) -> dict:
        self.c.log("indices.put_settings", index=index, body=body)
        self.c.indices_[index]["settings"] = copy.deepcopy(body)
        return {"acknowledged": True}

    def refresh(self, index: str, **kw: Any) -> dict:
        self.c.log("indices.refresh", index=index)
        return {}

    def update_aliases(self, body: dict, **kw: Any) -> dict:
        self.c.log("indices.update_aliases", body=body)
        for action in body["actions"]:
            (op, spec), = action.items()
            members = self.c.aliases.setdefault(spec["alias"], set())
            (members.add if op == "add" else members.discard)(spec["index"])
        return {"acknowledged": True}

    def get(self, index: str, **kw: Any) -> dict:
        self.c.log("indices.get", index=index)
        return {i: {} for i in self.c.indices_ if i.startswith(index.rstrip("*"))}

    def delete(self, index: str, **kw: Any) -> dict:
        self.c.log("indices.delete", index=index)
        self.c.indices_.pop(index, None)
        return {"acknowledged": True}

    def get_mapping(self, index: str, **kw: Any) -> dict:
        self.c.log("indices.get_mapping", index=index)
        return {index: {"mappings": self.c.indices_[index]["mappings"]}}

    def stats(self, index: str, **kw: Any) -> dict:
        self.c.log("indices.stats", index=index)
        size = sum(len(json.dumps(s)) for i in self.c.resolve(index) for _, s in self.c.indices_[i]["docs"].values())
        return {"_all": {"primaries": {"store": {"size_in_bytes": size}}}}

    def get_settings(self, index: str, **kw: Any) -> dict:
        self.c.log("indices.get_settings", index=index)
        return {index: {"settings": {"index": {"creation_date": "1764892800000"}}}}


class _Transport:
    serializer = JSONSerializer()


class FakeOpenSearch:
    """The client methods the backend calls, on an in-memory cluster. ``down`` makes every
    request fail as an unreachable cluster does; ``refuse`` maps a document id to the
    bulk error the cluster answers for it; ``busy`` answers the first that many bulk items 429."""

    def __init__(self) -> None:
        self.indices_: dict[str, dict] = {}  # the indexes (``indices`` is the client's namespace)
        self.aliases: dict[str, set[str]] = {}
        self.templates: dict[str, dict] = {}
        self.calls: list[tuple[str, dict]] = []
        self.indices = _Indices(self)
        self.transport = _Transport()
        self.down = False
        self.refuse: dict[str, dict] = {}
        self.busy = 0

    def log(self, op: str, **kw: Any) -> None:
        if self.down:
            from opensearchpy.exceptions import ConnectionError as OSConnectionError

            raise OSConnectionError("N/A", "ConnectionRefusedError: [Errno 111] Connection refused", None)
        self.calls.append((op, copy.deepcopy(kw)))

    def sent(self, name: str) -> list[dict]:
        return [kw for n, kw in self.calls if n == name]

    def resolve(self, name: str) -> list[str]:
        if name in self.indices_:
            return [name]
        if name in self.aliases and self.aliases[name]:
            return sorted(self.aliases[name])
        raise NotFoundError(404, "index_not_found_exception", {"error": {"type": "index_not_found_exception"}})

    def bulk(self, body: str, **kw: Any) -> dict:
        self.log("bulk", body=body)
        lines = body.strip("\n").split("\n")
        items, errors, i = [], False, 0
        while i < len(lines):
            (op, meta), = json.loads(lines[i]).items()
            src = json.loads(lines[i + 1]) if op == "index" else None
            i += 2 if op == "index" else 1
            docs = self.indices_[meta["_index"]]["docs"]
            result = {"_index": meta["_index"], "_id": meta["_id"]}
            old = docs.get(meta["_id"])
            if self.busy > 0:
                self.busy -= 1
                result.update(status=429, error={"type": "es_rejected_execution_exception", "reason": "busy"})
            elif meta["_id"] in self.refuse:
                result.update(status=400, error=self.refuse[meta["_id"]])
            elif old is not None and old[0] >= meta["version"]:
                result.update(status=409, error={"type": "version_conflict_engine_exception", "reason": "newer"})
            elif op == "index":
                docs[meta["_id"]] = (meta["version"], src)
                result.update(status=201)
            else:
                docs.pop(meta["_id"], None)
                result.update(status=200)
            errors = errors or result["status"] >= 300
            items.append({op: result})
        return {"errors": errors, "items": items}

    def _docs(self, index: str) -> list[tuple[str, dict, dict]]:
        return [(doc_id, src, self.indices_[i]["mappings"]) for i in self.resolve(index)
                for doc_id, (_, src) in sorted(self.indices_[i]["docs"].items())]

    def search(self, body: dict, index: str, **kw: Any) -> dict:
        self.log("search", index=index, body=body, **kw)
        found = []
        for doc_id, src, mappings in self._docs(index):
            ok, score = _Query(mappings).run(body.get("query", {"match_all": {}}), src)
            if ok:
                found.append((score, doc_id, src))
        sort = body.get("sort", [])
        if sort and "datekey" in sort[0]:
            found.sort(key=lambda f: (-(f[2].get("datekey") or -1), -f[0], f[1]))
        else:
            found.sort(key=lambda f: (-f[0], f[1]))
        wanted = body.get("_source", True)
        hits = [{"_id": d, "_score": s, "_source": {k: v for k, v in src.items() if wanted is True or k in wanted}}
                for s, d, src in found[: kw.get("size") or body.get("size", 10)]]
        out: dict[str, Any] = {"_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                               "hits": {"total": {"value": len(found), "relation": "eq"}, "hits": hits}}
        aggs = {}
        for name, agg in (body.get("aggs") or {}).items():
            (kind, spec), = agg.items()
            counts: Counter = Counter()
            for _, _, src in found:
                for v in _values(src, spec["field"]):
                    counts[v // spec["interval"] * spec["interval"] if kind == "histogram" else v] += 1
            buckets = [{"key": k, "doc_count": n} for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
            size = spec.get("size", len(buckets))
            aggs[name] = {"buckets": buckets[:size],
                          "sum_other_doc_count": sum(b["doc_count"] for b in buckets[size:])}
        if aggs:
            out["aggregations"] = aggs
        if "scroll" in kw:
            out["_scroll_id"] = "scroll-1" if hits else None
            self._scrolled = True
        return out

    def scroll(self, body: dict, **kw: Any) -> dict:
        self.log("scroll", body=body)
        return {"_scroll_id": None, "hits": {"hits": []}}

    def clear_scroll(self, body: dict, **kw: Any) -> dict:
        return {}

    def mget(self, body: dict, index: str, **kw: Any) -> dict:
        self.log("mget", index=index, body=body)
        docs = {d: s for d, s, _ in self._docs(index)}
        return {"docs": [{"_id": i, "found": i in docs, **({"_source": docs[i]} if i in docs else {})}
                         for i in body["ids"]]}

    def count(self, index: str, **kw: Any) -> dict:
        self.log("count", index=index)
        return {"count": len(self._docs(index))}

