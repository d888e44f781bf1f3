"""The HTML pages: search box, results, article.  Each has a JSON twin in :mod:`web.api`."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Blueprint, abort, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from search.articles import locate_article
from search.citations import FORMATS as CITATION_FORMATS, highwire_tags, issue
from search.engine import Snapshot
from search.facets import FACETS
from search.hit_languages import TextLanguage, hit_languages
from search.highlight import render_exponents
from search.records import PartialDate
from search.query import PAGE_SIZES, PARAMETERS, SORTS, ParamError, SearchParams, run_search
from search.similar import MORE_SIMILAR, similar_articles
from search.syntax import field_phrase
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
        languages=hit_languages(result.hits),
    )


@blueprint.get("/article/<article_id>")
def article(article_id: str) -> str:
    """An article's page, with the articles nearest it in meaning; 404 for an unknown id."""
    snapshot, found, docnum = _article(article_id)
    return render_template("article.html", article=found, issue=issue(exportable(found)),
                           similar=similar_articles(snapshot, docnum),
                           meaning_pending=not snapshot.arrays.has_vector[docnum],
                           back=_back_link(), api_url=url_for("api.article", article_id=article_id),
                           citation_formats=CITATION_FORMATS, citation_tags=_citation_tags(found))


@blueprint.get("/article/<article_id>/similar")
def similar(article_id: str) -> str:
    """More articles like one (up to :data:`~search.similar.MORE_SIMILAR`); 404 for an unknown id."""
    snapshot, found, docnum = _article(article_id)
    return render_template("similar.html", article=found,
                           similar=similar_articles(snapshot, docnum, MORE_SIMILAR),
                           meaning_pending=not snapshot.arrays.has_vector[docnum], back=_back_link(),
                           api_url=url_for("api.similar", article_id=article_id))


def _article(article_id: str) -> tuple[Snapshot, dict[str, Any], int]:
    """The live snapshot, the article's record and its docnum; aborts with 404 when unknown."""
    snapshot = index.snapshot()
    located = locate_article(snapshot, article_id)
    if located is None:
        abort(404)
    return snapshot, *located


@blueprint.app_template_global("article_url")
def article_url(article_id: str) -> str:
    """An article page's address that leads back to the results it was reached from: its
    ``back`` holds the results page's parameters (on a results page, that page's; on an
    article page, the ``back`` it was given)."""
    on_results = request.endpoint == "pages.search"
    back = urlencode(list(_search_args().items(multi=True))) if on_results else _back_args()
    return url_for("pages.article", article_id=article_id, back=back or None)


def _back_args() -> str:
    """The ``back`` parameter of this request, cut to the search's own parameters."""
    pairs = parse_qsl(request.args.get("back", ""), keep_blank_values=False)
    return urlencode([(name, value) for name, value in pairs if name in PARAMETERS])


def _back_link() -> str | None:
    """The results page this article was reached from, or None.  Only ever a path on this
    site (``/search?...``), whatever ``back`` holds: never an open redirect."""
    back = _back_args()
    return url_for("pages.search") + "?" + back if back else None


blueprint.app_template_filter("exponents")(render_exponents)
blueprint.app_template_global("text_language")(TextLanguage.of)


@blueprint.app_template_global("author_search")
def author_search(name: str) -> str:
    """The address of the search for an author's articles (``author:"Jane Doe"``)."""
    return url_for("pages.search", q=field_phrase("author", name))


#: Names of the places external links lead to, by host.
LINK_PLACES = {"pubmed.ncbi.nlm.nih.gov": "View on PubMed", "www.ncbi.nlm.nih.gov": "View on PubMed",
               "doi.org": "View at doi.org", "dx.doi.org": "View at doi.org"}


@blueprint.app_template_filter("link_label")
def link_label(url: str) -> str:
    """A link's text naming where it goes: "View on PubMed", "View at doi.org", else
    "View on" the host (``www.`` left off)."""
    host = (urlsplit(url).hostname or "").lower()
    return LINK_PLACES.get(host) or "View on " + host.removeprefix("www.")


def _citation_tags(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The article's Highwire Press meta tags, its links only if they are web addresses;
    the abstract's page is the journal's when known, else this one."""
    article = exportable(record)
    return highwire_tags(article, article.web_url or url_for("pages.article", article_id=record["id"], _external=True))


@blueprint.app_errorhandler(404)
def not_found(error: Exception) -> tuple[str, int]:
    """A page for unknown URLs and articles."""
    return render_template("error.html", status=404, message="There is no page at this address."), 404


@blueprint.app_template_filter("articles")
def articles(count: int) -> str:
    """``1 article``, ``1,234 articles``: a count as the facets and timeline label it."""
    return f"{count:,} article{'s' if count != 1 else ''}"


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
