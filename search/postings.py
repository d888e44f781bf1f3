"""The postings of the word fields, made by us instead of Whoosh.

Whoosh's writer spends most of a build in per-posting Python: it buffers every
(field, term, document, positions) tuple, sorts them, encodes them in blocks, and
``reindex`` then read them all back to make the arrays a search reads.  Here each
batch of articles (one export file, analysed in a worker process) becomes a
:class:`Chunk`: for every word field, the batch's sorted vocabulary and its postings
in CSR form, with positions, made with numpy.  The chunks of one Whoosh segment are
then joined (:class:`Joined`) into that segment's arrays (:mod:`search.arrays`), the same
postings Whoosh would have written: the same analyzers, frequencies, document lengths
and positions (``tests/test_arrays.py`` compares them).

Whoosh keeps what it is good at: stored records, ids, facets and columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from whoosh.fields import Schema
from whoosh.formats import Positions, tokens

from search.analysis import spelling_words
from search.schema import CONTENT_PARTS, SCORED_FIELDS

#: The fields whose postings are made here: every scored field.  ``content`` is made of its
#: parts' words (frequencies and lengths added) and keeps no positions: a phrase in it is
#: one in a part.
WORD_FIELDS = SCORED_FIELDS

_BLOCK = 1 << 20


@dataclass
class FieldChunk:
    """One field's postings for a run of documents numbered from 0.

    Rows are terms in byte order; ``docs[indptr[r]:indptr[r+1]]`` are the documents of
    row ``r`` in increasing order, with their frequencies ``tf``.  In a field with
    positions, posting ``p`` has ``tf[p]`` of them, and they follow those of the postings
    before it in ``positions``.  ``lengths`` is each document's length in the field,
    counted as Whoosh counts it.
    """

    terms: list[bytes]
    indptr: np.ndarray
    docs: np.ndarray
    tf: np.ndarray
    positions: np.ndarray
    lengths: np.ndarray
    positional: bool

    def rows(self) -> np.ndarray:
        """The row of every posting."""
        return np.repeat(np.arange(len(self.terms), dtype=np.int64), np.diff(self.indptr))

    def posptr(self) -> np.ndarray:
        """Posting ``p``'s positions are ``positions[posptr[p]:posptr[p+1]]``."""
        return _pointers(self.tf if self.positional else np.zeros(len(self.tf), dtype=np.int32))


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


def is_positional(schema: Schema, name: str) -> bool:
    """Whether field ``name`` keeps positions (phrases can be searched in it)."""
    return isinstance(schema[name].format, Positions)


class ChunkBuilder:
    """Analyses documents one after another into a :class:`Chunk`."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.size = 0
        self._fields = {name: _FieldBuilder(name != "content" and is_positional(schema, name))
                        for name in WORD_FIELDS}
        self._spelling: dict[str, int] = {}
        self._spelling_ids: list[int] = []
        self._spelling_indptr = [0]

    def add(self, document: dict[str, Any]) -> None:
        """Analyse ``document`` (field values as :func:`search.documents.to_document`
        gives them) as the next document, with each field's own analyzer."""
        found = {}
        for name, builder in self._fields.items():
            if name == "content":
                continue
            value = document.get(name)
            found[name] = builder.add(self.size, tokens(value, self.schema[name].analyzer, {
                "positions": builder.positional, "boosts": True, "mode": "index"}) if value else ())
        content: dict[str, list[int]] = {}
        for part in CONTENT_PARTS:
            for text, where in found[part].items():
                content.setdefault(text, []).extend(where)
        self._fields["content"].add_found(self.size, content)
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

    def add(self, docnum: int, stream: Iterable[Any]) -> dict[str, list[int]]:
        """Add document ``docnum``'s tokens; returns each term's positions in it."""
        # As Whoosh's Positions/Frequency formats count: a term's frequency is its tokens
        # in the document, the field's length the sum of its terms' frequencies.
        found: dict[str, list[int]] = {}
        for token in stream:
            found.setdefault(token.text, []).append(token.pos if self.positional else 0)
        self.add_found(docnum, found)
        return found

    def add_found(self, docnum: int, found: dict[str, list[int]]) -> None:
        """Add document ``docnum``, with these terms at these positions (or so many times)."""
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
        # Postings came by document; a stable sort by row keeps each row's documents in order.
        by_row = np.argsort(rows, kind="stable")
        positions = np.array(self.positions, dtype=np.int32)
        if self.positional:
            positions = _segments(positions, _pointers(tf), by_row)
        return FieldChunk(terms=[terms[i] for i in order],
                          indptr=_pointers(np.bincount(rows, minlength=len(terms))),
                          docs=np.array(self.docs, dtype=np.int32)[by_row], tf=tf[by_row], positions=positions,
                          lengths=np.array(self.lengths, dtype=np.int32), positional=self.positional)


def save_chunk(chunk: Chunk, path: Path) -> None:
    """Write ``chunk`` to ``path`` (an uncompressed ``.npz``), from which :class:`Joined`
    reads a field at a time: a build's postings wait on disk, not in memory."""
    blob, offsets = pack_terms(chunk.spelling)
    saved = {"spelling-vocabulary": blob, "spelling-offsets": offsets,
             "spelling-indptr": chunk.spelling_indptr, "spelling-ids": chunk.spelling_ids}
    for name, part in chunk.fields.items():
        blob, offsets = pack_terms(part.terms)
        saved.update({f"{name}-vocabulary": blob, f"{name}-offsets": offsets, f"{name}-indptr": part.indptr,
                      f"{name}-docs": part.docs, f"{name}-tf": part.tf, f"{name}-positions": part.positions,
                      f"{name}-lengths": part.lengths, f"{name}-positional": np.array(part.positional)})
    with open(path, "wb") as stream:
        np.savez(stream, **saved)


def _load_field(path: Path, name: str) -> FieldChunk:
    with np.load(path) as saved:
        return FieldChunk(unpack_terms(saved[f"{name}-vocabulary"], saved[f"{name}-offsets"]), saved[f"{name}-indptr"],
                          saved[f"{name}-docs"], saved[f"{name}-tf"], saved[f"{name}-positions"],
                          saved[f"{name}-lengths"], bool(saved[f"{name}-positional"]))


def _load_spelling(path: Path) -> tuple[list[bytes], np.ndarray, np.ndarray]:
    with np.load(path) as saved:
        return (unpack_terms(saved["spelling-vocabulary"], saved["spelling-offsets"]),
                saved["spelling-indptr"], saved["spelling-ids"])


def pack_terms(terms: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted terms as one blob and the offsets of each."""
    offsets = np.concatenate(([0], np.cumsum([len(t) for t in terms], dtype=np.int64))).astype(np.int64)
    return np.frombuffer(b"".join(terms), dtype=np.uint8), offsets


def unpack_terms(blob: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    """The terms :func:`pack_terms` packed."""
    data = blob.tobytes()
    bounds = offsets.tolist()
    return [data[start:end] for start, end in zip(bounds, bounds[1:])]


@dataclass
class Piece:
    """Some documents of a chunk (saved, or in memory), in a segment: ``keep`` marks those
    written (a file's repeated articles are not; neither are the deleted ones of a
    segment merged in)."""

    chunk: Chunk | Path
    keep: np.ndarray

    def field(self, name: str) -> FieldChunk:
        """The chunk's postings of field ``name``, which it then lets go."""
        return _load_field(self.chunk, name) if isinstance(self.chunk, Path) else self.chunk.fields.pop(name)

    def spelling(self) -> tuple[list[bytes], np.ndarray, np.ndarray]:
        """The chunk's spelling words, and by document (CSR) their rows."""
        if isinstance(self.chunk, Path):
            return _load_spelling(self.chunk)
        return self.chunk.spelling, self.chunk.spelling_indptr, self.chunk.spelling_ids


class Joined:
    """The kept documents of ``pieces``, numbered in order from 0: a segment's postings
    from those of its batches, a field at a time (the batches' copy of a field is let go
    once it is joined, so a build holds its postings about once)."""

    def __init__(self, pieces: list[Piece]) -> None:
        self._pieces = pieces
        self._numbers = []
        self.size = 0
        for piece in pieces:
            self._numbers.append(np.where(piece.keep, self.size + np.cumsum(piece.keep.astype(np.int64)) - 1, -1))
            self.size += int(piece.keep.sum())

    def field(self, name: str) -> FieldChunk:
        """The joined postings of field ``name``."""
        # Large arrays are let go as soon as they are used: at 100,000 articles the abstract's
        # postings are some hundreds of megabytes, and the build's peak memory is this join.
        parts = [piece.field(name) for piece in self._pieces]
        positional = any(part.positional for part in parts)
        terms = sorted(set().union(*(part.terms for part in parts)))
        row_of = {term: row for row, term in enumerate(terms)}
        rows, docs, tf, positions = [], [], [], []
        lengths = np.zeros(self.size, dtype=np.int32)
        for number in self._numbers:
            part = parts.pop(0)  # let go of it once its arrays are taken
            new_docs = number[part.docs]
            kept = new_docs >= 0
            everything = bool(kept.all())
            mapping = np.array([row_of[t] for t in part.terms], dtype=np.int32)
            rows.append(mapping[part.rows()] if everything else mapping[part.rows()][kept])
            docs.append(new_docs.astype(np.int32) if everything else new_docs[kept].astype(np.int32))
            tf.append(part.tf if everything else part.tf[kept])
            if positional:
                positions.append(part.positions if everything else
                                 _segments(part.positions, part.posptr(), np.flatnonzero(kept)))
            lengths[number[number >= 0]] = part.lengths[number >= 0]
        row = _concatenate(rows, np.int32)
        del rows
        # Parts are in document order, so a stable sort by row leaves each row's documents sorted.
        by_row = np.argsort(row, kind="stable")
        indptr = _pointers(np.bincount(row, minlength=len(terms)))
        del row
        joined_docs = _concatenate(docs, np.int32)[by_row]
        del docs
        frequency = _concatenate(tf, np.int32)
        del tf
        joined_positions = np.zeros(0, dtype=np.int32)
        if positional:
            everywhere = _concatenate(positions, np.int32)
            del positions
            joined_positions = _segments(everywhere, _pointers(frequency), by_row)
        return FieldChunk(terms=terms, indptr=indptr, docs=joined_docs, tf=frequency[by_row],
                          positions=joined_positions, lengths=lengths, positional=positional)

    def spelling(self) -> tuple[list[bytes], np.ndarray]:
        """The spelling words of the kept documents, sorted, and in how many each stands."""
        spellings = [piece.spelling() for piece in self._pieces]
        words = sorted(set().union(*(spelling for spelling, _, _ in spellings)))
        row_of = {word: row for row, word in enumerate(words)}
        frequency = np.zeros(len(words), dtype=np.int64)
        for piece, (spelling, indptr, ids) in zip(self._pieces, spellings):
            kept = np.repeat(piece.keep, np.diff(indptr))
            mapping = np.array([row_of[w] for w in spelling], dtype=np.int64)
            if len(mapping):
                frequency += np.bincount(mapping[ids[kept]], minlength=len(words))
        return words, frequency.astype(np.int32)


def _concatenate(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype=dtype)


def _pointers(counts: np.ndarray) -> np.ndarray:
    """CSR pointers of runs of these lengths."""
    # Cast first: numpy's cumsum casting as it adds is some thirty times slower.
    return np.concatenate(([0], np.cumsum(counts.astype(np.int64, copy=False))))


def _segments(values: np.ndarray, pointers: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The runs ``values[pointers[i]:pointers[i+1]]`` for ``i`` in ``order``, concatenated."""
    starts = pointers[order]
    lengths = pointers[order + 1] - starts
    result = np.empty(int(lengths.sum()), dtype=np.int32)
    at = 0
    # In blocks: the index arrays are 8 bytes a value, more than the values themselves.
    for block in range(0, len(order), _BLOCK):
        block_starts, block_lengths = starts[block:block + _BLOCK], lengths[block:block + _BLOCK]
        index = run_index(block_starts, block_lengths)
        result[at:at + len(index)] = values[index]
        at += len(index)
    return result


def run_index(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indices ``starts[i] .. starts[i] + lengths[i] - 1`` of every run ``i``, concatenated,
    without a loop over runs."""
    return np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
