"""Load while the index changes: concurrent clients against ``serve`` during full reindexes.

    python scripts/load_during_reindex.py [--articles 3000] [--swaps 2] [--clients 8] [--workers 2]

Builds a corpus of generated articles in a temporary folder, indexes it, starts
``serve`` (waitress, as in production) on a free port of 127.0.0.1, and runs
``--clients`` clients that search, open result pages, articles and ``/healthz``
while ``reindex --full`` swaps in a new, larger generation ``--swaps`` times.
Every response must be a 200, complete (as long as its ``Content-Length``; the
JSON parses, the page ends), and from one generation: it names its generation
(``X-Index-Generation``), and its counts are that generation's (each generation
has a known number of articles, all of which the query matches).  Prints the
failures and the latency before, during and just after the swaps; exits 1 on
any failure.  ``tests/test_load.py`` runs it small.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.reindex import reindex  # noqa: E402

HOST = "127.0.0.1"
#: Every generated article has this word, so its query matches the whole generation.
EVERYWHERE = "zymurgy"
#: After a swap, the requests of this many seconds count as "just after" it (each server
#: process opens the new generation on its first request).
AFTER_SWAP_SECONDS = 2.0
#: Per request; a request that takes longer counts as failed.
TIMEOUT_SECONDS = 30.0


@dataclass
class Sample:
    """One request and what came back."""

    url: str
    started: float
    seconds: float
    status: int = 0
    generation: str = ""
    count: int | None = None
    problem: str = ""
    first_id: str = ""


@dataclass
class Swap:
    """One reindex: when it ran, the generation it made and how many articles that has."""

    started: float
    finished: float
    generation: str
    articles: int


@dataclass
class Report:
    samples: list[Sample] = field(default_factory=list)
    swaps: list[Swap] = field(default_factory=list)
    articles: dict[str, int] = field(default_factory=dict)

    def failures(self) -> list[str]:
        """What went wrong, one line per failed or inconsistent response."""
        failed = []
        for s in self.samples:
            if s.problem or s.status != 200:
                failed.append(f"{s.url}: {s.status} {s.problem}")
            elif s.generation not in self.articles:
                failed.append(f"{s.url}: unknown generation {s.generation!r}")
            elif s.count is not None and s.count != self.articles[s.generation]:
                failed.append(f"{s.url}: {s.count} articles, but {s.generation} has {self.articles[s.generation]}")
        return failed

    def latency(self) -> dict[str, list[float]]:
        """Seconds per request before the first reindex, during a reindex, just after a swap."""
        phases: dict[str, list[float]] = {"before": [], "during reindex": [], "just after a swap": [], "other": []}
        first = self.swaps[0].started if self.swaps else float("inf")
        for s in self.samples:
            if s.started < first:
                phases["before"].append(s.seconds)
            elif any(w.finished <= s.started < w.finished + AFTER_SWAP_SECONDS for w in self.swaps):
                phases["just after a swap"].append(s.seconds)
            elif any(w.started <= s.started < w.finished for w in self.swaps):
                phases["during reindex"].append(s.seconds)
            else:
                phases["other"].append(s.seconds)
        return phases

    def summary(self) -> str:
        lines = [f"{len(self.samples)} requests, {len(self.failures())} failed; generations served: "
                 + ", ".join(f"{g} ({n} articles)" for g, n in self.articles.items()
                             if any(s.generation == g for s in self.samples))]
        lines += [f"swap {i + 1}: reindex --full took {w.finished - w.started:.1f} s" for i, w in enumerate(self.swaps)]
        for phase, seconds in self.latency().items():
            if seconds:
                ms = sorted(1000 * s for s in seconds)
                lines.append(f"{phase:>18}: {len(ms):5d} requests, median {statistics.median(ms):6.1f} ms, "
                             f"p95 {ms[int(0.95 * (len(ms) - 1))]:6.1f} ms, max {ms[-1]:6.1f} ms")
        return "\n".join(lines + self.failures()[:20])


def write_articles(folder: Path, first: int, count: int) -> None:
    """``count`` generated articles, numbered from ``first``, in one export file."""
    folder.mkdir(parents=True, exist_ok=True)
    records = "".join(
        f"<Article><title>{EVERYWHERE} study {n} of outcome{n % 97} in cohort{n % 13}</title>"
        f"<abstract>We measured outcome{n % 97} and factor{n % 31} in {EVERYWHERE} cohort{n % 13}; "
        f"the results for sample {n} are reported with care.</abstract>"
        f"<Journal><JournalTitle>Journal {n % 5}</JournalTitle><PubDate><Year>{2000 + n % 20}</Year></PubDate>"
        f"</Journal><web_url>https://j.example/a/{n}</web_url></Article>"
        for n in range(first, first + count)
    )
    (folder / f"articles-{first:07d}.xml").write_text(f"<Articles>{records}</Articles>", encoding="utf-8")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_server(index_dir: Path, port: int, workers: int, log: Path, wait_seconds: float = 120) -> subprocess.Popen:
    """``serve`` on ``port``, once it answers ``/healthz`` with a 200; its messages go to ``log``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-c", "from web.serve import main; main()", "--index", str(index_dir),
               "--host", HOST, "--port", str(port), "--workers", str(workers)]
    with open(log, "wb") as stream:  # a file, not a pipe: a pipe nobody reads would fill and stop it
        server = subprocess.Popen(command, env=env, stdout=stream, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"serve exited with {server.returncode}: {log.read_text(errors='replace')}")
        try:
            if request(port, "/healthz").status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"serve did not answer within {wait_seconds:.0f} s")


#: Requests whose count must be all the articles of the generation that answered.
WHOLE_GENERATION = (f"/api/search?q={EVERYWHERE}", f"/search?q={EVERYWHERE}&page=2", "/healthz")


def request(port: int, url: str) -> Sample:
    """GET ``url`` and check the answer is whole and names one generation."""
    started = time.monotonic()
    sample = Sample(url, time.time(), 0.0)
    connection = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("GET", url)
        response = connection.getresponse()
        body = response.read()
        sample.status = response.status
        sample.generation = response.getheader("X-Index-Generation", "")
        length = response.getheader("Content-Length")
        if length is None or int(length) != len(body):
            sample.problem = f"body of {len(body)} bytes, Content-Length {length}"
        elif response.status == 200:
            _inspect(sample, body)
    except (OSError, http.client.HTTPException) as error:
        sample.problem = f"{type(error).__name__}: {error}"
    finally:
        connection.close()
        sample.seconds = time.monotonic() - started
    return sample


def _inspect(sample: Sample, body: bytes) -> None:
    """Read the count (and a result's id) from a response; note what is wrong with it."""
    if not sample.url.startswith(("/api/", "/healthz")):
        text = body.decode("utf-8", "replace")
        found = re.search(r'<p class="count"[^>]*>\s*([\d,]+) results?', text)
        if not text.rstrip().endswith("</html>"):
            sample.problem = "page cut short"
        elif sample.url in WHOLE_GENERATION:
            sample.count = int(found.group(1).replace(",", "")) if found else None
        return
    try:
        data = json.loads(body)
    except ValueError as error:
        sample.problem = f"JSON that does not parse: {error}"
        return
    if data.get("generation", sample.generation) != sample.generation:
        sample.problem = f"body from {data.get('generation')}, header {sample.generation}"
    elif sample.url in WHOLE_GENERATION:
        sample.count = data["documents"] if sample.url == "/healthz" else data["total"]
    if data.get("hits"):
        sample.first_id = data["hits"][0]["id"]


def client(port: int, stop: threading.Event, samples: list[Sample], number: int, limit: int) -> None:
    """One client: searches, result pages, an article of the results, and /healthz, in turn."""
    urls = list(WHOLE_GENERATION) + [
        f"/api/search?q={EVERYWHERE}+outcome{number}&sort=newest", f"/search?q={EVERYWHERE}&journal=Journal+{number % 5}",
        f"/api/search?q=cohort{number}", "/", "/article/{id}",
    ]
    article = ""
    for turn in range(limit):
        if stop.is_set():
            return
        url = urls[turn % len(urls)]
        if "{id}" in url:
            if not article:
                continue
            url = url.format(id=quote(article))
        sample = request(port, url)
        samples.append(sample)
        article = sample.first_id or article


def run(workdir: Path, articles: int, swaps: int, clients: int, workers: int,
        settle_seconds: float = 1.0, limit: int = 100_000) -> Report:
    """The whole exercise in ``workdir``; see the module's description."""
    data, index_dir = workdir / "data", workdir / "index"
    step = max(1, articles // (swaps + 1))
    report = Report()
    write_articles(data, 0, step)
    report.articles[reindex([data], index_dir, with_meaning=False).generation] = step
    port = free_port()
    server = start_server(index_dir, port, workers, workdir / "serve.log")
    stop = threading.Event()
    per_client: list[list[Sample]] = [[] for _ in range(clients)]
    threads = [threading.Thread(target=client, args=(port, stop, per_client[n], n, limit), daemon=True)
               for n in range(clients)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(settle_seconds)
        for swap in range(1, swaps + 1):
            write_articles(data, swap * step, step)
            started = time.time()
            summary = reindex([data], index_dir, full=True, with_meaning=False)
            report.articles[summary.generation] = (swap + 1) * step
            report.swaps.append(Swap(started, time.time(), summary.generation, (swap + 1) * step))
            time.sleep(settle_seconds + AFTER_SWAP_SECONDS)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=TIMEOUT_SECONDS + 5)
        server.terminate()
        server.wait(timeout=30)
    report.samples = sorted((s for samples in per_client for s in samples), key=lambda s: s.started)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=3000, help="articles in the last generation")
    parser.add_argument("--swaps", type=int, default=2, help="full reindexes while the clients run")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="serve processes")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of load before and after the swaps")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="load-") as workdir:
        report = run(Path(workdir), args.articles, args.swaps, args.clients, args.workers, args.settle)
    print(report.summary())
    sys.exit(1 if report.failures() or not report.samples else 0)


if __name__ == "__main__":
    main()
