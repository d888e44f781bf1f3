"""Citations of articles: RIS, BibTeX and CSL-JSON exports, and Highwire Press meta tags.

Each is a view of the stored :class:`~search.records.Article`, for reference managers
(Zotero, EndNote, Mendeley, BibTeX) and scholarly crawlers (Google Scholar, Zotero's
browser connector).  The functions are pure: links that must not be exported (anything
but ``http(s)``) are the caller's to remove first.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Sequence

from search.records import Article, Author


@dataclass(frozen=True)
class CitationFormat:
    """One export format: the file name's ending, its media type and its writer."""

    extension: str
    media_type: str
    label: str
    render: Callable[[Sequence[Article]], str]


def author_name(author: Author) -> str:
    """``Last, First`` as reference managers read a name; a name with one part is that part."""
    return ", ".join(part for part in (author.last_name, author.first_name) if part)


def pages(article: Article, dash: str = "-") -> str:
    """``39-49``, ``39`` or ``""``: the article's pages as far as known."""
    if article.first_page and article.last_page and article.last_page != article.first_page:
        return f"{article.first_page}{dash}{article.last_page}"
    return article.first_page


def issue(article: Article) -> str:
    """The issue number, ``""`` when unknown: some exports write ``0`` for an article without one."""
    return "" if article.issue.strip() in ("", "0") else article.issue


def abstract(article: Article) -> str:
    """The first abstract, on one line (every format here keeps one field to a line)."""
    return _one_line(article.abstracts[0].text) if article.abstracts else ""


# --- RIS ------------------------------------------------------------------------------


def to_ris(articles: Sequence[Article]) -> str:
    """The articles as RIS records (``TY  - JOUR`` ... ``ER  -``), lines ended by CRLF as
    the format's specification asks."""
    return "".join(_ris_record(article) for article in articles)


def _ris_record(article: Article) -> str:
    fields: list[tuple[str, str]] = [("TY", "JOUR"), ("ID", article.id), ("TI", _one_line(article.title))]
    fields += [("AU", author_name(author)) for author in article.authors]
    if article.published:
        date = article.published
        fields.append(("PY", str(date.year)))
        fields.append(("DA", "/".join([f"{date.year:04d}", f"{date.month:02d}" if date.month else "",
                                       f"{date.day:02d}" if date.month and date.day else "", ""])))
    fields += [("T2", article.journal), ("VL", article.volume), ("IS", issue(article)),
               ("SP", article.first_page), ("EP", article.last_page), ("SN", article.issn),
               ("PB", article.publisher), ("DO", article.doi), ("UR", article.web_url),
               ("L1", article.pdf_url), ("AB", abstract(article))]
    lines = [f"{tag}  - {_one_line(value)}" for tag, value in fields if value]
    return "\r\n".join([*lines, "ER  - ", ""]) + "\r\n"


# --- BibTeX ---------------------------------------------------------------------------

#: What BibTeX (and LaTeX under it) reads as markup, written as the character itself.
_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "%": r"\%",
    "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
_BIBTEX_SPECIAL_RE = re.compile("|".join(map(re.escape, _BIBTEX_SPECIAL)))


def bibtex_escape(text: str) -> str:
    """``text`` with BibTeX's special characters escaped; other characters, accented
    letters included, stay as written (BibTeX files are UTF-8 today)."""
    return _BIBTEX_SPECIAL_RE.sub(lambda match: _BIBTEX_SPECIAL[match[0]], _one_line(text))


def bibtex_verbatim(text: str) -> str:
    """A DOI or URL as BibTeX writes it: biblatex and the ``url`` package read these fields
    verbatim, so ``_`` or ``%`` stay as they are; only braces, which would end the field,
    and backslashes are percent-encoded (``doi.org`` and web servers read them so)."""
    return _one_line(text).replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


def bibtex_key(article: Article) -> str:
    """A citation key that stays the same for the article across exports and differs
    from every other article's: first author's last name, year and first title word
    (folded to ASCII), then the start of the article's id.  ``sadeghi2025adoptive-b1c2d3``."""
    last = (article.authors[0].last_name or article.authors[0].first_name) if article.authors else ""
    words = [w for w in _ascii_word(article.title).split() if len(w) > 3]
    stem = f"{_ascii_word(last).replace(' ', '')}{article.year or ''}{words[0] if words else ''}"
    return f"{stem or 'article'}-{article.id[:6]}"


def to_bibtex(articles: Sequence[Article]) -> str:
    """The articles as BibTeX ``@article`` entries."""
    return "\n".join(_bibtex_entry(article) for article in articles)


def _bibtex_entry(article: Article) -> str:
    fields = [
        ("title", bibtex_escape(article.title)),
        ("author", " and ".join(_bibtex_name(author) for author in article.authors)),
        ("journal", bibtex_escape(article.journal)),
        ("year", str(article.year or "")),
        ("volume", bibtex_escape(article.volume)),
        ("number", bibtex_escape(issue(article))),
        ("pages", bibtex_escape(pages(article, "--"))),
        ("issn", bibtex_escape(article.issn)),
        ("publisher", bibtex_escape(article.publisher)),
        ("doi", bibtex_verbatim(article.doi)),
        ("url", bibtex_verbatim(article.web_url)),
        ("abstract", bibtex_escape(abstract(article))),
    ]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@article{{{bibtex_key(article)},\n{body}\n}}\n"


def _bibtex_name(author: Author) -> str:
    # A part holding " and " or a comma would split the name list or the name: braced, it is one part.
    parts = [bibtex_escape(p) for p in (author.last_name, author.first_name) if p]
    parts = [f"{{{p}}}" if " and " in p or "," in p else p for p in parts]
    return ", ".join(parts)


def _ascii_word(text: str) -> str:
    """Lower-case ASCII letters and digits of ``text``, accents dropped, other characters spaces."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", " ", folded).strip()


# --- CSL-JSON -------------------------------------------------------------------------


def to_csl(article: Article) -> dict[str, object]:
    """The article as one CSL-JSON item (the data citeproc processors format)."""
    item: dict[str, object] = {"id": article.id, "type": "article-journal", "title": article.title}
    item["author"] = [_csl_name(author) for author in article.authors]
    if article.published:
        date = article.published
        known = [date.year, *([date.month] if date.month else []), *([date.day] if date.month and date.day else [])]
        item["issued"] = {"date-parts": [known]}
    optional = {
        "container-title": article.journal, "volume": article.volume, "issue": issue(article),
        "page": pages(article), "ISSN": article.issn, "publisher": article.publisher,
        "DOI": article.doi, "URL": article.web_url, "abstract": abstract(article),
        "language": (article.titles[0].locale or "").replace("_", "-") if article.titles else "",
    }
    item.update((name, value) for name, value in optional.items() if value)
    return item


def to_csl_json(articles: Sequence[Article]) -> str:
    """The articles as a CSL-JSON array."""
    return json.dumps([to_csl(article) for article in articles], ensure_ascii=False, indent=2) + "\n"


def _csl_name(author: Author) -> dict[str, str]:
    if author.last_name and author.first_name:
        return {"family": author.last_name, "given": author.first_name}
    return {"literal": author.last_name or author.first_name}


# --- Highwire Press meta tags ---------------------------------------------------------


def highwire_tags(article: Article, abstract_url: str) -> list[tuple[str, str]]:
    """The ``<meta name=... content=...>`` pairs Google Scholar and Zotero read on an
    article's page, in the order they document; ``abstract_url`` is the page showing
    the abstract (the journal's own, else ours)."""
    tags = [("citation_title", article.title)]
    tags += [("citation_author", author_name(author)) for author in article.authors]
    if article.published:
        tags.append(("citation_publication_date", article.published.iso().replace("-", "/")))
    tags += [("citation_journal_title", article.journal), ("citation_publisher", article.publisher),
             ("citation_issn", article.issn), ("citation_volume", article.volume),
             ("citation_issue", issue(article)), ("citation_firstpage", article.first_page),
             ("citation_lastpage", article.last_page), ("citation_doi", article.doi),
             ("citation_pdf_url", article.pdf_url), ("citation_abstract_html_url", abstract_url)]
    return [(name, _one_line(value)) for name, value in tags if value]


#: The formats by the name their URLs use.
FORMATS = {
    "ris": CitationFormat("ris", "application/x-research-info-systems", "RIS", to_ris),
    "bib": CitationFormat("bib", "application/x-bibtex", "BibTeX", to_bibtex),
    "csl.json": CitationFormat("csl.json", "application/vnd.citationstyles.csl+json", "CSL-JSON", to_csl_json),
}


def _one_line(text: str) -> str:
    return " ".join(text.split())
