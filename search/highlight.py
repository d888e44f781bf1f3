"""Highlighted titles and abstract snippets, safe to put in a page as they are.

A word is marked when the index holds one of the query's terms for it
(:func:`search.analysis.words_with_terms`), so a match is found however the word
is inflected ("cells" marks "cell") and always as a whole word.  Everything from
the data is HTML-escaped; only the ``<mark>`` tags this module adds are markup.

A snippet is made of up to three windows of the abstract, each around matched
words, the windows with the most different query words chosen and shown in the
order they stand in the text.  A window starts where the sentence holding its match
starts when that is near, else at a word.  It depends on the text and the query
alone (no set or dict order enters it), so the same request always gets the same
snippet, in every process.

MEDLINE writes powers of ten as ``10(6)`` and ``10(-14)`` (its plain-text form of
10⁶ and 10⁻¹⁴); snippets and titles show them with superscript characters, not tags,
so the feed's and the API's text keeps them too (:func:`render_exponents`).
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
# "10(6)", "10(-14)", not "110(47)" (a volume and issue) nor "10(6.5)".
_EXPONENT = re.compile(r"(?<![\w.])10\((-?\d{1,3})\)(?![\d.])")
_SUPERSCRIPTS = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")
# Where a sentence starts: after its predecessor's end mark and a space, at a letter,
# digit or opening bracket that is not lower case ("e.g. the" goes on one sentence).
_SENTENCE_END = re.compile(r"[.!?][\"')\]]?\s+(?=[^\sa-z])")

# A word: (start, end, the query terms it matches).
_Word = tuple[int, int, frozenset[str]]


def render_exponents(text: str) -> str:
    """``text`` with MEDLINE's powers of ten in superscript: ``10(6)`` -> ``10⁶``."""
    return _EXPONENT.sub(_superscript, text)


def _superscript(match: re.Match[str]) -> str:
    return "10" + match.group(1).translate(_SUPERSCRIPTS)


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
        windows = _windows(encoded, matches)
        fragments = _SEPARATOR.join(_marked(encoded, matches, a, b).strip() for a, b in windows)
        # An ellipsis says the text goes on before or after, as between fragments.
        first, last = windows[0][0], windows[-1][1]
        opening = "" if _starts_sentence(encoded, first) else "\u2026 "
        closing = "" if not encoded[last:_piece_end(encoded, last, len(encoded))].strip() else " \u2026"
        return opening + fragments + closing
    first = texts[0][1] if texts else ""
    if len(first) <= SNIPPET_CHARS:
        return html.escape(render_exponents(first))
    return html.escape(render_exponents(first[:SNIPPET_CHARS].rsplit(" ", 1)[0])) + "\u2026"


def _matches(encoded: str, terms: frozenset[str]) -> list[_Word]:
    """The words of ``encoded`` that match one of ``terms``, in text order."""
    if not terms:
        return []
    # A term is a word's stem, which begins as the word does but for its last letter or so.
    starts = tuple(sorted({term[:max(1, len(term) - 1)] for term in terms}))
    found = []
    for start, end, forms in words_with_terms(encoded, starts):
        matched = terms.intersection(forms)
        if matched:
            found.append((start, end, matched))
    return found


def _windows(encoded: str, matches: list[_Word]) -> list[tuple[int, int]]:
    """Up to :data:`SNIPPET_FRAGMENTS` non-overlapping character ranges, each of about a
    third of :data:`SNIPPET_CHARS` holding a match, in text order; the ranges with the
    most different query words win, the earlier one between equals."""
    share = SNIPPET_CHARS // SNIPPET_FRAGMENTS
    candidates = []
    for start, end, _ in matches:
        a = _window_start(encoded, start, share)
        # To a word's end (the matched word at least), about a share after the start.
        limit = max(a + share, end + share // 3)
        b = encoded.rfind(" ", end, limit)
        if b < 0:
            b = encoded.find(" ", end)
        b = _piece_end(encoded, start, b if b >= 0 else len(encoded))
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


def _window_start(encoded: str, start: int, share: int) -> int:
    """Where a window showing the match at ``start`` begins: the start of the match's
    sentence if that is within a window's length before it (so the snippet does not begin
    mid-sentence, or between a number and its power), else a word a little before it.

    Reaching back a whole window, not half, starts 58% of the fragments of the sample's
    snippets (eight queries, 50 hits each) at a sentence rather than 30%, at the cost
    of some context after the match."""
    piece = _piece_start(encoded, start)
    reach = max(piece, start - share)
    sentences = [m.end() for m in _SENTENCE_END.finditer(encoded, reach, start)]
    if sentences:
        return sentences[-1]
    if reach == piece:
        return piece
    return max(encoded.rfind(" ", 0, max(0, start - share // 3)) + 1, piece)


def _starts_sentence(encoded: str, index: int) -> bool:
    """Whether a sentence (or the text of a piece) starts at ``index``."""
    if index == _piece_start(encoded, index):
        return True
    end = _SENTENCE_END.search(encoded, max(0, index - 4), index + 1)
    return end is not None and end.end() == index


def _piece_start(encoded: str, index: int) -> int:
    """Where the text of the piece holding ``index`` begins (a window never spans two)."""
    return encoded.rfind(LOCALE_END, 0, index) + 1


def _piece_end(encoded: str, index: int, end: int) -> int:
    following = encoded.find(LOCALE_START, index)
    return min(end, following if following >= 0 else len(encoded), len(encoded))


def _marked(encoded: str, matches: list[_Word], start: int, end: int) -> str:
    """``encoded[start:end]`` escaped, the matched words in it in ``<mark>``, powers of
    ten in superscript (a matched word in an exponent is left unmarked)."""
    # Only the "(6)" of "10(6)" changes, so a marked base "10" stays as it is.
    exponents = [(m.start(1) - 1, m.end(), m.group(1).translate(_SUPERSCRIPTS))
                 for m in _EXPONENT.finditer(encoded, start, end)]
    marks = [(a, b, "<mark>" + html.escape(encoded[a:b]) + "</mark>") for a, b, _ in matches
             if a >= start and b <= end and not any(p <= a < q for p, q, _ in exponents)]
    output, index = [], start
    for a, b, markup in sorted(marks + exponents):
        output.append(_plain(encoded[index:a]))
        output.append(markup)
        index = b
    output.append(_plain(encoded[index:end]))
    return "".join(output)


def _plain(text: str) -> str:
    return html.escape(_MARKER.sub(" ", text))
