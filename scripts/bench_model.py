"""How fast the meaning model encodes articles, now and at an earlier commit, in one run.

    .venv/bin/python scripts/bench_model.py [--corpus ../shared/corpora/scifact] \\
        [--articles 1000] [--before REV] [--runs 2]

Reads the first ``--articles`` articles of the corpus' export files, as the meaning
phase does (``meaning_text``), and encodes them all with ``search.semantic.Encoder``;
with ``--before REV`` also with the Encoder of ``search/semantic.py`` as it was at that
commit (loaded from git), the two taking turns ``--runs`` times so both see the same
machine.  Prints the best run of each: articles/s and word pieces/s of wall time and of
CPU time (the process's, all threads: the fairer figure on a shared machine), the
median time of one query (a SciFact-sized claim, encoded alone), and the cosines of
the two versions' vectors.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Sequence

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from search import semantic  # noqa: E402
from search.documents import meaning_text  # noqa: E402
from search.ingest import Problem, read_file  # noqa: E402
from search.reindex import find_sources  # noqa: E402

QUERY = "Vitamin D supplementation lowers the risk of fractures in elderly women."


def articles(corpus: Path, limit: int) -> list[str]:
    texts: list[str] = []
    for source in find_sources([corpus]):
        texts += [meaning_text(r) for r in read_file(source) if not isinstance(r, Problem)]
        if len(texts) >= limit:
            break
    return [t for t in texts if t.strip()][:limit]


def semantic_at(rev: str) -> types.ModuleType:
    """``search/semantic.py`` as it was at commit ``rev``, as a module of its own."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:search/semantic.py"],
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType(f"semantic_{rev}")
    module.__file__ = str(REPO / "search" / "semantic.py")  # its data files are where they were
    exec(compile(source, f"{rev}:search/semantic.py", "exec"), module.__dict__)
    return module


def timed(encoder: object, texts: Sequence[str]) -> tuple[np.ndarray, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = encoder.encode(texts)  # type: ignore[attr-defined]
    return vectors, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpora" / "scifact")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--before", help="a commit whose search/semantic.py to compare with")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    texts = articles(args.corpus, args.articles)
    encoders = {"now": semantic.Encoder()}
    if args.before:
        encoders = {f"at {args.before}": semantic_at(args.before).Encoder(), **encoders}
    tokenizer = encoders["now"]._tokenizer
    pieces = sum(len(e.ids) for e in tokenizer.encode_batch(texts))
    print(f"{len(texts)} articles of {args.corpus}, {pieces} word pieces (at most {semantic.MAX_TOKENS} each)")
    best: dict[str, tuple[float, float]] = {name: (float("inf"), float("inf")) for name in encoders}
    vectors: dict[str, np.ndarray] = {}
    for name, encoder in encoders.items():
        encoder.encode(texts[:8])  # type: ignore[attr-defined]
    for run in range(args.runs):
        for name, encoder in encoders.items():
            vectors[name], wall, cpu = timed(encoder, texts)
            print(f"  run {run + 1}, {name}: {len(texts) / wall:.1f} articles/s ({wall:.1f} s wall, {cpu:.1f} s CPU)", flush=True)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    for name, encoder in encoders.items():
        wall, cpu = best[name]
        query = statistics.median(timed(encoder, [QUERY])[1] for _ in range(30)) * 1000
        print(f"{name}: {len(texts) / wall:.1f} articles/s, {pieces / wall:.0f} word pieces/s wall; "
              f"{len(texts) / cpu:.1f} articles per CPU-second; one query {query:.1f} ms")
    if args.before:
        old, new = (vectors[name] for name in encoders)
        (old_wall, old_cpu), (new_wall, new_cpu) = best.values()
        cosines = (old * new).sum(axis=1)
        print(f"now / before: {old_wall / new_wall:.2f}x wall, {old_cpu / new_cpu:.2f}x CPU; "
              f"cosines of the vectors: mean {cosines.mean():.4f}, min {cosines.min():.4f}")


if __name__ == "__main__":
    main()
