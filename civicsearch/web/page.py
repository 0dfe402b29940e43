"""The search page's HTML: server rendered, in Chinese, no script, usable on a phone.

Every value that comes from a document or a request is escaped (``html.escape``); a
document's URL is a link only when it is http(s); document links carry ids, never paths.
"""

from __future__ import annotations

import html
import re
from typing import Any, Iterable, Mapping
from urllib.parse import quote, urlencode

from civicsearch.results import DocumentRecord, SearchResults
from civicsearch.text.normalize import fold

STYLE = """
*{box-sizing:border-box}body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:0;color:#1d2733;
background:#f6f7f9;line-height:1.55}header{background:#12355b;color:#fff;padding:.8rem 1rem}header a{color:#fff;
text-decoration:none;font-weight:600;margin-right:1rem}form.search{display:flex;gap:.4rem;flex:1;max-width:46rem}
form.search input[type=search]{flex:1;min-width:0;padding:.5rem .6rem;font-size:1rem;border:1px solid #9aa7b5;
border-radius:4px}form.search button{padding:.5rem .9rem;font-size:1rem;border:0;border-radius:4px;background:#f0b429;
color:#1d2733;cursor:pointer}.bar{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem}main{display:flex;
gap:1.5rem;padding:1rem;max-width:72rem;margin:auto}.hits{flex:1;min-width:0}.facets{width:16rem;flex-shrink:0}
.hit{background:#fff;border-radius:6px;padding:.8rem 1rem;margin:.6rem 0;box-shadow:0 1px 2px #0001}
.hit h2{font-size:1.08rem;margin:0 0 .2rem}.hit h2 a{color:#0b5cad;text-decoration:none}.meta{color:#5c6b7a;
font-size:.85rem}.snippet{margin:.3rem 0 0}mark{background:#ffe58a;padding:0 .1em}.facet{background:#fff;
border-radius:6px;padding:.6rem .8rem;margin-bottom:.8rem}.facet h3{font-size:.9rem;margin:0 0 .3rem}
.facet ul{list-style:none;margin:0;padding:0}.facet li{font-size:.88rem;display:flex;justify-content:space-between;
gap:.5rem}.facet li a{color:#0b5cad;text-decoration:none;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.count{color:#5c6b7a}.chips a{display:inline-block;background:#e3ecf7;color:#12355b;border-radius:1rem;
padding:.1rem .6rem;margin:.1rem;text-decoration:none;font-size:.85rem}.note{color:#5c6b7a;font-size:.9rem}
.suggest{font-size:1rem}.suggest a{font-weight:600}.pages a,.sort a,.export a{margin-right:.6rem}
.error{background:#fde8e8;border-radius:6px;padding:.8rem 1rem}article{background:#fff;border-radius:6px;
padding:1rem 1.2rem;max-width:52rem;margin:1rem auto}article pre{white-space:pre-wrap;font:inherit}
table.fields td{padding:.1rem .6rem .1rem 0;vertical-align:top;font-size:.9rem}table.fields td:first-child{color:#5c6b7a;
white-space:nowrap}details{font-size:.85rem;color:#5c6b7a}
@media(max-width:760px){main{flex-direction:column;padding:.6rem}.facets{width:auto}}
"""

FACET_TITLES = {"place": "地区", "year": "年份", "month": "月份", "topic": "主题", "type": "文种", "org": "发文机关",
                "validity": "效力"}
FILTER_TITLES = {"place": "地区", "since": "起", "until": "止", "topic": "主题", "type": "文种", "org": "发文机关",
                 "in_force": "现行有效"}
KEPT = ("q", "place", "since", "until", "topic", "type", "org", "in_force", "sort", "limit")


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def link(given: Mapping[str, Any], **changes: Any) -> str:
    """The page's URL with ``changes`` applied (None removes a parameter); paging restarts."""
    params = {k: v for k, v in given.items() if k in KEPT and v not in (None, "")}
    params.pop("offset", None)
    for k, v in changes.items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = v
    return "/?" + urlencode(params)


def _page(title: str, body: str, q: str = "") -> str:
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{e(title)}</title><link rel="stylesheet" href="/static/style.css"></head>
<body><header><div class="bar"><a href="/">街镇公文检索</a>
<form class="search" action="/" method="get" role="search">
<input type="search" name="q" value="{e(q)}" placeholder="搜索：加装电梯、老旧小区改造……" aria-label="搜索" maxlength="2000">
<button type="submit">搜索</button></form></div></header>
{body}
</body></html>"""


def home() -> str:
    return _page("街镇公文检索", "<main><div class='hits'><p class='note'>输入关键词搜索街镇新闻、工作计划、"
                                 "信息公开、群众留言与答复、政策文件和法规。</p></div></main>")


def failure(given: Mapping[str, Any], message: str) -> str:
    return _page("出错了 - 街镇公文检索", f"<main><div class='hits'><p class='error'>{e(message)}</p>"
                                          f"<p><a href='/'>返回首页</a></p></div></main>", given.get("q", ""))


def highlight(text: str, spans: Iterable[tuple[int, int]]) -> str:
    out, at = [], 0
    for s, t in sorted(spans):
        if s < at:
            continue
        out += [e(text[at:s]), "<mark>", e(text[s:t]), "</mark>"]
        at = t
    out.append(e(text[at:]))
    return "".join(out)


def _safe_url(url: Any) -> str | None:
    return url if isinstance(url, str) and re.match(r"^https?://", url, re.I) else None


def _meta(fields: Mapping[str, Any]) -> str:
    parts = [fields.get("date"), fields.get("place"), fields.get("doc_type"),
             "、".join(fields.get("org") or []) or None, fields.get("validity")]
    return " · ".join(e(p) for p in parts if p)


def results(given: Mapping[str, Any], res: SearchResults) -> str:
    q = given.get("q", "")
    body = ["<main><div class='hits'>"]
    chips = [f"<a href='{e(link(given, **{k: None}))}' title='去掉这个条件'>{e(FILTER_TITLES[k])}：{e(v)} ✕</a>"
             for k, v in given.items() if k in FILTER_TITLES and v]
    if chips:
        body.append(f"<p class='chips'>{''.join(chips)}</p>")
    if res.suggestion:
        body.append(f"<p class='suggest'>您是不是要找：<a href='{e(link(given, q=res.suggestion))}'>"
                    f"{e(res.suggestion)}</a></p>")
    first, last = res.offset + 1, res.offset + len(res.hits)
    shown = f"，第 {first}–{last} 条" if res.hits else ""
    body.append(f"<p><strong>共 {res.total:,} 条结果</strong>{shown}</p>")
    for note in res.notes:
        body.append(f"<p class='note'>提示：{e(note)}</p>")
    if res.relaxed and res.hits:
        body.append("<p class='note'>没有文档同时包含所有词语，以下是包含其中部分词语的结果。</p>")
    if res.also_searched:
        body.append(f"<p class='note'>同时搜索了：{e('、'.join(res.also_searched))}</p>")
    sort = given.get("sort", "relevance")
    body.append("<p class='sort'>排序：" + " ".join(
        f"<strong>{label}</strong>" if sort == key else f"<a href='{e(link(given, sort=key))}'>{label}</a>"
        for key, label in (("relevance", "相关度"), ("date", "日期"))) + "</p>")
    for hit in res.hits:
        href = f"/documents/{e(_quote(hit.id))}?q={e(_quote(q))}"
        body.append(f"<div class='hit'><h2><a href='{href}'>{e(hit.title or hit.id)}</a></h2>"
                    f"<div class='meta'>{_meta(hit.fields)}</div>"
                    f"<p class='snippet'>{highlight(hit.snippet, hit.highlights)}</p>")
        if hit.similar:
            others = "".join(f"<li><a href='/documents/{e(_quote(i))}'>{e(i)}</a></li>" for i in hit.similar_ids)
            body.append(f"<details><summary>+{hit.similar} 篇相似</summary><ul>{others}</ul></details>")
        body.append("</div>")
    pages = []
    if res.offset > 0:
        pages.append(f"<a href='{e(link(given, offset=max(0, res.offset - res.limit)))}'>上一页</a>")
    # A full page and more to come (folded reposts may leave fewer pages than the total says).
    if len(res.hits) == res.limit and res.offset + res.limit < res.total and res.offset + res.limit <= 10_000:
        pages.append(f"<a href='{e(link(given, offset=res.offset + res.limit))}' rel='next'>下一页</a>")
    if pages:
        body.append(f"<p class='pages'>{''.join(pages)}</p>")
    if res.total:
        body.append("<p class='export'>导出：" + "".join(
            f"<a href='{e('/api/export.' + kind + link(given)[1:])}'>{kind.upper()}</a>" for kind in ("csv", "jsonl"))
            + "</p>")
    body.append("</div><aside class='facets'>")
    body.append(_facets(given, res))
    body.append("</aside></main>")
    return _page(f"{q} - 街镇公文检索", "".join(body), q)


def _facet_link(given: Mapping[str, Any], name: str, value: str) -> str:
    if name == "place":
        return link(given, place=value)
    if name in ("year", "month"):
        return link(given, since=value, until=value)
    if name == "validity":
        return link(given, in_force="1")
    return link(given, **{name: value})


def _facets(given: Mapping[str, Any], res: SearchResults) -> str:
    out = []
    for name, values in res.facets.items():
        if not values:
            continue
        items = []
        for v in values[:10]:
            if name == "validity":
                items.append(f"<li><span>{e(v.label)}</span><span class='count'>{v.count:,}</span></li>")
                continue
            items.append(f"<li><a href='{e(_facet_link(given, name, v.value))}'>{e(v.label)}</a>"
                         f"<span class='count'>{v.count:,}</span></li>")
        extra = ""
        if name == "validity" and not given.get("in_force"):
            extra = f"<p><a href='{e(link(given, in_force='1'))}'>只看现行有效</a></p>"
        out.append(f"<div class='facet'><h3>{e(FACET_TITLES.get(name, name))}</h3><ul>{''.join(items)}</ul>{extra}</div>")
    return "".join(out)


def _quote(value: str) -> str:
    return quote(value, safe="")


def document(doc: DocumentRecord, given: Mapping[str, Any], show_paths: bool) -> str:
    q = given.get("q", "")
    rows = [("编号", doc.id)] + ([("路径", doc.path)] if show_paths else [])
    rows += [(label, text) for label, text in doc.rows]
    url = _safe_url(doc.fields.get("url"))
    table = "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in rows if v)
    if url:
        table += f"<tr><td>原文</td><td><a href='{e(url)}' rel='noopener noreferrer nofollow'>{e(url)}</a></td></tr>"
    text = doc.original or doc.body
    spans = _occurrences(text, q)
    back = f"<a href='{e(link(given))}'>← 返回搜索结果</a>" if q else "<a href='/'>← 首页</a>"
    body = (f"<article><p>{back}</p><h1>{e(doc.title or doc.id)}</h1><table class='fields'>{table}</table>"
            f"<pre>{highlight(text, spans)}</pre></article>")
    return _page(f"{doc.title or doc.id} - 街镇公文检索", body, q)


def _occurrences(text: str, query: str) -> list[tuple[int, int]]:
    """Where the query's words stand in ``text`` (folded: 加裝 finds 加装), at most 2,000."""
    if not query.strip():
        return []
    from civicsearch.errors import CivicSearchError
    from civicsearch.search.query import parse

    try:
        parsed = parse(query)
    except CivicSearchError:
        return []
    words = sorted({"".join(c.terms) if c.phrase else t for c in parsed.positive_clauses() for t in c.terms}, key=len,
                   reverse=True)
    folded, spans = fold(text), []
    for w in words:
        if not w:
            continue
        for m in re.finditer(re.escape(w), folded):
            spans.append((m.start(), m.end()))
            if len(spans) >= 2000:
                return spans
    return spans
