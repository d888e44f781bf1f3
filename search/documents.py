"""Turning an :class:`~search.records.Article` into the document the index stores."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from search import institutions
from search.canonical import canonical
from search.institution_facet import facet_term
from search.analysis import encode_localized, language_of
from search.names import author_keys
from search.records import Article, Author, Text
from search.schema import KEY_BYTES, VALUE_SEPARATOR


@lru_cache(maxsize=1 << 16)
def _institutions_of(affiliation: str) -> tuple[str, ...]:
    # Co-authors, and one author across papers, repeat the same affiliation string.
    return tuple(institutions.extract(affiliation))


def author_institutions(author: Author) -> list[str]:
    """The organizations named by an author's affiliations, each once, in order."""
    return list(dict.fromkeys(name for a in author.affiliations for name in _institutions_of(a.text)))


def to_document(article: Article) -> dict[str, Any]:
    """The field values of one article, ready for ``writer.add_document``.

    :param article: a usable article (see :meth:`Article.is_usable`).
    """
    per_author = [author_institutions(author) for author in article.authors]
    names = list(dict.fromkeys(name for names in per_author for name in names))
    affiliations = [a for author in article.authors for a in author.affiliations]
    record = article.to_dict()
    record["institutions"] = names
    for stored_author, author_names in zip(record["authors"], per_author):
        stored_author["institutions"] = author_names
    document: dict[str, Any] = {
        "id": article.id,
        "source": article.source,
        "title": _localized(article.titles),
        "abstract": _localized(article.abstracts),
        "authors": "\n".join(a.name for a in article.authors),
        # Surname-and-initials keys of every author ("smith js"), so "Smith J" finds John Smith.
        "author_keys": "\n".join(dict.fromkeys(key for a in article.authors
                                               for key in author_keys(a.last_name, a.first_name))),
        "affiliations": _localized(_unique(affiliations)),
        "journal": article.journal,
        # The names as written and in English, so `institution:` finds either form.
        "institution": "\n".join(dict.fromkeys([*names, *map(canonical, names)])),
        # The names as extracted, with their affiliation's ROR id: the facet's values are
        # derived from them with the alias file when the arrays are made (search.institution_facet).
        "institution_facet": VALUE_SEPARATOR.join(_facet_terms(article)),
        "journal_facet": article.journal,
        "record": json.dumps(record, ensure_ascii=False, separators=(",", ":")),
        "meaning_key": meaning_key(meaning_text(article)),
    }
    if article.published:
        document["year"] = article.published.year
        document["date"] = article.published.sort_key()
    # Whoosh rejects empty strings for some field types; an absent field is simply unset.
    return {name: value for name, value in document.items() if value != ""}


def _facet_terms(article: Article) -> list[str]:
    """The article's facet terms: each name an affiliation gives, with the affiliation's ROR
    id when the affiliation names that one organisation only."""
    terms = []
    for author in article.authors:
        for affiliation in author.affiliations:
            names = _institutions_of(affiliation.text)
            terms += [facet_term(name, affiliation.ror_id if len(names) == 1 else "") for name in names]
    return list(dict.fromkeys(terms))


def meaning_text(article: Article) -> str:
    """The text the article's meaning vector is computed from (:mod:`search.semantic`).

    Title and abstract; only the English ones when the article has several languages,
    since the model reads English (a locale-less text counts as English).
    """
    texts = article.titles + article.abstracts
    english = [t for t in texts if language_of(t.locale) == "en"]
    return "\n".join(t.text for t in english or texts)


def meaning_key(text: str) -> bytes:
    """A short fingerprint of the text a meaning vector is computed from: equal keys, equal
    vectors, so a rebuild carries an unchanged article's vector over (:mod:`search.meaning`)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=KEY_BYTES).digest()


def _localized(texts: list[Text]) -> str:
    return encode_localized((t.locale, t.text) for t in texts)


def _unique(texts: list[Text]) -> list[Text]:
    """Co-authors often share an affiliation; index its words once per article."""
    return list(dict.fromkeys(texts))
