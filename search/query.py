"""The one search function the web pages, the JSON API and the evaluation all call.

``run_search(snapshot, params) -> SearchResult``: the query string, filters,
sort and page go in; ranked hits with highlights, the total, facet counts, a
"did you mean" suggestion and the time taken come out, as plain dataclasses
that the HTML page and the JSON API render in their own way.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from search import suggest
from search.engine import Snapshot
from search.facets import FACETS, FacetData, FacetValue, Filters
from search.highlight import highlight_title, snippet
from search.ranking import ALL_WORDS_FIRST, RERANK_DEPTH, fuse, meaning_query
from search.records import PartialDate
from search.retrieval import Matches
from search.syntax import Clause, parse

SORTS = ("relevance", "newest", "oldest")
#: Page sizes the HTML pages offer; the API accepts any size up to :data:`MAX_PER_PAGE`.
PAGE_SIZES = (10, 20, 50)
MAX_PER_PAGE = 100
#: Pages beyond this are refused: nobody reads them, and deep paging costs.
MAX_PAGE = 1000
#: The longest query, and the longest value of any other parameter, in characters:
#: a pasted abstract fits; what is longer is an attack on the parser, not a search.
MAX_QUERY_CHARS = 1000
#: The most values one parameter may have (a repeated ``institution=``, say).
MAX_VALUES = 20
#: Institutions shown before "more"; with ``more=institution`` up to :data:`MORE_VALUES`.
FACET_VALUES = 10
MORE_VALUES = 100
#: Below this many results a spelling suggestion is looked for.
SUGGEST_BELOW = 3


#: The parameters a search takes; any other is ignored (and left out of the links made).
PARAMETERS = ("q", "year", "year_from", "year_to", "institution", "journal", "sort", "page", "per_page", "more")


class ParamError(ValueError):
    """A search parameter that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class SearchParams:
    """Everything that defines a results page."""

    q: str = ""
    filters: Filters = Filters()
    sort: str = "relevance"
    page: int = 1
    per_page: int = 10
    more: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: Mapping[str, Sequence[str]], max_per_page: int = MAX_PER_PAGE) -> "SearchParams":
        """Parameters from a URL's query arguments (each name to its list of values).

        :raises ParamError: for a value that is not allowed, naming the parameter, or a
            parameter over a limit (:data:`MAX_QUERY_CHARS`, :data:`MAX_VALUES`), naming it.
        """
        _check_limits(args)

        def one(name: str, default: str = "") -> str:
            values = args.get(name) or [default]
            return values[-1].strip()

        def many(name: str) -> tuple[str, ...]:
            return tuple(dict.fromkeys(v.strip() for v in args.get(name, ()) if v.strip()))

        sort = one("sort", "relevance") or "relevance"
        if sort not in SORTS:
            raise ParamError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        more = many("more")
        if set(more) - set(FACETS):
            raise ParamError(f"more must name a facet ({', '.join(FACETS)})")
        filters = Filters(
            year=tuple(_integer(name="year", value=v, low=1, high=9999) for v in many("year")),
            year_from=_optional_year(one("year_from")),
            year_to=_optional_year(one("year_to"), name="year_to"),
            institution=many("institution"),
            journal=many("journal"),
        )
        return cls(
            q=one("q"),
            filters=filters,
            sort=sort,
            page=_integer("page", one("page", "1") or "1", 1, MAX_PAGE),
            per_page=_integer("per_page", one("per_page", "10") or "10", 1, max_per_page),
            more=more,
        )


@dataclass
class Hit:
    """One result; ``highlights`` hold HTML with ``<mark>`` around matches, all else escaped."""

    id: str
    title: str
    web_url: str
    pdf_url: str
    year: int | None
    #: The publication date as far as known (``2015``, ``2015-09``, ``2015-09-04``), or None.
    published: str | None
    journal: str
    authors: list[str]
    institutions: list[str]
    score: float | None
    highlights: dict[str, str]


@dataclass
class SearchResult:
    """A results page: what both the HTML page and the JSON API show."""

    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    suggestion: str | None
    hits: list[Hit]
    facets: dict[str, list[FacetValue]]
    truncated_facets: list[str] = field(default_factory=list)
    sort: str = "relevance"
    filters: Filters = Filters()
    #: How many of the ``total`` results have every word of a query of several words (or
    #: are by the author they name); None for a query of fewer words.
    all_words: int | None = None

    @property
    def pages(self) -> int:
        """How many pages the results fill."""
        return min(MAX_PAGE, max(1, -(-self.total // self.per_page)))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``/api/search``)."""
        data = asdict(self)
        data["filters"] = {k: v for k, v in data["filters"].items() if v not in ((), None)}
        data["pages"] = self.pages
        return data


def run_search(snapshot: Snapshot, params: SearchParams) -> SearchResult:
    """Search the index snapshot.

    An empty query lists every article (narrowed by the filters), newest first
    unless another order is asked for.
    """
    started = time.perf_counter()
    clauses = parse(params.q)
    data = snapshot.facets
    matches = snapshot.retriever.match(clauses) if params.q else Matches(data.live.copy(), np.zeros(len(data.live)))
    sort = params.sort if params.q or params.sort != "relevance" else "newest"
    allowed = data.mask(params.filters)
    scope = matches.mask & allowed
    complete = matches.complete
    all_words = int((complete & scope).sum()) if complete is not None else None
    total = int(scope.sum())
    start = (params.page - 1) * params.per_page
    if sort == "relevance":
        limit = max(start + params.per_page, RERANK_DEPTH)
        text = meaning_query(clauses)
        query_vector = cache(lambda: snapshot.encoder.encode([text])[0]) if text else None
        if complete is not None and matches.optional <= ALL_WORDS_FIRST:
            # A few words typed: the articles with all of them first (docs/relevance.md).
            ranked = _ranked(snapshot, query_vector, matches.scores, scope & complete, limit)
            if len(ranked) < limit:
                ranked += _ranked(snapshot, query_vector, matches.scores, scope & ~complete, limit - len(ranked))
        else:
            ranked = _ranked(snapshot, query_vector, matches.scores, scope, limit)
        page = ranked[start:start + params.per_page]
    else:
        docs = np.flatnonzero(scope)
        order = np.argsort(data.dates[docs] if sort == "oldest" else -data.dates[docs], kind="stable")
        page = [(int(d), None) for d in docs[order[start:start + params.per_page]]]
    limits = {name: (MORE_VALUES if name in params.more else FACET_VALUES) for name in FACETS}
    facets = data.count(matches.mask, params.filters, limits)
    with snapshot.reading() as searcher:
        stored = [searcher.stored_fields(docnum) for docnum, _ in page]
    hits = [_hit(fields, score, matches.terms, data) for fields, (_, score) in zip(stored, page)]
    suggestion = None
    if params.q and total < SUGGEST_BELOW:
        suggestion = _suggestion(snapshot, params.q, clauses, total, allowed)
    return SearchResult(
        query=params.q,
        total=total,
        page=params.page,
        per_page=params.per_page,
        took_ms=round((time.perf_counter() - started) * 1000, 1),
        suggestion=suggestion,
        hits=hits,
        facets={name: facet.values for name, facet in facets.items()},
        truncated_facets=[name for name, facet in facets.items() if facet.truncated],
        sort=sort,
        filters=params.filters,
        all_words=all_words,
    )


def _top(scores: np.ndarray, scope: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``limit`` best documents in ``scope``: higher score first, then lower docnum
    (Whoosh's order for equal scores)."""
    docs = np.flatnonzero(scope)
    values = scores[docs]
    if len(docs) > limit:
        # Everything tied with the limit-th score stays in, so ties are broken by docnum.
        threshold = np.partition(values, len(values) - limit)[len(values) - limit]
        keep = values >= threshold
        docs, values = docs[keep], values[keep]
    order = np.lexsort((docs, -values))[:limit]
    return docs[order], values[order]


def _ranked(snapshot: Snapshot, query_vector: Callable[[], np.ndarray] | None, scores: np.ndarray,
            scope: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """(docnum, score) of the best ``limit`` documents in ``scope``, by words and meaning."""
    docnums, best = _top(scores, scope, limit)
    return _rerank(snapshot, query_vector, docnums, best)


def _rerank(snapshot: Snapshot, query_vector: Callable[[], np.ndarray] | None, docnums: np.ndarray,
            scores: np.ndarray) -> list[tuple[int, float]]:
    """(docnum, score) of the word matches, the first :data:`RERANK_DEPTH` ordered again
    by word score and meaning together (:func:`search.ranking.fuse`).

    :param query_vector: gives the query's meaning vector (computed once, when first
        needed); None for a query with no words to compare.
    """
    similarity = np.zeros(len(docnums))
    head = min(len(docnums), RERANK_DEPTH)
    has_vector = snapshot.arrays.has_vector[docnums[:head]] if head else np.zeros(0, dtype=bool)
    # Without a vector among them (an index whose meaning phase has not run) the order is BM25's.
    if query_vector is not None and has_vector.any():
        vectors = np.asarray(snapshot.arrays.vectors[docnums[:head]], dtype=np.float32)
        similarity[:head] = vectors @ query_vector()
    fused = scores.astype(np.float64)
    fused[:head] = fuse(scores[:head], similarity[:head], has_vector)
    if head < len(docnums):
        # Past the head the order stays BM25's, on the same scale (with no meaning part).
        fused[head:] = fuse(scores, np.zeros(len(scores)))[head:]
    order = np.concatenate([np.argsort(-fused[:head], kind="stable"), np.arange(head, len(docnums))])
    return [(int(docnums[i]), float(fused[i])) for i in order]


def _terms_for(terms: dict[str, frozenset[str]], field: str) -> frozenset[str]:
    """Words to mark in ``field``: its own, and those of ``content``, which holds it too."""
    return terms.get(field, frozenset()) | terms.get("content", frozenset())


def _hit(stored: dict[str, Any], score: float | None, terms: dict[str, frozenset[str]],
         facets: FacetData) -> Hit:
    record = json.loads(stored["record"])
    title = record["titles"][0] if record["titles"] else {"text": "", "locale": None}
    abstracts = [(a["locale"], a["text"]) for a in record["abstracts"]]
    return Hit(
        id=stored["id"],
        title=title["text"],
        web_url=record["web_url"],
        pdf_url=record["pdf_url"],
        year=(record["published"] or {}).get("year"),
        published=PartialDate(**record["published"]).iso() if record["published"] else None,
        journal=record["journal"],
        authors=[" ".join(p for p in (a["first_name"], a["last_name"]) if p) for a in record["authors"]],
        institutions=list(dict.fromkeys(map(facets.institution_value, record.get("institutions", [])))),
        score=round(score, 4) if score is not None else None,
        highlights={
            "title": highlight_title(title["text"], title["locale"], _terms_for(terms, "title")),
            "abstract": snippet(abstracts, _terms_for(terms, "abstract")),
        },
    )


def _suggestion(snapshot: Snapshot, q: str, clauses: list[Clause], total: int, allowed: np.ndarray) -> str | None:
    """A corrected query, offered only if it finds more than the original."""
    with snapshot.reading() as searcher:
        corrected = suggest.correct(searcher, q, clauses)
    if not corrected:
        return None
    matched = snapshot.retriever.match(parse(corrected)).mask & allowed
    return corrected if int(matched.sum()) > total else None


def _check_limits(args: Mapping[str, Sequence[str]]) -> None:
    """Refuse a parameter with too many values or too long a value, whatever its name
    (one the site does not use costs as much to read)."""
    for name, values in args.items():
        if len(values) > MAX_VALUES:
            raise ParamError(f"too many values of {name[:40]!r}: {len(values)}, the limit is {MAX_VALUES}")
        longest = max((len(v) for v in values), default=0)
        if longest > MAX_QUERY_CHARS:
            raise ParamError(f"{name[:40]!r} is {longest:,} characters long, the limit is {MAX_QUERY_CHARS:,}")


def _integer(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ParamError(f"{name} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise ParamError(f"{name} must be between {low} and {high}, not {number}")
    return number


def _optional_year(value: str, name: str = "year_from") -> int | None:
    return _integer(name, value, 1, 9999) if value else None
