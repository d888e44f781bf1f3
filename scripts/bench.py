"""Benchmark: building and searching at 10k, 30k and 100k articles, beside three anchors.

    .venv/bin/pip install -e '.[bench]'      # tantivy and matplotlib, for this script only
    .venv/bin/python scripts/bench.py [--sizes 10000 30000 100000] [--work bench-work] \\
        [--http-seconds 30] [--json docs/performance.json] [--plot docs/performance.png]

For each size, in one run: a collection from ``scripts/make_corpus.py`` (kept in
``--work`` and reused); our build through the real ``reindex`` in a child process
(wall time and articles/s of each phase, peak RSS, size on disk); searches through
``run_search`` with the site's default page (10 hits, facets, highlights,
suggestion, meaning re-rank): p50/p95/p99 of short queries (2-3 words of the
collection's titles) and of SciFact's training claims; 8 HTTP clients against
``serve`` for ``--http-seconds`` (requests/s, p95, failures) and the serving
processes' RSS; then the same articles and queries on tantivy, SQLite FTS5 and plain
Whoosh BM25F (title + abstract, top 10 and the count), and our p95 as a ratio of each.

The meaning phase runs the real model at ``--meaning-sizes`` only (default: the
smallest size): at 100k it alone would take most of an hour before issue 9's model
work.  At the other sizes the model is replaced by a stand-in that returns random
unit vectors, which times the phase's own work and gives the search its vectors (a
search's cost does not depend on their values); the model's own rate is measured on
``--model-sample`` articles and printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import http.client
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import make_corpus  # noqa: E402
from search import store  # noqa: E402
from search.engine import Engine  # noqa: E402
from search.query import SearchParams, run_search  # noqa: E402
from search.reindex import find_sources  # noqa: E402

SHARED = REPO.parent / "shared" / "corpora"
CLAIMS = SHARED / "scifact" / "queries-train.jsonl"
CLIENTS = 8

# The build runs in a child process, so its peak memory is its own.
_BUILD = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import numpy as np
from search import meaning
from search.reindex import reindex
if sys.argv[4] == "stand-in":
    class StandIn:
        def __init__(self, threads=0):
            pass
        # Random unit vectors in place of the model: the phase's own work, not the model's.
        def encode(self, texts):
            v = np.random.default_rng(len(texts)).standard_normal((len(texts), 384)).astype(np.float32)
            return v / np.linalg.norm(v, axis=1, keepdims=True)
    meaning.Encoder = StandIn
summary = reindex([Path(sys.argv[2])], Path(sys.argv[3]), full=sys.argv[5] == "full")
# VmHWM, not RUSAGE_SELF: after exec, ru_maxrss still counts the forking parent's (the
# bench's) memory; a forked worker's own count starts afresh.
own = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
peak = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"articles": summary.added + summary.updated, "words_s": summary.words_seconds, "meaning_s": summary.meaning_seconds,
                  "vectors": summary.vectors_computed, "peak_rss_mb": peak / 1024}))
"""


def percentiles(times_ms: list[float]) -> dict[str, float]:
    ordered = sorted(times_ms)
    pick = lambda q: ordered[min(len(ordered) - 1, int(len(ordered) * q))]  # noqa: E731
    return {"p50": round(statistics.median(ordered), 2), "p95": round(pick(0.95), 2), "p99": round(pick(0.99), 2)}


def short_queries(corpus: Path, count: int, seed: int = 5) -> list[str]:
    """2-3 words from the titles of the collection, as people type them."""
    titles = re.findall(r'<title locale="en_US">([^<]+)</title>', (sorted(corpus.glob("*.xml"))[0]).read_text())
    rng = random.Random(seed)
    queries = []
    while len(queries) < count:
        words = [w for w in re.findall(r"[A-Za-z]{3,}", rng.choice(titles))]
        if len(words) >= 2:
            queries.append(" ".join(rng.sample(words, min(len(words), rng.randint(2, 3)))).lower())
    return queries


def folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


# --- ours -------------------------------------------------------------------------------------

def _reindex(corpus: Path, index: Path, model: str, kind: str) -> dict:
    """Run ``reindex`` (``kind``: full or incremental) in a child process; its figures."""
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _BUILD, str(REPO), str(corpus), str(index), model, kind],
                         check=True, capture_output=True, text=True).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    figures["wall_s"] = time.perf_counter() - started
    return figures


def build_ours(corpus: Path, index: Path, model: str) -> dict:
    shutil.rmtree(index, ignore_errors=True)
    figures = _reindex(corpus, index, model, "full")
    figures["words_per_s"] = figures["articles"] / figures["words_s"]
    figures["meaning_per_s"] = figures["vectors"] / figures["meaning_s"] if figures["meaning_s"] else None
    figures["meaning"] = model
    live = store.live_generation(index)
    figures["disk_mb"] = folder_mb(live) if live else 0.0
    return figures


def incremental_ours(corpus: Path, index: Path, model: str, size: int) -> dict:
    """An incremental run after 1% of the articles changed: their titles are edited (then
    put back, so the collection stays the one measured).  ``reindex`` reads again each
    file that changed, so the words of the whole file holding them are written anew."""
    path = find_sources([corpus])[0]
    original = path.read_bytes()
    try:
        path.write_bytes(re.sub(rb"(<title[^>]*>)", rb"\1Revised: ", original, count=max(1, size // 100)))
        figures = _reindex(corpus, index, model, "incremental")
    finally:
        path.write_bytes(original)
    return figures


def model_rate(corpus: Path, sample: int) -> float:
    """Articles/s of the real model alone, on ``sample`` articles' meaning texts."""
    from search.documents import meaning_text
    from search.ingest import Problem, read_file
    from search.semantic import Encoder
    texts = []
    for path in find_sources([corpus]):
        texts += [meaning_text(r) for r in read_file(path) if not isinstance(r, Problem)]
        if len(texts) >= sample:
            break
    encoder = Encoder()
    started = time.perf_counter()
    encoder.encode(texts[:sample])
    return sample / (time.perf_counter() - started)


def search_ours(index: Path, queries: list[str]) -> dict[str, float]:
    snapshot = Engine(index).snapshot()
    for q in queries[:20]:
        run_search(snapshot, SearchParams(q=q))
    times = []
    for q in queries:
        started = time.perf_counter()
        run_search(snapshot, SearchParams(q=q))
        times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)


def http_load(index: Path, queries: list[str], seconds: float) -> dict:
    """``CLIENTS`` clients for ``seconds`` against ``serve``; requests/s, p95, failures, RSS."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).parent / "serve"), "--index", str(index),
                               "--port", str(port)], stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=5).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        latencies, failures, lock = [], [0], threading.Lock()
        end = time.monotonic() + seconds

        def client(number: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            k = number
            while time.monotonic() < end:
                started = time.perf_counter()
                try:
                    connection.request("GET", "/search?q=" + urllib.parse.quote(queries[k % len(queries)]))
                    response = connection.getresponse()
                    response.read()
                    ok = response.status == 200
                except OSError:
                    ok = False
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                    failures[0] += not ok
                k += CLIENTS

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rss = [_rss_mb(pid) for pid in [server.pid] + _children(server.pid)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"requests_per_s": round(len(latencies) / seconds, 1), "p95": percentiles(latencies)["p95"],
            "failed": failures[0], "requests": len(latencies), "server_rss_mb": round(max(rss), 1),
            "processes": len(rss)}


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- anchors ----------------------------------------------------------------------------------

def documents(corpus: Path) -> list[tuple[str, str]]:
    from search.ingest import Problem, read_file
    return [(r.titles[0].text if r.titles else "", r.abstracts[0].text if r.abstracts else "")
            for path in find_sources([corpus]) for r in read_file(path) if not isinstance(r, Problem)]


def words(q: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+", q)


def anchor_tantivy(docs, folder: Path, queries: dict[str, list[str]]) -> dict:
    import tantivy
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("title", tokenizer_name="en_stem")
    builder.add_text_field("abstract", tokenizer_name="en_stem")
    schema = builder.build()
    index = tantivy.Index(schema, path=str(folder))
    started = time.perf_counter()
    writer = index.writer()
    for title, abstract in docs:
        writer.add_document(tantivy.Document(title=title, abstract=abstract))
    writer.commit()
    writer.wait_merging_threads()
    build = time.perf_counter() - started
    index.reload()
    searcher = index.searcher()

    def one(q: str) -> None:
        text = " OR ".join(words(q)) or "nothing"
        searcher.search(index.parse_query(text, ["title", "abstract"]), 10, count=True)

    return {"build_s": build, **_timed(one, queries)}


def anchor_fts5(docs, path: Path, queries: dict[str, list[str]]) -> dict:
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    started = time.perf_counter()
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, abstract, tokenize='porter')")
    db.executemany("INSERT INTO docs VALUES (?, ?)", docs)
    db.commit()
    build = time.perf_counter() - started

    def one(q: str) -> None:
        match = " OR ".join(f'"{w}"' for w in words(q)) or '"nothing"'
        db.execute("SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT 10", (match,)).fetchall()
        db.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (match,)).fetchone()

    return {"build_s": build, **_timed(one, queries)}


def anchor_whoosh(docs, folder: Path, queries: dict[str, list[str]]) -> dict:
    from whoosh import index as whoosh_index
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import TEXT, Schema
    from whoosh.qparser import OrGroup, QueryParser
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    index = whoosh_index.create_in(str(folder), Schema(text=TEXT(analyzer=StemmingAnalyzer())))
    started = time.perf_counter()
    writer = index.writer(limitmb=256)
    for title, abstract in docs:
        writer.add_document(text=f"{title}\n{abstract}")
    writer.commit()
    build = time.perf_counter() - started
    parser = QueryParser("text", index.schema, plugins=[], group=OrGroup)
    searcher = index.searcher()

    def one(q: str) -> None:
        results = searcher.search(parser.parse(" ".join(words(q))), limit=10)
        len(results)

    return {"build_s": build, **_timed(one, queries)}


def _timed(search, queries: dict[str, list[str]]) -> dict:
    figures = {}
    for kind, texts in queries.items():
        for q in texts[:10]:
            search(q)
        times = []
        for q in texts:
            started = time.perf_counter()
            search(q)
            times.append((time.perf_counter() - started) * 1000)
        figures[kind] = percentiles(times)
    return figures


# --- report -----------------------------------------------------------------------------------

def plot(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sizes = sorted(int(s) for s in results)
    figure, (latency, build) = plt.subplots(1, 2, figsize=(11, 4.2))
    for kind, style in (("short", "-"), ("claims", "--")):
        latency.plot(sizes, [results[str(s)]["ours"]["search"][kind]["p95"] for s in sizes], "o" + style,
                     label=f"ours, {kind}")
        for anchor in ("tantivy", "fts5", "whoosh"):
            values = [results[str(s)].get(anchor, {}).get(kind, {}).get("p95") for s in sizes]
            if all(v is not None for v in values):
                latency.plot(sizes, values, "." + style, label=f"{anchor}, {kind}")
    latency.set(xscale="log", yscale="log", xlabel="articles", ylabel="p95 latency (ms)",
                title="Search, default page (ours) / top 10 + count (anchors)")
    latency.legend(fontsize=7)
    build.plot(sizes, [results[str(s)]["ours"]["build"]["words_s"] for s in sizes], "o-", label="ours, words phase")
    for anchor in ("tantivy", "fts5", "whoosh"):
        values = [results[str(s)].get(anchor, {}).get("build_s") for s in sizes]
        if all(v is not None for v in values):
            build.plot(sizes, values, ".-", label=anchor)
    build.set(xscale="log", yscale="log", xlabel="articles", ylabel="build time (s)", title="Building")
    build.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 30000, 100000])
    parser.add_argument("--work", type=Path, default=REPO / "bench-work", help="collections and indexes (kept)")
    parser.add_argument("--queries", type=int, default=300, help="queries of each kind")
    parser.add_argument("--http-seconds", type=float, default=30)
    parser.add_argument("--meaning-sizes", type=int, nargs="*", default=None,
                        help="sizes built with the real model (default: the smallest)")
    parser.add_argument("--model-sample", type=int, default=1000, help="articles the model's rate is measured on")
    parser.add_argument("--no-anchors", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    real = set(args.meaning_sizes if args.meaning_sizes is not None else [min(args.sizes)])
    claims = [json.loads(line)["text"] for line in CLAIMS.read_text().splitlines() if line.strip()][:args.queries]
    results: dict[str, dict] = {}
    for size in args.sizes:
        corpus = args.work / f"corpus-{size}"
        if not corpus.exists():
            make_corpus.write(size, corpus, seed=size, source=SHARED)
        queries = {"short": short_queries(corpus, args.queries), "claims": claims}
        print(f"\n== {size:,} articles", flush=True)
        build = build_ours(corpus, args.work / f"index-{size}", "model" if size in real else "stand-in")
        print(f"ours build: words {build['words_s']:.1f} s ({build['words_per_s']:.0f} articles/s), meaning "
              f"{build['meaning_s']:.1f} s ({build['meaning_per_s'] or 0:.0f} articles/s, {build['meaning']}), "
              f"peak RSS {build['peak_rss_mb']:.0f} MB, {build['disk_mb']:.0f} MB on disk", flush=True)
        incremental = incremental_ours(corpus, args.work / f"index-{size}", build["meaning"], size)
        share = incremental["wall_s"] / build["wall_s"]
        print(f"ours incremental, 1% changed: {incremental['wall_s']:.1f} s ({incremental['articles']} articles "
              f"written again, {incremental['vectors']} vectors computed), {share:.1%} of the full build", flush=True)
        build["incremental_1pct"] = {**incremental, "share_of_full": share}
        ours = {"build": build, "search": {k: search_ours(args.work / f"index-{size}", v) for k, v in queries.items()}}
        print(f"ours search: {ours['search']}", flush=True)
        ours["http"] = http_load(args.work / f"index-{size}", queries["short"], args.http_seconds)
        print(f"ours http: {ours['http']}", flush=True)
        results[str(size)] = {"ours": ours}
        if not args.no_anchors:
            docs = documents(corpus)
            for name, run in (("tantivy", lambda: anchor_tantivy(docs, args.work / f"tantivy-{size}", queries)),
                              ("fts5", lambda: anchor_fts5(docs, args.work / f"fts5-{size}.db", queries)),
                              ("whoosh", lambda: anchor_whoosh(docs, args.work / f"whoosh-{size}", queries))):
                figures = results[str(size)][name] = run()
                ratios = {k: round(ours["search"][k]["p95"] / max(figures[k]["p95"], 1e-3), 1) for k in queries}
                figures["our_p95_ratio"] = ratios
                print(f"{name}: build {figures['build_s']:.1f} s, short {figures['short']}, claims {figures['claims']}, "
                      f"our p95 / theirs {ratios}", flush=True)
    rate = model_rate(args.work / f"corpus-{min(args.sizes)}", args.model_sample)
    print(f"\nthe model alone: {rate:.0f} articles/s ({args.model_sample} articles)")
    report = {"sizes": args.sizes, "cores": os.cpu_count(), "model_articles_per_s": rate, "results": results}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
