"""The index folder: generations of a Whoosh index, swapped in atomically.

Layout of an index folder::

    index/
      CURRENT               name of the live generation (replaced atomically)
      gen-<time>-<rand>/    a complete Whoosh index plus manifest.json
      building-<...>/       a generation being written; never read, removed if abandoned
      .reindex.lock         held by the one ``reindex`` allowed to run

Readers open whatever ``CURRENT`` names.  A writer never touches a live
generation: it builds a new one (from scratch, or as hard links to the live
one's files, which Whoosh never rewrites in place) and renames ``CURRENT`` over
to it.  A crash at any point leaves the old generation live, and the next run
removes the abandoned ``building-`` folder.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock
from whoosh import index as whoosh_index
from whoosh.index import Index

from search.schema import build_schema

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
LOCK = ".reindex.lock"
#: What ``CURRENT`` may hold: a generation's name, as :func:`publish` makes it.
_GENERATION = re.compile(r"gen-[0-9A-Za-z_-]+")
#: Generations kept besides the live one, for searchers still reading them.
KEEP_PREVIOUS = 2


class IndexBusy(Exception):
    """Another ``reindex`` holds the lock of this index folder."""


class IndexMissing(Exception):
    """The folder has no live index (never built, or unreadable)."""


@dataclass
class FileEntry:
    """What the manifest remembers of one source file."""

    sha256: str
    size: int
    mtime_ns: int
    ids: list[str] = field(default_factory=list)


@dataclass
class Manifest:
    """Which source files a generation was built from, and the articles each held."""

    files: dict[str, FileEntry] = field(default_factory=dict)
    built_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps(
            {"built_at": self.built_at, "files": {p: vars(e) for p, e in sorted(self.files.items())}},
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        data: dict[str, Any] = json.loads(text)
        return cls(
            files={p: FileEntry(**e) for p, e in data.get("files", {}).items()},
            built_at=float(data.get("built_at", 0.0)),
        )


def live_generation(index_dir: Path) -> Path | None:
    """The folder of the live generation, or None when there is none (or ``CURRENT``
    cannot be read or names none)."""
    try:
        return _current(index_dir)
    except IndexMissing:
        return None


def _current(index_dir: Path) -> Path:
    """The generation folder ``CURRENT`` names.

    :raises IndexMissing: saying what is wrong: no ``CURRENT``, an unreadable one, or one
        naming something other than a generation in this folder.
    """
    pointer = index_dir / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexMissing(f"no index in {index_dir}: run `reindex` first") from None
    except (OSError, UnicodeDecodeError) as error:
        raise IndexMissing(f"{pointer} cannot be read: {error}") from None
    # Only a generation's bare name: never a path out of the folder.
    if not _GENERATION.fullmatch(name):
        raise IndexMissing(f"{pointer} names no generation ({name[:60]!r}); run `reindex` to write one")
    if not (index_dir / name).is_dir():
        raise IndexMissing(f"{pointer} names {name}, which is not in {index_dir}; run `reindex` to write it again")
    return index_dir / name


def open_live(index_dir: Path) -> tuple[Index, Path]:
    """The live Whoosh index and its generation folder.

    :raises IndexMissing: when there is no readable live index, saying why.
    """
    generation = _current(index_dir)
    try:
        return whoosh_index.open_dir(str(generation)), generation
    except Exception as error:  # Whoosh raises several types for a damaged folder
        raise IndexMissing(f"index in {generation} is unreadable: {error}") from error


def read_manifest(generation: Path | None) -> Manifest:
    """The manifest of a generation; an empty one when there is none."""
    if generation is None:
        return Manifest()
    try:
        return Manifest.from_json((generation / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Manifest()
    except (OSError, ValueError, TypeError, AttributeError) as error:
        # Read as empty, it would make the next run forget which articles each file held.
        raise IndexMissing(f"{generation / MANIFEST} is damaged: {error}") from None


def lock(index_dir: Path, wait: bool = False) -> filelock.BaseFileLock:
    """Take the folder's writer lock (released when the process dies, even by ``kill -9``).

    :param wait: block until the other writer finishes instead of failing.
    :raises IndexBusy: when another ``reindex`` holds it and ``wait`` is false.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    held = filelock.FileLock(str(index_dir / LOCK))
    try:
        held.acquire(timeout=-1 if wait else 0)
    except filelock.Timeout as error:
        raise IndexBusy(f"another reindex is already writing {index_dir}; try again later or pass --wait") from error
    return held


def has_current_schema(generation: Path) -> bool:
    """Whether ``generation`` has the fields this version of the engine writes; one made
    by an older version (without meaning vectors, say) must be rebuilt, not updated."""
    return _fields(whoosh_index.open_dir(str(generation)).schema) == _fields(build_schema())


def _fields(schema: Any) -> list[tuple[str, str]]:
    return sorted((name, type(field_type).__name__) for name, field_type in schema.items())


def start_generation(index_dir: Path, base: Path | None) -> tuple[Index, Path]:
    """A new generation to write, empty or a copy of ``base``; call under the lock.

    Also clears what an interrupted run left behind.
    """
    for leftover in index_dir.glob("building-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    # Names sort in the order generations were made, which is how old ones are pruned.
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9)) + f"{now % 10**9:09d}"
    folder = index_dir / f"building-{stamp}-{secrets.token_hex(3)}"
    folder.mkdir()
    if base is None:
        return whoosh_index.create_in(str(folder), build_schema()), folder
    for item in base.iterdir():
        if item.is_file() and item.name != MANIFEST:
            os.link(item, folder / item.name)
    return whoosh_index.open_dir(str(folder)), folder


def publish(index_dir: Path, building: Path, manifest: Manifest) -> Path:
    """Make a finished generation live in one atomic rename; returns its folder."""
    manifest.built_at = time.time()
    generation = building.with_name("gen-" + building.name.removeprefix("building-"))
    try:
        _write_atomically(building / MANIFEST, manifest.to_json())
        building.rename(generation)
        _fsync_dir(index_dir)
        _write_atomically(index_dir / CURRENT, generation.name + "\n")
    except BaseException:
        # A full disk, say: unless CURRENT already names it, the new generation is no one's.
        if live_generation(index_dir) != generation:
            discard(building)
            discard(generation)
        raise
    _remove_old_generations(index_dir, generation)
    return generation


def discard(building: Path) -> None:
    """Drop an unfinished generation (the live one is untouched)."""
    shutil.rmtree(building, ignore_errors=True)


def _remove_old_generations(index_dir: Path, live: Path) -> None:
    older = sorted((g for g in index_dir.glob("gen-*") if g != live), key=lambda g: g.name)
    for generation in older[: max(0, len(older) - KEEP_PREVIOUS)]:
        shutil.rmtree(generation, ignore_errors=True)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(3)}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
