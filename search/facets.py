"""Facets: counts by year, institution and journal, and the filters they make.

Counting reads per-document arrays that `reindex` writes with each generation (Whoosh's own
``groupedby`` keeps every match and was the slowest part of a search in our
measurements).  The Blacklight convention: values selected in one facet
combine with OR, different facets with AND, and each facet is counted under
the query and the *other* facets' filters, so selected values keep their
counts and their siblings stay visible to widen the selection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from whoosh.reading import IndexReader

#: The facets every search returns, in the order pages show them.
FACETS = ("year", "institution", "journal")


@dataclass(frozen=True)
class Filters:
    """The facet values a search is narrowed to; empty means no filter."""

    year: tuple[int, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    institution: tuple[str, ...] = ()
    journal: tuple[str, ...] = ()

    def active(self) -> bool:
        """True when any filter is set."""
        return bool(self.year or self.institution or self.journal
                    or self.year_from is not None or self.year_to is not None)


@dataclass
class FacetValue:
    """One value of a facet with its count; ``selected`` when it filters the results."""

    value: str
    count: int
    selected: bool


@dataclass
class Facet:
    """A facet's values, most useful first, and whether more values exist than shown."""

    name: str
    values: list[FacetValue] = field(default_factory=list)
    truncated: bool = False


@dataclass
class FacetData:
    """Per-document facet values (and dates, for sorting) of one opened generation, by docnum."""

    years: np.ndarray
    dates: np.ndarray
    journals: np.ndarray
    journal_names: list[str]
    institution_docs: np.ndarray
    institution_values: np.ndarray
    institution_names: list[str]
    live: np.ndarray

    def mask(self, filters: Filters, skip: str | None = None) -> np.ndarray:
        """Documents passing every filter except those of facet ``skip``."""
        allowed = self.live.copy()
        if skip != "year":
            if filters.year:
                allowed &= np.isin(self.years, np.array(filters.year, dtype=np.int32))
            if filters.year_from is not None:
                allowed &= self.years >= filters.year_from
            if filters.year_to is not None:
                allowed &= (self.years <= filters.year_to) & (self.years > 0)
        if skip != "journal" and filters.journal:
            allowed &= np.isin(self.journals, _numbers(self.journal_names, filters.journal))
        if skip != "institution" and filters.institution:
            wanted = np.isin(self.institution_values, _numbers(self.institution_names, filters.institution))
            having = np.zeros(len(self.live), dtype=bool)
            having[self.institution_docs[wanted]] = True
            allowed &= having
        return allowed

    def count(self, matched: np.ndarray, filters: Filters, limits: dict[str, int]) -> dict[str, Facet]:
        """Every facet counted over ``matched`` documents and the other facets' filters.

        :param matched: a boolean array, the documents the query matches.
        :param limits: how many values to show per facet (selected values always shown).
        """
        facets = {}
        for name in FACETS:
            scope = matched & self.mask(filters, skip=name)
            facets[name] = self._facet(name, scope, filters, limits.get(name, 10))
        return facets

    def _facet(self, name: str, scope: np.ndarray, filters: Filters, limit: int) -> Facet:
        if name == "year":
            counts = np.bincount(self.years[scope & (self.years > 0)], minlength=1)
            values = [(str(y), int(counts[y])) for y in np.nonzero(counts)[0]]
            selected = {str(y) for y in filters.year}
            # Years read newest first, like a timeline; every year is shown.
            values.sort(key=lambda v: -int(v[0]))
            limit = len(values)
        elif name == "journal":
            counts = np.bincount(self.journals[scope & (self.journals >= 0)], minlength=len(self.journal_names))
            values = [(self.journal_names[i], int(counts[i])) for i in np.nonzero(counts)[0]]
            selected = set(filters.journal)
        else:
            in_scope = scope[self.institution_docs] if len(self.institution_docs) else np.zeros(0, dtype=bool)
            counts = np.bincount(self.institution_values[in_scope], minlength=len(self.institution_names))
            values = [(self.institution_names[i], int(counts[i])) for i in np.nonzero(counts)[0]]
            selected = set(filters.institution)
        if name != "year":
            values.sort(key=lambda v: (-v[1], v[0].casefold()))
        shown = [FacetValue(v, c, v in selected) for v, c in values[:limit]]
        # A selected value stays visible with its count, even when outside the top or at 0.
        present = {v.value for v in shown}
        counted = dict(values)
        shown += [FacetValue(v, counted.get(v, 0), True) for v in sorted(selected - present)]
        return Facet(name, shown, truncated=len(values) > limit)


def facet_arrays(reader: IndexReader, size: int) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """Per-document facet values of an index, made by ``reindex`` (:mod:`search.arrays`).

    :returns: the arrays by name, and the journal and institution names their numbers stand for.
    """
    journals = np.full(size, -1, dtype=np.int32)
    journal_names = []
    for number, (name, docs) in enumerate(_postings(reader, "journal_facet")):
        journal_names.append(name)
        journals[docs] = number
    pairs_docs, pairs_values, institution_names = [], [], []
    for number, (name, docs) in enumerate(_postings(reader, "institution_facet")):
        institution_names.append(name)
        pairs_docs.append(docs)
        pairs_values.append(np.full(len(docs), number, dtype=np.int32))
    arrays = {
        "years": _column(reader, "year", size),
        "dates": _column(reader, "date", size),
        "journals": journals,
        "institution-docs": np.concatenate(pairs_docs) if pairs_docs else np.zeros(0, dtype=np.int64),
        "institution-values": np.concatenate(pairs_values) if pairs_values else np.zeros(0, dtype=np.int32),
    }
    return arrays, {"journals": journal_names, "institutions": institution_names}


def _column(reader: IndexReader, name: str, size: int) -> np.ndarray:
    """A numeric column as an array (0 where a document has no value)."""
    values = np.zeros(size, dtype=np.int32)
    if reader.has_column(name):
        column = reader.column_reader(name)
        # Whoosh fills a document without a value with the field's default (for our
        # unsigned fields, the largest number); such a document has no year or date.
        missing = reader.schema[name].default
        values[:] = [0 if (value := column[d]) in (None, missing) else value for d in range(size)]
    return values


def _postings(reader: IndexReader, field_name: str):
    """(term, docnums) for every term of an exact-valued field."""
    if field_name not in reader.indexed_field_names():
        return
    for term in reader.lexicon(field_name):
        text = term.decode("utf-8") if isinstance(term, bytes) else term
        docs = np.fromiter(reader.postings(field_name, term).all_ids(), dtype=np.int64)
        yield text, docs


def _numbers(names: list[str], wanted: tuple[str, ...]) -> np.ndarray:
    lookup = set(wanted)
    return np.array([i for i, name in enumerate(names) if name in lookup], dtype=np.int32)
