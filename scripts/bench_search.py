"""Benchmark: indexing throughput and search latency, through the product's own code.

Builds an index with the real ``reindex`` path (or reuses one with ``--index``),
then times :func:`search.query.run_search` with default options (top 10,
facets, highlights, suggestions) over a file of queries, as the site runs it.

    .venv/bin/python scripts/bench_search.py --corpus ../shared/corpora/scifact \
        --queries ../shared/corpora/scifact/queries-train.jsonl

Run it on an otherwise idle machine: the figures are wall-clock times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.engine import Engine  # noqa: E402
from search.query import SearchParams, run_search  # noqa: E402
from search.reindex import reindex  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", nargs="+", type=Path, help="export files or folders to index")
    parser.add_argument("--queries", type=Path, required=True, help="JSON lines with a 'text' field")
    parser.add_argument("--index", type=Path, help="reuse this index instead of building one")
    parser.add_argument("--limit", type=int, default=300, help="how many queries to time (default 300)")
    args = parser.parse_args()
    queries = [json.loads(line)["text"] for line in args.queries.read_text().splitlines() if line.strip()]
    queries = queries[: args.limit]
    with tempfile.TemporaryDirectory() as scratch:
        index = args.index or Path(scratch) / "index"
        if args.index is None:
            if not args.corpus:
                parser.error("--corpus is needed when no --index is given")
            summary = reindex(args.corpus, index, full=True)
            print(f"indexing: {summary.added} articles in {summary.elapsed:.1f} s "
                  f"= {summary.added / summary.elapsed:.0f} articles/s")
        engine = Engine(index)
        snapshot = engine.snapshot()
        run_search(snapshot, SearchParams(q=queries[0]))  # warm caches and imports
        times = []
        for text in queries:
            started = time.perf_counter()
            run_search(engine.snapshot(), SearchParams(q=text))
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(f"search: {len(times)} queries over {snapshot.doc_count} articles: "
          f"p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, mean {statistics.fmean(times):.0f} ms, "
          f"max {times[-1]:.0f} ms")


if __name__ == "__main__":
    main()
