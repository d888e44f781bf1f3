"""Article records: what every input format is parsed into.

These dataclasses are the one shape the rest of the engine sees; the XML formats
differ, the records do not.  They are plain data: turning them into index
documents is :mod:`search.documents`' job.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit, urlunsplit
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Text:
    """A piece of text and the locale it is written in (``en_US``, ``fa_IR``, or None)."""

    text: str
    locale: str | None = None


@dataclass(frozen=True)
class PartialDate:
    """A date of which only the year, or year and month, may be known."""

    year: int
    month: int | None = None
    day: int | None = None

    def iso(self) -> str:
        """``2015``, ``2015-09`` or ``2015-09-04``: as much as is known."""
        parts = [f"{self.year:04d}"]
        if self.month:
            parts.append(f"{self.month:02d}")
            if self.day:
                parts.append(f"{self.day:02d}")
        return "-".join(parts)

    def sort_key(self) -> int:
        """A number that orders dates, unknown parts counting as the earliest."""
        return self.year * 10000 + (self.month or 0) * 100 + (self.day or 0)


@dataclass(frozen=True)
class Affiliation(Text):
    """One affiliation of an author, and the ROR id the export gives for it, if any
    (``https://ror.org/01s1q0w69``, :func:`normalise_ror_id`), else ``""``."""

    ror_id: str = ""


@dataclass
class Author:
    """One author; affiliations are display-ready (e-mail addresses removed)."""

    last_name: str = ""
    first_name: str = ""
    affiliations: list[Affiliation] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The name as it is usually shown: first name, then last name."""
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass
class Article:
    """One article as read from an export, whatever its format."""

    titles: list[Text] = field(default_factory=list)
    abstracts: list[Text] = field(default_factory=list)
    authors: list[Author] = field(default_factory=list)
    journal: str = ""
    publisher: str = ""
    issn: str = ""
    volume: str = ""
    issue: str = ""
    first_page: str = ""
    last_page: str = ""
    published: PartialDate | None = None
    received: PartialDate | None = None
    accepted: PartialDate | None = None
    web_url: str = ""
    pdf_url: str = ""
    doi: str = ""
    pmid: str = ""
    source: str = ""
    line: int | None = None

    @property
    def title(self) -> str:
        """The first title, the one to show when no locale is preferred."""
        return self.titles[0].text if self.titles else ""

    @property
    def year(self) -> int | None:
        """Publication year, if known."""
        return self.published.year if self.published else None

    @property
    def identity(self) -> str:
        """What makes two records the same article across files and runs.

        The normalised ``web_url``, else the DOI, else journal and title; so
        re-reading an export updates its articles instead of duplicating them.
        """
        if self.web_url:
            return "url:" + normalise_url(self.web_url)
        if self.doi:
            return "doi:" + normalise_doi(self.doi)
        folded = " ".join(f"{self.journal}\n{self.title}".casefold().split())
        return "title:" + folded

    @property
    def id(self) -> str:
        """A short URL-safe id derived from :attr:`identity`."""
        return hashlib.sha1(self.identity.encode("utf-8")).hexdigest()[:16]

    def is_usable(self) -> bool:
        """An article with neither title nor abstract has nothing to search."""
        return any(t.text for t in self.titles) or any(a.text for a in self.abstracts)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, the form stored in the index."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Article":
        """Inverse of :meth:`to_dict`; keys that are not fields (derived data) are ignored."""
        names = {f.name for f in fields(cls)}
        data = {key: value for key, value in data.items() if key in names}
        data["titles"] = [Text(**t) for t in data.get("titles", [])]
        data["abstracts"] = [Text(**t) for t in data.get("abstracts", [])]
        # Records stored before ROR ids were kept per affiliation have none there, and an
        # author-level "ror_ids" list, which is left out.
        data["authors"] = [
            Author(
                last_name=a.get("last_name", ""),
                first_name=a.get("first_name", ""),
                affiliations=[Affiliation(**t) for t in a.get("affiliations", [])],
            )
            for a in data.get("authors", [])
        ]
        for key in ("published", "received", "accepted"):
            if data.get(key):
                data[key] = PartialDate(**data[key])
        return cls(**data)


# A ROR id: "0", six characters of Crockford's base32, a two-digit checksum.
_ROR_ID_RE = re.compile(r"(?:https?://)?(?:www\.)?(?:ror\.org/)?(0[0-9a-hjkmnp-tv-z]{6}[0-9]{2})/?")


def normalise_ror_id(text: str) -> str:
    """``https://ror.org/01s1q0w69`` for that id written as a URL or bare; ``""`` for
    anything that is not a ROR id."""
    match = _ROR_ID_RE.fullmatch(text.strip().lower())
    return f"https://ror.org/{match[1]}" if match else ""


def normalise_url(url: str) -> str:
    """Compare URLs by what they point to: scheme, host case, ports, slashes."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # "http://[::1", "http://host:99999/": compare as written
        return url.strip()
    scheme = parts.scheme.lower()
    if scheme == "http":
        scheme = "https"
    host = (parts.hostname or "").lower()
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, host, path, parts.query, ""))


def normalise_doi(doi: str) -> str:
    """``https://doi.org/10.1/X``, ``doi:10.1/x`` and ``10.1/X`` are one DOI."""
    doi = doi.strip()
    lowered = doi.lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:"):
        if lowered.startswith(prefix):
            doi = doi[len(prefix):]
            break
    return doi.strip().lower()
