"""The index's arrays: what a search reads instead of walking Whoosh's posting lists.

Whoosh stays the store of record (stored fields, ids, facets); the word fields'
postings are made by ``reindex`` itself (:mod:`search.postings`).  Once a
generation's Whoosh index is committed, ``reindex`` writes beside it, as ``.npy``
files that every search process memory-maps:

* per Whoosh segment and scored text field, the segment's postings in CSR form:
  the sorted vocabulary (one UTF-8 blob and its offsets), and for term ``t``
  the documents ``docs[indptr[t]:indptr[t+1]]`` with their term frequencies,
  each posting's positions (for phrases), and each document's field length as
  Whoosh's scorer sees it;
* per Whoosh segment, the words of its titles and abstracts as written (not stemmed),
  with their document frequencies: the vocabulary of "did you mean";
* per generation, which documents are live, the facet values (years, dates,
  journals, institutions) and which documents have a meaning vector;
* per segment, its documents' meaning vectors (a float32 matrix), carried over as a
  hard link until the meaning phase gives its documents vectors.

Segments never change once written, so their arrays are made once and carried
to later generations as hard links, like Whoosh's own files; a ``reindex`` writes
the arrays of the one segment it adds.  ``arrays.json`` lists every file
with its shape and dtype; :func:`open_arrays` refuses a generation whose files do
not match it or the Whoosh index beside them.
"""

from __future__ import annotations

import json
import os
import secrets
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.index import Index
from whoosh.reading import IndexReader
from whoosh.util.numeric import byte_to_length, length_to_byte

from search.facets import FacetData, facet_arrays, institutions_current
from search.postings import WORD_FIELDS, Chunk, FieldChunk, Joined, pack_terms, unpack_terms
from search.schema import KEY_BYTES, SCORED_FIELDS
from search.semantic import DIMENSIONS, MODEL_ID, STORED_DTYPE

#: The file that describes a generation's arrays; written last.
DESCRIPTION = "arrays.json"
#: Bumped when the layout changes: a generation of another version is rebuilt, not read.
VERSION = 5

_SEGMENT_KINDS = ("vocabulary", "offsets", "indptr", "docs", "tf", "lengths")
# Beside those, each document's exact field length (to merge segments), and in a field
# with positions each posting's positions.
_SPELLING_KINDS = ("vocabulary", "offsets", "frequency")
# Whoosh stores a field's length in one byte per document; its scorer decodes it so.
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)


class ArraysDamaged(Exception):
    """A generation's arrays are missing, damaged, or do not match its Whoosh index."""


@dataclass
class Vocabulary:
    """A field's sorted terms, looked up by binary search on the memory-mapped blob."""

    blob: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, row: int) -> bytes:
        return self.blob[self.offsets[row]:self.offsets[row + 1]].tobytes()

    def row(self, term: bytes) -> int | None:
        """The row of ``term``, or None when the segment does not have it."""
        row = bisect_left(self, term)
        return row if row < len(self) and self[row] == term else None

    def prefix_rows(self, prefix: bytes) -> range:
        """The rows of every term starting with ``prefix`` (a range of the sorted vocabulary)."""
        low = bisect_left(self, prefix)
        high = bisect_left(self, prefix + b"\xff")
        return range(low, high)


@dataclass
class FieldPostings:
    """One segment's postings of one field."""

    vocabulary: Vocabulary
    indptr: np.ndarray
    docs: np.ndarray
    tf: np.ndarray
    lengths: np.ndarray
    total_length: int
    #: Posting ``p``'s positions are ``positions[posptr[p]:posptr[p+1]]``; None for
    #: ``content``, whose phrases are found in its parts.
    posptr: np.ndarray | None = None
    positions: np.ndarray | None = None

    def postings(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(documents, term frequencies) of vocabulary row ``row``, segment-local documents."""
        start, end = self.indptr[row], self.indptr[row + 1]
        return self.docs[start:end], self.tf[start:end]

    def positions_in(self, row: int, docs: np.ndarray) -> list[np.ndarray | None]:
        """The positions of term ``row`` in each of ``docs`` (sorted, segment-local), None
        where the document does not have it."""
        assert self.posptr is not None and self.positions is not None
        start, end = int(self.indptr[row]), int(self.indptr[row + 1])
        having = self.docs[start:end]
        found: list[np.ndarray | None] = []
        for doc, at in zip(docs.tolist(), np.searchsorted(having, docs).tolist()):
            posting = start + at
            present = at < len(having) and having[at] == doc
            found.append(self.positions[self.posptr[posting]:self.posptr[posting + 1]] if present else None)
        return found


@dataclass
class Spelling:
    """The words of one segment's titles and abstracts as written, and in how many of its
    documents each stands: the vocabulary of "did you mean" (:mod:`search.suggest`)."""

    vocabulary: Vocabulary
    frequency: np.ndarray


@dataclass
class Segment:
    """One Whoosh segment's arrays and where its documents start in the index."""

    segment_id: str
    offset: int
    size: int
    fields: dict[str, FieldPostings]
    spelling: Spelling


class Vectors:
    """A generation's meaning vectors: one matrix per segment, which later generations share
    as hard links until the meaning phase gives its documents vectors; indexed by docnum
    like one matrix."""

    def __init__(self, parts: list[np.ndarray], offsets: np.ndarray) -> None:
        self.parts = parts
        #: The first docnum of each part, then the number of documents.
        self.offsets = offsets

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, index: Any) -> np.ndarray:
        """The rows of docnums ``index`` (an integer, integers, or a boolean mask)."""
        index = np.asarray(index)
        docnums = np.atleast_1d(np.flatnonzero(index) if index.dtype == bool else index).astype(np.int64)
        part = np.searchsorted(self.offsets, docnums, side="right") - 1
        rows = np.empty((len(docnums), DIMENSIONS), dtype=STORED_DTYPE)
        for number in np.unique(part).tolist():
            at = part == number
            rows[at] = self.parts[number][docnums[at] - self.offsets[number]]
        return rows[0] if index.ndim == 0 and index.dtype != bool else rows

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = np.concatenate(self.parts) if self.parts else np.zeros((0, DIMENSIONS), dtype=STORED_DTYPE)
        return whole.astype(dtype) if dtype is not None else whole

    def editable(self, docnums: np.ndarray) -> np.ndarray:
        """One writable matrix with the vectors of the segments that hold ``docnums``; the
        other rows are zeros, which no one reads: numpy's zeros take no memory until written,
        so an incremental run does not copy 150 MB to change a few segments."""
        whole = np.zeros((len(self), DIMENSIONS), dtype=STORED_DTYPE)
        for number in np.unique(np.searchsorted(self.offsets, docnums, side="right") - 1).tolist():
            whole[self.offsets[number]:self.offsets[number + 1]] = self.parts[number]
        return whole

    def scores(self, vector: np.ndarray) -> np.ndarray:
        """Every document's dot product with ``vector``."""
        return np.concatenate([part @ vector for part in self.parts]) if self.parts else np.zeros(0)


@dataclass
class IndexArrays:
    """Every array of one generation, memory-mapped."""

    segments: list[Segment]
    size: int
    facets: FacetData
    vectors: Vectors
    has_vector: np.ndarray

    @property
    def live(self) -> np.ndarray:
        """Which docnums are live (not deleted)."""
        return self.facets.live

    def average_length(self, field: str) -> float:
        """The field's average length over every document, as Whoosh's BM25 takes it."""
        total = sum(segment.fields[field].total_length for segment in self.segments)
        return total / (self.size or 1)


# --- writing ---------------------------------------------------------------------------------

def build(generation: Path, index: Index, written: Joined | None, previous: Path | None = None,
          vectors_from: Path | None = None) -> None:
    """Write the arrays of the committed Whoosh index in ``generation``.

    :param written: the postings of the segment this run wrote (None when it wrote none).
    :param previous: the generation it was copied from; its segments' arrays are
        already in ``generation`` as hard links and are kept, not read again.
    :param vectors_from: a generation whose meaning vectors are carried over to the
        articles whose meaning text is the same (the live one, when rebuilding too).
    :raises ArraysDamaged: a segment has no arrays to carry over and is not the one written.
    """
    files: dict[str, list[Any]] = {}
    segments = []
    with index.reader() as reader:
        size = reader.doc_count_all()
        leaves = [(leaf.segment().segment_id(), leaf.doc_count_all(), offset) for leaf, offset in _leaves(reader)]
        described: dict[str, dict[str, Any]] = {}
        carried = set()
        for segment_id, count, _ in leaves:
            kept = _described(previous, f"seg-{segment_id}") if previous else None
            if kept is not None and _loads(generation, kept["files"]):
                described[segment_id] = kept
                carried.add(segment_id)
            elif written is not None and written.size == count:
                described[segment_id] = _write_segment(generation, f"seg-{segment_id}", written)
                written = None  # one segment is written per run
            else:
                raise ArraysDamaged(f"{generation}: segment {segment_id} has no arrays; run `reindex --full`")
        for segment_id, count, offset in leaves:
            files.update(described[segment_id]["files"])
            segments.append({"id": segment_id, "offset": offset, "size": count,
                             "total_lengths": described[segment_id]["total_lengths"],
                             "files": described[segment_id]["files"]})
        files.update(_write_generation(generation, reader, size, vectors_from,
                                       [(i, offset, count, i in carried) for i, count, offset in leaves]))
    kept_files = set(files) | {DESCRIPTION}
    for stale in generation.glob("seg-*.npy"):
        if stale.name not in kept_files:
            stale.unlink()
    _save_json(generation / DESCRIPTION, {"version": VERSION, "model": MODEL_ID, "size": size,
                                          "segments": segments, "files": files})


def _leaves(reader: IndexReader) -> list[tuple[IndexReader, int]]:
    """The segment readers of an index and their first docnums (none for an empty index)."""
    return [(leaf, offset) for leaf, offset in reader.leaf_readers() if leaf.segment() is not None]


def is_current(generation: Path, index: Index) -> bool:
    """Whether ``generation`` has whole arrays, in the layout this version reads, made with
    the current institution tables and meaning model."""
    # Issue 11: a changed alias file or institution table derives the facet again.
    return readable(generation, index) and institutions_current(generation) and _same_model(generation)


def _same_model(generation: Path) -> bool:
    """Whether ``generation``'s vectors were computed by the model this version runs (else
    none is carried over: the meaning phase computes them all again)."""
    described = _description(generation)
    return described is not None and described.get("model") == MODEL_ID


def readable(generation: Path, index: Index) -> bool:
    """Whether ``generation``'s arrays are whole and in the layout this version reads (else
    the next run writes every segment again, from the exports)."""
    try:
        open_arrays(generation, index)
    except ArraysDamaged:
        return False
    return True


def _description(generation: Path) -> dict[str, Any] | None:
    try:
        return json.loads((generation / DESCRIPTION).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _described(previous: Path, name: str) -> dict[str, Any] | None:
    """The description of segment ``name`` in the previous generation, if it had it."""
    described = _description(previous)
    if described is None or described.get("version") != VERSION:
        return None
    for segment in described.get("segments", ()):
        if f"seg-{segment['id']}" == name:
            return segment
    return None


def _loads(generation: Path, files: dict[str, list[Any]]) -> bool:
    """Whether the files carried over from the previous generation are whole."""
    try:
        for name, (shape, dtype) in files.items():
            _load(generation, name, shape, dtype)
    except ArraysDamaged:
        return False
    return True


def segment_chunk(generation: Path, segment_id: str) -> Chunk:
    """A published segment's word postings as a chunk, to join into a new segment (when
    ``reindex`` merges segments)."""
    described = _described(generation, f"seg-{segment_id}")
    if described is None:
        raise ArraysDamaged(f"{generation}: segment {segment_id} has no arrays; run `reindex --full`")

    def load(kind: str) -> np.ndarray:
        name = f"seg-{segment_id}-{kind}.npy"
        return np.asarray(_load(generation, name, *described["files"][name]))

    fields = {}
    for field in WORD_FIELDS:
        positional = f"seg-{segment_id}-{field}-positions.npy" in described["files"]
        fields[field] = FieldChunk(unpack_terms(load(f"{field}-vocabulary"), load(f"{field}-offsets")),
                                   load(f"{field}-indptr"), load(f"{field}-docs"), load(f"{field}-tf").astype(np.int32),
                                   load(f"{field}-positions") if positional else np.zeros(0, dtype=np.int32),
                                   load(f"{field}-exact"), positional)
    frequency = load("spelling-frequency")
    # Which documents had a spelling word is not kept, only how many: word w is given to
    # documents 0 .. frequency[w] - 1, so frequencies add up when nothing is deleted.
    holders = np.concatenate([np.arange(n) for n in frequency.tolist()] or [np.zeros(0, np.int64)])
    by_document = np.argsort(holders, kind="stable")
    words = np.repeat(np.arange(len(frequency), dtype=np.int32), frequency)[by_document]
    return Chunk(described["size"], fields, unpack_terms(load("spelling-vocabulary"), load("spelling-offsets")),
                 np.concatenate(([0], np.cumsum(np.bincount(holders, minlength=described["size"])))), words)


def _write_segment(generation: Path, name: str, joined: Joined) -> dict[str, Any]:
    """Save a segment's postings; its description (files and total field lengths)."""
    files: dict[str, list[Any]] = {}
    totals = {}
    for field in WORD_FIELDS:
        part = joined.field(field)
        vocabulary, offsets = pack_terms(part.terms)
        written = {"vocabulary": vocabulary, "offsets": offsets, "indptr": part.indptr, "docs": part.docs, "tf": part.tf.astype(np.float32),
                   "lengths": _scorer_lengths(part.lengths), "exact": part.lengths}
        if part.positional:
            written.update(posptr=part.posptr(), positions=part.positions)
        for kind, array in written.items():
            files.update(_save(generation, f"{name}-{field}-{kind}.npy", array))
        totals[field] = int(part.lengths.sum())
    words, frequency = joined.spelling()
    for kind, array in zip(_SPELLING_KINDS, (*pack_terms(words), frequency)):
        files.update(_save(generation, f"{name}-spelling-{kind}.npy", array))
    return {"files": files, "total_lengths": totals}


def _scorer_lengths(exact: np.ndarray) -> np.ndarray:
    """Field lengths as Whoosh's scorer reads them: stored in one byte, decoded."""
    distinct, which = np.unique(exact, return_inverse=True)
    return _LENGTH_OF_BYTE[np.array([length_to_byte(int(n)) for n in distinct], dtype=np.int64)[which]].astype(np.float32)


def _write_generation(generation: Path, reader: IndexReader, size: int, vectors_from: Path | None,
                      segments: list[tuple[str, int, int, bool]]) -> dict[str, list[Any]]:
    """The arrays that change with every generation: live documents, facets, vectors.

    :param segments: (id, first docnum, size, carried from ``vectors_from`` unchanged) of
        each segment.
    """
    files: dict[str, list[Any]] = {}
    live = np.zeros(size, dtype=bool)
    live[np.fromiter(reader.all_doc_ids(), dtype=np.int64)] = True
    files.update(_save(generation, "live.npy", live))
    arrays, names = facet_arrays(reader, size)
    for name, array in arrays.items():
        files.update(_save(generation, f"facet-{name}.npy", array))
    _save_json(generation / "facet-names.json", names)
    keys = _meaning_keys(reader, size)
    files.update(_save(generation, "meaning-keys.npy", keys))
    old = _vectors_of(vectors_from) if vectors_from is not None else None
    has_vector = np.zeros(size, dtype=bool)
    for segment_id, offset, count, carried in segments:
        name = f"seg-{segment_id}-vectors.npy"
        where = slice(offset, offset + count)
        if carried and old is not None and segment_id in old.segments:
            # The segment's vectors are those of the generation it came from: its file is
            # already here as a hard link (a segment's documents never change).
            files[name] = [[count, DIMENSIONS], np.dtype(STORED_DTYPE).str]
            start = old.segments[segment_id]
            has_vector[where] = old.has_vector[start:start + count]
        else:
            vectors, has_vector[where] = _carried_vectors(keys[where], old)
            files.update(_save(generation, name, vectors))
    files.update(_save(generation, "has-vector.npy", has_vector))
    return files


def save_vectors(generation: Path, vectors: np.ndarray, has_vector: np.ndarray) -> dict[str, list[Any]]:
    """Write the meaning vectors of a generation made from another by hard links: the files
    of the segments whose documents got a vector (only their rows of ``vectors`` are read:
    :meth:`Vectors.editable`), and which documents have one."""
    described = _description(generation)
    assert described is not None
    before = np.load(generation / "has-vector.npy")
    files: dict[str, list[Any]] = {}
    for segment in described["segments"]:
        where = slice(segment["offset"], segment["offset"] + segment["size"])
        if not np.array_equal(before[where], has_vector[where]):
            files.update(_save(generation, f"seg-{segment['id']}-vectors.npy", vectors[where].astype(STORED_DTYPE)))
    return {**files, **_save(generation, "has-vector.npy", has_vector.astype(bool))}


@dataclass
class _OldVectors:
    """A published generation's vectors, to carry over: by document, and where each
    segment starts."""

    vectors: Vectors
    has_vector: np.ndarray
    keys: np.ndarray
    segments: dict[str, int]


def _vectors_of(generation: Path) -> _OldVectors | None:
    """The vectors of ``generation`` (None when it has none readable: the meaning phase then
    computes them all)."""
    described = _description(generation)
    if described is None or described.get("model") != MODEL_ID:
        return None  # where each segment's vectors are is not known, or they are another model's
    try:
        keys, has_vector = (np.load(generation / name, mmap_mode="r") for name in ("meaning-keys.npy", "has-vector.npy"))
        segments = described["segments"]
        parts = [np.load(generation / f"seg-{s['id']}-vectors.npy", mmap_mode="r") for s in segments]
        if sum(len(part) for part in parts) != len(keys):
            return None
    except (OSError, ValueError, KeyError):
        return None
    offsets = np.array([s["offset"] for s in segments] + [len(keys)], dtype=np.int64)
    return _OldVectors(Vectors(parts, offsets), has_vector, keys, {s["id"]: s["offset"] for s in segments})


def _meaning_keys(reader: IndexReader, size: int) -> np.ndarray:
    """Each document's meaning key as an unsigned integer (0: none)."""
    if "meaning_key" not in reader.schema or not reader.has_column("meaning_key"):
        return np.zeros(size, dtype=np.uint64)
    column = reader.column_reader("meaning_key")
    return np.frombuffer(b"".join(column[d] for d in range(size)), dtype=np.uint64).copy()


def _carried_vectors(keys: np.ndarray, old: _OldVectors | None) -> tuple[np.ndarray, np.ndarray]:
    """Vectors for ``keys`` taken from ``old`` where it has them, and which were found."""
    vectors = np.zeros((len(keys), DIMENSIONS), dtype=STORED_DTYPE)
    has_vector = np.zeros(len(keys), dtype=bool)
    if old is None:
        return vectors, has_vector
    rows = np.flatnonzero(old.has_vector)
    order = np.argsort(old.keys[rows], kind="stable")
    known = np.asarray(old.keys[rows][order])
    if not len(known):
        return vectors, has_vector
    where = np.searchsorted(known, keys).clip(max=len(known) - 1)
    found = (known[where] == keys) & (keys != 0)
    vectors[found] = old.vectors[rows[order[where[found]]]]
    has_vector[found] = True
    return vectors, has_vector


def _save(generation: Path, name: str, array: np.ndarray) -> dict[str, list[Any]]:
    """Save ``array`` under a new inode: a hard-linked file of an older generation is never
    written through."""
    temporary = generation / f".{name}.{secrets.token_hex(3)}.tmp"
    with open(temporary, "wb") as stream:
        np.save(stream, array, allow_pickle=False)
    os.replace(temporary, generation / name)
    return {name: [list(array.shape), array.dtype.str]}


def _save_json(path: Path, data: Any) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(3)}.tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


# --- reading ---------------------------------------------------------------------------------

def open_arrays(generation: Path, index: Index) -> IndexArrays:
    """Memory-map a generation's arrays, checked against their description and the index.

    :raises ArraysDamaged: naming the file and what is wrong with it.
    """
    try:
        described = json.loads((generation / DESCRIPTION).read_text(encoding="utf-8"))
        names = json.loads((generation / "facet-names.json").read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ArraysDamaged(f"{generation}: {Path(error.filename).name} is missing; run `reindex --full`") from None
    except ValueError as error:
        raise ArraysDamaged(f"{generation}: unreadable description of the arrays: {error}") from None
    if described.get("version") != VERSION:
        raise ArraysDamaged(f"{generation}: arrays of layout {described.get('version')}, "
                            f"this version reads {VERSION}; run `reindex --full`")
    loaded = {name: _load(generation, name, shape, dtype) for name, (shape, dtype) in described["files"].items()}
    with index.reader() as reader:
        actual = [(leaf.segment().segment_id(), offset, leaf.doc_count_all()) for leaf, offset in _leaves(reader)]
        size = reader.doc_count_all()
    expected = [(s["id"], s["offset"], s["size"]) for s in described["segments"]]
    if actual != expected or size != described["size"]:
        raise ArraysDamaged(f"{generation}: the arrays describe segments {expected}, the index has {actual}")
    segments = [_segment(s, loaded) for s in described["segments"]]
    facet = {key[len("facet-"):-len(".npy")]: array for key, array in loaded.items() if key.startswith("facet-")}
    facets = FacetData(
        years=facet["years"], dates=facet["dates"], journals=facet["journals"],
        journal_names=names["journals"], institution_docs=facet["institution-docs"],
        institution_values=facet["institution-values"], institution_names=names["institutions"],
        live=loaded["live.npy"], institution_variants=names.get("institution-variants", {}),
    )
    arrays = IndexArrays(segments=segments, size=size, facets=facets,
                         vectors=Vectors([loaded[f"seg-{s.segment_id}-vectors.npy"].view(np.ndarray) for s in segments],
                                         np.array([s.offset for s in segments] + [size], dtype=np.int64)),
                         has_vector=loaded["has-vector.npy"])
    _check_consistent(generation, arrays)
    return arrays


def _load(generation: Path, name: str, shape: list[int], dtype: str) -> np.ndarray:
    try:
        array = np.load(generation / name, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise ArraysDamaged(f"{generation}: {name} is missing; run `reindex --full`") from None
    except (ValueError, OSError) as error:
        raise ArraysDamaged(f"{generation}: {name} is damaged: {error}") from None
    if list(array.shape) != shape or array.dtype.str != dtype:
        raise ArraysDamaged(f"{generation}: {name} holds {array.dtype.str}{list(array.shape)}, "
                            f"expected {dtype}{shape}")
    return array


def _segment(described: dict[str, Any], loaded: dict[str, np.ndarray]) -> Segment:
    name = f"seg-{described['id']}"
    fields = {}
    for field in SCORED_FIELDS:
        # Plain array views of the maps: numpy's memmap subclass adds a Python-level cost to
        # every slice, and a term lookup slices the vocabulary a score of times.
        parts = [loaded[f"{name}-{field}-{kind}.npy"].view(np.ndarray) for kind in _SEGMENT_KINDS]
        posptr, positions = (loaded[f"{name}-{field}-{kind}.npy"].view(np.ndarray)
                             if f"{name}-{field}-{kind}.npy" in loaded else None for kind in ("posptr", "positions"))
        fields[field] = FieldPostings(Vocabulary(parts[0], parts[1]), parts[2], parts[3], parts[4], parts[5],
                                      described["total_lengths"][field], posptr, positions)
    vocabulary, offsets, frequency = (loaded[f"{name}-spelling-{kind}.npy"].view(np.ndarray) for kind in _SPELLING_KINDS)
    return Segment(described["id"], described["offset"], described["size"], fields,
                   Spelling(Vocabulary(vocabulary, offsets), frequency))


def _check_consistent(generation: Path, arrays: IndexArrays) -> None:
    """Cheap invariants that a truncated or mixed-up file would break."""
    for segment in arrays.segments:
        for field, postings in segment.fields.items():
            where = f"{generation}: segment {segment.segment_id}, field {field}"
            if len(postings.indptr) != len(postings.vocabulary) + 1 or int(postings.indptr[-1]) != len(postings.docs):
                raise ArraysDamaged(f"{where}: postings and vocabulary disagree")
            if int(postings.vocabulary.offsets[-1]) != len(postings.vocabulary.blob) or len(postings.lengths) != segment.size:
                raise ArraysDamaged(f"{where}: vocabulary or lengths truncated")
            if postings.posptr is not None and (len(postings.posptr) != len(postings.docs) + 1
                                                or int(postings.posptr[-1]) != len(postings.positions)):
                raise ArraysDamaged(f"{where}: positions truncated")
        spelling = segment.spelling
        if int(spelling.vocabulary.offsets[-1]) != len(spelling.vocabulary.blob) or len(spelling.frequency) != len(spelling.vocabulary):
            raise ArraysDamaged(f"{generation}: segment {segment.segment_id}, spelling vocabulary truncated")
    facets = arrays.facets
    per_document = (facets.live, facets.years, facets.dates, facets.journals, arrays.vectors, arrays.has_vector)
    if any(len(array) != arrays.size for array in per_document):
        raise ArraysDamaged(f"{generation}: a per-document array does not cover the {arrays.size} documents")

