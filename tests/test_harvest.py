"""Harvesting through the JSON API: cursor walks over every result, and how deep page numbers reach."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from search.config import Settings
from search.ingest import read_file
from search.records import Article
from search.reindex import reindex
from tests.conftest import SAMPLE
from web import create_app

FIXTURES = Path(__file__).parent / "fixtures"
WINDOW = Settings().max_result_window


def walk(client: FlaskClient, query: str) -> tuple[list[dict], int]:
    """Every hit of a cursor walk of ``/api/search?query``, in order, and the pages it took."""
    hits: list[dict] = []
    cursor, pages = "*", 0
    while cursor is not None:
        response = client.get(f"/api/search?{query}&cursor={quote(cursor)}")
        assert response.status_code == 200, response.data[:300]
        answer = response.get_json()
        hits += answer["hits"]
        pages += 1
        cursor = answer.get("next_cursor")
        assert pages <= answer["total"] + 1, "the walk does not end"
    return hits, pages


def by_page_numbers(client: FlaskClient, query: str) -> list[dict]:
    """Every hit of ``/api/search?query``, page by page number, 100 a page."""
    hits: list[dict] = []
    page, pages = 1, 1
    while page <= pages:
        answer = client.get(f"/api/search?{query}&per_page=100&page={page}").get_json()
        hits += answer["hits"]
        pages, page = answer["pages"], page + 1
    return hits


def ids(hits: list[dict]) -> list[str]:
    return [h["id"] for h in hits]


@pytest.mark.parametrize("query", ["q=cell&per_page=7", "q=cancer+therapy&per_page=13", "q=patients&per_page=100"])
def test_a_walk_gives_every_result_once_in_the_order_users_see(client: FlaskClient, query: str) -> None:
    total = client.get(f"/api/search?{query}").get_json()["total"]
    walked, pages = walk(client, query)
    assert total > 100  # past the head re-ranked by meaning
    assert len(walked) == total and len(set(ids(walked))) == total
    # The same order as the pages by number, meaning re-rank included, so the same scores.
    numbered = by_page_numbers(client, query)
    assert ids(walked) == ids(numbered)
    assert [h["score"] for h in walked] == [h["score"] for h in numbered]
    per_page = int(query.rsplit("=", 1)[1])
    assert pages == -(-total // per_page)  # the last page carries no next_cursor, nor an empty page after it


def test_a_walk_by_date_covers_every_article_newest_first(client: FlaskClient) -> None:
    walked, _ = walk(client, "sort=newest&per_page=50")
    sample = [r for p in sorted(SAMPLE.rglob("*.xml")) for r in read_file(p) if isinstance(r, Article)]
    assert len(walked) == len(set(ids(walked))) == len(sample)
    assert sorted(h["web_url"] for h in walked) == sorted(a.web_url for a in sample)
    dates = [h["published"] or "" for h in walked]
    # Dates known to the day, month or year compare by what they give; undated articles come last.
    assert all(later[:len(earlier)] <= earlier[:len(later)] or not later for earlier, later in zip(dates, dates[1:]))
    assert ids(walked) == ids(by_page_numbers(client, "sort=newest"))


def test_a_walk_through_equal_scores_skips_and_repeats_nothing(client: FlaskClient) -> None:
    walked, _ = walk(client, "q=year:2015&per_page=9")
    sample = [r for p in sorted(SAMPLE.rglob("*.xml")) for r in read_file(p) if isinstance(r, Article)]
    of_2015 = sorted(a.web_url for a in sample if a.published and a.published.year == 2015)
    assert len({h["score"] for h in walked}) == 1 and len(walked) > 100  # all tied, across the head
    assert sorted(h["web_url"] for h in walked) == of_2015
    assert len(set(ids(walked))) == len(walked)
    assert ids(walked) == ids(by_page_numbers(client, "q=year:2015"))


def test_a_walk_with_filters_and_one_without_results(client: FlaskClient) -> None:
    filtered, _ = walk(client, "q=cell&year=2015&per_page=5")
    assert {h["year"] for h in filtered} == {2015}
    assert len(filtered) == client.get("/api/search?q=cell&year=2015").get_json()["total"]
    empty = client.get("/api/search?q=zzqqxx&cursor=*").get_json()
    assert empty["hits"] == [] and "next_cursor" not in empty
    assert "next_cursor" not in client.get("/api/search?q=cell").get_json()  # pages by number have none


@pytest.mark.parametrize(("cursor", "said"), [
    ("nonsense", "not one this API gave"),
    ("", "not one this API gave"),
    ("WyJhIiwiYiIsLTFd", "not one this API gave"),  # ["a","b",-1]
    ("WyJhIiwiYiIsdHJ1ZV0", "not one this API gave"),  # ["a","b",true]
    ("WyJhIiwiYiIsOTk5OTk5OTk5OTk5OTk5OTk5OTld", "not one this API gave"),  # a docnum past the index
    ("eyJhIjoxLCJiIjoyLCJjIjozfQ", "not one this API gave"),  # {"a":1,"b":2,"c":3}
    ("ImFiYyI", "not one this API gave"),  # "abc"
    ("W1tb" * 200, "not one this API gave"),  # 600 brackets deep
    ("é", "not one this API gave"),
])
def test_a_cursor_the_api_did_not_give_is_a_400(client: FlaskClient, cursor: str, said: str) -> None:
    response = client.get("/api/search", query_string={"q": "cell", "cursor": cursor})
    assert response.status_code == 400 and said in response.get_json()["error"]
    assert "cursor=*" in response.get_json()["error"]


def test_a_cursor_belongs_to_its_search(client: FlaskClient) -> None:
    cursor = client.get("/api/search?q=cell&cursor=*").get_json()["next_cursor"]
    assert client.get("/api/search", query_string={"q": "cell", "cursor": cursor, "per_page": 20}).status_code == 200
    for changed in ({"q": "cancer"}, {"q": "cell", "sort": "newest"}, {"q": "cell", "year": 2015}):
        response = client.get("/api/search", query_string={**changed, "cursor": cursor})
        assert response.status_code == 400 and "another search" in response.get_json()["error"]
    response = client.get("/api/search", query_string={"q": "cell", "cursor": cursor, "page": 2})
    assert response.status_code == 400 and "page cannot go with cursor" in response.get_json()["error"]


def test_a_cursor_of_a_replaced_generation_is_a_400(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURES / "medline-sample-export.xml", data)
    index = tmp_path / "index"
    reindex([data], index, with_meaning=False)
    client = create_app(index, {"TESTING": True}).test_client()
    first = client.get("/api/search?per_page=1&cursor=*").get_json()
    assert first["total"] > 1
    reindex([data], index, full=True, with_meaning=False)
    response = client.get("/api/search", query_string={"per_page": 1, "cursor": first["next_cursor"]})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert first["generation"] in error and "start the walk again with cursor=*" in error


# --- how deep page numbers reach ---------------------------------------------------------


def test_page_numbers_reach_the_result_window_and_no_further(client: FlaskClient) -> None:
    last = WINDOW // 100
    assert client.get(f"/api/search?q=cell&per_page=100&page={last}").status_code == 200
    response = client.get(f"/api/search?q=cell&per_page=100&page={last + 1}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert f"{WINDOW:,}" in error and "SEARCH_MAX_RESULT_WINDOW" in error and "cursor=*" in error
    assert client.get(f"/search?q=cell&per_page=50&page={WINDOW // 50}").status_code == 200
    page = client.get(f"/search?q=cell&per_page=50&page={WINDOW // 50 + 1}")
    assert page.status_code == 400
    said = BeautifulSoup(page.data, "html.parser").main.get_text()
    assert "narrow the search" in said and f"{WINDOW:,}" in said


def test_the_result_window_is_configured_by_the_environment(client: FlaskClient,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCH_MAX_RESULT_WINDOW", "30")
    answer = client.get("/api/search?q=cell&page=3").get_json()
    assert answer["total"] > 30 and answer["pages"] == 3 and len(answer["hits"]) == 10
    assert client.get("/api/search?q=cell&page=4").status_code == 400
    third = BeautifulSoup(client.get("/search?q=cell&page=3").data, "html.parser")
    assert third.select_one(".pages [aria-current=page]").text == "3"
    assert third.select_one(".pages a[rel=next]") is None  # no link to a page that would be refused
    walked, _ = walk(client, "q=cell&per_page=20")  # a cursor walks past the window
    assert len(walked) == answer["total"]


@pytest.mark.parametrize("value", ["0", "-5", "many", "1.5"])
def test_a_bad_result_window_names_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="SEARCH_MAX_RESULT_WINDOW"):
        Settings.from_env({"SEARCH_MAX_RESULT_WINDOW": value})
    assert Settings.from_env({"SEARCH_MAX_RESULT_WINDOW": "500"}).max_result_window == 500
