"""The local alias file (``SEARCH_INSTITUTION_ALIASES``): "these names are one organisation,
shown as this".

A UTF-8 text file, one organisation a line, tab-separated: the name the institution
facet shows, then any number of other names of it (as the facet or the institutions
report showed them, or as affiliations write them)::

    # shown as<TAB>other names ...
    Karolinska University Hospital<TAB>Karolinska Universitetssjukhuset<TAB>Karolinska Hospital

Names are compared as :func:`search.canonical.group_key` compares them (case, accents,
punctuation, a leading "the", the shipped tables' translations do not count).  Lines
starting with ``#`` and blank lines are ignored.  ``reindex`` applies the file; when it
changes, the next ``reindex`` derives the facet again from the stored names, without
reading the exports.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from search.canonical import Tables, group_key


class AliasError(ValueError):
    """The alias file cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Aliases:
    """An alias file read: each name's group key -> the name to show."""

    shown: dict[str, str] = field(default_factory=dict)
    digest: str = ""

    def get(self, key: str) -> str | None:
        """The name to show for a group key, if the file names it."""
        return self.shown.get(key)


def read_aliases(path: Path | None, tables: Tables) -> Aliases:
    """The aliases in ``path`` (none when ``path`` is None).

    :raises AliasError: the file is missing or unreadable, a line has no other name, or a
        name is given two different names to show (file and line named).
    """
    if path is None:
        return Aliases()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise AliasError(f"{path}: cannot read the institution alias file: {error}") from None
    shown: dict[str, str] = {}
    where: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        names = [name.strip() for name in line.split("\t") if name.strip()]
        if len(names) < 2:
            raise AliasError(f"{path}, line {number}: expected the name to show, a tab, and at least "
                             f"one other name: {line!r}")
        for name in names:
            key = group_key(name, tables)
            if shown.get(key, names[0]) != names[0]:
                raise AliasError(f"{path}, line {number}: {name!r} is already shown as "
                                 f"{shown[key]!r} (line {where[key]})")
            shown[key], where[key] = names[0], number
    return Aliases(shown, hashlib.sha256(text.encode("utf-8")).hexdigest()[:16])
