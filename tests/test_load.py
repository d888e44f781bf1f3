"""8 clients against ``serve`` (waitress, as in production) while ``reindex --full`` swaps
in a new generation twice: no failed request, every response whole and from one generation.
``scripts/load_during_reindex.py`` is the same for longer runs."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import load_during_reindex as load  # noqa: E402


def test_no_failed_or_mixed_response_while_reindex_swaps_generations(tmp_path: Path) -> None:
    report = load.run(tmp_path, articles=450, swaps=2, clients=8, workers=2, settle_seconds=1.0, limit=2000)
    print(report.summary())
    assert report.failures() == []
    assert len(report.swaps) == 2 and len(report.articles) == 3
    # Each generation answered, and its counts were checked against it, during the run.
    for generation, articles in report.articles.items():
        checked = [s for s in report.samples if s.generation == generation and s.count is not None]
        assert len(checked) >= 5 and {s.count for s in checked} == {articles}, generation
    assert len({s.url.split("?")[0] for s in report.samples}) >= 5  # pages, API, article, health
    assert report.latency()["during reindex"] and report.latency()["just after a swap"]


def test_the_check_catches_a_response_of_another_generation() -> None:
    report = load.Report(articles={"gen-a": 10, "gen-b": 20})
    report.samples = [load.Sample("/healthz", 0.0, 0.01, 200, "gen-a", 10),
                      load.Sample("/api/search?q=x", 0.0, 0.01, 200, "gen-b", 10),
                      load.Sample("/search", 0.0, 0.01, 200, "gen-c"),
                      load.Sample("/", 0.0, 0.01, 503)]
    failed = report.failures()
    assert len(failed) == 3
    assert "gen-b has 20" in failed[0] and "unknown generation" in failed[1] and "503" in failed[2]
