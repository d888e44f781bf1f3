""""Did you mean": corrections drawn from the index's own vocabulary.

The vocabulary is the words of titles and abstracts as written (not stemmed, so
suggestions are real words), kept per segment as arrays with their document
frequencies (:class:`search.arrays.Spelling`).
"""

from __future__ import annotations

import re

from rapidfuzz import process
from rapidfuzz.distance import OSA

from search.arrays import IndexArrays
from search.syntax import Clause

#: Words at most this many edits away are suggested.
MAX_EDITS = 2


def correct(arrays: IndexArrays, query: str, clauses: list[Clause]) -> str | None:
    """``query`` with its unknown words replaced by the closest known words, or None.

    Only plain, field-less words are corrected; phrases, prefixes and fields are kept.
    """
    replacements = {}
    for clause in clauses:
        if clause.kind != "word" or clause.field or not re.fullmatch(r"\w+", clause.text):
            continue
        word = clause.text.casefold()
        if _known(arrays, word):
            continue
        best = _closest(arrays, word)
        if best and best != word:
            replacements[clause.text] = best
    if not replacements:
        return None
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, replacements)) + r")\b")
    return pattern.sub(lambda m: replacements[m.group(1)], query)


def _known(arrays: IndexArrays, word: str) -> bool:
    key = word.encode("utf-8")
    return any(segment.spelling.vocabulary.row(key) is not None for segment in arrays.segments)


def _closest(arrays: IndexArrays, word: str) -> str | None:
    """The nearest vocabulary word to ``word`` (edits counting a swap of two neighbouring
    letters as one); the more frequent among equally near ones."""
    candidates: dict[str, tuple[int, int]] = {}
    for segment in arrays.segments:
        vocabulary, frequency = segment.spelling.vocabulary, segment.spelling.frequency
        # Sharing the first letter: most typos keep it, and it narrows the search to one
        # range of the sorted vocabulary, compared in C by rapidfuzz.
        rows = vocabulary.prefix_rows(word[:1].encode("utf-8"))
        if not rows:
            continue
        start = vocabulary.offsets[rows.start]
        data = vocabulary.blob[start:vocabulary.offsets[rows.stop]].tobytes()
        cuts = (vocabulary.offsets[rows.start:rows.stop + 1] - start).tolist()
        choices = [data[a:b].decode("utf-8") for a, b in zip(cuts, cuts[1:])]
        for candidate, distance, index in process.extract(word, choices, scorer=OSA.distance,
                                                          score_cutoff=MAX_EDITS, limit=None):
            best = candidates.get(candidate, (distance, 0))
            candidates[candidate] = (distance, best[1] + int(frequency[rows.start + index]))
    if not candidates:
        return None
    return min(candidates, key=lambda w: (candidates[w][0], -candidates[w][1], w))
