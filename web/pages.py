"""The HTML pages: search box, results, article.  Each has a JSON twin in :mod:`web.api`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from search.articles import find_article
from search.citations import FORMATS as CITATION_FORMATS, highwire_tags
from search.facets import FACETS
from search.hit_languages import hit_languages
from search.records import PartialDate
from search.query import PAGE_SIZES, PARAMETERS, SORTS, ParamError, SearchParams, run_search
from web import index, links
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
    """The current search's path (or another endpoint's, its JSON twin's say) with one facet
    value toggled and/or parameters changed (:func:`web.links.link`).

    Any change other than the page number goes back to page 1.
    """
    return links.link(links.path(endpoint), _search_args(), toggle,
                      drop if "page" in changes else drop + ("page",), **changes)


def _search_args() -> MultiDict:
    """The search's own parameters (:func:`web.links.search_args`)."""
    return links.search_args()
