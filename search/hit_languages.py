"""The languages of a results page's titles and snippets, from each record's locales,
so a page can mark them (``lang``, ``dir``) for screen readers, fonts and right-to-left text."""

from __future__ import annotations

from dataclasses import dataclass

from search.languages import direction, language_tag
from search.query import Hit


@dataclass(frozen=True)
class TextLanguage:
    """A text's ``lang`` (None when unknown) and ``dir`` (``rtl`` or ``auto``)."""

    lang: str | None = None
    dir: str = "auto"

    @classmethod
    def of(cls, locale: str | None) -> "TextLanguage":
        return cls(language_tag(locale), direction(locale))


@dataclass(frozen=True)
class HitLanguages:
    """The language of a hit's title and of its snippet."""

    title: TextLanguage = TextLanguage()
    #: Known when every abstract of the article has the same locale (a snippet may join
    #: pieces of several).
    abstract: TextLanguage = TextLanguage()


def hit_languages(hits: list[Hit]) -> dict[str, HitLanguages]:
    """Each hit's :class:`HitLanguages`, by article id."""
    return {hit.id: _languages(hit) for hit in hits}


def _languages(hit: Hit) -> HitLanguages:
    locales = {a["locale"] for a in hit.abstracts}
    return HitLanguages(
        title=TextLanguage.of(hit.title_locale),
        abstract=TextLanguage.of(locales.pop() if len(locales) == 1 else None),
    )
