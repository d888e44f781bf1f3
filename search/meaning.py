"""The meaning phase of ``reindex``: vectors for the articles that have none yet.

The words phase publishes a generation as soon as its words are written; the
vectors of articles whose meaning text is unchanged are carried over into it
(:func:`search.arrays.build` matches them by :func:`search.documents.meaning_key`).  This phase
then computes the missing ones with the model and publishes them as further
generations, every :data:`PUBLISH_EVERY` articles and at the end, so a killed
run loses at most that much work and the site ranks by meaning as soon as it can.
Until then an article without a vector is ranked by its words alone
(:func:`search.ranking.fuse`).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from whoosh import index as whoosh_index

from search import arrays, store
from search.documents import meaning_text
from search.records import Article
from search.semantic import STORED_DTYPE, Encoder

#: Articles read and encoded together (the model runs far faster on a batch).
ENCODE_BATCH = 256
#: Fewer articles than this are encoded in this process: starting a model process per
#: core (a second or two each) would cost more than it gains.
MODEL_PROCESS_MIN = 2 * ENCODE_BATCH
#: Vectors computed between two publications of the phase's progress.
PUBLISH_EVERY = 20_000

#: Called as the phase advances: (vectors computed, vectors to compute).
ProgressCallback = Callable[[int, int], None]


@dataclass
class MeaningSummary:
    """What one meaning phase did."""

    computed: int = 0
    seconds: float = 0.0
    generation: str = ""


def complete(index_dir: Path, on_progress: ProgressCallback | None = None) -> MeaningSummary:
    """Compute and publish the vectors the live generation lacks; call under the writer lock.

    The model is loaded only when there is something to encode.
    """
    started = time.monotonic()
    summary = MeaningSummary()
    generation = store.live_generation(index_dir)
    if generation is None:
        return summary
    index = whoosh_index.open_dir(str(generation))
    current = arrays.open_arrays(generation, index)
    todo = np.flatnonzero(current.live & ~current.has_vector)
    if not len(todo):
        return summary
    # Only the segments that get vectors are written again (arrays.save_vectors).
    vectors, has_vector = current.vectors.editable(todo), np.array(current.has_vector)
    batches = [todo[start:start + ENCODE_BATCH] for start in range(0, len(todo), ENCODE_BATCH)]
    unpublished = 0
    with index.searcher() as searcher:
        texts = ([meaning_text(Article.from_dict(json.loads(searcher.stored_fields(int(d))["record"])))
                  for d in batch] for batch in batches)
        for batch, encoded in zip(batches, _encode(texts, processes=_processes(len(todo)))):
            vectors[batch] = encoded.astype(STORED_DTYPE)
            has_vector[batch] = True
            summary.computed += len(batch)
            unpublished += len(batch)
            if on_progress:
                on_progress(summary.computed, len(todo))
            if unpublished >= PUBLISH_EVERY and summary.computed < len(todo):
                generation = _publish(index_dir, generation, vectors, has_vector)
                unpublished = 0
    generation = _publish(index_dir, generation, vectors, has_vector)
    summary.generation = generation.name
    summary.seconds = time.monotonic() - started
    return summary


def _processes(count: int) -> int:
    """Model processes for ``count`` articles: one per core, unless there are too few to
    repay starting them."""
    return 1 if count < MODEL_PROCESS_MIN else os.cpu_count() or 1


def _encode(batches: Iterable[list[str]], processes: int) -> Iterator[np.ndarray]:
    """The vectors of each batch of texts, in order, from ``processes`` model processes.

    One model thread in each of one process per core: measured on 2 cores (300 SciFact
    articles), one process runs 28.9 articles/s on one thread and 40.4 on two, so the
    cores are better used by a process each.  The workers are forked before any model
    is loaded here: onnxruntime's threads never run in a forked process.
    """
    if processes < 2:
        encoder = Encoder()
        yield from (encoder.encode(texts) for texts in batches)
        return
    with multiprocessing.get_context("fork").Pool(processes, initializer=_start_worker) as pool:
        # The batches are read (Whoosh's stored fields) by the pool's feeding thread, the
        # only one that touches the searcher meanwhile.
        yield from pool.imap(_encode_in_worker, batches)


# A model worker's encoder: one per process, made by the pool's initializer.
_worker_encoder: Encoder | None = None


def _start_worker() -> None:
    global _worker_encoder
    _worker_encoder = Encoder(threads=1)


def _encode_in_worker(texts: list[str]) -> np.ndarray:
    assert _worker_encoder is not None
    return _worker_encoder.encode(texts)


def _publish(index_dir: Path, base: Path, vectors: np.ndarray, has_vector: np.ndarray) -> Path:
    """A new generation: ``base`` as it is (hard links) with these vectors."""
    _, building = store.start_generation(index_dir, base)
    try:
        arrays.save_vectors(building, vectors, has_vector)
        return store.publish(index_dir, building, store.read_manifest(base))
    except BaseException:
        store.discard(building)
        raise
