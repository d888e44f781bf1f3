"""Reading exports: every format field by field, and the mess real exports contain."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from pathlib import Path

import pytest

from search.ingest import Problem, read_file, read_stream
from search.names import author_keys
from search.records import Affiliation, Article, Author, PartialDate, Text

FIXTURES = Path(__file__).parent / "fixtures"


def articles(path: Path) -> list[Article]:
    return [r for r in read_file(path) if isinstance(r, Article)]


def parse(xml: str | bytes, name: str = "test.xml") -> list[Article | Problem]:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return list(read_stream(io.BytesIO(data), name))


def export(body: str, root_attrs: str = "") -> str:
    return f'<?xml version="1.0"?>\n<Articles{root_attrs}>\n{body}\n</Articles>\n'


def one(body: str) -> Article:
    [record] = parse(export(f"<Article>{body}</Article>"))
    assert isinstance(record, Article), record
    return record


# --- the seed article, every value -------------------------------------------------------


def test_seed_article_every_field() -> None:
    [article] = articles(FIXTURES / "seed-article.xml")
    assert article.journal == "Immunology and Genetics Journal"
    assert article.publisher == "Tehran University of Medical Sciences"
    assert article.issn == "2645-4831"
    assert (article.volume, article.issue) == ("8", "0")
    assert article.published == PartialDate(2025, 2, 24)
    assert article.received == PartialDate(2025, 2, 24)
    assert article.accepted == PartialDate(2025, 2, 24)
    assert article.titles == [Text("Adoptive Cell Therapy in Pediatric Leukemia", "en_US")]
    assert (article.first_page, article.last_page) == ("39", "49")
    assert [a.name for a in article.authors] == ["Maryam Sadeghi", "Kosar Asnaashari"]
    assert article.authors[0].affiliations == [
        Affiliation("School of Medicine, Tehran University of Medical Sciences, Tehran, Iran", "en_US")
    ]
    # The entity &#x2019; is resolved to a real apostrophe.
    assert "Children\u2019s Medical Center Hospital" in article.authors[1].affiliations[0].text
    [abstract] = article.abstracts
    assert abstract.locale == "en_US"
    assert abstract.text.startswith("Acute lymphoblastic leukemia (ALL) and acute myeloid leukemia (AML)")
    assert abstract.text.endswith("treatment of childhood leukemia.")
    assert article.web_url == "https://igj.tums.ac.ir/index.php/igj/article/view/192"
    assert article.pdf_url == "https://igj.tums.ac.ir/index.php/igj/article/download/192/169"
    assert article.line == 3
    assert article.source.endswith("seed-article.xml")


def test_root_journal_title_is_the_fallback() -> None:
    [record] = parse(export("<Article><title>T</title></Article>", ' JournalTitle="Root Journal"'))
    assert isinstance(record, Article) and record.journal == "Root Journal"


def test_several_locales_make_one_article() -> None:
    article = one(
        '<title locale="en_US">Cell therapy</title><title locale="fa_IR">سلول درمانی</title>'
        '<abstract locale="en_US">English abstract.</abstract>'
        '<abstract locale="fa_IR">چکیده فارسی</abstract><web_url>https://j.example/a/1</web_url>'
    )
    assert [t.locale for t in article.titles] == ["en_US", "fa_IR"]
    assert [a.locale for a in article.abstracts] == ["en_US", "fa_IR"]


# --- PubMed data-provider XML ------------------------------------------------------------


def test_pubmed_articleset_every_field() -> None:
    [article] = articles(FIXTURES / "pubmed-articleset.xml")
    assert article.titles == [
        Text("Vitamin D levels in Helicobacter pylori infection", None),
        Text("Niveaux de vitamine D dans l'infection à Helicobacter pylori", None),
    ]
    assert article.abstracts == [
        Text("BACKGROUND: Low vitamin D has been linked to infection. "
             "RESULTS: Infected patients had lower levels (p < 0.05).", None),
        Text("Un faible taux de vitamine D est associé à l'infection.", "fr"),
    ]
    assert article.doi == "10.1234/JEM.2021.0042"
    assert article.identity == "doi:10.1234/jem.2021.0042"
    assert article.published == PartialDate(2021, 9, 7)
    assert article.received == PartialDate(2021, 3, 15)
    assert article.accepted == PartialDate(2021, 7, 2)
    assert (article.first_page, article.last_page) == ("101", "109")
    assert article.authors[0] == Author(
        last_name="García", first_name="Ana M",
        affiliations=[Affiliation("Department of Gastroenterology, Hospital Universitario La Paz, Madrid, Spain.",
                                  ror_id="https://ror.org/01s1q0w69")],
    )
    assert article.authors[1].affiliations == [Affiliation("School of Public Health, Peking University, Beijing, China")]
    assert (article.journal, article.publisher, article.issn) == ("Journal of Example Medicine", "Example University Press", "1234-5678")


def test_each_affiliation_keeps_its_own_ror_id() -> None:
    article = one("""<title>T</title><AuthorList>
      <Author><LastName>A</LastName>
        <AffiliationInfo><Affiliation>Harvard Medical School, Boston, MA, USA</Affiliation>
          <Identifier Source="ROR">https://ror.org/03WEVMZ92</Identifier></AffiliationInfo>
        <AffiliationInfo><Affiliation>Massachusetts General Hospital, Boston, MA, USA</Affiliation>
          <Identifier Source="ROR">002pd6e78</Identifier></AffiliationInfo>
        <AffiliationInfo><Affiliation>KTH, Stockholm, Sweden</Affiliation>
          <Identifier Source="ROR">not-a-ror-id</Identifier></AffiliationInfo></Author>
      <Author><LastName>B</LastName>
        <Affiliation>Harvard University, Cambridge, MA</Affiliation><Affiliation>MGH, Boston</Affiliation>
        <Identifier Source="ROR">https://ror.org/03vek6s52</Identifier></Author></AuthorList>""")
    assert [a.ror_id for a in article.authors[0].affiliations] == [
        "https://ror.org/03wevmz92", "https://ror.org/002pd6e78", ""]
    # One id beside two affiliations may name either: it names neither.
    assert [a.ror_id for a in article.authors[1].affiliations] == ["", ""]
    assert Article.from_dict(json.loads(json.dumps(article.to_dict()))) == article


def test_records_stored_before_affiliation_ror_ids_still_load() -> None:
    stored = {"titles": [{"text": "T", "locale": None}], "authors": [
        {"last_name": "A", "first_name": "B", "affiliations": [{"text": "Harvard University", "locale": "en"}],
         "ror_ids": ["https://ror.org/03vek6s52"], "institutions": ["Harvard University"]}]}
    [author] = Article.from_dict(stored).authors
    assert author == Author("A", "B", [Affiliation("Harvard University", "en")])


# --- MEDLINE XML, and the same citations in the export format ------------------------------


def test_medline_and_export_twin_yield_the_same_articles() -> None:
    medline = {a.id: a for a in articles(FIXTURES / "medline-sample.xml.gz")}
    twins = {a.id: a for a in articles(FIXTURES / "medline-sample-export.xml")}
    assert len(medline) == 4 and medline.keys() == twins.keys()
    for article_id, a in medline.items():
        b = twins[article_id]
        assert a.web_url == b.web_url == f"https://pubmed.ncbi.nlm.nih.gov/{a.pmid}/"
        assert a.titles[0].text == b.titles[0].text
        assert a.abstracts[0].text == b.abstracts[0].text
        assert [x.name for x in a.authors] == [x.name for x in b.authors]
        # The export joins an author's affiliations with "; ", MEDLINE lists them apart.
        assert ["; ".join(t.text for t in x.affiliations) for x in a.authors] == [
            "; ".join(t.text for t in x.affiliations) for x in b.authors
        ]
        assert (a.year, a.journal, a.volume, a.issue) == (b.year, b.journal, b.volume, b.issue)
        assert (a.first_page, a.last_page) == (b.first_page, b.last_page)


def test_medline_fields() -> None:
    by_pmid = {a.pmid: a for a in articles(FIXTURES / "medline-sample.xml.gz")}
    first = by_pmid["25541750"]
    assert first.doi == "10.1021/cb500904b"
    assert first.published == PartialDate(2015, 1, 16)
    assert first.journal == "ACS chemical biology"
    # MedlineDate "2015 Oct-Dec" and the abbreviated range "381-7".
    insanity = by_pmid["26702167"]
    assert insanity.published == PartialDate(2015, 10)
    assert (insanity.first_page, insanity.last_page) == ("381", "387")
    # A structured abstract keeps its labels; the e-mail is gone from the affiliation.
    clusters = by_pmid["18621939"]
    assert clusters.abstracts[0].text.startswith("BACKGROUND: Establishing the correct")
    assert "OBJECTIVE: The authors hypothesized" in clusters.abstracts[0].text
    assert "@" not in clusters.authors[0].affiliations[0].text
    assert clusters.authors[0].affiliations[0].text.endswith("Pittsburgh, PA 15213, USA.")
    # The Italian original title is kept, in its own locale.
    tuscany = by_pmid["26668916"]
    assert tuscany.titles[1].locale == "it"


def first_medline_citation() -> str:
    """The first ``<MedlineCitation>`` of the MEDLINE fixture, as text."""
    raw = gzip.decompress((FIXTURES / "medline-sample.xml.gz").read_bytes()).decode("utf-8")
    return raw[raw.index("<MedlineCitation "):raw.index("</MedlineCitation>") + len("</MedlineCitation>")]


def test_pubmed_article_set_wrapper() -> None:
    wrapped = (
        "<PubmedArticleSet><PubmedArticle>" + first_medline_citation()
        + '<PubmedData><ArticleIdList><ArticleId IdType="pubmed">25541750</ArticleId></ArticleIdList>'
        "</PubmedData></PubmedArticle></PubmedArticleSet>"
    )
    [article] = parse(wrapped)
    assert isinstance(article, Article) and article.pmid == "25541750"
    assert article.title.startswith("Mass spectrometry-based detection")


def test_a_medline_author_with_initials_only_keeps_them_and_is_found_by_them() -> None:
    citation = "<PubmedArticleSet><PubmedArticle>" + first_medline_citation() + "</PubmedArticle></PubmedArticleSet>"
    assert "<ForeName>Alma L</ForeName>" in citation
    [full] = parse(citation)
    [initials_only] = parse(citation.replace("<ForeName>Alma L</ForeName>", ""))
    assert isinstance(full, Article) and isinstance(initials_only, Article)
    [author] = [a for a in initials_only.authors if a.last_name == "Burlingame"]
    assert author.first_name == "AL"
    assert {"burlingame a", "burlingame al"} <= set(author_keys(author.last_name, author.first_name))
    [named] = [a for a in full.authors if a.last_name == "Burlingame"]
    assert named.first_name == "Alma L"


# --- messy real-world input --------------------------------------------------------------


@pytest.mark.parametrize(
    ("date_xml", "expected"),
    [
        ("<Year>2015</Year><Month>Sep</Month>", PartialDate(2015, 9)),
        ("<Year>2015</Year><Month>September</Month><Day>4</Day>", PartialDate(2015, 9, 4)),
        ("<Year>2015</Year><Month>09</Month><Day>04</Day>", PartialDate(2015, 9, 4)),
        ("<Year>2015</Year>", PartialDate(2015)),
        ("<Year>2015</Year><Month>02</Month><Day>30</Day>", PartialDate(2015, 2)),
        ("<Year>2015</Year><Month>Spring</Month>", PartialDate(2015)),
        ("<MedlineDate>1998 Dec-1999 Jan</MedlineDate>", PartialDate(1998, 12)),
        ("<Year></Year>", None),
    ],
)
def test_partial_and_named_dates(date_xml: str, expected: PartialDate | None) -> None:
    article = one(f'<Journal><PubDate PubStatus="epublish">{date_xml}</PubDate></Journal><title>T</title>')
    assert article.published == expected


def test_abbreviated_page_ranges() -> None:
    assert (lambda a: (a.first_page, a.last_page))(one("<title>T</title><FirstPage>10604</FirstPage><LastPage>7</LastPage>")) == ("10604", "10607")
    assert (lambda a: (a.first_page, a.last_page))(one("<title>T</title><FirstPage>e1234</FirstPage>")) == ("e1234", "")


def test_html_markup_and_entities_in_titles_and_abstracts() -> None:
    article = one(
        "<title>Effect of &lt;i&gt;E. coli&lt;/i&gt; &amp;amp; salt</title>"
        "<abstract><p>First <b>paragraph</b>.</p><p>Second, p &lt; 0.05 &amp;nbsp;done.</p></abstract>"
    )
    assert article.title == "Effect of E. coli & salt"
    assert article.abstracts[0].text == "First paragraph. Second, p < 0.05 done."


def test_emails_stripped_from_affiliations() -> None:
    article = one(
        "<title>T</title><AuthorList><Author><LastName>Doe</LastName><affiliation>"
        "Department of Surgery, Mayo Clinic, Rochester, MN, USA. Electronic address: doe.j@mayo.edu."
        "</affiliation></Author><Author><LastName>Roe</LastName><affiliation>Karolinska Institutet, "
        "Stockholm, Sweden (roe@ki.se)</affiliation></Author></AuthorList>"
    )
    assert article.authors[0].affiliations[0].text == "Department of Surgery, Mayo Clinic, Rochester, MN, USA."
    assert "@" not in article.authors[1].affiliations[0].text


def test_whitespace_collapsed_and_empty_elements_ignored() -> None:
    article = one(
        "<title>\n   Spread\n  over   lines  </title><abstract>   </abstract><pdf_url/>"
        "<AuthorList><Author><FirstName></FirstName><LastName/></Author>"
        "<Author><LastName> Smith </LastName></Author></AuthorList>"
    )
    assert article.title == "Spread over lines"
    assert article.abstracts == [] and article.pdf_url == ""
    assert [a.name for a in article.authors] == ["Smith"]


def test_byte_order_mark_and_declared_encoding() -> None:
    body = '<Articles><Article><title>Réseau électrique</title></Article></Articles>'
    utf8_bom = b"\xef\xbb\xbf" + ('<?xml version="1.0" encoding="UTF-8"?>' + body).encode("utf-8")
    latin1 = ('<?xml version="1.0" encoding="ISO-8859-1"?>' + body).encode("latin-1")
    utf16 = ('<?xml version="1.0" encoding="UTF-16"?>' + body).encode("utf-16")
    leading_blank = b"\n\n  " + ('<?xml version="1.0"?>' + body).encode("utf-8")
    for data in (utf8_bom, latin1, utf16, leading_blank):
        [article] = parse(data)
        assert isinstance(article, Article) and article.title == "Réseau électrique"


def test_identity_prefers_url_then_doi_then_title() -> None:
    by_url = one("<title>T</title><web_url>HTTP://J.Example/view/1/</web_url><ELocationID EIdType='doi'>10.1/x</ELocationID>")
    same_url = one("<title>Other</title><web_url>https://j.example/view/1</web_url>")
    assert by_url.id == same_url.id
    by_doi = one("<title>T</title><ELocationID EIdType='doi'>10.1/X</ELocationID>")
    assert by_doi.identity == "doi:10.1/x"
    by_title = one("<Journal><JournalTitle>J</JournalTitle></Journal><title>A  Title</title>")
    assert by_title.id == one("<Journal><JournalTitle>j</JournalTitle></Journal><title>a title</title>").id


# --- problems: reported with file, line and reason; the rest still read ---------------------


def test_record_without_title_or_abstract_is_skipped_not_fatal() -> None:
    records = parse(export(
        "<Article><title>Good one</title></Article>\n"
        "<Article><title> </title><abstract/><web_url>https://j.example/empty</web_url></Article>\n"
        "<Article><abstract>Also good</abstract></Article>"
    ))
    assert [type(r) for r in records] == [Article, Problem, Article]
    problem = records[1]
    assert isinstance(problem, Problem)
    assert (problem.kind, problem.line, problem.reason) == ("skipped", 4, "no title and no abstract")
    assert "https://j.example/empty" in str(problem) and "test.xml:4" in str(problem)


def test_malformed_file_keeps_the_records_before_the_error() -> None:
    records = parse(export("<Article><title>Fine</title></Article>\n<Article><title>Broken</titel></Article>"))
    assert isinstance(records[0], Article) and records[0].title == "Fine"
    problem = records[-1]
    assert isinstance(problem, Problem) and problem.kind == "error"
    assert problem.line == 4 and "malformed XML" in problem.reason


def test_unknown_root_and_empty_and_unreadable_files(tmp_path: Path) -> None:
    [unknown] = parse("<html><body/></html>")
    assert isinstance(unknown, Problem) and "unknown root element <html>" in unknown.reason
    [empty] = parse(b"")
    assert isinstance(empty, Problem) and empty.kind == "error"
    bad_gzip = tmp_path / "broken.xml.gz"
    bad_gzip.write_bytes(b"not gzip at all")
    [problem] = list(read_file(bad_gzip))
    assert isinstance(problem, Problem) and problem.file == str(bad_gzip)


def test_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE Articles [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<Articles><Article><title>Leak &x;</title></Article></Articles>"
    )
    records = parse(xxe)
    assert all("TOP-SECRET" not in (r.title if isinstance(r, Article) else str(r)) for r in records)


def test_entity_expansion_bomb_is_not_expanded() -> None:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
    )
    bomb = f'<?xml version="1.0"?><!DOCTYPE Articles [{entities}]><Articles><Article><title>&i;</title></Article></Articles>'
    records = parse(bomb)
    # 10**9 characters if expanded; not expanded, the title is empty or the record refused.
    assert all(len(r.title) < 1000 for r in records if isinstance(r, Article))


def test_memory_stays_flat_while_streaming(tmp_path: Path) -> None:
    record = "<Article><title>Title {i}</title><abstract>" + "word " * 200 + "</abstract></Article>\n"

    def peak_for(count: int) -> int:
        path = tmp_path / f"big-{count}.xml"
        with open(path, "w", encoding="utf-8") as stream:
            stream.write("<Articles>\n")
            for i in range(count):
                stream.write(record.format(i=i))
            stream.write("</Articles>\n")
        tracemalloc.start()
        read = sum(1 for _ in read_file(path))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert read == count
        return peak

    small, large = peak_for(1_000), peak_for(10_000)
    # Ten times the records (about 10 MB more file) may not cost ten times the memory.
    assert large < small * 2
