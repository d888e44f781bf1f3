"""Faults under the site: a missing, damaged or unreadable index is a 503 that says why
(as JSON for the API and ``/healthz``, as a page otherwise), never a 500 or a traceback;
and a disk that fills up during ``reindex`` leaves the live index as it was."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from search import store
from search.reindex import reindex
from web import create_app

FIXTURES = Path(__file__).parent / "fixtures"
#: Every kind of page and API answer; each must be a 503 when the index cannot be served.
URLS = ("/", "/search?q=cell", "/search", "/article/0123456789abcdef",
        "/api/search?q=cell", "/api/article/0123456789abcdef", "/healthz")

Breaker = Callable[[Path, Path], None]


@pytest.fixture(scope="module")
def good_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real index: the fixtures' six articles, words only."""
    folder = tmp_path_factory.mktemp("faults")
    data = folder / "data"
    data.mkdir()
    for name in ("seed-article.xml", "pubmed-articleset.xml", "medline-sample-export.xml"):
        shutil.copy(FIXTURES / name, data)
    summary = reindex([data], folder / "index", with_meaning=False)
    assert summary.ok and summary.added == 6
    return folder / "index"


@pytest.fixture
def index(good_index: Path, tmp_path: Path) -> Path:
    """A copy of :func:`good_index` for one test to break."""
    copy = tmp_path / "index"
    shutil.copytree(good_index, copy, symlinks=True)
    return copy


def site(index_dir: Path) -> FlaskClient:
    """The production app (not TESTING: errors are handled, not raised into the test)."""
    return create_app(index_dir).test_client()


def assert_unavailable(client: FlaskClient, reason: str) -> None:
    """Every URL answers 503 saying ``reason``; pages as pages, the API as JSON."""
    for url in URLS:
        response = client.get(url)
        body = response.data.decode()
        assert response.status_code == 503, (url, body[:300])
        assert "Traceback" not in body and 'File "' not in body, url
        if url.startswith("/api/") or url == "/healthz":
            assert response.mimetype == "application/json"
            said = response.get_json()["error"]
        else:
            assert response.mimetype == "text/html"
            said = BeautifulSoup(body, "html.parser").main.get_text()
            assert "Search is unavailable" in said
        assert reason in said, (url, said)


def live(index_dir: Path) -> Path:
    generation = store.live_generation(index_dir)
    assert generation is not None
    return generation


def replace_by_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def symlink_loop(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.name)


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def scribble(path: Path) -> None:
    path.write_bytes(b"\x8e\xff" * max(1, path.stat().st_size // 2))


def segment(generation: Path) -> Path:
    """A segment's term dictionary, which opening the segment reads (its parts are files)."""
    return next(generation.glob("*.trm"))


CASES: dict[str, tuple[Breaker, str]] = {
    "no CURRENT": (lambda d, g: (d / "CURRENT").unlink(), "run `reindex` first"),
    "CURRENT names a missing generation": (lambda d, g: shutil.rmtree(g), "which is not in"),
    "CURRENT empty": (lambda d, g: (d / "CURRENT").write_text(""), "names no generation"),
    "CURRENT points out of the folder": (lambda d, g: (d / "CURRENT").write_text(f"../{d.name}/{g.name}"),
                                         "names no generation"),
    "CURRENT not text": (lambda d, g: (d / "CURRENT").write_bytes(b"\xff\xfe\x00gen"), "cannot be read"),
    "CURRENT unreadable (a directory)": (lambda d, g: replace_by_directory(d / "CURRENT"), "cannot be read"),
    "CURRENT unreadable (a symlink loop)": (lambda d, g: symlink_loop(d / "CURRENT"), "cannot be read"),
    "Whoosh table of contents missing": (lambda d, g: next(g.glob("*.toc")).unlink(), "unreadable"),
    "Whoosh table of contents truncated": (lambda d, g: truncate(next(g.glob("*.toc"))), "unreadable"),
    "Whoosh segment missing": (lambda d, g: segment(g).unlink(), "unreadable"),
    "Whoosh segment truncated": (lambda d, g: truncate(segment(g)), "unreadable"),
    "Whoosh segment overwritten": (lambda d, g: scribble(segment(g)), "unreadable"),
    "arrays description damaged": (lambda d, g: scribble(g / "arrays.json"), "cannot be served"),
    "an array missing": (lambda d, g: (g / "live.npy").unlink(), "live.npy is missing"),
    "an array truncated": (lambda d, g: truncate(g / "facet-years.npy"), "facet-years.npy is damaged"),
    "meaning vectors truncated": (lambda d, g: truncate(next(g.glob("seg-*-vectors.npy"))), "vectors.npy is damaged"),
    "manifest damaged": (lambda d, g: scribble(g / "manifest.json"), "manifest.json is damaged"),
}


def test_no_index_folder_at_all(tmp_path: Path) -> None:
    assert_unavailable(site(tmp_path / "never-built"), "run `reindex` first")


# Whoosh leaves the file of a damaged table of contents or segment open when it fails to
# open it (it is closed when collected): collected here, so as not to warn in another test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("case", CASES)
def test_a_broken_index_is_a_503_with_the_reason(index: Path, case: str) -> None:
    breaker, reason = CASES[case]
    assert site(index).get("/healthz").status_code == 200  # the copy was good
    breaker(index, live(index))
    assert_unavailable(site(index), reason)
    gc.collect()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
@pytest.mark.parametrize("target", ["CURRENT", "generation"])
def test_files_without_read_permission(index: Path, target: str) -> None:
    path = index / "CURRENT" if target == "CURRENT" else live(index)
    path.chmod(0)
    try:
        assert_unavailable(site(index), "Permission denied" if target == "CURRENT" else "unreadable")
    finally:
        path.chmod(0o755)


def test_damage_found_while_searching_stops_serving_that_generation(index: Path) -> None:
    # Whoosh keeps no checksums: a damaged part of a segment (here its stored fields, as
    # bit rot or a bad copy would leave them) opens fine and fails when a search reads it.
    generation = live(index)
    client = site(index)
    assert client.get("/healthz").status_code == 200
    stored = next(generation.glob("*_stored.col"))
    stored.write_bytes(b"\xff" * stored.stat().st_size)
    # Both in a process that opened the generation before it was damaged and in a new one:
    # the first search that reads the damage is a 503, and so is everything after it.
    for process in (client, site(index)):
        assert process.get("/healthz").status_code == 200  # nothing read the damage yet
        page = process.get("/search?q=cell")
        assert page.status_code == 503 and "is damaged" in page.data.decode()
        assert_unavailable(process, "is damaged")


def test_reindex_over_a_damaged_manifest_says_which_file(index: Path, tmp_path: Path) -> None:
    scribble(live(index) / "manifest.json")
    command = [sys.executable, "-c", "from search.cli import main; main()", str(FIXTURES / "seed-article.xml"),
               "--index", str(index), "--no-meaning"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f"{live(index) / 'manifest.json'} is damaged" in run.stderr
    rebuilt = subprocess.run(command + ["--full"], capture_output=True, text=True, timeout=300)
    assert rebuilt.returncode == 0, rebuilt.stderr  # the way out: a rebuild from the files alone
    assert store.read_manifest(live(index)).files


def test_a_damaged_swap_is_a_503_and_the_next_good_one_is_served(index: Path) -> None:
    client = site(index)
    good = live(index).name
    assert client.get("/api/search?q=cell").status_code == 200
    broken = index / "gen-99999999T999999999999999-broken"
    shutil.copytree(index / good, broken)
    (broken / "live.npy").unlink()
    (index / "CURRENT").write_text(broken.name + "\n")
    response = client.get("/api/search?q=cell")
    assert response.status_code == 503 and "live.npy is missing" in response.get_json()["error"]
    (index / "CURRENT").write_text(good + "\n")
    assert client.get("/api/search?q=cell").status_code == 200
    assert client.get("/healthz").get_json()["generation"] == good


# --- disk full while writing ------------------------------------------------------------------

TMPFS_SIZE = "3M"


@pytest.fixture
def small_disk(tmp_path: Path) -> Path:
    """A 3 MB tmpfs, mounted for the test and removed after it."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path, room: int) -> Path:
    """A file taking all of ``disk``'s free space but ``room`` bytes."""
    filler = disk / "filler"
    free = os.statvfs(disk)
    with open(filler, "wb") as stream:
        stream.write(b"\0" * max(0, free.f_bavail * free.f_frsize - room))
    return filler


@pytest.mark.parametrize("room", [16_000, 150_000, 400_000])
def test_disk_full_during_reindex_names_the_folder_and_keeps_the_live_index(small_disk: Path, tmp_path: Path,
                                                                             room: int) -> None:
    # The room left decides where the run fails: in Whoosh's segment, in the arrays, ...
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURES / "seed-article.xml", data)
    index = small_disk / "index"
    assert reindex([data], index, with_meaning=False).ok
    before = live(index)
    client = site(index)
    found = client.get("/api/search?q=leukemia").get_json()
    assert found["total"] == 1

    for name in ("pubmed-articleset.xml", "medline-sample-export.xml"):
        shutil.copy(FIXTURES / name, data)
    filler = fill(small_disk, room)
    command = [sys.executable, "-c", "from search.cli import main; main()", str(data), "--index", str(index),
               "--full", "--no-meaning"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert f"no space left to write the index in {index}" in run.stderr, run.stderr[-2000:]
    # The live index is the one before, still searched, and nothing of the failed run is left.
    assert live(index) == before
    assert client.get("/api/search?q=leukemia").get_json()["hits"] == found["hits"]
    assert site(index).get("/api/search?q=leukemia").get_json()["hits"] == found["hits"]
    assert sorted(p.name for p in index.iterdir()) == sorted(["CURRENT", ".reindex.lock", before.name])

    filler.unlink()  # space again: the next run completes
    assert subprocess.run(command, capture_output=True, timeout=300).returncode == 0
    assert client.get("/healthz").get_json()["documents"] == 6
