"""The site for programs: an Atom feed of any search, the OpenSearch description and
the sitemap.

Each is another rendering of what the pages already show: the feed of
:func:`search.query.run_search`'s result for the parameters of ``/search``, the
sitemap of the index's article list (:func:`search.articles.article_ids`).  The XML
is built with lxml, which escapes every text and attribute it is given.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, Response, abort, request, url_for
from lxml import etree
from lxml.builder import ElementMaker
from lxml.html import fragment_fromstring

from search.articles import article_ids
from search.query import MAX_PER_PAGE, Hit, ParamError, SearchParams, SearchResult, run_search
from web import index, links
from web.security import web_url

blueprint = Blueprint("feeds", __name__)

SITE_NAME = "Abstract search"
ATOM = "http://www.w3.org/2005/Atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
#: The most URLs one sitemap file may list (the sitemap protocol's limit); past it
#: ``/sitemap.xml`` becomes an index of ``/sitemap-1.xml``, ``/sitemap-2.xml`` ...
SITEMAP_URLS = 50_000
ATOM_TYPE = "application/atom+xml"


@blueprint.get("/search.atom")
def search_atom() -> Response:
    """The search of ``/search`` with the same parameters as an Atom feed, newest first
    unless the request names another sort."""
    args = request.args.to_dict(flat=False)
    args.setdefault("sort", ["newest"])
    try:
        params = SearchParams.from_args(args, max_per_page=MAX_PER_PAGE)
    except ParamError as error:
        return Response(str(error), 400, mimetype="text/plain")
    snapshot = index.snapshot()
    result = run_search(snapshot, params)
    return _xml(_feed(result, _timestamp(snapshot.built_at)), ATOM_TYPE)


@blueprint.get("/opensearch.xml")
def opensearch() -> Response:
    """The OpenSearch description, with which a browser adds the site as a search engine."""
    E = ElementMaker(namespace=OPENSEARCH, nsmap={None: OPENSEARCH})
    terms = "q={searchTerms}&page={startPage?}"
    return _xml(E.OpenSearchDescription(
        E.ShortName(SITE_NAME),
        E.Description("Search journal article abstracts by title, abstract, author, institution and journal."),
        E.InputEncoding("UTF-8"),
        E.Url(type="text/html", template=f"{url_for('pages.search', _external=True)}?{terms}"),
        E.Url(type=ATOM_TYPE, template=f"{url_for('feeds.search_atom', _external=True)}?{terms}&per_page={{count?}}"),
        E.Url(type="application/json", template=f"{url_for('api.search', _external=True)}?{terms}&per_page={{count?}}"),
        E.Url(type="application/opensearchdescription+xml", rel="self",
              template=url_for("feeds.opensearch", _external=True)),
    ), "application/opensearchdescription+xml")


@blueprint.get("/sitemap.xml")
def sitemap() -> Response:
    """Every article page; past :data:`SITEMAP_URLS` of them, an index of the sitemap files."""
    snapshot = index.snapshot()
    files = _sitemap_files(snapshot.doc_count)
    if files <= 1:
        return _urlset(0)
    E = ElementMaker(namespace=SITEMAP, nsmap={None: SITEMAP})
    built = _timestamp(snapshot.built_at)
    return _xml(E.sitemapindex(*(
        E.sitemap(E.loc(url_for("feeds.sitemap_file", number=number, _external=True)), E.lastmod(built))
        for number in range(1, files + 1)
    )), "application/xml")


@blueprint.get("/sitemap-<int:number>.xml")
def sitemap_file(number: int) -> Response:
    """The ``number``-th (from 1) :data:`SITEMAP_URLS` article pages; 404 past the last."""
    if not 1 <= number <= _sitemap_files(index.snapshot().doc_count):
        abort(404)
    return _urlset(number - 1)


def _sitemap_files(articles: int) -> int:
    return max(1, -(-articles // SITEMAP_URLS))


def _urlset(file: int) -> Response:
    """The sitemap of the ``file``-th (from 0) :data:`SITEMAP_URLS` articles."""
    E = ElementMaker(namespace=SITEMAP, nsmap={None: SITEMAP})
    ids = article_ids(index.snapshot(), file * SITEMAP_URLS, (file + 1) * SITEMAP_URLS)
    return _xml(E.urlset(*(E.url(E.loc(_article_url(article_id))) for article_id in ids)), "application/xml")


def _feed(result: SearchResult, updated: str) -> etree._Element:
    """The Atom feed of a results page; ``updated`` is when the index was built (what
    changes the feed)."""
    E = ElementMaker(namespace=ATOM, nsmap={None: ATOM, "opensearch": OPENSEARCH})
    O = ElementMaker(namespace=OPENSEARCH)
    search_url = links.link(url_for("pages.search", _external=True), request.args)
    feed = E.feed(
        E.id(request.url),
        E.title(f"{result.query or 'All articles'} – {SITE_NAME}"),
        E.updated(updated),
        # Covers the entries of articles without authors, which Atom requires an author of.
        E.author(E.name(SITE_NAME)),
        E.link(rel="self", type=ATOM_TYPE, href=request.url),
        E.link(rel="alternate", type="text/html", href=search_url),
        O.totalResults(str(result.total)),
        O.startIndex(str((result.page - 1) * result.per_page + 1)),
        O.itemsPerPage(str(result.per_page)),
    )
    if result.page > 1:
        feed.append(E.link(rel="previous", type=ATOM_TYPE,
                           href=links.link(request.base_url, request.args, page=result.page - 1)))
    if result.page < result.pages:
        feed.append(E.link(rel="next", type=ATOM_TYPE,
                           href=links.link(request.base_url, request.args, page=result.page + 1)))
    feed.extend(_entry(E, hit, updated) for hit in result.hits)
    return feed


def _entry(E: ElementMaker, hit: Hit, fallback_date: str) -> etree._Element:
    """One result as an Atom entry: its id and link are the article's page here."""
    page = _article_url(hit.id)
    date = _atom_date(hit.published) if hit.published else None
    entry = E.entry(
        E.id(page),
        E.title(hit.title, type="text"),
        E.link(rel="alternate", type="text/html", href=page),
        # Atom requires every entry to say when it changed; an undated article takes the index's date.
        E.updated(date or fallback_date),
    )
    if date:
        entry.append(E.published(date))
    if web_url(hit.web_url):
        entry.append(E.link(rel="related", type="text/html", href=hit.web_url))
    entry.extend(E.author(E.name(name)) for name in hit.authors if name)
    summary = _text(hit.highlights["abstract"])
    if summary:
        entry.append(E.summary(summary, type="text"))
    return entry


def _text(highlighted: str) -> str:
    """A highlight's text: the ``<mark>`` tags dropped, the escaped characters restored."""
    if not highlighted:
        return ""
    return fragment_fromstring(highlighted, create_parent="div").text_content()


def _atom_date(partial: str) -> str:
    """A stored date (``2015``, ``2015-09``, ``2015-09-04``) as an Atom date-time, its unknown
    parts the earliest."""
    return "-".join((partial.split("-") + ["01", "01"])[:3]) + "T00:00:00Z"


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def _article_url(article_id: str) -> str:
    return url_for("pages.article", article_id=article_id, _external=True)


def _xml(root: etree._Element, mimetype: str) -> Response:
    return Response(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), mimetype=mimetype)
