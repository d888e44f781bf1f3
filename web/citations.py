"""Citation downloads: one article's, or a results page's, as RIS, BibTeX or CSL-JSON.

``/article/<id>/cite.<format>`` and ``/search/cite?format=<format>&<the search's parameters>``,
``format`` one of :data:`search.citations.FORMATS` (``ris``, ``bib``, ``csl.json``).  The search is the results page's
own (same parameters, same :func:`~search.query.run_search`): the file holds the
articles that page lists, in its order.
"""

from __future__ import annotations

from typing import Any, Sequence

from flask import Blueprint, Response, abort, request

from search.articles import find_article
from search.citations import FORMATS, CitationFormat
from search.query import PAGE_SIZES, ParamError, SearchParams, run_search
from search.records import Article
from web import index
from web.security import web_url

blueprint = Blueprint("citations", __name__)


@blueprint.get("/article/<article_id>/cite.<fmt>")
def article(article_id: str, fmt: str) -> Response:
    """One article's citation file; 404 for an unknown article or format."""
    found = find_article(index.snapshot(), article_id)
    if found is None or fmt not in FORMATS:
        abort(404)
    return _download(FORMATS[fmt], [exportable(found)], article_id)


@blueprint.get("/search/cite")
def search() -> Response:
    """The citations of the articles on a results page; 400 naming a bad parameter."""
    fmt = request.args.get("format", "")
    if fmt not in FORMATS:
        return _bad_request(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    try:
        params = SearchParams.from_args(request.args.to_dict(flat=False), max_per_page=max(PAGE_SIZES))
    except ParamError as error:
        return _bad_request(str(error))
    snapshot = index.snapshot()
    result = run_search(snapshot, params)
    records = [find_article(snapshot, hit.id) for hit in result.hits]
    return _download(FORMATS[fmt], [exportable(r) for r in records if r is not None], f"results-page-{result.page}")


def _bad_request(message: str) -> Response:
    return Response(message + "\n", status=400, mimetype="text/plain")


def exportable(record: dict[str, Any]) -> Article:
    """The stored record as an article whose links are only ``http(s)`` addresses (a
    reference manager makes a link of any)."""
    article = Article.from_dict(record)
    article.web_url = web_url(article.web_url)
    article.pdf_url = web_url(article.pdf_url)
    return article


def _download(form: CitationFormat, articles: Sequence[Article], name: str) -> Response:
    response = Response(form.render(articles), content_type=f"{form.media_type}; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{form.extension}"'
    return response
