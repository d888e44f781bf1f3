"""Organisations named in free-text author affiliations, for a search facet.

:func:`extract` turns ``"Dept. of Pediatrics, School of Medicine, Tehran Univ. of Medical
Sciences, Tehran, Iran"`` into ``["Tehran University of Medical Sciences"]`` by rules that
know no institution names: the string is split into affiliations (``;``, newlines) and
comma parts; each part is normalised and classified by its head words as a *strong*
organisation (university, hospital, academy, company ...), a *weak* one (institute,
centre, school, laboratory ...), a sub-unit (department ...) or other (place, address,
title).  Parts are grouped into blocks ending at an address or postcode, since an
affiliation runs from its smallest unit up to the organisation, then its address.  A
block yields its strong organisations, else its last (outermost) weak one, so
departments and in-house institutes roll up into their organisation.

:func:`comparable` and :func:`score` implement the lenient comparison that
``scripts/eval_institutions.py`` and the tests use.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from search.cleaning import strip_emails

# Part kinds, from "names a top-level organisation" down to "names nothing".
STRONG, BODY, GENERIC, WEAK, UNIT, ACRONYM, OTHER = (
    "strong", "body", "generic", "weak", "unit", "acronym", "other")

_SMALL = frozenset("of and for the in at on to a an de da do dos das del della degli di du "
                   "des der la le les el y e et und von van zu".split())
# Lower-cased inside names whatever the input; articles such as "La" are left alone
# because they often start a proper name ("Hospital La Paz").
_LOWERED = frozenset("of and for the in at on de da do dos das del della degli di du des der "
                     "und et".split())
# Words that say what kind of place something is but not which one.
_GENERIC = frozenset("research medical clinical health care science sciences studies general "
                     "regional community teaching training education educational medicine "
                     "dentistry pharmacy nursing engineering law".split())
_STRONG_WORDS = frozenset(
    "university universities hospital hospitals hopital ospedale ospedaliera ospedaliero "
    "hospitalier hospitalario klinikum klinik kliniken clinic clinics clinique clinica "
    "infirmary academy academia akademie academie foundation fundacao fundacion fondazione "
    "stiftung trust museum museu museo musee association federation society ministry agency "
    "council corporation company institution institutions polytechnic politecnico "
    "organization organisation administration authority healthcare "
    # Latin transliterations: Chinese pinyin, Persian, Arabic (search/data/institution-names.tsv)
    "daxue yiyuan kexueyuan daneshgah daneshgahe bimarestan jamiat mustashfa".split())
_UNIVERSITY_PREFIXES = ("universit", "universid", "uniwersyt")
_ADJECTIVE_ENDINGS = ("ario", "aria", "arios", "arias", "aire", "aires", "air", "ary")
_STRONG_SUFFIXES = ("klinikum", "spital", "krankenhaus", "ziekenhuis", "hospitalet",
                    "sjukhuset", "sygehus", "hochschule")
_SUFFIX_HEADS = _STRONG_WORDS | set(_STRONG_SUFFIXES)
_WEAK_WORDS = frozenset(
    "institute institutes institut instituto istituto instytut institutet centre center "
    "centres centers centro centrum zentrum college colleges school ecole escuela escola "
    "scuola laboratory laboratories laboratoire laboratorio laboratorium laboratori "
    "observatory garden gardens network group survey station bureau service services".split())
# "Service de Cardiologie" is a unit but "National Health Service" is not, so a service
# is a unit only at the start of a part.
_UNIT_WORDS = frozenset(
    "department departments dept division divisions section unit units program programme "
    "programa faculty faculdade facultad facultat fakultat faculte facolta dipartimento "
    "departamento departement abteilung coordenacao diretoria unidad unitat servicio "
    "servizio lab labs core facility ward team chair".split())
_JOB_WORDS = frozenset("president professor director chair chairman secretary fellow resident "
                       "student lecturer researcher head dean consultant member editor".split())
_NOT_ORG_ACRONYMS = frozenset({"USA", "UK", "UAE", "PRC", "ROC", "EU", "USSR"})
_COUNTRY_WORDS = frozenset({"usa", "us", "united states", "america", "united states of america"})

_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")
_APOSTROPHE_RE = re.compile(r"[’‘`´]")
_PUNCT_RE = re.compile(r"[^\w\s]|_")
_LEADING_RE = re.compile(r"^(?:(?:from|and|the|&)\s+)+", re.I)
_TRAILING_RE = re.compile(r"(?:[\s.,;:&-]|\band$)+$")
_AND_RE = re.compile(r"^\s*(?:and|&)\s+(the\s)?", re.I)
_CONJUNCTION_RE = re.compile(r"\s+(?:and|&|y|et|und)\s+|\s*/\s*")
_PAREN_RE = re.compile(r"\s*[(\[]([^()\[\]]*)[)\]]")
_ACRONYM_RE = re.compile(r"[A-Z][A-Z&]{2,}(?:-[A-Z]?\w+)?")
_PAREN_ACRONYM_RE = re.compile(r"[A-Z][A-Za-z&]{1,9}")
_DIGIT_RE = re.compile(r"\d")
_VOWEL_RE = re.compile(r"[AEIOUY]")
_ROMAN_RE = re.compile(r"[IVXLC]+")
_LONG_WORD_RE = re.compile(r"[^\W\d_]{4,}")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_WORD_START_RE = re.compile(r"(^|[-/(])(\w)")
_AFFILIATION_SEPARATOR_RE = re.compile(r"[;\n\r]+")
_SPACE_COMMA_RE = re.compile(r"\s+,")
_UNIT_START_RE = re.compile(
    r"^(?:(?:state\s+)?key\s+lab|graduate\s+school|(?:klinik|clinic|clinique|clinica|klinika)"
    r"\s+(?:fur|of|for|de|di|und|and)\b|(?:services?|" + "|".join(sorted(_UNIT_WORDS)) + r")\b)")
_STRONG_PHRASE_RE = re.compile(r"\b(?:medical|health|medisch)\s+(?:cent(?:er|re)s?|centrum)\b"
                               r"|\bhealth\s*care\b|\bhealth\s+system\b")
_ADDRESS_END_RE = re.compile(r"\b(?:campus|road|rd|street|st|avenue|ave|blvd|boulevard|lane|"
                             r"building|bldg|floor|drive|dr|box|park|parkway|way|plaza|"
                             r"highway|hwy)\.?$", re.I)
# Footnote marks glued to a part: "3New York Academy of Medicine", "⊥Department ...", "Oscillogy ®".
_MARK_RE = re.compile(r"^(?:[^\w\s(\[\"'“]+|\d+(?=[A-Z][a-z]))|\s*[®™©]")
_POSTCODE_END_RE = re.compile(r"\s+\d{4,}$")
_COMPANY_ONLY_RE = re.compile(r"(?:Ltd|Inc|LLC|GmbH|plc|Corp|Co|S\.A|B\.V|AG)\.?")
# "CSIC-Universidad de Sevilla": an acronym joined to a name, two organisations.
_JOINED_ACRONYM_RE = re.compile(r"^([A-Z]{2,})\s*[-–]\s*([A-Z].+)$")
_DASH_ACRONYM_RE = re.compile(r"\s+[-–]\s+[A-Z]{2,}$|^[A-Z]{2,}\s+[-–]\s+")
_MED_SCI_RE = re.compile(r"\bMed(?:ical)?\.?\s+Sci\.?(?=\W|$)", re.I)
_ABBREVIATIONS = {  # abbreviations with or without their dot
    "univ": "University", "inst": "Institute", "hosp": "Hospital", "med": "Medical",
    "sci": "Science", "natl": "National", "ctr": "Center", "cntr": "Center", "sch": "School",
    "coll": "College", "dept": "Department", "acad": "Academy", "technol": "Technology",
    "hlth": "Health", "assoc": "Association", "intl": "International",
    "agric": "Agricultural", "clin": "Clinical", "res": "Research", "mem": "Memorial"}
_DOTTED_ABBREVIATIONS = {  # also words, so only the dot marks them
    "lab": "Laboratory", "fac": "Faculty", "found": "Foundation", "soc": "Society",
    "gen": "General", "int": "International", "nat": "National"}
_EXPANSIONS = {**_ABBREVIATIONS, **_DOTTED_ABBREVIATIONS}
_ABBREVIATION_RE = re.compile(r"\b(?:(?:" + "|".join(_ABBREVIATIONS) + r")\b\.?|(?:"
                              + "|".join(_DOTTED_ABBREVIATIONS) + r")\.)(?!\w)", re.I)
# A university followed by one of its schools or campuses: the university is the name.
_UNIVERSITY_TAIL_RE = re.compile(
    r"^(?P<org>.*?\bUnivers(?:it|id)\w*(?:\s+(?:of|at|in)\s+.*?)?)\s+(?P<named>(?!(?:Medical|Dental|Law|Business|Graduate|Veterinary|Nursing|Health)\b)"
    r"[A-Z][\w'-]*\s+)?(?:(?:(?:Medical|Dental|"
    r"Law|Business|Graduate|Veterinary|Nursing|Health)\s+)*(?:School|College|Faculty|"
    r"Department)\b.*|(?:[A-Z][\w'-]*\s+)+Campus)$")
# A school named before the university it belongs to: "Perelman School of Medicine at the
# University of Pennsylvania", "Keck School of Medicine of University of Southern California".
_SCHOOL_OF_UNIVERSITY_RE = re.compile(
    r"^(?:.*\s)?(?:School|College|Faculty|Collegium)\b.*?\s(?:at|of)\s+(?:the\s+)?"
    r"(?P<org>(?:[A-Z][\w'.-]*\s+)*Univers(?:it|id)\w*(?:\s.*)?)$")
# ... or before the short form of its university: "David Geffen School of Medicine at UCLA".
_SCHOOL_WORD_RE = re.compile(r"\b(?:School|College|Faculty)\b")
_OF_AT_RE = re.compile(r"\s(?:at|of)\s+(?:the\s+)?")


@dataclass(frozen=True)
class _Vocabulary:
    """What the rules take from the shipped tables (:mod:`search.canonical`,
    ``search/data``): the organisations and forms they must know by name."""

    #: National research bodies named by acronym, often with a unit code ("CNRS UMR 8104").
    bodies: frozenset[str]
    body: re.Pattern[str]
    #: A multi-campus university system ("University of California").
    system: re.Pattern[str]
    #: A system followed by its campus ("University of California San Diego").
    system_campus: re.Pattern[str]
    #: A legal form ending a name ("..., Ltd.").
    company: re.Pattern[str]


@lru_cache(maxsize=1)
def _vocabulary() -> _Vocabulary:
    from search.canonical import load  # it reads this module's comparable(): imported late

    tables = load()
    bodies = tables.bodies
    systems = "|".join(map(re.escape, tables.systems)) or r"(?!)"
    forms = "|".join(map(_legal_form_pattern, tables.legal_forms)) or r"(?!)"
    return _Vocabulary(
        bodies, re.compile(r"\b(" + ("|".join(sorted(bodies)) or r"(?!)") + r")\b", re.I),
        re.compile(r"(?:" + systems + r")"),
        re.compile(r"^(" + systems + r")(?:\s*[-–—]\s*|\s+)"
                   r"(?!at\b)([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){0,2})$"),
        re.compile(r",?\s+(?:" + forms + r")\.?$"))


def _legal_form_pattern(form: str) -> str:
    """A legal form as its table writes it, as a regular expression: a space is any run of
    spaces, and a "." or "," before a space may be left out ("Co., Ltd" is also "Co Ltd")."""
    *words, last = form.split()
    pieces = []
    for word in words:
        stem = word.rstrip(".,")
        pieces.append(re.escape(stem) + "".join(re.escape(c) + "?" for c in word[len(stem):]))
    return r"\s+".join([*pieces, re.escape(last)])


@dataclass
class _Part:
    """One normalised comma part of an affiliation, its kind, and whether it evidently
    starts a new affiliation ("..., and the Retina Group")."""

    text: str
    kind: str
    starts_block: bool = False


def fold(text: str) -> str:
    """Lower-case ``text``, strip its accents and unify apostrophes."""
    if text.isascii():  # most names: nothing to decompose (a ROR dump has 300,000 of them)
        return text.replace("`", "'").lower()
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _APOSTROPHE_RE.sub("'", bare).casefold()


def comparable(name: str) -> str:
    """The form organisation names are compared in.

    Case, accents, apostrophes, other punctuation (read as a space) and a leading
    "the" do not count.
    """
    words = _PUNCT_RE.sub(" ", fold(name).replace("'", "")).split()
    return " ".join(words[1:] if words[:1] == ["the"] else words)


def matches(predicted: str, labelled: dict) -> bool:
    """Whether ``predicted`` names ``labelled`` (``{"name": ..., "accept": [...]}``)."""
    wanted = comparable(predicted)
    return any(comparable(form) == wanted
               for form in [labelled["name"], *labelled.get("accept", [])])


def score(predicted: Iterable[str], labelled: list[dict]) -> tuple[int, int, int]:
    """True positives, false positives and false negatives of one string's predictions.

    A labelled institution can be matched by one prediction only.
    """
    unmatched = list(labelled)
    true_positives = false_positives = 0
    for name in predicted:
        hit = next((inst for inst in unmatched if matches(name, inst)), None)
        if hit is None:
            false_positives += 1
        else:
            unmatched.remove(hit)
            true_positives += 1
    return true_positives, false_positives, len(unmatched)


def _title_case(text: str) -> str:
    """Title-case ``text``, keeping small words lower and acronyms/numerals upper."""
    words = []
    for position, word in enumerate(text.split()):
        if position and word.lower() in _SMALL:
            words.append(word.lower())
        elif word.isupper() and (not _VOWEL_RE.search(word) or _ROMAN_RE.fullmatch(word)):
            words.append(word)
        else:
            words.append(_WORD_START_RE.sub(lambda m: m[1] + m[2].upper(), word.lower()))
    return " ".join(words)


def _fix_case(text: str) -> str:
    """Title-case all-caps or all-lower text; lower capitalised small words elsewhere."""
    if text.islower() or (text.isupper() and len(_LONG_WORD_RE.findall(text)) >= 2):
        return _title_case(text)
    return " ".join(w.lower() if i and w.lower() in _LOWERED else w
                    for i, w in enumerate(text.split()))


def _normalise(text: str) -> str:
    """Spacing, capitalisation, abbreviations and leading "the" of one part."""
    text = _fix_case(" ".join(_MARK_RE.sub("", _APOSTROPHE_RE.sub("'", text)).split()))
    text = _MED_SCI_RE.sub("Medical Sciences", text)
    text = _ABBREVIATION_RE.sub(lambda m: _EXPANSIONS[m[0].rstrip(".").lower()], text)
    return _TRAILING_RE.sub("", _LEADING_RE.sub("", text))


def _is_university(word: str) -> bool:
    return word.startswith(_UNIVERSITY_PREFIXES) and not word.endswith(_ADJECTIVE_ENDINGS)


def _token_kind(word: str) -> str | None:
    if word in _STRONG_WORDS or word in _vocabulary().bodies or word.endswith(_STRONG_SUFFIXES) or _is_university(word):
        return STRONG
    if word in _WEAK_WORDS:
        return WEAK
    return UNIT if word in _UNIT_WORDS else None


def _is_specific(words: list[str]) -> bool:
    """Whether some word names *which* organisation rather than what kind."""
    return any((_token_kind(w) is None and w not in _GENERIC and w not in _SMALL)
               or w in _vocabulary().bodies or _is_named_compound(w) for w in words)


def _is_named_compound(word: str) -> bool:
    # "Rigshospitalet" carries its own name before the suffix; "Universitätsklinikum" not.
    return (word.endswith(_STRONG_SUFFIXES) and word not in _SUFFIX_HEADS
            and not _is_university(word))


def _classify(text: str) -> str:
    """The kind of organisation, if any, a normalised part names."""
    folded = fold(text)
    words = _WORD_RE.findall(folded)
    if not words:
        return OTHER
    if _UNIT_START_RE.match(folded) or words[-1] in _UNIT_WORDS:
        return UNIT
    if _ADDRESS_END_RE.search(text) and not (words[-1] == "campus"
                                             and any(map(_is_university, words))):
        return OTHER  # "Civil Hospital Campus", "3801 University Street"
    vocabulary = _vocabulary()
    if vocabulary.bodies.intersection(words) \
            and _classify(vocabulary.body.sub("", text)) != STRONG:
        return BODY
    kinds = {_token_kind(w) for w in words}
    if STRONG in kinds or _STRONG_PHRASE_RE.search(folded) or vocabulary.company.search(text):
        if _is_specific(words):
            return STRONG
        return GENERIC if len(words) > 1 else OTHER  # "University Hospital"; "University, MS"
    if WEAK in kinds:
        return WEAK if _is_specific(words) and not _DIGIT_RE.search(text) else OTHER
    if _ACRONYM_RE.fullmatch(text) and text not in _NOT_ORG_ACRONYMS:
        return ACRONYM
    return UNIT if UNIT in kinds else OTHER


def is_top_level(name: str) -> bool:
    """Whether ``name`` is an organisation in its own right by its head words (a university,
    hospital, academy ...), not a school, institute or unit that may belong to one."""
    return _classify(_normalise(name)) in (STRONG, BODY)


def _split_commas(text: str) -> list[str]:
    """``text`` split at commas that are not inside parentheses."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if char == "," and depth <= 0:
            parts.append(text[start:index])
            start = index + 1
    return [*parts, text[start:]]


def _initials(text: str) -> tuple[str, str]:
    """Initials of the capitalised words of ``text``, and of all its words."""
    words = _LETTERS_RE.findall(_PAREN_RE.sub("", text))
    capitalised = "".join(w[0] for w in words if w[0].isupper())
    return capitalised.upper(), "".join(w[0] for w in words).upper()


def _join_acronym_parts(parts: list[str]) -> list[str]:
    """Rejoin parts split at a comma inside a name whose acronym spells them all.

    In "Network of Immunity in Infection, Malignancy and Autoimmunity (NIIMA)" the
    acronym's letters are the initials of both parts, so they are one name.
    """
    joined: list[str] = []
    for part in parts:
        acronym = next((a for a in _PAREN_RE.findall(part) if _PAREN_ACRONYM_RE.fullmatch(a)), "")
        if acronym and acronym.upper() not in _initials(part):
            for back in range(1, min(3, len(joined)) + 1):
                candidate = ",".join([*joined[-back:], part])
                if acronym.upper() in _initials(candidate):
                    del joined[-back:]
                    part = candidate
                    break
        joined.append(part)
    return joined


def _drop_parentheses(part: str) -> str:
    """``part`` without parenthesised asides, or the aside if it is the full name."""
    outside = _PAREN_RE.sub("", part).strip()
    for inside in _PAREN_RE.findall(part):
        if _ACRONYM_RE.fullmatch(outside) and _classify(_normalise(inside)) in (STRONG, WEAK):
            return inside  # "USERN (Universal Scientific Education and Research Network)"
    return outside


def _split_conjunction(text: str) -> list[str]:
    """Split "X Hospital and Y Institute" into two names; drop "& Past President".

    A split needs a complete name (head word plus a specific word) on both sides, so
    "Wageningen University and Research Centre" stays whole.
    """
    for match in _CONJUNCTION_RE.finditer(text):
        left, right = text[:match.start()], _LEADING_RE.sub("", text[match.end():])
        if _classify(left) not in (STRONG, WEAK):
            if _DIGIT_RE.search(left) and _classify(right) in (STRONG, WEAK):
                return _split_conjunction(right)  # "Iowa 52242 and the Iowa City VA Health Care System"
            continue
        if _classify(right) in (STRONG, WEAK):
            return [left, *_split_conjunction(right)]
        right_words = _WORD_RE.findall(fold(right))
        if _classify(right) == UNIT:  # "Boston Children's Hospital and Department of Pediatrics, ..."
            return [left, right]
        if _JOB_WORDS.intersection(right_words) and not any(map(_token_kind, right_words)):
            return [left]
    return [text]


def _split_acronym(text: str) -> list[str]:
    """Split "CSIC-Universidad de Sevilla" into the acronym and the organisation it is joined
    to; "CSIR-Central Drug Research Institute" (an institute of CSIR) stays one name."""
    joined = _JOINED_ACRONYM_RE.match(text)
    if joined and (_is_known(joined[1]) or joined[1].lower() in _vocabulary().bodies) \
            and _classify(joined[2]) == STRONG:
        return [joined[1], joined[2]]
    return [text]


def _is_known(text: str) -> bool:
    """Whether the shipped tables name an organisation so: an acronym ("CAS", "LMU Munich"),
    a native name ("Consejo Superior de Investigaciones Científicas"), a local form ("CHU de
    Dijon", "Zhongguo Kexueyuan")."""
    from search.canonical import is_known  # it reads this module's comparable(): imported late

    return is_known(text)


def _parts(affiliation: str) -> list[_Part]:
    """The classified comma parts of one affiliation."""
    raw_parts: list[str] = []
    for raw in _join_acronym_parts(_split_commas(affiliation)):
        if _COMPANY_ONLY_RE.fullmatch(raw.strip()) and raw_parts:
            raw_parts[-1] += " " + raw.strip()  # "Fuso Pharmaceutical Industries, Ltd."
        else:
            raw_parts.append(raw)
    parts = []
    for raw in raw_parts:
        texts = [piece for text in _split_conjunction(_normalise(_drop_parentheses(raw)))
                 for piece in map(_normalise, _split_acronym(text))]
        pieces = [_Part(text, STRONG if _is_known(text) else _classify(text)) for text in texts if text]
        for before, piece in zip(pieces, pieces[1:]):
            # "Hospital X and Department of Y, School Z": the unit is of the organisation that
            # follows, not of the hospital; after an institute it is a sibling unit.
            piece.starts_block = piece.kind == UNIT and before.kind == STRONG
        if len(pieces) > 1 and any(piece.kind == STRONG for piece in pieces):
            for piece in pieces:  # names joined by "and" are peers, not units of each other
                piece.kind = STRONG if piece.kind == WEAK else piece.kind
        joined = _AND_RE.match(raw)
        if pieces and joined:
            pieces[0].starts_block = bool(joined[1])
            if parts and parts[-1].kind == STRONG and pieces[0].kind == WEAK:
                pieces[0].kind = STRONG  # "X University Hospital, and Y Institutet": peers again
        parts.extend(pieces)
    return parts


def _blocks(parts: list[_Part]) -> list[list[_Part]]:
    """Group parts into single affiliations; an address or postcode ends one."""
    blocks: list[list[_Part]] = [[]]
    for part in parts:
        if part.starts_block and blocks[-1]:
            blocks.append([])
        blocks[-1].append(part)
        if part.kind not in (STRONG, BODY) and _DIGIT_RE.search(part.text):
            blocks.append([])
    return [block for block in blocks if block]


def _is_place(text: str, organisation: str) -> bool:
    """Whether ``text`` can be the campus or city that qualifies ``organisation``."""
    words = text.split()
    return (0 < len(words) <= 3 and not _DIGIT_RE.search(text)
            and all(w[0].isupper() or w in _SMALL for w in words)
            and not (len(text) == 2 and text.isupper())
            and fold(text) not in _COUNTRY_WORDS and fold(text) not in fold(organisation))


def _display(text: str) -> str:
    """The canonical display form of an organisation part."""
    vocabulary = _vocabulary()
    bare = vocabulary.company.sub("", text)
    form = _WORD_RE.findall(fold(text[len(bare):]))
    # "Moorfields Eye Hospital NHS Foundation Trust" is the hospital; in "Royal Wolverhampton
    # NHS Trust" the trust is the organisation, so its form stays.
    if _classify(bare) == STRONG or STRONG not in map(_token_kind, form):
        text = bare
    tokens = text.split()
    for index, token in enumerate(tokens[:-1]):
        following, rest = tokens[index + 1], " ".join(tokens[index + 1:])
        if (_token_kind(fold(token)) in (WEAK, UNIT) and following[0].isupper()
                and _token_kind(fold(following)) is None and fold(following) not in _GENERIC
                and _classify(rest) == STRONG):
            text = rest  # "Pharmacy College Hail University": a unit glued to its university
            break
    text = _DASH_ACRONYM_RE.sub("", text)
    school = _SCHOOL_OF_UNIVERSITY_RE.match(text)
    if school and _is_specific(_WORD_RE.findall(fold(school["org"]))):
        text = school["org"]
    else:
        text = _known_owner(text)
    tail = _UNIVERSITY_TAIL_RE.match(text)
    # A named school ("Miller School of Medicine") but not a campus ("California San Diego").
    if tail and _is_specific(_WORD_RE.findall(fold(tail["org"]))) \
            and not (tail["named"] and vocabulary.system.match(tail["org"])):
        text = tail["org"]
    campus = vocabulary.system_campus.match(text)
    if campus and _classify(campus[2]) == OTHER:
        text = f"{campus[1]}, {campus[2]}"
    return _TRAILING_RE.sub("", _POSTCODE_END_RE.sub("", text))


def _known_owner(text: str) -> str:
    """The organisation a school is "at" or "of" when the tables know it by that name, else
    ``text``: "David Geffen School of Medicine at UCLA" -> "UCLA"."""
    word = _SCHOOL_WORD_RE.search(text)
    for joint in _OF_AT_RE.finditer(text, word.end()) if word else ():
        if _is_known(text[joint.end():]):
            return text[joint.end():]
    return text


def _block_organisations(block: list[_Part]) -> list[str]:
    """The organisations of one block: its strong ones, else its outermost weak one."""
    chosen: list[tuple[int, str]] = []
    for index, part in enumerate(block):
        following = block[index + 1] if index + 1 < len(block) else None
        place = following.text if following and following.kind == OTHER \
            and _is_place(following.text, part.text) else ""
        if part.kind == BODY:
            chosen.append((index, _vocabulary().body.search(part.text)[1].upper()))
        elif part.kind == STRONG:
            name = _display(part.text)
            chosen.append((index, f"{name}, {place}" if place and _vocabulary().system.fullmatch(part.text)
                           else name))
        elif part.kind == GENERIC and place:  # "University Hospital, Zurich"
            chosen.append((index, f"{_display(part.text)}, {place}"))
    if not any(block[index].kind in (STRONG, GENERIC) for index, _ in chosen):
        weak = [index for index, part in enumerate(block) if part.kind == WEAK]
        chosen += [(weak[-1], _display(block[weak[-1]].text))] if weak else []
    return [name for _, name in sorted(chosen)]


def _affiliations(text: str) -> list[str]:
    """``text`` split into single affiliations, without e-mail addresses."""
    pieces = _AFFILIATION_SEPARATOR_RE.split(strip_emails(text))
    return [_SPACE_COMMA_RE.sub(",", piece) for piece in pieces if piece.strip()]


def extract(affiliation: str) -> list[str]:
    """The organizations an affiliation string names, in a canonical display form.

    :param affiliation: free text, possibly several affiliations joined by ``;`` or
        newlines.
    :returns: each organisation once (by :func:`comparable`), in order of first
        appearance; ``[]`` when none is named.
    """
    found: dict[str, str] = {}
    for single in _affiliations(affiliation or ""):
        parts = _parts(single)
        names = [name for block in _blocks(parts) for name in _block_organisations(block)]
        if not names:  # some affiliations give only an acronym ("..., PGIMER, Chandigarh")
            names = [part.text for part in parts if part.kind == ACRONYM][:1]
        for name in names:
            if comparable(name):
                found.setdefault(comparable(name), name)
    return list(found.values())
