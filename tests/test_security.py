"""The site as an attacker sees it: hostile stored text, hostile parameters, headers, errors."""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient

from search.config import Settings
from search.query import MAX_QUERY_CHARS, MAX_VALUES
from search.reindex import reindex
from web import create_app
from web.security import web_url

FIXTURES = Path(__file__).parent / "fixtures"
#: Breaks out of an element, of a double- and a single-quoted attribute, and of a URL.
PAYLOAD = """"'><script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>"""
#: Addresses a browser would run as script if they became links.
SCRIPT_URLS = ("javascript:alert(document.domain)", " \tJaVa\nScRiPt:alert(4)", "data:text/html,<script>alert(5)</script>")


def hostile_export() -> str:
    """One OJS export whose every field holds :data:`PAYLOAD` (the word ``quokka`` finds it).

    Text is escaped twice, as exports escape HTML markup in their text: the index
    stores markup as such, with tags, so the site must escape it."""
    text = escape(escape(PAYLOAD))
    return f"""<?xml version="1.0"?>
<Articles JournalTitle={quoteattr(PAYLOAD)}>
  <Article>
    <Journal>
      <PublisherName>Publisher {text}</PublisherName>
      <JournalTitle>Journal {text}</JournalTitle>
      <Issn>{text}</Issn><Volume>{text}</Volume><Issue>{text}</Issue>
      <PubDate><Year>2020</Year></PubDate>
    </Journal>
    <title locale={quoteattr(PAYLOAD)}>Quokka title {text}</title>
    <title locale="fa_IR">Quokka {text}</title>
    <FirstPage>{text}</FirstPage><LastPage>{text}</LastPage>
    <AuthorList>
      <Author><FirstName>First {text}</FirstName><LastName>Last {text}</LastName>
        <affiliation locale="en_US">Affiliation {text}</affiliation></Author>
    </AuthorList>
    <abstract locale="en_US">Quokka abstract {text} <![CDATA[{escape(PAYLOAD)}]]></abstract>
    <abstract locale={quoteattr(PAYLOAD)}>Quokka second abstract {text}</abstract>
    <ArticleIdList><ArticleId IdType="doi">10.1/{text}</ArticleId></ArticleIdList>
    <web_url>{escape(SCRIPT_URLS[0])}</web_url>
    <pdf_url>{escape(SCRIPT_URLS[1])}</pdf_url>
  </Article>
  <Article>
    <title>Quokka data link</title>
    <web_url>{escape(SCRIPT_URLS[2])}</web_url>
  </Article>
</Articles>
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The site over the seed article, the PubMed fixture and the hostile export."""
    folder = tmp_path_factory.mktemp("hostile")
    data = folder / "data"
    data.mkdir()
    for name in ("seed-article.xml", "pubmed-articleset.xml"):
        shutil.copy(FIXTURES / name, data)
    (data / "hostile.xml").write_text(hostile_export(), encoding="utf-8")
    summary = reindex([data], folder / "index", with_meaning=False)
    assert summary.ok and summary.added == 4, summary.errors
    # Not TESTING: errors are handled as in production, not raised into the test.
    return create_app(folder / "index")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def assert_inert(html: str) -> BeautifulSoup:
    """No inline script (only the site's own script files), no event handler, no inline style,
    and every link to this site or to http(s)."""
    page = BeautifulSoup(html, "html.parser")
    assert not page.find_all(["img", "iframe", "object", "embed", "style"])
    for script in page.find_all("script"):
        assert script.get("src", "").startswith("/static/") and not script.string, script
    for element in page.find_all(True):
        for name in element.attrs:
            assert not name.lower().startswith("on") and name.lower() != "style", (element.name, name)
    for element in page.find_all(href=True):
        href = element["href"]
        assert href.startswith(("/", "#", "https://", "http://")) and not href.startswith("//"), href
    for element in page.find_all(action=True):
        assert element["action"].startswith("/")
    return page


# --- hostile stored text ------------------------------------------------------------------


def test_every_stored_field_is_shown_as_text_and_no_script_url_becomes_a_link(client: FlaskClient) -> None:
    result = client.get("/api/search?q=quokka+title").get_json()
    hit = next(h for h in result["hits"] if "Quokka title" in h["title"])
    stored = client.get(f"/api/article/{hit['id']}").get_json()
    # The payload really is in the record, so escaping is what the checks below test.
    for value in (stored["titles"][0]["text"], stored["journal"], stored["authors"][0]["last_name"],
                  stored["authors"][0]["affiliations"][0]["text"], stored["abstracts"][0]["text"]):
        assert "<script>alert(1)</script>" in value, value

    results_page = client.get("/search?q=quokka")
    text = assert_inert(results_page.data.decode()).get_text()
    assert "Quokka title" in text and "<script>alert(1)</script>" in text
    article_page = client.get(f"/article/{hit['id']}")
    article = assert_inert(article_page.data.decode())
    shown = article.get_text()
    for value in (stored["journal"], stored["authors"][0]["affiliations"][0]["text"], stored["volume"]):
        assert value in shown
    assert "Article page" not in shown and "PDF" not in shown  # the javascript: URLs are no links

    # The JSON holds the text as data, highlights only <mark>, and no script URL at all.
    for fragment in hit["highlights"].values():
        assert "<script" not in fragment and "<img" not in fragment and "<a " not in fragment
    assert hit["web_url"] == hit["pdf_url"] == stored["web_url"] == stored["pdf_url"] == ""
    data_hit = next(h for h in result["hits"] if h["title"] == "Quokka data link")
    assert data_hit["web_url"] == ""
    for response in (client.get("/api/search?q=quokka"), client.get(f"/api/article/{hit['id']}")):
        assert response.mimetype == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_only_http_addresses_are_links() -> None:
    for url in SCRIPT_URLS + ("vbscript:x", "//evil.example/x", "/relative", "ftp://x", ""):
        assert web_url(url) == "", url
    for url in ("https://doi.org/10.1/x", "http://j.example/a?b=1", "HTTPS://J.EXAMPLE/"):
        assert web_url(url) == url


def test_hostile_query_and_parameters_are_shown_as_text(client: FlaskClient) -> None:
    args = {"q": PAYLOAD, "institution": PAYLOAD, "journal": PAYLOAD, PAYLOAD: PAYLOAD}
    page = client.get("/search", query_string=args)
    assert page.status_code == 200
    assert PAYLOAD in assert_inert(page.data.decode()).get_text()
    api = client.get("/api/search", query_string=args)
    assert api.status_code == 200 and api.get_json()["query"] == PAYLOAD


@pytest.mark.parametrize("name", ["_scheme", "_anchor", "_external", "_method", "endpoint"])
def test_parameters_that_url_for_reads_itself_are_ignored(client: FlaskClient, name: str) -> None:
    page = client.get("/search", query_string={"q": "cell", name: "javascript"},
                      headers={"Host": "evil.example"})
    assert page.status_code == 200
    html = page.data.decode()
    assert "evil.example" not in html and "javascript" not in html.lower().replace("q=cell", "")
    assert_inert(html)


# --- limits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url_base", ["/search", "/api/search"])
def test_limits_give_a_400_naming_the_limit(client: FlaskClient, url_base: str) -> None:
    def get(args: list[tuple[str, str]]):
        return client.get(url_base, query_string=args)

    def message(response) -> str:
        assert response.status_code == 400, response.data[:300]
        if url_base.startswith("/api/"):
            return response.get_json()["error"]
        return BeautifulSoup(response.data, "html.parser").main.get_text()

    long_query = "cell " * (MAX_QUERY_CHARS // 5)
    assert get([("q", long_query[:MAX_QUERY_CHARS])]).status_code == 200
    said = message(get([("q", long_query + "x")]))
    assert "'q'" in said and f"{MAX_QUERY_CHARS:,}" in said
    said = message(get([("journal", "j" * (MAX_QUERY_CHARS + 1))]))
    assert "'journal'" in said and f"{MAX_QUERY_CHARS:,}" in said

    assert get([("institution", f"i{n}") for n in range(MAX_VALUES)]).status_code == 200
    for name in ("institution", "year", "unused"):
        said = message(get([(name, "2020") for _ in range(MAX_VALUES + 1)]))
        assert f"too many values of '{name}'" in said and str(MAX_VALUES) in said

    window = Settings().max_result_window
    assert get([("q", "cell"), ("page", str(window // 10))]).status_code == 200
    said = message(get([("q", "cell"), ("page", str(window // 10 + 1))]))
    assert "page" in said and f"{window:,}" in said


# --- headers and errors ---------------------------------------------------------------------


def test_security_headers_on_every_kind_of_response(app: Flask, client: FlaskClient, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    article_id = client.get("/api/search?q=vitamin").get_json()["hits"][0]["id"]
    responses = {url: client.get(url) for url in (
        "/", "/search?q=cell", f"/article/{article_id}", "/api/search?q=cell", f"/api/article/{article_id}",
        "/healthz", "/static/style.css", "/nowhere", "/search?page=0", "/api/search?sort=x",
    )}
    empty = create_app(tmp_path / "no-index").test_client()
    responses.update({f"empty {url}": empty.get(url) for url in ("/", "/api/search", "/healthz")})
    monkeypatch.setattr("web.pages.run_search", _fail)
    responses["500"] = client.get("/search?q=cell")
    assert {r.status_code for r in responses.values()} == {200, 400, 404, 500, 503}
    for url, response in responses.items():
        policy = response.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, url
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy, url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", url
        assert response.headers["X-Frame-Options"] == "DENY", url
        if response.mimetype == "text/html":
            assert_inert(response.data.decode())
        response.close()  # the stylesheet's file stays open until then


def _fail(*args: object, **kwargs: object) -> None:
    raise RuntimeError("secret detail at /srv/secret/path.py")


def test_an_unexpected_error_is_a_plain_500_without_traceback(client: FlaskClient,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("web.pages.run_search", _fail)
    monkeypatch.setattr("web.api.run_search", _fail)
    page = client.get("/search?q=cell")
    api = client.get("/api/search?q=cell")
    assert page.status_code == api.status_code == 500
    assert page.mimetype == "text/html" and "went wrong" in page.data.decode()
    assert api.mimetype == "application/json" and "went wrong" in api.get_json()["error"]
    for body in (page.data.decode(), api.data.decode()):
        assert "Traceback" not in body and "secret" not in body and "RuntimeError" not in body


def test_no_debug_mode_and_no_secret_key(app: Flask) -> None:
    production = create_app("index")
    for site in (app, production):
        assert not site.debug and not site.testing
        assert site.config["SECRET_KEY"] is None  # no session or cookie is signed: none is needed
        assert not site.config["PROPAGATE_EXCEPTIONS"]
