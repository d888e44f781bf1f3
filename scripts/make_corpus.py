"""Make a large collection of realistic articles for benchmarks, from real records.

    .venv/bin/python scripts/make_corpus.py N DIR [--seed S] [--source ../shared/corpora]

Writes N articles in the OJS export format (``<Articles>/<Article>``), 1,000 a file,
by recombining real material read with the product's own parser: a real title; an
abstract of sentences from several real abstracts; one to eight real authors, each
with a real affiliation; a real journal; a year skewed to recent ones.  The same
seed gives the same files; no two articles have the same words.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.ingest import Problem, read_file  # noqa: E402
from search.reindex import find_sources  # noqa: E402

PER_FILE = 1000
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def material(source: Path) -> tuple[list[str], list[str], list[tuple[str, str, str]], list[str]]:
    """Titles, abstract sentences, (first name, last name, affiliation) and journals of every
    real record under ``source``."""
    titles, sentences, authors, journals = [], [], [], set()
    for path in find_sources([source]):
        for record in read_file(path):
            if isinstance(record, Problem):
                continue
            titles += [t.text for t in record.titles if t.text.isascii()]
            for abstract in record.abstracts:
                sentences += [s for s in _SENTENCE.split(abstract.text) if 40 <= len(s) <= 400]
            authors += [(a.first_name, a.last_name, a.affiliations[0].text)
                        for a in record.authors if a.last_name and a.affiliations]
            if record.journal:
                journals.add(record.journal)
    return titles, sentences, authors, sorted(journals)


def articles(count: int, seed: int, source: Path):
    """(title, abstract, authors, journal, year) of ``count`` made-up articles, all different."""
    titles, sentences, authors, journals = material(source)
    if not (titles and sentences and authors and journals):
        raise SystemExit(f"{source}: no usable records (titles, abstracts, authors with affiliations, journals)")
    rng = random.Random(seed)
    seen: set[frozenset[str]] = set()
    years = list(range(1990, 2027))
    weights = [1.15 ** (y - 1990) for y in years]  # more recent years are more common
    made = 0
    while made < count:
        abstract = " ".join(rng.sample(sentences, rng.randint(4, 9)))
        title = rng.choice(titles)
        words = frozenset((title + " " + abstract).lower().split())
        if words in seen:
            continue
        seen.add(words)
        made += 1
        yield title, abstract, rng.sample(authors, rng.randint(1, 8)), rng.choice(journals), \
            rng.choices(years, weights)[0]


def write(count: int, folder: Path, seed: int, source: Path) -> int:
    """Write the collection; returns the number of files."""
    folder.mkdir(parents=True, exist_ok=True)
    files, parts = 0, []
    for number, (title, abstract, authors, journal, year) in enumerate(articles(count, seed, source), 1):
        people = "".join(
            f"<Author><FirstName>{escape(first)}</FirstName><LastName>{escape(last)}</LastName>"
            f"<affiliation locale=\"en_US\">{escape(affiliation)}</affiliation></Author>"
            for first, last, affiliation in authors)
        parts.append(
            f"<Article><Journal><JournalTitle>{escape(journal)}</JournalTitle>"
            f"<PubDate PubStatus=\"epublish\"><Year>{year}</Year></PubDate></Journal>"
            f"<title locale=\"en_US\">{escape(title)}</title><AuthorList>{people}</AuthorList>"
            f"<abstract locale=\"en_US\">{escape(abstract)}</abstract>"
            f"<web_url>https://bench.example.org/article/{seed}-{number}</web_url></Article>")
        if len(parts) == PER_FILE or number == count:
            files += 1
            (folder / f"bench-{files:04d}.xml").write_text(
                f"<?xml version=\"1.0\"?>\n<Articles JournalTitle={quoteattr('bench')}>\n"
                + "\n".join(parts) + "\n</Articles>\n", encoding="utf-8")
            parts = []
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", type=int, help="how many articles")
    parser.add_argument("folder", type=Path, help="where to write them")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared" / "corpora",
                        help="real records to recombine (default: ../shared/corpora)")
    args = parser.parse_args()
    files = write(args.count, args.folder, args.seed, args.source)
    print(f"{args.count} articles in {files} files under {args.folder}")


if __name__ == "__main__":
    main()
