"""Language codes: the two-letter form every other module works with."""

from __future__ import annotations

# ISO 639-2 codes as MEDLINE and PubMed write them (bibliographic and terminology
# forms), and Norwegian's variants, to ISO 639-1.
_TWO_LETTER = {
    "eng": "en", "fre": "fr", "fra": "fr", "ger": "de", "deu": "de", "spa": "es",
    "ita": "it", "por": "pt", "dut": "nl", "nld": "nl", "swe": "sv", "dan": "da",
    "nor": "no", "nob": "no", "nno": "no", "nb": "no", "nn": "no", "fin": "fi",
    "hun": "hu", "rum": "ro", "ron": "ro", "rus": "ru", "pol": "pl", "tur": "tr",
    "per": "fa", "fas": "fa", "ara": "ar", "chi": "zh", "zho": "zh", "jpn": "ja",
    "kor": "ko", "cze": "cs", "ces": "cs", "gre": "el", "ell": "el", "heb": "he",
    "ukr": "uk", "hrv": "hr", "slv": "sl", "srp": "sr",
}


def two_letter(code: str) -> str:
    """``eng`` -> ``en``, ``nob`` -> ``no``; any other code lower-cased as it is."""
    lowered = code.strip().lower()
    return _TWO_LETTER.get(lowered, lowered)


#: Languages written right to left (two-letter codes).
_RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur", "ps", "yi", "ku", "sd", "ug", "dv"})


def language_tag(locale: str | None) -> str | None:
    """A record's locale as an HTML ``lang`` value: ``en_US`` -> ``en-US``, ``per`` -> ``fa``;
    None when unknown."""
    if not locale or not locale.strip():
        return None
    language, _, region = locale.strip().replace("-", "_").partition("_")
    return two_letter(language) + ("-" + region if region else "")


def direction(locale: str | None) -> str:
    """``rtl`` for a language written right to left, else ``auto`` (the browser looks at
    the text: right for an unknown locale's Persian, left for English)."""
    tag = language_tag(locale)
    return "rtl" if tag and tag.split("-")[0] in _RIGHT_TO_LEFT else "auto"
