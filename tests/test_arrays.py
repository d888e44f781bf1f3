"""Search on the index arrays: the same answers as Whoosh's own query engine, every query
form, and a generation whose arrays are missing or damaged is refused, never served wrong.

The reference is :func:`search.ranking.build_query` run by Whoosh over the same articles
written with every field's postings, ``content`` included (which ``reindex`` leaves to the
arrays): how searches were answered before the arrays.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from flask import Flask
from whoosh.index import create_in
from whoosh.searching import Searcher

from search import store
from search.analysis import encode_localized
from search.documents import to_document
from search.engine import Engine, Snapshot
from search.query import SearchParams, _top, run_search
from search.ranking import build_query, weighting
from search.records import Article
from search.reindex import MAX_SEGMENTS, reindex
from search.schema import build_schema
from search.store import IndexMissing
from search.syntax import parse
from tests.conftest import SAMPLE
from web import create_app


@pytest.fixture(scope="module")
def snapshot(sample_index: Path) -> Snapshot:
    return Engine(sample_index).snapshot()


def title_queries(snapshot: Snapshot, count: int, seed: int = 7) -> list[str]:
    """Queries of two to five words drawn from the sample's real titles."""
    rng = random.Random(seed)
    docs = rng.sample(range(snapshot.doc_count), count)
    queries = []
    for doc in docs:
        with snapshot.reading() as searcher:
            titles = json.loads(searcher.stored_fields(doc)["record"])["titles"]
        words = [w for w in (titles[0]["text"] if titles else "").split() if w.isalpha()]
        if len(words) >= 2:
            queries.append(" ".join(rng.sample(words, min(len(words), rng.randint(2, 5)))))
    return queries


@pytest.fixture(scope="module")
def reference(snapshot: Snapshot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Searcher]:
    """The sample's articles in the same docnum order, written by Whoosh with ``content``."""
    index = create_in(tmp_path_factory.mktemp("reference"), build_schema())
    with snapshot.reading() as searcher, index.writer() as writer:
        assert searcher.doc_count() == searcher.doc_count_all()  # docnums line up
        for docnum in range(searcher.doc_count_all()):
            article = Article.from_dict(json.loads(searcher.stored_fields(docnum)["record"]))
            writer.add_document(**to_document(article),
                                content=encode_localized((t.locale, t.text) for t in article.titles + article.abstracts))
    with index.searcher(weighting=weighting()) as searcher:
        yield searcher


def whoosh_answer(searcher: Searcher, q: str, limit: int = 10) -> tuple[set[int], list[int], list[float]]:
    """What Whoosh's own engine gives for ``q``: every match, and the top ``limit`` with scores."""
    query = build_query(parse(q), searcher.schema)
    matched = set(searcher.docs_for_query(query))
    top = searcher.search(query, limit=limit)
    return matched, [hit.docnum for hit in top], [hit.score for hit in top]


def array_answer(snapshot: Snapshot, q: str, limit: int = 10) -> tuple[set[int], list[int], list[float]]:
    matches = snapshot.retriever.match(parse(q))
    docs, scores = _top(matches.scores, matches.mask, limit)
    return set(np.flatnonzero(matches.mask).tolist()), docs.tolist(), scores.tolist()


def test_word_queries_score_as_whoosh_does(snapshot: Snapshot, reference: Searcher) -> None:
    queries = title_queries(snapshot, 120)
    assert len(queries) > 100
    for q in queries:
        w_matched, w_top, w_scores = whoosh_answer(reference, q)
        a_matched, a_top, a_scores = array_answer(snapshot, q)
        assert a_matched == w_matched, q
        assert a_scores == pytest.approx(w_scores, rel=1e-5), q
        # Equal scores may fall either side of a float rounding; the ranks agree otherwise.
        assert a_top == w_top or sorted(a_scores) == pytest.approx(sorted(w_scores), rel=1e-5), q


@pytest.mark.parametrize("q", [
    "+cancer -mouse", "cancer AND therapy", "cancer OR tumour", "-cancer", "title:cancer",
    "author:smith", "journal:journal", "affiliation:university", "abstract:protein binding",
    "institution:university", "year:2015 cancer", "year:2010-2015", "+year:2016 patients",
    "\"breast cancer\"", "\"stem cells\" therapy", "cardio*", "title:pati*", "of the",
    "\"cancer breast\"", "+\"randomized controlled\" -mice",
    "li x", "michael smith", "author:\"Li X\"", "author:\"Walter de Souza\" cell",  # name keys
])
def test_every_query_form_matches_what_whoosh_matches(snapshot: Snapshot, reference: Searcher, q: str) -> None:
    w_matched, w_top, w_scores = whoosh_answer(reference, q)
    a_matched, a_top, a_scores = array_answer(snapshot, q)
    assert a_matched == w_matched
    if "*" not in q and '"' not in q:
        # Prefixes and phrases are scored as words (docs/performance.md); the rest as Whoosh,
        # but that Whoosh gives a year range (boost 0) and a query of exclusions alone a
        # constant 1, and the arrays 0: the same order.
        assert a_top == w_top
        if "year:" not in q and q != "-cancer":
            assert a_scores == pytest.approx(w_scores, rel=1e-5)


def test_phrase_is_verified_on_positions(snapshot: Snapshot) -> None:
    # Both words in most of these abstracts, side by side in fewer, and in this order in fewer still.
    words, phrase, reversed_phrase = array_answer(snapshot, "+breast +cancer")[0], \
        array_answer(snapshot, '"breast cancer"')[0], array_answer(snapshot, '"cancer breast"')[0]
    assert phrase and phrase < words
    assert reversed_phrase < words and reversed_phrase != phrase


def test_prefix_is_a_range_of_the_vocabulary(snapshot: Snapshot) -> None:
    found = run_search(snapshot, SearchParams(q="cardio*"))
    assert found.total > 0
    marked = " ".join(hit.highlights["title"] + hit.highlights["abstract"] for hit in found.hits)
    assert "<mark>cardio" in marked.lower()


def test_filters_sorts_and_pages_on_the_arrays(snapshot: Snapshot) -> None:
    everything = run_search(snapshot, SearchParams(q="patients", per_page=100))
    year = everything.facets["year"][0]
    narrowed = run_search(snapshot, SearchParams.from_args({"q": ["patients"], "year": [year.value]}))
    assert narrowed.total == year.count
    assert all(hit.year == int(year.value) for hit in narrowed.hits)
    newest = run_search(snapshot, SearchParams(q="patients", sort="newest", per_page=50))
    years = [hit.year or 0 for hit in newest.hits]
    assert years == sorted(years, reverse=True)
    first, second = (run_search(snapshot, SearchParams(q="patients", page=p)) for p in (1, 2))
    assert [h.id for h in first.hits + second.hits] == [h.id for h in everything.hits[:20]]


def test_a_misspelt_word_is_suggested_from_the_vocabulary(snapshot: Snapshot) -> None:
    found = run_search(snapshot, SearchParams(q="leukaemiaa"))
    assert found.total == 0 and found.suggestion
    assert run_search(snapshot, SearchParams(q=found.suggestion)).total > 0


def test_search_follows_deletions_of_an_incremental_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(Path(__file__).parent.parent / "data" / "sample" / "medline", data)
    index = tmp_path / "index"
    reindex([data], index)
    victim = sorted(data.glob("*.xml"))[0]
    titles = [hit.title for hit in run_search(Engine(index).snapshot(), SearchParams(per_page=100)).hits]
    before = run_search(Engine(index).snapshot(), SearchParams()).total
    removed = victim.read_text(encoding="utf-8").count("<Article>")
    victim.unlink()
    summary = reindex([data], index)
    assert summary.deleted == removed and titles
    snapshot = Engine(index).snapshot()
    assert run_search(snapshot, SearchParams()).total == before - removed
    assert int(snapshot.arrays.live.sum()) == before - removed
    # The segments the run did not write were not read again: their arrays are the old files.
    generations = sorted(index.glob("gen-*"))
    old, new = generations[-2], generations[-1]
    shared = [f.name for f in new.glob("seg-*.npy") if (old / f.name).exists()]
    assert shared and all((new / n).stat().st_ino == (old / n).stat().st_ino for n in shared)


def test_many_incremental_runs_merge_segments_and_search_as_one_build(tmp_path: Path) -> None:
    files = sorted((Path(__file__).parent.parent / "data" / "sample" / "medline").glob("*.xml"))
    first, later = files[:-(MAX_SEGMENTS + 2)], files[-(MAX_SEGMENTS + 2):]
    data = tmp_path / "data"
    data.mkdir()
    for path in first:
        shutil.copy(path, data)
    index = tmp_path / "index"
    reindex([data], index, with_meaning=False)
    counts = []
    for run, path in enumerate(later):
        shutil.copy(path, data)  # each run adds a file, so a segment
        if run == 2:
            (data / later[0].name).unlink()  # and deletes the articles of an earlier run
        reindex([data], index, with_meaning=False)
        counts.append(len(Engine(index).snapshot().arrays.segments))
    assert max(counts) == MAX_SEGMENTS and counts[-1] < MAX_SEGMENTS  # merged once, then growing again
    merged = Engine(index).snapshot()
    # The merged segments' deleted articles are gone with them.
    assert merged.arrays.live.all()
    fresh = tmp_path / "fresh"
    reindex([data], fresh, with_meaning=False)
    one = Engine(fresh).snapshot()
    assert merged.doc_count == one.doc_count
    for q in [*title_queries(one, 20), '"breast cancer"', "cardio*", "author:smith", "institution:university"]:
        a, b = (run_search(s, SearchParams(q=q, per_page=20)) for s in (merged, one))
        assert a.total == b.total, q
        assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], rel=1e-6), q
        assert a.suggestion == b.suggestion, q


@pytest.fixture
def copied_index(sample_index: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(sample_index, copy)
    return copy


@pytest.mark.parametrize("damage", ["delete", "truncate", "description"])
def test_a_generation_with_missing_or_damaged_arrays_is_refused(copied_index: Path, damage: str) -> None:
    generation = store.live_generation(copied_index)
    assert generation is not None
    victim = sorted(generation.glob("seg-*-content-docs.npy"))[0]
    if damage == "delete":
        victim.unlink()
    elif damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:-8])
    else:
        victim = generation / "arrays.json"
        victim.write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexMissing, match="cannot be served"):
        Engine(copied_index).snapshot()
    app: Flask = create_app(copied_index, {"TESTING": True})
    health = app.test_client().get("/healthz")
    assert health.status_code == 503
    assert victim.name in health.get_json()["error"] or "arrays" in health.get_json()["error"]
    assert app.test_client().get("/search?q=cancer").status_code == 503
    # The next reindex notices, though no export changed, and writes the arrays again.
    summary = reindex([Path(__file__).parent.parent / "data" / "sample"], copied_index)
    assert summary.changed
    assert run_search(Engine(copied_index).snapshot(), SearchParams(q="cancer")).total > 0


def _build_in_processes(source: Path, index: Path, articles: int, meaning: bool = True) -> Snapshot:
    """``reindex`` with a process per core, in a fresh interpreter, as `reindex` runs: forking
    this test process, whose other tests left threads (model, servers), can copy a lock
    some thread holds, and hang."""
    build = ("import sys; from pathlib import Path; from search import reindex as r; r.PARALLEL_BYTES = 0; "
             "sys.exit(r.reindex([Path(sys.argv[1])], Path(sys.argv[2]), with_meaning=sys.argv[4] == '1').added"
             " != int(sys.argv[3]))")
    subprocess.run([sys.executable, "-c", build, str(source), str(index), str(articles), str(int(meaning))],
                   check=True, timeout=600)
    return Engine(index).snapshot()


def _assert_same_results(one: Snapshot, many: Snapshot, queries: list[str]) -> None:
    for q in queries:
        a, b = (run_search(s, SearchParams(q=q, per_page=20)) for s in (one, many))
        assert b.total == a.total, q
        # The same scores in the same order; equal scores may list their articles either way.
        assert [h.score for h in b.hits] == pytest.approx([h.score for h in a.hits], rel=1e-6), q
        assert {h.id for h in b.hits[:10]} == {h.id for h in a.hits[:10]} or len(set(h.score for h in a.hits)) < 20, q
        assert b.suggestion == a.suggestion, q


def test_a_build_prepared_by_several_processes_searches_as_one_by_one(tmp_path: Path, snapshot: Snapshot) -> None:
    # A large build reads and analyses its files in a process per core (search.prepare).
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: a build prepares its files in one process")
    several = _build_in_processes(SAMPLE, tmp_path / "index", 605)
    _assert_same_results(snapshot, several, title_queries(snapshot, 30) + ['"breast cancer"', "cardio*", "author:smith",
                                                                          "leukaemiaa"])


def test_one_file_is_shared_out_among_the_processes(tmp_path: Path) -> None:
    # Fewer files than processes (one export of a whole journal): each prepares a share of it.
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: a build prepares its files in one process")
    records = [r for path in sorted((SAMPLE / "medline").glob("*.xml"))
               for r in re.findall(r"<Article>.*?</Article>", path.read_text(encoding="utf-8"), flags=re.DOTALL)]
    data = tmp_path / "data"
    data.mkdir()
    (data / "all.xml").write_text('<?xml version="1.0"?>\n<Articles>\n' + "\n".join(records) + "\n</Articles>\n",
                                  encoding="utf-8")
    reindex([data], tmp_path / "one", with_meaning=False)
    one = Engine(tmp_path / "one").snapshot()
    shared = _build_in_processes(data, tmp_path / "shared", len(records), meaning=False)
    _assert_same_results(one, shared, title_queries(one, 20) + ['"breast cancer"', "author:smith"])
