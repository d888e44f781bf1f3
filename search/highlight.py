"""Highlighted titles and abstract snippets, safe to put in a page as they are.

The stored text is analysed with the field's own analyzer, so a match is found
however the word is inflected ("cells" marks "cell") and always as a whole
word.  Everything from the data is HTML-escaped; only the ``<mark>`` tags
this module adds are markup.
"""

from __future__ import annotations

import html
import re

from whoosh import highlight
from whoosh.analysis import Analyzer, Token

from search.analysis import LOCALE_END, LOCALE_START, encode_localized

#: Roughly how long an abstract snippet is, in characters.
SNIPPET_CHARS = 300
#: At most this many fragments make a snippet.
SNIPPET_FRAGMENTS = 3

_SEPARATOR = " \u2026 "
_MARKER = re.compile(f"{LOCALE_START}[^{LOCALE_START}{LOCALE_END}]*{LOCALE_END}")


class _MarkFormatter(highlight.Formatter):
    """``<mark>`` around matched words; all other text escaped, locale markers made spaces."""

    between = _SEPARATOR

    def format_token(self, text: str, token: Token, replace: bool = False) -> str:
        return "<mark>" + html.escape(highlight.get_text(text, token, replace)) + "</mark>"

    def format_fragment(self, fragment: highlight.Fragment, replace: bool = False) -> str:
        output, index, text = [], fragment.startchar, fragment.text
        for token in fragment.matches:
            if token.startchar < index:  # a second form of a word already marked
                continue
            output.append(_plain(text[index:token.startchar]))
            output.append(self.format_token(text, token, replace))
            index = token.endchar
        output.append(_plain(text[index:fragment.endchar]))
        return "".join(output)


def _plain(text: str) -> str:
    # Fragments begin and end on words, so only whole markers can fall inside one.
    return html.escape(_MARKER.sub(" ", text))


def highlight_title(title: str, locale: str | None, terms: frozenset[str], analyzer: Analyzer) -> str:
    """The whole title, escaped, with matched words marked."""
    marked = _highlight(encode_localized([(locale, title)]), terms, analyzer, highlight.WholeFragmenter(), top=1)
    return marked or html.escape(title)


def snippet(texts: list[tuple[str | None, str]], terms: frozenset[str], analyzer: Analyzer) -> str:
    """One to three fragments of about :data:`SNIPPET_CHARS` around the matched words.

    :param texts: the abstract's (locale, text) pieces.
    Without a match, the opening of the first piece.
    """
    encoded = encode_localized(texts)
    # Fragments share the length out, so three of them still make about SNIPPET_CHARS.
    share = SNIPPET_CHARS // SNIPPET_FRAGMENTS
    fragmenter = highlight.ContextFragmenter(maxchars=share, surround=share // 3)
    marked = _highlight(encoded, terms, analyzer, fragmenter, top=SNIPPET_FRAGMENTS)
    if marked:
        return marked
    first = texts[0][1] if texts else ""
    if len(first) <= SNIPPET_CHARS:
        return html.escape(first)
    return html.escape(first[:SNIPPET_CHARS].rsplit(" ", 1)[0]) + "\u2026"


def _highlight(text: str, terms: frozenset[str], analyzer: Analyzer, fragmenter: highlight.Fragmenter,
               top: int) -> str:
    if not terms or not text:
        return ""
    marked = highlight.highlight(text, terms, analyzer, fragmenter, _MarkFormatter(), top=top,
                                 order=highlight.FIRST, mode="index")
    return marked.strip()
