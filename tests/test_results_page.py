"""The results page around the hits (issue 12): the year timeline, narrowing a long facet,
the active filters as chips, empty results, the page title, and the hits' languages."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from search.languages import direction, language_tag
from search.reindex import reindex
from web import create_app
from web.results_view import fold

FIXTURES = Path(__file__).parent / "fixtures"


def html(client: FlaskClient, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, response.data[:500]
    return BeautifulSoup(response.data, "html.parser")


def query_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def hit_years(page: BeautifulSoup) -> set[str]:
    return {span.text for span in page.select("ol.hits .year")}


def facet_list(page: BeautifulSoup, name: str) -> list[str]:
    return [li["data-value"] for li in page.select(f"#values-{name} > li")]


# --- the year timeline --------------------------------------------------------------------


def test_timeline_table_holds_the_year_facets_counts(client: FlaskClient) -> None:
    years = client.get("/api/search?q=cell+therapy").get_json()["facets"]["year"]
    page = html(client, "/search?q=cell+therapy")
    timeline = page.select_one(".timeline")
    assert timeline.select_one("svg")["aria-hidden"] == "true"
    rows = {tr.th.text: int(tr.td.text) for tr in timeline.select("table tbody tr")}
    assert rows == {v["value"]: v["count"] for v in years}
    # One bar per year between the first and the last, taller for more articles.
    bars = {a.title.text.split(":")[0]: a.select_one("rect.bar") for a in timeline.select("svg a")}
    assert set(bars) == set(rows)
    busiest, quietest = max(rows, key=rows.get), min(rows, key=rows.get)
    assert int(bars[busiest]["height"]) > int(bars[quietest]["height"]) > 0


def test_a_bar_filters_to_its_year_and_keeps_the_range(client: FlaskClient) -> None:
    page = html(client, "/search?q=cell+therapy&year_from=2010&year_to=2015")
    links = page.select(".timeline svg a")
    assert links
    for link in links:
        year = link.title.text.split(":")[0]
        assert query_of(link["href"]) == {"q": ["cell therapy"], "year_from": ["2010"], "year_to": ["2015"],
                                          "year": [year]}
    link = max(links, key=lambda a: int(a.select_one("rect.bar")["height"]))
    year, count = link.title.text.split(": ")
    followed = html(client, link["href"])
    assert hit_years(followed) == {year.strip()}
    assert followed.select_one("[role=status]").text.split()[0] == count.split()[0]


def test_the_range_and_the_selected_year_are_marked(client: FlaskClient) -> None:
    page = html(client, "/search?q=cell+therapy&year_from=2012&year=2014")
    timeline = page.select_one(".timeline")
    assert "narrowed" in timeline["class"]
    states = {tr.th.text: tr.select("td")[1].text for tr in timeline.select("tbody tr")}
    assert states["2014"] == "selected" and states["2015"] == "in range" and states["2010"] == "outside the range"
    assert "range 2012–… selected" in timeline.caption.text
    # Out of the range, a bar is drawn apart and is no link (it would find nothing).
    linked = {a.title.text.split(":")[0] for a in timeline.select("svg a")}
    assert "2010" not in linked and {"2014", "2015"} <= linked
    assert "selected" in timeline.select_one("svg a[href] rect.bar.selected")["class"]
    # The selected year's bar takes the year off again, the range stays.
    selected = next(a for a in timeline.select("svg a") if a.title.text.startswith("2014"))
    assert query_of(selected["href"]) == {"q": ["cell therapy"], "year_from": ["2012"]}


# --- narrowing a long facet ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["institution", "journal"])
def test_the_more_list_has_a_box_that_narrows_it_without_script(client: FlaskClient, name: str) -> None:
    full = html(client, f"/search?q=cell&more={name}")
    values = facet_list(full, name)
    box = full.select_one(f"form.narrow input#narrow-{name}")
    assert box is not None and box["data-narrows"] == f"values-{name}"
    assert full.select_one(f"label[for=narrow-{name}]").text
    # The form sends the search's parameters along with the box's.
    form = box.find_parent("form")
    sent = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    assert sent == {"q": "cell", "more": name}
    word = "univ" if name == "institution" else "journal"
    wanted = [v for v in values if word in v.lower()]
    assert 0 < len(wanted) < len(values)
    narrowed = html(client, f"/search?q=cell&more={name}&{box['name']}={word.upper()}")
    assert facet_list(narrowed, name) == wanted
    assert narrowed.select_one(f"#narrow-{name}")["value"] == word.upper()
    assert narrowed.select_one(f"#values-{name}-none").has_attr("hidden")
    nothing = html(client, f"/search?q=cell&more={name}&{box['name']}=zzqx")
    assert facet_list(nothing, name) == [] and not nothing.select_one(f"#values-{name}-none").has_attr("hidden")


def test_the_short_lists_have_no_box_and_the_page_links_its_script(client: FlaskClient) -> None:
    page = html(client, "/search?q=cell")
    assert not page.select("form.narrow")
    script = page.select_one("head script[src]")
    response = client.get(script["src"])
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert b"input[data-narrows]" in response.data and b"matchMedia" in response.data
    response.close()  # the file stays open until then


def test_narrowing_ignores_case_and_accents() -> None:
    assert fold("Universität Zürich") == fold("UNIVERSITAT ZURICH") == "universitat zurich"


# --- active filters -------------------------------------------------------------------------


def test_each_chip_drops_exactly_its_filter_and_clear_all_keeps_the_query(client: FlaskClient) -> None:
    institution = client.get("/api/search?q=cell&year=2015").get_json()["facets"]["institution"][0]["value"]
    url = f"/search?q=cell&sort=newest&year=2015&year=2014&institution={institution}&year_from=2010&year_to=2016"
    page = html(client, url)
    asked = query_of(url)
    chips = page.select("ul.active-filters a")
    assert [c.text.replace("×", "").strip() for c in chips] == [
        "Year: 2015", "Year: 2014", f"Institution: {institution}", "Years: 2010–2016"]
    expected = [
        dict(asked, year=["2014"]), dict(asked, year=["2015"]),
        {k: v for k, v in asked.items() if k != "institution"},
        {k: v for k, v in asked.items() if k not in ("year_from", "year_to")},
    ]
    assert [query_of(c["href"]) for c in chips] == expected
    assert all(c["aria-label"].startswith("Remove filter ") for c in chips)
    cleared = page.select_one(".chips a.clear")
    assert query_of(cleared["href"]) == {"q": ["cell"], "sort": ["newest"]}
    assert not html(client, cleared["href"]).select("ul.active-filters")


# --- empty results --------------------------------------------------------------------------


def test_empty_results_show_no_facets_nor_sorts_but_the_filters_to_remove(client: FlaskClient) -> None:
    page = html(client, "/search?q=zzxqvwk&year=2015")
    assert page.select_one("[role=status]").text.split()[:2] == ["No", "results"]
    assert not page.select("nav.facets") and not page.select("#sort") and not page.select(".filters")
    assert [c.text.replace("×", "").strip() for c in page.select("ul.active-filters a")] == ["Year: 2015"]


def test_did_you_mean_is_offered_once(client: FlaskClient) -> None:
    page = html(client, "/search?q=leukemai")
    assert page.select_one("[role=status]").text.split()[:2] == ["No", "results"]
    offers = [a for a in page.select("main a") if query_of(a["href"]).get("q") == ["leukemia"]]
    assert len(offers) == 1 and "Did you mean" in offers[0].parent.text


# --- the page's labels and title ------------------------------------------------------------


def test_title_says_query_count_page_and_filters(client: FlaskClient) -> None:
    def title(url: str) -> str:
        return html(client, url).title.text

    total = client.get("/api/search?q=cell").get_json()["total"]
    plain = title("/search?q=cell")
    assert plain == f"“cell” – {total:,} results – Abstract search"
    assert title("/search?q=cell&page=2") == f"“cell” – {total:,} results, page 2 of {-(-total // 10)} – Abstract search"
    year_total = client.get("/api/search?q=cell&year=2015").get_json()["total"]
    assert title("/search?q=cell&year=2015") == f"“cell” – {year_total:,} results – Year: 2015 – Abstract search"
    assert title("/search?q=zzxqvwk").startswith("“zzxqvwk” – no results")
    assert title("/search").startswith("All articles – 605 results")


def test_year_range_inputs_are_a_labelled_group(client: FlaskClient) -> None:
    fieldset = html(client, "/search?q=cell").select_one("form.range fieldset")
    assert fieldset.legend.text.strip() and {i["name"] for i in fieldset.select("input")} == {"year_from", "year_to"}


def test_search_boxes_follow_the_direction_of_their_text(client: FlaskClient) -> None:
    for url in ("/", "/search?q=cell"):
        assert html(client, url).select_one("input[name=q]")["dir"] == "auto"


def test_filters_come_before_the_results_behind_one_control(client: FlaskClient) -> None:
    page = html(client, "/search?q=cell")
    layout = page.select_one(".layout")
    order = [child["class"][0] for child in layout.find_all(recursive=False)]
    assert order == ["summary", "filters", "results"]
    details = layout.select_one("details.filters")
    assert details.summary.text.strip() == "Filters" and not details.has_attr("open")
    assert details.select_one("nav.facets")
    assert html(client, "/search?q=cell&year=2015").select_one("details.filters summary").text == "Filters (1 selected)"


# --- languages of the hits ------------------------------------------------------------------


def test_english_hits_carry_their_language(client: FlaskClient) -> None:
    page = html(client, "/search?q=cell")
    hit = page.select_one("ol.hits li.hit")
    assert hit.h2["lang"] == "en-US" and hit.h2["dir"] == "auto"
    assert hit.select_one(".snippet")["lang"] == "en-US"


@pytest.fixture(scope="module")
def persian_client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    data = tmp_path_factory.mktemp("persian-data")
    shutil.copy(FIXTURES / "persian-article.xml", data)
    index = tmp_path_factory.mktemp("persian-index")
    assert reindex([data], index, with_meaning=False).ok
    return create_app(index, {"TESTING": True}).test_client()


def test_persian_hits_are_marked_right_to_left(persian_client: FlaskClient) -> None:
    page = html(persian_client, "/search?q=عفونت")
    hits = {h.select_one("h2 a")["href"]: h for h in page.select("ol.hits li.hit")}
    assert len(hits) == 1
    hit = next(iter(hits.values()))
    assert (hit.h2["lang"], hit.h2["dir"]) == ("fa-IR", "rtl")
    assert (hit.select_one(".snippet")["lang"], hit.select_one(".snippet")["dir"]) == ("fa-IR", "rtl")
    english = html(persian_client, "/search?q=hospital").select_one("ol.hits li.hit")
    assert (english.h2["lang"], english.h2["dir"]) == ("en-US", "auto")
    # Abstracts in two languages: the snippet may join pieces of both, so it claims neither.
    both = html(persian_client, "/search?q=diabetes").select_one("ol.hits li.hit")
    assert both.h2["lang"] == "en-US"
    assert not both.select_one(".snippet").has_attr("lang") and both.select_one(".snippet")["dir"] == "auto"


@pytest.mark.parametrize("locale, tag, way", [
    ("en_US", "en-US", "auto"), ("fa_IR", "fa-IR", "rtl"), ("per", "fa", "rtl"), ("ar", "ar", "rtl"),
    (None, None, "auto"), ("", None, "auto"),
])
def test_locales_become_html_language_tags(locale: str | None, tag: str | None, way: str) -> None:
    assert language_tag(locale) == tag and direction(locale) == way
