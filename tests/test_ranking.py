"""Ranking: what a relevance ordering must get right, on tiny hand-made corpora.

Each test writes a few articles in the export format, indexes them through the real
``reindex`` and searches through ``run_search``, as the site does.  The collection-level
figures are measured by ``scripts/evaluate.py`` (docs/relevance.md).
"""

from __future__ import annotations

import random
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from search.engine import Engine
from search.query import SearchParams, run_search
from search.reindex import reindex


def write_export(folder: Path, articles: list[dict], name: str = "export.xml") -> Path:
    """An export file of ``articles`` (``title``, ``abstract``, optional ``journal``, ``year``)."""
    parts = ['<?xml version="1.0"?>\n<Articles>']
    for number, article in enumerate(articles, 1):
        parts.append(
            "<Article><Journal>"
            f"<JournalTitle>{escape(article.get('journal', 'Test Journal'))}</JournalTitle>"
            f"<PubDate PubStatus=\"epublish\"><Year>{article.get('year', 2020)}</Year></PubDate></Journal>"
            f"<title locale=\"en_US\">{escape(article['title'])}</title>"
            f"<abstract locale=\"en_US\">{escape(article['abstract'])}</abstract>"
            f"<web_url>https://example.org/article/{article.get('key', number)}</web_url>"
            "</Article>")
    parts.append("</Articles>\n")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def search(tmp_path: Path, articles: list[dict], q: str, per_page: int = 10):
    data = tmp_path / "data"
    write_export(data, articles)
    summary = reindex([data], tmp_path / "index")
    assert summary.ok and summary.added == len(articles)
    return run_search(Engine(tmp_path / "index").snapshot(), SearchParams(q=q, per_page=per_page))


def keys(result) -> list[str]:
    return [hit.web_url.rsplit("/", 1)[1] for hit in result.hits]


FILLER = ("The study followed a cohort of volunteers over several years and reports the "
          "measurements taken at each visit together with the methods used.")


def test_more_of_the_query_words_rank_higher(tmp_path: Path) -> None:
    articles = [
        {"key": "one", "title": "Observations in volunteers", "abstract": f"Leukemia was seen. {FILLER}"},
        {"key": "three", "title": "Observations in volunteers",
         "abstract": f"Leukemia, relapse and cytokines were seen. {FILLER}"},
        {"key": "two", "title": "Observations in volunteers", "abstract": f"Leukemia and relapse were seen. {FILLER}"},
        {"key": "none", "title": "Observations in volunteers", "abstract": FILLER},
    ]
    result = search(tmp_path, articles, "cytokines in leukemia relapse")
    assert keys(result) == ["three", "two", "one"]


def test_a_title_match_beats_the_same_word_only_in_the_abstract(tmp_path: Path) -> None:
    articles = [
        {"key": "abstract", "title": "Findings from a cohort", "abstract": f"Asthma. {FILLER}"},
        {"key": "title", "title": "Asthma in a cohort", "abstract": f"Findings. {FILLER}"},
    ]
    result = search(tmp_path, articles, "asthma")
    assert keys(result) == ["title", "abstract"]


def test_a_long_query_finds_an_article_missing_one_of_its_words(tmp_path: Path) -> None:
    words = ("adoptive cell therapy with chimeric antigen receptor modified lymphocytes improves "
             "survival of children with relapsed refractory acute lymphoblastic leukemia after "
             "transplantation").split()
    assert len(words) >= 20
    articles = [
        # Every word of the query but "transplantation".
        {"key": "target", "title": "Cell therapy in pediatric leukemia", "abstract": " ".join(words[:-1]) + "."},
        {"key": "other", "title": "Wind tunnel tests", "abstract": f"Survival of a wing model. {FILLER}"},
    ]
    result = search(tmp_path, articles, " ".join(words))
    assert keys(result)[0] == "target"


def test_claims_with_punctuation_and_lowercase_operators_are_plain_words(tmp_path: Path) -> None:
    articles = [
        {"key": "target", "title": "Vitamin D and fracture risk",
         "abstract": f"Vitamin D supplements did not reduce fractures in older adults. {FILLER}"},
        {"key": "other", "title": "Observations in volunteers", "abstract": FILLER},
    ]
    result = search(tmp_path, articles, "Vitamin D supplements do not or and reduce fractures: a claim.")
    assert keys(result)[0] == "target"


def test_stop_words_do_not_match_names(tmp_path: Path) -> None:
    # Name fields keep every word; "of" in a journal's name must not lift its articles.
    text = {"title": "Heat transfer in pipes", "abstract": f"Heat transfer was measured. {FILLER}"}
    articles = [{"key": "annals", "journal": "Annals of Physics", **text},
                {"key": "letters", "journal": "Physics Letters", **text}]
    result = search(tmp_path, articles, "transfer of heat")
    assert len(result.hits) == 2
    assert result.hits[0].score == result.hits[1].score


@pytest.fixture
def random_corpus() -> list[dict]:
    """Enough articles for Whoosh's top-k pruning to kick in, with overlapping vocabulary."""
    rng = random.Random(4)
    vocabulary = ("pressure flow wing boundary layer heat transfer shock wave nozzle jet "
                  "cylinder plate laminar turbulent supersonic hypersonic drag lift").split()
    articles = []
    for number in range(150):
        title = " ".join(rng.choices(vocabulary, k=4))
        abstract = " ".join(rng.choices(vocabulary, k=rng.randint(10, 60)))
        articles.append({"key": str(number), "title": title, "abstract": abstract})
    return articles


@pytest.mark.parametrize("q", ["heat transfer shock -wing", "+nozzle heat transfer shock wave",
                               "jet AND nozzle heat drag", "-plate laminar flow drag lift"])
def test_required_and_excluded_words_keep_the_best_matches(tmp_path: Path, random_corpus: list[dict],
                                                           q: str) -> None:
    # Regression: Whoosh's pruning, when asked for the top few, dropped some of the best
    # matches of -word/+word queries. The first page is the head of the whole ranking.
    everything = search(tmp_path, random_corpus, q, per_page=100)
    assert everything.total > 10
    first_page = run_search(Engine(tmp_path / "index").snapshot(), SearchParams(q=q, per_page=10))
    assert [hit.id for hit in first_page.hits] == [hit.id for hit in everything.hits[:10]]
    excluded = [word[1:] for word in q.split() if word.startswith("-")]
    required = [word.lstrip("+") for word in q.split() if word.startswith("+")] + \
        [w for a, op, b in zip(q.split(), q.split()[1:], q.split()[2:]) if op == "AND" for w in (a, b)]
    for hit in first_page.hits:
        article = random_corpus[int(hit.web_url.rsplit("/", 1)[1])]
        words = set(f"{article['title']} {article['abstract']}".split())
        assert not set(excluded) & words
        assert set(required) <= words
