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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from whoosh import index as whoosh_index

from search import arrays, store
from search.documents import meaning_text
from search.records import Article
from search.semantic import STORED_DTYPE, Encoder

#: Articles read and encoded together (the model runs far faster on a batch).
ENCODE_BATCH = 256
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
    vectors, has_vector = np.array(current.vectors), np.array(current.has_vector)
    encoder = Encoder()
    unpublished = 0
    with index.searcher() as searcher:
        for start in range(0, len(todo), ENCODE_BATCH):
            batch = todo[start:start + ENCODE_BATCH]
            texts = [meaning_text(Article.from_dict(json.loads(searcher.stored_fields(int(d))["record"])))
                     for d in batch]
            vectors[batch] = encoder.encode(texts).astype(STORED_DTYPE)
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


def _publish(index_dir: Path, base: Path, vectors: np.ndarray, has_vector: np.ndarray) -> Path:
    """A new generation: ``base`` as it is (hard links) with these vectors."""
    _, building = store.start_generation(index_dir, base)
    try:
        arrays.save_vectors(building, vectors, has_vector)
        return store.publish(index_dir, building, store.read_manifest(base))
    except BaseException:
        store.discard(building)
        raise
