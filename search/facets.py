"""Facets: counts by year, institution and journal, and the filters they make.

Counting reads per-document arrays that `reindex` writes with each generation (Whoosh's own
``groupedby`` keeps every match and was the slowest part of a search in our
measurements).  The Blacklight convention: values selected in one facet
combine with OR, different facets with AND, and each facet is counted under
the query and the *other* facets' filters, so selected values keep their
counts and their siblings stay visible to widen the selection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.columns import NumericColumn
from whoosh.matching import FilterMatcher
from whoosh.reading import IndexReader

from search.institution_facet import Rules, facet_values, lookup_keys, variant_keys
from search.postings import run_index

#: The facets every search returns, in the order pages show them.
FACETS = ("year", "institution", "journal")
#: How many organisation names' facet values a process keeps at most (:meth:`FacetData.institution_value`).
_KEPT_VALUES = 50_000
#: Institution counts gather each matched document's values when fewer than one document
#: in this many matches; past it, testing every pair is faster.
_FEWER_DOCS = 8


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
    #: Every form an organisation may be named by (:func:`search.institution_facet.variant_keys`)
    #: -> the number of its facet value.
    institution_variants: dict[str, int] = field(default_factory=dict)
    _orders: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _numbers: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    _values: dict[str, str] = field(default_factory=dict, repr=False)
    #: Where each document's run of (document, institution) pairs starts, made on first use.
    _starts: np.ndarray | None = field(default=None, repr=False)

    def institution_value(self, name: str) -> str:
        """The facet value an extracted or typed organisation name stands for (itself if none)."""
        # Every hit on a page asks this for each of its names, and the same organisations
        # come back query after query: the answers are kept (a bounded number of them).
        value = self._values.get(name)
        if value is None:
            number = next((self.institution_variants[k] for k in lookup_keys(name) if k in self.institution_variants), None)
            value = name if number is None else self.institution_names[number]
            if len(self._values) >= _KEPT_VALUES:
                self._values.clear()
            self._values[name] = value
        return value

    def having_institution(self, text: str) -> np.ndarray:
        """Documents whose institution facet value is the organisation ``text`` names, in any
        form the collection or the alias file knows it by."""
        having = np.zeros(len(self.live), dtype=bool)
        numbers = [self.institution_variants[k] for k in lookup_keys(text) if k in self.institution_variants]
        if numbers:
            having[self.institution_docs[np.isin(self.institution_values, numbers)]] = True
        return having

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
            allowed &= np.isin(self.journals, self._wanted("journal", filters.journal))
        if skip != "institution" and filters.institution:
            wanted = np.isin(self.institution_values, self._wanted("institution", filters.institution))
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
            return self._shown(name, values, selected, dict(values), truncated=False)
        if name == "journal":
            counts = np.bincount(self.journals[scope & (self.journals >= 0)], minlength=len(self.journal_names))
            return self._ranked(name, counts, set(filters.journal), limit)
        counts = np.bincount(self._institutions_of(scope), minlength=len(self.institution_names))
        return self._ranked(name, counts, set(filters.institution), limit)

    def _institutions_of(self, scope: np.ndarray) -> np.ndarray:
        """The institution values of the documents in ``scope``, one per (document, value)."""
        docs = np.flatnonzero(scope)
        if len(docs) * _FEWER_DOCS > len(self.live):
            return self.institution_values[scope[self.institution_docs]]
        # Few documents (most queries): their runs of the docnum-sorted pairs are gathered,
        # rather than every pair of the collection tested (4x faster at 1% of 100k).
        if self._starts is None:
            self._starts = np.searchsorted(self.institution_docs, np.arange(len(self.live) + 1))
        starts = self._starts[docs]
        return self.institution_values[run_index(starts, self._starts[docs + 1] - starts)]

    def _ranked(self, name: str, counts: np.ndarray, selected: set[str], limit: int) -> Facet:
        """The ``limit`` most frequent values (ties by name), ordered in numpy: a broad query
        at 100,000 articles counts thousands of institutions, and only a page of them is shown."""
        present = np.flatnonzero(counts)
        top = present[np.lexsort((self._name_order(name)[present], -counts[present]))[:limit]]
        names = self._names(name)
        values = [(names[i], int(counts[i])) for i in top]
        number = self._numbers_of(name)
        counted = {v: int(counts[number[v]]) for v in selected if v in number}
        return self._shown(name, values, selected, counted, truncated=len(present) > limit)

    @staticmethod
    def _shown(name: str, values: list[tuple[str, int]], selected: set[str], counted: dict[str, int],
               truncated: bool) -> Facet:
        """The facet showing ``values`` (already cut to the limit) and every selected value."""
        shown = [FacetValue(v, c, v in selected) for v, c in values]
        # A selected value stays visible with its count, even when outside the top or at 0.
        present = {v.value for v in shown}
        shown += [FacetValue(v, counted.get(v, 0), True) for v in sorted(selected - present)]
        return Facet(name, shown, truncated=truncated)

    def _names(self, name: str) -> list[str]:
        return self.journal_names if name == "journal" else self.institution_names

    def _name_order(self, name: str) -> np.ndarray:
        """Each value's place in case-blind alphabetical order (made once per generation)."""
        if name not in self._orders:
            names = self._names(name)
            order = np.zeros(len(names), dtype=np.int64)
            order[sorted(range(len(names)), key=lambda i: names[i].casefold())] = np.arange(len(names))
            self._orders[name] = order
        return self._orders[name]

    def _wanted(self, name: str, values: tuple[str, ...]) -> np.ndarray:
        """The numbers of the facet's ``values`` (those it has)."""
        number = self._numbers_of(name)
        return np.array([number[v] for v in values if v in number], dtype=np.int32)

    def _numbers_of(self, name: str) -> dict[str, int]:
        """Value -> its number (made once per generation)."""
        if name not in self._numbers:
            self._numbers[name] = {value: i for i, value in enumerate(self._names(name))}
        return self._numbers[name]


def facet_arrays(reader: IndexReader, size: int,
                 rules: Rules | None = None) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """Per-document facet values of an index, made by ``reindex`` (:mod:`search.arrays`).

    The institution values are derived here, from the names the index stores and the
    ``rules`` (default: the shipped tables and ``SEARCH_INSTITUTION_ALIASES``), so a
    changed alias file needs no re-reading of the exports (:func:`institutions_current`).

    :returns: the arrays by name, and the journal and institution names their numbers
        stand for, the institution variants and the digest of the rules.
    """
    rules = rules or Rules.from_settings()
    journals = np.full(size, -1, dtype=np.int32)
    journal_names = []
    for number, (name, docs) in enumerate(_postings(reader, "journal_facet")):
        journal_names.append(name)
        journals[docs] = number
    extracted = dict(_postings(reader, "institution_facet"))
    values = facet_values({name: len(docs) for name, docs in extracted.items()}, rules)
    institution_names = sorted(set(values.values()), key=lambda v: (v.casefold(), v))
    numbers = {value: number for number, value in enumerate(institution_names)}
    docs = np.concatenate([np.zeros(0, dtype=np.int64), *extracted.values()])
    value_of = np.concatenate([np.zeros(0, dtype=np.int64), *(np.full(len(d), numbers[values[name]], dtype=np.int64)
                                                                for name, d in extracted.items())])
    # Two names of one article may be one organisation: one (document, value) pair each.
    pairs = np.unique(docs * max(len(institution_names), 1) + value_of)
    arrays = {
        "years": _column(reader, "year", size),
        "dates": _column(reader, "date", size),
        "journals": journals,
        "institution-docs": pairs // max(len(institution_names), 1),
        "institution-values": (pairs % max(len(institution_names), 1)).astype(np.int32),
    }
    variants = {key: numbers[value] for key, value in variant_keys(values, rules).items()}
    return arrays, {"journals": journal_names, "institutions": institution_names,
                    "institution-variants": variants, "institution-rules": rules.digest}


def institutions_current(generation: Path, rules: Rules | None = None) -> bool:
    """Whether the generation's institution facet was derived with today's tables and alias file."""
    try:
        names = json.loads((generation / "facet-names.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return names.get("institution-rules") == (rules or Rules.from_settings()).digest


def _column(reader: IndexReader, name: str, size: int) -> np.ndarray:
    """A numeric column as an array (0 where a document has no value)."""
    values = np.zeros(size, dtype=np.int32)
    for leaf, offset in reader.leaf_readers():
        if leaf.segment() is None or not leaf.has_column(name):
            continue
        column = leaf.column_reader(name, translate=False)
        if isinstance(column, NumericColumn.Reader):
            # Whoosh stores the segment's values one after another, big-endian, then pads
            # with the default: read them at once, not a Python call per document.
            raw = column._dbfile.get(column._basepos, column._count * column._fixedlen)
            read = np.frombuffer(raw, dtype=">" + column._typecode).astype(np.int64)
            read[read == column._default] = 0  # no value: no year or date
            values[offset:offset + len(read)] = read
        else:
            missing = reader.schema[name].default
            values[offset:offset + leaf.doc_count_all()] = [
                0 if (value := column[d]) in (None, missing) else value for d in range(leaf.doc_count_all())]
    return values


def _postings(reader: IndexReader, field_name: str) -> Iterator[tuple[str, np.ndarray]]:
    """(term, docnums) for every term of an exact-valued field."""
    found: dict[str, list[np.ndarray]] = {}
    for leaf, offset in reader.leaf_readers():
        if leaf.segment() is None or field_name not in leaf.indexed_field_names():
            continue
        live = np.zeros(leaf.doc_count_all(), dtype=bool)
        live[np.fromiter(leaf.all_doc_ids(), dtype=np.int64)] = True
        for term in leaf.lexicon(field_name):
            text = term.decode("utf-8") if isinstance(term, bytes) else term
            ids = _ids(leaf.postings(field_name, term))
            ids = ids[live[ids]]
            if len(ids):
                found.setdefault(text, []).append(offset + ids)
    for text in sorted(found):
        yield text, np.concatenate(found[text])


def _ids(matcher: Any) -> np.ndarray:
    """All docnums of a term's matcher, a block at a time as Whoosh decodes them (stepping
    a posting at a time cost a second for the institutions of 100,000 articles)."""
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child  # the one that leaves deleted documents out, a posting at a time
    if not isinstance(matcher, W3LeafMatcher):
        return np.fromiter(matcher.all_ids(), dtype=np.int64)
    blocks = []
    while matcher.is_active():
        matcher._read_ids()
        blocks.append(np.asarray(matcher._ids, dtype=np.int64))
        matcher._next_block()
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int64)
