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
    ``institutions`` and, on each author, that author's ``institutions``.
    """
    if not _ID.match(article_id):
        return None
    with snapshot.reading() as searcher:
        stored = searcher.document(id=article_id)
    if not stored:
        return None
    return dict(json.loads(stored["record"]), id=article_id)
