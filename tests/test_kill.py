"""``kill -9`` at random moments of a ``reindex``: the live index never changes its answers,
and the next run completes and cleans up (issue 10, faults)."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time
from pathlib import Path

from search import store
from search.engine import Engine
from search.query import SearchParams, run_search
from search.reindex import reindex

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample" / "medline"
COPIES = 4
KILLS = 20
QUERIES = ("cancer", "heart failure", '"breast cancer"', "cardio*", "children -adults", "author:smith", "year:2015")


def _collection(folder: Path) -> int:
    """The real sample's MEDLINE files, four times over as distinct articles (other PubMed
    ids): a few thousand articles, so a run lasts long enough to be killed anywhere."""
    folder.mkdir()
    count = 0
    for copy in range(COPIES):
        for path in sorted(SAMPLE.glob("*.xml")):
            text = re.sub(r"pubmed\.ncbi\.nlm\.nih\.gov/(\d+)", rf"pubmed.ncbi.nlm.nih.gov/{copy + 1}\1",
                          path.read_text(encoding="utf-8"))
            (folder / f"{copy}-{path.name}").write_text(text, encoding="utf-8")
            count += text.count("<Article>")
    return count


def _answers(index: Path) -> dict[str, tuple[int, list[str]]]:
    """Each query's total and its first page's articles, as the site shows them."""
    snapshot = Engine(index).snapshot()
    answers = {}
    for q in QUERIES:
        result = run_search(snapshot, SearchParams(q=q))
        answers[q] = (result.total, [hit.id for hit in result.hits])
    return answers


def test_kill_9_at_random_moments_never_changes_the_live_answers(tmp_path: Path) -> None:
    data, index = tmp_path / "data", tmp_path / "index"
    assert _collection(data) >= 2000
    started = time.monotonic()
    articles = reindex([data], index, with_meaning=False).added
    duration = time.monotonic() - started
    before = _answers(index)
    assert all(total for total, _ in before.values())

    command = [sys.executable, "-c", "from search.cli import main; main()", str(data), "--index", str(index),
               "--full", "--no-meaning"]
    rng = random.Random(10)
    killed = 0
    for _ in range(KILLS):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Anywhere from start-up to just past the run's usual end (the process's own start-up
        # comes on top, so a few land after it has finished: that must be harmless too).
        time.sleep(rng.uniform(0.0, duration * 1.2))
        killed += process.poll() is None
        process.kill()
        process.wait(timeout=60)
        assert _answers(index) == before, "the live index answered differently after a kill"
    assert killed >= KILLS // 2, f"only {killed} of {KILLS} kills landed during a run"

    summary = reindex([data], index, full=True, with_meaning=False)
    assert summary.ok and summary.added + summary.updated == articles  # completes: every article written anew
    assert _answers(index) == before
    assert not list(index.glob("building-*")), "an abandoned generation was left behind"
    assert len(list(index.glob("gen-*"))) <= store.KEEP_PREVIOUS + 1
