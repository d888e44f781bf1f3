"""One article, as its page and ``/api/article/<id>`` show it; the list of all of them, as the sitemap shows it."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from search.engine import Snapshot

_ID = re.compile(r"^[0-9a-f]{16}$")


def find_article(snapshot: Snapshot, article_id: str) -> dict[str, Any] | None:
    """The stored record of the article with ``article_id`` (plus its ``id``), or None.

    The record holds the :class:`~search.records.Article` fields, the article's
    ``institutions`` and, on each author, that author's ``institutions``: the institution
    facet's values, so a page links each to its facet.
    """
    located = locate_article(snapshot, article_id)
    return located[0] if located else None


def locate_article(snapshot: Snapshot, article_id: str) -> tuple[dict[str, Any], int] | None:
    """The record :func:`find_article` returns and the article's document number, or None."""
    docnum = docnum_of(snapshot, article_id)
    if docnum is None:
        return None
    with snapshot.reading() as searcher:
        stored = searcher.stored_fields(docnum)
    record = dict(json.loads(stored["record"]), id=article_id)
    facets = snapshot.facets
    for holder in [record, *record.get("authors", [])]:
        holder["institutions"] = list(dict.fromkeys(map(facets.institution_value, holder.get("institutions", []))))
    return record, docnum


def docnum_of(snapshot: Snapshot, article_id: str) -> int | None:
    """The document number of the live article with ``article_id``, or None."""
    if not _ID.match(article_id):
        return None
    with snapshot.reading() as searcher:
        return searcher.document_number(id=article_id)


def article_ids(snapshot: Snapshot, start: int, stop: int) -> list[str]:
    """The ids of the generation's articles ``start`` to ``stop`` (exclusive), in docnum order.

    The index keeps no array of ids, and the ``id`` field's lexicon still holds deleted
    documents' terms (telling them apart would mean one postings read per term), so the
    ids are read from the stored fields of the live documents in the range only (one
    unpickling an article: the sample's 605 sitemap in 26 ms, some 2 s for a full file of
    50,000).  Fine for the sitemap, which crawlers fetch rarely, one file at a time.
    """
    docnums = np.flatnonzero(snapshot.arrays.live)[start:stop]
    with snapshot.reading() as searcher:
        return [searcher.stored_fields(int(docnum))["id"] for docnum in docnums]
