"""The postings of the word fields, made by us instead of Whoosh.

Whoosh's writer spends most of a build in per-posting Python: it buffers every
(field, term, document, positions) tuple, sorts them, encodes them in blocks, and
``reindex`` then read them all back to make the arrays a search reads.  Here each
batch of articles (one export file, analysed in a worker process) becomes a
:class:`Chunk`: for every word field, the batch's sorted vocabulary and its postings
in CSR form, with positions, made with numpy.  The chunks of one Whoosh segment are
then joined (:func:`join`) into that segment's arrays (:mod:`search.arrays`), the same
postings Whoosh would have written: the same analyzers, frequencies, document lengths
and positions (``tests/test_arrays.py`` compares them).

Whoosh keeps what it is good at: stored records, ids, facets and columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
from whoosh.fields import Schema
from whoosh.formats import Positions, tokens

from search.analysis import spelling_words
from search.schema import CONTENT_PARTS, SCORED_FIELDS

#: The fields whose postings are made here: every scored field but ``content``, which
#: :mod:`search.arrays` derives from its parts.
WORD_FIELDS = tuple(name for name in SCORED_FIELDS if name != "content")


@dataclass
class FieldChunk:
    """One field's postings for a run of documents numbered from 0.

    Rows are terms in byte order; ``docs[indptr[r]:indptr[r+1]]`` are the documents of
    row ``r`` in increasing order, with their frequencies ``tf``; posting ``p``'s positions
    are ``positions[posptr[p]:posptr[p+1]]`` (none for a field without positions).
    ``lengths`` is each document's length in the field, counted as Whoosh counts it.
    """

    terms: list[bytes]
    indptr: np.ndarray
    docs: np.ndarray
    tf: np.ndarray
    posptr: np.ndarray
    positions: np.ndarray
    lengths: np.ndarray

    def rows(self) -> np.ndarray:
        """The row of every posting."""
        return np.repeat(np.arange(len(self.terms), dtype=np.int64), np.diff(self.indptr))


@dataclass
class Chunk:
    """The word postings and spelling words of a run of documents numbered from 0."""

    size: int
    fields: dict[str, FieldChunk]
    #: The words as written of each document's title and abstract (``spelling_words``),
    #: CSR by document over the sorted ``spelling`` vocabulary.
    spelling: list[bytes] = field(default_factory=list)
    spelling_indptr: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    spelling_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))


class ChunkBuilder:
    """Analyses documents one after another into a :class:`Chunk`."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.size = 0
        self._fields = {name: _FieldBuilder(isinstance(schema[name].format, Positions)) for name in WORD_FIELDS}
        self._spelling: dict[str, int] = {}
        self._spelling_ids: list[int] = []
        self._spelling_indptr = [0]

    def add(self, document: dict[str, Any]) -> None:
        """Analyse ``document`` (field values as :func:`search.documents.to_document`
        gives them) as the next document, with each field's own analyzer."""
        for name, builder in self._fields.items():
            value = document.get(name)
            builder.add(self.size, tokens(value, self.schema[name].analyzer, {"positions": builder.positional,
                                                                               "boosts": True, "mode": "index"})
                        if value else ())
        words = set().union(*(spelling_words(document[part]) for part in CONTENT_PARTS if part in document))
        self._spelling_ids += [self._spelling.setdefault(word, len(self._spelling)) for word in words]
        self._spelling_indptr.append(len(self._spelling_ids))
        self.size += 1

    def chunk(self) -> Chunk:
        """The postings of every document added, sorted."""
        fields = {name: builder.chunk() for name, builder in self._fields.items()}
        words = list(self._spelling)
        order = sorted(range(len(words)), key=lambda i: words[i])
        row_of = np.empty(len(words), dtype=np.int32)
        row_of[order] = np.arange(len(words), dtype=np.int32)
        return Chunk(self.size, fields, [words[i].encode("utf-8") for i in order],
                     np.array(self._spelling_indptr, dtype=np.int64),
                     row_of[np.array(self._spelling_ids, dtype=np.int64)])


class _FieldBuilder:
    """One field's postings as lists, in the order documents and their terms came."""

    def __init__(self, positional: bool) -> None:
        self.positional = positional
        self.term_ids: dict[str, int] = {}
        self.rows: list[int] = []
        self.docs: list[int] = []
        self.tf: list[int] = []
        self.positions: list[int] = []
        self.lengths: list[int] = []

    def add(self, docnum: int, stream: Iterable[Any]) -> None:
        # As Whoosh's Positions/Frequency formats count: a term's frequency is its tokens
        # in the document, the field's length the sum of its terms' frequencies.
        found: dict[str, list[int]] = {}
        for token in stream:
            found.setdefault(token.text, []).append(token.pos if self.positional else 0)
        length = 0
        for text, where in found.items():
            self.rows.append(self.term_ids.setdefault(text, len(self.term_ids)))
            self.tf.append(len(where))
            length += len(where)
            if self.positional:
                self.positions += where
        self.docs += [docnum] * len(found)
        self.lengths.append(length)

    def chunk(self) -> FieldChunk:
        terms = [text.encode("utf-8") for text in self.term_ids]
        order = sorted(range(len(terms)), key=terms.__getitem__)
        row_of = np.empty(len(terms), dtype=np.int64)
        row_of[order] = np.arange(len(terms))
        rows = row_of[np.array(self.rows, dtype=np.int64)]
        tf = np.array(self.tf, dtype=np.int32)
        posptr = _pointers(tf if self.positional else np.zeros(len(tf), dtype=np.int32))
        # Postings came by document; a stable sort by row keeps each row's documents in order.
        by_row = np.argsort(rows, kind="stable")
        positions = _segments(np.array(self.positions, dtype=np.int32), posptr, by_row)
        return FieldChunk(terms=[terms[i] for i in order],
                          indptr=_pointers(np.bincount(rows, minlength=len(terms))),
                          docs=np.array(self.docs, dtype=np.int32)[by_row], tf=tf[by_row],
                          posptr=_pointers(np.diff(posptr)[by_row]), positions=positions,
                          lengths=np.array(self.lengths, dtype=np.int32))


@dataclass
class Piece:
    """Some documents of a chunk, in a segment: ``keep`` marks those written (a file's
    repeated articles are not; neither are the deleted ones of a segment merged in)."""

    chunk: Chunk
    keep: np.ndarray


def join(pieces: list[Piece]) -> Chunk:
    """One chunk of the kept documents of ``pieces``, numbered in order from 0: a segment's
    postings from those of its batches."""
    numbers = []
    offset = 0
    for piece in pieces:
        numbers.append(np.where(piece.keep, offset + np.cumsum(piece.keep) - 1, -1))
        offset += int(piece.keep.sum())
    fields = {name: _join_field([p.chunk.fields[name] for p in pieces], numbers, offset) for name in WORD_FIELDS}
    words = sorted(set().union(*(p.chunk.spelling for p in pieces)))
    row_of = {word: row for row, word in enumerate(words)}
    ids, counts = [], []
    for piece in pieces:
        chunk = piece.chunk
        mapping = np.array([row_of[w] for w in chunk.spelling], dtype=np.int32)
        per_document = np.diff(chunk.spelling_indptr)
        kept = np.repeat(piece.keep, per_document)
        ids.append(mapping[chunk.spelling_ids[kept]] if len(mapping) else chunk.spelling_ids[kept])
        counts.append(per_document[piece.keep])
    return Chunk(offset, fields, words, _pointers(np.concatenate(counts) if counts else np.zeros(0, np.int64)),
                 np.concatenate(ids).astype(np.int32) if ids else np.zeros(0, dtype=np.int32))


def _join_field(parts: list[FieldChunk], numbers: list[np.ndarray], size: int) -> FieldChunk:
    terms = sorted(set().union(*(part.terms for part in parts)))
    row_of = {term: row for row, term in enumerate(terms)}
    rows, docs, tf, counts, positions = [], [], [], [], []
    for part, number in zip(parts, numbers):
        new_docs = number[part.docs]
        kept = new_docs >= 0
        mapping = np.array([row_of[t] for t in part.terms], dtype=np.int64)
        rows.append(mapping[part.rows()][kept] if len(mapping) else np.zeros(0, dtype=np.int64))
        docs.append(new_docs[kept])
        tf.append(part.tf[kept])
        counts.append(np.diff(part.posptr)[kept])
        positions.append(_segments(part.positions, part.posptr, np.flatnonzero(kept)))
    rows_all = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    # Parts are in document order, so a stable sort by row leaves each row's documents sorted.
    by_row = np.argsort(rows_all, kind="stable")
    count = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    lengths = np.zeros(size, dtype=np.int32)
    for part, number in zip(parts, numbers):
        kept = number >= 0
        lengths[number[kept]] = part.lengths[kept]
    return FieldChunk(terms=terms, indptr=_pointers(np.bincount(rows_all, minlength=len(terms))),
                      docs=np.concatenate(docs).astype(np.int32)[by_row] if docs else np.zeros(0, np.int32),
                      tf=np.concatenate(tf).astype(np.int32)[by_row] if tf else np.zeros(0, np.int32),
                      posptr=_pointers(count[by_row]),
                      positions=_segments(np.concatenate(positions) if positions else np.zeros(0, np.int32),
                                          _pointers(count), by_row),
                      lengths=lengths)


def _pointers(counts: np.ndarray) -> np.ndarray:
    """CSR pointers of runs of these lengths."""
    return np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))


def _segments(values: np.ndarray, pointers: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The runs ``values[pointers[i]:pointers[i+1]]`` for ``i`` in ``order``, concatenated."""
    starts = pointers[order]
    lengths = pointers[order + 1] - starts
    if not len(lengths) or not lengths.sum():
        return np.zeros(0, dtype=np.int32)
    # Indices of every value of every run, without a loop over runs.
    index = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths) + np.arange(lengths.sum())
    return values[index].astype(np.int32)
