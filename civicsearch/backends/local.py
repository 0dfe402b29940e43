"""The local backend: the engine's own index in a folder on this machine.

It keeps one storage (:mod:`civicsearch.index.storage`) open between calls and
reopens it when the index has had a commit or a rebuild switched generations;
the planner and ranker (:mod:`civicsearch.search`) answer from it; the indexer
(:mod:`civicsearch.index.indexer`) writes.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from civicsearch.backends.base import AMBIGUOUS_LISTED, Page, Progress, by_prefix, hit_of, record_of
from civicsearch.errors import CivicSearchError
from civicsearch.fields import registry
from civicsearch.fields.date import COLUMN as DATE_COLUMN
from civicsearch.index import store
from civicsearch.index.storage import Storage
from civicsearch.results import DocumentRecord, Hit, IndexReport, IndexStats, SearchResults
from civicsearch.search import semantic, snippets
from civicsearch.search.collapse import collapse_similar
from civicsearch.search.params import DEFAULT, RankParams
from civicsearch.search.plan import Planned, is_long, rank_query
from civicsearch.search.query import ParsedQuery, parse, synonym_clauses
from civicsearch.search.rank import Ranker
from civicsearch.search.snippets import Occurrences, make_snippet, match_spans
from civicsearch.text import embed
from civicsearch.text.embed import identity
from civicsearch.text.words import get_segmenter

#: Ranked documents looked through beyond the page for reposts of the hits shown.
COLLAPSE_WINDOW = 100
#: Query embeddings kept (a page asked again, the next page).
QUERY_VECTORS = 64


class LocalBackend:
    """Search and index the index folder ``index_dir`` (not thread-safe: the engine serialises calls)."""

    def __init__(self, index_dir: Path, params: RankParams = DEFAULT) -> None:
        self.index_dir = Path(index_dir)
        self.params = params
        self._hold = store.ReaderHold(self.index_dir)
        self._gen_name: str | None = None
        self._storage: Storage | None = None
        self._ranker: Ranker = None  # type: ignore[assignment]
        self._vocabulary: Any = None  # did-you-mean's, built on the first miss
        self._query_vectors: dict[str, np.ndarray] = {}

    def storage(self) -> Storage:
        """The open storage, reopened when the index changed since.

        Opening the readers is most of a query's cost on a large index, so one
        backend serves many searches from the same storage.
        """
        if self._storage is not None and (store.current_generation_name(self.index_dir) != self._gen_name
                                          or not self._storage.up_to_date()):
            # A fresh searcher rather than Whoosh's refresh(), which can carry segments a
            # merge has since removed into the new reader; and after a full rebuild's
            # switch, one on the new generation.
            self.close()
        if self._storage is None:
            gen = self._hold.acquire()  # held until close(): a rebuild leaves it in place
            try:
                self._storage = Storage(store.open_index(self.index_dir, gen).searcher(), folder=gen)
                self._ranker = Ranker(self._storage, self.params)
            except BaseException:
                self.close()
                raise
            self._gen_name = gen.name
        return self._storage

    def close(self) -> None:
        if self._storage is not None:
            self._storage.close()
            self._storage = None
            self._ranker = self._vocabulary = None  # type: ignore[assignment]
        self._hold.release()
        self._gen_name = None

    def exists(self) -> bool:
        return store.exists(self.index_dir)

    # -- writing -------------------------------------------------------------

    def index(self, paths: list[Path], *, full: bool = False, progress: Progress | None = None,
              max_bytes: int, procs: int | None = None, allow_deletes: bool = False,
              semantic: bool | None = None) -> IndexReport:
        # Imported here: searching needs none of the reading and extraction stack.
        from civicsearch.index.indexer import index_paths

        # The engine has closed this backend first (under its lock): a --full rebuild
        # replaces the files a searcher holds.
        return index_paths(self.index_dir, paths, full=full, progress=progress, max_bytes=max_bytes, procs=procs,
                           allow_deletes=allow_deletes, semantic=semantic)

    def remembered_roots(self) -> list[str]:
        gen = store.current_generation(self.index_dir)
        roots = store.read_meta(gen).get("roots") if gen is not None else None
        return list(roots or store.pending_roots(self.index_dir))

    # -- reading -------------------------------------------------------------

    def _plan(self, storage: Storage, parsed: ParsedQuery, filters: dict[str, Any], depth: int = 0,
              sort_key: Any = None) -> tuple[dict[str, Any], Planned]:
        """The filters as the index holds them, and the query's matching and ranking under them
        (``storage`` is the one the call opened: the index is looked at once a call)."""
        given = registry.canonical_filters(filters, storage)
        return given, rank_query(storage, self._ranker, parsed, given, depth, sort_key)

    def search(self, query: ParsedQuery, filters: dict[str, Any], page: Page) -> SearchResults:
        storage = self.storage()
        columns = storage.columns
        wanted = page.offset + page.limit
        depth = wanted + COLLAPSE_WINDOW if page.collapse else wanted
        sort_key = None
        if page.sort == "date":
            datekeys = columns[DATE_COLUMN]
            sort_key = lambda d: datekeys[d] or 0  # noqa: E731
        # A long question is ranked, not required word by word: it asks for no correction.
        short = not is_long(query, self.params)
        by_meaning = page.semantic and page.sort == "relevance" and (not short or self.params.semantic_short) \
            and storage.vector_model() is not None
        if by_meaning:
            depth = max(depth, self.params.semantic_depth)  # the rerank's candidates
        given, planned = self._plan(storage, query, filters, depth, sort_key)
        ranking = planned.ranking
        order, reranked = ranking.order, False
        if by_meaning:
            order, reranked = self._rerank(storage, query, ranking, planned.notes)
        suggestion = self._suggest(storage, query, given) if short and (planned.relaxed or not len(ranking.matched)) else None
        facets = registry.count_facets(columns, ranking.matched, given)
        groups = collapse_similar(order, columns.view("sketch"), wanted) if page.collapse else [
            (d, []) for d in order[:wanted]]
        clauses = query.positive_clauses() + synonym_clauses(query)
        shown = groups[page.offset:wanted]
        storage.prefetch_characters(snippets.FIELD, {t for c in clauses if snippets.FIELD in c.fields for t in c.terms},
                                    [d for d, _ in shown], snippets.READ_SPANS)
        occurrences = partial(storage.characters, limit=snippets.READ_SPANS)
        hits = []
        for d, similar in shown:
            hit = self._hit(storage, d, ranking.scores.get(d, 0.0), clauses, occurrences)
            hit.similar = len(similar)
            hit.similar_ids = [columns.cell("id", s) for s in similar]
            hits.append(hit)
        return SearchResults(query.typed, len(ranking.matched), hits, facets, page.offset, page.limit, page.sort,
                             planned.relaxed, also_searched=query.also_searched() if page.synonyms else [],
                             collapsed=page.collapse, notes=planned.notes, suggestion=suggestion, semantic=reranked)

    def _rerank(self, storage: Storage, query: ParsedQuery, ranking: Any, notes: list[str]) -> tuple[list[int], bool]:
        """The ranking's order with its top reordered by meaning, and whether it was (fewer than
        two candidates keep their order; so does a machine without the model, and says so)."""
        model = storage.vector_model()
        top = ranking.order[: self.params.semantic_depth]
        if len(top) < 2:
            return ranking.order, False
        try:
            here = identity()
        except CivicSearchError as e:
            notes.append(f"ranked by words only: {e}")
            return ranking.order, False
        if here != model:
            raise store.model_changed(self.index_dir, model, here)
        cosines = embed.cosines(storage.vectors(top), self._query_vector(query.text))
        return semantic.rerank(ranking.order, ranking.scores, cosines, self.params, ranking.coverage), True

    def _query_vector(self, text: str) -> np.ndarray:
        """The query's embedding (one model call; the last few are kept: paging asks again)."""
        found = self._query_vectors.get(text)
        if found is None:
            found = embed.get_embedder().query([text])[0]
            self._query_vectors[text] = found
            if len(self._query_vectors) > QUERY_VECTORS:
                self._query_vectors.pop(next(iter(self._query_vectors)))
        return found

    def _suggest(self, storage: Storage, parsed: ParsedQuery, given: dict[str, Any]) -> str | None:
        """Did you mean: the closest query that finds documents without relaxing (see :mod:`civicsearch.search.suggest`)."""
        from civicsearch.search import suggest

        def answers(candidate: str) -> int:
            try:
                fixed = parse(candidate)
            except CivicSearchError:
                return 0
            planned = rank_query(storage, self._ranker, fixed, given)
            return 0 if planned.relaxed else len(planned.ranking.matched)

        return suggest.suggest(parsed.text, self._words(storage), answers)

    def _words(self, storage: Storage) -> Any:
        """Did-you-mean's word list of the open index, read once."""
        if self._vocabulary is None:
            from civicsearch.search import suggest

            self._vocabulary = suggest.Vocabulary(storage)
        return self._vocabulary

    def warm(self) -> None:
        self._words(self.storage())
        get_segmenter().load()

    def matching(self, query: ParsedQuery, filters: dict[str, Any], ids: set[str]) -> list[str]:
        storage = self.storage()
        _, planned = self._plan(storage, query, filters)
        if planned.relaxed:
            return []
        columns = storage.columns
        found = (columns.cell("id", int(d)) for d in planned.ranking.matched)
        return sorted(i for i in found if i in ids)

    @staticmethod
    def _hit(storage: Storage, docnum: int, score: float, clauses: list, occurrences: Occurrences) -> Hit:
        stored = storage.stored(docnum)
        spans = match_spans(docnum, clauses, occurrences)
        snippet, highlights = make_snippet(stored.get("body", ""), spans)
        return hit_of(stored, score, snippet, highlights)

    def get(self, doc_id: str) -> DocumentRecord:
        storage = self.storage()
        docnum = storage.find("id", doc_id)
        if docnum is None:
            found = storage.with_prefix("id", doc_id, AMBIGUOUS_LISTED + 1) if doc_id else []
            if len(found) != 1:
                by_prefix(doc_id, [storage.stored(d)["id"] for d in found])
            docnum = found[0]
        return record_of(storage.stored(docnum))

    def stats(self) -> IndexStats:
        storage = self.storage()
        meta = store.read_meta(store.current_generation(self.index_dir))
        return IndexStats(
            documents=storage.doc_count(),
            index_dir=str(self.index_dir.resolve()),
            size_bytes=store.size_on_disk(self.index_dir),
            schema_version=meta.get("schema_version", 0),
            created=meta.get("created"),
            last_updated=meta.get("updated"),
            roots=list(meta.get("roots", [])),
            segmenter=get_segmenter().engine,
            last_run=meta.get("last_run"),
            kept_out=list(meta.get(store.KEPT_OUT, [])),
        )
