"""Measure ranking quality: the site's search against plain Whoosh BM25F, side by side.

Usage::

    .venv/bin/python scripts/evaluate.py --corpus ../shared/corpora/cranfield \\
        --queries ../shared/corpora/cranfield/queries.jsonl \\
        --qrels ../shared/corpora/cranfield/qrels.tsv [--json OUT] [--no-baseline] \\
        [--check docs/relevance-cranfield.json] [--index DIR] [--run OUT] [--compare RUN]

Our system: the corpus goes through the real ``reindex`` into a temporary folder and
every query, as typed, through :func:`search.query.run_search` (default options, 100
results a page), exactly what the site does.  The baseline: Whoosh's default
``BM25F()`` over title and abstract in one field with Whoosh's ``StemmingAnalyzer``,
the query's words joined by OR (``QueryParser`` with ``OrGroup`` and no syntax
plugins), indexed in the same temporary folder.  Hits are mapped to documents by
``web_url``, which the judgements (``query-id <TAB> web-url <TAB> grade``) name.

Figures (``ir_measures``, i.e. ``pytrec_eval``): nDCG@10 with graded gains,
Recall@100 and MAP over 100 results, averaged over every judged query (a query
that finds nothing scores 0).  ``--check FILE`` compares nDCG@10 with the figure
recorded in FILE (a ``--json`` output) and exits with status 1 when it is more
than :data:`TOLERANCE` below it.  ``--index DIR`` keeps the built indexes in DIR
and reuses them while the indexing code is unchanged (for quick experiments;
recorded figures come from a fresh build).  ``--run OUT`` writes our ranking of every
query as a TREC run file; ``--compare RUN`` prints how many queries have the same top 10
as in RUN (another version's ``--run`` output), which is how a change that should not
alter ranking is checked.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import ir_measures  # noqa: E402
from ir_measures import AP, R, nDCG  # noqa: E402
from whoosh import index as whoosh_index  # noqa: E402
from whoosh.analysis import StemmingAnalyzer  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.qparser import OrGroup, QueryParser  # noqa: E402

from search.engine import Engine  # noqa: E402
from search.ingest import Problem, read_file  # noqa: E402
from search.query import SearchParams, run_search  # noqa: E402
from search.reindex import find_sources, reindex  # noqa: E402

#: Results asked for per query (Recall@100 and MAP are computed over them).
DEPTH = 100
MEASURES = {"nDCG@10": nDCG @ 10, "R@100": R @ 100, "MAP": AP}
#: ``--check`` fails when nDCG@10 falls more than this below the recorded figure.
TOLERANCE = 0.01
#: Modules used only at search time: changing them does not make an index kept with ``--index``
#: stale (any other module of ``search/`` does).
SEARCH_TIME_CODE = {"ranking.py", "retrieval.py", "query.py", "engine.py", "facets.py", "highlight.py", "suggest.py",
                    "syntax.py", "articles.py", "cli.py", "config.py"}


# --- inputs ---------------------------------------------------------------------------------

def load_queries(path: Path) -> dict[str, str]:
    """Query id -> text, from a JSON-lines file of ``{"id", "text"}``."""
    queries: dict[str, str] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                queries[str(record["id"])] = record["text"]
    return queries


def load_qrels(path: Path) -> list[ir_measures.Qrel]:
    """Judgements from a TSV with a header line: query id, web_url, grade."""
    qrels = []
    with path.open(encoding="utf-8") as lines:
        next(lines, None)
        for line in lines:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3 and parts[0]:
                qrels.append(ir_measures.Qrel(parts[0], parts[1], int(parts[2])))
    return qrels


def articles(corpus: Iterable[Path]) -> Iterable[tuple[str, str]]:
    """(web_url, title and abstract text) of each usable article, each web_url once."""
    seen: set[str] = set()
    for path in find_sources(corpus):
        for record in read_file(path):
            if isinstance(record, Problem) or not record.is_usable() or record.web_url in seen:
                continue
            seen.add(record.web_url)
            text = "\n".join([t.text for t in record.titles] + [a.text for a in record.abstracts])
            yield record.web_url, text


# --- building -------------------------------------------------------------------------------

def code_fingerprint(corpus: list[Path]) -> str:
    """Changes when the indexing code or the corpus' file list changes."""
    digest = hashlib.sha256()
    for path in sorted((REPO_ROOT / "search").glob("*.py")):
        if path.name not in SEARCH_TIME_CODE:
            digest.update(path.read_bytes())
    for path in find_sources(corpus):
        stat = path.stat()
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def prepare(folder: Path, fingerprint: str | None) -> bool:
    """Whether ``folder`` holds a reusable build for ``fingerprint``; else empty it."""
    stamp = folder / "FINGERPRINT"
    if fingerprint and stamp.exists() and stamp.read_text() == fingerprint:
        return True
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return False


def build_ours(corpus: list[Path], folder: Path, fingerprint: str | None) -> None:
    """The site's index of ``corpus``, through the real ``reindex``."""
    if prepare(folder, fingerprint):
        print(f"ours:     reusing the index in {folder}")
        return
    summary = reindex(corpus, folder / "index")
    if not summary.ok:
        raise SystemExit(f"reindex failed: {summary.errors[:3]}")
    print(f"ours:     indexed {summary.added} articles in {summary.elapsed:.1f} s")
    if fingerprint:
        (folder / "FINGERPRINT").write_text(fingerprint)


def baseline_schema() -> Schema:
    return Schema(web_url=ID(stored=True, unique=True), text=TEXT(analyzer=StemmingAnalyzer()))


def build_baseline(corpus: list[Path], folder: Path, fingerprint: str | None) -> None:
    """Plain Whoosh: title and abstract in one StemmingAnalyzer field."""
    if prepare(folder, fingerprint):
        print(f"baseline: reusing the index in {folder}")
        return
    started = time.perf_counter()
    index = whoosh_index.create_in(str(folder), baseline_schema())
    writer = index.writer(limitmb=256)
    count = 0
    for web_url, text in articles(corpus):
        writer.add_document(web_url=web_url, text=text)
        count += 1
    writer.commit()
    print(f"baseline: indexed {count} articles in {time.perf_counter() - started:.1f} s")
    if fingerprint:
        (folder / "FINGERPRINT").write_text(fingerprint)


# --- searching ------------------------------------------------------------------------------

Run = dict[str, dict[str, float]]


def run_ours(folder: Path, queries: dict[str, str]) -> tuple[Run, list[float]]:
    """Every query through the site's ``run_search``; the run and each query's wall time (s)."""
    snapshot = Engine(folder / "index").snapshot()
    run: Run = {}
    times = []
    for qid, text in queries.items():
        started = time.perf_counter()
        result = run_search(snapshot, SearchParams(q=text, per_page=DEPTH))
        times.append(time.perf_counter() - started)
        run[qid] = ranked(hit.web_url for hit in result.hits)
    return run, times


def run_baseline(folder: Path, queries: dict[str, str]) -> Run:
    """Every query as an OR of its words, no query syntax, default ``BM25F()``."""
    index = whoosh_index.open_dir(str(folder))
    parser = QueryParser("text", index.schema, plugins=[], group=OrGroup)
    run: Run = {}
    with index.searcher() as searcher:
        for qid, text in queries.items():
            hits = searcher.search(parser.parse(text), limit=DEPTH)
            run[qid] = ranked(hit["web_url"] for hit in hits)
    return run


def ranked(web_urls: Iterable[str]) -> dict[str, float]:
    """Scores that keep the engine's order exactly (rank 1 scores highest, no ties)."""
    urls = list(dict.fromkeys(web_urls))
    return {url: float(len(urls) - rank) for rank, url in enumerate(urls)}


def measure(run: Run, qrels: list[ir_measures.Qrel]) -> dict[str, float]:
    """The figures of ``run``, averaged over every judged query (one that finds nothing scores 0)."""
    judged = {q.query_id for q in qrels}
    scored = [ir_measures.ScoredDoc(qid, doc, score)
              for qid, docs in run.items() if qid in judged for doc, score in docs.items()]
    # pytrec_eval leaves out queries without results; give them a placeholder that scores 0.
    scored += [ir_measures.ScoredDoc(qid, "-", 0.0) for qid in judged if not run.get(qid)]
    aggregate = ir_measures.calc_aggregate(list(MEASURES.values()), qrels, scored)
    figures = {name: round(float(aggregate[m]), 4) for name, m in MEASURES.items()}
    figures["queries"] = len(judged)
    return figures


# --- reporting ------------------------------------------------------------------------------

def table(systems: dict[str, dict[str, float]]) -> str:
    lines = [f"{'system':<10} {'nDCG@10':>8} {'R@100':>8} {'MAP':>8} {'queries':>8}"]
    for name, f in systems.items():
        lines.append(f"{name:<10} {f['nDCG@10']:>8.4f} {f['R@100']:>8.4f} {f['MAP']:>8.4f} {f['queries']:>8d}")
    if "ours" in systems and "baseline" in systems:
        o, b = systems["ours"], systems["baseline"]
        lines.append(f"{'difference':<10} {o['nDCG@10'] - b['nDCG@10']:>+8.4f} {o['R@100'] - b['R@100']:>+8.4f}"
                     f" {o['MAP'] - b['MAP']:>+8.4f}")
    return "\n".join(lines)


def write_run(path: Path, run: Run) -> None:
    """``run`` as a TREC run file: query id, Q0, document, rank, score, tag."""
    with path.open("w", encoding="utf-8") as out:
        for qid, docs in run.items():
            for rank, (doc, score) in enumerate(sorted(docs.items(), key=lambda d: -d[1]), 1):
                out.write(f"{qid} Q0 {doc} {rank} {score} ours\n")


def same_top(run: Run, other_path: Path, depth: int = 10) -> tuple[int, int]:
    """(queries whose first ``depth`` results are those of the run in ``other_path``, in the
    same order; queries compared)."""
    other: dict[str, list[str]] = {}
    with other_path.open(encoding="utf-8") as lines:
        for line in lines:
            qid, _, doc, rank = line.split()[:4]
            other.setdefault(qid, []).append(doc)
    compared = [qid for qid in run if qid in other]
    same = sum(1 for qid in compared
               if [d for d, _ in sorted(run[qid].items(), key=lambda d: -d[1])][:depth] == other[qid][:depth])
    return same, len(compared)


def check(recorded_path: Path, ours: dict[str, float]) -> bool:
    """Compare nDCG@10 with the recorded figure; print the comparison; True when it holds."""
    recorded = json.loads(recorded_path.read_text(encoding="utf-8"))["systems"]["ours"]
    floor = recorded["nDCG@10"] - TOLERANCE
    print(f"check: nDCG@10 {ours['nDCG@10']:.4f}, recorded {recorded['nDCG@10']:.4f} in {recorded_path}, "
          f"floor {floor:.4f} (recorded - {TOLERANCE})")
    if recorded.get("queries") != ours["queries"]:
        print(f"check: warning: {ours['queries']} judged queries now, {recorded.get('queries')} when recorded")
    if ours["nDCG@10"] < floor - 1e-9:
        print(f"check: FAILED: nDCG@10 fell by {recorded['nDCG@10'] - ours['nDCG@10']:.4f}, more than "
              f"{TOLERANCE}; a ranking change made results worse (see docs/relevance.md)", file=sys.stderr)
        return False
    print("check: ok")
    return True


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, nargs="+", required=True, help="export files or folders")
    parser.add_argument("--queries", type=Path, required=True, help="JSON lines of {id, text}")
    parser.add_argument("--qrels", type=Path, required=True, help="TSV: query-id, web-url, grade")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure plain Whoosh BM25F (default: yes)")
    parser.add_argument("--check", type=Path, metavar="FILE",
                        help="fail when nDCG@10 is more than 0.01 below the figure recorded in FILE")
    parser.add_argument("--run", type=Path, metavar="OUT", help="write our ranking as a TREC run file")
    parser.add_argument("--compare", type=Path, metavar="RUN",
                        help="report how many queries have the same top 10 as this run file")
    parser.add_argument("--index", type=Path, metavar="DIR",
                        help="keep the indexes in DIR and reuse them while the indexing code is unchanged")
    args = parser.parse_args(argv)

    queries = load_queries(args.queries)
    qrels = load_qrels(args.qrels)
    missing = [p for p in args.corpus if not p.exists()]
    if missing:
        parser.error(f"no such corpus: {', '.join(map(str, missing))}")
    work = args.index or Path(tempfile.mkdtemp(prefix="evaluate-"))
    fingerprint = code_fingerprint(args.corpus) if args.index else None
    try:
        build_ours(args.corpus, work / "ours", fingerprint)
        run, times = run_ours(work / "ours", queries)
        systems = {"ours": measure(run, qrels)}
        if args.baseline:
            build_baseline(args.corpus, work / "baseline", fingerprint)
            systems["baseline"] = measure(run_baseline(work / "baseline", queries), qrels)
    finally:
        if not args.index:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(table(systems))
    ms = sorted(t * 1000 for t in times)
    timing = {"queries": len(ms), "mean_ms": round(statistics.fmean(ms), 1),
              "p50_ms": round(ms[len(ms) // 2], 1), "p95_ms": round(ms[int(len(ms) * 0.95)], 1),
              "max_ms": round(ms[-1], 1)} if ms else {}
    if timing:
        print(f"\nours, wall time per query ({timing['queries']} queries, {DEPTH} results each, "
              f"with highlights and facets): mean {timing['mean_ms']} ms, p50 {timing['p50_ms']} ms, "
              f"p95 {timing['p95_ms']} ms, max {timing['max_ms']} ms")
    if args.run:
        write_run(args.run, run)
    if args.compare:
        same, compared = same_top(run, args.compare)
        print(f"same top 10 as {args.compare}: {same} of {compared} queries ({same / (compared or 1):.1%})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "corpus": [str(p) for p in args.corpus], "queries": str(args.queries), "qrels": str(args.qrels),
            "depth": DEPTH, "systems": systems, "timing": timing,
        }, indent=2) + "\n", encoding="utf-8")
    if args.check and not check(args.check, systems["ours"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
