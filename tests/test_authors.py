"""Author search the way PubMed users type it, on the shipped sample's real names.

Expected articles are picked from the sample's records by the plain rule a reader
would apply (surname equal, given names starting with the typed initials), not by the
code under test.
"""

from __future__ import annotations

import unicodedata

import pytest
from flask.testing import FlaskClient

from search.ingest import read_file
from search.names import author_keys, query_keys
from search.records import Article, Author
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def sample_articles() -> list[Article]:
    return [r for p in sorted(SAMPLE.rglob("*.xml")) for r in read_file(p) if isinstance(r, Article)]


def plain(text: str) -> str:
    """Lower case without accents, hyphens as spaces: how a reader compares names."""
    decomposed = unicodedata.normalize("NFKD", text.replace("-", " ").casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def initials(author: Author) -> str:
    return "".join(word[0] for word in plain(author.first_name).split())


def titles_by(articles: list[Article], surname: str, wanted: str) -> set[str]:
    """Titles of articles with an author of this surname whose initials start with ``wanted``."""
    return {a.titles[0].text for a in articles
            if any(plain(au.last_name) == surname and initials(au).startswith(wanted) for au in a.authors)}


def hits(client: FlaskClient, q: str, per_page: int = 100) -> list[dict]:
    response = client.get("/api/search", query_string={"q": q, "per_page": per_page})
    assert response.status_code == 200
    return response.get_json()["hits"]


def titles(found: list[dict]) -> set[str]:
    return {hit["title"] for hit in found}


@pytest.mark.parametrize("surname, typed", [("li", "x"), ("wang", "x"), ("zhang", "w"), ("smith", "mp"),
                                            ("lee", "m"), ("shah", "nm"), ("singh", "mk")])
def test_surname_and_initials_find_those_authors_and_only_them(
        client: FlaskClient, sample_articles: list[Article], surname: str, typed: str) -> None:
    expected = titles_by(sample_articles, surname, typed)
    assert expected, "the sample has such authors"
    for q in (f"{surname} {typed}", f'author:"{surname.title()} {typed.upper()}"',
              f"{typed.upper()} {surname.title()}"):
        found = hits(client, q)
        if q.startswith("author:"):
            # A field query finds exactly these authors' articles.
            assert titles(found) == expected, q
        else:
            # Plain words also find other articles with either word, after these.
            assert titles(found[:len(expected)]) == expected, q


def test_more_initials_narrow_fewer_widen(client: FlaskClient, sample_articles: list[Article]) -> None:
    all_x = titles_by(sample_articles, "li", "x")
    xiao_nan = titles_by(sample_articles, "li", "xn")
    assert len(xiao_nan) == 1 and len(all_x) > len(xiao_nan)  # Xiao-Nan Li, Xiaoling Li, Xiayu Li
    assert titles(hits(client, 'author:"Li XN"')) == xiao_nan
    assert titles(hits(client, 'author:"Li X"')) == all_x


def test_a_full_name_finds_its_initials_only_records_but_not_namesakes(
        client: FlaskClient, sample_articles: list[Article]) -> None:
    # The sample records "W de Souza" with an initial only, and "Ana Luiza Ribeiro de Souza".
    initial_only = titles_by(sample_articles, "de souza", "w")
    ana = titles_by(sample_articles, "de souza", "a")
    assert initial_only and ana and not initial_only & ana
    assert titles(hits(client, 'author:"Walter de Souza"')) == initial_only
    assert titles(hits(client, 'author:"Ana de Souza"')) == ana
    # Smith, Michael P: his full name, with or without the middle initial, and in PubMed's order.
    michael = titles_by(sample_articles, "smith", "m")
    for q in ('author:"Michael Smith"', 'author:"Michael P Smith"', 'author:"Smith Michael"'):
        assert titles(hits(client, q)) == michael, q
    assert titles(hits(client, "michael smith")[:len(michael)]) == michael
    assert not hits(client, 'author:"John Smith"')
    assert not hits(client, 'author:"Smith J"')


@pytest.mark.parametrize("q, surname, typed", [
    ('author:"van der Heijden G"', "van der heijden", "g"),
    ("heijden g", "van der heijden", "g"),            # the particles may be left out
    ('author:"van Reenen M"', "reenen", "m"),          # the record has "Mari van" + "Reenen"
    ("ende-kastelijn k", "van der ende kastelijn", "k"),
    ('author:"Alves-Pires C"', "alves pires", "c"),
    ('author:"Müller GC"', "muller", "gc"),
    ('author:"muller s"', "muller", "s"),
    ('author:"de Sá P"', "de sa", "p"),
])
def test_particles_hyphens_and_accents(client: FlaskClient, sample_articles: list[Article],
                                       q: str, surname: str, typed: str) -> None:
    expected = titles_by(sample_articles, surname, typed)
    if surname == "reenen":
        expected = {a.titles[0].text for a in sample_articles
                    if any(au.first_name == "Mari van" and au.last_name == "Reenen" for au in a.authors)}
    assert expected
    found = hits(client, q)
    if q.startswith("author:"):
        assert titles(found) == expected
    else:
        assert titles(found[:len(expected)]) == expected


def test_muller_finds_both_mullers_and_von_muller(client: FlaskClient, sample_articles: list[Article]) -> None:
    # "Müller L" is Lutz von Müller: the particle is optional.
    lutz = titles_by(sample_articles, "von muller", "l")
    assert lutz and titles(hits(client, 'author:"Müller L"')) == lutz


def test_plain_word_search_of_names_works_as_before(client: FlaskClient, sample_articles: list[Article]) -> None:
    burlingame = {a.titles[0].text for a in sample_articles if any(au.last_name == "Burlingame" for au in a.authors)}
    assert titles(hits(client, "burlingame")) == burlingame
    assert titles(hits(client, "author:burlingame")) == burlingame
    # A phrase of the name as written still finds it.
    assert titles(hits(client, 'author:"Alma L Burlingame"')) == burlingame


def test_keys_of_a_record_and_of_a_typed_name() -> None:
    assert author_keys("Smith", "John S") == ["smith j", "smith js", "smith, john"]
    assert author_keys("Smith", "J.S.") == ["smith j", "smith js", "smith, j."]
    assert author_keys("García-López", "José") == ["garcia lopez j", "garcia lopez, jose"]
    assert "smith js" in query_keys("Smith J S") and "smith js" in query_keys("JS Smith")
    # "js" can only be initials: "smith js" never asks for an initials-only J Smith.
    assert "smith, j." not in query_keys("smith js")
    assert query_keys("smith") == [] and query_keys("covid 19") == []

