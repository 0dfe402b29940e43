"""The OpenSearch backend: the same search on a cluster, for corpora beyond one machine.

civicsearch still reads, cleans, analyses and checks every document (the words it cut,
its own metadata); the cluster stores, matches and counts. A folder on this machine keeps
what a run needs to be safe: the writer lock, the manifest of the last run (files, what
is kept out), saved searches. The read alias ``index_name`` points at one dated index:

* a full load writes a new dated index (no replicas, no refresh while loading), then one
  ``_aliases`` call moves the alias to it; the index it replaced is deleted by the next run;
* a run after that sends only what the manifest says was added, changed or deleted, by
  document id with an external version (the run's start in milliseconds), so a run that
  is killed and run again never leaves an older version over a newer one;
* a document the cluster refuses is reported as kept out with the cluster's reason, and its
  file is read again next run.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from civicsearch.backends.base import AMBIGUOUS_LISTED, Page, Progress, by_prefix, hit_of, record_of
from civicsearch.backends.opensearch import dsl, mapping
from civicsearch.errors import (
    BackendError,
    CivicSearchError,
    IndexNotFoundError,
    IndexVersionError,
    InvalidArgumentError,
)
from civicsearch.fields import registry
from civicsearch.index import store
from civicsearch.index.indexer import MAX_INDEXED_CHARS, sync
from civicsearch.ingest.readers import DEFAULT_MAX_BYTES, check_roots
from civicsearch.results import DocumentRecord, Hit, IndexReport, IndexStats, SearchResults
from civicsearch.search.collapse import collapse_similar
from civicsearch.search.params import DEFAULT, RankParams
from civicsearch.search.plan import UNQUOTED_NOTE, is_long
from civicsearch.search.query import ParsedQuery, synonym_clauses
from civicsearch.search.snippets import make_snippet, match_spans
from civicsearch.text.tokens import WORD_RE, iter_words
from civicsearch.text.words import get_segmenter

#: The state of the last run (roots, manifest, kept out), in the backend's own folder.
STATE_FILE = "opensearch.json"
#: Ranked documents looked through beyond the page for reposts (as the local backend).
COLLAPSE_WINDOW = 100
#: Documents a ``_bulk`` request carries, and its largest size.
BULK_DOCS = 500
BULK_BYTES = 20 * 1024 * 1024
#: Retries of a request the cluster answers 429 (too many requests) or 503, with backoff.
RETRIES = 5
#: A keyword field's values read to check a filter's value (the largest terms aggregation).
LEXICON_TERMS = 65_000
#: Documents a saved search's check asks about in one search.
MATCHING_BATCH = 1000
#: Seconds a keyword field's values are trusted before they are read again.
LEXICON_SECONDS = 60.0


def _require() -> None:
    """Say, in one line, that the opensearch extra is missing."""
    try:
        import opensearchpy  # noqa: F401
    except ImportError:
        raise CivicSearchError("the OpenSearch backend needs the opensearch extra (opensearch-py is missing): "
                               "pip install 'civicsearch[opensearch]'") from None


def _client(url: str, timeout: float) -> Any:
    from opensearchpy import OpenSearch

    return OpenSearch(hosts=[url], timeout=timeout, max_retries=RETRIES, retry_on_timeout=True,
                      retry_on_status=(429, 502, 503, 504), http_compress=True)


def _cluster_error(e: Exception, what: str, url: str) -> BackendError:
    """A client exception as one line naming the cluster and what was asked of it."""
    status = getattr(e, "status_code", None)
    if not isinstance(status, int):  # no answer: refused, timed out, a name that does not resolve
        text = str(getattr(e, "info", None) or e)
        known = next((why for key, why in (("refused", "connection refused"), ("timed out", "timed out"),
                                           ("Name or service not known", "unknown host"),
                                           ("certificate", "TLS certificate not accepted")) if key in text), None)
        return BackendError(f"cannot reach the OpenSearch cluster at {url} to {what} "
                            f"({known or (type(e).__name__ + ': ' + text)[:200]})")
    info = getattr(e, "info", None) or getattr(e, "error", None) or e
    reason: Any = info
    if isinstance(info, dict):
        err = info.get("error", info)
        reason = (err.get("reason") or err.get("type")) if isinstance(err, dict) else err
    return BackendError(f"the OpenSearch cluster at {url} could not {what} (HTTP {status}: {reason})"[:400])


def bulk_lines(actions: list[dict[str, Any]]) -> Iterator[str]:
    """The ``_bulk`` NDJSON of ``actions`` (each an ``index`` with its source, or a ``delete``)."""
    for action in actions:
        op = action["_op_type"]
        yield mapping.dumps({op: {k: v for k, v in action.items() if k not in ("_op_type", "_source")}})
        if op == "index":
            yield mapping.dumps(action["_source"])


def index_action(index: str, fields: dict[str, Any], version: int) -> dict[str, Any]:
    """The ``_bulk`` action writing one document (its id, the run's external version)."""
    return {"_op_type": "index", "_index": index, "_id": fields["id"], "version": version,
            "version_type": "external", "_source": mapping.source(fields)}


def delete_action(index: str, doc_id: str, version: int) -> dict[str, Any]:
    return {"_op_type": "delete", "_index": index, "_id": doc_id, "version": version, "version_type": "external"}


class _BulkSink:
    """Bulk actions for one run's changes, sent in chunks as they come (:class:`civicsearch.index.indexer.Sink`)."""

    def __init__(self, backend: "OpenSearchBackend", index: str, version: int) -> None:
        self.backend = backend
        self.index = index
        self.version = version
        self.pending: list[dict[str, Any]] = []
        self.failed: dict[str, str] = {}

    def add(self, fields: dict[str, Any], replace: bool) -> None:
        self.pending.append(index_action(self.index, fields, self.version))
        if len(self.pending) >= BULK_DOCS:
            self.flush()

    def delete(self, doc_id: str) -> None:
        self.pending.append(delete_action(self.index, doc_id, self.version))
        if len(self.pending) >= BULK_DOCS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.failed.update(self.backend.send(self.pending))
            self.pending = []

    def commit(self) -> dict[str, str]:
        self.flush()
        return self.failed

    def cancel(self) -> None:
        self.pending = []


class OpenSearchBackend:
    """Index and search through an OpenSearch cluster at ``url`` under the read alias
    ``index_name``; ``index_dir`` is this machine's folder for the writer lock, the
    manifest and saved searches. ``client`` (an ``opensearchpy.OpenSearch``) is made from
    ``url`` unless given."""

    def __init__(self, url: str, index_name: str = "civic", index_dir: str | Path = "index", *,
                 client: Any = None, params: RankParams = DEFAULT, shards: int = 1, replicas: int = 1,
                 timeout: float = 30.0) -> None:
        if not index_name or index_name != index_name.lower() or any(c in index_name for c in ' "*\\<|,>/?#:'):
            raise CivicSearchError(f"{index_name!r} cannot name an OpenSearch index (lower case, no spaces or "
                                   "\\ / * ? \" < > | , # :)")
        _require()
        self.url = url
        self.index_name = index_name
        self.index_dir = Path(index_dir)
        self.params = params
        self.shards, self.replicas, self.timeout = shards, replicas, timeout
        self._client = client
        self._lexicons: dict[str, tuple[float, list[str]]] = {}

    # -- the cluster -------------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _client(self.url, self.timeout)
        return self._client

    def call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        """One request, its failures as :class:`BackendError` (a missing index as :class:`IndexNotFoundError`)."""
        from opensearchpy.exceptions import OpenSearchException

        try:
            return fn(**kwargs)
        except OpenSearchException as e:  # every failure of the client becomes one line
            if getattr(e, "status_code", None) == 404 and "index_not_found" in str(getattr(e, "error", "")):
                raise self._missing() from None
            raise _cluster_error(e, what, self.url) from None

    def _missing(self) -> IndexNotFoundError:
        return IndexNotFoundError(
            f"no index {self.index_name!r} on the OpenSearch cluster at {self.url}",
            remedy="build it: SearchEngine(backend=...).index(paths, full=True)",
            cli_remedy=f"run `civicsearch --backend opensearch --url {self.url} --index-name {self.index_name} "
                       "index --full PATH` to build it")

    def send(self, actions: list[dict[str, Any]]) -> dict[str, str]:
        """Send bulk actions (retrying 429 with backoff); the reason for each document refused, by id."""
        from opensearchpy import helpers
        from opensearchpy.exceptions import OpenSearchException

        failed: dict[str, str] = {}
        try:
            for ok, item in helpers.streaming_bulk(self.client, actions, chunk_size=BULK_DOCS,
                                                   max_chunk_bytes=BULK_BYTES, raise_on_error=False,
                                                   raise_on_exception=True, max_retries=RETRIES, initial_backoff=1,
                                                   max_backoff=60):
                if ok:
                    continue
                (op, result), = item.items()
                if result.get("status") == 409:
                    continue  # the cluster holds this or a newer version already: a rerun's repeat
                error = result.get("error") or {}
                reason = error.get("reason") if isinstance(error, dict) else str(error)
                failed[str(result.get("_id"))] = f"the OpenSearch cluster refused it ({op}: {reason})"[:300]
        except OpenSearchException as e:
            raise _cluster_error(e, "write the documents", self.url) from None
        return failed

    def _targets(self) -> list[str]:
        """The dated indexes the read alias points at (none before a first load)."""
        got = self.call("read the alias", self.client.indices.get_alias, name=self.index_name,
                        params={"ignore_unavailable": "true"}) if self._alias_exists() else {}
        return sorted(got)

    def _alias_exists(self) -> bool:
        return bool(self.call("read the alias", self.client.indices.exists_alias, name=self.index_name))

    # -- writing -------------------------------------------------------------------

    def _read_state(self) -> dict[str, Any]:
        path = self.index_dir / STATE_FILE
        if not path.exists():
            return {}
        try:
            state = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as e:
            raise store.damaged(self.index_dir, f"{STATE_FILE} cannot be read: {e}") from None
        if not isinstance(state, dict):
            raise store.damaged(self.index_dir, f"{STATE_FILE} is malformed")
        return state

    def _write_state(self, state: dict[str, Any]) -> None:
        store.replace_file(self.index_dir / STATE_FILE, mapping.dumps(state))

    def existing(self, index: str) -> dict[str, tuple[str, str]]:
        """id → (raw hash, path) of every document the index holds (one scroll)."""
        from opensearchpy import helpers
        from opensearchpy.exceptions import OpenSearchException

        out: dict[str, tuple[str, str]] = {}
        try:
            for hit in helpers.scan(self.client, index=index, size=5000, query=existing_body()):
                src = hit.get("_source", {})
                out[hit["_id"]] = (src.get("hash", ""), src.get("path", ""))
        except OpenSearchException as e:
            raise _cluster_error(e, "list the documents it holds", self.url) from None
        return out

    def index(self, paths: list[Path], *, full: bool = False, progress: Progress | None = None, max_bytes: int,
              procs: int | None = None, allow_deletes: bool = False, semantic: bool | None = None) -> IndexReport:
        if semantic:
            raise InvalidArgumentError("the OpenSearch backend keeps no vectors: the semantic rerank is the local "
                                       "index's", "semantic")
        started = time.perf_counter()
        roots = check_roots(paths)
        with store.WriterLock(self.index_dir) as lock:
            state = self._read_state()
            targets = self._targets()
            fresh = full or not targets
            version = time.time_ns() // 1_000_000
            if fresh:
                self._drop_others(targets)  # what a killed load left
                index = f"{self.index_name}-{datetime.now().strftime('%Y%m%d%H%M%S%f')}"
                self.create(index)
                existing: dict[str, tuple[str, str]] = {}
            else:
                if len(targets) != 1:
                    raise BackendError(f"the alias {self.index_name!r} points at {len(targets)} indexes "
                                       f"({', '.join(targets)}): run `index --full` to load one")
                index = targets[0]
                self.check_version(index)
                self._drop_others(targets)
                existing = self.existing(index)
            sink = _BulkSink(self, index, version)
            try:
                report, changed = sync(sink, existing, state, roots, lock, fresh=fresh, progress=progress,
                                       max_bytes=max_bytes, allow_deletes=allow_deletes, started=started)
                if fresh:
                    self.publish(index, targets)
            except BaseException:
                if fresh:
                    self._abandon(index)
                raise
            if not fresh and changed:
                self.call("refresh the index", self.client.indices.refresh, index=index)
            report.documents = self.count(index)
            if changed:
                state["index"] = index
                self._write_state(state)
            return report

    def create(self, index: str) -> None:
        """Put the index template, then create a dated index from it, loading settings on."""
        self.call("put the index template", self.client.indices.put_index_template, name=self.index_name,
                  body=mapping.template(self.index_name, self.params, self.shards, self.replicas))
        self.call("create the index", self.client.indices.create, index=index, body=loading_settings())

    def publish(self, index: str, previous: list[str]) -> None:
        """After a full load: searchable settings, a refresh, and the alias moved in one call."""
        self.call("finish the load", self.client.indices.put_settings, index=index,
                  body=serving_settings(self.replicas))
        self.call("refresh the index", self.client.indices.refresh, index=index)
        self.call("move the alias", self.client.indices.update_aliases, body=alias_swap(self.index_name, index,
                                                                                        previous))

    def _drop_others(self, targets: list[str]) -> None:
        """Delete the dated indexes of this name (``NAME-`` and 20 digits: a full load's own) the alias
        does not point at: replaced by a later load, or left by a load that was killed."""
        got = self.call("list the indexes", self.client.indices.get, index=f"{self.index_name}-*",
                        params={"ignore_unavailable": "true", "allow_no_indices": "true"})
        dated = re.compile(re.escape(self.index_name) + r"-\d{20}")
        for name in sorted(set(got) - set(targets)):
            if dated.fullmatch(name):
                self._delete_quietly(name)

    def _abandon(self, index: str) -> None:
        """Delete a full load's index that failed before the alias moved to it (never one it points at)."""
        from opensearchpy.exceptions import OpenSearchException

        try:
            if index in self._targets():
                return
        except (CivicSearchError, OpenSearchException):
            return  # cannot tell: the next run deletes it if it is not the live one
        self._delete_quietly(index)

    def _delete_quietly(self, index: str) -> None:
        from opensearchpy.exceptions import OpenSearchException

        try:
            self.client.indices.delete(index=index, params={"ignore_unavailable": "true"})
        except OpenSearchException:  # the next run tries again
            pass

    def check_version(self, index: str) -> None:
        """An index loaded with another mapping version or other fields asks for a full load."""
        got = self.call("read the mapping", self.client.indices.get_mapping, index=index)
        meta = (next(iter(got.values()), {}).get("mappings", {}).get("_meta") or {}).get("civicsearch", {})
        if meta.get("mapping_version") != mapping.MAPPING_VERSION or meta.get("fields") != registry.signature():
            raise IndexVersionError(
                f"the OpenSearch index {index} was loaded by another version of civicsearch "
                f"(mapping {meta.get('mapping_version')}, this version sends {mapping.MAPPING_VERSION})",
                remedy="load it again: SearchEngine(backend=...).index(paths, full=True)",
                cli_remedy="run `civicsearch --backend opensearch … index --full PATH` to load it again")

    def count(self, index: str | None = None) -> int:
        return int(self.call("count the documents", self.client.count, index=index or self.index_name)["count"])

    def remembered_roots(self) -> list[str]:
        return list(self._read_state().get("roots", []))

    def exists(self) -> bool:
        return self._alias_exists()

    # -- reading -------------------------------------------------------------------

    def lexicon(self, field: str) -> list[str]:
        """Every value of the keyword field ``field`` (what a filter's value is checked against)."""
        now = time.monotonic()
        cached = self._lexicons.get(field)
        if cached is None or now - cached[0] > LEXICON_SECONDS:
            got = self.call("read a field's values", self.client.search, index=self.index_name,
                            body=lexicon_body(field))
            values = sorted(str(b["key"]) for b in got.get("aggregations", {}).get("values", {}).get("buckets", []))
            self._lexicons[field] = cached = (now, values)
        return cached[1]

    def _search(self, body: dict[str, Any]) -> dict[str, Any]:
        # Every shard scores with the whole index's document frequencies, as one index does.
        return self.call("search", self.client.search, index=self.index_name, body=body,
                         params={"search_type": "dfs_query_then_fetch"})

    def search(self, query: ParsedQuery, filters: dict[str, Any], page: Page) -> SearchResults:
        given = registry.canonical_filters(filters, self)
        wanted = page.offset + page.limit
        size = wanted + COLLAPSE_WINDOW if page.collapse else wanted
        notes = list(query.notes)
        long = is_long(query, self.params)
        relaxed = False
        got = self._search(dsl.search_body(query, given, size=size, sort=page.sort, params=self.params))
        total = got["hits"]["total"]["value"]
        if not total and long and query.quoted():
            notes.append(UNQUOTED_NOTE)
            relaxed = True
            got = self._search(dsl.search_body(query, given, size=size, sort=page.sort, params=self.params,
                                               unquoted=True))
        elif not total and not long and query.term_count() >= 2 and query.concepts():
            relaxed = True
            got = self._search(dsl.search_body(query, given, size=size, sort=page.sort, params=self.params,
                                               relaxed=True))
        total = got["hits"]["total"]["value"]
        facets, cut = dsl.facets(got.get("aggregations", {}), given)
        if cut:
            notes.append(f"the facets of {', '.join(cut)} count their first {dsl.FACET_BUCKETS:,} values only")
        ranked = got["hits"]["hits"]
        sketches = [bytes.fromhex(h.get("_source", {}).get("sketch") or "") for h in ranked]
        order = list(range(len(ranked)))
        groups = collapse_similar(order, sketches, wanted) if page.collapse else [(i, []) for i in order[:wanted]]
        shown = groups[page.offset:wanted]
        sources = self._sources([ranked[i]["_id"] for i, _ in shown])
        clauses = query.positive_clauses() + synonym_clauses(query)
        hits = []
        for i, similar in shown:
            src = sources.get(ranked[i]["_id"])
            if src is None:
                continue  # deleted between the two requests
            hit = self._hit(src, ranked[i].get("_score") or 0.0, clauses)
            hit.similar = len(similar)
            hit.similar_ids = [ranked[j]["_id"] for j in similar]
            hits.append(hit)
        return SearchResults(query.typed, total, hits, facets, page.offset, page.limit, page.sort, relaxed,
                             also_searched=query.also_searched() if page.synonyms else [], collapsed=page.collapse,
                             notes=notes, suggestion=None)

    def _sources(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        got = self.call("read the documents", self.client.mget, index=self.index_name, body=mget_body(ids))
        return {d["_id"]: mapping.stored(d["_source"]) for d in got.get("docs", []) if d.get("found")}

    @staticmethod
    def _hit(src: dict[str, Any], score: float, clauses: list) -> Hit:
        body = src.get("body", "")
        spans = match_spans(0, clauses, occurrences(body, {t for c in clauses for t in c.terms}))
        snippet, highlights = make_snippet(body, spans)
        return hit_of(src, score, snippet, highlights)

    def matching(self, query: ParsedQuery, filters: dict[str, Any], ids: set[str]) -> list[str]:
        given = registry.canonical_filters(filters, self)
        wanted, found = sorted(ids), []
        for start in range(0, len(wanted), MATCHING_BATCH):  # a search returns 10,000 hits at most
            got = self._search(matching_body(query, given, set(wanted[start:start + MATCHING_BATCH]), self.params))
            found += [h["_source"]["id"] for h in got["hits"]["hits"]]
        return sorted(found)

    def get(self, doc_id: str) -> DocumentRecord:
        got = self._search(lookup_body(doc_id, AMBIGUOUS_LISTED + 1))
        found = [h["_source"] for h in got["hits"]["hits"]]
        exact = [s for s in found if s["id"] == doc_id]
        if not exact:
            by_prefix(doc_id, [s["id"] for s in found])
            exact = found
        return record_of(mapping.stored(exact[0]))

    def stats(self) -> IndexStats:
        targets = self._targets()
        if not targets:
            raise self._missing()
        state = self._read_state()
        got = self.call("read the index statistics", self.client.indices.stats, index=self.index_name,
                        metric="store")
        size = int(got.get("_all", {}).get("primaries", {}).get("store", {}).get("size_in_bytes", 0))
        settings = self.call("read the index settings", self.client.indices.get_settings, index=targets[0])
        created_ms = next(iter(settings.values()), {}).get("settings", {}).get("index", {}).get("creation_date")
        created = datetime.fromtimestamp(int(created_ms) / 1000).astimezone().isoformat(timespec="seconds") \
            if created_ms else None
        return IndexStats(documents=self.count(), index_dir=f"{self.url} {self.index_name} → {targets[0]}",
                          size_bytes=size, schema_version=mapping.MAPPING_VERSION, created=created,
                          last_updated=state.get("updated"), roots=list(state.get("roots", [])),
                          segmenter=get_segmenter().engine, last_run=state.get("last_run"),
                          kept_out=list(state.get(store.KEPT_OUT, [])))

    def warm(self) -> None:
        get_segmenter().load()

    def close(self) -> None:
        self._lexicons.clear()


def occurrences(body: str, terms: set[str]) -> Any:
    """``match_spans``'s reader of ``terms`` in one document's body, analysed as the index analysed
    it (only the Chinese runs that hold one of them are segmented: the same spans, and phrases)."""
    found: dict[str, list[tuple[int, int, int]]] = {t: [] for t in terms}
    han = sorted((t for t in terms if not WORD_RE.fullmatch(t)), key=len, reverse=True)
    holds = re.compile("|".join(map(re.escape, han))).search if han else lambda run: None
    for term, pos, start, end in iter_words(body[:MAX_INDEXED_CHARS], subwords=True,
                                            only=lambda run: holds(run) is not None):
        if term in found:
            found[term].append((pos, start, end))

    def read(fieldname: str, term: str, docnum: int) -> list[tuple[int, int, int]]:
        return found.get(term, [])

    return read


# -- request bodies (each one the dry runs print and the spec check validates) -------------------


class _Lines:
    """A sink that gives each document's ``_bulk`` lines to ``out`` instead of a cluster (a dry run)."""

    def __init__(self, index: str, version: int, out: Callable[[str], None]) -> None:
        self.index, self.version, self.out = index, version, out

    def add(self, fields: dict[str, Any], replace: bool) -> None:
        for line in bulk_lines([index_action(self.index, fields, self.version)]):
            self.out(line)

    def delete(self, doc_id: str) -> None:  # a dry run deletes nothing: nothing is indexed before it
        raise AssertionError("a dry run has no documents to delete")

    def commit(self) -> dict[str, str]:
        return {}

    def cancel(self) -> None:
        pass


def dry_bulk(paths: list[Path], index: str, version: int, out: Callable[[str], None] | None = None,
             max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[str] | IndexReport:
    """The ``_bulk`` lines a full load of ``paths`` into ``index`` sends, read, cleaned and
    checked as a run reads them: given to ``out`` as they come (the report is returned: what
    was kept out, and why), or, without ``out``, all returned as a list."""
    collected: list[str] = []
    sink = _Lines(index, version, out if out is not None else collected.append)
    report, _ = sync(sink, {}, {}, check_roots(paths), None, fresh=True, max_bytes=max_bytes)
    return report if out is not None else iter(collected)


class _AsGiven:
    """Keyword lexicons for a dry run, with no cluster to ask: every filter value is taken as
    given (after the field's own folding), as if the index held it."""

    class _Everything(list):
        def __contains__(self, value: object) -> bool:
            return True

    def lexicon(self, field: str) -> list[str]:
        return self._Everything()


def search_request(query: str, *, sort: str = "relevance", limit: int = 10, offset: int = 0,
                   collapse: bool = True, synonyms: bool = True, params: RankParams = DEFAULT,
                   **filters: Any) -> dict[str, Any]:
    """The ``_search`` body a search sends first (the page's documents come by ``_mget`` after
    folding), with no cluster: filter values are taken as given, not checked against the index."""
    from civicsearch.search.query import parse

    given = registry.canonical_filters(registry.check_filters(filters), _AsGiven())
    size = offset + limit + (COLLAPSE_WINDOW if collapse else 0)
    return dsl.search_body(parse(query, synonyms=synonyms), given, size=size, sort=sort, params=params)


def matching_body(query: ParsedQuery, given: dict[str, Any], ids: set[str],
                  params: RankParams = DEFAULT) -> dict[str, Any]:
    """Which of ``ids`` a query matches (a saved search's check after a run)."""
    body = dsl.search_body(query, given, size=len(ids), params=params, aggregations=False)
    body["query"]["bool"].setdefault("filter", []).append({"terms": {"id": sorted(ids)}})
    body["_source"] = ["id"]
    return body


def loading_settings() -> dict[str, Any]:
    """A dated index while it is loaded: no replicas, no refresh."""
    return {"settings": {"index": {"number_of_replicas": 0, "refresh_interval": "-1"}}}


def serving_settings(replicas: int) -> dict[str, Any]:
    return {"index": {"number_of_replicas": replicas, "refresh_interval": "1s"}}


def alias_swap(alias: str, index: str, previous: list[str]) -> dict[str, Any]:
    """One ``_aliases`` call: the read alias leaves the old indexes and points at ``index``."""
    actions: list[dict[str, Any]] = [{"remove": {"index": old, "alias": alias}} for old in previous]
    actions.append({"add": {"index": index, "alias": alias}})
    return {"actions": actions}


def existing_body() -> dict[str, Any]:
    return {"query": {"match_all": {}}, "_source": ["hash", "path"]}


def lexicon_body(field: str) -> dict[str, Any]:
    return {"size": 0, "aggs": {"values": {"terms": {"field": field, "size": LEXICON_TERMS}}}}


def mget_body(ids: list[str]) -> dict[str, Any]:
    return {"ids": ids}


def lookup_body(doc_id: str, size: int) -> dict[str, Any]:
    """A document by id, or the documents whose id starts with it."""
    return {"query": {"bool": {"should": [{"term": {"id": doc_id}}, {"prefix": {"id": doc_id}}],
                               "minimum_should_match": 1}},
            "size": size, "sort": [{"id": {"order": "asc"}}]}
