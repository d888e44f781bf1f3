"""Reading XML exports into :class:`~search.records.Article` records.

Three formats, recognised from the root element:

* the OJS export format (``<Articles>/<Article>``, see ``seed-article.xml``) and
  NLM's PubMed data-provider format (``<ArticleSet>/<Article>``), which share
  their shape and are read by one function;
* MEDLINE XML (``<MedlineCitationSet>`` and ``<PubmedArticleSet>``).

Files are streamed with ``iterparse`` and each record is cleared once read, so
memory stays flat however large a file is.  DTDs are never loaded and entities
never expanded (no XXE, no entity bombs), and libxml2's own limits on depth and
entity amplification stay on.  A problem with one record or file becomes a
:class:`Problem` in the stream; the records around it still come through, and
nothing that reading one file raises (other than an interrupt) escapes
:func:`read_file`.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Callable, Iterator

from lxml import etree

from search.cleaning import clean_text, locale_from_language, make_date, page_range, strip_emails
from search.records import Affiliation, Article, Author, PartialDate, Text, normalise_ror_id

#: File names ``reindex`` reads; everything else in a folder is passed over.
SUFFIXES = (".xml", ".xml.gz")

#: The longest title, abstract or affiliation kept, in characters: real abstracts are
#: a few thousand; a whole paper (or garbage) exported as one would make every search
#: that shows it slow (indexing one 7 MB abstract took 25 s, and each hit would carry it).
MAX_TEXT = 100_000

#: The most children one element of a record may have (authors of an article,
#: affiliations of an author): the largest collaborations sign a few thousand, and
#: 100,000 authors took 91 s to index.
MAX_CHILDREN = 5_000


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
    #: For a record that repeats an earlier one of the same file: that one's line.
    duplicate_of: int | None = None

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

    Never raises for anything in the file: whatever goes wrong (a truncated gzip, bad
    bytes, a bug tripped by odd data) ends the file with a ``Problem`` naming it, the
    line reached and the reason, after the records already read.

    :param path: an ``.xml`` or ``.xml.gz`` file in any supported format.
    """
    name = str(path)
    try:
        with _open(Path(path)) as stream:
            yield from read_stream(stream, name)
    except Exception as error:  # opening or closing it; read_stream reports its own
        yield Problem(name, None, f"cannot read file: {describe(error)}")


def read_stream(stream: IO[bytes], name: str) -> Iterator[Record]:
    """Like :func:`read_file`, over an open binary stream; ``name`` is for messages."""
    parser: Callable[[etree._Element, str], Article] | None = None
    record_tags: tuple[str, ...] = ()
    line: int | None = None
    source: _Sanitiser | None = None
    try:
        # Unbuffered on purpose: a BufferedReader drops the bytes it had gathered when a
        # read fails midway, and with them the records before the failure.
        source = _Sanitiser(stream)
        events = etree.iterparse(
            source,  # type: ignore[arg-type]
            events=("start", "end"),
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            # Off: it would lift libxml2's guards on depth (256) and entity amplification.
            # Text nodes up to 10 MB still pass, and MAX_TEXT cuts them afterwards.
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        for event, element in events:
            line = element.sourceline or line
            if parser is None:
                root = _local(element.tag)
                if root not in _FORMATS:
                    yield Problem(name, element.sourceline, f"unknown root element <{root}>: not an article export")
                    return
                record_tags, parser = _FORMATS[root]
                continue
            if event != "end" or _local(element.tag) not in record_tags:
                continue
            yield from _read_record(parser, element, name)
            _release(element)
    except etree.XMLSyntaxError as error:
        message = error.msg or str(error)
        if parser is None and message.startswith(_NOTHING_IN_IT):
            yield Problem(name, None, "empty file: no XML in it")
        else:
            yield Problem(name, error.lineno or line, f"malformed XML: {_explain(message)}")
    except Exception as error:  # whatever one file raises is that file's problem, not the run's
        yield Problem(name, line, f"cannot read file: {describe(error)}")
    if parser is not None and source is not None and source.repaired_lines:  # not for a file that is not an export at all
        yield source.repair_problem(name)


def describe(error: BaseException) -> str:
    """A reason for a message: what went wrong, in words a user can act on."""
    if isinstance(error, EOFError):
        return f"the file ends too early (cut short in transfer?): {error}"
    if isinstance(error, OSError):
        return str(error.strerror or error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


# libxml2's messages for a stream with no XML at all.
_NOTHING_IN_IT = ("Document is empty", "no element found")


def _explain(message: str) -> str:
    """libxml2's message, and for bytes in the wrong encoding what to do about it."""
    if "Invalid bytes in character encoding" in message or "not proper UTF-8" in message:
        return f"{message} (bytes not valid in the encoding the <?xml ... ?> line declares: is it the file's?)"
    return message


def repeated(article: Article, first_line: int | None) -> Problem:
    """The ``skipped`` problem for an article its file already held at ``first_line``."""
    return Problem(article.source, article.line, f"the same article as line {first_line}: indexed once",
                   kind="skipped", article=article.web_url or article.doi or article.title, duplicate_of=first_line)


def _read_record(parser: Callable[[etree._Element, str], Article], element: etree._Element,
                 name: str) -> Iterator[Record]:
    """The article of one record element, after a problem for any part of it left out."""
    line = element.sourceline
    cuts = _prune(element)
    entities = sorted({f"&{node.name};" for node in element.iter(etree.Entity)})
    if entities:
        cuts.append(f"entities never expanded, left out: {' '.join(entities)}")
    try:
        article = parser(element, name)
        cuts += _cut_texts(article)
    except Exception as error:  # one odd record must not stop the file
        yield Problem(name, line, f"unreadable article: {describe(error)}")
        return
    article.source, article.line = name, line
    label = article.web_url or article.doi
    if not article.is_usable():
        yield Problem(name, line, "no title and no abstract", kind="skipped", article=label)
        return
    if cuts:
        yield Problem(name, line, "indexed in part: " + "; ".join(cuts), article=label)
    yield article


def _prune(record: etree._Element) -> list[str]:
    """Drop the children past :data:`MAX_CHILDREN` of every element of a record."""
    cuts = []
    for element in record.iter():
        if len(element) > MAX_CHILDREN:
            cuts.append(f"<{_local(element.tag)}> has {len(element):,} children, only the first {MAX_CHILDREN:,} read")
            del element[MAX_CHILDREN:]
    return cuts


def _cut_texts(article: Article) -> list[str]:
    """Shorten every text of an article to :data:`MAX_TEXT` characters; say which were."""
    cuts: list[str] = []

    def cut(texts: list[Text], what: str) -> list[Text]:
        kept = []
        for text in texts:
            if len(text.text) > MAX_TEXT:
                cuts.append(f"{what} of {len(text.text):,} characters cut to {MAX_TEXT:,}")
                text = replace(text, text=text.text[:MAX_TEXT].rsplit(" ", 1)[0])
            kept.append(text)
        return kept

    article.titles = cut(article.titles, "title")
    article.abstracts = cut(article.abstracts, "abstract")
    for author in article.authors:
        author.affiliations = cut(author.affiliations, "affiliation")
    return cuts


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
    article.pmid = article.pmid or pubmed_id(article.web_url)
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


_PUBMED_PAGE = re.compile(r"^https?://(?:pubmed\.ncbi\.nlm\.nih\.gov|www\.ncbi\.nlm\.nih\.gov/pubmed)/(\d+)/?(?:[?#].*)?$",
                          re.IGNORECASE)


def pubmed_url(pmid: str) -> str:
    """The PubMed page of a citation: a MEDLINE record's identity."""
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid.strip()}/"


def pubmed_id(url: str) -> str:
    """The PMID of a PubMed page's address (as :func:`pubmed_url` makes, or the older
    ``www.ncbi.nlm.nih.gov/pubmed/<pmid>``), ``""`` for any other address: an export
    that gives only the PubMed link still gives the PMID."""
    match = _PUBMED_PAGE.match(url.strip())
    return match.group(1) if match else ""


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
        # Older MEDLINE records give some authors initials only ("AL"), which still make
        # their surname-and-initials keys (search.names).
        first = " ".join(p for p in (_text(element, "FirstName") or _text(element, "ForeName"),
                                     _text(element, "MiddleName")) if p) or _text(element, "Initials")
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
    code: set[etree._Element] = set()  # script and style elements: code, not words
    for node in element.iter():
        tag = _local(node.tag).lower()
        inside_code = node.getparent() in code
        if inside_code or tag in ("script", "style"):
            code.add(node)
        if node is not element and tag in ("p", "br", "div", "li"):
            pieces.append(" ")
        if node.text and isinstance(node.tag, str) and node not in code:
            pieces.append(node.text)
        if node is not element and node.tail and not inside_code:
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


class _Sanitiser(io.RawIOBase):
    """A stream libxml2 can read whatever the exporter did to it.

    * the blank lines some exporters write before ``<?xml`` are dropped (libxml2
      rejects a declaration that is not at the very start);
    * UTF-16 without a byte-order mark gets one (libxml2 tells UTF-16 only by it,
      or by a ``<?xml`` right at the start);
    * in byte encodings (UTF-8, ISO-8859-x, windows-125x), C0 control characters,
      raw or as ``&#...;`` references, become spaces: XML 1.0 forbids them, and
      libxml2 would give up on the rest of the file over one stray form feed;
    * in a file read as UTF-8 (declared so, or declaring nothing), bytes that are
      not UTF-8 are read as windows-1252, where it defines them, else as U+FFFD:
      libxml2 would stop at the first, losing every record after it, and such bytes
      are nearly always Latin-1 or windows-1252 text (``é`` as ``0xE9``).  The lines
      they were on are kept for :meth:`repair_problem`.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        # read1 returns what is there: gzip's read(n) drops what it had decompressed
        # when the file ends early, losing the records before the break.
        self._read = getattr(stream, "read1", stream.read)
        head = b""
        self._failure: Exception | None = None
        try:
            while len(head) < 4096 and (more := self._read(4096 - len(head))):  # the prolog whole, however it comes
                head += more
        except Exception as error:  # raised once the bytes before it are handed on, so their records count
            self._failure = error
        self._bytewise = True
        self._carry = b""
        self._done = False
        self._utf8 = False
        #: The line the next byte handed on is on, in the file as written.
        self._line = 1
        #: How many lines had bytes that are not UTF-8, and the first few of them.
        self.repaired_lines = 0
        self._first_repaired: list[int] = []
        self._last_repaired = 0
        if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
            self._bytewise = head.startswith(b"\xef\xbb\xbf")
            bom = head[:3] if self._bytewise else head[:2]
            self._utf8 = self._bytewise
            self._head = bom + (self._clean(head[3:]) if self._bytewise else head[2:])
            return
        wide = _utf16_order(head)
        if wide:
            self._bytewise = False
            blank = [c.encode(wide) for c in " \t\r\n"]
            while head[:2] in blank:
                head = head[2:]
            self._head = ("\ufeff".encode(wide)) + head
        else:
            start = head.lstrip(b" \t\r\n")
            self._line += head[: len(head) - len(start)].count(b"\n")
            declared = _DECLARED_ENCODING.match(start)
            self._utf8 = declared is None or declared.group(1).lower() in (b"utf-8", b"utf8")
            self._head = self._clean(start)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        while not self._head:
            if self._done:
                return 0
            if self._failure is not None:
                self._done = True
                raise self._failure
            data = self._read(len(buffer))
            self._done = not data
            self._head = self._clean(data, final=self._done) if self._bytewise else data
        size = min(len(buffer), len(self._head))
        buffer[:size] = self._head[:size]
        self._head = self._head[size:]
        return size

    def repair_problem(self, name: str) -> Problem:
        """The problem that names the lines whose bytes were not UTF-8, once for the file."""
        first, *others = self._first_repaired
        more = self.repaired_lines - 1
        listed = ", ".join(map(str, others)) + (", ..." if more > len(others) else "")
        also = f" (and {more:,} more line{'s' if more > 1 else ''}: {listed})" if more else ""
        return Problem(name, first, f"bytes not valid UTF-8 at line {first}{also}, read as windows-1252 "
                                    "(declare the encoding in the <?xml ... ?> line if it is another)")

    def _clean(self, data: bytes, final: bool = False) -> bytes:
        """``data`` as libxml2 can take it; what its end may cut (a reference, a character) is held back."""
        data = self._carry + data.translate(_CONTROLS_TO_SPACES)
        amp = -1 if final else data.rfind(b"&", max(0, len(data) - 12))
        if amp >= 0 and b";" not in data[amp:]:
            data, self._carry = data[:amp], data[amp:]
        else:
            self._carry = b""
        data = _CONTROL_REFERENCE.sub(lambda m: b" " * len(m.group(0)), data)
        if self._utf8 and not data.isascii():
            data, cut = self._as_utf8(data, final)
            self._carry = cut + self._carry
        if self._utf8:
            self._line += data.count(b"\n")
        return data

    def _note_repaired(self, text: str) -> None:
        """Count the lines of ``text`` (a chunk, ``surrogateescape``-decoded) with bad bytes, once a line."""
        line, seen = self._line, 0
        while run := _ESCAPED.search(text, seen):
            line += text.count("\n", seen, run.start())
            if line != self._last_repaired:
                self._last_repaired = line
                self.repaired_lines += 1
                if len(self._first_repaired) < 6:
                    self._first_repaired.append(line)
            seen = text.find("\n", run.end())  # on to the next line: one step a line, not a byte
            if seen < 0:
                return

    def _as_utf8(self, data: bytes, final: bool) -> tuple[bytes, bytes]:
        """``data`` up to a character its end cuts, made valid UTF-8; and the cut-off end."""
        try:
            size = codecs.utf_8_decode(data, "strict", final)[1]
            return data[:size], data[size:]
        except UnicodeDecodeError:
            pass
        # Each bad byte becomes a lone surrogate: found, and turned back, in one pass each.
        text, size = codecs.utf_8_decode(data, "surrogateescape", final)
        self._note_repaired(text)
        if len(text) == size:  # no UTF-8 beyond ASCII at all, as in a whole Latin-1 file: one decode, in C
            return data[:size].decode("cp1252", "replace").encode("utf-8"), data[size:]
        repaired = _ESCAPED.sub(lambda m: m.group().encode("utf-8", "surrogateescape").decode("cp1252", "replace"), text)
        return repaired.encode("utf-8"), data[size:]


_CONTROLS_TO_SPACES = bytes.maketrans(
    bytes(c for c in range(32) if c not in (9, 10, 13)), b" " * 29)
# &#1; &#x0B; ...: references to the C0 controls XML 1.0 forbids (tab, newline, CR allowed).
_CONTROL_REFERENCE = re.compile(
    rb"&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]));")
# The encoding an ``<?xml ... ?>`` line at the very start declares.
_DECLARED_ENCODING = re.compile(rb"<\?xml\s[^>]*?\bencoding\s*=\s*[\"']([^\"']*)[\"']")
# Runs of bytes ``surrogateescape`` could not decode.
_ESCAPED = re.compile("[\udc80-\udcff]+")


def _utf16_order(head: bytes) -> str:
    """``utf-16-le``/``-be`` when ``head`` looks like UTF-16 text without a BOM, else ``""``."""
    sample = head[:64]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if len(sample) >= 8 and odd >= len(sample) // 4 and even == 0:
        return "utf-16-le"
    if len(sample) >= 8 and even >= len(sample) // 4 and odd == 0:
        return "utf-16-be"
    return ""
