"""Two speed traps of Whoosh 2.7.4's writer, fixed where they are (imported by ``reindex``).

At commit, Whoosh's ``add_postings`` asks the new segment's per-document reader for
the field length of every posting, to keep each block's shortest and longest document.

* In fields that keep no lengths (ids, facets, numbers) the reader finds no column and,
  not caching that answer, asks the file system again on the next posting: a ``stat``
  per posting, 1.3 million of them for 10,000 articles, a tenth of the words phase
  (cProfile).  "No column" is now cached like a column.
* In fields that do, each answer is a seek and a read of one byte of the column file
  (``StructFile.get``): 7% of a single-process build of 3,000 articles (cProfile,
  625,237 calls).  The column, one byte a document, is now read once into memory.

A segment's columns never change once written, so both caches stay true.
"""

from __future__ import annotations

from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader, _lenfield
from whoosh.util.numeric import byte_to_length

_MISSING = object()


def _cached_reader(self: W3PerDocReader, fieldname: str, column: Any) -> Any:
    reader = self._readers.get(fieldname, _MISSING)
    if reader is _MISSING:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
    return reader


def _doc_field_length(self: W3PerDocReader, docnum: int, fieldname: str, default: int = 0) -> int | None:
    if docnum > self._doccount:
        raise IndexError(f"Asked for docnum {docnum!r} of {self._doccount}")
    column = _lenfield(fieldname)
    lengths = self.__dict__.setdefault("_length_bytes", {})
    if column not in lengths:
        reader = self._cached_reader(column, LENGTHS_COLUMN)
        lengths[column] = None if reader is None else bytes(reader[d] for d in range(self._doccount))
    encoded = lengths[column]
    if encoded is None:
        return default
    # As Whoosh's own: a zero byte (no words) gives None.
    return byte_to_length(encoded[docnum]) if encoded[docnum] else None


W3PerDocReader._cached_reader = _cached_reader
W3PerDocReader.doc_field_length = _doc_field_length
