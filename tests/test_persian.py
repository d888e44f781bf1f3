"""Persian as its readers type it (issue 10, part 6).

A word is found by its bare form whatever suffix it carries in the text (joined by a
zero-width non-joiner, by nothing, or written apart), typed with Persian or Arabic yeh
and kaf; Arabic loans are found with or without their article.  Words that only look
suffixed keep their meaning apart ("بیماری" disease is not "بیمار" patient).
"""

from __future__ import annotations

import pytest
from whoosh.filedb.filestore import RamStorage
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import QueryParser

from search.analysis import LocalizedAnalyzer, encode_localized, persian_stem

ZWNJ = "\u200c"

# Sentences such as Persian medical abstracts hold, one article each.
ARTICLES = {
    "hospitals": ("fa_IR", f"بررسی عفونت در بیمارستان{ZWNJ}های آموزشی تهران و مقایسه با بیمارستان{ZWNJ}ها"
                           " ی خصوصی"),
    "patients": ("fa_IR", f"کیفیت زندگی بیماران مبتلا به دیابت و خانواده{ZWNJ}هایشان"),
    "disease": ("fa_IR", "شیوع بیماری قلبی در کودکان"),
    "inflammation": ("fa_IR", "نقش التهاب در بیماری عروق کرونر"),
    "studies": ("fa_IR", f"مرور تحقیقات و مقاله{ZWNJ}های بهترین مراکز"),
    "arabic": ("ar", "دور المستشفى في علاج المرضى"),
    "no-locale": (None, "بیمارستانهای صحرایی"),  # joined without ZWNJ, text without a locale
}


@pytest.fixture(scope="module")
def searcher():
    schema = Schema(id=ID(stored=True), abstract=TEXT(analyzer=LocalizedAnalyzer(), phrase=True))
    index = RamStorage().create_index(schema)
    with index.writer() as writer:
        for key, (locale, text) in ARTICLES.items():
            writer.add_document(id=key, abstract=encode_localized([(locale, text)]))
    with index.searcher() as opened:
        yield opened


def found(searcher, query: str) -> set[str]:
    parsed = QueryParser("abstract", searcher.schema).parse(query)
    return {hit["id"] for hit in searcher.search(parsed, limit=None)}


@pytest.mark.parametrize("query, expected", [
    ("بیمارستان", {"hospitals", "no-locale"}),  # the bare word finds "بیمارستان‌ها" and "بیمارستان‌های"
    ("بيمارستان", {"hospitals", "no-locale"}),  # typed with Arabic yeh
    (f"بیمارستان{ZWNJ}ها", {"hospitals", "no-locale"}),  # the plural finds the plural, joined or not
    ("بیمارستانهای", {"hospitals", "no-locale"}),
    ("بیمار", {"patients"}),  # "بیماران" patients; not "بیماری" disease
    ("بیماری", {"disease", "inflammation"}),
    ("كودك", {"disease"}),  # Arabic kaf and yeh for "کودکان"
    ("خانواده", {"patients"}),  # "خانواده‌هایشان": plural and possessive
    ("مقاله", {"studies"}),
    ("تحقیق", {"studies"}),  # the Arabic plural "تحقیقات"
    ("بهترین", {"studies"}),  # too short a stem to strip: found as written
    ("التهاب", {"inflammation"}),
    ("مستشفى", {"arabic"}),  # the Arabic article: "المستشفى" found by the bare word
    ("المستشفى", {"arabic"}),
    ('"بیمارستان آموزشی"', {"hospitals"}),  # a phrase across a ZWNJ-suffixed word
])
def test_persian_words_are_found_as_readers_type_them(searcher, query: str, expected: set[str]) -> None:
    assert found(searcher, query) == expected


@pytest.mark.parametrize("word, stem", [
    ("بیمارستانهای", "بیمارست"), ("بیمارستان", "بیمارست"), ("بیماران", "بیمار"), ("بیماری", "بیماری"),
    ("تنها", "تنها"),  # "alone": "ها" here is no plural (too little would be left)
    ("الگو", "الگو"), ("الکل", "الکل"),  # Persian words that begin like the Arabic article
    ("cells", "cells"),  # other scripts untouched
])
def test_persian_stem(word: str, stem: str) -> None:
    assert persian_stem(word) == stem
