"""Export files -> what the index is written from, in a process per core.

Parsing, making each article's document and analysing its words are most of a
build's work, and need nothing from the index: a large run does them in worker
processes, a file at a time.  The one process that writes the index then only gives
Whoosh each article's stored part (record, id, facets) and joins the files' word
postings into the new segment's (:mod:`search.postings`).
"""

from __future__ import annotations

import multiprocessing
import secrets
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Iterable, Iterator

from whoosh.fields import Schema

from search.documents import to_document
from search.ingest import Problem, read_file
from search.postings import WORD_FIELDS, ChunkBuilder, save_chunk
from search.records import Article


@dataclass
class PreparedFile:
    """One file's records, ready to write.

    ``documents[i]`` is Whoosh's part of the ``i``-th article of ``records`` (its word
    fields left out); the articles' words are in the saved ``chunks``, in order, each
    with how many documents it holds.
    """

    records: list[Article | Problem]
    documents: list[dict[str, Any]]
    chunks: list[tuple[Path, int]]

    def locate(self, row: int) -> tuple[Path, int, int]:
        """The chunk holding article ``row``'s words, its document there, and its size."""
        for chunk, size in self.chunks:
            if row < size:
                return chunk, row, size
            row -= size
        raise IndexError(row)


def prepare_articles(schema: Schema, folder: Path, records: Iterable[Article | Problem]) -> PreparedFile:
    """Documents and word postings of the articles among ``records``, the postings saved
    in ``folder`` (:func:`search.postings.save_chunk`)."""
    records = list(records)
    builder = ChunkBuilder(schema)
    documents = []
    for record in records:
        if isinstance(record, Article):
            document = to_document(record)
            builder.add(document)
            documents.append({name: value for name, value in document.items() if name not in WORD_FIELDS})
    chunk = folder / f"{secrets.token_hex(8)}.npz"
    save_chunk(builder.chunk(), chunk)
    return PreparedFile(records, documents, [(chunk, builder.size)])


def prepare_file(schema: Schema, folder: Path, path: Path) -> PreparedFile:
    """:func:`prepare_articles` of everything :func:`search.ingest.read_file` reads in ``path``."""
    return prepare_articles(schema, folder, read_file(path))


def prepare_files(schema: Schema, folder: Path, paths: list[Path], processes: int) -> Iterator[PreparedFile]:
    """The files prepared in order, by ``processes`` worker processes (1: in this one).

    With fewer files than processes (an incremental run that changed one file), each file's
    articles are shared out among the processes.
    """
    parts = max(1, processes // max(len(paths), 1))
    tasks = [(path, part, parts) for path in paths for part in range(parts)]
    work = partial(_prepare_part, schema, folder)
    if processes < 2 or len(tasks) < 2:
        yield from map(work, tasks)
        return
    # Forked, so the workers start at once with every module loaded, and a script calling
    # reindex needs no `if __name__ == "__main__"` guard (forkserver and spawn import it
    # again).  The workers only parse and analyse: they take no lock another thread of
    # this process could hold (the import lock is taken around a fork).
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.imap(work, tasks)
        for _ in paths:
            prepared = [next(results) for _ in range(parts)]
            yield PreparedFile(prepared[0].records, [d for p in prepared for d in p.documents],
                               [c for p in prepared for c in p.chunks])


def _prepare_part(schema: Schema, folder: Path, task: tuple[Path, int, int]) -> PreparedFile:
    """Part ``part`` of ``parts`` of a file's articles prepared; the records of the whole
    file come with part 0 (each part reads the whole file: parsing is the small part)."""
    path, part, parts = task
    if parts == 1:
        return prepare_file(schema, folder, path)
    records = list(read_file(path))
    articles = [record for record in records if isinstance(record, Article)]
    share = prepare_articles(schema, folder, articles[len(articles) * part // parts:len(articles) * (part + 1) // parts])
    return PreparedFile(records if part == 0 else [], share.documents, share.chunks)
