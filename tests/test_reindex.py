"""The ``reindex`` command: incremental runs, atomic swaps, concurrency and crashes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from search import store
from search.cli import reindex_command
from search.engine import Engine
from search.query import SearchParams, run_search
from search import reindex as reindex_module
from search.reindex import reindex

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A folder of exports: the seed, four MEDLINE citations (export format) and a PubMed file."""
    folder = tmp_path / "data"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(FIXTURES / "seed-article.xml", folder / "seed.xml")
    shutil.copy(FIXTURES / "medline-sample-export.xml", folder / "nested" / "medline.xml")
    shutil.copy(FIXTURES / "pubmed-articleset.xml", folder / "pubmed.xml")
    (folder / "README.txt").write_text("not an export")
    return folder


def ids_in(index_dir: Path) -> set[str]:
    index, _ = store.open_live(index_dir)
    with index.searcher() as searcher:
        return {fields["id"] for fields in searcher.all_stored_fields()}


def titles_in(index_dir: Path) -> set[str]:
    index, _ = store.open_live(index_dir)
    with index.searcher() as searcher:
        return {json.loads(f["record"])["titles"][0]["text"] for f in searcher.all_stored_fields()}


def test_first_run_indexes_every_article_and_ignores_other_files(data: Path, tmp_path: Path) -> None:
    summary = reindex([data], tmp_path / "index")
    assert summary.ok and summary.files_read == 3
    assert (summary.added, summary.updated, summary.deleted, summary.duplicates) == (6, 0, 0, 0)
    assert len(ids_in(tmp_path / "index")) == 6


def test_nothing_changed_reads_no_file(data: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    first = reindex([data], index)
    os.utime(data / "seed.xml")  # a new mtime alone is not a change of content
    again = reindex([data], index)
    assert again.files_read == 0 and again.files_unchanged == 3
    assert not again.changed and store.live_generation(index).name == first.generation


def test_changed_file_is_the_only_one_read(data: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    reindex([data], index)
    seed = data / "seed.xml"
    seed.write_text(seed.read_text().replace("Adoptive Cell Therapy", "Adoptive Cell Therapies"))
    summary = reindex([data], index)
    assert summary.files_read == 1 and summary.files_unchanged == 2
    assert (summary.added, summary.updated, summary.deleted) == (0, 1, 0)
    assert "Adoptive Cell Therapies in Pediatric Leukemia" in titles_in(index)
    assert len(ids_in(index)) == 6


def test_added_and_deleted_files(data: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    reindex([data], index)
    (data / "nested" / "medline.xml").unlink()
    summary = reindex([data], index)
    assert (summary.files_read, summary.files_removed, summary.deleted) == (0, 1, 4)
    assert len(ids_in(index)) == 2
    shutil.copy(FIXTURES / "medline-sample.xml.gz", data / "medline.xml.gz")
    summary = reindex([data], index)
    assert (summary.files_read, summary.added) == (1, 4)
    assert len(ids_in(index)) == 6


def test_same_article_in_two_files_is_indexed_once_and_survives_either_removal(data: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copy(FIXTURES / "medline-sample.xml.gz", data / "zz-medline.xml.gz")
    summary = reindex([data], index)
    assert (summary.added, summary.duplicates) == (6, 4)
    (data / "nested" / "medline.xml").unlink()  # the copy that was indexed
    summary = reindex([data], index)
    assert summary.deleted == 0 and summary.updated == 4
    assert len(ids_in(index)) == 6
    # Now from the MEDLINE file: its Italian vernacular title is there.
    assert any(t.startswith("[Trends in occurrence") for t in titles_in(index))


def test_broken_file_reports_errors_and_keeps_what_it_had(data: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    reindex([data], index)
    medline = data / "nested" / "medline.xml"
    text = medline.read_text()
    medline.write_text(text[: len(text) // 2])  # truncated mid-article
    result = CliRunner().invoke(reindex_command, [str(data), "--index", str(index)])
    assert result.exit_code == 1
    assert f"error: {medline}:" in result.output and "malformed XML" in result.output
    assert len(ids_in(index)) == 6  # nothing already indexed is lost
    # And it is reported again next time, until fixed.
    assert CliRunner().invoke(reindex_command, [str(data), "--index", str(index)]).exit_code == 1
    before = store.live_generation(index)
    full = CliRunner().invoke(reindex_command, [str(data), "--index", str(index), "--full"])
    assert full.exception is None or isinstance(full.exception, SystemExit), full.exception
    assert full.exit_code == 1 and "errors:   1" in full.output
    # A rebuild, published, with the unreadable file's articles carried over from the old index.
    assert store.live_generation(index) != before and len(ids_in(index)) == 6


def test_file_gone_between_listing_and_reading_is_reported_and_keeps_its_articles(
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    reindex([data], index, with_meaning=False)
    medline = data / "nested" / "medline.xml"
    listed = reindex_module.find_sources([data])
    medline.unlink()  # as a sync job might, after the folder was listed
    monkeypatch.setattr(reindex_module, "find_sources", lambda sources: listed)
    summary = reindex([data], index, with_meaning=False)
    assert [p.file for p in summary.errors] == [str(medline)]
    assert len(ids_in(index)) == 6  # its articles stay until the file is really removed


def test_cli_summary_and_defaults_from_environment(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (data / "empty.xml").write_text(
        "<Articles><Article><title/><web_url>https://j.example/void</web_url></Article></Articles>"
    )
    monkeypatch.setenv("SEARCH_INDEX_DIR", str(tmp_path / "env-index"))
    monkeypatch.setenv("SEARCH_DATA_DIR", str(data))
    result = CliRunner().invoke(reindex_command, [])
    assert result.exit_code == 0, result.output
    assert f"skipped: {data / 'empty.xml'}:1 (https://j.example/void): no title and no abstract" in result.output
    assert "6 added, 0 updated, 0 deleted, 1 skipped (7 distinct read)" in result.output
    assert len(ids_in(tmp_path / "env-index")) == 6


def test_missing_source_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(reindex_command, [str(tmp_path / "nowhere"), "--index", str(tmp_path / "i")])
    assert result.exit_code == 1 and "no such file or folder" in result.output


def test_full_rebuild_swaps_while_a_searcher_holds_the_old_index(data: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    reindex([data], index)
    old_generation = store.live_generation(index)
    snapshot = Engine(index).snapshot()
    before = run_search(snapshot, SearchParams()).total  # opens its files
    (data / "pubmed.xml").unlink()
    for _ in range(store.KEEP_PREVIOUS + 1):  # enough swaps for the oldest generation to be pruned
        summary = reindex([data], index, full=True)
    assert summary.changed and store.live_generation(index) != old_generation
    # A search opened before still reads its own, complete generation.
    assert run_search(snapshot, SearchParams()).total == before == 6
    leukemia = run_search(snapshot, SearchParams(q="leukemia"))
    assert leukemia.total == 1 and leukemia.hits[0].title
    assert len(ids_in(index)) == 5
    assert len(list(index.glob("gen-*"))) == store.KEEP_PREVIOUS + 1


def test_second_reindex_exits_at_once_or_waits(data: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    # Another process holds the lock for a second, as a running reindex would.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from search import store; "
         "held = store.lock(Path(sys.argv[1])); print('held', flush=True); time.sleep(1)", str(index)],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    result = CliRunner().invoke(reindex_command, [str(data), "--index", str(index)])
    assert result.exit_code == 2 and "another reindex is already writing" in result.output
    assert time.monotonic() - started < 0.5 and store.live_generation(index) is None
    result = CliRunner().invoke(reindex_command, [str(data), "--index", str(index), "--wait"])
    assert result.exit_code == 0 and holder.poll() is not None  # it waited for the other to finish
    assert len(ids_in(index)) == 6
    holder.wait()
    holder.stdout.close()


BIG_FILES, BIG_PER_FILE = 10, 50


def _big_corpus(folder: Path, files: int = BIG_FILES, per_file: int = BIG_PER_FILE) -> None:
    folder.mkdir()
    abstract = "Background words about cells, proteins and clinical outcomes in patients. " * 8
    for f in range(files):
        records = "".join(
            f"<Article><title>Study {f}-{i} of outcomes</title><abstract>{abstract}</abstract>"
            f"<web_url>https://j.example/{f}/{i}</web_url></Article>"
            for i in range(per_file)
        )
        (folder / f"big-{f:03d}.xml").write_text(f"<Articles>{records}</Articles>")


def test_an_interrupt_lost_in_a_destructor_still_stops_the_run() -> None:
    # Python ignores a KeyboardInterrupt raised inside __del__: a Ctrl-C landing there once
    # let a run finish, publish and exit 0 (the SIGINT case below, in CI).
    code = (
        "import time\n"
        "from search.cli import _never_lose_interrupts\n"
        "_never_lose_interrupts()\n"
        "class Dropped:\n"
        "    def __del__(self):\n"
        "        raise KeyboardInterrupt\n"
        "Dropped()\n"
        "try:\n"
        "    time.sleep(5)\n"
        "except KeyboardInterrupt:\n"
        "    print('stopped')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "stopped", run.stderr


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_killed_reindex_leaves_the_live_index_intact_and_the_next_run_recovers(
    data: Path, tmp_path: Path, how: signal.Signals
) -> None:
    index = tmp_path / "index"
    reindex([data], index)
    live = store.live_generation(index)
    _big_corpus(data / "big")
    # Ctrl-C as a terminal delivers it, even when this suite itself runs in the background
    # (`nohup ... &`), where the shell starts it, and so this child, with SIGINT ignored.
    start = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); from search.cli import main; main()"
    command = [sys.executable, "-c", start, str(data), "--index", str(index), "--full"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(index.glob("building-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)  # well into writing the new generation
    assert process.poll() is None, "reindex finished before it could be interrupted"
    process.send_signal(how)
    process.wait(timeout=60)
    assert process.returncode != 0
    assert store.live_generation(index) == live
    assert len(ids_in(index)) == 6
    summary = reindex([data], index)
    assert summary.ok and summary.added == BIG_FILES * BIG_PER_FILE
    assert not list(index.glob("building-*"))
    assert len(ids_in(index)) == 6 + BIG_FILES * BIG_PER_FILE
