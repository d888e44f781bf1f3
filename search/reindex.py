"""(Re)building the index from a folder of exports, safely, while the site serves.

The index mirrors the source files it is given: articles of new or changed
files are (re)written, articles of removed files deleted, unchanged files not
read at all.  Work happens in a new generation that :mod:`search.store` swaps
in only once it is complete.

One article may stand in several files (a MEDLINE file and its export twin);
it is indexed once, from the first of those files in path order, so the result
does not depend on which file changed last.  A file that cannot be read keeps
the articles it had in the index: a broken export never empties the site.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from whoosh.codec.base import Segment
from whoosh.reading import SegmentReader
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter, SegmentWriter

from search import arrays, meaning, store, whoosh_fixes  # noqa: F401 (fixes Whoosh's writer)
from search.ingest import Problem, is_export_file, repeated
from search.meaning import ProgressCallback
from search.postings import Joined, Piece
from search.prepare import PreparedFile, prepare_articles, prepare_file, prepare_files
from search.records import Article
from search.store import FileEntry, Manifest

#: Changed files of at least this many bytes in all are read and analysed by a process per
#: core (:mod:`search.prepare`); forking costs more than a smaller run gains.
PARALLEL_BYTES = 8 << 20

#: A run that would leave more segments than this merges all but the largest into the one it
#: writes: a search's cost grows with the segments, and each incremental run adds one.
MAX_SEGMENTS = 8

#: Called after each file is read: (path, articles read from it, files this run reads).
FileCallback = Callable[[str, int, int], None]


@dataclass
class Summary:
    """What one ``reindex`` run did."""

    files_read: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    articles_read: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    duplicates: int = 0
    skipped: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    elapsed: float = 0.0
    words_seconds: float = 0.0
    vectors_computed: int = 0
    meaning_seconds: float = 0.0
    generation: str = ""

    @property
    def ok(self) -> bool:
        """True when every file could be read (skipped records are not errors)."""
        return not self.errors

    @property
    def changed(self) -> bool:
        """True when the run published a new generation."""
        return bool(self.generation)


def find_sources(sources: Iterable[Path]) -> list[Path]:
    """The export files named by ``sources`` (files, or folders searched recursively)."""
    found: set[Path] = set()
    for source in sources:
        if source.is_dir():
            found.update(p.resolve() for p in source.rglob("*") if p.is_file() and is_export_file(p))
        elif source.is_file() and is_export_file(source):
            found.add(source.resolve())
    return sorted(found)


def reindex(sources: Iterable[Path], index_dir: Path, full: bool = False, wait: bool = False,
            on_file: FileCallback | None = None, with_meaning: bool = True,
            on_meaning: ProgressCallback | None = None) -> Summary:
    """Bring the index in ``index_dir`` in line with the export files under ``sources``.

    Two phases, each published as soon as it is done: the words (then the site finds the
    new articles), then the meaning vectors of articles that have none (:mod:`search.meaning`).

    :param full: rebuild from scratch instead of re-reading only changed files.
    :param wait: wait for another running ``reindex`` instead of failing at once.
    :param on_file: progress callback, called after each file is read.
    :param with_meaning: run the meaning phase (else articles without a vector keep none).
    :param on_meaning: progress callback of the meaning phase.
    :raises store.IndexBusy: another ``reindex`` is writing this index.
    """
    started = time.monotonic()
    sources = list(sources)
    missing = [s for s in sources if not s.exists()]
    held = store.lock(index_dir, wait=wait)
    try:
        summary = _Run(index_dir, full, on_file).run(find_sources(sources))
        summary.words_seconds = time.monotonic() - started
        if with_meaning:
            phase = meaning.complete(index_dir, on_progress=on_meaning)
            summary.vectors_computed, summary.meaning_seconds = phase.computed, phase.seconds
            summary.generation = phase.generation or summary.generation
    finally:
        held.release()
    summary.errors[:0] = [Problem(str(s), None, "no such file or folder") for s in missing]
    summary.elapsed = time.monotonic() - started
    return summary


class _Run:
    """One run's state: the old and new manifests and the writer of the new generation."""

    def __init__(self, index_dir: Path, full: bool, on_file: FileCallback | None) -> None:
        self.index_dir = index_dir
        self.on_file = on_file or (lambda path, count, files: None)
        self.to_read = 0
        self.live = store.live_generation(index_dir)
        self.full = full or (self.live is not None and not self._reusable(self.live))
        try:
            self.old = store.read_manifest(self.live)
        except store.IndexMissing:
            if not full:
                raise
            # A rebuild needs the old manifest only to keep an unreadable file's articles:
            # with it damaged, --full is the way out, from the files alone.
            self.old = Manifest()
        self.new = Manifest()
        self.summary = Summary()
        self.written: dict[str, str] = {}
        self.searcher: Searcher | None = None
        # The documents of the new segment, in docnum order: which of which file's chunk.
        self.pieces: list[Piece] = []
        self.base: Path | None = None
        self.chunks = Path()

    def _reusable(self, live: Path) -> bool:
        """Whether a run can build on the live generation: else, of another schema, or with
        arrays damaged or of another layout, it is written again from the exports."""
        if not store.has_current_schema(live):
            return False
        try:
            index, _ = store.open_live(self.index_dir)
        except store.IndexMissing:
            return True  # reading its manifest says why
        return arrays.readable(live, index)

    def run(self, files: list[Path]) -> Summary:
        changed = self._classify(files)
        self.to_read = len(changed)
        removed = set(self.old.files) - {str(f) for f in files}
        self.summary.files_removed = len(removed)
        if (self.live is not None and not self.full and not changed and not removed
                and arrays.is_current(self.live, store.open_live(self.index_dir)[0])):
            return self.summary
        base = self.base = None if self.full or self.live is None else self.live
        index, building = store.start_generation(self.index_dir, base)
        # The files' word postings, saved by the processes that prepare them (search.prepare).
        self.chunks = building / "chunks"
        self.chunks.mkdir()
        # Segments stay separate files: Whoosh reads a compound segment by copying each part
        # into memory (a BytesIO of the mmap), which cost a searching process 600 MB at 100k.
        writer = index.writer(limitmb=256, compound=False)
        try:
            try:
                self._write(writer, changed, removed, incremental=base is not None)
            except BaseException:
                writer.cancel()
                raise
            finally:
                if self.searcher is not None:
                    self.searcher.close()
            writer.commit(mergetype=self._merge)
            arrays.build(building, index, Joined(self.pieces) if self.pieces else None,
                         previous=base, vectors_from=self.live)
            shutil.rmtree(self.chunks)
        except BaseException:
            store.discard(building)
            raise
        self.summary.generation = store.publish(self.index_dir, building, self.new).name
        return self.summary

    def _merge(self, writer: SegmentWriter, segments: list[Segment]) -> list[Segment]:
        """The merge step of Whoosh's commit (it never merges on its own: it would merge
        segments whose word postings it does not have): past :data:`MAX_SEGMENTS`, every
        segment but the largest is added to the new one, its word postings with it."""
        if len(segments) < MAX_SEGMENTS or self.base is None:
            return segments
        ordered = sorted(segments, key=lambda segment: segment.doc_count_all())
        for segment in ordered[:-1]:
            reader = SegmentReader(writer.storage, writer.schema, segment)
            try:
                keep = np.zeros(segment.doc_count_all(), dtype=bool)
                keep[list(reader.all_doc_ids())] = True  # Whoosh copies the live documents, in order
                writer.add_reader(reader)
            finally:
                reader.close()
            self.pieces.append(Piece(arrays.segment_chunk(self.base, segment.segment_id()), keep))
        return ordered[-1:]

    def _classify(self, files: list[Path]) -> list[Path]:
        """Carry unchanged files' entries over; return the files to read."""
        changed = []
        for path in files:
            key = str(path)
            try:
                stat = path.stat()
                previous = None if self.full else self.old.files.get(key)
                if previous and previous.sha256 and (previous.size, previous.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                    self.new.files[key] = previous
                    continue
                digest = _sha256(path)
            except OSError:
                # Gone or unreadable since it was listed: reading it reports why, and
                # the articles it had are kept (_keep_unread).
                self.new.files[key] = FileEntry("", 0, 0)
                changed.append(path)
                continue
            if previous and previous.sha256 == digest:
                self.new.files[key] = FileEntry(digest, stat.st_size, stat.st_mtime_ns, previous.ids)
                continue
            self.new.files[key] = FileEntry(digest, stat.st_size, stat.st_mtime_ns)
            changed.append(path)
        self.summary.files_unchanged = len(files) - len(changed)
        return changed

    def _write(self, writer: IndexWriter, changed: list[Path], removed: set[str], incremental: bool) -> None:
        old_ids = self._ids(self.old)
        unchanged_owner = self._owners({k: e for k, e in self.new.files.items() if e.ids})
        processes = (os.cpu_count() or 1) if sum(self.new.files[str(p)].size for p in changed) >= PARALLEL_BYTES else 1
        for path, prepared in zip(changed, prepare_files(writer.schema, self.chunks, changed, processes)):
            self._read(writer, path, prepared, old_ids, unchanged_owner, incremental)
        # Articles whose file changed or went away, but which another, unchanged file also holds.
        gone = {str(p) for p in changed} | removed
        old_owner = self._owners(self.old.files)
        orphans = {i: owner for i, owner in unchanged_owner.items()
                   if i not in self.written and old_owner.get(i) in gone}
        for owner in sorted(set(orphans.values())):
            wanted = {i for i, o in orphans.items() if o == owner}
            self._read(writer, Path(owner), prepare_file(writer.schema, self.chunks, Path(owner)), old_ids, unchanged_owner,
                       incremental, only=wanted)
        for article_id in old_ids - self._ids(self.new):
            if incremental:
                writer.delete_by_term("id", article_id, searcher=self._replacing(writer))
            self.summary.deleted += 1

    def _read(self, writer: IndexWriter, path: Path, prepared: PreparedFile, old_ids: set[str],
              unchanged_owner: dict[str, str], incremental: bool, only: set[str] | None = None) -> None:
        key = str(path)
        entry = self.new.files[key]
        ids: dict[str, int | None] = {}  # article id -> its line
        failed = False
        count = 0
        for record in prepared.records:
            if isinstance(record, Problem):
                if only is None:
                    (self.summary.skipped if record.kind == "skipped" else self.summary.errors).append(record)
                failed |= record.kind == "error"
                continue
            row = count  # the article's document in the prepared file
            count += 1
            article_id = record.id
            if only is not None:
                if article_id in only:
                    self._add(writer, record, prepared, row, old_ids, incremental)
                continue
            if article_id in ids:  # twice in this one file: name it
                self.summary.skipped.append(repeated(record, ids[article_id]))
                continue
            ids[article_id] = record.line
            owner = unchanged_owner.get(article_id)
            if article_id in self.written or (owner is not None and owner < key):
                self.summary.duplicates += 1
                continue
            self._add(writer, record, prepared, row, old_ids, incremental)
        if only is not None:
            return
        self.summary.files_read += 1
        self.summary.articles_read += count
        if failed:
            self._keep_unread(writer, key, ids, incremental)
            entry.sha256 = ""  # read it again next time, and report it again
        entry.ids = list(ids)
        self.on_file(key, count, self.to_read)

    def _add(self, writer: IndexWriter, article: Article, prepared: PreparedFile, row: int, old_ids: set[str],
             incremental: bool) -> None:
        self._queue(writer, article, prepared, row, incremental)
        self.written[article.id] = article.source
        if article.id in old_ids:
            self.summary.updated += 1
        else:
            self.summary.added += 1

    def _queue(self, writer: IndexWriter, article: Article, prepared: PreparedFile, row: int, incremental: bool) -> None:
        """Write ``article``, the ``row``-th of ``prepared``: its document to Whoosh, and its
        words as the next of the new segment's postings."""
        if incremental:
            writer.delete_by_term("id", article.id, searcher=self._replacing(writer))
        writer.add_document(**prepared.documents[row])
        chunk, at, size = prepared.locate(row)
        if not self.pieces or self.pieces[-1].chunk != chunk:
            self.pieces.append(Piece(chunk, np.zeros(size, dtype=bool)))
        self.pieces[-1].keep[at] = True

    def _replacing(self, writer: IndexWriter) -> Searcher:
        """One searcher of the index being updated, to find what each article replaces.

        Whoosh's ``update_document`` opens a searcher over the whole index for every
        document it writes: an incremental run rewriting one file of 1,000 articles in a
        30,000-article index took 68% of the time of a full build.
        """
        if self.searcher is None:
            self.searcher = writer.searcher()
        return self.searcher

    def _keep_unread(self, writer: IndexWriter, key: str, ids: dict[str, int | None], incremental: bool) -> None:
        """Keep the articles a now-unreadable file had, as they were indexed before."""
        previous = self.old.files.get(key)
        lost = [i for i in (previous.ids if previous else []) if i not in ids]
        if not lost or self.live is None:
            return
        if not incremental:
            # A rebuild starts empty: copy the stored records over from the live index.
            index, _ = store.open_live(self.index_dir)
            with index.searcher() as searcher:
                stored = [searcher.document(id=article_id) for article_id in lost]
            kept = [Article.from_dict(json.loads(fields["record"])) for fields in stored if fields]
            prepared = prepare_articles(writer.schema, self.chunks, kept)
            for row, article in enumerate(kept):
                self._queue(writer, article, prepared, row, incremental)
        for article_id in lost:
            ids[article_id] = None
            self.written.setdefault(article_id, key)

    @staticmethod
    def _ids(manifest: Manifest) -> set[str]:
        return {i for entry in manifest.files.values() for i in entry.ids}

    @staticmethod
    def _owners(files: dict[str, FileEntry]) -> dict[str, str]:
        """Each article id -> the first file, in path order, that holds it."""
        owners: dict[str, str] = {}
        for key in sorted(files):
            for article_id in files[key].ids:
                owners.setdefault(article_id, key)
        return owners


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
