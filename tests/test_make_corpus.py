"""The benchmark's collection maker: real records recombined, readable, all different, repeatable."""

from __future__ import annotations

import sys
from pathlib import Path

from search.ingest import Problem, read_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import make_corpus  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def made(folder: Path, count: int, seed: int) -> list:
    make_corpus.write(count, folder, seed=seed, source=FIXTURES)
    records = [r for path in sorted(folder.glob("*.xml")) for r in read_file(path)]
    assert not [r for r in records if isinstance(r, Problem)]
    return records


def test_articles_read_back_all_different_and_the_same_for_a_seed(tmp_path: Path) -> None:
    records = made(tmp_path / "a", 60, seed=4)
    assert len(records) == 60
    assert len({r.web_url for r in records}) == 60
    words = {frozenset((r.titles[0].text + " " + r.abstracts[0].text).lower().split()) for r in records}
    assert len(words) == 60
    assert all(r.authors and all(a.affiliations for a in r.authors) and r.journal and r.published
               for r in records)
    again = made(tmp_path / "b", 60, seed=4)
    assert [r.abstracts[0].text for r in again] == [r.abstracts[0].text for r in records]
    other = made(tmp_path / "c", 60, seed=5)
    assert [r.abstracts[0].text for r in other] != [r.abstracts[0].text for r in records]


def test_real_sentences_are_recombined(tmp_path: Path) -> None:
    sources = [r for path in sorted(FIXTURES.glob("*.xml*")) for r in read_file(path) if not isinstance(r, Problem)]
    real = " ".join(a.text for r in sources for a in r.abstracts)
    real_titles = {t.text for r in sources for t in r.titles}
    for record in made(tmp_path / "a", 20, seed=1):
        assert record.titles[0].text in real_titles
        assert record.abstracts[0].text not in real  # a new combination ...
        assert record.abstracts[0].text.split(". ")[0] in real  # ... of real sentences
