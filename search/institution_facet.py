"""The institution facet's values: one per organisation across the whole collection.

The index stores, per article, the organisation names :func:`search.institutions.extract`
found (``institution_facet``).  When ``reindex`` makes the search arrays,
:func:`facet_values` turns the collection's names into facet values:

1. each name's English form and group key (:mod:`search.canonical`, the shipped tables);
2. the local alias file (:mod:`search.aliases`) renames a group: "shown as this";
3. a school named after its university ("Yale School of Medicine", "Harvard T.H. Chan
   School of Public Health") joins that university when the collection has it;
4. names of one group are shown by the form most articles use.

Because this happens at array time from names already in the index, a changed alias
file or table re-derives the facet without reading the exports again
(:func:`rules_digest` is what ``reindex`` compares).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from search.aliases import Aliases, read_aliases
from search.canonical import Tables, canonical, group_key, load
from search.config import Settings
from search import store
from search.institutions import comparable, extract

# "<name words> School|College of ...": perhaps a school of the university "<some of the words> University".
_SCHOOL_RE = re.compile(r"^(?P<words>(?:[A-Z][\w.'&-]*\s+)+)(?:School|College|Faculty)\b")


@dataclass(frozen=True)
class Rules:
    """What turns names into facet values: the shipped tables and the local alias file."""

    tables: Tables
    aliases: Aliases

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> "Rules":
        """The shipped tables and the alias file ``SEARCH_INSTITUTION_ALIASES`` names.

        :raises search.aliases.AliasError: the alias file cannot be used.
        """
        return read_rules((settings or Settings.from_env()).institution_aliases)

    @property
    def digest(self) -> str:
        """Changes whenever a table or the alias file does."""
        return f"{self.tables.digest}-{self.aliases.digest}"


def facet_values(counts: Mapping[str, int], rules: Rules) -> dict[str, str]:
    """Each extracted name -> its facet value, grouped over the whole collection.

    :param counts: every extracted name of the collection and how many articles have it.
    """
    keys = {name: _key(name, rules) for name in counts}
    rolled = _schools_rolled_up(keys, rules)
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for name, key in rolled.items():
        votes[key][canonical(name, rules.tables)] += counts[name]
    shown = {}
    for key, forms in votes.items():
        alias = rules.aliases.get(key)
        # The form most articles use; among equals the shorter, then the first alphabetically.
        shown[key] = alias or min(forms, key=lambda form: (-forms[form], len(form), form))
    return {name: shown[key] for name, key in rolled.items()}


def _key(name: str, rules: Rules) -> str:
    key = group_key(name, rules.tables)
    alias = rules.aliases.get(key)
    return group_key(alias, rules.tables) if alias else key


def _schools_rolled_up(keys: dict[str, str], rules: Rules) -> dict[str, str]:
    """``keys`` with a school's key replaced by its university's, when the collection has it."""
    present = set(keys.values())
    rolled = {}
    for name, key in keys.items():
        rolled[name] = key
        school = _SCHOOL_RE.match(canonical(name, rules.tables))
        if not school or rules.aliases.get(key):
            continue
        words = school["words"].split()
        for end in range(len(words), 0, -1):
            prefix = " ".join(words[:end])
            found = next((k for k in (group_key(f"{prefix} University", rules.tables),
                                      group_key(f"University of {prefix}", rules.tables),
                                      group_key(prefix, rules.tables)) if k in present), None)
            if found:
                rolled[name] = found
                break
    return rolled


def variant_keys(values: Mapping[str, str], rules: Rules) -> dict[str, str]:
    """Every form a search may name an organisation by -> its facet value: the names as
    extracted, their English forms, the values themselves and the alias file's names."""
    variants: dict[str, str] = {}
    by_key = {group_key(value, rules.tables): value for value in values.values()}
    for name, value in values.items():
        for form in (name, canonical(name, rules.tables), value):
            variants.setdefault(comparable(form), value)
            variants.setdefault(group_key(form, rules.tables), value)
    for key, shown in rules.aliases.shown.items():
        value = by_key.get(group_key(shown, rules.tables))
        if value:
            variants.setdefault(key, value)
    return variants


def lookup_keys(text: str, tables: Tables | None = None) -> list[str]:
    """The keys under which :func:`variant_keys` may hold what a search typed."""
    return list(dict.fromkeys([comparable(text), group_key(text, tables)]))


def read_rules(path: Path | None) -> Rules:
    """The shipped tables and the alias file at ``path`` (none when None).

    :raises search.aliases.AliasError: the alias file cannot be used.
    """
    tables = load()
    return Rules(tables, read_aliases(path, tables))


def write_report(index_dir: Path, destination: Path) -> int:
    """Write the librarian's report of the live generation: each facet value, the articles
    it has, and the affiliation strings grouped under it with how many articles give each.

    Tab-separated, one line per (value, affiliation), values with most articles first::

        facet value <TAB> articles <TAB> name as extracted <TAB> affiliation <TAB> articles

    :returns: the number of facet values written.
    """
    index, generation = store.open_live(index_dir)
    names = json.loads((generation / "facet-names.json").read_text(encoding="utf-8"))
    shown, variants = names["institutions"], names["institution-variants"]
    rows: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    articles: dict[str, set[str]] = defaultdict(set)
    with index.searcher() as searcher:
        for stored in searcher.all_stored_fields():
            record = json.loads(stored["record"])
            for affiliation in {a["text"] for author in record["authors"] for a in author["affiliations"]}:
                for name in extract(affiliation):
                    number = next((variants[k] for k in lookup_keys(name) if k in variants), None)
                    value = name if number is None else shown[number]
                    rows[value][(name, affiliation)] += 1
                    articles[value].add(stored["id"])
    with destination.open("w", encoding="utf-8") as out:
        out.write("# facet value\tarticles\tname as extracted\taffiliation\tarticles\n")
        for value in sorted(rows, key=lambda v: (-len(articles[v]), v.casefold())):
            for (name, affiliation), count in sorted(rows[value].items(), key=lambda item: (-item[1], item[0])):
                out.write(f"{value}\t{len(articles[value])}\t{name}\t{' '.join(affiliation.split())}\t{count}\n")
    return len(rows)
