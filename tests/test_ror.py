"""ROR in the institution facet: ROR ids that affiliations carry group their names, and a ROR
data dump (``reindex --ror FILE``, ``SEARCH_ROR_DUMP``) groups names it knows, rolls schools up
to their university and keeps hospitals and campuses as their own organisations.

``fixtures/ror-v2-sample.json`` holds thirteen organisations in the dump's v2 schema (names,
ids and relationships as the registry has them; Perelman School of Medicine's id is made up);
``fixtures/pubmed-ror.xml`` holds PubMed records whose affiliations carry ROR ids.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from search.cli import reindex_command
from search.engine import Engine
from search.facets import Filters
from search.institution_facet import write_report
from search.query import SearchParams, run_search
from search.reindex import reindex
from search.ror import RorError, read_registry

FIXTURES = Path(__file__).parent / "fixtures"
DUMP = FIXTURES / "ror-v2-sample.json"
HARVARD, MEDICAL_SCHOOL, MGH = "https://ror.org/03vek6s52", "https://ror.org/03wevmz92", "https://ror.org/002pd6e78"


def _facet(index_dir: Path) -> dict[str, int]:
    result = run_search(Engine(index_dir).snapshot(), SearchParams(more=("institution",)))
    return {value.value: value.count for value in result.facets["institution"]}


def _found(index_dir: Path, q: str = "", institution: tuple[str, ...] = ()) -> int:
    return run_search(Engine(index_dir).snapshot(), SearchParams(q=q, filters=Filters(institution=institution))).total


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No alias file or dump from the environment; what a test sets is undone after it."""
    monkeypatch.delenv("SEARCH_ROR_DUMP", raising=False)
    monkeypatch.delenv("SEARCH_INSTITUTION_ALIASES", raising=False)


# --- the dump ----------------------------------------------------------------------------------

def test_dump_names_labels_and_acronyms_find_one_organisation() -> None:
    registry = read_registry(DUMP)
    assert registry.match(["Göteborgs universitet"]) == "https://ror.org/01tm6cn81"  # a label in Swedish
    assert registry.match(["La Paz University Hospital"]) == "https://ror.org/01s1q0w69"  # an alias
    assert registry.match(["KTH"]) == "https://ror.org/026vcq606"
    # An acronym names an organisation only as a whole part, and only when one has it.
    assert registry.match(["Kth"]) is None
    assert registry.match(["UW"]) is None  # the University of Warsaw, and of Washington
    assert registry.match(["Institute of Nowhere"]) is None


def test_schools_roll_up_but_hospitals_and_campuses_stay_themselves() -> None:
    registry = read_registry(DUMP)
    assert registry.organisation(MEDICAL_SCHOOL) == HARVARD
    assert registry.match(["Perelman School of Medicine"]) == "https://ror.org/00b30xv10"
    # A hospital related to the university is its own organisation.
    assert registry.organisation(MGH) == MGH
    # A campus of a university system is a university, not a school of the system.
    assert registry.organisation("043mz5j54") == "https://ror.org/043mz5j54"
    assert registry.organisation("https://ror.org/0abcdef12") is None


def test_the_release_zip_reads_like_its_json(tmp_path: Path) -> None:
    release = tmp_path / "v1.58-2024-12-11-ror-data.zip"
    with zipfile.ZipFile(release, "w") as archive:
        archive.writestr("v1.58-2024-12-11-ror-data.csv", "id,name\n")
        archive.write(DUMP, "v1.58-2024-12-11-ror-data_schema_v2.json")
    registry = read_registry(release)
    assert registry.organisation(MEDICAL_SCHOOL) == HARVARD
    assert registry.display_name(HARVARD) == "Harvard University"


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not a ROR dump"),
    ('{"id": "https://ror.org/03vek6s52"}', "expected a JSON list"),
    # Schema v1: "name" and "acronyms", no "names".
    ('[{"id": "https://ror.org/03vek6s52", "name": "Harvard University", "acronyms": []}]', "v2 schema"),
])
def test_an_unusable_dump_names_file_and_reason(tmp_path: Path, content: str, reason: str) -> None:
    dump = tmp_path / "ror.json"
    dump.write_text(content, encoding="utf-8")
    with pytest.raises(RorError, match=rf"ror\.json: .*{reason}"):
        read_registry(dump)
    with pytest.raises(RorError, match="missing.json"):
        read_registry(tmp_path / "missing.json")


def test_an_organisation_without_names_is_passed_over(tmp_path: Path) -> None:
    organisations = json.loads(DUMP.read_text(encoding="utf-8"))
    dump = tmp_path / "ror.json"
    dump.write_text(json.dumps([{"id": "https://ror.org/0abcdef12"}, "odd", *organisations]), encoding="utf-8")
    assert read_registry(dump).match(["Harvard University"]) == HARVARD


# --- end to end ----------------------------------------------------------------------------------

def test_ror_ids_group_names_and_a_dump_groups_more(tmp_path: Path, no_settings: None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    data, index_dir = tmp_path / "data", tmp_path / "index"
    data.mkdir()
    shutil.copy(FIXTURES / "pubmed-ror.xml", data)
    reindex([data], index_dir, with_meaning=False)
    facet = _facet(index_dir)
    # "MGH" carries the hospital's ROR id: it joins the hospital's other names.
    assert facet["Massachusetts General Hospital"] == 4 and "MGH" not in facet
    assert facet["Harvard University"] == 3 and "Harvard Medical School" not in facet
    # Without a dump, names no ROR id or table joins stay apart.
    assert facet["KTH"] == facet["KTH Royal Institute of Technology"] == 1
    assert facet["University of Gothenburg"] == 1 and facet["Perelman School of Medicine"] == 1

    result = CliRunner().invoke(reindex_command, [str(data), "--index", str(index_dir), "--no-meaning",
                                                  "--ror", str(DUMP)])
    assert result.exit_code == 0, result.output
    assert "files:    0 read, 1 unchanged" in result.output  # derived again from the stored names
    facet = _facet(index_dir)
    assert facet["KTH Royal Institute of Technology"] == 2 and "KTH" not in facet
    assert facet["University of Gothenburg"] == 2  # "Göteborgs universitet" too
    assert facet["University of Warsaw"] == 2  # "Uniwersytet Warszawski" too
    # The school joins its university; the hospital and the campus stay themselves.
    assert facet["University of Pennsylvania"] == 3 and "Perelman School of Medicine" not in facet
    assert facet["Massachusetts General Hospital"] == 4 and facet["Harvard University"] == 3
    assert facet["University of California, San Francisco"] == 1 and "University of California System" not in facet
    # A value the dump names is shown by the dump's display name.
    assert facet["Hospital Universitario La Paz"] == 1 and "La Paz University Hospital" not in facet
    assert _found(index_dir, 'institution:"Göteborgs universitet"') == 2
    assert _found(index_dir, institution=("University of Pennsylvania",)) == 3
    report = tmp_path / "report.tsv"
    write_report(index_dir, report)
    assert any(line.startswith("KTH Royal Institute of Technology\t2\tKTH\t")
               for line in report.read_text(encoding="utf-8").splitlines())

    # The same dump as a setting: nothing to do.  A changed dump derives the facet again.
    monkeypatch.setenv("SEARCH_ROR_DUMP", str(DUMP))
    assert not reindex([data], index_dir, with_meaning=False).changed
    changed = tmp_path / "ror-changed.json"
    organisations = [o for o in json.loads(DUMP.read_text(encoding="utf-8")) if o["id"] != "https://ror.org/026vcq606"]
    changed.write_text(json.dumps(organisations), encoding="utf-8")
    monkeypatch.setenv("SEARCH_ROR_DUMP", str(changed))
    summary = reindex([data], index_dir, with_meaning=False)
    assert summary.changed and summary.files_read == 0
    assert _facet(index_dir)["KTH"] == 1


def test_a_bad_dump_stops_reindex_before_any_work(tmp_path: Path, no_settings: None) -> None:
    dump = tmp_path / "ror.json"
    dump.write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(reindex_command, [str(tmp_path), "--index", str(tmp_path / "index"),
                                                  "--no-meaning", "--ror", str(dump)])
    assert result.exit_code == 2 and "ror.json" in result.output
    assert not (tmp_path / "index").exists()

