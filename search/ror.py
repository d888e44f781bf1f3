"""A ROR data dump (``SEARCH_ROR_DUMP``, ``reindex --ror FILE``): organisation names and ids
for the institution facet.

The Research Organization Registry publishes its registry as a CC0 JSON file (schema v2,
``https://ror.readme.io/docs/data-dump``), about 100,000 organisations, which a library
downloads once: a ``.json`` file, or the release's ``.zip`` as downloaded.  Each
organisation has an ``"id"`` (``https://ror.org/...``), ``"names"`` (each a ``"value"``
with ``"types"`` among ``ror_display``, ``label``, ``alias``, ``acronym``), ``"types"``
(``education``, ``healthcare``, ``facility`` ...) and ``"relationships"``
(``{"type": "parent", "id": ...}``).

:func:`read_registry` reads it once per run into a compact lookup:

* names, labels (names in other languages) and aliases, compared as
  :func:`search.institutions.comparable` compares, each -> one organisation; a name that
  two organisations share names neither (display names and labels win over aliases);
* acronyms, which match only an extracted name that is the acronym alone, and only when
  one organisation has it;
* a school or faculty (an ``education`` organisation with one parent, whose own name is
  not a university or hospital) rolls up to its parent: "Harvard Medical School" is
  Harvard University, "University of California, San Francisco" stays itself, and a
  ``healthcare`` organisation (a hospital) is always its own.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from search.institutions import comparable, is_top_level
from search.records import normalise_ror_id

_FULL_NAME_TYPES = ("ror_display", "label")  # an alias is less sure: another may be so named
_AMBIGUOUS = -1


class RorError(ValueError):
    """The ROR dump cannot be used; the message names the file and the reason."""


@dataclass(frozen=True, eq=False)  # hashed by identity: lookups are cached per registry
class Registry:
    """A ROR dump read into lookups by name, acronym and id (organisations by number)."""

    ids: tuple[str, ...]
    display: tuple[str, ...]
    rolled: tuple[int, ...]  # each organisation's number after schools roll up
    by_id: dict[str, int]
    by_name: dict[str, int]
    by_acronym: dict[str, int]
    digest: str

    def organisation(self, ror_id: str) -> str | None:
        """The ROR id a facet groups ``ror_id`` under (its parent for a school), or None when
        the dump does not have it."""
        number = self.by_id.get(normalise_ror_id(ror_id))
        return None if number is None else self.ids[self.rolled[number]]

    def match(self, names: list[str]) -> str | None:
        """The ROR id (rolled up) of the organisation one of ``names`` (forms of one extracted
        name, as written first) names, or None when none names one organisation."""
        for name in names:
            number = self.by_name.get(comparable(name), _AMBIGUOUS)
            if number == _AMBIGUOUS and name.isupper() and " " not in name.strip():
                number = self.by_acronym.get(comparable(name), _AMBIGUOUS)
            if number != _AMBIGUOUS:
                return self.ids[self.rolled[number]]
        return None

    def display_name(self, ror_id: str) -> str | None:
        """The dump's display name of an organisation."""
        number = self.by_id.get(ror_id)
        return None if number is None else self.display[number]


def read_registry(path: Path) -> Registry:
    """The dump at ``path`` (``.json``, or a ``.zip`` holding one), read once per file version.

    :raises RorError: the file is missing, is not JSON, or is not a list of organisations.
    """
    try:
        stat = path.stat()
    except OSError as error:
        raise RorError(f"{path}: cannot read the ROR dump: {error.strerror or error}") from None
    return _read(path.resolve(), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=2)
def _read(path: Path, size: int, mtime_ns: int) -> Registry:
    """The registry of one file version; ``size`` and ``mtime_ns`` make a changed file read again."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    try:
        organisations = json.loads(_json_bytes(path))
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise RorError(f"{path}: not a ROR dump: {error}") from None
    if not isinstance(organisations, list):
        raise RorError(f"{path}: not a ROR dump: expected a JSON list of organisations")
    return _registry(organisations, digest.hexdigest()[:16], path)


def _json_bytes(path: Path) -> bytes:
    """The JSON of a dump file, from inside the release's zip file if it is one."""
    if not zipfile.is_zipfile(path):
        return path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        members = sorted((n for n in archive.namelist() if n.endswith(".json")),
                         key=lambda n: ("v2" not in n, n))  # releases of 2024 held v1 and v2
        if not members:
            raise RorError(f"{path}: no .json file in the zip file")
        return archive.read(members[0])


def _registry(organisations: list[Any], digest: str, path: Path) -> Registry:
    ids: list[str] = []
    display: list[str] = []
    parents: list[list[str]] = []
    own: list[bool] = []  # an organisation that never rolls up
    names: dict[str, tuple[int, int]] = {}  # key -> (rank, number); rank 0 beats 1
    acronyms: dict[str, int] = {}
    for organisation in organisations:
        ror_id = normalise_ror_id(str(organisation.get("id", ""))) if isinstance(organisation, dict) else ""
        entries = [n for n in organisation.get("names", []) if isinstance(n, dict) and n.get("value")] \
            if ror_id else []
        if not entries:
            continue  # one odd record must not stop the others
        number = len(ids)
        ids.append(ror_id)
        display.append(next((n["value"] for n in entries if "ror_display" in n.get("types", [])),
                            entries[0]["value"]))
        parents.append([r.get("id", "") for r in organisation.get("relationships", [])
                        if isinstance(r, dict) and r.get("type") == "parent"])
        types = organisation.get("types", [])
        own.append(len(parents[-1]) != 1 or "education" not in types or "healthcare" in types
                   or is_top_level(display[-1]))
        for entry in entries:
            key, kinds = comparable(entry["value"]), entry.get("types", [])
            if "acronym" in kinds:
                acronyms[key] = number if acronyms.get(key, number) == number else _AMBIGUOUS
                continue
            rank = 0 if any(kind in _FULL_NAME_TYPES for kind in kinds) else 1
            held = names.get(key)
            if held is None or rank < held[0]:
                names[key] = (rank, number)
            elif rank == held[0] and held[1] != number:
                names[key] = (rank, _AMBIGUOUS)
    if organisations and not ids:
        raise RorError(f"{path}: no organisation has a ROR id and names: expected the v2 schema")
    by_id = {ror_id: number for number, ror_id in enumerate(ids)}
    return Registry(tuple(ids), tuple(display), _rolled_up(own, parents, by_id), by_id,
                    {key: number for key, (_, number) in names.items()}, acronyms, digest)


def _rolled_up(own: list[bool], parents: list[list[str]], by_id: dict[str, int]) -> tuple[int, ...]:
    """Each organisation's number after a school rolls up to its parent, and on up."""
    rolled = []
    for number in range(len(own)):
        seen = {number}
        while not own[number]:
            parent = by_id.get(normalise_ror_id(parents[number][0]))
            if parent is None or parent in seen:
                break
            seen.add(parent)
            number = parent
        rolled.append(number)
    return tuple(rolled)
