"""Highlighted titles and abstract snippets, safe to put in a page as they are.

A word is marked when the index holds one of the query's terms for it
(:func:`search.analysis.words_with_terms`), so a match is found however the word
is inflected ("cells" marks "cell") and always as a whole word.  Everything from
the data is HTML-escaped; only the ``<mark>`` tags this module adds are markup.

A snippet is made of up to three windows of the abstract, each around matched
words, the windows with the most different query words chosen and shown in the
order they stand in the text.  It depends on the text and the query alone, so the
same request always gets the same snippet.
"""

from __future__ import annotations

import html
import re

from search.analysis import LOCALE_END, LOCALE_START, encode_localized, words_with_terms

#: Roughly how long an abstract snippet is, in characters.
SNIPPET_CHARS = 300
#: At most this many fragments make a snippet.
SNIPPET_FRAGMENTS = 3

_SEPARATOR = " \u2026 "
_MARKER = re.compile(f"{LOCALE_START}[^{LOCALE_START}{LOCALE_END}]*{LOCALE_END}")

# A word: (start, end, the query terms it matches).
_Word = tuple[int, int, frozenset[str]]


def highlight_title(title: str, locale: str | None, terms: frozenset[str]) -> str:
    """The whole title, escaped, with matched words marked."""
    encoded = encode_localized([(locale, title)])
    return _marked(encoded, _matches(encoded, terms), 0, len(encoded)).strip()


def snippet(texts: list[tuple[str | None, str]], terms: frozenset[str]) -> str:
    """One to three fragments of about :data:`SNIPPET_CHARS` around the matched words.

    :param texts: the abstract's (locale, text) pieces.
    Without a match, the opening of the first piece.
    """
    encoded = encode_localized(texts)
    matches = _matches(encoded, terms)
    if matches:
        return _SEPARATOR.join(_marked(encoded, matches, a, b).strip() for a, b in _windows(encoded, matches))
    first = texts[0][1] if texts else ""
    if len(first) <= SNIPPET_CHARS:
        return html.escape(first)
    return html.escape(first[:SNIPPET_CHARS].rsplit(" ", 1)[0]) + "\u2026"


def _matches(encoded: str, terms: frozenset[str]) -> list[_Word]:
    """The words of ``encoded`` that match one of ``terms``, in text order."""
    if not terms:
        return []
    # A term is a word's stem, which begins as the word does but for its last letter or so.
    starts = tuple(term[:max(1, len(term) - 1)] for term in terms)
    found = []
    for start, end, forms in words_with_terms(encoded, starts):
        matched = terms.intersection(forms)
        if matched:
            found.append((start, end, matched))
    return found


def _windows(encoded: str, matches: list[_Word]) -> list[tuple[int, int]]:
    """Up to :data:`SNIPPET_FRAGMENTS` non-overlapping character ranges, each of about a
    third of :data:`SNIPPET_CHARS` with a match near its start, in text order; the ranges
    with the most different query words win, the earlier one between equals."""
    share = SNIPPET_CHARS // SNIPPET_FRAGMENTS
    candidates = []
    for start, _, _ in matches:
        # A little context before the match (from a word's start), the rest after it (to a word's end).
        a = max(encoded.rfind(" ", 0, max(0, start - share // 3)) + 1, _piece_start(encoded, start))
        b = encoded.rfind(" ", start, a + share)
        b = _piece_end(encoded, start, b if b > start else a + share)
        inside = [m for m in matches if m[0] >= a and m[1] <= b]
        found = frozenset().union(*(m[2] for m in inside))
        candidates.append((-len(found), -len(inside), a, b))
    chosen: list[tuple[int, int]] = []
    for _, _, a, b in sorted(candidates):
        if len(chosen) == SNIPPET_FRAGMENTS:
            break
        if all(b <= c or a >= d for c, d in chosen):
            chosen.append((a, b))
    return sorted(chosen)


def _piece_start(encoded: str, index: int) -> int:
    """Where the text of the piece holding ``index`` begins (a window never spans two)."""
    return encoded.rfind(LOCALE_END, 0, index) + 1


def _piece_end(encoded: str, index: int, end: int) -> int:
    following = encoded.find(LOCALE_START, index)
    return min(end, following if following >= 0 else len(encoded), len(encoded))


def _marked(encoded: str, matches: list[_Word], start: int, end: int) -> str:
    """``encoded[start:end]`` escaped, the matched words in it in ``<mark>``."""
    output, index = [], start
    for word_start, word_end, _ in matches:
        if word_start >= start and word_end <= end:
            output.append(_plain(encoded[index:word_start]))
            output.append("<mark>" + html.escape(encoded[word_start:word_end]) + "</mark>")
            index = word_end
    output.append(_plain(encoded[index:end]))
    return "".join(output)


def _plain(text: str) -> str:
    return html.escape(_MARKER.sub(" ", text))
