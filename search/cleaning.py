"""Tidying the values real exports contain: markup, dates, pages, e-mails, locales.

Every function takes what an XML element held and returns a clean value or
None/"" when nothing usable is there; none of them raises on bad data, because
one odd value must not cost a whole record.
"""

from __future__ import annotations

import calendar
import html
import re

from search.languages import two_letter
from search.records import PartialDate

_WHITESPACE = re.compile(r"\s+")
# Only things shaped like tags: "p < 0.05" and "a<b" stay as they are.
_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)(\s[^<>]*)?/?>")
_BLOCK_TAGS = {"p", "br", "div", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table"}
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});")
# Script and style elements, escaped in the text: their content is code, not words.
_CODE = re.compile(r"<(script|style)\b[^>]*>.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
# Control characters other than whitespace (C0 and C1): never meant as text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# "Electronic address:" is how MEDLINE introduces an author's e-mail.
_EMAIL_INTRO = re.compile(r"\b(electronic address|e-?mail( address)?)\s*:?\s*(?=[,;]|$)", re.IGNORECASE)
_REPEATED_SEPARATOR = re.compile(r"\s*([,;])(\s*[,;])+\s*")
_EMPTY_PARENS = re.compile(r"[(\[]\s*[)\]]")
_DANGLING_END = re.compile(r"(\s*[,;:]|\s+\.)+\s*$")

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january", "janvier", "januar", "enero"),
            ("feb", "february", "fevrier", "februar", "febrero"),
            ("mar", "march", "mars", "marz", "marzo"),
            ("apr", "april", "avril", "abril"),
            ("may", "mai", "mayo"),
            ("jun", "june", "juin", "juni", "junio"),
            ("jul", "july", "juillet", "juli", "julio"),
            ("aug", "august", "aout", "agosto"),
            ("sep", "sept", "september", "septembre", "septiembre"),
            ("oct", "october", "octobre", "oktober", "octubre"),
            ("nov", "november", "novembre", "noviembre"),
            ("dec", "december", "decembre", "dezember", "diciembre"),
        ],
        start=1,
    )
    for name in names
}
_YEAR = re.compile(r"\b(1[5-9]\d\d|2\d\d\d)\b")
_WORD = re.compile(r"[^\W\d_]+")
_FIRST_RANGE = re.compile(r"\s*[;,]\s*")

def clean_text(value: str | None) -> str:
    """Text for display and indexing: HTML tags and entities resolved, spaces collapsed.

    Exports put HTML in titles and abstracts, either as real child elements
    (already flattened by the caller) or escaped (``&lt;i&gt;``), which arrives
    here as ``<i>``.  Block tags become spaces so words do not run together;
    ``<script>`` and ``<style>`` go with their content; control characters
    become spaces.
    """
    if not value:
        return ""
    if "<" in value:
        value = _CODE.sub(" ", value)
        value = _TAG.sub(lambda m: " " if m.group(1).lower() in _BLOCK_TAGS else "", value)
    if "&" in value and _ENTITY.search(value):
        value = html.unescape(value)
    return _WHITESPACE.sub(" ", _CONTROL.sub(" ", value.replace("\ufeff", ""))).strip()


def strip_emails(affiliation: str) -> str:
    """An affiliation without the e-mail addresses exports append to it.

    ``..., USA. Electronic address: x@y.org.`` -> ``..., USA.``;
    ``..., Sweden (x@y.se)`` -> ``..., Sweden``.
    """
    if "@" not in affiliation:
        return affiliation
    text = _EMPTY_PARENS.sub("", _EMAIL.sub("", affiliation))
    text = _trim_end(_WHITESPACE.sub(" ", text))
    return _trim_end(_REPEATED_SEPARATOR.sub(r"\1 ", _EMAIL_INTRO.sub("", text)))


def _trim_end(text: str) -> str:
    """Drop the separators and lone full stops an address removal leaves at the end."""
    return _DANGLING_END.sub("", text).strip()


def parse_month(value: str | None) -> int | None:
    """``09``, ``9``, ``Sep``, ``September`` (and a few other languages) -> 9."""
    if not value:
        return None
    value = value.strip().casefold().rstrip(".")
    if value.isdigit():
        month = int(value)
        return month if 1 <= month <= 12 else None
    word = _WORD.search(value)
    if not word:
        return None
    token = word.group(0)
    return _MONTHS.get(token) or _MONTHS.get(token[:3])


def make_date(year: str | None, month: str | None = None, day: str | None = None,
              free_text: str | None = None) -> PartialDate | None:
    """A :class:`PartialDate` from whatever parts an export has.

    ``free_text`` is MEDLINE's ``MedlineDate`` (``2015 Oct-Dec``, ``1998 Spring``):
    the year and the first month named in it.  Parts that make no date (Feb 30,
    month 13) are dropped rather than failing the record.
    """
    year_number = None
    if year and year.strip().isdigit():
        year_number = int(year.strip())
    elif free_text or year:
        match = _YEAR.search(free_text or year or "")
        year_number = int(match.group(1)) if match else None
        if not month and free_text:
            words = _WORD.findall(free_text[match.end():] if match else free_text)
            month = words[0] if words else None
    if not year_number or not 1000 <= year_number <= 2999:
        return None
    month_number = parse_month(month)
    day_number = None
    if month_number and day and day.strip().isdigit():
        day_number = int(day.strip())
        if not 1 <= day_number <= calendar.monthrange(year_number, month_number)[1]:
            day_number = None
    return PartialDate(year_number, month_number, day_number)


def page_range(first: str | None, last: str | None = None) -> tuple[str, str]:
    """Pages as ``(first, last)``, with abbreviated ranges written out.

    MEDLINE writes ``10604-7`` for 10604-10607 and ``381-7`` for 381-387; a
    first page may itself hold the range.  Non-numeric pages (``e123``) are
    kept as written.
    """
    # "8; discussion 1791": the range proper ends at the first ";" or ",".
    first = _FIRST_RANGE.split(clean_text(first))[0]
    last = _FIRST_RANGE.split(clean_text(last))[0]
    if not last and first:
        pieces = re.split(r"\s*[-\u2013\u2014]\s*", first, maxsplit=1)
        if len(pieces) == 2:
            first, last = pieces
    if first.isdigit() and last.isdigit() and len(last) < len(first):
        expanded = first[: len(first) - len(last)] + last
        if int(expanded) >= int(first):
            last = expanded
    return first, last


def locale_from_language(code: str | None) -> str | None:
    """MEDLINE's ``eng``/``ita`` or an OJS ``en_US``-style value as a locale string."""
    if not code or not code.strip():
        return None
    code = code.strip()
    return two_letter(code) if len(code) == 3 else code
