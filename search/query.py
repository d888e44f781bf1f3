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

from search import cursor as cursors, suggest
from search.config import Settings
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
    #: How deep page numbers reach (``SEARCH_MAX_RESULT_WINDOW``): ``page * per_page`` at most.
    max_results: int = Settings.max_result_window
    #: A walk's cursor (:mod:`search.cursor`): :data:`search.cursor.START` or a ``next_cursor``;
    #: None for a page by number.
    cursor: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Sequence[str]], max_per_page: int = MAX_PER_PAGE,
                  max_results: int | None = None) -> "SearchParams":
        """Parameters from a URL's query arguments (each name to its list of values).

        :param max_results: how deep page numbers reach; default ``SEARCH_MAX_RESULT_WINDOW``.
        :raises ParamError: for a value that is not allowed, naming the parameter, or a
            parameter over a limit (:data:`MAX_QUERY_CHARS`, :data:`MAX_VALUES`, the result
            window), naming it.
        """
        _check_limits(args)
        if max_results is None:
            max_results = Settings.from_env().max_result_window

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
        page = _integer("page", one("page", "1") or "1", 1, max_results)
        per_page = _integer("per_page", one("per_page", "10") or "10", 1, max_per_page)
        if page * per_page > max_results:
            raise ParamError(
                f"page {page} of {per_page} results goes past result {max_results:,}, the deepest that "
                f"page numbers reach (SEARCH_MAX_RESULT_WINDOW): narrow the search with more words or "
                f"filters, or walk every result with the JSON API's cursor=*")
        return cls(q=one("q"), filters=filters, sort=sort, page=page, per_page=per_page, more=more,
                   max_results=max_results)


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
    #: The title's locale (None when unknown), for the page's ``lang`` and ``dir``.
    title_locale: str | None = None
    #: The whole abstract, each text with its ``locale``: the "show full abstract" toggle.
    abstracts: list[dict[str, str | None]] = field(default_factory=list)


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
    #: How deep page numbers reach (:attr:`SearchParams.max_results`).
    max_results: int = Settings.max_result_window
    #: The cursor of the page after this one in a cursor walk; None on the last page and
    #: for a page by number.
    next_cursor: str | None = None
    #: How many of the ``total`` results have every word of a query of several words (or
    #: are by the author they name); None for a query of fewer words.
    all_words: int | None = None

    @property
    def pages(self) -> int:
        """How many pages the results fill, as far as page numbers reach."""
        return max(1, min(self.max_results // self.per_page, -(-self.total // self.per_page)))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``/api/search``)."""
        data = asdict(self)
        data["filters"] = {k: v for k, v in data["filters"].items() if v not in ((), None)}
        data["pages"] = self.pages
        del data["max_results"]
        if self.next_cursor is None:
            del data["next_cursor"]
        return data


def run_search(snapshot: Snapshot, params: SearchParams) -> SearchResult:
    """Search the index snapshot.

    An empty query lists every article (narrowed by the filters), newest first
    unless another order is asked for.  By relevance, the best :data:`RERANK_DEPTH`
    by word score (BM25) are ordered by word score and meaning together, and the rest
    follow by word score; equal scores, and equal dates in a sort by date, go by
    docnum, so the order is total and the same for every page of one generation.
    A page is ``params.page``, or with ``params.cursor`` the one after the cursor's.

    :raises search.cursor.CursorError: for a cursor that cannot be continued.
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
    # A few words typed: the articles with all of them first, then the others (docs/relevance.md).
    parts = ([scope & complete, scope & ~complete]
             if complete is not None and matches.optional <= ALL_WORDS_FIRST else [scope])
    text = meaning_query(clauses)
    query_vector = cache(lambda: snapshot.encoder.encode([text])[0]) if text else None
    next_cursor = None
    if params.cursor is not None:
        walk = cursors.decode(params.cursor, snapshot.generation.name,
                              cursors.fingerprint(params.q, params.filters, sort), len(data.live))
        # One more than the page, to know whether another page follows.
        page = _after(snapshot, query_vector, matches.scores, parts, sort, walk.after, params.per_page + 1)
        if len(page) > params.per_page:
            page = page[:params.per_page]
            next_cursor = cursors.Cursor(walk.generation, walk.search, page[-1][0]).encode()
    elif sort == "relevance":
        limit = max(start + params.per_page, RERANK_DEPTH)
        ranked: list[tuple[int, float]] = []
        for part in parts:
            if len(ranked) < limit:
                # Each part ranked as a whole search would be, as a cursor walk ranks it.
                docnums, scores = _top(matches.scores, part, limit)
                ranked += _rerank(snapshot, query_vector, docnums, scores)
        page = ranked[start:start + params.per_page]
    else:
        docs, _ = _top(_date_key(data, sort), scope, start + params.per_page)
        page = [(int(d), None) for d in docs[start:]]
    limits = {name: (MORE_VALUES if name in params.more else FACET_VALUES) for name in FACETS}
    facets = data.count(matches.mask, params.filters, limits)
    with snapshot.reading() as searcher:
        stored = [searcher.stored_fields(docnum) for docnum, _ in page]
    hits = [make_hit(fields, score, matches.terms, data) for fields, (_, score) in zip(stored, page)]
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
        max_results=params.max_results,
        next_cursor=next_cursor,
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


def _date_key(data: FacetData, sort: str) -> np.ndarray:
    """Dates as :func:`_top` ranks them for ``sort``, higher first (undated articles are 0)."""
    return data.dates if sort == "newest" else -data.dates


def _after(snapshot: Snapshot, query_vector: Callable[[], np.ndarray] | None, scores: np.ndarray,
           parts: list[np.ndarray], sort: str, last: int | None, size: int) -> list[tuple[int, float | None]]:
    """(docnum, score) of the ``size`` results after docnum ``last`` (from the first when
    None) in the order the pages by number give, which :func:`run_search` documents.

    :param parts: the results in consecutive parts of the relevance order (the articles
        with every word, then the others), each ranked on its own.
    """
    if sort != "relevance":
        key = _date_key(snapshot.facets, sort)
        scope = np.logical_or.reduce(parts)
        docs, _ = _top(key, scope if last is None else cursors.after(key, scope, last), size)
        return [(int(d), None) for d in docs]
    found: list[tuple[int, float | None]] = []
    for part in parts:
        if last is not None and not part[last]:
            continue  # ``last`` is in a later part
        found += _after_in_part(snapshot, query_vector, scores, part, last, size - len(found))
        last = None
        if len(found) >= size:
            break
    return found


def _after_in_part(snapshot: Snapshot, query_vector: Callable[[], np.ndarray] | None, scores: np.ndarray,
                   scope: np.ndarray, last: int | None, size: int) -> list[tuple[int, float | None]]:
    """:func:`_after` within one part: its first :data:`RERANK_DEPTH` by word score re-ranked
    by meaning (:func:`_rerank`), then the rest by word score; each found from the arrays,
    never by counting the results before ``last``."""
    head, head_scores = _top(scores, scope, RERANK_DEPTH)
    if last is not None and not (head == last).any():
        # Past the head the order is the word score's, so the rest follows from ``last`` itself.
        tail, tail_scores = _top(scores, cursors.after(scores, scope, last), size)
        ranked = _rerank(snapshot, None, np.concatenate([head, tail]), np.concatenate([head_scores, tail_scores]))
        return ranked[len(head):]
    tail, tail_scores = (_top(scores, cursors.after(scores, scope, int(head[-1])), size) if len(head)
                         else (head, head_scores))
    ranked = _rerank(snapshot, query_vector, np.concatenate([head, tail]), np.concatenate([head_scores, tail_scores]))
    position = 0 if last is None else next(i for i, (d, _) in enumerate(ranked) if d == last) + 1
    return ranked[position:position + size]


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


def make_hit(stored: dict[str, Any], score: float | None, terms: dict[str, frozenset[str]],
             facets: FacetData) -> Hit:
    """The :class:`Hit` of one stored document, its matches of ``terms`` highlighted."""
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
        title_locale=title["locale"],
        abstracts=[{"locale": a["locale"], "text": a["text"]} for a in record["abstracts"]],
    )


def _suggestion(snapshot: Snapshot, q: str, clauses: list[Clause], total: int, allowed: np.ndarray) -> str | None:
    """A corrected query, offered only if it finds more than the original."""
    corrected = suggest.correct(snapshot.arrays, q, clauses)
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
