"""The index schema: which fields exist and how each is analysed.

Searchable text fields hold every locale of a title, abstract or affiliation
(packed by :func:`search.analysis.encode_localized`); facet fields hold exact
values; ``meaning_key`` fingerprints the text of the article's meaning vector
(the vectors themselves are arrays beside the index, :mod:`search.arrays`);
``record`` stores the whole article so results and article pages are drawn
without reading any XML again.
"""

from __future__ import annotations

from whoosh.analysis import RegexTokenizer
from whoosh.columns import FixedBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from search.analysis import LocalizedAnalyzer, name_analyzer
from search.names import NameKeyTokenizer

#: Bytes of an article's meaning key (:func:`search.meaning.meaning_key`).
KEY_BYTES = 8

#: Separates the values of a multi-valued exact field (institution names contain commas).
VALUE_SEPARATOR = "\n"

#: The text fields a query searches, in the order results show them.
TEXT_FIELDS = ("title", "abstract", "authors", "affiliations", "journal")

#: The fields words are scored in: ``content`` (title and abstract as one text, what
#: plain words are ranked by) and every field a query can name.  ``reindex`` keeps
#: their postings as arrays (:mod:`search.arrays`).
SCORED_FIELDS = ("content", "title", "abstract", "authors", "affiliations", "institution", "journal", "author_keys")
#: The fields ``content`` is made of: its postings are theirs added together
#: (:mod:`search.postings`), its words not analysed twice.
CONTENT_PARTS = ("title", "abstract")


def exact_values() -> KEYWORD:
    """A multi-valued exact field: whole values, case kept, one per line."""
    field = KEYWORD(scorable=False)
    field.analyzer = RegexTokenizer(r"[^\n]+")
    return field


def build_schema() -> Schema:
    """The schema of every index this engine writes."""
    localized = LocalizedAnalyzer()
    names = name_analyzer()
    return Schema(
        id=ID(unique=True, stored=True),
        source=ID(stored=True),
        # The word fields' postings are written by search.postings, not Whoosh: these fields
        # give the analyzers (of queries too).  The words as written, the vocabulary of "did
        # you mean", are arrays too (search.arrays), not Whoosh's spelling fields.
        title=TEXT(analyzer=localized, phrase=True),
        abstract=TEXT(analyzer=localized, phrase=True),
        # Title and abstract as one text: what plain words are ranked by (docs/relevance.md).
        # Its postings are those of title and abstract added together.
        content=TEXT(analyzer=localized, phrase=True),
        authors=TEXT(analyzer=names, phrase=True),
        # Each author's surname-and-initials keys ("smith js"), one a line (search.names).
        author_keys=TEXT(analyzer=NameKeyTokenizer(), phrase=False),
        affiliations=TEXT(analyzer=localized, phrase=True),
        journal=TEXT(analyzer=names, phrase=True),
        institution=TEXT(analyzer=names, phrase=True),
        # Exact values behind the facets and filters.
        institution_facet=exact_values(),
        journal_facet=ID(),
        # One term a value (shift_step=bits), not Whoosh's eight: searches filter and sort
        # on the arrays, and the terms were two thirds of the postings Whoosh writes.
        year=NUMERIC(int, bits=32, signed=False, sortable=True, shift_step=32),
        date=NUMERIC(int, bits=32, signed=False, sortable=True, shift_step=32),
        record=STORED(),
        # Fingerprint of the text the meaning vector is computed from (search.meaning): a
        # rebuild carries the vector over when it is unchanged.  A column is read by docnum
        # without unpickling the stored record.
        meaning_key=COLUMN(FixedBytesColumn(KEY_BYTES)),
    )
