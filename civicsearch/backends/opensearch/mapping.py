"""What an OpenSearch index of civic documents holds: its settings and mappings, and each document's source.

civicsearch analyses the text itself and sends OpenSearch words it only has to split on
spaces, so positions (and so quoted phrases) are civicsearch's own, not an analysis
plugin's. Per text field (title, body):

* ``<field>_words``: the words jieba cut, one token a word position (whitespace tokenizer);
* ``<field>_sub``: the sub-words inside long words (服务中心 in 党群服务中心), ranked lower;
* ``body`` itself: the text as read, with character bigrams (``cjk_bigram`` behind a
  character-mapping filter made from civicsearch's fold table, one character to one, so
  offsets stay true) for the bigram side of the ranking.

Every metadata field of the registry (:mod:`civicsearch.fields.registry`) is mapped from
its neutral flags: keywords as ``keyword``, dates as ``date``, columns as ``long`` or
``keyword`` with doc values (the facets' aggregations). Nothing is written per field by hand.
What is encoded here (a document's source) is decoded here (:func:`stored`, :func:`column_value`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from civicsearch.fields import registry
from civicsearch.fields.flags import Column, Date, Flag, Keywords
from civicsearch.index import grampool
from civicsearch.search.params import DEFAULT, GRAMS, RankParams
from civicsearch.text.normalize import fold_table
from civicsearch.text.tokens import iter_words

#: Bump when what is sent changes: an index with another version asks for a full rebuild.
MAPPING_VERSION = 1
TEXT_FIELDS = ("title", "body")
#: The field of the body's bigrams (the text as read).
GRAMS_FIELD = "body"
#: Where a document's registry values are kept whole (not indexed), for hits and ``show``.
INFO = registry.STORED_FIELD


def words_field(field: str) -> str:
    return f"{field}_words"


def sub_field(field: str) -> str:
    return f"{field}_sub"


def _escape(text: str) -> str:
    r"""``text`` as ``\uXXXX`` escapes (UTF-16 units), as a mapping rule reads them."""
    units = text.encode("utf-16-be")
    return "".join(f"\\u{int.from_bytes(units[i:i + 2], 'big'):04x}" for i in range(0, len(units), 2))


def fold_mappings() -> list[str]:
    """civicsearch's fold table (:func:`civicsearch.text.normalize.fold_table`) as mapping rules."""
    return [f"{_escape(chr(cp))}=>{_escape(to)}" for cp, to in sorted(fold_table().items())]


def analysis() -> dict[str, Any]:
    """The analyzers: whitespace for the words civicsearch cut, folded bigrams for the text as read."""
    return {
        "char_filter": {"civic_fold": {"type": "mapping", "mappings": fold_mappings()}},
        "analyzer": {
            "civic_words": {"type": "custom", "tokenizer": "whitespace"},
            "civic_grams": {"type": "custom", "char_filter": ["civic_fold"], "tokenizer": "standard",
                            "filter": ["lowercase", "cjk_bigram"]},
        },
    }


def similarities(params: RankParams = DEFAULT) -> dict[str, Any]:
    """BM25 per field with civicsearch's own k1 and b."""
    return {
        "civic_title": {"type": "BM25", "k1": params.k1, "b": params.b["title"], "discount_overlaps": True},
        "civic_body": {"type": "BM25", "k1": params.k1, "b": params.b["body"], "discount_overlaps": True},
        "civic_grams": {"type": "BM25", "k1": params.gram_k1, "b": params.b[GRAMS], "discount_overlaps": True},
    }


def flag_mapping(flag: Flag) -> dict[str, Any]:
    """The OpenSearch field that keeps what a metadata field's flag declares."""
    if isinstance(flag, Keywords):
        return {"type": "keyword"}
    if isinstance(flag, Date):
        return {"type": "date", "format": "strict_date_optional_time"}
    if isinstance(flag, Column):
        # Read for facets (aggregations) and sorting, never searched.
        return {"type": "long", "index": False} if flag.kind == "int64" else {"type": "keyword", "index": False}
    raise TypeError(f"no OpenSearch field for {flag!r}")


def properties() -> dict[str, Any]:
    """Every field of the mapping: the text fields, and the registry's."""
    props: dict[str, Any] = {
        "id": {"type": "keyword"},
        "path": {"type": "keyword"},
        "hash": {"type": "keyword", "index": False},
        "title": {"type": "text", "index": False},
        GRAMS_FIELD: {"type": "text", "analyzer": "civic_grams", "similarity": "civic_grams",
                      "index_options": "offsets"},
        "original": {"type": "text", "index": False},
        "sketch": {"type": "keyword", "index": False, "doc_values": False},
        INFO: {"type": "object", "enabled": False},
    }
    for field in TEXT_FIELDS:
        similarity = f"civic_{field}"
        props[words_field(field)] = {"type": "text", "analyzer": "civic_words", "similarity": similarity,
                                     "index_options": "positions"}
        props[sub_field(field)] = {"type": "text", "analyzer": "civic_words", "similarity": similarity,
                                   "index_options": "freqs"}
    for name, flag in registry.index_fields().items():
        props[name] = flag_mapping(flag)
    return props


def index_body(params: RankParams = DEFAULT, shards: int = 1, replicas: int = 1) -> dict[str, Any]:
    """Settings and mappings of an index (what the index template gives every dated index)."""
    return {
        "settings": {
            "index": {"number_of_shards": shards, "number_of_replicas": replicas,
                      "similarity": similarities(params), "analysis": analysis()},
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {"civicsearch": {"mapping_version": MAPPING_VERSION, "fields": registry.signature()}},
            "properties": properties(),
        },
    }


def template(name: str, params: RankParams = DEFAULT, shards: int = 1, replicas: int = 1) -> dict[str, Any]:
    """The index template for the dated indexes ``name-*`` a full load creates."""
    return {"index_patterns": [f"{name}-*"], "priority": 100,
            "_meta": {"civicsearch": {"mapping_version": MAPPING_VERSION}},
            "template": index_body(params, shards, replicas)}


# -- documents -------------------------------------------------------------------


def split_words(text: str) -> tuple[str, str]:
    """The words of ``text`` (one a position) and its sub-words, each as space-separated tokens."""
    words: list[str] = []
    subs: list[str] = []
    pending: list[str] = []
    last = -1
    for term, pos, _, _ in iter_words(text, subwords=True):
        if pos != last and pending:
            words.append(pending.pop())  # a position's last token is its word, the others its sub-words
            subs.extend(pending)
            pending = []
        pending.append(term)
        last = pos
    if pending:
        words.append(pending.pop())
        subs.extend(pending)
    return " ".join(words), " ".join(subs)


def _plain(value: Any) -> Any:
    """A stored value as JSON (a moment as ``{"$datetime": ISO}``)."""
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _unplain(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$datetime"}:
            return datetime.fromisoformat(value["$datetime"])
        return {k: _unplain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unplain(v) for v in value]
    return value


def _flag_value(flag: Flag, value: Any) -> Any:
    if isinstance(flag, Keywords):
        if flag.separator is None:
            return value
        return [t for t in str(value).split(flag.separator) if t]
    if isinstance(flag, Date):
        return value.isoformat()
    if isinstance(flag, Column) and isinstance(value, bytes):
        return value.decode("utf-8")
    return value


def source(fields: dict[str, Any]) -> dict[str, Any]:
    """A document's OpenSearch source from its index field values (``indexer.to_fields``)."""
    out: dict[str, Any] = {k: fields[k] for k in ("id", "path", "title", "body", "hash") if k in fields}
    if "original" in fields:
        out["original"] = fields["original"]
    if fields.get("sketch"):
        out["sketch"] = fields["sketch"].hex()
    out[INFO] = _plain(fields.get(INFO) or {})
    for field in TEXT_FIELDS:
        words, subs = split_words(fields.get(field) or "")
        out[words_field(field)] = words
        out[sub_field(field)] = subs
    flags = registry.index_fields()
    for name, value in fields.items():
        if name in flags and value not in (None, ""):
            out[name] = _flag_value(flags[name], value)
    out.pop(grampool.FIELD, None)
    return out


def stored(src: dict[str, Any]) -> dict[str, Any]:
    """A hit's source as the local index's stored fields read (``info`` decoded, the sketch as bytes)."""
    out = dict(src)
    out[INFO] = _unplain(src.get(INFO) or {})
    if src.get("sketch"):
        out["sketch"] = bytes.fromhex(src["sketch"])
    return out


def column_value(name: str, key: Any) -> Any:
    """A column's value as the local columns hold it, from an aggregation bucket's key."""
    flag = registry.index_fields()[name]
    if isinstance(flag, Column) and flag.kind == "int64":
        return int(key)
    return str(key).encode("utf-8")


def dumps(body: Any) -> str:
    """A request body as sent (UTF-8 JSON, Chinese unescaped)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
