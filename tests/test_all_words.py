"""Queries of several words: how many results have them all, and a short query lists those first."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from search.ranking import ALL_WORDS_FIRST

#: The sample's words and the forms the stemmer gives them, as a reader would spot them.
FORMS = {"leukemia": r"leukemi\w*", "cell": r"cells?", "therapy": r"therap(?:y|ies)", "lung": r"lungs?",
         "cancer": r"cancers?", "mice": r"mice"}


def has_all(client: FlaskClient, article_id: str, words: list[str]) -> bool:
    """Whether the stored article has every word in one of its searched texts."""
    record = client.get(f"/api/article/{article_id}").get_json()
    texts = [t["text"] for t in record["titles"] + record["abstracts"]] + [record["journal"]]
    texts += [f"{a['first_name']} {a['last_name']}" for a in record["authors"]]
    texts += [f["text"] for a in record["authors"] for f in a["affiliations"]]
    text = "\n".join(texts)
    return all(re.search(rf"\b{FORMS[w]}\b", text, re.IGNORECASE) for w in words)


@pytest.mark.parametrize("q", ["leukemia cell therapy", "lung cancer mice"])
def test_a_short_query_lists_the_articles_with_every_word_first(client: FlaskClient, q: str) -> None:
    words = q.split()
    assert len(words) <= ALL_WORDS_FIRST
    result = client.get("/api/search", query_string={"q": q, "per_page": 100}).get_json()
    assert 0 < result["all_words"] < min(result["total"], 100)
    # Every hit has all the words exactly when it is among the first all_words hits.
    assert [has_all(client, hit["id"], words) for hit in result["hits"]] == \
        [rank < result["all_words"] for rank in range(len(result["hits"]))]


def test_leukemia_cell_therapy_says_how_many_have_all_three(client: FlaskClient) -> None:
    result = client.get("/api/search?q=leukemia+cell+therapy").get_json()
    assert result["hits"][0]["title"] == "Adoptive Cell Therapy in Pediatric Leukemia"
    page = BeautifulSoup(client.get("/search?q=leukemia+cell+therapy").data, "html.parser")
    count = " ".join(page.select_one(".count").get_text().split())
    assert count.startswith(f"{result['total']} results for leukemia cell therapy, {result['all_words']} with all the words")


def test_one_word_has_no_all_words_count_and_filters_narrow_it(client: FlaskClient) -> None:
    one = client.get("/api/search?q=leukemia").get_json()
    assert one["all_words"] is None
    assert "with all the words" not in client.get("/search?q=leukemia").get_data(as_text=True)
    every = client.get("/api/search?q=lung+cancer+mice").get_json()
    year = every["facets"]["year"][0]["value"]
    narrowed = client.get(f"/api/search?q=lung+cancer+mice&year={year}").get_json()
    assert narrowed["total"] < every["total"] and narrowed["all_words"] <= every["all_words"]


def test_a_long_query_is_ranked_as_one_list(client: FlaskClient) -> None:
    # A pasted question: its best match need not have every word, and the count is still given.
    q = "adoptive cell therapy for children with leukemia in zebrafish"
    result = client.get("/api/search", query_string={"q": q}).get_json()
    assert result["hits"][0]["title"] == "Adoptive Cell Therapy in Pediatric Leukemia"
    assert result["all_words"] == 0 and result["total"] > 50
