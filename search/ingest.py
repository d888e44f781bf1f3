"""Reading XML exports into :class:`~search.records.Article` records.

Three formats, recognised from the root element:

* the OJS export format (``<Articles>/<Article>``, see ``seed-article.xml``) and
  NLM's PubMed data-provider format (``<ArticleSet>/<Article>``), which share
  their shape and are read by one function;
* MEDLINE XML (``<MedlineCitationSet>`` and ``<PubmedArticleSet>``).

Files are streamed with ``iterparse`` and each record is cleared once read, so
memory stays flat however large a file is.  DTDs are never loaded and entities
never expanded from outside (no XXE, no entity bombs).  A problem with one
record or file becomes a :class:`Problem` in the stream; the records around it
still come through.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterator

from lxml import etree

from search.cleaning import clean_text, locale_from_language, make_date, page_range, strip_emails
from search.records import Affiliation, Article, Author, PartialDate, Text, normalise_ror_id

#: File names ``reindex`` reads; everything else in a folder is passed over.
SUFFIXES = (".xml", ".xml.gz")


@dataclass(frozen=True)
class Problem:
    """Something that kept a record or a file out of the index, and where.

    ``kind`` is ``"error"`` (the file or record could not be read) or
    ``"skipped"`` (read, but unusable, such as no title and no abstract).
    """

    file: str
    line: int | None
    reason: str
    kind: str = "error"
    article: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = f" ({self.article})" if self.article else ""
        return f"{where}{what}: {self.reason}"


Record = Article | Problem


def is_export_file(path: Path) -> bool:
    """True for the files ``reindex`` reads (``.xml``, ``.xml.gz``)."""
    return path.name.lower().endswith(SUFFIXES)


def read_file(path: str | Path) -> Iterator[Record]:
    """Every article of one export file, or a :class:`Problem` where one is unreadable.

    :param path: an ``.xml`` or ``.xml.gz`` file in any supported format.
    """
    name = str(path)
    try:
        with _open(Path(path)) as stream:
            yield from read_stream(stream, name)
    except OSError as error:  # unreadable file, bad gzip data
        yield Problem(name, None, f"cannot read file: {error.strerror or error}")


def read_stream(stream: IO[bytes], name: str) -> Iterator[Record]:
    """Like :func:`read_file`, over an open binary stream; ``name`` is for messages."""
    parser: Callable[[etree._Element, str], Article] | None = None
    record_tags: tuple[str, ...] = ()
    events = etree.iterparse(
        _skip_leading_space(stream),
        events=("start", "end"),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        for event, element in events:
            if parser is None:
                root = _local(element.tag)
                if root not in _FORMATS:
                    yield Problem(name, element.sourceline, f"unknown root element <{root}>: not an article export")
                    return
                record_tags, parser = _FORMATS[root]
                continue
            if event != "end" or _local(element.tag) not in record_tags:
                continue
            yield _read_record(parser, element, name)
            _release(element)
    except etree.XMLSyntaxError as error:
        line = error.lineno if error.lineno else None
        yield Problem(name, line, f"malformed XML: {error.msg}")
        return
    if parser is None:
        yield Problem(name, None, "empty file: no XML in it")


def _read_record(parser: Callable[[etree._Element, str], Article], element: etree._Element, name: str) -> Record:
    try:
        article = parser(element, name)
    except Exception as error:  # one odd record must not stop the file
        return Problem(name, element.sourceline, f"unreadable article: {error}")
    article.source, article.line = name, element.sourceline
    if not article.is_usable():
        return Problem(name, element.sourceline, "no title and no abstract", kind="skipped",
                       article=article.web_url or article.doi)
    return article


# --- the export and PubMed data-provider formats ------------------------------------


def parse_export_article(element: etree._Element, fallback_journal: str = "") -> Article:
    """An ``<Article>`` of the OJS export or of PubMed's ``ArticleSet``."""
    journal = _child(element, "Journal")
    article = Article(
        titles=_texts(element, ("title", "ArticleTitle", "VernacularTitle")),
        abstracts=_abstracts(element, ("abstract", "Abstract", "OtherAbstract")),
        authors=_authors(_child(element, "AuthorList")),
        journal=_text(journal, "JournalTitle") or fallback_journal,
        publisher=_text(journal, "PublisherName"),
        issn=_text(journal, "Issn"),
        volume=_text(journal, "Volume"),
        issue=_text(journal, "Issue"),
        published=_date(_child(journal, "PubDate")),
        web_url=_text(element, "web_url"),
        pdf_url=_text(element, "pdf_url"),
        doi=_doi(element),
        pmid=_article_id(element, "pubmed"),
    )
    article.first_page, article.last_page = page_range(_text(element, "FirstPage"), _text(element, "LastPage"))
    for date in _children(_child(element, "History"), "PubDate"):
        status = (date.get("PubStatus") or "").lower()
        if status in ("received", "accepted"):
            setattr(article, status, _date(date))
    if not article.web_url and article.pmid:
        article.web_url = pubmed_url(article.pmid)
    return article


def _parse_articles_root(element: etree._Element, name: str) -> Article:
    root = element.getparent()
    return parse_export_article(element, root.get("JournalTitle", "") if root is not None else "")


# --- MEDLINE ----------------------------------------------------------------------------


def parse_medline(element: etree._Element, name: str = "") -> Article:
    """A ``<MedlineCitation>``, or a ``<PubmedArticle>`` holding one."""
    citation = element if _local(element.tag) == "MedlineCitation" else _child(element, "MedlineCitation")
    body = _child(citation, "Article")
    journal = _child(body, "Journal")
    issue = _child(journal, "JournalIssue")
    pmid = _text(citation, "PMID")
    language = locale_from_language(_text(body, "Language"))
    article = Article(
        titles=_texts(body, ("ArticleTitle",), default_locale="en")
        + _texts(body, ("VernacularTitle",), default_locale=language),
        abstracts=_abstracts(body, ("Abstract",), default_locale="en")
        + _abstracts(citation, ("OtherAbstract",)),
        authors=_authors(_child(body, "AuthorList")),
        journal=_text(journal, "Title"),
        issn=_text(journal, "ISSN"),
        volume=_text(issue, "Volume"),
        issue=_text(issue, "Issue"),
        published=_date(_child(issue, "PubDate")),
        doi=_doi(body) or _doi(_child(element, "PubmedData")),
        pmid=pmid,
        web_url=pubmed_url(pmid) if pmid else "",
    )
    article.first_page, article.last_page = page_range(_text(_child(body, "Pagination"), "MedlinePgn"))
    return article


def pubmed_url(pmid: str) -> str:
    """The PubMed page of a citation: a MEDLINE record's identity."""
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid.strip()}/"


# Root element -> (record elements, parser).
_FORMATS: dict[str, tuple[tuple[str, ...], Callable[[etree._Element, str], Article]]] = {
    "Articles": (("Article",), _parse_articles_root),
    "ArticleSet": (("Article",), _parse_articles_root),
    "MedlineCitationSet": (("MedlineCitation",), parse_medline),
    "PubmedArticleSet": (("PubmedArticle",), parse_medline),
}


# --- shared element readers ----------------------------------------------------------------


def _texts(parent: etree._Element | None, tags: tuple[str, ...], default_locale: str | None = None) -> list[Text]:
    texts = []
    for tag in tags:
        for element in _children(parent, tag):
            text = clean_text(_flatten(element))
            if text:
                texts.append(Text(text, _locale(element) or default_locale))
    return texts


def _abstracts(parent: etree._Element | None, tags: tuple[str, ...], default_locale: str | None = None) -> list[Text]:
    """Abstracts; a structured one (``AbstractText Label=...``) becomes ``LABEL: text ...``."""
    abstracts = []
    for tag in tags:
        for element in _children(parent, tag):
            sections = _children(element, "AbstractText")
            if sections:
                parts = [
                    (f"{s.get('Label')}: " if s.get("Label") else "") + clean_text(_flatten(s)) for s in sections
                ]
                text = clean_text(" ".join(parts))
            else:
                text = clean_text(_flatten(element))
            if text:
                abstracts.append(Text(text, _locale(element) or default_locale))
    return abstracts


def _authors(author_list: etree._Element | None) -> list[Author]:
    authors = []
    for element in _children(author_list, "Author"):
        first = " ".join(p for p in (_text(element, "FirstName") or _text(element, "ForeName"),
                                     _text(element, "MiddleName")) if p)
        last = _text(element, "LastName") or _text(element, "CollectiveName")
        affiliations: list[Affiliation] = []
        for holder in [element] + _children(element, "AffiliationInfo"):
            texts = [(text, _locale(item)) for tag in ("affiliation", "Affiliation")
                     for item in _children(holder, tag)
                     if (text := strip_emails(clean_text(_flatten(item))))]
            ror_ids = [ror for identifier in _children(holder, "Identifier")
                       if (identifier.get("Source") or "").upper() == "ROR"
                       and (ror := normalise_ror_id(identifier.text or ""))]
            # PubMed puts one affiliation and its identifiers in each <AffiliationInfo>; a
            # ROR id beside several affiliations would name any of them, so it names none.
            ror_id = ror_ids[0] if ror_ids and len(texts) == 1 else ""
            affiliations += [Affiliation(text, locale, ror_id) for text, locale in texts]
        if first or last:
            authors.append(Author(last_name=last, first_name=first, affiliations=affiliations))
    return authors


def _date(element: etree._Element | None) -> PartialDate | None:
    if element is None:
        return None
    return make_date(_text(element, "Year"), _text(element, "Month") or _text(element, "Season"),
                     _text(element, "Day"), free_text=_text(element, "MedlineDate") or None)


def _doi(element: etree._Element | None) -> str:
    for location in _children(element, "ELocationID"):
        if (location.get("EIdType") or "").lower() == "doi" and location.text:
            return location.text.strip()
    return _article_id(element, "doi")


def _article_id(element: etree._Element | None, id_type: str) -> str:
    for id_list in _children(element, "ArticleIdList"):
        for item in _children(id_list, "ArticleId"):
            if (item.get("IdType") or "").lower() == id_type and item.text:
                return item.text.strip()
    return ""


def _locale(element: etree._Element) -> str | None:
    return locale_from_language(element.get("locale") or element.get("Language") or element.get("Locale"))


def _flatten(element: etree._Element) -> str:
    """All text inside an element, child markup such as ``<i>`` or ``<p>`` included."""
    pieces = []
    for node in element.iter():
        if node is not element and _local(node.tag) in ("p", "br", "div", "li"):
            pieces.append(" ")
        if node.text and isinstance(node.tag, str):
            pieces.append(node.text)
        if node is not element and node.tail:
            pieces.append(node.tail)
    return "".join(pieces)


def _child(parent: etree._Element | None, tag: str) -> etree._Element | None:
    if parent is None:
        return None
    for child in parent:
        if isinstance(child.tag, str) and _local(child.tag) == tag:
            return child
    return None


def _children(parent: etree._Element | None, tag: str) -> list[etree._Element]:
    if parent is None:
        return []
    return [c for c in parent if isinstance(c.tag, str) and _local(c.tag) == tag]


def _text(parent: etree._Element | None, tag: str) -> str:
    element = _child(parent, tag)
    return clean_text(_flatten(element)) if element is not None else ""


def _local(tag: object) -> str:
    """A tag without its namespace; comments and entities have no string tag."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _release(element: etree._Element) -> None:
    """Free a record once read, and the siblings before it, so memory stays flat."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


# --- files ------------------------------------------------------------------------------


def _open(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


class _LeadingSpaceSkipper(io.RawIOBase):
    """A stream without the blank lines some exporters write before ``<?xml``.

    libxml2 rejects an XML declaration that is not at the very start; a
    byte-order mark is kept, since libxml2 uses it to tell the encoding.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        head = stream.read(4096)
        bom = b"\xef\xbb\xbf" if head.startswith(b"\xef\xbb\xbf") else b""
        self._head = bom + head[len(bom):].lstrip(b" \t\r\n")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _skip_leading_space(stream: IO[bytes]) -> IO[bytes]:
    return io.BufferedReader(_LeadingSpaceSkipper(stream), buffer_size=1 << 16)
