"""Ranking: how parsed clauses become a scored Whoosh query.

Every ranking parameter lives here, so the relevance work (``docs/relevance.md``)
tunes one module.  A plain query is a disjunction: an article need not contain
every word, and BM25 over the fields, summed over the query's words, ranks the
articles that contain more (and rarer) of them first.
"""

from __future__ import annotations

import math

from whoosh import scoring
from whoosh.fields import Schema
from whoosh.searching import Searcher
from whoosh.query import (
    And,
    AndMaybe,
    AndNot,
    Every,
    NullQuery,
    NumericRange,
    Or,
    Phrase,
    Prefix,
    Query,
    Term,
)

from search.syntax import Clause, Occur

#: Fields a word without a field prefix is looked for in, and the weight of a match in each.
#: Title and abstract count as one text (``content``), so BM25 saturates a word over both;
#: a title match adds a little more, and names (authors, affiliations, institutions,
#: journal) are found but weigh lightly, since query words also occur in them by chance.
FIELD_WEIGHTS: dict[str, float] = {
    "content": 1.0,
    "title": 0.25,
    "authors": 0.25,
    "affiliations": 0.25,
    "institution": 0.25,
    "journal": 0.25,
}

#: BM25 term-frequency saturation.
K1 = 1.2
#: BM25 length normalisation, per field (short fields are normalised less).
FIELD_B: dict[str, float] = {"title": 0.5, "authors": 0.3, "affiliations": 0.5}
DEFAULT_B = 0.75

# Whoosh's default disjunction matcher is a tree of Python union matchers that the
# top-k collector walks over and over; the array matcher ranks the same and was
# measured 3.5x faster (shared notes, whoosh-measured.md).
Or.matcher_type = Or.ARRAY_MATCHER


class BM25(scoring.WeightingModel):
    """BM25 per field with the standard idf, ``log(1 + (N - df + 0.5) / (df + 0.5))``.

    Whoosh's own BM25F uses ``log(N / (df + 1)) + 1``, which over-rewards very common
    words; this idf (Lucene's, Robertson-Sparck Jones') ranked better on both test
    collections (docs/relevance.md).
    """

    def __init__(self, k1: float, b: float, field_b: dict[str, float]) -> None:
        self.k1, self.b, self.field_b = k1, b, dict(field_b)

    def idf(self, searcher: Searcher, fieldname: str, text: str) -> float:
        parent = searcher.get_parent()
        df = parent.doc_frequency(fieldname, text)
        return math.log(1 + (parent.doc_count_all() - df + 0.5) / (df + 0.5))

    def scorer(self, searcher: Searcher, fieldname: str, text: str, qf: float = 1) -> scoring.BaseScorer:
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        return scoring.BM25FScorer(searcher, fieldname, text, self.field_b.get(fieldname, self.b), self.k1, qf=qf)


def weighting() -> scoring.WeightingModel:
    """The scoring model searches use."""
    return BM25(K1, DEFAULT_B, FIELD_B)


def build_query(clauses: list[Clause], schema: Schema) -> Query:
    """The Whoosh query for parsed clauses: should-clauses scored, musts required, nots excluded.

    :param clauses: from :func:`search.syntax.parse`.
    :param schema: the index's schema, whose analyzers turn words into terms.
    """
    should, must, must_not = [], [], []
    for clause in clauses:
        query = _clause_query(clause, schema)
        if query is None:
            continue
        {Occur.SHOULD: should, Occur.MUST: must, Occur.MUST_NOT: must_not}[clause.occur].append(query)
    if must:
        result: Query = And(must) if len(must) > 1 else must[0]
        if should:
            result = AndMaybe(result, Or(should))
    elif should:
        result = Or(should)
    elif must_not:
        result = Every()
    else:
        return NullQuery
    if must_not:
        result = AndNot(result, Or(must_not))
    return result


def _clause_query(clause: Clause, schema: Schema) -> Query | None:
    if clause.kind == "years" and clause.years:
        return NumericRange("year", clause.years[0], clause.years[1], constantscore=True, boost=0.0)
    fields = [clause.field] if clause.field else list(FIELD_WEIGHTS)
    per_field = []
    for name in fields:
        weight = FIELD_WEIGHTS.get(name, 1.0)
        # A prefix is matched against stems, so it is folded but not itself stemmed.
        words = analyze(schema, name, clause.text, stem=clause.kind != "prefix")
        if not words:
            continue
        if clause.kind == "prefix":
            per_field.append(Prefix(name, words[0], boost=weight))
        elif clause.kind == "phrase" and len(words) > 1:
            per_field.append(Phrase(name, words, boost=weight))
        else:
            per_field.extend(Term(name, word, boost=weight) for word in words)
    if not per_field:
        return None
    return per_field[0] if len(per_field) == 1 else Or(per_field)


def analyze(schema: Schema, field: str, text: str, stem: bool = True) -> list[str]:
    """``text`` as the terms ``field`` indexes (query-time analysis)."""
    analyzer = schema[field].analyzer
    return [t.text for t in analyzer(text, mode="query", no_morph=not stem) if not t.stopped]
