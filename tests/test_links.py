"""Links to variations of a search (web/links.py), as the results page and the feed give them."""

from __future__ import annotations

from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
# A space, '+', '&', '=' and a non-ASCII letter, which a query string must each encode.
QUERY = "q=cell+%2B+therapy+%26+%C3%A9%3D"


def test_page_links_keep_the_search_and_go_back_to_page_one(client: FlaskClient) -> None:
    page = BeautifulSoup(client.get(f"/search?{QUERY}&utm_source=x&page=2&year=2015").data, "html.parser")
    assert page.select_one(".pages a[rel=next]")["href"] == f"/search?{QUERY}&page=3&year=2015"
    assert page.select_one(".pages a[rel=prev]")["href"] == f"/search?{QUERY}&page=1&year=2015"
    # Removing the year filter is another search: it starts at page 1.
    assert f"/search?{QUERY}" in {a["href"] for a in page.select("a[href]")}
    alternate = page.select_one('link[rel=alternate][type="application/json"]')["href"]
    assert alternate == f"/api/search?{QUERY}&page=2&year=2015"
    assert page.select_one('link[rel=alternate][type="application/atom+xml"]')["href"] == f"/search.atom?{QUERY}&year=2015"


def test_feed_links_keep_every_parameter_and_the_page(client: FlaskClient) -> None:
    response = client.get(f"/search.atom?{QUERY}&utm_source=x&page=2&per_page=5")
    assert response.status_code == 200
    links = {link.get("rel"): link.get("href") for link in etree.fromstring(response.data).iter(f"{ATOM}link")
             if link.getparent().tag == f"{ATOM}feed"}
    assert links["alternate"] == f"http://localhost/search?{QUERY}&utm_source=x&page=2&per_page=5"
    assert links["next"] == f"http://localhost/search.atom?{QUERY}&utm_source=x&page=3&per_page=5"
    assert links["previous"] == f"http://localhost/search.atom?{QUERY}&utm_source=x&page=1&per_page=5"
