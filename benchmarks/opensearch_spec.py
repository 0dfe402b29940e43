"""Check every request body the OpenSearch backend sends against OpenSearch's published API specification.

    python benchmarks/opensearch_spec.py [--spec ../shared/opensearch-api-spec] [--corpus corpus]

The bodies are made by the backend's own functions (the same ones ``civicsearch opensearch
template|bulk|query`` print): the index template, the dated index's creation and its
settings after the load, the alias swap, the ``_bulk`` lines of the bundled corpus (index
and delete actions), every form of search (words, phrases, synonyms, OR, exclusions, field
prefixes, document numbers, long questions, relaxed and unquoted retries, each filter, the
date sort), the lookups (``show``, a keyword field's values, the documents an index holds,
``_mget``). Each is validated (JSON Schema 2020-12, ``jsonschema`` + ``referencing``) against
its operation's request body in the spec; an object schema that lists its properties is read
as closed (an unknown key is an error: a misspelt option would otherwise pass), and the spec's
overlapping ``oneOf``s are read as ``anyOf``. Skips (exit 0) when the spec is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Iterator

HERE = Path(__file__).resolve().parent
DEFAULT_SPEC = HERE.parent.parent / "shared" / "opensearch-api-spec"
BASE = "file:///spec/"

#: Query forms the search translation must cover, each with filters.
QUERIES = [
    ("加装电梯", {}),
    ("加装电梯 老旧小区", {"place": "上海"}),
    ('"党群服务中心" 活动', {"since": "2023", "until": "2023-06"}),
    ("电梯 -嘉定 -\"城市更新\"", {"topic": "城乡建设"}),
    ("加装电梯 OR 加梯", {"type": "通知"}),
    ("标题:规划 正文:社区", {"org": "人民政府"}),
    ("文号:国办发〔2024〕1号", {}),
    ("文号:国办发", {"in_force": True}),
    ("北京市对于因疫情影响暂停举办的展会项目有何支持政策", {}),
    ("关于小区“停车位”不足和物业管理不规范问题的反映", {"since": "2020-01-01"}),
    ("-电梯", {}),
]


def load_spec(root: Path) -> Any:
    """Every YAML file of the spec as a resource of one registry (``oneOf`` read as ``anyOf``;
    the schemas that are members of an ``allOf`` marked ``x-member``: they are closed by it)."""
    from urllib.parse import urldefrag, urljoin

    import yaml
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    members: list[str] = []

    def mark(member: dict, uri: str) -> None:
        """A part of an ``allOf`` (and each alternative inside it): not closed on its own."""
        if "$ref" in member:
            members.append(urljoin(uri, member["$ref"]))
            return
        member["x-member"] = True
        for alternative in member.get("anyOf", ()):
            mark(alternative, uri)

    def relax(node: Any, uri: str) -> Any:
        if isinstance(node, dict):
            out = {("anyOf" if k == "oneOf" else k): relax(v, uri) for k, v in node.items()}
            for member in out.get("allOf", ()):
                mark(member, uri)
            return out
        if isinstance(node, list):
            return [relax(v, uri) for v in node]
        return node

    contents = {}
    for path in sorted(root.rglob("*.yaml")):
        uri = BASE + path.relative_to(root).as_posix()
        contents[uri] = relax(yaml.safe_load(path.read_text("utf-8")), uri)
    for ref in members:
        uri, pointer = urldefrag(ref)
        node = contents.get(uri)
        for part in pointer.strip("/").split("/") if pointer else []:
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node["x-member"] = True
            for alternative in node.get("anyOf", ()):
                if "$ref" not in alternative:
                    alternative["x-member"] = True
    return Registry().with_resources(
        (uri, Resource.from_contents(c, default_specification=DRAFT202012)) for uri, c in contents.items())


_OPEN = ("additionalProperties", "patternProperties", "unevaluatedProperties")


def keys_of(schema: Any, resolver: Any, depth: int = 0) -> set[str] | None:
    """The keys an object schema allows, or None when it allows others (or cannot tell)."""
    if not isinstance(schema, dict) or depth > 20 or any(k in schema and schema[k] is not False for k in _OPEN):
        return None
    if "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        return keys_of(resolved.contents, resolved.resolver, depth + 1)
    keys = set(schema.get("properties", {}))
    # A key any part or alternative allows is known.
    for member in [*schema.get("allOf", ()), *schema.get("anyOf", ())]:
        more = keys_of(member, resolver, depth + 1)
        if more is None:
            return None
        keys |= more
    return keys


def closed(registry: Any) -> Any:
    """A validator class for which an object schema listing its ``properties`` (alone or
    through an ``allOf``) allows no other keys: a misspelt option is an error."""
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError

    base = Draft202012Validator.VALIDATORS

    def unknown(validator: Any, instance: Any, schema: dict) -> Iterator[Any]:
        if not isinstance(instance, dict) or schema.get("x-member"):
            return
        allowed = keys_of({k: v for k, v in schema.items() if k != "$ref"}, validator._resolver)
        if allowed is None:
            return
        for key in instance:
            if key not in allowed:
                yield ValidationError(f"unknown key {key!r} (the spec allows {', '.join(sorted(allowed))[:300]})")

    def properties(validator: Any, props: dict, instance: Any, schema: dict) -> Iterator[Any]:
        yield from base["properties"](validator, props, instance, schema)
        if "allOf" not in schema:  # else allOf checks the keys of all its members
            yield from unknown(validator, instance, schema)

    def all_of(validator: Any, members: list, instance: Any, schema: dict) -> Iterator[Any]:
        yield from base["allOf"](validator, members, instance, schema)
        yield from unknown(validator, instance, schema)

    return validators.extend(Draft202012Validator, {"properties": properties, "allOf": all_of})


def _named_by_user(error: Any) -> bool:
    """The spec lists a few similarity names, but an index names its own (``index.similarity.<name>``,
    each checked apart against the BM25 similarity's schema): not an unknown key."""
    return error.message.startswith("unknown key") and list(error.absolute_path)[-1:] == ["similarity"]


def request_schema(namespace: str, body: str, media: str = "application/json") -> dict:
    pointer = f"/components/requestBodies/{body}/content/{media.replace('/', '~1')}/schema"
    return {"$ref": f"{BASE}namespaces/{namespace}.yaml#{pointer}"}


def component(file: str, name: str) -> dict:
    return {"$ref": f"{BASE}schemas/{file}.yaml#/components/schemas/{name}"}


def bodies(corpus: Path) -> Iterator[tuple[str, dict, Any]]:
    """(what, schema, body) for every request kind the backend sends."""
    from civicsearch.backends.opensearch import backend, dsl, mapping
    from civicsearch.search.query import parse

    name = "civic"
    yield "indices.put_index_template", request_schema("indices", "indices.put_index_template"), \
        mapping.template(name)
    for sim_name, sim in mapping.similarities().items():
        yield f"indices.put_index_template (similarity {sim_name})", \
            component("indices._common", "IndexSettingsSimilarityBm25"), sim
    yield "indices.create (a dated index)", request_schema("indices", "indices.create"), backend.loading_settings()
    yield "indices.create (no template)", request_schema("indices", "indices.create"), mapping.index_body()
    yield "indices.put_settings (after the load)", request_schema("indices", "indices.put_settings"), \
        backend.serving_settings(1)
    yield "indices.update_aliases", request_schema("indices", "indices.update_aliases"), \
        backend.alias_swap(name, "civic-20261205", ["civic-20261204"])
    yield "indices.update_aliases (first load)", request_schema("indices", "indices.update_aliases"), \
        backend.alias_swap(name, "civic-20261205", [])
    lines = list(backend.dry_bulk([corpus], "civic-20261205", version=1))
    actions = [json.loads(line) for line in lines[0::2]] + [
        json.loads(line) for line in backend.bulk_lines([backend.delete_action("civic", "gone", 2)])]
    for i, action in enumerate(actions):
        yield f"_bulk action {i}", component("_core.bulk", "OperationContainer"), action
    for i, line in enumerate(lines[1::2]):
        yield f"_bulk source {i}", {"type": "object"}, json.loads(line)
    for text, given in QUERIES:
        parsed = parse(text)
        for sort in ("relevance", "date"):
            yield f"search {text!r} {given} {sort}", request_schema("_core", "search"), \
                dsl.search_body(parsed, given, size=110, sort=sort)
        yield f"search {text!r} relaxed", request_schema("_core", "search"), \
            dsl.search_body(parsed, given, size=10, relaxed=True)
        yield f"search {text!r} unquoted", request_schema("_core", "search"), \
            dsl.search_body(parsed, given, size=10, unquoted=True)
        yield f"search {text!r} matching", request_schema("_core", "search"), \
            backend.matching_body(parsed, given, {"a", "b"})
    yield "search (show by id)", request_schema("_core", "search"), backend.lookup_body("2023-加装电梯", 6)
    yield "search (a keyword field's values)", request_schema("_core", "search"), backend.lexicon_body("place")
    yield "search (the documents an index holds)", request_schema("_core", "search"), backend.existing_body()
    yield "mget", request_schema("_core", "mget"), backend.mget_body(["a", "b"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    ap.add_argument("--corpus", type=Path, default=HERE.parent / "corpus")
    args = ap.parse_args()
    if not (args.spec / "namespaces").is_dir():
        print(f"skipped: no OpenSearch API specification at {args.spec}")
        return 0
    try:
        import jsonschema  # noqa: F401
        import referencing  # noqa: F401
    except ImportError:
        print("skipped: the check needs jsonschema and referencing (pip install jsonschema)")
        return 0
    registry = load_spec(args.spec)
    validator_class = closed(registry)
    # The check must be able to fail: misspelt keys and wrong types are caught.
    for canary in ({"query": {"bool": {"must": [], "mustt": []}}}, {"query": {"term": {"id": {"valu": "x"}}}},
                   {"size": "ten"}, {"aggs": {"x": {"terms": {"field": "f", "sise": 1}}}}):
        if not any(validator_class(request_schema("_core", "search"), registry=registry).iter_errors(canary)):
            print(f"the check is broken: it lets {canary} through")
            return 2
    failures = checked = 0
    kinds: dict[str, int] = {}
    for what, schema, body in bodies(args.corpus):
        checked += 1
        kind = what.split(" ")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
        errors = sorted((e for e in validator_class(schema, registry=registry).iter_errors(body)
                         if not _named_by_user(e)), key=lambda e: list(e.path))
        if errors:
            failures += 1
            for e in errors[:3]:
                print(f"FAIL {what}: at {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}")
    print(f"{checked} request bodies checked against the spec ({', '.join(f'{k} {n}' for k, n in kinds.items())}): "
          f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
