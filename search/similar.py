"""Articles like one article: its nearest neighbours by meaning vector.

The article page lists ten, ``/article/<id>/similar`` more.  Every article's vector is
already in the generation's memory-mapped matrix (:mod:`search.arrays`), so the
neighbours are one matrix-vector product over it and an ``argpartition``: no second
index, and nothing to keep in step with ``reindex``.
"""

from __future__ import annotations

import numpy as np

from search.engine import Snapshot
# The results page's own hit maker: a similar article is shown as a result is.
from search.query import Hit, make_hit

#: Neighbours on the article page; the "more like it" page lists up to :data:`MORE_SIMILAR`.
SIMILAR = 10
MORE_SIMILAR = 50


def similarities(snapshot: Snapshot, docnum: int) -> np.ndarray | None:
    """The cosine of every document's vector with ``docnum``'s, ``-inf`` for the article
    itself, deleted documents and documents without a vector; None when ``docnum`` has
    no vector yet (its meaning phase is pending).

    The stored vectors are unit length (:meth:`search.semantic.Encoder.encode`), so the
    dot product is the cosine.
    """
    arrays = snapshot.arrays
    if not arrays.has_vector[docnum]:
        return None
    scores = arrays.vectors.scores(arrays.vectors[docnum])
    scores[~(arrays.live & arrays.has_vector)] = -np.inf
    scores[docnum] = -np.inf
    return scores


def similar_articles(snapshot: Snapshot, docnum: int, limit: int = SIMILAR) -> list[Hit]:
    """Up to ``limit`` articles nearest ``docnum``'s by meaning, nearest first, each a
    results page's :class:`~search.query.Hit` whose ``score`` is the cosine; empty when
    the article has no vector yet.

    :param docnum: the article's document number in ``snapshot`` (see
        :func:`search.articles.docnum_of`).
    """
    scores = similarities(snapshot, docnum)
    if scores is None or limit <= 0:
        return []
    candidates = int(np.isfinite(scores).sum())
    limit = min(limit, candidates)
    if not limit:
        return []
    top = np.argpartition(-scores, limit - 1)[:limit]
    top = top[np.lexsort((top, -scores[top]))]
    with snapshot.reading() as searcher:
        stored = [searcher.stored_fields(int(d)) for d in top]
    return [make_hit(fields, float(scores[d]), {}, snapshot.facets) for fields, d in zip(stored, top)]
