"""Text analysis: Whoosh analyzers built on NLTK's Snowball stemmers.

Every chain folds words the same way (case, Latin accents, Persian/Arabic letter
variants and digits) so a word matches however it was typed; stop words and stems
depend on the language of the text.  A searchable field holds all the locales of a
title or abstract packed into one string (:func:`encode_localized`), and
:class:`LocalizedAnalyzer` analyses each piece in its own language.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator

import regex
from whoosh.analysis import Analyzer, Filter, RegexTokenizer, StopFilter, Token
from whoosh.lang.stopwords import stoplists

from search.languages import two_letter

#: The language queries are analysed in; None/empty locales mean this language too.
DEFAULT_LANGUAGE: str = "en"

#: Positions skipped between two pieces of a field, so a phrase never spans them.
POSITION_GAP = 100

#: Markers around a piece's locale in an encoded field value (never in real text).
LOCALE_START = "\x1e"
LOCALE_END = "\x1f"

_CACHE_SIZE = 1 << 18

# The `regex` module's \w (unlike `re`'s) includes combining marks and ZWNJ/ZWJ, so
# "كَتَبَ", decomposed "é" and the Persian "کتاب‌ها" each stay one token.
_WORD = regex.compile(r"\w+(?:\.\w+)*")
# The same words in ASCII text, where the standard library's engine finds them several
# times faster (highlighting scans every word of a page's abstracts).
_ASCII_WORD = re.compile(r"\w+(?:\.\w+)*", re.ASCII)
_MARKER = re.compile(r"\x1e([^\x1e\x1f]*)\x1f")
# Also matches a marker cut in half by a highlight fragment's edges.
_ANY_MARKER = re.compile(r"\x1e[^\x1e\x1f]*(?:\x1f|\Z)|\A[^\x1e\x1f]*\x1f")
_ARABIC_CHAR = regex.compile(r"\p{Arabic}")

_ARABIC_FOLD: dict[int, str | None] = {
    0x064A: "\u06cc", 0x0649: "\u06cc",  # Arabic yeh, alef maksura -> Persian yeh
    0x0643: "\u06a9",  # Arabic kaf -> keheh
    0x0623: "\u0627", 0x0625: "\u0627", 0x0622: "\u0627", 0x0671: "\u0627",  # alef variants
    0x06C0: "\u0647",  # heh with yeh above (Persian ezafe) -> heh
    0x0640: None, 0x0670: None, 0x200C: None, 0x200D: None,  # tatweel, superscript alef, ZWNJ/ZWJ
    **{code: None for code in range(0x064B, 0x0660)},  # harakat and other diacritics
    **{0x06F0 + digit: str(digit) for digit in range(10)},  # Persian digits
    **{0x0660 + digit: str(digit) for digit in range(10)},  # Arabic-Indic digits
}
# NLTK's Arabic stemmer only knows the Arabic letters that folding replaced.
_PERSIAN_TO_ARABIC = {0x06CC: "\u064a", 0x06A9: "\u0643"}

_SNOWBALL = {
    "ar": "arabic", "da": "danish", "nl": "dutch", "en": "english", "fi": "finnish",
    "fr": "french", "de": "german", "hu": "hungarian", "it": "italian",
    "no": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian",
    "es": "spanish", "sv": "swedish",
}
# A stemmer only touches words of its own script (digits and dots allowed).
_LATIN_WORD = regex.compile(r"(?=.*\p{Latin})[\p{Latin}\d_.]+")
_SCRIPT_WORD = {
    "arabic": regex.compile(r"(?=.*\p{Arabic})[\p{Arabic}\d]+"),
    "russian": regex.compile(r"(?=.*\p{Cyrillic})[\p{Cyrillic}\d_.]+"),
}


def _is_accent(char: str) -> bool:
    """Whether ``char`` is in a combining-diacritics block (Latin, Greek, Cyrillic accents).

    Marks of other scripts (Indic vowel signs, kana voicing) are letters in their own
    right and are kept.
    """
    code = ord(char)
    return (0x0300 <= code <= 0x036F or 0x1AB0 <= code <= 0x1AFF
            or 0x1DC0 <= code <= 0x1DFF or 0x20D0 <= code <= 0x20FF
            or 0xFE20 <= code <= 0xFE2F)


def _fold_char(char: str) -> str | None:
    """The folded form of one (case folded) character; None deletes it."""
    code = ord(char)
    if code in _ARABIC_FOLD:
        return _ARABIC_FOLD[code]
    if 0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF:
        # Presentation forms (common in text extracted from PDFs) -> plain letters.
        return unicodedata.normalize("NFKC", char).translate(_ARABIC_FOLD) or None
    if char in "йЙ" or _ARABIC_CHAR.match(char):
        # й is a letter of its own, not an accented и; Arabic script is folded above only.
        return char
    decomposed = unicodedata.normalize("NFKD", char)
    stripped = "".join(part for part in decomposed if not _is_accent(part))
    return unicodedata.normalize("NFC", stripped) or None


class _FoldTable(dict):
    """A ``str.translate`` table that computes and remembers each character's fold."""

    def __missing__(self, code: int) -> str | None:
        value = self[code] = _fold_char(chr(code))
        return value


_FOLD_TABLE = _FoldTable()


@lru_cache(maxsize=_CACHE_SIZE)
def _fold(word: str) -> str:
    """Case, accent and Persian/Arabic folding of one token's text."""
    if word.isascii():
        return word.lower()
    return word.casefold().translate(_FOLD_TABLE)


def language_of(locale: str | None) -> str:
    """The language code of ``locale`` (``"fr_CA"`` -> ``"fr"``, ``"fre"`` -> ``"fr"``).

    :param locale: a locale or language code; None or empty means :data:`DEFAULT_LANGUAGE`.
    """
    for candidate in (locale, DEFAULT_LANGUAGE):
        code = re.split(r"[_\-.@]", candidate.strip(), maxsplit=1)[0].lower() if candidate else ""
        if code:
            return two_letter(code)
    return "en"


@lru_cache(maxsize=None)
def _stopwords(language: str) -> frozenset[str]:
    """Whoosh's stop words for ``language``, folded like the tokens they are compared to."""
    return frozenset(_fold(word) for word in stoplists.get(language, ()))


_STEMMERS: dict[str, Callable[[str], str]] = {}


def _stemmer(language: str) -> Callable[[str], str]:
    """The cached stem function for ``language``.

    Snowball's where it has one; in every language but Arabic, words in Arabic script
    go through :func:`persian_stem`, so a Persian word is stemmed alike in a Persian
    abstract, in text without a locale and in the (English-analysed) query.
    """
    if language not in _STEMMERS:
        name = _SNOWBALL.get(language)
        _STEMMERS[language] = persian_stem if name is None else _make_stemmer(name)
    return _STEMMERS[language]


# Persian endings, on folded words (ZWNJ removed, Persian yeh and kaf): plural "ها" with
# the ezafe, indefinite and possessive endings that follow it, and the superlative.
# Only these, and only where at least _PERSIAN_MIN_STEM letters stay: the endings
# hazm also strips ("ی", "تر", single-letter pronouns) are too often part of the word
# ("بیماری" disease is not "بیمار" patient, "فیلتر" is not "فیل").
_PERSIAN_ENDINGS = ("هایشان", "هایتان", "هایمان", "هایش", "هایت", "هایم", "هایی", "های", "ها", "ترین")
# Then the plurals of people and of Arabic loans: "بیماران" patients, "تحقیقات" studies.
# A word such as "بیمارستان" loses its "ان" too, alike in every form, so its forms still meet.
_PERSIAN_PLURALS = ("ان", "ات")
_PERSIAN_MIN_STEM = 3
# The Arabic article of loans ("التهاب", "المستشفی"), when at least 4 letters follow it:
# shorter Persian words begin with the same letters ("الگو", "الکل", "البته").
_ARABIC_ARTICLE = "ال"
_ARABIC_ARTICLE_MIN_REST = 4
_ARABIC_SCRIPT_WORD = regex.compile(r"\p{Arabic}+")


@lru_cache(maxsize=_CACHE_SIZE)
def persian_stem(word: str) -> str:
    """A folded word in Arabic script without the Persian endings and Arabic article a reader
    sees through ("بیمارستانهای" -> "بیمارست", like "بیمارستان"); other words as they are."""
    if not _ARABIC_SCRIPT_WORD.fullmatch(word):
        return word
    if word.startswith(_ARABIC_ARTICLE) and len(word) - len(_ARABIC_ARTICLE) >= _ARABIC_ARTICLE_MIN_REST:
        word = word[len(_ARABIC_ARTICLE):]
    for endings in (_PERSIAN_ENDINGS, _PERSIAN_PLURALS):
        for ending in endings:
            if word.endswith(ending) and len(word) - len(ending) >= _PERSIAN_MIN_STEM:
                word = word[: -len(ending)]
                break
    return word


def _make_stemmer(name: str) -> Callable[[str], str]:
    """A memoised stem function for NLTK's Snowball stemmer ``name``."""
    # Importing NLTK takes seconds (it pulls in scipy): only pay for it when stemming.
    from nltk.stem.snowball import SnowballStemmer

    stem = SnowballStemmer(name).stem
    own_script = _SCRIPT_WORD.get(name, _LATIN_WORD)
    arabic = name == "arabic"

    @lru_cache(maxsize=_CACHE_SIZE)
    def cached(word: str) -> str:
        if not own_script.fullmatch(word):
            return word if arabic else persian_stem(word)
        if arabic:
            return _fold(stem(word.translate(_PERSIAN_TO_ARABIC))) or word
        return stem(word) or word

    return cached


class WordTokenizer(RegexTokenizer):
    """Words of any script, digits and dotted runs ("3.14"); "IL-6" gives "IL", "6"."""

    def __init__(self) -> None:
        self.expression = _WORD
        self.gaps = False

    # The pattern is module state: keep it out of the schema Whoosh pickles.
    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()


_TOKENIZER = WordTokenizer()


class FoldFilter(Filter):
    """Case, accent (Latin script) and Persian/Arabic folding; drops tokens left empty."""

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = _fold(t.text)
            if t.text:
                yield t


class LocaleStopFilter(StopFilter):
    """Whoosh's stop filter with the (folded) stop list of one language; keeps 1-char words
    such as the "6" of "IL-6"."""

    def __init__(self, language: str) -> None:
        super().__init__(stoplist=_stopwords(language), minsize=1)
        self.language = language

    def __getstate__(self) -> dict[str, Any]:
        return {"language": self.language}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["language"])


class LocaleStemFilter(Filter):
    """Stemming for one language (see :func:`_stemmer`), applied to words of the script it knows."""

    is_morph = True

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        stem = _stemmer(self.language)
        for t in tokens:
            if not t.stopped:
                t.text = stem(t.text)
            yield t


@lru_cache(maxsize=None)
def _chain(language: str) -> Analyzer:
    """The analyzer of ``language``, shared by every call (analyzers keep no state)."""
    # Every language stems: without Snowball, Persian rules still apply to Arabic script.
    return WordTokenizer() | FoldFilter() | LocaleStopFilter(language) | LocaleStemFilter(language)


def analyzer_for_locale(locale: str | None) -> Analyzer:
    """Chain for text known to be in ``locale``: tokenizer | fold | stop | stem.

    :param locale: e.g. ``"en_US"``, ``"fa_IR"``, ``"de"``; None means :data:`DEFAULT_LANGUAGE`.
    """
    return _chain(language_of(locale))


def name_analyzer() -> Analyzer:
    """For author names and journal titles: tokenize and fold, no stop words, no stemming."""
    return WordTokenizer() | FoldFilter()


def _clean(text: str) -> str:
    """``text`` with the marker characters replaced by spaces."""
    return text.replace(LOCALE_START, " ").replace(LOCALE_END, " ")


def encode_localized(parts: Iterable[tuple[str | None, str]]) -> str:
    """Pack the (locale, text) pieces of one field into a single string.

    Each piece becomes ``LOCALE_START + locale + LOCALE_END + text``; empty texts are
    dropped and a None locale is stored as an empty one.
    """
    return "".join(
        f"{LOCALE_START}{_clean(locale or '').strip()}{LOCALE_END}{_clean(text)}"
        for locale, text in parts
        if text and not text.isspace()
    )


def _pieces(value: str) -> list[tuple[str | None, str, int]]:
    """The (locale, text, offset of text in ``value``) pieces of an encoded value."""
    markers = list(_MARKER.finditer(value))
    if not markers:
        return [(None, value, 0)]
    pieces: list[tuple[str | None, str, int]] = []
    if markers[0].start() > 0:
        pieces.append((None, value[:markers[0].start()], 0))
    for marker, following in zip(markers, markers[1:] + [None]):
        end = following.start() if following else len(value)
        pieces.append((marker.group(1) or None, value[marker.end():end], marker.end()))
    return pieces


def decode_localized(value: str) -> list[tuple[str | None, str]]:
    """Inverse of :func:`encode_localized`; a string with no markers is ``[(None, value)]``."""
    return [(locale, text) for locale, text, _ in _pieces(value)]


def strip_markers(text: str, separator: str = " ") -> str:
    """``text`` (an encoded value or a highlighted fragment of one) without its markers.

    :param separator: what replaces each marker between two pieces.
    """
    return _ANY_MARKER.sub(separator, text).strip()


def _form(word: str, stops: frozenset[str], stem: Callable[[str], str] | None) -> str | None:
    """``word`` (folded) as a chain with ``stops`` and ``stem`` indexes it; None if a stop word."""
    if word in stops:
        return None
    return stem(word) if stem is not None else word


def words_with_terms(value: str, starts: tuple[str, ...] | None = None) -> Iterator[tuple[int, int, tuple[str, ...]]]:
    """Words of an :func:`encode_localized` value with the terms the index holds for each:
    (start, end, terms), offsets into ``value``; a stop word has no terms.

    The same forms :class:`LocalizedAnalyzer` indexes (the word in its own language and
    in the query language), found with a regular expression and a cache of each word's
    terms rather than a token stream: highlighting a page of results needs no more.

    :param starts: when given, only words of ASCII text beginning with one of these
        (folded) strings, and every word of other text, are returned: a fast way to find
        the few words that can match a query's terms, which begin almost as the words do.
    """
    pattern = _starting(starts) if starts else None
    for locale, text, offset in _pieces(value):
        language = language_of(locale)
        ascii_text = text.isascii()
        scan = pattern if pattern is not None and ascii_text else _ASCII_WORD if ascii_text else _WORD
        for match in scan.finditer(text):
            yield offset + match.start(), offset + match.end(), _terms_of(match.group(), language)


@lru_cache(maxsize=1024)
def _starting(starts: tuple[str, ...]) -> re.Pattern[str]:
    """Whole ASCII words beginning with any of ``starts`` (longest first, so no word is cut)."""
    ordered = sorted(set(starts), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(map(re.escape, ordered)) + r")\w*(?:\.\w+)*(?!\w)",
                      re.ASCII | re.IGNORECASE)


@lru_cache(maxsize=_CACHE_SIZE)
def _terms_of(word: str, language: str) -> tuple[str, ...]:
    """The terms a word as written in ``language`` is indexed under (see :class:`LocalizedAnalyzer`)."""
    folded = _fold(word)
    if not folded:
        return ()
    query_language = language_of(None)
    own = _form(folded, _stopwords(language), _stemmer(language))
    alt = _form(folded, _stopwords(query_language), _stemmer(query_language)) if language != query_language else own
    return tuple(dict.fromkeys(t for t in (own, alt) if t))


def spelling_words(value: str) -> set[str]:
    """The words of an :func:`encode_localized` value as written (folded, not stemmed),
    stop words left out: the vocabulary "did you mean" draws on.

    The words :class:`LocalizedAnalyzer` gives with ``no_morph``, found with one regular
    expression per piece: the analyzer's token stream costs several times more, and a
    rebuild reads every article's words for this.
    """
    query_stops = _stopwords(language_of(None))
    words: set[str] = set()
    for locale, text, _ in _pieces(value):
        # A word is left out only when both its language and the query's call it a stop word.
        stops = _stopwords(language_of(locale)) & query_stops
        found = set(_ASCII_WORD.findall(text.lower()) if text.isascii() else map(_fold, _WORD.findall(text)))
        words |= found - stops
    words.discard("")
    return words


class LocalizedAnalyzer(Analyzer):
    """The analyzer of fields holding an :func:`encode_localized` value.

    Index mode analyses each piece in its locale's language and also emits, at the same
    position, the form the query chain (:data:`DEFAULT_LANGUAGE`) gives the same word when
    that differs, so a word typed as written in the article always finds it.  Positions
    advance with the words the query chain keeps, so a phrase typed as written matches.
    Query mode analyses every piece with the query chain.  Character offsets refer to the
    encoded string.  The analyzer holds no state, so it pickles and compares trivially.
    """

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "",
                 no_morph: bool = False, **kwargs: Any) -> Iterator[Token]:
        """Tokens of ``value``; keyword arguments as Whoosh's tokenizers take them.

        :param no_morph: skip stemming (Whoosh asks this for spelling words).
        """
        query_language = language_of(None)
        query_stops = _stopwords(query_language)
        query_stem = None if no_morph else _stemmer(query_language)
        pos = start_pos
        for locale, text, offset in _pieces(value):
            language = query_language if mode == "query" else language_of(locale)
            stops = _stopwords(language)
            stem = None if no_morph else _stemmer(language)
            dual = language != query_language
            for t in _TOKENIZER(text, positions=positions, chars=chars,
                                keeporiginal=keeporiginal, removestops=removestops,
                                start_char=start_char + offset, tokenize=tokenize,
                                mode=mode, **kwargs):
                word = _fold(t.text)
                if not word:
                    continue
                own = _form(word, stops, stem)
                alt = _form(word, query_stops, query_stem) if dual else own
                if positions:
                    t.pos = pos
                if own is None and alt is None:
                    if not removestops:
                        t.text, t.stopped = word, True
                        yield t
                    continue
                if alt is not None:  # only words a query can contain take up a position
                    pos += 1
                t.stopped = False
                t.text = own if own is not None else alt
                extra = None
                if own is not None and alt is not None and alt != own:
                    extra = t.copy()
                    extra.text = alt
                yield t
                if extra is not None:
                    yield extra
            pos += POSITION_GAP

    def has_morph(self) -> bool:
        return True

