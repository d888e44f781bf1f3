"""One English name per organisation, whatever language or form an affiliation used.

:func:`canonical` turns an organisation name as :func:`search.institutions.extract`
found it into the name the institution facet shows: ``"Universität Wien"``,
and ``"Univ. Wien"`` (expanded by the extractor to ``"University Wien"``) become
``"University of Vienna"``; ``"CNRS"`` becomes ``"French National Centre for Scientific
Research"``.  :func:`group_key` is the form in which names of one organisation are
equal ("Vienna University" too), which the facet groups by (:mod:`search.facets`).  The rules here know no
organisation; what they apply is data shipped in ``search/data`` (documented in
``search/data/INSTITUTIONS.md``), which a librarian can extend:

* ``institution-names.tsv``: organisation words in other languages and their English
  form and word order (``Université de {}`` -> ``University of {}``);
* ``institution-places.tsv``: places and their English names (``Wien`` -> ``Vienna``);
  a university named only by a listed place is ``University of <place>`` in any order;
* ``institution-acronyms.tsv``: acronyms, short forms and native names of organisations
  and the name to show for them, marking the national research bodies;
* ``institution-systems.tsv``: university systems whose campus is part of the name;
* ``institution-legal-forms.tsv``: legal forms that end a name ("Ltd", "NHS Trust").
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from search.institutions import comparable

#: The shipped tables, in the package's data folder.
DATA_DIR = Path(__file__).parent / "data"
NAMES_FILE = DATA_DIR / "institution-names.tsv"
PLACES_FILE = DATA_DIR / "institution-places.tsv"
ACRONYMS_FILE = DATA_DIR / "institution-acronyms.tsv"
SYSTEMS_FILE = DATA_DIR / "institution-systems.tsv"
LEGAL_FORMS_FILE = DATA_DIR / "institution-legal-forms.tsv"
#: The acronyms table's third column for a national research body.
NATIONAL_BODY = "national body"

# A translation applied to its own output reaches a fixed point in two steps ("Centre
# Hospitalier Universitaire de X" -> "University Hospital of X" -> "X University Hospital").
_PASSES = 3
_SLOT = "{}"
_LEADING_THE_RE = re.compile(r"^the\s+", re.I)
_CONNECTIVES = ("of", "the", "for", "and", "at", "in")
_WORD_RE = re.compile(r"[^\W\d_]+")
_AMPERSAND_RE = re.compile(r"\s*&\s*")


class TableError(ValueError):
    """A line of an institution table that cannot be read (names file and line)."""


@dataclass(frozen=True)
class _Pattern:
    """One row of the names table: a local form as a regular expression on folded text."""

    local: re.Pattern[str]
    english: str
    weight: int  # letters of the local form: the longest match wins


@dataclass(frozen=True, eq=False)  # hashed by identity: the cached functions below take it
class Tables:
    """The tables, read and compiled.

    ``triggers`` are the folded words of the local forms: a name with none of them
    matches no row, and is not tried against each (this runs for every affiliation part).
    ``bodies`` are the lower-case acronyms of national research bodies, ``systems`` the
    names of multi-campus university systems, ``legal_forms`` the legal forms as written.
    """

    patterns: tuple[_Pattern, ...]
    places: dict[str, str]
    known: dict[str, str]
    triggers: frozenset[str]
    digest: str
    bodies: frozenset[str] = frozenset()
    systems: tuple[str, ...] = ()
    legal_forms: tuple[str, ...] = ()


def _rows(path: Path, least: int, most: int) -> list[tuple[int, list[str]]]:
    """The (line number, columns) of a tab-separated table, comments and blanks left out.

    :raises TableError: a row with too few or too many columns, naming file and line.
    """
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        columns = [c.strip() for c in line.split("\t")]
        if not least <= len(columns) <= most or not all(columns):
            raise TableError(f"{path}, line {number}: expected {least}-{most} tab-separated "
                             f"non-empty columns, found {len(columns)}: {line!r}")
        rows.append((number, columns))
    return rows


def _fold(text: str) -> str:
    """Lower case without accents; one character in, one or more out."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def _compile(path: Path, number: int, local: str, english: str) -> _Pattern:
    slots = local.count(_SLOT)
    if english.count(_SLOT) > slots:
        raise TableError(f"{path}, line {number}: {english!r} has more {_SLOT} than {local!r}")
    # Any run of spaces may be a hyphen too ("Ludwig-Maximilians-Universität").
    pieces = [r"[\s-]+".join(re.escape(word) for word in re.split(r"\s+", _fold(piece)))
              for piece in local.split(_SLOT)]
    pattern = re.compile("(.+?)".join(pieces))
    return _Pattern(pattern, english, sum(c.isalpha() for c in local))


@lru_cache(maxsize=4)
def load(names: Path = NAMES_FILE, places: Path = PLACES_FILE, acronyms: Path = ACRONYMS_FILE,
         systems: Path = SYSTEMS_FILE, legal_forms: Path = LEGAL_FORMS_FILE) -> Tables:
    """The tables in ``names``, ``places``, ``acronyms``, ``systems`` and ``legal_forms``
    (default: the shipped ones).

    :raises TableError: naming the file and line of a malformed row.
    """
    patterns = tuple(sorted((_compile(names, n, *columns) for n, columns in _rows(names, 2, 2)),
                            key=lambda p: -p.weight))
    place_map = {_fold(form): columns[-1] for _, columns in _rows(places, 1, 2) for form in columns}
    digest = hashlib.sha256()
    for path in (names, places, acronyms, systems, legal_forms):
        digest.update(path.read_bytes())
    triggers = frozenset(word for _, (local, _english_form) in _rows(names, 2, 2)
                         for word in _WORD_RE.findall(_fold(local)))
    acronym_rows = _rows(acronyms, 1, 3)
    tables = Tables(patterns, place_map, {}, triggers, digest.hexdigest()[:16],
                    _national_bodies(acronyms, acronym_rows),
                    tuple(name for _, (name,) in _rows(systems, 1, 1)),
                    tuple(form for _, (form,) in _rows(legal_forms, 1, 1)))
    for _, (full, *others) in acronym_rows:
        for form in [full, *(others[0].split("|") if others else [])]:
            for key in {comparable(form), comparable(_english(form.strip(), tables))}:
                tables.known.setdefault(key, full)
    return tables


def _national_bodies(path: Path, rows: list[tuple[int, list[str]]]) -> frozenset[str]:
    """The lower-case one-word acronyms of the rows marked as national research bodies.

    :raises TableError: a third column other than the mark, or a marked row without an
        acronym.
    """
    bodies: set[str] = set()
    for number, columns in rows:
        if len(columns) < 3:
            continue
        acronyms = [form for form in columns[1].split("|") if form.isupper() and form.isalpha()]
        if columns[2] != NATIONAL_BODY or not acronyms:
            raise TableError(f"{path}, line {number}: the third column may only be "
                             f"{NATIONAL_BODY!r}, on a row with an upper-case acronym")
        bodies.update(form.lower() for form in acronyms)
    return frozenset(bodies)


def is_known(name: str, tables: Tables | None = None) -> bool:
    """Whether the tables name ``name`` an organisation: a known acronym or short form
    ("LMU Munich", "CHU de Dijon"), or a local form of the names table."""
    tables = tables or load()
    return comparable(name) in tables.known or _translate(name, tables) != name


def canonical(name: str, tables: Tables | None = None) -> str:
    """The facet's name for an organisation name, in English where the tables know how.

    :param tables: the tables to apply (default: the shipped ones, :func:`load`).
    """
    tables = tables or load()
    english = _english(name, tables)
    return tables.known.get(comparable(english)) or tables.known.get(comparable(name)) or english


def _english(name: str, tables: Tables) -> str:
    """``name`` with its organisation words in English and its place in English form."""
    text = _LEADING_THE_RE.sub("", " ".join(name.split()))
    for _ in range(_PASSES):
        translated = _translate(text, tables)
        if translated == text:
            break
        text = translated
    # "University Vienna" is no English form; "Vienna University" may be the official one.
    return _place_named(_trailing_place(text, tables), tables, any_order=False)


def _trailing_place(text: str, tables: Tables) -> str:
    """``text`` with the place it ends with in English ("... of Warszawa" -> "... of Warsaw")."""
    words = text.split()
    for size in (2, 1):
        english = tables.places.get(_fold(" ".join(words[-size:]))) if len(words) > size else None
        if english:
            return " ".join([*words[:-size], english])
    return text


@lru_cache(maxsize=1 << 16)
def group_key(name: str, tables: Tables | None = None) -> str:
    """The form in which two names of one organisation are equal.

    The :func:`canonical` name compared by :func:`~search.institutions.comparable` without
    spaces, "at" after a listed university system left out, a university named only by a
    listed place in one word order ("Kyoto University" and
    "University of Kyoto" are one; "Washington University" and "University of
    Washington" are not, as Washington is not listed).
    """
    tables = tables or load()
    named = comparable(_AMPERSAND_RE.sub(" and ", _place_named(canonical(name, tables), tables, any_order=True)))
    for system in map(comparable, tables.systems):
        if named.startswith(f"{system} at "):  # "University of Alabama at Birmingham" = ", Birmingham"
            named = system + named[len(system) + 3:]
    # "Jiao Tong" / "Jiaotong", "Xiang-Ya" / "Xiangya": spacing is no part of a name.
    return named.replace(" ", "")


@lru_cache(maxsize=1 << 16)  # every affiliation part is tried; translating one costs ~0.2 ms
def _translate(text: str, tables: Tables) -> str:
    """``text`` after the longest matching row of the names table, if any."""
    if tables.triggers.isdisjoint(_WORD_RE.findall(_fold(text))):
        return text
    folded, starts = _folded_with_offsets(text)
    for pattern in tables.patterns:
        match = pattern.local.fullmatch(folded)
        if not match:
            continue
        rests = [text[starts[match.start(i)]:starts[match.end(i)]].strip(" -") for i in range(1, match.lastindex + 1)] \
            if match.lastindex else []
        if any(not rest or rest.split()[0].lower() in _CONNECTIVES for rest in rests):
            continue  # "Hospital for Sick Children" is English already, not "Hospital {}"
        result = pattern.english
        for rest in rests:
            result = result.replace(_SLOT, tables.places.get(_fold(rest), rest), 1)
        return " ".join(result.split())
    return text


def _folded_with_offsets(text: str) -> tuple[str, list[int]]:
    """``text`` folded, and for each folded position the original one (plus the end)."""
    folded, starts = [], []
    for index, char in enumerate(text):
        piece = _fold(char)
        folded.append(piece)
        starts.extend([index] * len(piece))
    starts.append(len(text))
    return "".join(folded), starts


def _place_named(text: str, tables: Tables, any_order: bool) -> str:
    """"University of <place>" for "University <place>" (and "<place> University" if
    ``any_order``) when the place is listed."""
    words = text.split()
    if len(words) < 2:
        return text
    folded = [_fold(w) for w in words]
    if folded[0] == "university":
        place = words[2:] if folded[1:2] == ["of"] else words[1:]
    elif folded[-1] == "university" and any_order:
        place = words[:-1]
    else:
        return text
    english = tables.places.get(_fold(" ".join(place)))
    return f"University of {english}" if english else text


def digest(tables: Tables | None = None) -> str:
    """A fingerprint of the tables: when it changes, the facet is derived again."""
    return (tables or load()).digest
