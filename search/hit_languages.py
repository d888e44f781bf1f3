"""The languages of a results page's titles and snippets, from each record's locales,
so a page can mark them (``lang``, ``dir``) for screen readers, fonts and right-to-left text."""

from __future__ import annotations

import json
from dataclasses import dataclass

from search.engine import Snapshot
from search.languages import direction, language_tag


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


def hit_languages(snapshot: Snapshot, ids: list[str]) -> dict[str, HitLanguages]:
    """Each article's :class:`HitLanguages`, by id (an unknown id is left out)."""
    languages = {}
    with snapshot.reading() as searcher:
        for article_id in ids:
            stored = searcher.document(id=article_id)
            if stored:
                languages[article_id] = _languages(json.loads(stored["record"]))
    return languages


def _languages(record: dict) -> HitLanguages:
    titles = record.get("titles") or []
    locales = {a.get("locale") for a in record.get("abstracts") or []}
    return HitLanguages(
        title=TextLanguage.of(titles[0].get("locale") if titles else None),
        abstract=TextLanguage.of(locales.pop() if len(locales) == 1 else None),
    )
