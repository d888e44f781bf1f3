"""An index folder opened for searching, following ``reindex``'s swaps.

Opening an index and memory-mapping its arrays (:mod:`search.arrays`) costs far
more than a query, so a :class:`Snapshot` is made once per generation and reused; each request
only reads the small ``CURRENT`` file to learn whether a newer generation was
swapped in.  The meaning model (:mod:`search.semantic`) is loaded once, with
the first snapshot, and shared by all of them.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from whoosh.index import Index
from whoosh.searching import Searcher

from search import store
from search.arrays import ArraysDamaged, IndexArrays, open_arrays
from search.facets import FacetData
from search.ranking import weighting
from search.retrieval import Retriever
from search.semantic import Encoder


@dataclass
class Snapshot:
    """One generation of the index, open for searching."""

    generation: Path
    index: Index
    arrays: IndexArrays
    doc_count: int
    built_at: float
    encoder: Encoder
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _searcher: Searcher | None = field(default=None, repr=False)
    retriever: Retriever = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.retriever = Retriever(self.arrays, self.index.schema)

    @property
    def facets(self) -> FacetData:
        """The generation's facet values, by docnum."""
        return self.arrays.facets

    def meaning_progress(self) -> tuple[int, int]:
        """(live articles with a meaning vector, live articles still without one)."""
        live = self.arrays.live
        done = int((live & self.arrays.has_vector).sum())
        return done, int(live.sum()) - done

    @contextmanager
    def reading(self) -> Iterator[Searcher]:
        """The generation's Whoosh searcher, this thread's alone until the block ends.

        Whoosh's readers keep file positions, so threads take turns with one searcher
        rather than each opening its own: every searcher maps the segment files anew,
        and with one per server thread a process's resident memory grew by the
        index's size per thread (measured: 4 threads, 10k articles, +330 MB).  A
        search holds it only to read its page's stored fields.
        """
        with self._lock:
            if self._searcher is None:
                self._searcher = self.index.searcher(weighting=weighting())
                # The searcher holds the segment's files open; they close when the last
                # request using this generation lets it go, after a swap.
                weakref.finalize(self, self._searcher.close)
            yield self._searcher


class Engine:
    """The search side of an index folder.

    :param index_dir: the folder ``reindex`` writes.
    :param model_threads: CPU threads a query's meaning vector may use (0: one per core).
    """

    def __init__(self, index_dir: Path, model_threads: int = 0) -> None:
        self.index_dir = Path(index_dir)
        self.model_threads = model_threads
        self._snapshot: Snapshot | None = None
        self._encoder: Encoder | None = None
        self._opening = threading.Lock()
        self._damaged: tuple[Path, str] | None = None

    def snapshot(self) -> Snapshot:
        """The live generation, reopened only when ``reindex`` has swapped in a new one.

        :raises store.IndexMissing: when there is no readable index.
        """
        generation = store.live_generation(self.index_dir)
        if self._damaged is not None and self._damaged[0] == generation:
            raise store.IndexMissing(self._damaged[1])
        current = self._snapshot
        if current is not None and current.generation == generation:
            return current
        with self._opening:
            if self._snapshot is None or self._snapshot.generation != generation:
                self._encoder = self._encoder or Encoder(threads=self.model_threads)
                self._snapshot = _open(self.index_dir, self._encoder)
            return self._snapshot

    def mark_damaged(self, snapshot: Snapshot, reason: str) -> None:
        """Stop serving ``snapshot``'s generation, found damaged while searching it: until
        ``reindex`` swaps in another, :meth:`snapshot` raises ``IndexMissing(reason)``."""
        self._damaged = (snapshot.generation, reason)


def _open(index_dir: Path, encoder: Encoder) -> Snapshot:
    index, generation = store.open_live(index_dir)
    try:
        with index.reader() as reader:
            doc_count = reader.doc_count()
    except Exception as error:  # Whoosh raises several types for a damaged or missing segment
        raise store.IndexMissing(f"index in {generation} is unreadable: {error!r}") from error
    try:
        arrays = open_arrays(generation, index)
    except ArraysDamaged as error:
        # Served wrong is worse than not served: the site says why and stays down.
        raise store.IndexMissing(f"index in {generation} cannot be served: {error}") from error
    manifest = store.read_manifest(generation)
    return Snapshot(generation, index, arrays, doc_count, manifest.built_at, encoder)
