"""Citation downloads and Highwire Press meta tags, as a reference manager reads them.

Each export is parsed back with a parser other tools use (``rispy`` for RIS,
``bibtexparser`` for BibTeX, ``json`` for CSL-JSON) and compared with the article as
read straight from its XML.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import bibtexparser
import pytest
import rispy
from bibtexparser import middlewares
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient

from search.citations import FORMATS, bibtex_key, issue
from search.ingest import read_file
from search.records import Article
from search.reindex import reindex
from tests.conftest import SAMPLE
from web import create_app

FIXTURES = Path(__file__).parent / "fixtures"
MEDIA_TYPES = {
    "ris": "application/x-research-info-systems",
    "bib": "application/x-bibtex",
    "csl.json": "application/vnd.citationstyles.csl+json",
}


def sample_article(author_last_name: str, title_start: str) -> Article:
    """An article of the shipped sample, read from its XML (not from the index)."""
    found = [a for p in sorted(SAMPLE.rglob("*.xml")) for a in read_file(p)
             if isinstance(a, Article) and a.title.startswith(title_start)
             and any(x.last_name == author_last_name for x in a.authors)]
    assert len(found) == 1, (author_last_name, title_start)
    return found[0]


@pytest.fixture(scope="module")
def special() -> Article:
    """A record whose texts hold every BibTeX special character, and a DOI."""
    [article] = read_file(FIXTURES / "cite-special.xml")
    assert isinstance(article, Article)
    return article


@pytest.fixture(scope="module")
def special_client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """The site over an index of the special-characters record (words only)."""
    data = tmp_path_factory.mktemp("cite-data")
    (data / "cite-special.xml").write_bytes((FIXTURES / "cite-special.xml").read_bytes())
    index = tmp_path_factory.mktemp("cite-index")
    assert reindex([data], index, with_meaning=False).ok
    app: Flask = create_app(index, {"TESTING": True})
    return app.test_client()


# Real sample articles: one with accented names, one whose journal has "&" and abstract "%".
NON_ASCII = ("Müller", "Formulation of attractive toxic sugar bait")
AMPERSAND = ("Van Hoof", "Characteristics of Academic Detailing")


def download(client: FlaskClient, url: str, fmt: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == MEDIA_TYPES[fmt]
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["Content-Disposition"].endswith(f'.{fmt}"')
    return response.get_data(as_text=True)


def parse_bibtex(text: str) -> list[dict]:
    """Entries with LaTeX decoded and authors split, as a reference manager imports them;
    ``doi`` and ``url`` are verbatim fields (biblatex), so they are kept as written."""
    raw = bibtexparser.parse_string(text)
    decoded = bibtexparser.parse_string(text, append_middleware=[
        middlewares.LatexDecodingMiddleware(), middlewares.SeparateCoAuthors(), middlewares.SplitNameParts()])
    assert not raw.failed_blocks and not decoded.failed_blocks
    entries = []
    for plain, entry in zip(raw.entries, decoded.entries):
        values = {name: field.value for name, field in entry.fields_dict.items()}
        values["author"] = [(" ".join(n.last), " ".join(n.first)) for n in values.get("author", [])]
        values.update({name: plain[name] for name in ("doi", "url") if name in plain.fields_dict})
        values["key"] = entry.key
        entries.append(values)
    return entries


# --- one article ----------------------------------------------------------------------


@pytest.mark.parametrize("which", [NON_ASCII, AMPERSAND])
def test_ris_of_a_sample_article_reads_back(client: FlaskClient, which: tuple[str, str]) -> None:
    article = sample_article(*which)
    [entry] = rispy.loads(download(client, f"/article/{article.id}/cite.ris", "ris"))
    assert entry["type_of_reference"] == "JOUR"
    assert entry["title"] == article.title
    assert entry["authors"] == [f"{a.last_name}, {a.first_name}" for a in article.authors]
    assert entry["year"] == str(article.year)
    assert entry["secondary_title"] == article.journal
    assert entry["volume"] == article.volume and entry["start_page"] == article.first_page
    assert entry["urls"] == [article.web_url]
    assert entry["abstract"] == " ".join(article.abstracts[0].text.split())


@pytest.mark.parametrize("which", [NON_ASCII, AMPERSAND])
def test_bibtex_of_a_sample_article_reads_back(client: FlaskClient, which: tuple[str, str]) -> None:
    article = sample_article(*which)
    [entry] = parse_bibtex(download(client, f"/article/{article.id}/cite.bib", "bib"))
    assert entry["title"] == article.title
    assert entry["author"] == [(a.last_name, a.first_name) for a in article.authors]
    assert entry["year"] == str(article.year)
    assert entry["journal"] == article.journal
    assert entry["abstract"] == " ".join(article.abstracts[0].text.split())
    assert entry["url"] == article.web_url
    assert entry["key"] == bibtex_key(article)


@pytest.mark.parametrize("which", [NON_ASCII, AMPERSAND])
def test_csl_json_of_a_sample_article_reads_back(client: FlaskClient, which: tuple[str, str]) -> None:
    article = sample_article(*which)
    [item] = json.loads(download(client, f"/article/{article.id}/cite.csl.json", "csl.json"))
    assert item["type"] == "article-journal"
    assert item["title"] == article.title
    assert item["author"] == [{"family": a.last_name, "given": a.first_name} for a in article.authors]
    assert item["issued"]["date-parts"][0][0] == article.year
    assert item["container-title"] == article.journal
    assert item["URL"] == article.web_url


def test_special_characters_and_doi_survive_every_format(special_client: FlaskClient, special: Article) -> None:
    authors = [(a.last_name, a.first_name) for a in special.authors]
    [ris] = rispy.loads(download(special_client, f"/article/{special.id}/cite.ris", "ris"))
    assert (ris["title"], ris["doi"], ris["year"]) == (special.title, special.doi, "2019")
    assert ris["authors"] == [f"{last}, {first}" for last, first in authors]

    text = download(special_client, f"/article/{special.id}/cite.bib", "bib")
    [bib] = parse_bibtex(text)
    # pylatexenc decodes LaTeX's \textasciicircum to U+02C6, the character LaTeX prints for it.
    assert bib["title"].replace("\u02c6", "^") == special.title
    assert (bib["journal"], bib["publisher"]) == (special.journal, special.publisher)
    assert bib["abstract"] == special.abstracts[0].text
    assert bib["author"][0] == authors[0]
    # A name holding "&" is still one name of two parts.
    assert len(bib["author"]) == 2 and bib["author"][1][1] == "Ann"
    assert bib["doi"] == special.doi and bib["year"] == "2019"

    [csl] = json.loads(download(special_client, f"/article/{special.id}/cite.csl.json", "csl.json"))
    assert (csl["title"], csl["DOI"], csl["issued"]) == (special.title, special.doi, {"date-parts": [[2019, 3]]})


def test_bibtex_keys_are_stable_and_unique(client: FlaskClient) -> None:
    # Eight "August consultation #N" articles of one journal and year: similar, yet each its own key.
    url = "/search/cite?format=bib&q=title:consultation&per_page=50"
    first = [e["key"] for e in parse_bibtex(client.get(url).get_data(as_text=True))]
    again = [e["key"] for e in parse_bibtex(client.get(url).get_data(as_text=True))]
    assert len(first) >= 8 and len(set(first)) == len(first)
    assert first == again


def test_an_issue_written_as_zero_is_not_exported(client: FlaskClient) -> None:
    seed = sample_article("Sadeghi", "Adoptive Cell Therapy")
    assert seed.issue == "0" and issue(seed) == ""
    [entry] = rispy.loads(download(client, f"/article/{seed.id}/cite.ris", "ris"))
    assert "number" not in entry and entry["volume"] == "8"


def test_unknown_article_or_format_is_404(client: FlaskClient) -> None:
    seed = sample_article("Sadeghi", "Adoptive Cell Therapy")
    assert client.get("/article/0000000000000000/cite.ris").status_code == 404
    assert client.get(f"/article/{seed.id}/cite.docx").status_code == 404


# --- a results page -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(MEDIA_TYPES))
def test_a_results_page_exports_the_articles_it_lists_in_order(client: FlaskClient, fmt: str) -> None:
    params = {"q": "patients", "per_page": "20", "page": "2"}
    page = BeautifulSoup(client.get("/search", query_string=params).data, "html.parser")
    listed = [urlsplit(a["href"]).path.rsplit("/", 1)[1] for a in page.select("ol.hits h2 a")]
    assert len(listed) == 20
    links = {a.get_text(strip=True): a["href"] for a in page.select("p.cite a")}
    text = download(client, links[FORMATS[fmt].label], fmt)
    if fmt == "ris":
        ids = [entry["id"] for entry in rispy.loads(text)]
    elif fmt == "bib":
        ids = [entry["key"].rsplit("-", 1)[1] for entry in parse_bibtex(text)]
        listed = [i[:6] for i in listed]
    else:
        ids = [item["id"] for item in json.loads(text)]
    assert ids == listed


def test_a_results_export_refuses_bad_parameters(client: FlaskClient) -> None:
    bad_format = client.get("/search/cite?format=docx&q=leukemia")
    assert bad_format.status_code == 400 and b"format" in bad_format.data
    bad_sort = client.get("/search/cite?format=ris&q=leukemia&sort=sideways")
    assert bad_sort.status_code == 400 and b"sort" in bad_sort.data


# --- meta tags ------------------------------------------------------------------------


def meta(soup: BeautifulSoup, name: str) -> list[str]:
    return [tag["content"] for tag in soup.find_all("meta", attrs={"name": name})]


def test_article_page_carries_highwire_tags_and_canonical_link(client: FlaskClient) -> None:
    seed = sample_article("Sadeghi", "Adoptive Cell Therapy")
    soup = BeautifulSoup(client.get(f"/article/{seed.id}").data, "html.parser")
    head = soup.head
    assert meta(head, "citation_title") == [seed.title]
    assert meta(head, "citation_author") == [f"{a.last_name}, {a.first_name}" for a in seed.authors]
    assert meta(head, "citation_publication_date") == ["2025/02/24"]
    assert meta(head, "citation_journal_title") == [seed.journal]
    assert meta(head, "citation_volume") == ["8"]
    assert meta(head, "citation_issue") == []  # written "0" in the export: no issue
    assert meta(head, "citation_firstpage") == ["39"] and meta(head, "citation_lastpage") == ["49"]
    assert meta(head, "citation_pdf_url") == [seed.pdf_url]
    assert meta(head, "citation_abstract_html_url") == [seed.web_url]
    assert head.find("link", rel="canonical")["href"] == seed.web_url
    # The download links on the page.
    links = {a.get_text(" ", strip=True).split()[0]: a["href"] for a in soup.select("p.cite a")}
    assert links == {"RIS": f"/article/{seed.id}/cite.ris", "BibTeX": f"/article/{seed.id}/cite.bib",
                     "CSL-JSON": f"/article/{seed.id}/cite.csl.json"}


def test_meta_tags_keep_accents_and_doi(client: FlaskClient, special_client: FlaskClient, special: Article) -> None:
    article = sample_article(*NON_ASCII)
    head = BeautifulSoup(client.get(f"/article/{article.id}").data, "html.parser").head
    assert meta(head, "citation_author") == [f"{a.last_name}, {a.first_name}" for a in article.authors]
    assert any("Müller" in name for name in meta(head, "citation_author"))

    head = BeautifulSoup(special_client.get(f"/article/{special.id}").data, "html.parser").head
    assert meta(head, "citation_doi") == [special.doi]
    assert meta(head, "citation_title") == [special.title]
    assert meta(head, "citation_publication_date") == ["2019/03"]
    # Without a journal page, the abstract's page is this one and no canonical link is given.
    assert meta(head, "citation_abstract_html_url") == [f"http://localhost/article/{special.id}"]
    assert head.find("link", rel="canonical") is None
