"""The site for programs, on the shipped sample: the Atom feed of a search, the OpenSearch
description, CORS on the read-only answers, and the sitemap."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from lxml import etree

from search.reindex import reindex
from tests.test_security import PAYLOAD, hostile_export
from web import create_app, feeds

ORIGIN = "http://localhost"


def feed(client: FlaskClient, url: str) -> feedparser.FeedParserDict:
    response = client.get(url)
    assert response.status_code == 200, response.data[:500]
    assert response.mimetype == "application/atom+xml"
    parsed = feedparser.parse(response.data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def article_url(hit: dict) -> str:
    return f"{ORIGIN}/article/{hit['id']}"


def test_feed_lists_the_apis_hits_newest_first(client: FlaskClient) -> None:
    parsed = feed(client, "/search.atom?q=cell&per_page=20")
    api = client.get("/api/search?q=cell&per_page=20&sort=newest").get_json()
    assert len(api["hits"]) == 20
    assert [e.id for e in parsed.entries] == [article_url(h) for h in api["hits"]]
    assert [e.link for e in parsed.entries] == [article_url(h) for h in api["hits"]]
    assert [e.title for e in parsed.entries] == [h["title"] for h in api["hits"]]
    assert [[a.name for a in e.get("authors", [])] for e in parsed.entries] == [h["authors"] for h in api["hits"]]
    dated = [e.published_parsed for e in parsed.entries if "published_parsed" in e]
    assert len(dated) > 10 and dated == sorted(dated, reverse=True)
    assert all(e.published_parsed.tm_year == h["year"] for e, h in zip(parsed.entries, api["hits"]) if h["year"])
    assert "cell" in parsed.feed.title
    assert int(parsed.feed.opensearch_totalresults) == api["total"]
    assert parsed.feed.updated_parsed is not None


def test_feed_summary_is_the_snippet_as_plain_text(client: FlaskClient) -> None:
    parsed = feed(client, "/search.atom?q=cell")
    summaries = [e.summary for e in parsed.entries if "summary" in e]
    assert len(summaries) == len(parsed.entries)
    assert all("<mark>" not in s and "&lt;" not in s for s in summaries)
    assert sum("cell" in s.lower() for s in summaries) >= len(summaries) // 2


def test_feed_applies_filters_and_a_named_sort(client: FlaskClient) -> None:
    everything = client.get("/api/search?q=cell").get_json()
    year = everything["facets"]["year"][0]["value"]
    journal = everything["facets"]["journal"][0]["value"]
    for query in ({"year": year}, {"journal": journal}, {"sort": "relevance"}, {"sort": "oldest", "page": "2"}):
        args = {"q": "cell", **query}
        api = client.get("/api/search", query_string={"sort": "newest", **args}).get_json()
        response = client.get("/search.atom", query_string=args)
        parsed = feedparser.parse(response.data)
        assert parsed.bozo == 0
        assert [e.id for e in parsed.entries] == [article_url(h) for h in api["hits"]], query
        assert int(parsed.feed.opensearch_totalresults) == api["total"] < everything["total"] or "sort" in query
    year_feed = feed(client, f"/search.atom?q=cell&year={year}")
    assert {e.published_parsed.tm_year for e in year_feed.entries} == {int(year)}


def test_feed_links_itself_its_page_and_the_next_page(client: FlaskClient) -> None:
    parsed = feed(client, "/search.atom?q=cell&page=2")
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == f"{ORIGIN}/search.atom?q=cell&page=2"
    assert links["alternate"] == f"{ORIGIN}/search?q=cell&page=2"
    assert client.get(links["alternate"]).status_code == 200
    assert links["next"].endswith("page=3") and links["previous"].endswith("page=1")
    third = feed(client, links["next"])
    assert third.entries[0].id == article_url(client.get("/api/search?q=cell&sort=newest&page=3").get_json()["hits"][0])


def test_feed_refuses_a_bad_parameter_naming_it(client: FlaskClient) -> None:
    response = client.get("/search.atom?q=cell&sort=best")
    assert response.status_code == 400 and b"sort" in response.data


def test_results_page_links_its_feed(client: FlaskClient) -> None:
    page = BeautifulSoup(client.get("/search?q=cell&year=2016").data, "html.parser")
    link = page.find("link", rel="alternate", type="application/atom+xml")
    assert link is not None and "q=cell" in link["href"] and "year=2016" in link["href"]
    parsed = feed(client, link["href"])
    assert parsed.entries and {e.published_parsed.tm_year for e in parsed.entries} == {2016}


def test_hostile_stored_text_stays_text_in_the_feed(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "hostile.xml").write_text(hostile_export(), encoding="utf-8")
    assert reindex([tmp_path / "data"], tmp_path / "index", with_meaning=False).ok
    client = create_app(tmp_path / "index", {"TESTING": True}).test_client()
    parsed = feed(client, "/search.atom?q=quokka")
    assert len(parsed.entries) == 2
    entry = next(e for e in parsed.entries if e.title.startswith("Quokka title"))
    # The payload arrives as the text it is, in the title, the author and the summary.
    assert PAYLOAD in entry.title and PAYLOAD in entry.authors[0].name
    assert "<script>alert(1)</script>" in entry.summary  # the snippet is cut: part of the payload
    assert entry.title_detail.type == entry.summary_detail.type == "text/plain"
    # The javascript: and data: addresses of the records become no link.
    hrefs = [link.href for e in parsed.entries for link in e.links]
    assert hrefs and all(href.startswith(f"{ORIGIN}/article/") for href in hrefs)


# --- OpenSearch ------------------------------------------------------------------------

OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"


@pytest.mark.parametrize("url", ["/", "/search?q=cell", "/no-such-page"])
def test_every_page_links_the_opensearch_description(client: FlaskClient, url: str) -> None:
    page = BeautifulSoup(client.get(url).data, "html.parser")
    link = page.find("link", rel="search")
    assert link is not None and link["type"] == "application/opensearchdescription+xml"
    assert client.get(link["href"]).status_code == 200


def test_opensearch_templates_give_working_searches(client: FlaskClient) -> None:
    response = client.get("/opensearch.xml")
    assert response.mimetype == "application/opensearchdescription+xml"
    root = etree.fromstring(response.data)
    assert root.tag == f"{OPENSEARCH}OpenSearchDescription"
    assert root.findtext(f"{OPENSEARCH}ShortName") == "Abstract search"
    templates = {u.get("type"): u.get("template") for u in root.iter(f"{OPENSEARCH}Url") if u.get("rel") != "self"}
    assert set(templates) == {"text/html", "application/atom+xml", "application/json"}
    expected = client.get("/api/search?q=cell&page=2").get_json()
    for mimetype, template in templates.items():
        for page in ("2", ""):  # an optional parameter a client leaves out is sent empty
            url = template.replace("{searchTerms}", "cell").replace("{startPage?}", page).replace("{count?}", "")
            assert url.startswith(ORIGIN)
            answer = client.get(url)
            assert answer.status_code == 200 and answer.mimetype == mimetype, url
    json_url = templates["application/json"].replace("{searchTerms}", "cell").replace("{startPage?}", "2")
    assert client.get(json_url.replace("{count?}", "")).get_json()["hits"] == expected["hits"]


# --- CORS ------------------------------------------------------------------------------


def test_cors_on_the_read_only_json_and_the_feed_only(client: FlaskClient) -> None:
    some_id = client.get("/api/search?q=cell").get_json()["hits"][0]["id"]
    for url in ("/api/search?q=cell", f"/api/article/{some_id}", "/api/search?sort=bad", "/search.atom?q=cell"):
        assert client.get(url).headers.get("Access-Control-Allow-Origin") == "*", url
    for url in ("/", "/search?q=cell", f"/article/{some_id}", "/opensearch.xml"):
        assert "Access-Control-Allow-Origin" not in client.get(url).headers, url


# --- sitemap ---------------------------------------------------------------------------

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def all_article_urls(client: FlaskClient) -> list[str]:
    first = client.get("/api/search?per_page=100").get_json()
    hits = [h for page in range(1, first["pages"] + 1)
            for h in client.get(f"/api/search?per_page=100&page={page}").get_json()["hits"]]
    assert len(hits) == first["total"] == 605
    return [article_url(h) for h in hits]


def sitemap(client: FlaskClient, url: str) -> etree._Element:
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/xml", url
    return etree.fromstring(response.data)


def locations(root: etree._Element, element: str) -> list[str]:
    return [e.findtext(f"{SITEMAP}loc") for e in root.iter(f"{SITEMAP}{element}")]


def test_sitemap_lists_every_article_once(client: FlaskClient) -> None:
    root = sitemap(client, "/sitemap.xml")
    assert root.tag == f"{SITEMAP}urlset"
    listed = locations(root, "url")
    assert len(listed) == len(set(listed)) and set(listed) == set(all_article_urls(client))
    assert client.get(listed[0]).status_code == 200


def test_sitemap_splits_past_the_limit(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "SITEMAP_URLS", 250)
    root = sitemap(client, "/sitemap.xml")
    assert root.tag == f"{SITEMAP}sitemapindex"
    files = locations(root, "sitemap")
    assert files == [f"{ORIGIN}/sitemap-{n}.xml" for n in (1, 2, 3)]
    parts = [locations(sitemap(client, url), "url") for url in files]
    assert [len(p) for p in parts] == [250, 250, 105]
    listed = [url for part in parts for url in part]
    assert len(listed) == len(set(listed)) and set(listed) == set(all_article_urls(client))
    assert client.get("/sitemap-4.xml").status_code == 404
    assert client.get("/sitemap-0.xml").status_code == 404
