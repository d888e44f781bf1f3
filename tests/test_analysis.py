"""Tests of search.analysis: folding, stop words, stemming by locale, the packed
multi-locale field value and its analyzer inside a real Whoosh index."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.filestore import RamStorage
from whoosh.highlight import HtmlFormatter, WholeFragmenter, highlight
from whoosh.qparser import QueryParser

from search import analysis
from search.analysis import (
    POSITION_GAP,
    LocalizedAnalyzer,
    analyzer_for_locale,
    decode_localized,
    encode_localized,
    language_of,
    name_analyzer,
    spelling_words,
    strip_markers,
)
from search.ingest import read_file
from search.records import Article

# Persian words written with Arabic yeh/kaf, and the same words in Persian letters.
ARABIC_LETTERS = "يكي كتاب پزشكي موسى"
PERSIAN_LETTERS = "یکی کتاب پزشکی موسی"


SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def texts(analyzer, value, **kwargs):
    return [t.text for t in analyzer(value, **kwargs)]


def test_english_stemming():
    assert texts(analyzer_for_locale("en_US"), "cells Running") == ["cell", "run"]


def test_stop_words_removed():
    assert texts(analyzer_for_locale("en"), "The cells of the liver") == ["cell", "liver"]


def test_single_characters_are_kept():
    # Whoosh's default minsize=2 would lose the 6 of IL-6 and the 2 of "type 2".
    assert texts(analyzer_for_locale("en"), "IL-6 in type 2 diabetes") == [
        "il", "6", "type", "2", "diabet"]


def test_tokens_keep_dotted_numbers():
    assert texts(name_analyzer(), "pi is 3.14, U.S.A") == ["pi", "is", "3.14", "u.s.a"]


@pytest.mark.parametrize("locale", [None, "", "en", "en_US", "en-GB", "eng"])
def test_missing_or_english_locale_is_english(locale):
    assert texts(analyzer_for_locale(locale), "the cells") == ["cell"]


@pytest.mark.parametrize("locale, language", [
    ("en_US", "en"), ("fr_CA", "fr"), ("pt-BR", "pt"), ("fa_IR", "fa"), ("ar", "ar"),
    ("fre", "fr"), ("per", "fa"), ("nb_NO", "no"), (None, "en"), ("", "en"),
])
def test_language_of(locale, language):
    assert language_of(locale) == language


def test_accent_folding():
    assert texts(analyzer_for_locale("en"), "Café Müller") == ["cafe", "muller"]
    assert texts(name_analyzer(), "Café Müller Straße naïve") == [
        "cafe", "muller", "strasse", "naive"]
    # A decomposed accent (e + U+0301) is part of the word, then folded away.
    assert texts(name_analyzer(), "Cafe\u0301") == ["cafe"]


def test_cyrillic_short_i_is_a_letter_not_an_accent():
    assert texts(name_analyzer(), "Новый ёж") == ["новый", "еж"]


def test_persian_yeh_and_kaf_unified():
    for analyzer in (analyzer_for_locale("fa_IR"), name_analyzer(), analyzer_for_locale("en")):
        assert texts(analyzer, ARABIC_LETTERS) == texts(analyzer, PERSIAN_LETTERS)
    assert texts(name_analyzer(), ARABIC_LETTERS) == PERSIAN_LETTERS.split()


def test_arabic_diacritics_and_tatweel_removed():
    ana = analyzer_for_locale("fa")
    assert texts(ana, "كِتَابٌ") == ["کتاب"]
    assert texts(ana, "کتـــاب") == ["کتاب"]
    assert texts(ana, "هٰذا") == ["هذا"]


def test_zwnj_joins_one_word():
    assert texts(name_analyzer(), "می\u200cخواهم کتاب\u200cهای") == ["میخواهم", "کتابهای"]


def test_persian_and_arabic_indic_digits_folded():
    assert texts(name_analyzer(), "۱۳۹۹ ٢٠٢٤ IL-۶") == ["1399", "2024", "il", "6"]


def test_alef_variants_and_heh_with_yeh_folded():
    assert texts(name_analyzer(), "أحمد إيران آب خانۀ") == ["احمد", "ایران", "اب", "خانه"]


def test_arabic_presentation_forms_folded():
    # Isolated-form kaf + alef + feh (as text extracted from PDFs often is).
    assert texts(name_analyzer(), "\ufed9\ufe8d\ufed1") == ["کاف"]


def test_french_locale_uses_french_stemmer():
    assert texts(analyzer_for_locale("fr_CA"), "Les cellules du foie") == [
        "le", "cellul", "foi"]


def test_french_piece_also_emits_query_form():
    value = encode_localized([("fr_CA", "cellules du foie")])
    # "cellules" stems alike in both languages; "du" is a French stop word only;
    # "foie" is "foi" in French and stays "foie" for an English-analyzed query.
    assert texts(LocalizedAnalyzer(), value, mode="index") == ["cellul", "du", "foi", "foie"]


def test_query_form_shares_the_position():
    value = encode_localized([("fr", "foie gras")])
    tokens = [(t.text, t.pos) for t in LocalizedAnalyzer()(value, positions=True)]
    assert tokens == [("foi", 0), ("foie", 0), ("gras", 1)]


def test_persian_plural_stemmed_in_its_locale_and_for_the_query():
    assert texts(analyzer_for_locale("fa_IR"), "کتاب‌ها cells") == ["کتاب", "cells"]
    value = encode_localized([("fa_IR", "کتاب‌ها cells")])
    assert texts(LocalizedAnalyzer(), value) == ["کتاب", "cells", "cell"]


def test_stemmers_only_touch_their_own_script():
    assert texts(analyzer_for_locale("en"), "клетки پزشکی") == ["клетки", "پزشکی"]
    assert texts(analyzer_for_locale("ru"), "клетки cells") == ["клетк", "cells"]
    assert texts(analyzer_for_locale("ar"), "المسلمين cells") == ["مسلم", "cells"]


def test_arabic_piece_also_emits_normalised_unstemmed_form():
    value = encode_localized([("ar", "المسلمين")])
    # The query form: the Arabic article dropped, as for a query (see test_persian.py).
    assert texts(LocalizedAnalyzer(), value) == ["مسلم", "مسلمین"]


def test_query_mode_applies_only_persian_rules_to_arabic_script():
    query = "Cells of the المسلمين كتاب"
    assert texts(LocalizedAnalyzer(), query, mode="query") == ["cell", "مسلمین", "کتاب"]


def test_stemming_is_cached():
    stem = analysis._stemmer("en")
    stem("proliferating")
    hits = stem.cache_info().hits
    for _ in range(3):
        assert stem("proliferating") == "prolifer"
    assert stem.cache_info().hits == hits + 3
    assert analysis._stemmer("fa") is analysis.persian_stem


def test_encode_decode_round_trip():
    parts = [("en_US", "Liver cells."), (None, "No locale"), ("fa_IR", "کتاب\u200cها")]
    value = encode_localized(parts + [("fr_CA", ""), ("de", "  ")])
    assert decode_localized(value) == parts
    assert "\x1e" in value and "\x1f" in value


def test_decode_without_markers():
    assert decode_localized("plain text") == [(None, "plain text")]
    assert decode_localized("") == [(None, "")]


def test_encode_cleans_marker_characters():
    value = encode_localized([("en", "a\x1eb\x1fc")])
    assert decode_localized(value) == [("en", "a b c")]


def test_strip_markers():
    value = encode_localized([("en_US", "Liver cells."), ("fa_IR", "کتاب")])
    assert strip_markers(value) == "Liver cells. کتاب"
    # A highlight fragment may cut a marker in two.
    assert strip_markers("US\x1fLiver cells. \x1efa_") == "Liver cells."


def test_positions_gap_between_pieces_and_offsets_in_encoded_value():
    value = encode_localized([("en_US", "liver cells"), ("fa_IR", "کتاب")])
    tokens = [(t.text, t.pos, t.startchar, t.endchar)
              for t in LocalizedAnalyzer()(value, positions=True, chars=True, mode="index")]
    assert [t[:2] for t in tokens] == [("liver", 0), ("cell", 1), ("کتاب", 2 + POSITION_GAP)]
    assert [value[start:end] for _, _, start, end in tokens] == ["liver", "cells", "کتاب"]


def test_removestops_false_keeps_stopped_tokens():
    tokens = [(t.text, t.stopped)
              for t in LocalizedAnalyzer()("the cells", removestops=False, mode="query")]
    assert tokens == [("the", True), ("cell", False)]


def test_no_morph_skips_stemming():
    value = encode_localized([("fr", "cellules")])
    assert texts(LocalizedAnalyzer(), value, no_morph=True) == ["cellules"]


def test_analyzers_pickle_and_compare():
    for analyzer in (LocalizedAnalyzer(), analyzer_for_locale("fr_CA"), name_analyzer()):
        copy = pickle.loads(pickle.dumps(analyzer))
        assert copy == analyzer
        assert texts(copy, "Les cellules") == texts(analyzer, "Les cellules")
    assert analyzer_for_locale("fr") != analyzer_for_locale("en")
    assert LocalizedAnalyzer() != name_analyzer()


@pytest.fixture
def index():
    schema = Schema(id=ID(stored=True),
                    abstract=TEXT(analyzer=LocalizedAnalyzer(), phrase=True, stored=True))
    storage = RamStorage()
    ix = storage.create_index(schema)
    writer = ix.writer()
    writer.add_document(id="1", abstract=encode_localized([
        ("en_US", "Liver cells were studied."),
        ("fa_IR", "کتاب\u200cهای پزشکی یکی"),
    ]))
    writer.add_document(id="2", abstract=encode_localized([("fr_CA", "Les cellules du foie.")]))
    writer.commit()
    # Reopening reads the schema back from its pickle, as a fresh process would.
    return storage.open_index()


@pytest.mark.parametrize("query, ids", [
    ("cells", ["1"]),
    ("Cell", ["1"]),
    ("cellules", ["2"]),
    ("cellule", ["2"]),  # English "cellul" meets the French stem of "cellules"
    ('"liver cells"', ["1"]),
    ("كتاب\u200cهاي", ["1"]),  # Arabic yeh
    ("پزشكي يكي", ["1"]),  # Arabic kaf and yeh
    ("foie", ["2"]),
    ('"cellules du foie"', ["2"]),
    ('"studied کتابهای"', []),  # a phrase never spans two pieces
])
def test_whoosh_end_to_end(index, query, ids):
    with index.searcher() as searcher:
        parsed = QueryParser("abstract", index.schema).parse(query)
        assert sorted(hit["id"] for hit in searcher.search(parsed)) == ids


def test_schema_pickles(index):
    schema = pickle.loads(pickle.dumps(index.schema))
    assert schema == index.schema
    assert schema["abstract"].analyzer == LocalizedAnalyzer()


def test_highlight_function_marks_stemmed_match():
    value = encode_localized([("en_US", "Liver cells divide.")])
    output = highlight(value, {"cell"}, LocalizedAnalyzer(), WholeFragmenter(), HtmlFormatter())
    assert '<strong class="match term0">cells</strong>' in output
    assert strip_markers(output) == 'Liver <strong class="match term0">cells</strong> divide.'


def test_results_highlights(index):
    with index.searcher() as searcher:
        parsed = QueryParser("abstract", index.schema).parse("cells")
        hit = [h for h in searcher.search(parsed) if h["id"] == "1"][0]
        assert '<b class="match term0">cells</b>' in hit.highlights("abstract")


@pytest.mark.parametrize("value", [
    encode_localized([("en", "The cells of IL-6 mice, 3.14 times; no p-value.")]),
    encode_localized([("fr_CA", "Les cellules et la thérapie des souris"), ("en", "The cells and the mice")]),
    encode_localized([("fa", f"{ARABIC_LETTERS} و {PERSIAN_LETTERS}")]),
    "no markers at all, The Words",
])
def test_spelling_words_are_the_unstemmed_words_the_analyzer_gives(value):
    assert spelling_words(value) == set(texts(LocalizedAnalyzer(), value, no_morph=True))


def test_spelling_words_of_every_sample_article_match_the_analyzer():
    articles = [r for path in sorted(SAMPLE.rglob("*.xml*")) for r in read_file(path) if isinstance(r, Article)]
    assert len(articles) > 600
    for article in articles:
        value = encode_localized((t.locale, t.text) for t in article.titles + article.abstracts)
        assert spelling_words(value) == set(texts(LocalizedAnalyzer(), value, no_morph=True)), article.id
