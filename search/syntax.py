"""The query language of the search box, parsed into clauses.

Plain words; ``"phrases"``; ``-word`` to exclude and ``+word`` to require;
``OR`` between words (they already are alternatives; it is accepted for
people who type it) and ``AND`` to require both sides; field prefixes
(``title:``, ``abstract:``, ``author:``, ``affiliation:``, ``institution:``,
``journal:``); ``year:2020`` and ``year:2015-2020``; ``word*`` for a prefix.
A few plain words are also looked up as an author's name (``smith js``).

Parsing never fails: what does not fit the grammar (an unbalanced quote, a
stray colon, an unknown field, ``AND`` with nothing beside it) is read as
plain words, because a search box must answer whatever is typed into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

#: Field prefixes people type -> index fields.
FIELD_ALIASES = {
    "title": "title",
    "abstract": "abstract",
    "author": "authors",
    "authors": "authors",
    "affiliation": "affiliations",
    "affiliations": "affiliations",
    "institution": "institution",
    "journal": "journal",
    "year": "year",
}

_TOKEN = re.compile(
    r"""(?P<sign>[-+](?=[^\W\d]|"))?
        (?:(?P<field>[A-Za-z]+):(?=[^\s:]))?
        (?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))""",
    re.VERBOSE,
)
#: The field a typed name is looked up in by its surname-and-initials keys (search.names).
NAME_KEYS_FIELD = "author_keys"
#: Plain queries of this many words may be a name ("smith js", "john smith", "john s smith").
NAME_WORDS = (2, 3)

_YEARS = re.compile(r"^(\d{4})(?:\s*(?:-|\.\.|to)\s*(\d{4}))?$")


class Occur(Enum):
    """How a clause counts: may match (ranks higher), must match, must not match."""

    SHOULD = "should"
    MUST = "must"
    MUST_NOT = "must_not"


@dataclass(frozen=True)
class Clause:
    """One unit of a query.

    :param kind: ``word``, ``phrase``, ``prefix`` or ``years``.
    :param text: the word, phrase or prefix as typed (analysis comes later).
    :param field: an index field, or None for all text fields.
    :param years: for ``years`` clauses, the inclusive range.
    """

    kind: str
    text: str
    field: str | None = None
    occur: Occur = Occur.SHOULD
    years: tuple[int, int] | None = None


def parse(query: str) -> list[Clause]:
    """The clauses of a query string; never raises.

    >>> [c.text for c in parse('cell "gene therapy" -mouse')]
    ['cell', 'gene therapy', 'mouse']
    """
    if query.count('"') % 2:  # an unbalanced quote: the last one is a typo
        cut = query.rfind('"')
        query = query[:cut] + " " + query[cut + 1:]
    clauses: list[Clause] = []
    pending_and = False
    for match in _TOKEN.finditer(query):
        sign, field, phrase, word = match.group("sign", "field", "phrase", "word")
        if word in ("OR", "AND") and not sign and not field:
            pending_and = word == "AND" and bool(clauses)
            continue
        clause = _clause(sign, field, phrase, word)
        if clause is None:
            continue
        if pending_and:
            clauses[-1] = _required(clauses[-1])
            clause = _required(clause)
            pending_and = False
        clauses.append(clause)
    return _with_name(clauses)


def _with_name(clauses: list[Clause]) -> list[Clause]:
    """A query of a few plain words may name an author ("smith j", "john smith"): the words
    are also looked up as a name, one more alternative (a query that is no name's finds
    nothing by it)."""
    if (NAME_WORDS[0] <= len(clauses) <= NAME_WORDS[1]
            and all(c.kind == "word" and c.field is None and c.occur is Occur.SHOULD for c in clauses)):
        return clauses + [Clause("word", " ".join(c.text for c in clauses), NAME_KEYS_FIELD)]
    return clauses


def _clause(sign: str | None, field: str | None, phrase: str | None, word: str | None) -> Clause | None:
    occur = {"-": Occur.MUST_NOT, "+": Occur.MUST}.get(sign or "", Occur.SHOULD)
    target = FIELD_ALIASES.get(field.lower()) if field else None
    text = phrase if phrase is not None else (word or "")
    if field and target is None:
        # Not one of ours ("ratio:1", "Note:"): the whole thing is words.
        text = f"{field} {text}"
    if target == "year":
        years = _YEARS.match(text.strip())
        if years:
            low = int(years.group(1))
            high = int(years.group(2) or low)
            return Clause("years", text, "year", Occur.MUST_NOT if occur is Occur.MUST_NOT else Occur.MUST,
                          (min(low, high), max(low, high)))
        target = None  # "year:abc": just words
    text = text.strip()
    if not text or not re.search(r"\w", text):
        return None
    if phrase is not None:
        return Clause("phrase" if " " in text else "word", text, target, occur)
    if text.endswith("*") and len(text.rstrip("*")) >= 2 and re.fullmatch(r"\w+", text.rstrip("*")):
        return Clause("prefix", text.rstrip("*"), target, occur)
    return Clause("word", text, target, occur)


def _required(clause: Clause) -> Clause:
    if clause.occur is Occur.SHOULD:
        return Clause(clause.kind, clause.text, clause.field, Occur.MUST, clause.years)
    return clause


def field_phrase(field: str, text: str) -> str:
    """The query that finds ``text`` as a phrase in ``field`` (a prefix people type, as
    ``author``): ``author:"Jane Doe"``.  A quote in ``text`` would end the phrase early,
    so quotes become spaces, which the analysis ignores as it does the quote."""
    phrase = " ".join(text.replace('"', " ").split())
    return f'{field}:"{phrase}"'
