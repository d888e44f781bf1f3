"""The article page around one result: similar articles, the way back, authors, identifiers;
and the snippets that lead to it.  Through the Flask client on the shipped sample."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from search import store
from search.highlight import render_exponents
from search.reindex import reindex
from web import create_app
from web.pages import link_label

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent
SEED_TITLE = "Adoptive Cell Therapy in Pediatric Leukemia"
# A real MEDLINE abstract with powers of ten written 10(6) (PMID 26702369, in the sample).
EXPONENT_TITLE = "Effective recovery of highly purified CD326(+) tumor cells"


def page(client: FlaskClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, (url, response.data[:300])
    return BeautifulSoup(response.data, "html.parser")


def first_hit(client: FlaskClient, query: str, title: str) -> dict:
    hits = client.get("/api/search", query_string={"q": query}).get_json()["hits"]
    return next(h for h in hits if h["title"].startswith(title))


def article_id(href: str) -> str:
    return urlsplit(href).path.split("/")[2]


@pytest.fixture(scope="module")
def cosines(sample_index: Path) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """Brute force, independent of search.similar: every article's docnum (from Whoosh),
    and the generation's vectors and which documents may be listed (live, with a vector)."""
    generation = store.live_generation(sample_index)
    index, _ = store.open_live(sample_index)
    with index.reader() as reader:
        docnums = {fields["id"]: docnum for docnum, fields in reader.iter_docs()}
    described = json.loads((generation / "arrays.json").read_text(encoding="utf-8"))
    vectors = np.concatenate([np.load(generation / f"seg-{s['id']}-vectors.npy")
                              for s in described["segments"]]).astype(np.float64)
    allowed = np.load(generation / "live.npy") & np.load(generation / "has-vector.npy")
    return docnums, vectors, allowed


def brute_force(cosines: tuple[dict[str, int], np.ndarray, np.ndarray], article: str) -> dict[str, float]:
    """Every other listable article's cosine with ``article``'s vector, by id."""
    docnums, vectors, allowed = cosines
    own = vectors[docnums[article]]
    values = vectors @ own / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(own) + 1e-12)
    return {i: float(values[d]) for i, d in docnums.items() if allowed[d] and i != article}


# --- similar articles -----------------------------------------------------------------


def test_article_page_lists_the_ten_nearest_articles_by_cosine(client: FlaskClient, cosines) -> None:
    seed = first_hit(client, "adoptive cell therapy pediatric leukemia", SEED_TITLE)
    soup = page(client, f"/article/{seed['id']}")
    section = soup.select_one('section#similar[aria-labelledby="similar-heading"]')
    assert section.select_one("h2#similar-heading").get_text(strip=True) == "Similar articles"
    links = section.select("ol > li > a")
    listed = [article_id(a["href"]) for a in links]
    assert len(listed) == 10 and len(set(listed)) == 10
    assert seed["id"] not in listed

    expected = brute_force(cosines, seed["id"])
    best = sorted(expected.values(), reverse=True)
    found = [expected[i] for i in listed]
    # Nearest first, and no article nearer than the tenth left out (float32 products
    # against float64: equal to rounding, so only exact near-ties may swap).
    assert all(a >= b - 1e-5 for a, b in zip(found, found[1:]))
    assert np.allclose(found, best[:10], atol=1e-5)
    assert found[0] > 0.3  # a real neighbour, not noise

    # Each link opens that article, under the title shown.
    for link in links[:3]:
        assert page(client, link["href"]).h1.get_text(strip=True) == link.get_text(strip=True)

    # The JSON twin carries the same list, with the cosines as scores.
    api = client.get(f"/api/article/{seed['id']}").get_json()
    assert [h["id"] for h in api["similar"]] == listed
    assert np.allclose([h["score"] for h in api["similar"]], found, atol=2e-3)


def test_more_like_it_lists_fifty_with_a_json_twin(client: FlaskClient) -> None:
    seed = first_hit(client, "adoptive cell therapy pediatric leukemia", SEED_TITLE)
    soup = page(client, f"/article/{seed['id']}")
    more = soup.select_one("section#similar a[href*='/similar']")
    assert more is not None and "like this" in more.get_text()
    ten = [article_id(a["href"]) for a in soup.select("section#similar ol > li > a")]

    listing = page(client, more["href"])
    fifty = [article_id(a["href"]) for a in listing.select("section#similar ol > li > a")]
    assert len(fifty) == 50 and fifty[:10] == ten and seed["id"] not in fifty

    api = client.get(f"/api/article/{seed['id']}/similar").get_json()
    assert api["id"] == seed["id"] and api["title"] == SEED_TITLE and api["meaning_pending"] is False
    assert [h["id"] for h in api["hits"]] == fifty
    assert client.get("/api/article/0123456789abcdef/similar").status_code == 404
    assert client.get("/article/0123456789abcdef/similar").status_code == 404


@pytest.fixture(scope="module")
def medline_client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """Real MEDLINE XML (four citations with PMIDs and DOIs), its meaning phase not run."""
    index = tmp_path_factory.mktemp("medline-index")
    assert reindex([FIXTURES / "medline-sample.xml.gz"], index, with_meaning=False).ok
    return create_app(index, {"TESTING": True}).test_client()


def test_an_article_without_a_meaning_vector_says_so(medline_client: FlaskClient) -> None:
    hit = first_hit(medline_client, "insanity defense", "Insanity Defense")
    section = page(medline_client, f"/article/{hit['id']}").select_one("section#similar")
    assert section.select("li") == []
    assert "not computed for this article yet" in section.get_text()
    api = medline_client.get(f"/api/article/{hit['id']}/similar").get_json()
    assert api["meaning_pending"] is True and api["hits"] == []


# --- the article page ---------------------------------------------------------------------


def test_pmid_and_doi_of_a_medline_record_are_shown(medline_client: FlaskClient, client: FlaskClient) -> None:
    hit = first_hit(medline_client, "insanity defense", "Insanity Defense")
    identifiers = page(medline_client, f"/article/{hit['id']}").select_one("dl.identifiers")
    assert identifiers.select_one("dd.pmid").get_text(strip=True) == "26702167"
    doi = identifiers.select_one("dd.doi a")
    assert doi.get_text(strip=True) == "10.4103/0253-7176.168559"
    assert doi["href"] == "https://doi.org/10.4103/0253-7176.168559"
    # The sample's MEDLINE citations (export format) give the PMID only in their PubMed link.
    sample_hit = first_hit(client, "purified tumor cells lavage fluid", EXPONENT_TITLE)
    assert page(client, f"/article/{sample_hit['id']}").select_one("dd.pmid").get_text(strip=True) == "26702369"
    assert client.get(f"/api/article/{sample_hit['id']}").get_json()["pmid"] == "26702369"


def test_issue_zero_is_not_shown_as_an_issue(client: FlaskClient, medline_client: FlaskClient) -> None:
    seed = first_hit(client, "adoptive cell therapy pediatric leukemia", SEED_TITLE)
    meta = page(client, f"/article/{seed['id']}").select_one("p.meta").get_text(" ", strip=True)
    assert "Vol. 8" in meta and "no." not in meta  # the export says <Issue>0</Issue>
    hit = first_hit(medline_client, "insanity defense", "Insanity Defense")
    assert "no. 4" in page(medline_client, f"/article/{hit['id']}").select_one("p.meta").get_text(" ", strip=True)


def test_external_link_is_named_for_where_it_goes(client: FlaskClient) -> None:
    seed = first_hit(client, "adoptive cell therapy pediatric leukemia", SEED_TITLE)
    links = page(client, f"/article/{seed['id']}").select_one("p.links a")
    assert links.get_text(strip=True) == "View on igj.tums.ac.ir"
    medline = first_hit(client, "purified tumor cells lavage fluid", EXPONENT_TITLE)
    link = page(client, f"/article/{medline['id']}").select_one("p.links a")
    assert (link.get_text(strip=True), link["href"]) == ("View on PubMed", "https://pubmed.ncbi.nlm.nih.gov/26702369/")
    assert link_label("https://doi.org/10.1/x") == "View at doi.org"
    assert link_label("https://www.example.org/a") == "View on example.org"


def test_result_links_lead_back_to_the_same_results(client: FlaskClient) -> None:
    search = "/search?q=tumor+cells&year=2015&sort=newest&page=2"
    results = page(client, search)
    href = results.select_one("ol.hits h2 a")["href"]
    back = page(client, href).select_one("p.back a")
    assert back.get_text(strip=True) == "Back to the results"
    assert urlsplit(back["href"]).path == "/search"
    assert parse_qs(urlsplit(back["href"]).query) == parse_qs(urlsplit(search).query)
    # The similar articles keep the way back.
    similar = page(client, href).select_one("section#similar li a")["href"]
    assert page(client, similar).select_one("p.back a")["href"] == back["href"]
    # Reached any other way, the page offers no way back.
    assert page(client, urlsplit(href).path).select_one("p.back") is None


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example/search", "next=https://evil.example/",
                                  "q=cells&next=//evil.example", "javascript:alert(1)"])
def test_the_way_back_never_leaves_the_site(client: FlaskClient, back: str) -> None:
    seed = first_hit(client, "adoptive cell therapy pediatric leukemia", SEED_TITLE)
    link = page(client, f"/article/{seed['id']}?back={back}").select_one("p.back a")
    if link is not None:
        assert link["href"].startswith("/search?") and "evil" not in link["href"]


def test_author_names_link_to_their_articles(client: FlaskClient) -> None:
    seed = first_hit(client, "adoptive cell therapy pediatric leukemia", SEED_TITLE)
    authors = page(client, f"/article/{seed['id']}").select("ul.authors a.name")
    assert authors
    for author in authors:
        name = author.get_text(strip=True)
        query = parse_qs(urlsplit(author["href"]).query)["q"][0]
        assert query == f'author:"{name}"'
        found = client.get("/api/search", query_string={"q": query, "per_page": 100}).get_json()["hits"]
        assert seed["id"] in [h["id"] for h in found]
        assert all(name in h["authors"] for h in found)


# --- snippets -----------------------------------------------------------------------------

_QUERIES = ["leukemia cell therapy", "cells", "tumor growth mice", "patients treatment outcome", "cell* therap*"]
_SNIPPETS = """
import json, sys
from web import create_app
client = create_app(sys.argv[1], {"TESTING": True}).test_client()
print(json.dumps({q: [h["highlights"] for h in client.get("/api/search", query_string={"q": q, "per_page": 50}).get_json()["hits"]]
                  for q in json.loads(sys.argv[2])}))
"""


def test_snippets_are_the_same_in_every_process(sample_index: Path) -> None:
    def snippets(seed: str) -> dict:
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        done = subprocess.run([sys.executable, "-c", _SNIPPETS, str(sample_index), json.dumps(_QUERIES)],
                              env=env, capture_output=True, text=True, timeout=300, check=True)
        return json.loads(done.stdout)

    first, second = snippets("1"), snippets("2")
    assert first == second
    assert all(first[q] for q in _QUERIES)


def test_snippets_show_powers_of_ten_and_start_at_the_sentence(client: FlaskClient) -> None:
    hit = first_hit(client, "fraction collected purity", EXPONENT_TITLE)
    text = re.sub(r"</?mark>", "", hit["highlights"]["abstract"])
    assert "6.39 × 10⁶ (range 3.23 × 10⁵-2.53 × 10⁷)" in text
    assert "10(" not in text
    assert text.startswith("From this fraction")
    # The full abstract, on the article page and behind the results' toggle, shows them too.
    assert "7.50 × 10⁷ cells (range 4.40 × 10⁶-2.48 × 10⁸ cells)" in page(client, f"/article/{hit['id']}").get_text()
    results = page(client, "/search?q=fraction+collected+purity")
    toggle = next(li for li in results.select("li.hit") if EXPONENT_TITLE in li.h2.get_text()).select_one("details")
    assert toggle.summary.get_text(" ", strip=True).startswith("Show full abstract")
    assert "6.39 × 10⁶ (range" in toggle.get_text()


def test_render_exponents_leaves_other_parentheses() -> None:
    assert render_exponents("P = 2.31 × 10(-14), 10(3) registers") == "P = 2.31 × 10⁻¹⁴, 10³ registers"
    for text in ("Proc Natl Acad Sci 110(47):E4540", "kg/m(2)", "CD45(+) cells", "10(6.5)"):
        assert render_exponents(text) == text


def test_snippet_fragments_start_at_a_word_and_say_when_mid_sentence(client: FlaskClient) -> None:
    sentence_starts = 0
    for query in _QUERIES:
        for hit in client.get("/api/search", query_string={"q": query, "per_page": 50}).get_json()["hits"]:
            abstract = render_exponents(" ".join(a["text"] for a in client.get(f"/api/article/{hit['id']}").get_json()["abstracts"]))
            snippet = BeautifulSoup(hit["highlights"]["abstract"], "html.parser").get_text()
            opening = snippet.startswith("\u2026 ")
            fragments = snippet.removeprefix("\u2026 ").removesuffix(" \u2026").removesuffix("\u2026").split(" \u2026 ")
            for number, fragment in enumerate(fragments):
                at = abstract.find(fragment)
                assert at >= 0, (query, fragment)
                assert at == 0 or not abstract[at - 1].isalnum(), (query, fragment)
                at_sentence = at == 0 or re.search(r"[.!?][\"')\]]?\s+$", abstract[max(0, at - 4):at]) is not None
                sentence_starts += at_sentence
                if number == 0:  # an ellipsis before a snippet that starts mid-sentence, only then
                    assert opening != at_sentence, (query, snippet)
    assert sentence_starts > 100


def test_similar_leaves_out_deleted_articles_and_those_without_a_vector(tmp_path: Path) -> None:
    data, index = tmp_path / "data", tmp_path / "index"
    data.mkdir()
    for name in ("medline-sample.xml.gz", "seed-article.xml"):
        (data / name).write_bytes((FIXTURES / name).read_bytes())
    assert reindex([data], index).ok
    # The seed is deleted (its vector stays in the matrix, its docnum dead); the new
    # file's articles get no vector.
    (data / "seed-article.xml").unlink()
    (data / "pubmed-articleset.xml").write_bytes((FIXTURES / "pubmed-articleset.xml").read_bytes())
    assert reindex([data], index, with_meaning=False).ok
    generation = store.live_generation(index)
    assert not np.load(generation / "live.npy").all() and not np.load(generation / "has-vector.npy").all()

    client = create_app(index, {"TESTING": True}).test_client()
    everything = client.get("/api/search?per_page=100").get_json()["hits"]
    medline = {h["id"] for h in everything if h["journal"] != "Journal of Example Medicine"}
    assert len(medline) == 4 and SEED_TITLE not in {h["title"] for h in everything}
    for article in medline:
        similar = client.get(f"/api/article/{article}/similar").get_json()["hits"]
        assert {h["id"] for h in similar} == medline - {article}
