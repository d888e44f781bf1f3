"""The JSON API: the same answers as the pages, as data.

``/api/search`` takes the parameters of ``/search`` and returns
:meth:`SearchResult.to_dict`, and walks every result with ``cursor=``
(:mod:`search.cursor`); ``/api/article/<id>`` the article's record with its
``similar`` articles; ``/api/article/<id>/similar`` more of them;
``/healthz`` whether the index can be served.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from flask import Blueprint, Response, jsonify, request

from search.articles import locate_article
from search.cursor import CursorError
from search.query import MAX_PER_PAGE, Hit, ParamError, SearchParams, run_search
from search.similar import MORE_SIMILAR, similar_articles
from search.store import IndexMissing
from web import index
from web.security import web_url

blueprint = Blueprint("api", __name__)


@blueprint.get("/api/search")
def search() -> Response | tuple[Response, int]:
    """Search results as JSON: a page by number, or with ``cursor=`` the next of a walk."""
    args = request.args.to_dict(flat=False)
    try:
        params = _with_cursor(SearchParams.from_args(args, max_per_page=MAX_PER_PAGE), args)
    except ParamError as error:
        return jsonify(error=str(error)), 400
    snapshot = index.snapshot()
    try:
        result = run_search(snapshot, params).to_dict()
    except CursorError as error:
        return jsonify(error=str(error)), 400
    for hit in result["hits"]:
        _only_web_links(hit)
    result["generation"] = snapshot.generation.name
    return jsonify(result)


@blueprint.get("/api/article/<article_id>")
def article(article_id: str) -> Response | tuple[Response, int]:
    """One article as JSON, with the hits of its ten nearest in meaning (``similar``);
    404 for an unknown id."""
    snapshot = index.snapshot()
    located = locate_article(snapshot, article_id)
    if located is None:
        return _unknown(article_id)
    found, docnum = located
    return jsonify(dict(_only_web_links(found), similar=_hits(similar_articles(snapshot, docnum))))


@blueprint.get("/api/article/<article_id>/similar")
def similar(article_id: str) -> Response | tuple[Response, int]:
    """``{"id", "title", "meaning_pending", "hits"}``: the article's nearest articles in
    meaning (up to 50), as ``/api/search`` gives hits; 404 for an unknown id."""
    snapshot = index.snapshot()
    located = locate_article(snapshot, article_id)
    if located is None:
        return _unknown(article_id)
    found, docnum = located
    titles = found.get("titles") or [{"text": ""}]
    return jsonify(id=article_id, title=titles[0]["text"],
                   meaning_pending=not bool(snapshot.arrays.has_vector[docnum]),
                   hits=_hits(similar_articles(snapshot, docnum, MORE_SIMILAR)))


@blueprint.get("/healthz")
def health() -> tuple[Response, int]:
    """200 with the document count and build time, or 503 when the index cannot be read."""
    try:
        snapshot = index.snapshot()
    except IndexMissing as error:
        return jsonify(status="unavailable", error=str(error)), 503
    built = datetime.fromtimestamp(snapshot.built_at, timezone.utc).isoformat(timespec="seconds")
    done, pending = snapshot.meaning_progress()
    return jsonify(status="ok", documents=snapshot.doc_count, built_at=built,
                   generation=snapshot.generation.name, meaning={"done": done, "pending": pending}), 200


def _with_cursor(params: SearchParams, args: Mapping[str, Sequence[str]]) -> SearchParams:
    """``params`` with the request's ``cursor``, if it gives one (a page number cannot go with it)."""
    if not args.get("cursor"):
        return params
    if "page" in args:
        raise ParamError("page cannot go with cursor: a walk goes on with the next_cursor of its last answer")
    return replace(params, cursor=args["cursor"][-1])


def _unknown(article_id: str) -> tuple[Response, int]:
    return jsonify(error=f"no article with id {article_id!r}"), 404


def _hits(hits: list[Hit]) -> list[dict[str, Any]]:
    """Hits as ``/api/search`` gives them."""
    return [_only_web_links(asdict(hit)) for hit in hits]


def _only_web_links(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with a ``web_url`` or ``pdf_url`` that is not an ``http(s)`` address
    emptied, as the pages show no link for it: a client would make it one."""
    for name in ("web_url", "pdf_url"):
        record[name] = web_url(record.get(name))
    return record
