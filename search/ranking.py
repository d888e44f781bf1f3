"""Ranking: how parsed clauses become a scored Whoosh query.

Every ranking parameter lives here, so the relevance work (``docs/relevance.md``)
tunes one module.  A plain query is a disjunction: an article need not contain
every word, and BM25 over the fields, summed over the query's words, ranks the
articles that contain more (and rarer) of them first.
"""

from __future__ import annotations

import math

import numpy as np

from whoosh import scoring
from whoosh.fields import Schema
from whoosh.matching.wrappers import WrappingMatcher
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
from whoosh.query.wrappers import WrappingQuery

from search.syntax import NAME_KEYS_FIELD, Clause, Occur

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

#: The weight of an author found by a name key (search.names): a name typed as "smith js"
#: or "John Smith" puts that author's articles above those that merely share a word.
NAME_KEY_WEIGHT = 3.0

#: The field whose analyzer decides what a stop word is, for the name fields too.
STOP_WORDS_FIELD = "content"

#: BM25 term-frequency saturation.
K1 = 1.2
#: BM25 length normalisation, per field (short fields are normalised less).
FIELD_B: dict[str, float] = {"title": 0.5, "authors": 0.3, "affiliations": 0.5,
                             # A named author counts as much on a paper of 300 authors as of one.
                             "author_keys": 0.0}
DEFAULT_B = 0.75

#: Candidates ranked again by meaning (search.semantic): the best word matches,
#: ten pages of them.
RERANK_DEPTH = 100
#: The share of meaning in a candidate's final score; word matching has the rest.
MEANING_WEIGHT = 0.5
#: A query of at most this many words (and at least two) lists the articles that have
#: them all first, each part ordered as usual; longer queries (a question, a claim) are
#: ranked as one list, where an article rarely has every word (docs/relevance.md).
ALL_WORDS_FIRST = 4

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
        return idf(parent.doc_count_all(), parent.doc_frequency(fieldname, text))

    def scorer(self, searcher: Searcher, fieldname: str, text: str, qf: float = 1) -> scoring.BaseScorer:
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        return scoring.BM25FScorer(searcher, fieldname, text, self.field_b.get(fieldname, self.b), self.k1, qf=qf)


def idf(documents: int, frequency: int) -> float:
    """The standard BM25 idf of a word found in ``frequency`` of ``documents`` documents."""
    return math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))


def weighting() -> scoring.WeightingModel:
    """The scoring model searches use."""
    return BM25(K1, DEFAULT_B, FIELD_B)


def fuse(scores: np.ndarray, similarity: np.ndarray, has_vector: np.ndarray | None = None) -> np.ndarray:
    """Final scores of candidates from their BM25 scores and the cosine similarity of
    their meaning vectors to the query's.

    BM25 has no fixed scale, so it is divided by the best candidate's score to lie in
    [0, 1] like a cosine; the two are then averaged with :data:`MEANING_WEIGHT`.
    Word matching finds the candidates and still decides between close calls; meaning
    lifts an abstract that says what the query asks in other words.  Measured on two
    test collections in docs/relevance.md.

    :param has_vector: which candidates have a meaning vector yet (all, when None).  One
        without is given the median similarity of those with one, so it is ranked by its
        words alone without being pushed down for lacking a vector; when none has one,
        the order is BM25's.
    """
    best = float(scores.max()) if len(scores) else 0.0
    lexical = scores / best if best > 0 else scores
    if has_vector is not None and not has_vector.all():
        if not has_vector.any():
            return lexical
        similarity = np.where(has_vector, similarity, np.median(similarity[has_vector]))
    return (1 - MEANING_WEIGHT) * lexical + MEANING_WEIGHT * similarity


def meaning_query(clauses: list[Clause]) -> str:
    """The words of a query whose meaning is compared with the articles': its wanted
    words and phrases in any text (field-bound and excluded clauses are conditions,
    not meaning)."""
    return " ".join(c.text for c in clauses
                    if c.field is None and c.occur is not Occur.MUST_NOT and c.kind in ("word", "phrase", "prefix"))


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
    # Required or excluded words: see Exhaustive (Whoosh's pruning lost results there).
    return Exhaustive(result) if must or must_not else result


class Exhaustive(WrappingQuery):
    """A query whose matches are all scored, without Whoosh's top-k pruning.

    Whoosh 2.7.4's array union matcher (selected above for speed) gives as its score
    bound the largest of its parts' bounds, where a union adds them, and drops the bounds
    of parts it has already read; ``AndNot`` and ``AndMaybe`` trust that bound (and
    ``AndMaybe`` skips blocks of its optional side that do not line up with the required
    side's), so the collector discarded documents of ``-word`` and ``+word`` queries that
    belonged in the first page.  Such queries are narrowed by what they require or exclude,
    and scoring all their matches is what ``limit=None`` does anyway.  Plain disjunctions,
    the usual query, are pruned correctly and keep the shortcut.
    """

    def matcher(self, searcher, context=None):
        return _ExhaustiveMatcher(self.child.matcher(searcher, context))


class _ExhaustiveMatcher(WrappingMatcher):
    """Never replaced by a pruned matcher, never skipped through by block quality."""

    def replace(self, minquality=0):
        return self

    def supports_block_quality(self):
        return False


def _clause_query(clause: Clause, schema: Schema) -> Query | None:
    if clause.kind == "years" and clause.years:
        return NumericRange("year", clause.years[0], clause.years[1], constantscore=True, boost=0.0)
    if not clause.field and clause.kind == "word" and not analyze(schema, STOP_WORDS_FIELD, clause.text):
        # A stop word ("of", "what") is not indexed in the text fields; name fields keep
        # every word, so without this it would rank "Journal of ..." articles higher.
        return None
    per_field = []
    for name, weight in clause_fields(clause):
        # A prefix is matched against stems, so it is folded but not itself stemmed.
        words = analyze(schema, name, clause.text, stem=clause.kind != "prefix")
        if not words:
            continue
        if clause.kind == "prefix":
            per_field.append(Prefix(name, words[0], boost=weight))
        elif clause.kind == "phrase" and len(words) > 1 and name != NAME_KEYS_FIELD:
            per_field.append(Phrase(name, words, boost=weight))
        else:
            per_field.extend(Term(name, word, boost=weight) for word in words)
    if not per_field:
        return None
    return per_field[0] if len(per_field) == 1 else Or(per_field)


def clause_fields(clause: Clause) -> list[tuple[str, float]]:
    """The fields a clause is looked for in, with the weight of a match in each.

    Words without a field prefix: every field of :data:`FIELD_WEIGHTS`.  ``author:``
    also looks the name up by its keys ("Smith J" finds John Smith; search.names), whose
    terms are alternatives, never a phrase.
    """
    if clause.field is None:
        return list(FIELD_WEIGHTS.items())
    if clause.field == NAME_KEYS_FIELD:
        return [(NAME_KEYS_FIELD, NAME_KEY_WEIGHT)]
    fields = [(clause.field, FIELD_WEIGHTS.get(clause.field, 1.0))]
    if clause.field == "authors" and clause.kind in ("word", "phrase"):
        fields.append((NAME_KEYS_FIELD, NAME_KEY_WEIGHT))
    return fields


def analyze(schema: Schema, field: str, text: str, stem: bool = True) -> list[str]:
    """``text`` as the terms ``field`` indexes (query-time analysis)."""
    analyzer = schema[field].analyzer
    return [t.text for t in analyzer(text, mode="query", no_morph=not stem) if not t.stopped]
