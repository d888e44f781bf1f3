"""The institution facet end to end: names across languages grouped under one value, the
local alias file applied by reindex without reading the exports again, search by any
variant, article pages linking each institution to its facet value, the librarian's report."""

from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from search.aliases import AliasError, read_aliases
from search.articles import find_article
from search.canonical import TableError, canonical, group_key, load
from search.engine import Engine
from search.facets import Filters
from search.institution_facet import facet_values, read_rules, write_report
from search.institutions import extract
from search.query import SearchParams, run_search
from search.reindex import reindex

SEED = Path(__file__).parent / "fixtures" / "seed-article.xml"

#: Affiliations as MEDLINE and other databases write them (scripts/data/institution-groups.tsv).
AFFILIATIONS = [
    "Department of Pharmacology, Universität Wien, Vienna, Austria",
    "Faculty of Life Sciences, University of Vienna, Vienna, Austria",
    "Department of Neurology, Karolinska Universitetssjukhuset, Stockholm, Sweden",
    "Department of Cardiology, Karolinska University Hospital, Stockholm, Sweden",
    "CNRS, UMR 7622, Institut de Biologie Paris-Seine, Paris, France",
]


def _exports(folder: Path) -> Path:
    """One export file of the seed article repeated, each copy with its own title and one
    affiliation of :data:`AFFILIATIONS`."""
    seed = SEED.read_text(encoding="utf-8")
    article = seed[seed.index("<Article>"):seed.index("</Article>") + len("</Article>")]
    copies = []
    for number, affiliation in enumerate(AFFILIATIONS):
        copy = article.replace("Adoptive Cell Therapy in Pediatric Leukemia", f"Article {number} on leukemia")
        copy = copy.replace("article/view/192", f"article/view/{900 + number}")
        copy = re.sub(r"<affiliation locale=\"en_US\">[^<]*</affiliation>",
                      f'<affiliation locale="en_US">{escape(affiliation)}</affiliation>', copy)
        copies.append(copy)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "export.xml").write_text(
        seed[:seed.index("<Article>")] + "\n".join(copies) + seed[seed.index("</Articles>"):], encoding="utf-8")
    return folder


def _facet(index_dir: Path) -> dict[str, int]:
    snapshot = Engine(index_dir).snapshot()
    result = run_search(snapshot, SearchParams(more=("institution",)))
    return {value.value: value.count for value in result.facets["institution"]}


def _found(index_dir: Path, q: str = "", institution: tuple[str, ...] = ()) -> int:
    snapshot = Engine(index_dir).snapshot()
    return run_search(snapshot, SearchParams(q=q, filters=Filters(institution=institution))).total


# --- names across languages ------------------------------------------------------------------

@pytest.mark.parametrize("names, shown", [
    (["Universität Wien", "University Wien", "University of Vienna"], "University of Vienna"),
    (["Université de Montréal", "University of Montreal"], "University of Montreal"),
    (["Universidade de São Paulo", "USP", "University of São Paulo"], "University of São Paulo"),
    (["CNRS", "Centre National de la Recherche Scientifique"], "French National Centre for Scientific Research"),
    (["Centre Hospitalier Universitaire de Dijon", "CHU de Dijon", "Dijon University Hospital"],
     "Dijon University Hospital"),
    (["Ankara Üniversitesi", "Ankara University"], "Ankara University"),
    (["Beijing Daxue", "Peking University"], "Peking University"),
])
def test_local_forms_acronyms_and_english_share_one_name(names: list[str], shown: str) -> None:
    assert {canonical(name) for name in names} == {shown}


def test_word_order_is_free_only_for_listed_places() -> None:
    assert group_key("Kyoto University") == group_key("University of Kyoto")
    # Washington is not listed: these are two universities.
    assert group_key("Washington University") != group_key("University of Washington")


def test_acronym_joined_to_a_name_and_slash_give_both_organisations() -> None:
    assert [canonical(n) for n in extract("CSIC-Universidad de Sevilla, Sevilla, Spain")] == [
        "Spanish National Research Council", "University of Seville"]
    assert extract("Royal Free Hospital/University College London, London, UK") == [
        "Royal Free Hospital", "University College London"]


def test_schools_roll_up_to_their_university() -> None:
    assert extract("Department of Public Health Sciences, University of Miami Miller School of Medicine, "
                   "Miami, 33136 FL, USA.") == ["University of Miami"]
    assert extract("Division of Sleep and Chronobiology, Perelman School of Medicine at the University of "
                   "Pennsylvania, Philadelphia, PA, USA.") == ["University of Pennsylvania"]
    # "Yale School of Medicine" joins "Yale University" when the collection has it.
    values = facet_values({"Yale School of Medicine": 1, "Yale University": 3}, read_rules(None))
    assert set(values.values()) == {"Yale University"}
    assert facet_values({"Yale School of Medicine": 1}, read_rules(None)) == {
        "Yale School of Medicine": "Yale School of Medicine"}


def test_a_malformed_table_row_names_file_and_line(tmp_path: Path) -> None:
    names = tmp_path / "names.tsv"
    names.write_text("# comment\nUniversität {}\tUniversity of {}\nUniversität {}\n", encoding="utf-8")
    places = tmp_path / "places.tsv"
    places.write_text("Wien\tVienna\n", encoding="utf-8")
    acronyms = tmp_path / "acronyms.tsv"
    acronyms.write_text("", encoding="utf-8")
    with pytest.raises(TableError, match=r"names\.tsv, line 3"):
        load(names, places, acronyms)


def test_national_bodies_and_systems_come_from_the_tables(tmp_path: Path) -> None:
    names, places, acronyms, systems = (tmp_path / f"{n}.tsv" for n in ("names", "places", "acronyms", "systems"))
    names.write_text("Universität {}\tUniversity of {}\n", encoding="utf-8")
    places.write_text("Wien\tVienna\n", encoding="utf-8")
    acronyms.write_text("Spanish National Research Council\tCSIC|Consejo Superior\tnational body\n"
                        "Max Planck Society\tMPG\n", encoding="utf-8")
    systems.write_text("# systems\nUniversity of California\n", encoding="utf-8")
    tables = load(names, places, acronyms, systems)
    assert tables.bodies == {"csic"}
    assert tables.systems == ("University of California",)
    marked = tmp_path / "marked.tsv"  # a new path: load() caches by path
    marked.write_text("Max Planck Society\tMPG\tnational\n", encoding="utf-8")
    with pytest.raises(TableError, match=r"marked\.tsv, line 1: the third column"):
        load(names, places, marked, systems)


# --- the alias file ----------------------------------------------------------------------------

def test_alias_file_errors_name_file_and_line(tmp_path: Path) -> None:
    aliases = tmp_path / "aliases.tsv"
    aliases.write_text("# shown as\tother names\nKarolinska University Hospital\n", encoding="utf-8")
    with pytest.raises(AliasError, match=r"aliases\.tsv, line 2"):
        read_aliases(aliases, load())
    aliases.write_text("A Hospital\tB Hospital\nC Hospital\tB Hospital\n", encoding="utf-8")
    with pytest.raises(AliasError, match=r"line 2: 'B Hospital' is already shown as 'A Hospital'"):
        read_aliases(aliases, load())
    with pytest.raises(AliasError, match="missing.tsv"):
        read_aliases(tmp_path / "missing.tsv", load())


def test_alias_file_regroups_the_facet_without_reading_the_exports(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, index_dir = _exports(tmp_path / "data"), tmp_path / "index"
    monkeypatch.delenv("SEARCH_INSTITUTION_ALIASES", raising=False)
    reindex([data], index_dir, with_meaning=False)
    facet = _facet(index_dir)
    assert facet["University of Vienna"] == 2
    assert facet["French National Centre for Scientific Research"] == 1
    assert facet["Karolinska Universitetssjukhuset"] == facet["Karolinska University Hospital"] == 1

    aliases = tmp_path / "aliases.tsv"
    aliases.write_text("# shown as\tother names\n"
                       "Karolinska University Hospital\tKarolinska Universitetssjukhuset\n", encoding="utf-8")
    monkeypatch.setenv("SEARCH_INSTITUTION_ALIASES", str(aliases))
    summary = reindex([data], index_dir, with_meaning=False)
    assert summary.changed and summary.files_read == 0
    facet = _facet(index_dir)
    assert facet["Karolinska University Hospital"] == 2 and "Karolinska Universitetssjukhuset" not in facet
    # Nothing changed since: nothing to do.
    assert not reindex([data], index_dir, with_meaning=False).changed

    # Search and facet clicks find an article by any name of its organisation.
    assert _found(index_dir, 'institution:"Karolinska Universitetssjukhuset"') == 2
    assert _found(index_dir, 'institution:"Universität Wien"') == 2
    assert _found(index_dir, "institution:CNRS") == 1
    assert _found(index_dir, institution=("University of Vienna",)) == 2

    # The article page shows the facet values, which its links select.
    snapshot = Engine(index_dir).snapshot()
    hit = run_search(snapshot, SearchParams(q='institution:"Karolinska Universitetssjukhuset"')).hits[0]
    article = find_article(snapshot, hit.id)
    assert article["institutions"] == ["Karolinska University Hospital"]
    assert article["authors"][0]["institutions"] == ["Karolinska University Hospital"]

    report = tmp_path / "report.tsv"
    assert write_report(index_dir, report) == len(facet)
    lines = report.read_text(encoding="utf-8").splitlines()
    assert ("Karolinska University Hospital\t2\tKarolinska Universitetssjukhuset\t"
            "Department of Neurology, Karolinska Universitetssjukhuset, Stockholm, Sweden\t1") in lines


# --- values the shipped sample (data/sample) once split ---------------------------------------

def _values(counts: dict[str, int]) -> dict[str, str]:
    return facet_values(counts, read_rules(None))


def test_schools_show_their_university_and_hospitals_stay_their_own() -> None:
    harvard = _values({"Harvard Medical School": 6, "Harvard T.H. Chan School of Public Health": 2,
                       "Harvard University": 1})
    assert set(harvard.values()) == {"Harvard University"}
    hopkins = _values({"Johns Hopkins Medical Institutions": 2, "Johns Hopkins School of Medicine": 1,
                       "Johns Hopkins University": 1})
    assert set(hopkins.values()) == {"Johns Hopkins University"}
    peking = _values({"Peking University": 4, "Peking Union Medical College Hospital": 1,
                      "Peking Union Medical College": 1, "Liverpool School of Tropical Medicine": 1,
                      "University of Liverpool": 1})
    assert peking == {name: name for name in peking}  # a hospital; schools of their own (the tables)
    ucsd = _values({"University of California San Diego School of Medicine": 1, "UC San Diego": 2})
    assert set(ucsd.values()) == {"University of California, San Diego"}


def test_spelling_variants_of_one_name_share_a_value() -> None:
    assert len(set(_values({"Shanghai Jiao Tong University": 3, "Shanghai Jiaotong University": 2,
                            "Third Xiang-Ya Hospital": 1, "Third Xiangya Hospital": 1}).values())) == 2
    alabama = _values({"University of Alabama at Birmingham": 2, "University of Alabama, Birmingham": 1,
                       "University of Alabama, Tuscaloosa": 1})
    assert sorted(set(alabama.values())) == ["University of Alabama at Birmingham", "University of Alabama, Tuscaloosa"]
    assert set(_values({"Moorfields Eye Hospital": 1, **{
        name: 1 for name in extract("Moorfields Eye Hospital NHS Foundation Trust (Findl), London, United Kingdom.")
    }}).values()) == {"Moorfields Eye Hospital"}
