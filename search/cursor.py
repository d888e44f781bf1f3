"""Cursors: walking every result of a search a page at a time, as harvesters do.

A page number is refused past the result window (``SEARCH_MAX_RESULT_WINDOW``), since
each deeper page ranks everything before it again.  A cursor instead names the last
result a page gave, so the next page is the results after it in the search's order
(Europe PMC's ``cursorMark``, Elasticsearch's ``search_after``).  The order is total
(equal scores or dates go by docnum), so a walk gives every result exactly once.

Docnums and scores are those of one index generation: a cursor carries its generation's
name and a fingerprint of the search it belongs to, and is refused once either differs.
It is opaque to clients: URL-safe base64 of a small JSON array.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: The cursor value that starts a walk.
START = "*"


class CursorError(ValueError):
    """A cursor that cannot be continued; the message says why and what to do."""


@dataclass(frozen=True)
class Cursor:
    """Where a walk over one search's results stands.

    :param generation: the index generation's name the walk runs on.
    :param search: :func:`fingerprint` of the search walked.
    :param after: the docnum of the last result given, None before the first page.
    """

    generation: str
    search: str
    after: int | None = None

    def encode(self) -> str:
        """The opaque text a client sends back as ``cursor=``."""
        raw = json.dumps([self.generation, self.search, self.after], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def fingerprint(q: str, filters: Any, sort: str) -> str:
    """A short digest of what decides a search's results and their order (the page size does not)."""
    described = json.dumps([q, asdict(filters), sort], sort_keys=True, default=list)
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def decode(text: str, generation: str, search: str, documents: int) -> Cursor:
    """The cursor ``text`` (or :data:`START`) for ``search`` on ``generation``.

    :param documents: docnums in the generation (a cursor naming one past them is not ours).
    :raises CursorError: for text this API did not give, a cursor of another search, or
        one of a generation no longer served.
    """
    if text == START:
        return Cursor(generation, search)
    try:
        padded = text + "=" * (-len(text) % 4)
        made_on, made_for, after = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        valid = (isinstance(made_on, str) and isinstance(made_for, str)
                 and type(after) is int and 0 <= after < documents)
    except (ValueError, TypeError, UnicodeError, binascii.Error, RecursionError):
        valid = False
    if not valid:
        raise CursorError("cursor is not one this API gave: start the walk with cursor=*")
    if made_on != generation:
        raise CursorError(f"cursor belongs to index generation {made_on!r}, which has since been "
                          f"replaced by {generation!r}: start the walk again with cursor=*")
    if made_for != search:
        raise CursorError("cursor belongs to another search (its query, filters or sort differ): "
                          "send the parameters it was given with, or start a walk with cursor=*")
    return Cursor(generation, search, after)


def after(values: np.ndarray, scope: np.ndarray, docnum: int) -> np.ndarray:
    """``scope`` narrowed to the documents ranked after ``docnum`` in the order higher
    ``values`` first, then lower docnum (that of :func:`search.query._top`)."""
    value = values[docnum]
    later = values < value
    later[docnum + 1:] |= values[docnum + 1:] == value
    return scope & later
