"""The HTML pages: search box, results, article.  Each has a JSON twin in :mod:`web.api`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from flask import Blueprint, abort, g, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from search.articles import find_article
from search.citations import FORMATS as CITATION_FORMATS, highwire_tags
from search.facets import FACETS
from search.hit_languages import hit_languages
from search.records import PartialDate
from search.query import PAGE_SIZES, PARAMETERS, SORTS, ParamError, SearchParams, run_search
from web import index
from web.citations import exportable
from web.results_view import NARROWABLE, active_filters, narrowed, page_title, timeline

blueprint = Blueprint("pages", __name__)

#: Facet labels as pages show them.
FACET_LABELS = {"year": "Year", "institution": "Institution", "journal": "Journal"}


@blueprint.get("/")
def home() -> str:
    """The search box."""
    return render_template("home.html", doc_count=index.snapshot().doc_count)


@blueprint.get("/search")
def search() -> tuple[str, int] | str:
    """A results page; bad parameters get a 400 page saying which one."""
    try:
        params = SearchParams.from_args(request.args.to_dict(flat=False), max_per_page=max(PAGE_SIZES))
    except ParamError as error:
        return render_template("error.html", status=400, message=str(error)), 400
    snapshot = index.snapshot()
    result = run_search(snapshot, params)
    filters = active_filters(params.filters, FACET_LABELS)
    # The "more" lists narrowed by their box's text (?institution_contains=...).
    narrowing = {name: request.args.get(NARROWABLE[name], "").strip() for name in params.more if name in NARROWABLE}
    shown = {name: narrowed(values, narrowing.get(name, "")) for name, values in result.facets.items()}
    return render_template(
        "search.html", result=result, params=params, facets=FACETS, labels=FACET_LABELS,
        sorts=SORTS, page_sizes=PAGE_SIZES, link=_link, parameters=PARAMETERS,
        api_url=_link(endpoint="api.search", page=params.page if params.page > 1 else None),
        feed_url=_link(endpoint="feeds.search_atom"),
        citation_formats=CITATION_FORMATS,
        title=page_title(result, filters), active=filters, shown=shown, narrowing=narrowing,
        narrowable=NARROWABLE, timeline=timeline(result.facets["year"], params.filters),
        languages=hit_languages(snapshot, [hit.id for hit in result.hits]),
    )


@blueprint.get("/article/<article_id>")
def article(article_id: str) -> str:
    """An article's page; 404 for an unknown id."""
    found = find_article(index.snapshot(), article_id)
    if found is None:
        abort(404)
    return render_template("article.html", article=found,
                           api_url=url_for("api.article", article_id=article_id),
                           citation_formats=CITATION_FORMATS, citation_tags=_citation_tags(found))


def _citation_tags(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The article's Highwire Press meta tags, its links only if they are web addresses;
    the abstract's page is the journal's when known, else this one."""
    article = exportable(record)
    return highwire_tags(article, article.web_url or url_for("pages.article", article_id=record["id"], _external=True))


@blueprint.app_errorhandler(404)
def not_found(error: Exception) -> tuple[str, int]:
    """A page for unknown URLs and articles."""
    return render_template("error.html", status=404, message="There is no page at this address."), 404


@blueprint.app_template_filter("partial_date")
def partial_date(value: dict[str, int | None]) -> str:
    """A stored :class:`~search.records.PartialDate` as ``2015``, ``2015-09`` or ``2015-09-04``."""
    return PartialDate(**value).iso()


def _link(toggle: tuple[str, str] | None = None, drop: tuple[str, ...] = (), endpoint: str = "pages.search",
          **changes: Any) -> str:
    """The current search's URL (or its JSON twin's) with one facet value toggled and/or
    parameters changed.

    Any change other than the page number goes back to page 1.
    """
    args = _search_args().copy()
    if toggle is not None:
        name, value = toggle
        values = args.getlist(name)
        args.setlist(name, [v for v in values if v != value] if value in values else values + [value])
    for name in drop:
        args.poplist(name)
    for name, value in changes.items():
        args.setlist(name, [] if value is None else [str(value)])
    if "page" not in changes:
        args.poplist("page")
    query = "&".join(_encoded(name, value) for name, value in args.items(multi=True))
    return _path(endpoint) + ("?" + query if query else "")


# A results page has some sixty links, all variations of one query string: the request's
# parameters are read, and each pair and path made, once per request (url_for and
# urlencode for each link took a fifth of the page's time).

def _search_args() -> MultiDict:
    """The search's own parameters (url_for reads others, _external, _scheme, itself)."""
    if "search_args" not in g:
        g.search_args = MultiDict((n, v) for n, v in request.args.items(multi=True) if n in PARAMETERS)
    return g.search_args


def _encoded(name: str, value: str) -> str:
    """``name=value`` as a query string holds it."""
    known = g.setdefault("encoded_pairs", {})
    if (name, value) not in known:
        known[name, value] = quote_plus(name) + "=" + quote_plus(value)
    return known[name, value]


def _path(endpoint: str) -> str:
    paths = g.setdefault("endpoint_paths", {})
    if endpoint not in paths:
        paths[endpoint] = url_for(endpoint)
    return paths[endpoint]
