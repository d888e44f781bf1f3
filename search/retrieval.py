"""Parsed clauses -> the documents they match and their BM25 scores, on the index arrays.

A word's BM25 contribution is computed for all its postings at once from the
memory-mapped arrays (:mod:`search.arrays`): one slice of documents and term
frequencies per field, added into a dense score vector.  No Python loop walks
postings or matching documents; the only per-document work left is checking a
phrase's candidates against the positions in the arrays.

The scores are those of :func:`search.ranking.build_query` run by Whoosh (the
same fields, weights, idf and Whoosh's own one-byte document lengths), and the
boolean structure is the same: should-clauses add up, must-clauses are all
required, must-not clauses exclude.  Tests check the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from whoosh.fields import Schema

from search.arrays import FieldPostings, IndexArrays
from search.postings import run_index
from search.ranking import DEFAULT_B, FIELD_B, FIELD_WEIGHTS, K1, STOP_WORDS_FIELD, analyze, clause_fields, idf
from search.schema import CONTENT_PARTS
from search.syntax import NAME_KEYS_FIELD, Clause, Occur

#: Words a prefix lends to highlighting, at most (a short prefix can have thousands).
HIGHLIGHT_EXPANSIONS = 50


@dataclass
class Matches:
    """What a query matches: a boolean mask and BM25 scores over every docnum, and the
    analysed words of its positive clauses by field (what highlighting marks)."""

    mask: np.ndarray
    scores: np.ndarray
    terms: dict[str, frozenset[str]] = field(default_factory=dict)
    #: Of the matches, those with every word the query may match (its optional words and
    #: phrases, two or more of them) or the author its words name; None for a query of
    #: fewer optional words, whose matches all have them.
    complete: np.ndarray | None = None
    #: How many optional words and phrases the query has (stop words not counted).
    optional: int = 0


class Retriever:
    """Scores clauses on one generation's arrays.

    :param arrays: the generation's arrays.
    :param schema: its schema, whose analyzers turn query words into terms.
    """

    def __init__(self, arrays: IndexArrays, schema: Schema) -> None:
        self.arrays, self.schema = arrays, schema
        # BM25's length normalisation of every document, per segment and field: it
        # depends only on the index, so it is computed once per opened generation.
        self._norms = [
            {name: K1 * ((1 - FIELD_B.get(name, DEFAULT_B))
                         + FIELD_B.get(name, DEFAULT_B) * postings.lengths / (arrays.average_length(name) or 1))
             for name, postings in segment.fields.items()}
            for segment in arrays.segments
        ]

    def match(self, clauses: list[Clause]) -> Matches:
        """The documents ``clauses`` match (live ones only) and their scores."""
        size = self.arrays.size
        should, must, must_not = [], [], []
        words, names = [], []
        terms: dict[str, set[str]] = {}
        for clause in clauses:
            found = self._clause(clause, terms if clause.occur is not Occur.MUST_NOT else {})
            if found is not None:
                {Occur.SHOULD: should, Occur.MUST: must, Occur.MUST_NOT: must_not}[clause.occur].append(found)
                if clause.occur is Occur.SHOULD:
                    (names if clause.field == NAME_KEYS_FIELD else words).append(found[0])
        scores = np.zeros(size)
        if must:
            mask = np.logical_and.reduce([m for m, _ in must])
            for _, s in must + should:
                scores += s
        elif should:
            mask = np.logical_or.reduce([m for m, _ in should])
            for _, s in should:
                scores += s
        elif must_not:
            mask = np.ones(size, dtype=bool)
        else:
            mask = np.zeros(size, dtype=bool)
        for excluded, _ in must_not:
            mask &= ~excluded
        mask &= self.arrays.live
        scores[~mask] = 0.0
        complete = None
        if len(words) > 1:
            complete = np.logical_and.reduce(words)
            for named in names:
                complete |= named
            complete &= mask
        return Matches(mask, scores, {name: frozenset(found) for name, found in terms.items()}, complete, len(words))

    def _clause(self, clause: Clause, terms: dict[str, set[str]]) -> tuple[np.ndarray, np.ndarray] | None:
        """(mask, scores) of one clause over every docnum, None when it can match nothing
        by its nature (a stop word, nothing left after analysis)."""
        size = self.arrays.size
        if clause.kind == "years" and clause.years:
            low, high = clause.years
            years = self.arrays.facets.years
            return (years >= low) & (years <= high), np.zeros(size)
        if not clause.field and clause.kind == "word" and not analyze(self.schema, STOP_WORDS_FIELD, clause.text):
            # A stop word ("of", "what") is not indexed in the text fields; name fields keep
            # every word, so without this it would rank "Journal of ..." articles higher.
            return None
        mask, scores = np.zeros(size, dtype=bool), np.zeros(size)
        analysed = False
        for name, weight in clause_fields(clause):
            words = analyze(self.schema, name, clause.text, stem=clause.kind != "prefix")
            if not words:
                continue
            analysed = True
            if clause.kind == "prefix":
                found = self._prefix(name, words[0], weight, mask, scores)
                terms.setdefault(name, set()).update(found[:HIGHLIGHT_EXPANSIONS])
            elif clause.kind == "phrase" and len(words) > 1 and name != NAME_KEYS_FIELD:
                self._phrase(name, words, weight, mask, scores)
                terms.setdefault(name, set()).update(words)
            else:
                for word in words:
                    self._add(name, [word.encode("utf-8")], weight, mask, scores)
                terms.setdefault(name, set()).update(words)
        if clause.field == "institution" and clause.kind != "prefix":
            # Any name the facet groups under the same organisation ("Universität Wien" finds
            # "University of Vienna"), the alias file's names included.
            having = self.arrays.facets.having_institution(clause.text) & ~mask
            mask |= having
            scores[having] += FIELD_WEIGHTS.get("institution", 1.0)
            analysed |= bool(having.any())
        return (mask, scores) if analysed else None

    def _add(self, name: str, terms: list[bytes], weight: float, mask: np.ndarray, scores: np.ndarray,
             only: np.ndarray | None = None) -> None:
        """Add BM25 of ``terms`` in field ``name``, taken together as one word (their
        frequencies summed, the documents of any of them counted for idf), to ``scores``.

        :param only: when given, a boolean mask: score only these documents.
        """
        parts = []
        for segment, norms in zip(self.arrays.segments, self._norms):
            postings = segment.fields[name]
            rows = [r for r in (postings.vocabulary.row(t) for t in terms) if r is not None]
            if not rows:
                continue
            docs, tf = _gather(postings, rows)
            if len(rows) > 1:
                tf = np.bincount(docs, weights=tf, minlength=segment.size)
                docs = np.flatnonzero(tf)
                tf = tf[docs]
            parts.append((segment.offset + docs, tf, norms[name][docs]))
        if not parts:
            return
        docs = np.concatenate([p[0] for p in parts])
        tf = np.concatenate([p[1] for p in parts]).astype(np.float64)
        norm = np.concatenate([p[2] for p in parts])
        frequency = len(docs)
        if only is not None:
            keep = only[docs]
            docs, tf, norm = docs[keep], tf[keep], norm[keep]
        scores[docs] += weight * idf(self.arrays.size, frequency) * (tf * (K1 + 1)) / (tf + norm)
        mask[docs] = True

    def _prefix(self, name: str, prefix: str, weight: float, mask: np.ndarray, scores: np.ndarray) -> list[str]:
        """A prefix scores as one word whose occurrences are those of all its completions;
        returns the completions (most frequent first)."""
        key = prefix.encode("utf-8")
        completions: dict[bytes, int] = {}
        for segment in self.arrays.segments:
            postings = segment.fields[name]
            for row in postings.vocabulary.prefix_rows(key):
                term = postings.vocabulary[row]
                completions[term] = completions.get(term, 0) + int(postings.indptr[row + 1] - postings.indptr[row])
        if completions:
            self._add(name, list(completions), weight, mask, scores)
        ordered = sorted(completions, key=lambda t: -completions[t])
        return [t.decode("utf-8") for t in ordered]

    def _phrase(self, name: str, words: list[str], weight: float, mask: np.ndarray, scores: np.ndarray) -> None:
        """Documents with every word are candidates; those where the words stand in order,
        next to each other, match, scored as their words are."""
        candidates = np.ones(self.arrays.size, dtype=bool)
        for word in words:
            having = np.zeros(self.arrays.size, dtype=bool)
            self._add(name, [word.encode("utf-8")], 0.0, having, np.zeros(self.arrays.size))
            candidates &= having
        verified = np.zeros(self.arrays.size, dtype=bool)
        docs = np.flatnonzero(candidates & self.arrays.live)
        if len(docs):
            # Content keeps no positions: a phrase in it stands in one of its parts.
            for part in CONTENT_PARTS if name == "content" else (name,):
                for segment in self.arrays.segments:
                    local = docs[(docs >= segment.offset) & (docs < segment.offset + segment.size)] - segment.offset
                    if len(local):
                        verified[segment.offset + _in_sequence(segment.fields[part], words, local)] = True
        for word in words:
            self._add(name, [word.encode("utf-8")], weight, mask, scores, only=verified)


def _gather(postings: FieldPostings, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The concatenated postings of several vocabulary rows."""
    if len(rows) == 1:
        return postings.postings(rows[0])
    starts = postings.indptr[rows]
    index = run_index(starts, postings.indptr[np.asarray(rows) + 1] - starts)
    return postings.docs[index], postings.tf[index]


def _in_sequence(postings: FieldPostings, words: list[str], docs: np.ndarray) -> np.ndarray:
    """Those of ``docs`` (sorted, segment-local) in which ``words`` stand at consecutive positions."""
    rows = [postings.vocabulary.row(word.encode("utf-8")) for word in words]
    if any(row is None for row in rows):
        return np.zeros(0, dtype=np.int64)  # a word of the phrase is nowhere in this field
    per_word = [postings.positions_in(row, docs) for row in rows if row is not None]
    found = []
    for doc, positions in zip(docs.tolist(), zip(*per_word)):
        if any(p is None for p in positions):
            continue
        following = [set(p.tolist()) for p in positions[1:]]
        if any(all(start + i + 1 in at for i, at in enumerate(following)) for start in positions[0].tolist()):
            found.append(doc)
    return np.array(found, dtype=np.int64)
