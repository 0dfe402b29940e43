"""``civicsearch serve``: the search page and the JSON API, a thin layer over :class:`SearchEngine`.

One engine a worker process, shared by its threads (it follows the index's commits and
generation switches). The API mirrors the command line's ``--json``; the page is server
rendered, in Chinese, without JavaScript, and every value from a document is escaped.
Bad input is a 4xx with the library's one-line message, a missing or damaged index a 503,
never a traceback. Needs the ``web`` extra (FastAPI, uvicorn).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Literal
from urllib.parse import quote
from xml.etree import ElementTree as ET

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from civicsearch.api import watches
from civicsearch.api.engine import SearchEngine, engine_from_env
from civicsearch.errors import (
    BackendError,
    CivicSearchError,
    DocumentNotFoundError,
    IndexDamagedError,
    IndexNotFoundError,
    IndexVersionError,
    InvalidArgumentError,
    QuerySyntaxError,
)
from civicsearch.results import SearchResults
from civicsearch.web import page as webpage

#: The most hits a page or an API call shows, how deep results page, how many rows an export holds.
MAX_LIMIT = 100
MAX_OFFSET = 10_000
MAX_EXPORT = 10_000
#: A query longer than this is refused (the engine cuts at 2,000 characters anyway).
MAX_QUERY = 4_000
#: A search that takes longer is answered with a 503.
TIMEOUT_SECONDS = 10.0
SHOW_PATHS_ENV = "CIVICSEARCH_SHOW_PATHS"
#: No asset from outside the server; no script at all.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
FILTERS = ("place", "since", "until", "topic", "type", "org")


def _status(e: CivicSearchError) -> int:
    if isinstance(e, (IndexNotFoundError, IndexDamagedError, IndexVersionError, BackendError)):
        return 503
    if isinstance(e, DocumentNotFoundError):
        return 404
    if isinstance(e, (InvalidArgumentError, QuerySyntaxError)):
        return 400
    return 500


class SearchParams:
    """A search's parameters as the API names them (the engine's keyword arguments)."""

    def __init__(self, q: str, place: str | None, since: str | None, until: str | None, topic: str | None,
                 type: str | None, org: str | None, in_force: bool, sort: str, limit: int, offset: int,
                 collapse: bool = True, synonyms: bool = True, max_limit: int = MAX_LIMIT,
                 semantic: bool = True) -> None:
        if len(q) > MAX_QUERY:
            raise InvalidArgumentError(f"is {len(q):,} characters long; at most {MAX_QUERY:,}", "q")
        if not 1 <= limit <= max_limit:
            raise InvalidArgumentError(f"must be between 1 and {max_limit:,}, not {limit}", "limit")
        if not 0 <= offset <= MAX_OFFSET:
            raise InvalidArgumentError(f"must be between 0 and {MAX_OFFSET:,}, not {offset}", "offset")
        self.q, self.sort, self.limit, self.offset = q, sort, limit, offset
        self.collapse, self.synonyms, self.semantic = collapse, synonyms, semantic
        self.filters: dict[str, Any] = {k: v for k, v in dict(place=place, since=since, until=until, topic=topic,
                                                             type=type, org=org).items() if v}
        if in_force:
            self.filters["in_force"] = True

    def search(self, engine: SearchEngine, **overrides: Any) -> SearchResults:
        args = dict(sort=self.sort, limit=self.limit, offset=self.offset, collapse=self.collapse,
                    synonyms=self.synonyms, semantic=self.semantic, **self.filters)
        args.update(overrides)
        return engine.search(self.q, **args)


def _search_params(
    q: str = Query(..., description="The query, in the query language of `civicsearch search`."),
    place: str | None = Query(None, max_length=200, description="A place name, short form or division code."),
    since: str | None = Query(None, max_length=40, description="YYYY, YYYY-MM or YYYY-MM-DD, inclusive."),
    until: str | None = Query(None, max_length=40, description="YYYY, YYYY-MM or YYYY-MM-DD, inclusive."),
    topic: str | None = Query(None, max_length=200),
    type: str | None = Query(None, max_length=200, description="A kind of document (文种)."),
    org: str | None = Query(None, max_length=200, description="An issuing body, or a unique part of its name."),
    in_force: bool = Query(False, description="Leave out what is known not to be in force today."),
    sort: Literal["relevance", "date"] = Query("relevance"),
    limit: int = Query(10, description=f"Hits per page, 1 to {MAX_LIMIT}."),
    offset: int = Query(0, description=f"Hits skipped, 0 to {MAX_OFFSET:,}."),
    collapse: bool = Query(True, description="Fold reposts of one article into one hit."),
    synonyms: bool = Query(True, description="Widen words with civic synonyms."),
    semantic: bool = Query(True, description="Reorder a long question's top hits by meaning, where the index "
                                             "keeps vectors."),
) -> SearchParams:
    return SearchParams(q, place, since, until, topic, type, org, in_force, sort, limit, offset, collapse, synonyms,
                        semantic=semantic)


def _export_params(
    q: str = Query(...), place: str | None = Query(None, max_length=200), since: str | None = Query(None, max_length=40),
    until: str | None = Query(None, max_length=40), topic: str | None = Query(None, max_length=200),
    type: str | None = Query(None, max_length=200), org: str | None = Query(None, max_length=200),
    in_force: bool = Query(False), sort: Literal["relevance", "date"] = Query("relevance"),
    limit: int = Query(MAX_EXPORT, description=f"Rows, 1 to {MAX_EXPORT:,}."), offset: int = Query(0),
    collapse: bool = Query(False, description="Fold reposts (by default every matching document is a row)."),
) -> SearchParams:
    return SearchParams(q, place, since, until, topic, type, org, in_force, sort, limit, offset, collapse=collapse,
                        max_limit=MAX_EXPORT)


def create_app(index_dir: str | Path | None = None, show_paths: bool | None = None,
               engine: SearchEngine | None = None) -> FastAPI:
    """The ASGI application over ``engine``, else the index at ``index_dir``, else the engine the
    environment names (:func:`~civicsearch.api.engine.engine_from_env`: ``$CIVICSEARCH_INDEX``, else
    ./index, or a cluster)."""
    if engine is None:
        engine = SearchEngine(index_dir) if index_dir is not None else engine_from_env()
    if show_paths is None:
        show_paths = os.environ.get(SHOW_PATHS_ENV) == "1"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each worker opens the index and reads did-you-mean's word list before its first
        # request, not during it (a missing index is said by the requests, as a 503).
        try:
            await run_in_threadpool(engine.warm)
        except CivicSearchError:
            pass
        yield
        engine.close()

    app = FastAPI(title="civicsearch", version=_version(), docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="Full-text search of Chinese civic documents: the JSON API behind the search page.")
    app.state.engine = engine

    async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.wait_for(run_in_threadpool(fn, *args, **kwargs), TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            raise _Unavailable(f"the search took longer than {TIMEOUT_SECONDS:g} s") from None

    def hide_paths(data: dict[str, Any]) -> dict[str, Any]:
        """A search's or a document's JSON (or one hit's) without file paths, unless --show-paths."""
        if not show_paths:
            for item in [data, *data.get("hits", ())]:
                if "path" in item:
                    item["path"] = None
        return data

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(CivicSearchError)
    async def library_error(request: Request, e: CivicSearchError) -> Response:
        return _error(request, _status(e), str(e))

    @app.exception_handler(_Unavailable)
    async def unavailable(request: Request, e: _Unavailable) -> Response:
        return _error(request, 503, str(e))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> Response:
        # No such route, a method not allowed …: the same one-line form as every error.
        message = {404: "no such page or API route", 405: "method not allowed"}.get(e.status_code, str(e.detail))
        return _error(request, e.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, e: RequestValidationError) -> Response:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return _error(request, 400, f"{where}: {first.get('msg', 'is not valid').lower()}")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, e: Exception) -> Response:
        return _error(request, 500, f"unexpected {type(e).__name__}")

    @app.get("/api/search", summary="Search", response_description="The `--json` object of `civicsearch search`.")
    async def api_search(params: SearchParams = Depends(_search_params)) -> JSONResponse:
        res = await call(params.search, engine)
        return JSONResponse(hide_paths(res.to_dict()))

    @app.get("/api/facets", summary="Facet counts of a search")
    async def api_facets(params: SearchParams = Depends(_search_params)) -> JSONResponse:
        res = await call(params.search, engine, limit=1, offset=0)
        return JSONResponse({"query": res.query, "total": res.total, "facets": res.to_dict()["facets"]})

    @app.get("/api/suggest", summary="Did you mean")
    async def api_suggest(q: str = Query(...)) -> JSONResponse:
        res = await call(SearchParams(q, None, None, None, None, None, None, False, "relevance", 1, 0).search,
                         engine)
        return JSONResponse({"query": q, "suggestion": res.suggestion})

    @app.get("/api/documents/{doc_id:path}", summary="One document")
    async def api_document(doc_id: str) -> JSONResponse:
        doc = await call(engine.get, doc_id)
        return JSONResponse(hide_paths(doc.to_dict()))

    @app.get("/api/stats", summary="Index statistics")
    async def api_stats() -> JSONResponse:
        st = await call(engine.stats)
        data = st.to_dict()
        if not show_paths:
            data["index_dir"], data["roots"] = None, []
            data["kept_out"] = [dict(e, path=Path(e["path"]).name) for e in data["kept_out"]]
            if data.get("last_run"):
                data["last_run"] = {k: v for k, v in data["last_run"].items() if k != "skipped"}
        return JSONResponse(data)

    @app.get("/api/export.csv", summary="A search's hits as CSV (at most 10,000)")
    async def export_csv(params: SearchParams = Depends(_export_params)) -> StreamingResponse:
        rows = await call(lambda: list(_export_rows(engine, params)))
        return StreamingResponse(_csv(rows), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="civicsearch.csv"'})

    @app.get("/api/export.jsonl", summary="A search's hits as JSON lines (at most 10,000)")
    async def export_jsonl(params: SearchParams = Depends(_export_params)) -> StreamingResponse:
        rows = await call(lambda: list(_export_rows(engine, params)))
        lines = (json.dumps(hide_paths(r), ensure_ascii=False) + "\n" for r in rows)
        return StreamingResponse(lines, media_type="application/x-ndjson; charset=utf-8",
                                 headers={"Content-Disposition": 'attachment; filename="civicsearch.jsonl"'})

    @app.get("/healthz", summary="Health check")
    async def healthz() -> JSONResponse:
        st = await call(engine.stats)
        return JSONResponse({"status": "ok", "documents": st.documents})

    @app.get("/feeds/{name}.atom", summary="A watch's feed (Atom 1.0)")
    async def feed(name: str, request: Request) -> Response:
        watch = await call(watches.get, engine.index_dir, name)
        return Response(_atom(watch, str(request.base_url)), media_type="application/atom+xml; charset=utf-8")

    @app.get("/static/style.css", include_in_schema=False)
    async def style() -> PlainTextResponse:
        return PlainTextResponse(webpage.STYLE, media_type="text/css; charset=utf-8",
                                 headers={"Cache-Control": "max-age=3600"})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> HTMLResponse:
        given = dict(request.query_params)
        q = given.get("q", "").strip()
        if not q:
            return HTMLResponse(webpage.home())
        try:
            limit = int(given.get("limit", 10))
            offset = int(given.get("offset", 0))
            params = SearchParams(q, *(given.get(k) or None for k in FILTERS), given.get("in_force") in ("1", "true"),
                                  given.get("sort") if given.get("sort") in ("relevance", "date") else "relevance",
                                  limit, offset)
            res = await call(params.search, engine)
        except ValueError:
            return HTMLResponse(webpage.failure(given, "limit 和 offset 须为整数"), status_code=400)
        except CivicSearchError as e:
            return HTMLResponse(webpage.failure(given, str(e)), status_code=_status(e))
        return HTMLResponse(webpage.results(given, res))

    @app.get("/documents/{doc_id:path}", response_class=HTMLResponse, include_in_schema=False)
    async def document_page(doc_id: str, request: Request) -> HTMLResponse:
        try:
            doc = await call(engine.get, doc_id)
        except CivicSearchError as e:
            return HTMLResponse(webpage.failure(dict(request.query_params), str(e)), status_code=_status(e))
        return HTMLResponse(webpage.document(doc, dict(request.query_params), show_paths))

    return app


class _Unavailable(Exception):
    """The server cannot answer now (a search over its time)."""


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith(("/api/", "/healthz", "/feeds/")):
        return JSONResponse({"error": message}, status_code=status)
    return HTMLResponse(webpage.failure(dict(request.query_params), message), status_code=status)


#: An export reads the engine's hits this many at a time (the engine's own page limit).
EXPORT_PAGE = 1000


def _export_rows(engine: SearchEngine, params: SearchParams) -> Iterator[dict[str, Any]]:
    """The search's hits, up to ``params.limit`` (at most MAX_EXPORT), a thousand a search."""
    wanted, offset = params.limit, params.offset
    while wanted > 0:
        page = min(wanted, EXPORT_PAGE)
        res = params.search(engine, limit=page, offset=offset)
        yield from (h.to_dict() for h in res.hits)
        if len(res.hits) < page:
            return
        wanted -= page
        offset += page
        if offset > MAX_OFFSET + MAX_EXPORT:
            return


#: The columns of an export as CSV.
CSV_COLUMNS = ("id", "title", "date", "place", "place_code", "doc_type", "org", "validity", "topics", "docnos",
               "source", "url", "score", "similar", "snippet")


def _csv(rows: list[dict[str, Any]]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + out.getvalue()  # a BOM: spreadsheet programs read the file as UTF-8
    for row in rows:
        out.seek(0)
        out.truncate()
        writer.writerow(["; ".join(v) if isinstance(v := row.get(c), list) else ("" if v is None else v)
                         for c in CSV_COLUMNS])
        yield out.getvalue()


ATOM = "http://www.w3.org/2005/Atom"


def _atom(watch: watches.Watch, base: str) -> bytes:
    """The watch's entries as an Atom 1.0 feed, newest first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    add(feed, "id", f"tag:civicsearch,2026:watch/{quote(watch.name)}")
    add(feed, "title", f"civicsearch: {watch.name} ({watch.query})")
    add(feed, "updated", watch.entries[0]["seen"] if watch.entries else watch.created)
    add(add(feed, "author"), "name", "civicsearch")
    add(feed, "link", rel="self", href=f"{base}feeds/{quote(watch.name)}.atom")
    add(feed, "link", rel="alternate", href=f"{base}?q={quote(watch.query)}")
    for e in watch.entries:
        entry = add(feed, "entry")
        add(entry, "id", f"tag:civicsearch,2026:doc/{quote(e['id'], safe='')}")
        add(entry, "title", e["title"])
        add(entry, "updated", e["seen"])
        add(entry, "link", rel="alternate", href=f"{base}documents/{quote(e['id'], safe='')}")
        if e.get("date"):
            add(entry, "summary", f"{e['date']}")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _version() -> str:
    from civicsearch import __version__
    return __version__


def app_from_env() -> FastAPI:
    """The application for ``uvicorn --factory`` (each worker process builds its own)."""
    return create_app()
