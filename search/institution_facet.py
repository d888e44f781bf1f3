"""The institution facet's values: one per organisation across the whole collection.

The index stores, per article, the organisation names :func:`search.institutions.extract`
found (``institution_facet``).  When ``reindex`` makes the search arrays,
:func:`facet_values` turns the collection's names into facet values:

1. each name's English form and group key (:mod:`search.canonical`, the shipped tables);
2. the local alias file (:mod:`search.aliases`) renames a group: "shown as this";
3. a school named after its university ("Yale School of Medicine", "Harvard T.H. Chan
   School of Public Health", "Johns Hopkins Medical Institutions") joins that university
   when the collection has it, unless the tables know the school as an organisation of
   its own;
4. names of affiliations that carry one ROR id join one group (:func:`facet_term`), and
   so do names a ROR dump (:mod:`search.ror`, optional) gives one organisation;
5. names of one group are shown by the alias file's name, else the ROR dump's display
   name, else the form most articles use, a university's own names before its schools'.

Because this happens at array time from names already in the index, a changed alias
file or table re-derives the facet without reading the exports again
(:attr:`Rules.digest` is what ``reindex`` compares).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from search.aliases import Aliases, read_aliases
from search.canonical import Tables, canonical, group_key, is_known, load
from search.config import Settings
from search import store
from search.institutions import comparable, extract
from search.ror import Registry, read_registry

# "<name words> School|College of ...": perhaps a school of the university "<some of the words>
# University"; not "<name words> College Hospital", a hospital.
_SCHOOL_RE = re.compile(r"^(?P<words>[A-Z][\w.'&-]*\s+(?:(?:[A-Z][\w.'&-]*|of|at|the)\s+)*)"
                        r"(?:School|College|Faculty|Institutions)(?:\s+(?:of|for|in)\s.*)?$")


@dataclass(frozen=True)
class Rules:
    """What turns names into facet values: the shipped tables, the local alias file and,
    if one is given, a ROR dump."""

    tables: Tables
    aliases: Aliases
    registry: Registry | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> "Rules":
        """The shipped tables, the alias file ``SEARCH_INSTITUTION_ALIASES`` names and the
        ROR dump ``SEARCH_ROR_DUMP`` names.

        :raises search.aliases.AliasError: the alias file cannot be used.
        :raises search.ror.RorError: the ROR dump cannot be used.
        """
        settings = settings or Settings.from_env()
        return read_rules(settings.institution_aliases, settings.ror_dump)

    @property
    def digest(self) -> str:
        """Changes whenever a table, the alias file or the ROR dump does."""
        registry = f"-ror:{self.registry.digest}" if self.registry else ""
        return f"{self.tables.digest}-{self.aliases.digest}{registry}"


#: Between a name and its affiliation's ROR id in a facet term (names hold no tab).
_ROR_MARK = "\t"


def facet_term(name: str, ror_id: str = "") -> str:
    """What the index stores for a name an affiliation gave: the name, and the ROR id of the
    affiliation when it names this one organisation (:func:`split_term` reads it back)."""
    return f"{name}{_ROR_MARK}{ror_id}" if ror_id else name


def split_term(term: str) -> tuple[str, str]:
    """The name and ROR id (or ``""``) of a facet term; indexes made before ROR ids were
    stored hold names alone."""
    name, _, ror_id = term.partition(_ROR_MARK)
    return name, ror_id


def facet_values(counts: Mapping[str, int], rules: Rules) -> dict[str, str]:
    """Each facet term (:func:`facet_term`) -> its facet value, grouped over the whole collection.

    Names are one organisation when their group keys are equal (:func:`_key`, then schools
    rolled up), or when they carry, or the ROR dump gives them, one ROR id.

    :param counts: every term of the collection and how many articles have it.
    """
    names = {term: split_term(term)[0] for term in counts}
    own = {term: _key(name, rules) for term, name in names.items()}
    keys = _schools_rolled_up(own, names, rules)
    groups = _Groups()
    organisation: dict[str, str] = {}
    for term, key in keys.items():
        ror_id = _organisation(term, rules)
        groups.join("key:" + key, "ror:" + ror_id if ror_id else "key:" + key)
        if ror_id:
            organisation[term] = ror_id
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    school_votes: dict[str, Counter[str]] = defaultdict(Counter)
    aliases: dict[str, Counter[str]] = defaultdict(Counter)
    registered: dict[str, Counter[str]] = defaultdict(Counter)
    for term, key in keys.items():
        group = groups.root("key:" + key)
        # A school rolled up into its university does not name the group while the university does.
        ballot = votes if key == own[term] else school_votes
        ballot[group][canonical(names[term], rules.tables)] += counts[term]
        if rules.aliases.get(key):
            aliases[group][rules.aliases.get(key)] += counts[term]
        display = rules.registry.display_name(organisation[term]) \
            if rules.registry and term in organisation else None
        if display:
            registered[group][display] += counts[term]
    shown = {}
    for group in {*votes, *school_votes}:
        # The name most articles use; among equals the shorter (but "Tropical and" before
        # "Tropicaland"), then the first alphabetically.
        named = aliases[group] or registered[group] or votes[group] or school_votes[group]
        shown[group] = min(named, key=lambda form: (-named[form], len(form.replace(" ", "")), -len(form), form))
    return {term: shown[groups.root("key:" + key)] for term, key in keys.items()}


def _organisation(term: str, rules: Rules) -> str:
    """The ROR id a term's name is grouped under: its affiliation's (a school's parent's,
    when the dump has it), else the one the dump gives its name; ``""`` for none."""
    name, ror_id = split_term(term)
    if rules.registry is None:
        return ror_id
    if ror_id:
        return rules.registry.organisation(ror_id) or ror_id
    return rules.registry.match([name, canonical(name, rules.tables)]) or ""


class _Groups:
    """Union-find over group keys and ROR ids: what one link joins stays joined."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def root(self, item: str) -> str:
        """The group ``item`` is in (itself when alone)."""
        path = []
        while self.parent.get(item, item) != item:
            path.append(item)
            item = self.parent[item]
        for step in path:
            self.parent[step] = item
        return item

    def join(self, first: str, second: str) -> None:
        """Put ``first`` and ``second`` in one group."""
        a, b = self.root(first), self.root(second)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def _key(name: str, rules: Rules) -> str:
    key = group_key(name, rules.tables)
    alias = rules.aliases.get(key)
    return group_key(alias, rules.tables) if alias else key


def _schools_rolled_up(keys: dict[str, str], names: Mapping[str, str], rules: Rules) -> dict[str, str]:
    """``keys`` (of terms) with a school's key replaced by its university's, when the
    collection has it; ``names`` are the terms' names."""
    present = set(keys.values())
    rolled = {}
    for term, key in keys.items():
        rolled[term] = key
        school = _SCHOOL_RE.match(canonical(names[term], rules.tables))
        if not school or rules.aliases.get(key) or is_known(names[term], rules.tables):
            continue
        words = school["words"].split()
        for end in range(len(words), 0, -1):
            prefix = " ".join(words[:end])
            found = next((k for k in (group_key(f"{prefix} University", rules.tables),
                                      group_key(f"University of {prefix}", rules.tables),
                                      group_key(prefix, rules.tables)) if k in present), None)
            if found:
                rolled[term] = found
                break
    return rolled


def variant_keys(values: Mapping[str, str], rules: Rules) -> dict[str, str]:
    """Every form a search may name an organisation by -> its facet value: the names as
    extracted, their English forms, the values themselves and the alias file's names.

    :param values: each facet term -> its value (:func:`facet_values`).
    """
    variants: dict[str, str] = {}
    by_key = {group_key(value, rules.tables): value for value in values.values()}
    for term, value in values.items():
        name = split_term(term)[0]
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


def read_rules(path: Path | None, ror_dump: Path | None = None) -> Rules:
    """The shipped tables, the alias file at ``path`` and the ROR dump ``ror_dump`` (none when None).

    :raises search.aliases.AliasError: the alias file cannot be used.
    :raises search.ror.RorError: the ROR dump cannot be used.
    """
    tables = load()
    return Rules(tables, read_aliases(path, tables), read_registry(ror_dump) if ror_dump else None)


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
