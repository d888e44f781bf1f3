"""The index's arrays: what a search reads instead of walking Whoosh's posting lists.

Whoosh stays the store of record (stored fields, positions, analysis).  Once a
generation's Whoosh index is committed, ``reindex`` writes beside it, as ``.npy``
files that every search process memory-maps:

* per Whoosh segment and scored text field, the segment's postings in CSR form:
  the sorted vocabulary (one UTF-8 blob and its offsets), and for term ``t``
  the documents ``docs[indptr[t]:indptr[t+1]]`` with their term frequencies,
  plus each document's field length as Whoosh's scorer sees it;
* per Whoosh segment, the words of its titles and abstracts as written (not stemmed),
  with their document frequencies: the vocabulary of "did you mean";
* per generation, which documents are live, the facet values (years, dates,
  journals, institutions) and the meaning vectors (one float32 matrix).

Segments never change once written, so their arrays are made once and carried
to later generations as hard links, like Whoosh's own files; an incremental
``reindex`` only reads the segments it added.  ``arrays.json`` lists every file
with its shape and dtype; :func:`open_arrays` refuses a generation whose files do
not match it or the Whoosh index beside them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import secrets
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.index import Index
from whoosh.reading import IndexReader
from whoosh.util.numeric import byte_to_length, length_to_byte

from search.analysis import encode_localized, spelling_words
from search.facets import FacetData, facet_arrays, institutions_current
from search.schema import CONTENT_PARTS, KEY_BYTES, SCORED_FIELDS
from search.semantic import DIMENSIONS, STORED_DTYPE

#: The file that describes a generation's arrays; written last.
DESCRIPTION = "arrays.json"
#: Bumped when the layout changes: a generation of another version is rebuilt, not read.
VERSION = 3

_SEGMENT_KINDS = ("vocabulary", "offsets", "indptr", "docs", "tf", "lengths")
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

    def postings(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(documents, term frequencies) of vocabulary row ``row``, segment-local documents."""
        start, end = self.indptr[row], self.indptr[row + 1]
        return self.docs[start:end], self.tf[start:end]


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


@dataclass
class IndexArrays:
    """Every array of one generation, memory-mapped."""

    segments: list[Segment]
    size: int
    facets: FacetData
    vectors: np.ndarray
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

def build(generation: Path, index: Index, previous: Path | None = None, vectors_from: Path | None = None) -> None:
    """Write the arrays of the committed Whoosh index in ``generation``.

    :param previous: the generation it was copied from; its segments' arrays are
        already in ``generation`` as hard links and are kept, not read again.
    :param vectors_from: a generation whose meaning vectors are carried over to the
        articles whose meaning text is the same (the live one, when rebuilding too).
    """
    files: dict[str, list[Any]] = {}
    segments = []
    with index.reader() as reader:
        size = reader.doc_count_all()
        leaves = [(leaf.segment().segment_id(), leaf.doc_count_all(), offset) for leaf, offset in _leaves(reader)]
        described: dict[str, dict[str, Any]] = {}
        for segment_id, _, _ in leaves:
            kept = _described(previous, f"seg-{segment_id}") if previous else None
            if kept is not None and _loads(generation, kept["files"]):
                described[segment_id] = kept
        described.update(_write_segments(generation, [i for i, _, _ in leaves if i not in described]))
        for segment_id, count, offset in leaves:
            files.update(described[segment_id]["files"])
            segments.append({"id": segment_id, "offset": offset, "size": count,
                             "total_lengths": described[segment_id]["total_lengths"],
                             "files": described[segment_id]["files"]})
        files.update(_write_generation(generation, reader, size, vectors_from))
    kept = set(files) | {DESCRIPTION}
    for stale in generation.glob("seg-*.npy"):
        if stale.name not in kept:
            stale.unlink()
    _save_json(generation / DESCRIPTION, {"version": VERSION, "size": size, "segments": segments, "files": files})


def _leaves(reader: IndexReader) -> list[tuple[IndexReader, int]]:
    """The segment readers of an index and their first docnums (none for an empty index)."""
    return [(leaf, offset) for leaf, offset in reader.leaf_readers() if leaf.segment() is not None]


def is_current(generation: Path, index: Index) -> bool:
    """Whether ``generation`` has whole arrays, in the layout this version reads."""
    try:
        open_arrays(generation, index)
    except ArraysDamaged:
        return False
    # Issue 11: a changed alias file or institution table derives the facet again.
    return institutions_current(generation)


def _described(previous: Path, name: str) -> dict[str, Any] | None:
    """The description of segment ``name`` in the previous generation, if it had it."""
    try:
        described = json.loads((previous / DESCRIPTION).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if described.get("version") != VERSION:
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


def _write_segments(generation: Path, segment_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Write the arrays of these segments of the index in ``generation``; their descriptions.

    Several segments (a build by several writer processes makes one each) are read by a
    process per core: reading the postings back is Whoosh's Python, a third of a 10,000
    article words phase when it ran in the one parent process.
    """
    processes = min(len(segment_ids), os.cpu_count() or 1)
    if processes < 2:
        return dict(zip(segment_ids, (_write_segment_of(generation, i) for i in segment_ids)))
    # Forked before this process reads anything in the pool: each worker opens its own
    # reader (file positions are not shared with the parent's).
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return dict(zip(segment_ids, pool.starmap(_write_segment_of, [(generation, i) for i in segment_ids])))


def _write_segment_of(generation: Path, segment_id: str) -> dict[str, Any]:
    """:func:`_write_segment` of the segment ``segment_id`` of the index in ``generation``."""
    with whoosh_index.open_dir(str(generation)).reader() as reader:
        leaf = next(leaf for leaf, _ in _leaves(reader) if leaf.segment().segment_id() == segment_id)
        return {**_write_segment(generation, f"seg-{segment_id}", leaf), "segment": segment_id}


def _write_segment(generation: Path, name: str, reader: IndexReader) -> dict[str, Any]:
    files: dict[str, list[Any]] = {}
    totals = {}
    size = reader.doc_count_all()
    written = {field: (*_postings_of(reader, field), _lengths(reader, field, size))
               for field in SCORED_FIELDS if field != "content"}
    written["content"] = _combined([written[part] for part in CONTENT_PARTS], size)
    for field in SCORED_FIELDS:
        totals[field] = int(sum(reader.field_length(part) for part in CONTENT_PARTS)
                            if field == "content" else reader.field_length(field))
        for kind, array in zip(_SEGMENT_KINDS, written[field]):
            files.update(_save(generation, f"{name}-{field}-{kind}.npy", array))
    for kind, array in zip(_SPELLING_KINDS, _spelling_of(reader)):
        files.update(_save(generation, f"{name}-spelling-{kind}.npy", array))
    return {"files": files, "total_lengths": totals}


def _spelling_of(reader: IndexReader) -> tuple[np.ndarray, ...]:
    """A segment's spelling vocabulary (sorted words as a blob and its offsets) and each
    word's document frequency, from the titles and abstracts of its stored records."""
    frequency: Counter[str] = Counter()
    for docnum in range(reader.doc_count_all()):
        record = json.loads(reader.stored_fields(docnum)["record"])
        frequency.update(spelling_words(encode_localized(
            (text.get("locale"), text["text"]) for text in record["titles"] + record["abstracts"])))
    words = sorted(word.encode("utf-8") for word in frequency)
    offsets = np.concatenate(([0], np.cumsum([len(w) for w in words], dtype=np.int64))).astype(np.int64)
    return (np.frombuffer(b"".join(words), dtype=np.uint8), offsets,
            np.array([frequency[w.decode("utf-8")] for w in words], dtype=np.int32))


def _combined(parts: list[tuple[np.ndarray, ...]], size: int) -> tuple[np.ndarray, ...]:
    """The postings of one text made of several fields' texts, from theirs: the same arrays
    Whoosh would write for that text (frequencies added, lengths added then stored in
    Whoosh's one byte)."""
    vocabularies = [Vocabulary(vocabulary, offsets) for vocabulary, offsets, *_ in parts]
    terms = sorted({vocabulary[row] for vocabulary in vocabularies for row in range(len(vocabulary))})
    row_of = {term: row for row, term in enumerate(terms)}
    keys, tfs, exact = [], [], np.zeros(size, dtype=np.int64)
    for vocabulary, (_, _, indptr, docs, tf, _) in zip(vocabularies, parts):
        rows = np.array([row_of[vocabulary[row]] for row in range(len(vocabulary))], dtype=np.int64)
        keys.append(np.repeat(rows, np.diff(indptr)) * size + docs)
        tfs.append(tf)
        # A field's length is the sum of its words' frequencies (Whoosh's add_document).
        exact += np.bincount(docs, weights=tf, minlength=size).astype(np.int64)
    unique, where = np.unique(np.concatenate(keys), return_inverse=True)
    tf = np.bincount(where, weights=np.concatenate(tfs)).astype(np.float32)
    indptr = np.concatenate(([0], np.cumsum(np.bincount(unique // size, minlength=len(terms))))).astype(np.int64)
    blob = b"".join(terms)
    offsets = np.concatenate(([0], np.cumsum([len(t) for t in terms], dtype=np.int64))).astype(np.int64)
    distinct, which = np.unique(exact, return_inverse=True)
    lengths = _LENGTH_OF_BYTE[np.array([length_to_byte(int(n)) for n in distinct], dtype=np.int64)[which]]
    return (np.frombuffer(blob, dtype=np.uint8), offsets, indptr, (unique % size).astype(np.int32), tf,
            lengths.astype(np.float32))


def _postings_of(reader: IndexReader, field: str) -> tuple[np.ndarray, ...]:
    """The field's vocabulary and postings as CSR arrays, terms in Whoosh's (byte) order."""
    blob, offsets, indptr, docs, tf = bytearray(), [0], [0], [], []
    if field in reader.indexed_field_names():
        for term in reader.lexicon(field):
            ids, weights = _read_postings(reader.postings(field, term))
            blob += term
            offsets.append(len(blob))
            docs.append(ids)
            tf.append(weights)
            indptr.append(indptr[-1] + len(ids))
    return (np.frombuffer(bytes(blob), dtype=np.uint8), np.array(offsets, dtype=np.int64),
            np.array(indptr, dtype=np.int64),
            np.concatenate(docs).astype(np.int32) if docs else np.zeros(0, dtype=np.int32),
            np.concatenate(tf).astype(np.float32) if tf else np.zeros(0, dtype=np.float32))


def _read_postings(matcher: Any) -> tuple[np.ndarray, np.ndarray]:
    """All (docnums, weights) of a term's matcher.

    Whoosh's posting reader decodes a block of postings at a time; reading those
    blocks whole is several times faster than stepping through them one posting at
    a time, which is what made reading the index back slow.
    """
    if isinstance(matcher, W3LeafMatcher):
        ids, weights = [], []
        while matcher.is_active():
            # A block's ids and weights, as W3LeafMatcher._read_ids/_read_weights decode them.
            matcher._read_ids()
            matcher._read_weights()
            ids.append(np.asarray(matcher._ids, dtype=np.int64))
            weights.append(np.asarray(matcher._weights, dtype=np.float32))
            matcher._next_block()
        return np.concatenate(ids), np.concatenate(weights)
    pairs = list(matcher.items_as("weight"))
    return (np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.float32))


def _lengths(reader: IndexReader, field: str, size: int) -> np.ndarray:
    """Each document's length in ``field`` as Whoosh's scorer reads it (decoded from a byte)."""
    lengths = np.zeros(size, dtype=np.float32)
    # The lengths column is the codec's own, not a schema field: read it from the segment's
    # per-document reader, as Whoosh's doc_field_length does.
    per_document = reader.codec().per_document_reader(reader.storage(), reader.segment())
    column = f"_{field}_len"
    try:
        if per_document.has_column(column):
            encoded = np.fromiter(per_document.column_reader(column, LENGTHS_COLUMN), dtype=np.uint8, count=size)
            lengths[:] = _LENGTH_OF_BYTE[encoded]
    finally:
        per_document.close()  # it holds the column's file open (a segment's parts are files)
    return lengths


def _write_generation(generation: Path, reader: IndexReader, size: int,
                      vectors_from: Path | None) -> dict[str, list[Any]]:
    """The arrays that change with every generation: live documents, facets, vectors."""
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
    files.update(save_vectors(generation, *_carried_vectors(keys, vectors_from)))
    return files


def save_vectors(generation: Path, vectors: np.ndarray, has_vector: np.ndarray) -> dict[str, list[Any]]:
    """Write a generation's meaning vectors and which documents have one."""
    return {**_save(generation, "vectors.npy", vectors.astype(STORED_DTYPE)),
            **_save(generation, "has-vector.npy", has_vector.astype(bool))}


def _meaning_keys(reader: IndexReader, size: int) -> np.ndarray:
    """Each document's meaning key as an unsigned integer (0: none)."""
    if "meaning_key" not in reader.schema or not reader.has_column("meaning_key"):
        return np.zeros(size, dtype=np.uint64)
    column = reader.column_reader("meaning_key")
    return np.frombuffer(b"".join(column[d] for d in range(size)), dtype=np.uint64).copy()


def _carried_vectors(keys: np.ndarray, source: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Vectors for ``keys`` taken from the generation ``source`` where it has them."""
    vectors = np.zeros((len(keys), DIMENSIONS), dtype=STORED_DTYPE)
    has_vector = np.zeros(len(keys), dtype=bool)
    if source is None:
        return vectors, has_vector
    try:
        old_keys, old_vectors, old_has = (np.load(source / name, mmap_mode="r")
                                          for name in ("meaning-keys.npy", "vectors.npy", "has-vector.npy"))
    except (OSError, ValueError):
        return vectors, has_vector  # nothing to carry over: the meaning phase computes them all
    rows = np.flatnonzero(old_has)
    order = np.argsort(old_keys[rows], kind="stable")
    known = np.asarray(old_keys[rows][order])
    if not len(known):
        return vectors, has_vector
    where = np.searchsorted(known, keys).clip(max=len(known) - 1)
    found = (known[where] == keys) & (keys != 0)
    vectors[found] = old_vectors[rows[order[where[found]]]]
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
                         vectors=loaded["vectors.npy"], has_vector=loaded["has-vector.npy"])
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
        fields[field] = FieldPostings(Vocabulary(parts[0], parts[1]), parts[2], parts[3], parts[4], parts[5],
                                      described["total_lengths"][field])
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
        spelling = segment.spelling
        if int(spelling.vocabulary.offsets[-1]) != len(spelling.vocabulary.blob) or len(spelling.frequency) != len(spelling.vocabulary):
            raise ArraysDamaged(f"{generation}: segment {segment.segment_id}, spelling vocabulary truncated")
    facets = arrays.facets
    per_document = (facets.live, facets.years, facets.dates, facets.journals, arrays.vectors, arrays.has_vector)
    if any(len(array) != arrays.size for array in per_document):
        raise ArraysDamaged(f"{generation}: a per-document array does not cover the {arrays.size} documents")

