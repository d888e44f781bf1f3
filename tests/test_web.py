"""The site over the shipped sample: pages and their JSON twins, as a user sees them."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from search.documents import author_institutions
from search.ingest import read_file
from search.institution_facet import facet_values, read_rules
from search.records import Article
from search.reindex import reindex
from tests.conftest import SAMPLE
from web import create_app

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def sample_articles() -> list[Article]:
    """The sample read straight from its XML, to count things independently of the index."""
    return [r for p in sorted(SAMPLE.rglob("*.xml")) for r in read_file(p) if isinstance(r, Article)]


def html(client: FlaskClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, response.data[:500]
    return BeautifulSoup(response.data, "html.parser")


def facet_counts(result: dict, name: str) -> dict[str, int]:
    return {v["value"]: v["count"] for v in result["facets"][name]}


def mentions(article: Article, word: str) -> bool:
    """Whether any searchable text of the article has ``word`` as a whole word."""
    texts = [t.text for t in article.titles + article.abstracts] + [article.journal]
    texts += [a.name for a in article.authors] + [t.text for a in article.authors for t in a.affiliations]
    return any(re.search(rf"\b{word}\b", text, re.IGNORECASE) for text in texts)


# --- ranking and highlighting -------------------------------------------------------


def test_known_query_ranks_the_matching_article_first(client: FlaskClient) -> None:
    result = client.get("/api/search?q=adoptive+cell+therapy+pediatric+leukemia").get_json()
    assert result["hits"][0]["title"] == "Adoptive Cell Therapy in Pediatric Leukemia"
    assert result["hits"][0]["score"] > result["hits"][1]["score"]
    # Not every word is required: many articles mention only "cell" or "therapy".
    assert result["total"] > 50


def test_a_long_query_missing_one_word_still_finds_the_article(client: FlaskClient) -> None:
    words = ("adoptive cell therapy pediatric leukemia dendritic cytokines killer receptor checkpoint "
             "chimeric antigen biomarkers relapse refractory preclinical children efficacy childhood zebrafish")
    result = client.get("/api/search", query_string={"q": words}).get_json()
    assert result["hits"][0]["title"] == "Adoptive Cell Therapy in Pediatric Leukemia"


def test_highlights_mark_stemmed_variants_as_whole_words(client: FlaskClient) -> None:
    result = client.get("/api/search?q=cells").get_json()
    marked = " ".join(h["highlights"]["title"] + " " + h["highlights"]["abstract"] for h in result["hits"])
    found = {m.lower() for m in re.findall(r"<mark>([^<]+)</mark>", marked)}
    assert {"cell", "cells"} <= found
    # Whole words only: "cellular" shares a prefix but is another word.
    assert not re.search(r"<mark>cell</mark>\w", marked)


def test_phrase_exclusion_prefix_and_field_queries(client: FlaskClient, sample_articles: list[Article]) -> None:
    phrase = client.get('/api/search?q="myocardial infarction"').get_json()
    expected = sum(
        1 for a in sample_articles
        if any(re.search(r"myocardial infarctions?\b", t.text, re.I) for t in a.titles + a.abstracts)
    )
    assert phrase["total"] == expected > 0
    excluded = client.get('/api/search?q="myocardial infarction" -tuscany').get_json()
    assert excluded["total"] == phrase["total"] - 1
    assert all("Tuscany" not in h["title"] for h in excluded["hits"])
    prefixed = client.get("/api/search?q=cardio*").get_json()
    assert prefixed["total"] > client.get("/api/search?q=cardiology").get_json()["total"]
    by_author = client.get("/api/search?q=author:Sadeghi").get_json()
    assert [h["title"] for h in by_author["hits"]] == ["Adoptive Cell Therapy in Pediatric Leukemia"]
    in_title = client.get("/api/search?q=title:insanity").get_json()
    assert in_title["total"] == 1


def test_year_range_in_the_query_and_unparseable_queries(client: FlaskClient) -> None:
    ranged = client.get("/api/search?q=cell+year:2016-2025").get_json()
    assert ranged["total"] > 0 and all(2016 <= h["year"] <= 2025 for h in ranged["hits"])
    for broken in ['"unbalanced quote', "AND", "title:", "cell ::: year:abc", "-", "((cell"]:
        response = client.get("/api/search", query_string={"q": broken})
        assert response.status_code == 200, broken
        page = client.get("/search", query_string={"q": broken})
        assert page.status_code == 200, broken


def test_did_you_mean(client: FlaskClient) -> None:
    result = client.get("/api/search?q=leukmia").get_json()
    assert result["total"] == 0 and result["suggestion"] == "leukemia"
    page = html(client, "/search?q=leukmia")
    link = page.select_one(".suggestion a")
    assert link is not None and link.text == "leukemia" and "q=leukemia" in link["href"]
    assert page.select_one(".none") is not None  # the helpful no-results page


# --- facets ---------------------------------------------------------------------------


def test_facet_counts_equal_counts_made_from_the_data(client: FlaskClient, sample_articles: list[Article]) -> None:
    result = client.get("/api/search?more=institution&more=journal").get_json()
    assert result["total"] == len(sample_articles) == 605
    assert facet_counts(result, "year") == {str(y): n for y, n in Counter(a.year for a in sample_articles).items()}
    assert_top_values(facet_counts(result, "journal"), Counter(a.journal for a in sample_articles))
    assert_top_values(facet_counts(result, "institution"), institution_counts(sample_articles, sample_articles))


def institution_counts(collection: list[Article], counted: list[Article]) -> Counter[str]:
    """The institution facet's counts over ``counted``, its values grouped over ``collection``
    as the facet groups the names of one organisation (search.institution_facet)."""
    def names(article: Article) -> dict[str, None]:
        return dict.fromkeys(n for au in article.authors for n in author_institutions(au))
    value = facet_values(Counter(name for a in collection for name in names(a)), read_rules(None))
    return Counter(v for a in counted for v in dict.fromkeys(value[name] for name in names(a)))


def assert_top_values(shown: dict[str, int], counted: Counter[str]) -> None:
    """The facet shows true counts, and no value left out counts more than one shown."""
    assert shown == {name: counted[name] for name in shown}
    left_out = [n for name, n in counted.items() if name not in shown]
    assert not left_out or min(shown.values()) >= max(left_out)


def test_facet_counts_follow_the_query(client: FlaskClient, sample_articles: list[Article]) -> None:
    result = client.get("/api/search?q=malaria").get_json()
    matching = [a for a in sample_articles if mentions(a, "malaria")]
    assert result["total"] == len(matching) > 0
    assert facet_counts(result, "year") == {str(y): n for y, n in Counter(a.year for a in matching).items()}
    # A few documents of many: their institutions are gathered one by one (search.facets).
    assert len(matching) * 8 < len(sample_articles)
    assert_top_values(facet_counts(result, "institution"), institution_counts(sample_articles, matching))


def test_filters_or_within_a_facet_and_across_facets(client: FlaskClient, sample_articles: list[Article]) -> None:
    everything = client.get("/api/search?q=cell").get_json()
    years = facet_counts(everything, "year")
    one = client.get("/api/search?q=cell&year=2014").get_json()
    assert one["total"] == years["2014"] and all(h["year"] == 2014 for h in one["hits"])
    both = client.get("/api/search?q=cell&year=2014&year=2016").get_json()
    assert both["total"] == years["2014"] + years["2016"]  # OR within the year facet
    # The year facet is counted without its own filter: siblings stay visible, selected marked.
    assert facet_counts(both, "year") == years
    assert {v["value"] for v in both["facets"]["year"] if v["selected"]} == {"2014", "2016"}
    institution, count = next(iter(facet_counts(both, "institution").items()))
    narrowed = client.get("/api/search", query_string={"q": "cell", "year": ["2014", "2016"],
                                                        "institution": institution}).get_json()
    assert narrowed["total"] == count  # AND across facets
    assert all(institution in h["institutions"] and h["year"] in (2014, 2016) for h in narrowed["hits"])
    journal_name = everything["facets"]["journal"][0]["value"]
    by_journal = client.get("/api/search", query_string={"q": "cell", "journal": journal_name}).get_json()
    assert by_journal["total"] == everything["facets"]["journal"][0]["count"]


def test_year_range_filter_and_sorting(client: FlaskClient) -> None:
    ranged = client.get("/api/search?year_from=2015&year_to=2016&per_page=100").get_json()
    assert ranged["total"] == sum(n for y, n in facet_counts(ranged, "year").items() if 2015 <= int(y) <= 2016)
    newest = client.get("/api/search?q=cell&sort=newest&per_page=50").get_json()
    years = [h["year"] for h in newest["hits"]]
    assert years == sorted(years, reverse=True) and years[0] == 2025
    oldest = client.get("/api/search?q=cell&sort=oldest&per_page=50").get_json()
    assert [h["year"] for h in oldest["hits"]] == sorted(h["year"] for h in oldest["hits"])


def test_selected_facet_value_shown_by_more_than_colour(client: FlaskClient) -> None:
    page = html(client, "/search?q=cell&year=2015")
    selected = page.select(".facet li.selected a")
    assert len(selected) == 1 and selected[0]["aria-current"] == "true"
    count = facet_counts(client.get("/api/search?q=cell&year=2015").get_json(), "year")["2015"]
    assert "☑" in selected[0].text and selected[0]["aria-label"] == f"2015, {count} articles, selected"
    unselected = page.select_one(".facet li:not(.selected) a")
    assert unselected is not None and re.fullmatch(r"\d{4}, [\d,]+ articles?", unselected["aria-label"])
    chip = page.select_one(".active-filters a")
    assert chip is not None and "Year: 2015" in chip.text and "year=2015" not in chip["href"]


def test_more_institutions(client: FlaskClient) -> None:
    short = client.get("/api/search").get_json()
    assert len(short["facets"]["institution"]) == 10 and "institution" in short["truncated_facets"]
    long = client.get("/api/search?more=institution").get_json()
    assert len(long["facets"]["institution"]) > 10
    link = html(client, "/search?q=").select_one(".facet .more")
    assert link is not None and "more=institution" in link["href"]


# --- pages and their JSON twins -------------------------------------------------------


def test_page_and_api_give_the_same_hits_and_counts(client: FlaskClient) -> None:
    for query in ("q=cell+therapy&page=2", "q=cancer&year=2015&sort=newest", "q=insulin&per_page=20"):
        api = client.get(f"/api/search?{query}").get_json()
        page = html(client, f"/search?{query}")
        links = [urlsplit(a["href"]).path.rsplit("/", 1)[-1] for a in page.select(".hits .hit h2 a")]
        assert links == [h["id"] for h in api["hits"]]
        assert f"{api['total']:,} result" in page.select_one("[role=status]").text
        for facet in page.select(".facet"):
            name = facet["aria-labelledby"].removeprefix("facet-")
            shown = {li.select_one(".value").text: int(li.select_one(".n").text.replace(",", ""))
                     for li in facet.select("li")}
            assert shown == facet_counts(api, name)
        alternate = page.select_one('link[rel=alternate][type="application/json"]')
        assert alternate is not None and alternate["href"].startswith("/api/search?")


def test_pagination(client: FlaskClient) -> None:
    first = client.get("/api/search?q=cell&per_page=10").get_json()
    second = client.get("/api/search?q=cell&per_page=10&page=2").get_json()
    assert first["pages"] > 2 and len(second["hits"]) == 10
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}
    page = html(client, "/search?q=cell&page=2")
    assert page.select_one(".hits")["start"] == "11"
    assert "page=3" in page.select_one(".pages a[rel=next]")["href"]
    assert page.select_one(".pages [aria-current=page]").text == "2"


def test_article_page_and_its_json(client: FlaskClient) -> None:
    hit = client.get("/api/search?q=adoptive+leukemia").get_json()["hits"][0]
    api = client.get(f"/api/article/{hit['id']}").get_json()
    assert api["titles"][0]["text"] == hit["title"] and api["first_page"] == "39"
    assert api["authors"][0]["institutions"] == ["Tehran University of Medical Sciences"]
    page = html(client, f"/article/{hit['id']}")
    assert page.h1.text == "Adoptive Cell Therapy in Pediatric Leukemia"
    text = page.get_text(" ")
    for expected in ("Maryam Sadeghi", "Immunology and Genetics Journal", "Vol. 8", "pp. 39–49",
                     "Published 2025-02-24", "Received 2025-02-24", "Acute lymphoblastic leukemia"):
        assert expected in text
    assert page.select_one('a[href="https://igj.tums.ac.ir/index.php/igj/article/download/192/169"]')


def test_unknown_article_is_404_and_bad_parameters_are_400(client: FlaskClient) -> None:
    assert client.get("/article/0123456789abcdef").status_code == 404
    assert client.get("/article/../etc").status_code == 404
    missing = client.get("/api/article/0123456789abcdef")
    assert missing.status_code == 404 and "no article" in missing.get_json()["error"]
    for query, word in (("page=-1", "page"), ("per_page=10000", "per_page"), ("year=abc", "year"),
                        ("sort=random", "sort"), ("page=x", "page"), ("year_from=19x", "year_from")):
        api = client.get(f"/api/search?q=cell&{query}")
        assert api.status_code == 400 and word in api.get_json()["error"], query
        page = client.get(f"/search?q=cell&{query}")
        assert page.status_code == 400 and word.encode() in page.data
    assert client.get("/api/search?q=cell&per_page=100").status_code == 200
    assert client.get("/search?q=cell&per_page=100").status_code == 400  # pages offer up to 50


def test_home_page_search_landmark(client: FlaskClient) -> None:
    page = html(client, "/")
    form = page.select_one("form[role=search]")
    box = form.select_one("input#q")
    assert box.has_attr("autofocus") and page.select_one("label[for=q]") is not None
    assert page.select_one("main") is not None


def test_healthz(client: FlaskClient, tmp_path: Path) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["documents"] == 605
    assert health.get_json()["built_at"].startswith("20")
    empty = create_app(tmp_path / "no-index", {"TESTING": True}).test_client()
    assert empty.get("/healthz").status_code == 503
    assert empty.get("/api/search?q=x").status_code == 503
    assert b"reindex" in empty.get("/search?q=x").data


# --- untrusted text -------------------------------------------------------------------


@pytest.fixture
def hostile_client(tmp_path: Path) -> FlaskClient:
    return client_of_export(tmp_path, (
        "<Articles><Article><title>Scripted &lt;script&gt;alert('t')&lt;/script&gt; cells</title>"
        "<abstract>Cells &lt;script&gt;alert(1)&lt;/script&gt; and <![CDATA[<img src=x onerror=alert(2)>]]> "
        "more cells.</abstract><web_url>https://j.example/1</web_url></Article></Articles>"
    ))


def client_of_export(tmp_path: Path, export: str) -> FlaskClient:
    """The site over an index of one export file written from ``export``."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "export.xml").write_text(export)
    assert reindex([data], tmp_path / "index").ok
    return create_app(tmp_path / "index", {"TESTING": True}).test_client()


def test_script_in_query_and_in_abstract_is_shown_as_text(hostile_client: FlaskClient) -> None:
    query = "<script>alert('q')</script> cells"
    page = hostile_client.get("/search", query_string={"q": query}).data.decode()
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#39;q&#39;)&lt;/script&gt;" in page
    hit = hostile_client.get("/api/search", query_string={"q": "cells alert"}).get_json()["hits"][0]
    for fragment in hit["highlights"].values():
        assert "<script" not in fragment and "<img" not in fragment
        assert set(re.findall(r"</?(\w+)", fragment)) <= {"mark"}
    article = hostile_client.get(f"/article/{hit['id']}").data.decode()
    assert "<script>" not in article and "<img" not in article


# --- a reindex swap is served without a restart ----------------------------------------


def test_site_serves_a_new_index_after_a_swap_without_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURES / "seed-article.xml", data)
    index = tmp_path / "index"
    reindex([data], index)
    client = create_app(index, {"TESTING": True}).test_client()
    assert client.get("/api/search?q=vitamin").get_json()["total"] == 0
    first = client.get("/healthz").get_json()["generation"]
    assert client.get("/healthz").get_json()["generation"] == first  # reused, not reopened
    shutil.copy(FIXTURES / "pubmed-articleset.xml", data)
    reindex([data], index)
    assert client.get("/api/search?q=vitamin").get_json()["total"] == 1
    assert client.get("/healthz").get_json()["documents"] == 2
    assert client.get("/healthz").get_json()["generation"] != first


def test_articles_without_a_date_are_searchable_and_counted(tmp_path: Path) -> None:
    client = client_of_export(tmp_path, (
        "<Articles><Article><title>Undated wing theory</title><web_url>https://j.example/u</web_url></Article>"
        "<Article><Journal><PubDate><Year>1958</Year></PubDate></Journal><title>Dated wing theory</title>"
        "<web_url>https://j.example/d</web_url></Article></Articles>"
    ))
    result = client.get("/api/search?q=wing").get_json()
    assert result["total"] == 2 and facet_counts(result, "year") == {"1958": 1}
    newest = client.get("/api/search?q=wing&sort=newest").get_json()
    assert [h["year"] for h in newest["hits"]] == [1958, None]
