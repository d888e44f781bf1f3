"""A speed trap of Whoosh 2.7.4's writer, fixed where it is (imported by ``reindex``).

At commit, Whoosh's ``add_postings`` asks the new segment's per-document reader for
the field length of every posting, also in fields that keep no lengths (ids, facets,
numbers, spelling words).  For those the reader finds no column and, not caching
that answer, asks the file system again on the next posting: a ``stat`` per posting,
1.3 million of them for 10,000 articles, a tenth of the words phase (cProfile).  A
segment's columns never change once written, so "no column" is cached like a column.
"""

from __future__ import annotations

from typing import Any

from whoosh.codec.whoosh3 import W3PerDocReader

_MISSING = object()


def _cached_reader(self: W3PerDocReader, fieldname: str, column: Any) -> Any:
    reader = self._readers.get(fieldname, _MISSING)
    if reader is _MISSING:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
    return reader


W3PerDocReader._cached_reader = _cached_reader
