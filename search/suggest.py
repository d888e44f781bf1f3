""""Did you mean": corrections drawn from the index's own vocabulary.

The title and abstract fields keep their unstemmed words for this (Whoosh's
``spelling=True``), so suggestions are real words, not stems.
"""

from __future__ import annotations

import re

from nltk.metrics.distance import edit_distance
from whoosh.searching import Searcher

from search.syntax import Clause

#: Fields whose words make the vocabulary.
VOCABULARY_FIELDS = ("title", "abstract")
#: Whoosh's name for the unstemmed twin of a field with ``spelling=True``.
SPELLING_PREFIX = "spell_"
#: Words at most this many edits away are suggested.
MAX_EDITS = 2


def correct(searcher: Searcher, query: str, clauses: list[Clause]) -> str | None:
    """``query`` with its unknown words replaced by the closest known words, or None.

    Only plain, field-less words are corrected; phrases, prefixes and fields are kept.
    """
    replacements = {}
    for clause in clauses:
        if clause.kind != "word" or clause.field or not re.fullmatch(r"\w+", clause.text):
            continue
        word = clause.text.casefold()
        if _known(searcher, word):
            continue
        best = _closest(searcher, word)
        if best and best != word:
            replacements[clause.text] = best
    if not replacements:
        return None
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, replacements)) + r")\b")
    return pattern.sub(lambda m: replacements[m.group(1)], query)


def _known(searcher: Searcher, word: str) -> bool:
    reader = searcher.reader()
    return any(reader.doc_frequency(SPELLING_PREFIX + name, word) for name in VOCABULARY_FIELDS)


def _closest(searcher: Searcher, word: str) -> str | None:
    """The nearest vocabulary word to ``word``; the more frequent among equally near ones."""
    reader = searcher.reader()
    candidates: dict[str, tuple[int, int]] = {}
    for name in VOCABULARY_FIELDS:
        field = SPELLING_PREFIX + name
        # Sharing the first letter: most typos keep it, and it makes the search far cheaper.
        for candidate in reader.terms_within(field, word, MAX_EDITS, prefix=1):
            frequency = reader.doc_frequency(field, candidate)
            distance = edit_distance(word, candidate, transpositions=True)
            best = candidates.get(candidate, (distance, 0))
            candidates[candidate] = (distance, best[1] + frequency)
    if not candidates:
        return None
    return min(candidates, key=lambda w: (candidates[w][0], -candidates[w][1], w))
