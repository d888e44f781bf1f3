"""A real browser (headless Chromium through Selenium) drives the site on its real WSGI server.

The server is waitress on an ephemeral port of 127.0.0.1, over the sample index;
nothing else is contacted.  The walk-through does what a reader does: search from
the home page, page forward, narrow by a year and then an institution, and open an
article, checking at each step what is on the screen; then the results page's
timeline, facet narrowing box and filter chips, the phone layout, a citation download,
and axe-core's WCAG 2.1 AA check of the main pages.  It also writes
``docs/screenshot-results.png`` (a results page with a facet selected and the
matches highlighted), which is kept in the repository as documentation.

Needs Debian's ``chromium`` and ``chromium-driver``, and axe-core in ``.cache/node_modules``;
``make test`` installs them.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from waitress import wasyncore
from waitress.server import create_server

from web import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshot-results.png"
#: A broad query: many results over several pages, in several years and institutions.
QUERY = "cell therapy"
WAIT = 10  # seconds; a page of the sample index renders in well under one
#: axe-core as `make axe` installs it from npm.
AXE = Path(__file__).resolve().parent.parent / ".cache" / "node_modules" / "axe-core" / "axe.min.js"
#: The rules axe runs: WCAG 2.0 and 2.1, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_url(sample_index: Path) -> Iterator[str]:
    """The site over the sample index, served by waitress as ``serve`` does, on a free port."""
    server = create_server(create_app(sample_index), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        # close() only closes the listening socket; also stop the workers and close any
        # keep-alive connections so that the loop (and the thread) ends.
        server.close()
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)
        thread.join(timeout=WAIT)


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    """Headless Chromium with a throwaway profile; fails (not skips) when it is not installed."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.fail(
            f"The browser test needs Debian's chromium and chromium-driver ({', '.join(missing)} "
            "not found). Run `make test`, which installs them (apt-get, needs root).",
            pytrace=False,
        )
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,1400",
    ):
        options.add_argument(argument)
    # An explicit driver path: Selenium Manager is never asked to download anything.
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


# --- helpers --------------------------------------------------------------------------------


def wait(driver: WebDriver) -> WebDriverWait:
    return WebDriverWait(driver, WAIT)


def navigate(driver: WebDriver, action: Callable[[], object]) -> None:
    """Do what leads to another page, and wait until that page has replaced this one."""
    old = driver.find_element(By.TAG_NAME, "html")
    action()
    wait(driver).until(EC.staleness_of(old))
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")


def follow(driver: WebDriver, link: WebElement) -> None:
    """Click a link and wait for its page."""
    navigate(driver, link.click)


def args(driver: WebDriver) -> dict[str, list[str]]:
    """The current URL's query arguments."""
    return parse_qs(urlsplit(driver.current_url).query)


def status_count(driver: WebDriver) -> int:
    """The result count the ``role=status`` line announces (0 for "No results")."""
    text = driver.find_element(By.CSS_SELECTOR, "[role=status]").text
    if text.startswith("No results"):
        return 0
    found = re.match(r"([\d,]+) results?\b", text)
    assert found, f"the status line does not start with a count: {text!r}"
    return int(found.group(1).replace(",", ""))


def facet_values(driver: WebDriver, name: str) -> dict[str, tuple[int, WebElement]]:
    """A facet's values as shown in the sidebar: value -> (count, link)."""
    section = driver.find_element(By.CSS_SELECTOR, f"nav.facets section[aria-labelledby='facet-{name}']")
    values = {}
    for link in section.find_elements(By.CSS_SELECTOR, "li a"):
        value = link.find_element(By.CSS_SELECTOR, ".value").text
        count = int(link.find_element(By.CSS_SELECTOR, ".n").text.replace(",", ""))
        values[value] = (count, link)
    return values


def selected_values(driver: WebDriver, name: str) -> list[str]:
    """The facet's values marked as selected in a way that does not rely on colour."""
    chosen = []
    for link in driver.find_elements(
            By.CSS_SELECTOR, f"nav.facets section[aria-labelledby='facet-{name}'] li a[aria-current='true']"):
        assert link.find_element(By.CSS_SELECTOR, ".mark").text == "☑"
        assert "selected" in link.find_element(By.XPATH, "..").get_attribute("class").split()
        chosen.append(link.find_element(By.CSS_SELECTOR, ".value").text)
    return chosen


def hits(driver: WebDriver) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, "ol.hits > li.hit")


def first_number(driver: WebDriver) -> int:
    """The number the results list starts counting from."""
    return int(driver.find_element(By.CSS_SELECTOR, "ol.hits").get_attribute("start"))


def title_link(hit: WebElement) -> WebElement:
    return hit.find_element(By.CSS_SELECTOR, "h2 a")


# --- tests ----------------------------------------------------------------------------------


def test_home_page_search_box_has_focus_label_and_landmark(driver: WebDriver, base_url: str) -> None:
    driver.get(base_url + "/")
    box = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "input[name=q]")))
    wait(driver).until(lambda d: d.switch_to.active_element == box)
    label = driver.find_element(By.CSS_SELECTOR, f"label[for='{box.get_attribute('id')}']")
    assert label.text.strip() and label.is_displayed()
    assert box.accessible_name == label.text.strip()
    assert box.find_elements(By.XPATH, "ancestor::*[@role='search']"), "search box outside a search landmark"
    assert driver.find_element(By.TAG_NAME, "h1").text == "Search journal articles"


def test_search_page_facets_and_article(driver: WebDriver, base_url: str) -> None:
    # Home page: the cursor is already in the search box; type and press Enter.
    driver.get(base_url + "/")
    box = wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "input[name=q]")))
    wait(driver).until(lambda d: d.switch_to.active_element == box)
    navigate(driver, lambda: driver.switch_to.active_element.send_keys(QUERY, Keys.ENTER))

    # Results: the count is announced, the query stays in the box, matches are marked.
    assert urlsplit(driver.current_url).path == "/search"
    assert args(driver)["q"] == [QUERY]
    assert driver.find_element(By.CSS_SELECTOR, "[role=status] q").text == QUERY
    total = status_count(driver)
    assert total > 10, f"{QUERY!r} should fill more than one page of the sample, got {total}"
    assert driver.find_element(By.CSS_SELECTOR, "header [role=search] input[name=q]").get_attribute("value") == QUERY
    page_one = hits(driver)
    assert len(page_one) == 10
    assert first_number(driver) == 1
    marks = driver.find_elements(By.CSS_SELECTOR, "ol.hits mark")
    assert marks and all(m.is_displayed() for m in marks[:3])
    assert {m.text.lower()[:4] for m in marks} & {"cell", "ther"}, [m.text for m in marks[:10]]
    first_title = title_link(page_one[0]).text

    # Page forward with "Next": page 2, numbering from 11, other results, same count.
    follow(driver, driver.find_element(By.CSS_SELECTOR, "nav.pages a[rel=next]"))
    assert args(driver)["page"] == ["2"] and args(driver)["q"] == [QUERY]
    assert first_number(driver) == 11
    assert driver.find_element(By.CSS_SELECTOR, "nav.pages [aria-current=page]").text == "2"
    assert driver.find_elements(By.CSS_SELECTOR, "nav.pages a[rel=prev]")
    assert status_count(driver) == total
    page_two = hits(driver)
    assert page_two and title_link(page_two[0]).text != first_title

    # Choose the largest year: the count becomes the one that year showed, and it is marked
    # selected (aria-current, ☑); choosing a filter starts again from page 1.
    years = facet_values(driver, "year")
    assert len(years) > 1 and not selected_values(driver, "year")
    year, (year_count, year_link) = max(years.items(), key=lambda item: item[1][0])
    assert 10 < year_count < total
    follow(driver, year_link)
    assert args(driver)["year"] == [year] and "page" not in args(driver)
    assert status_count(driver) == year_count
    assert selected_values(driver, "year") == [year]
    assert first_number(driver) == 1
    assert {h.find_element(By.CSS_SELECTOR, ".year").text for h in hits(driver)} == {year}
    chips = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "[aria-label='Active filters'] a")]
    assert len(chips) == 1 and chips[0].startswith(f"Year: {year}")
    assert driver.find_elements(By.CSS_SELECTOR, "ol.hits mark")

    # The screenshot for the docs: a broad query, one facet chosen, highlights in view.
    driver.execute_script("window.scrollTo(0, 0)")
    mark = driver.find_element(By.CSS_SELECTOR, "ol.hits mark")
    assert mark.location["y"] < driver.execute_script("return window.innerHeight")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.read_bytes().startswith(b"\x89PNG")

    # Then the institution with the most results in that year: AND across facets, so the
    # count is exactly the one that institution showed, and the year stays selected.
    institutions = facet_values(driver, "institution")
    assert institutions and not selected_values(driver, "institution")
    institution, (institution_count, institution_link) = max(institutions.items(), key=lambda item: item[1][0])
    assert institution_count < year_count
    follow(driver, institution_link)
    assert args(driver)["year"] == [year] and args(driver)["institution"] == [institution]
    assert status_count(driver) == institution_count
    assert selected_values(driver, "institution") == [institution]
    assert selected_values(driver, "year") == [year]
    narrowed = hits(driver)
    assert len(narrowed) == institution_count  # one page
    assert {h.find_element(By.CSS_SELECTOR, ".year").text for h in narrowed} == {year}
    chips = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "[aria-label='Active filters'] a")]
    assert len(chips) == 2 and chips[1].startswith(f"Institution: {institution}")

    # Open an article (one with authors and a snippet) by its title.
    hit = next(h for h in narrowed if h.find_elements(By.CSS_SELECTOR, ".authors")
               and h.find_elements(By.CSS_SELECTOR, ".snippet"))
    title = title_link(hit).text
    href = title_link(hit).get_attribute("href")
    first_author = hit.find_element(By.CSS_SELECTOR, ".authors").text.split(", ")[0]
    snippet = hit.find_element(By.CSS_SELECTOR, ".snippet").text
    follow(driver, title_link(hit))
    assert driver.current_url == href and urlsplit(href).path.startswith("/article/")
    assert driver.find_element(By.TAG_NAME, "h1").text == title
    assert driver.title.startswith(title)
    names = [n.text for n in driver.find_elements(
        By.CSS_SELECTOR, "section[aria-labelledby=authors-heading] .authors .name")]
    assert first_author in names
    abstract = driver.find_element(By.CSS_SELECTOR, "section.abstract p").text
    assert abstract
    # The snippet is made of pieces of the abstract (separated by "…" when cut).
    pieces = [p.strip() for p in snippet.split("…") if len(p.strip()) > 20]
    assert pieces and all(p in abstract for p in pieces), (pieces, abstract[:200])


def test_no_match_says_so_and_offers_help(driver: WebDriver, base_url: str) -> None:
    driver.get(base_url + "/search?q=zzxqvwk")
    wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[role=status]")))
    assert status_count(driver) == 0
    assert driver.find_element(By.CSS_SELECTOR, ".none h2").text == "Nothing matched"
    assert not hits(driver)


# --- the results page around the hits -------------------------------------------------------


def visible_values(driver: WebDriver, name: str) -> list[str]:
    """The values of a facet's list a reader sees (narrowing hides the others)."""
    return [li.get_attribute("data-value") for li in driver.find_elements(By.CSS_SELECTOR, f"#values-{name} > li")
            if li.is_displayed()]


def test_timeline_bar_filters_to_its_year_and_keeps_the_range(driver: WebDriver, base_url: str) -> None:
    driver.get(base_url + f"/search?q={QUERY}&year_from=2010&year_to=2016")
    bars = driver.find_elements(By.CSS_SELECTOR, ".timeline svg a rect.bar")
    assert len(bars) > 2 and all(b.is_displayed() for b in bars)
    tallest = max(bars, key=lambda b: int(b.get_attribute("height")))
    link = tallest.find_element(By.XPATH, "..")
    year, count = link.find_element(By.TAG_NAME, "title").get_attribute("textContent").split(": ")
    navigate(driver, tallest.click)
    assert args(driver)["year"] == [year] and args(driver)["year_from"] == ["2010"] and args(driver)["year_to"] == ["2016"]
    assert status_count(driver) == int(count.split()[0].replace(",", ""))
    assert {h.find_element(By.CSS_SELECTOR, ".year").text for h in hits(driver)} == {year}
    assert "selected" in driver.find_element(
        By.CSS_SELECTOR, ".timeline svg a rect.bar.selected").get_attribute("class")


def test_facet_box_narrows_the_list_as_you_type(driver: WebDriver, base_url: str) -> None:
    driver.get(base_url + "/search?q=cell&more=institution")
    url = driver.current_url
    every = visible_values(driver, "institution")
    assert len(every) > 10
    box = driver.find_element(By.ID, "narrow-institution")
    box.send_keys("UNIV")
    wait(driver).until(lambda d: len(visible_values(d, "institution")) < len(every))
    shown = visible_values(driver, "institution")
    assert shown == [v for v in every if "univ" in v.lower()] and shown
    assert driver.current_url == url  # narrowed in place, no new page
    box.send_keys("zzqx")
    wait(driver).until(lambda d: not visible_values(d, "institution"))
    assert driver.find_element(By.ID, "values-institution-none").is_displayed()


def test_removing_a_chip_drops_that_filter_and_clear_all_keeps_the_query(driver: WebDriver, base_url: str) -> None:
    driver.get(base_url + f"/search?q={QUERY}&year=2015")
    institution = max(facet_values(driver, "institution").items(), key=lambda item: item[1][0])[0]
    follow(driver, facet_values(driver, "institution")[institution][1])
    chips = driver.find_elements(By.CSS_SELECTOR, "ul.active-filters a")
    assert [c.text.rstrip(" ×") for c in chips] == ["Year: 2015", f"Institution: {institution}"]
    follow(driver, chips[1])
    assert args(driver) == {"q": [QUERY], "year": ["2015"]}
    assert selected_values(driver, "institution") == [] and selected_values(driver, "year") == ["2015"]
    follow(driver, driver.find_element(By.LINK_TEXT, "Clear all filters"))
    assert args(driver) == {"q": [QUERY]}
    assert not driver.find_elements(By.CSS_SELECTOR, "ul.active-filters")


def test_phone_layout_keeps_the_button_and_puts_results_before_the_filters(driver: WebDriver, base_url: str) -> None:
    size = driver.get_window_size()
    driver.set_window_size(390, 844)
    try:
        driver.get(base_url + "/")
        width = driver.execute_script("return document.documentElement.clientWidth")
        button = driver.find_element(By.CSS_SELECTOR, ".home button[type=submit]")
        assert button.is_displayed() and button.rect["x"] + button.rect["width"] <= width
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width
        driver.get(base_url + f"/search?q={QUERY}")
        summary = driver.find_element(By.CSS_SELECTOR, "details.filters > summary")
        assert summary.is_displayed() and not driver.find_element(By.CSS_SELECTOR, "nav.facets").is_displayed()
        first = hits(driver)[0]
        assert first.rect["y"] < driver.execute_script("return window.innerHeight")
        summary.click()
        assert driver.find_element(By.CSS_SELECTOR, "nav.facets").is_displayed()
    finally:
        driver.set_window_size(size["width"], size["height"])


# --- the article page -------------------------------------------------------------------------


def open_first_article(driver: WebDriver, base_url: str) -> None:
    driver.get(base_url + f"/search?q={QUERY}")
    follow(driver, title_link(hits(driver)[0]))


def test_citation_download(driver: WebDriver, base_url: str) -> None:
    open_first_article(driver, base_url)
    link = driver.find_element(By.CSS_SELECTOR, "p.cite a[href$='cite.ris']")
    assert link.get_attribute("download") is not None
    with urllib.request.urlopen(link.get_attribute("href"), timeout=WAIT) as response:
        assert response.headers.get_content_type() == "application/x-research-info-systems"
        assert response.read().decode().splitlines()[0].strip() == "TY  - JOUR"


def test_similar_articles_open_another_article(driver: WebDriver, base_url: str) -> None:
    open_first_article(driver, base_url)
    here = driver.current_url
    section = driver.find_element(By.CSS_SELECTOR, "section#similar[aria-labelledby]")
    heading = driver.find_element(By.ID, section.get_attribute("aria-labelledby"))
    assert heading.text
    link = section.find_element(By.CSS_SELECTOR, "ol > li > a")
    title = link.text
    follow(driver, link)
    assert urlsplit(driver.current_url).path.startswith("/article/") and driver.current_url != here
    assert driver.find_element(By.TAG_NAME, "h1").text == title


# --- accessibility ------------------------------------------------------------------------------


def axe_violations(driver: WebDriver) -> list[str]:
    """axe-core's WCAG 2.1 A and AA violations on the current page, one readable line each."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} not found: run `make axe` (npm install of axe-core).", pytrace=False)
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(r.violations.map(v => `${v.id} (${v.impact}): ${v.help}\\n    ` +"
        " v.nodes.map(n => n.target.join(' ') + ' - ' + n.failureSummary.replace(/\\s+/g, ' ')).join('\\n    '))))"
        ".catch(e => done(['axe failed: ' + e]));",
        AXE_TAGS,
    )
    return found


@pytest.mark.parametrize("path", ["/", f"/search?q={QUERY}&year=2015&more=institution", "article"])
def test_axe_finds_no_wcag_violation(driver: WebDriver, base_url: str, path: str) -> None:
    if path == "article":
        open_first_article(driver, base_url)
    else:
        driver.get(base_url + path)
    violations = axe_violations(driver)
    assert not violations, f"{driver.current_url}:\n" + "\n".join(violations)
