"""Fuzzing the parsers (issue 10, part 2): whatever comes in, an answer or a clear refusal.

* ``read_file``/``read_stream``: arbitrary bytes, and well-formed but odd documents in each
  format, never raise: every item out is an Article or a Problem.
* The query syntax, ``SearchParams.from_args`` and the two search endpoints: any string and
  any mix of parameters give results or a 400 (``ParamError``), never anything else.

The budget is fixed and the runs deterministic (``derandomize``, no example database),
so CI runs the same examples every time: about 80 s here in all, besides the sample
index the web test shares (``pytest tests/test_fuzz.py --durations=0``).  An example that once failed is kept in
front of its test as an ``@example``.
"""

from __future__ import annotations

import gzip
import io
import tempfile
from pathlib import Path

from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from search.cleaning import clean_text
from search.ingest import MAX_TEXT, Problem, read_file, read_stream
from search.query import ParamError, SearchParams
from search.records import Article
from search.syntax import Clause, parse

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=1000,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
#: Drawing whole documents, and running whole searches, costs more per example.
DOCUMENTS = settings(FUZZ, max_examples=150)
WEB = settings(FUZZ, max_examples=300)

# --- the readers -------------------------------------------------------------------------


def check_records(records: list[Article | Problem]) -> None:
    """What every reader's output must be, whatever the input."""
    for record in records:
        assert isinstance(record, (Article, Problem)), record
        if isinstance(record, Article):
            assert record.is_usable()
            assert all(len(t.text) <= MAX_TEXT for t in record.titles + record.abstracts)
            assert record.id  # identity must be computable: reindex needs it
        else:
            assert record.reason and record.kind in ("error", "skipped")


@FUZZ
@given(st.binary(max_size=3000))
@example(b"\xff\xfe")  # a UTF-16 byte-order mark and nothing else
@example(b"<Articles><Article><title>x</title><web_url>http://[::1</web_url></Article></Articles>")
@example(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")  # a gzip header, no data
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    check_records(list(read_stream(io.BytesIO(data), "fuzz.xml")))


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from(["plain", "gzip", "gzip-cut"]), st.sampled_from([".xml", ".xml.gz"]))
def test_arbitrary_files_never_raise(data: bytes, packing: str, suffix: str) -> None:
    if packing != "plain":
        data = gzip.compress(data, mtime=0)
        data = data[: len(data) // 2] if packing == "gzip-cut" else data
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        check_records(list(read_file(path)))


# Well-formed documents of each format, made of its own element names and odd content.
FORMATS = {
    "Articles": "Article",
    "ArticleSet": "Article",
    "MedlineCitationSet": "MedlineCitation",
    "PubmedArticleSet": "PubmedArticle",
}
TAGS = ["title", "abstract", "ArticleTitle", "VernacularTitle", "Abstract", "AbstractText", "OtherAbstract",
        "AuthorList", "Author", "FirstName", "ForeName", "LastName", "CollectiveName", "MiddleName",
        "affiliation", "Affiliation", "AffiliationInfo", "Identifier", "Journal", "JournalTitle", "Title",
        "JournalIssue", "PubDate", "Year", "Month", "Day", "MedlineDate", "Season", "History", "Volume", "Issue",
        "web_url", "pdf_url", "ELocationID", "ArticleIdList", "ArticleId", "PMID", "Article", "MedlineCitation",
        "PubmedData", "Pagination", "MedlinePgn", "FirstPage", "LastPage", "Language", "Issn", "ISSN",
        "p", "i", "b", "br", "script", "style", "sup"]
ATTRIBUTES = ["locale", "Language", "Label", "EIdType", "IdType", "PubStatus", "Source", "JournalTitle"]
# Any character XML 1.0 allows, so lxml can write every document drawn.
XML_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\ufffe\uffff")
                   .filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20), max_size=40)
VALUES = st.one_of(XML_TEXT, st.sampled_from(["doi", "pubmed", "ROR", "received", "accepted", "en_US", "fa_IR",
                                              "per", "2020", "13", "Feb", "http://[::1", "https://x.org:99999/",
                                              "10.1/X", "   ", "&amp;", "<i>x</i>", "0"]))


@st.composite
def elements(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    element = etree.Element(draw(st.sampled_from(TAGS)))
    for name in draw(st.lists(st.sampled_from(ATTRIBUTES), max_size=2, unique=True)):
        element.set(name, draw(VALUES))
    element.text = draw(VALUES)
    if depth < 3:
        for child in draw(st.lists(elements(depth + 1), max_size=3)):
            child.tail = draw(st.sampled_from(["", " ", "\n", "tail text"]))
            element.append(child)
    return element


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    root_name = draw(st.sampled_from(sorted(FORMATS)))
    root = etree.Element(root_name)
    for _ in range(draw(st.integers(0, 3))):
        record = etree.SubElement(root, FORMATS[root_name])
        for child in draw(st.lists(elements(), max_size=6)):
            record.append(child)
    encoding = draw(st.sampled_from(["UTF-8", "UTF-16", "ISO-8859-1", "windows-1256", "ASCII"]))
    return etree.tostring(root, encoding=encoding, xml_declaration=True)


@DOCUMENTS
@given(documents())
def test_odd_documents_in_each_format_are_read_without_error(data: bytes) -> None:
    records = list(read_stream(io.BytesIO(data), "odd.xml"))
    check_records(records)
    # Well-formed input: no file is refused, no record fails to parse.
    assert not [r for r in records if isinstance(r, Problem) and r.kind == "error"], records


@DOCUMENTS
@given(documents(), st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(max_size=3)), min_size=1,
                             max_size=4))
def test_damaged_documents_never_raise(data: bytes, damage: list[tuple[float, bytes]]) -> None:
    """A document with a few bytes overwritten, cut out or put in: the ways a copy goes wrong."""
    for where, replacement in damage:
        at = int(where * len(data))
        data = data[:at] + replacement + data[at + len(replacement) % 2:]
    check_records(list(read_stream(io.BytesIO(data), "damaged.xml")))


@FUZZ
@given(st.text(max_size=300))
@example("<script>x</script")  # an unclosed element
@example("&#0;\x00")
def test_cleaning_any_text_gives_clean_text(value: str) -> None:
    cleaned = clean_text(value)
    assert cleaned == cleaned.strip() and "  " not in cleaned
    assert not any(ord(c) < 0x20 for c in cleaned)


# --- the query side ------------------------------------------------------------------------

PARAMETERS = ["q", "year", "year_from", "year_to", "institution", "journal", "sort", "page", "per_page", "more"]
PARAMETER_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["relevance", "newest", "oldest", "institution", "journal", "year", "0", "-1", "1", "10",
                     "100", "101", "1000", "1001", "2020", "9999", "10000", "1e3", "0x10", " 7 ", "١٢", "1_0",
                     "9" * 5000, "", "title:", '"', "AND", "year:2020-2015"]),
)
ARGUMENTS = st.dictionaries(st.one_of(st.sampled_from(PARAMETERS), st.text(max_size=8)),
                            st.lists(PARAMETER_VALUES, max_size=3), max_size=6)
QUERIES = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(['"', "-", "+", "*", ":", "title:", "year:", "author:", "AND", "OR", "(", ")",
                              "cell", "leukemia", "2020-2021", "ی", "ك", "\u200c", " ", "x*", "-\"a b\""]),
             max_size=12).map("".join),
)


@FUZZ
@given(QUERIES)
@example('+"')
@example("year:2021-2020 AND")
def test_any_query_string_parses(query: str) -> None:
    clauses = parse(query)
    assert all(isinstance(c, Clause) for c in clauses)


@FUZZ
@given(ARGUMENTS)
@example({"page": ["9" * 5000]})  # more digits than int() takes by default
@example({"per_page": ["١٠"]})  # Arabic-Indic digits
def test_any_parameters_give_params_or_a_param_error(args: dict[str, list[str]]) -> None:
    try:
        params = SearchParams.from_args(args)
    except ParamError as error:
        assert str(error)
    else:
        assert 1 <= params.page and 1 <= params.per_page


@WEB
@given(QUERIES, ARGUMENTS, st.sampled_from(["/api/search", "/search"]))
@example("title:", {"year": ["2020"], "year_to": ["1999"]}, "/api/search")
def test_search_endpoints_answer_200_or_400(app: Flask, query: str, args: dict[str, list[str]], path: str) -> None:
    response = app.test_client().get(path, query_string={**args, "q": [query] + args.get("q", [])})
    assert response.status_code in (200, 400), (response.status_code, response.get_data(as_text=True)[:500])
    if path.startswith("/api") and response.status_code == 200:
        body = response.get_json()
        assert isinstance(body["hits"], list) and body["total"] >= len(body["hits"])
