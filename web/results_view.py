"""What a results page shows besides the hits, made from the :class:`~search.query.SearchResult`
alone: the year timeline, the active filters, a narrowed facet list and the page title.

No search happens here; each is another view of the result the page already has.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from search.facets import FacetValue, Filters
from search.query import SearchResult

#: Facets whose "more" list has a box to narrow its values, and the parameter it sets.
NARROWABLE = {"institution": "institution_contains", "journal": "journal_contains"}
#: Gaps between years are drawn (as empty slots) when the timeline spans at most this many years.
TIMELINE_SPAN = 60
#: The timeline's drawing units: each year a slot this wide, the tallest bar this high.
SLOT, BAR_HEIGHT = 10, 48


@dataclass(frozen=True)
class Bar:
    """One year of the timeline, with its bar's place in the SVG's units."""

    year: int
    count: int
    selected: bool
    #: Inside the year_from/year_to range (True when no range is set).
    in_range: bool
    x: int
    height: int


@dataclass(frozen=True)
class Timeline:
    """The year facet as bars, oldest first."""

    bars: list[Bar]
    width: int
    height: int = BAR_HEIGHT
    #: Whether a range or a year is selected, so that the bars outside it are shown apart.
    narrowed: bool = False


def timeline(years: list[FacetValue], filters: Filters) -> Timeline | None:
    """The year facet's counts as bars (None for fewer than two years); the years between
    them get an empty slot when the span is short enough to draw each."""
    counts = {int(v.value): v for v in years if v.count}
    if len(counts) < 2:
        return None
    first, last = min(counts), max(counts)
    shown = range(first, last + 1) if last - first < TIMELINE_SPAN else sorted(counts)
    tallest = max(v.count for v in counts.values())
    bars = []
    for slot, year in enumerate(shown):
        value = counts.get(year)
        count = value.count if value else 0
        bars.append(Bar(
            year=year, count=count, selected=bool(value and value.selected),
            in_range=(filters.year_from or year) <= year <= (filters.year_to or year),
            x=slot * SLOT,
            # A year with any result keeps a visible bar however tall the tallest.
            height=max(2, round(count / tallest * BAR_HEIGHT)) if count else 0,
        ))
    narrowed = bool(filters.year or filters.year_from or filters.year_to)
    return Timeline(bars, width=len(bars) * SLOT, narrowed=narrowed)


@dataclass(frozen=True)
class ActiveFilter:
    """A filter in force: the facet (or ``range``), its label and value as shown."""

    name: str
    label: str
    value: str


def active_filters(filters: Filters, labels: dict[str, str]) -> list[ActiveFilter]:
    """Every filter in force, in the order of the facets, the year range last."""
    active = [ActiveFilter(name, labels[name], str(value))
              for name in ("year", "institution", "journal") for value in getattr(filters, name)]
    if filters.year_from is not None or filters.year_to is not None:
        span = f"{filters.year_from or '…'}–{filters.year_to or '…'}"
        active.append(ActiveFilter("range", "Years", span))
    return active


def fold(text: str) -> str:
    """``text`` compared without case or accents (the page's script folds the same way)."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def narrowed(values: list[FacetValue], text: str) -> list[FacetValue]:
    """The facet values whose name holds ``text`` (all of them for no text)."""
    wanted = fold(text.strip())
    return [v for v in values if wanted in fold(v.value)] if wanted else values


def page_title(result: SearchResult, filters: list[ActiveFilter]) -> str:
    """The title a results page's tab and history show: query, count, page and filters."""
    parts = [f"“{result.query}”" if result.query else "All articles"]
    count = f"{result.total:,} result{'s' if result.total != 1 else ''}" if result.total else "no results"
    parts.append(count + (f", page {result.page} of {result.pages}" if result.page > 1 else ""))
    if filters:
        parts.append("; ".join(f"{f.label}: {f.value}" for f in filters))
    return " – ".join(parts)
