"""One article, as its page and ``/api/article/<id>`` show it."""

from __future__ import annotations

import json
import re
from typing import Any

from search.engine import Snapshot

_ID = re.compile(r"^[0-9a-f]{16}$")


def find_article(snapshot: Snapshot, article_id: str) -> dict[str, Any] | None:
    """The stored record of the article with ``article_id`` (plus its ``id``), or None.

    The record holds the :class:`~search.records.Article` fields, the article's
    ``institutions`` and, on each author, that author's ``institutions``: the institution
    facet's values, so a page links each to its facet.
    """
    if not _ID.match(article_id):
        return None
    with snapshot.reading() as searcher:
        stored = searcher.document(id=article_id)
    if not stored:
        return None
    record = dict(json.loads(stored["record"]), id=article_id)
    facets = snapshot.facets
    for holder in [record, *record.get("authors", [])]:
        holder["institutions"] = list(dict.fromkeys(map(facets.institution_value, holder.get("institutions", []))))
    return record
