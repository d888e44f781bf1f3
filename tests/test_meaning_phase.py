"""The two phases of ``reindex``: words published first, meaning vectors after, on real
articles and the real model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from search import arrays, meaning, store
from search.cli import reindex_command
from search.engine import Engine
from search.query import SearchParams, run_search
from search.reindex import reindex
from web import create_app

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """Four real MEDLINE export files of the sample (about 60 articles)."""
    folder = tmp_path / "data"
    folder.mkdir()
    for path in sorted((SAMPLE / "medline").glob("*.xml"))[:4]:
        shutil.copy(path, folder / path.name)
    return folder


def health(index: Path) -> dict:
    return create_app(index, {"TESTING": True}).test_client().get("/healthz").get_json()


def test_words_are_searchable_before_the_meaning_phase_ends(data: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    seen = []

    def during_meaning(done: int, total: int) -> None:
        if not seen:
            snapshot = Engine(index).snapshot()
            seen.append((run_search(snapshot, SearchParams()).total, health(index)["meaning"], total))

    summary = reindex([data], index, on_meaning=during_meaning)
    (found, progress, total), = seen
    assert found == summary.added == total > 0
    assert progress == {"done": 0, "pending": total}
    assert summary.vectors_computed == total
    assert health(index)["meaning"] == {"done": total, "pending": 0}


def test_a_killed_meaning_phase_keeps_the_words_live_and_the_next_run_finishes_it(
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    monkeypatch.setattr(meaning, "ENCODE_BATCH", 16)

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt  # Ctrl-C, or any failure, in the middle of the phase

    with pytest.raises(KeyboardInterrupt):
        reindex([data], index, on_meaning=interrupt)
    assert store.live_generation(index) is not None
    progress = health(index)["meaning"]
    assert progress["done"] == 0 and progress["pending"] > 0
    assert run_search(Engine(index).snapshot(), SearchParams(q="patients")).total > 0
    # The next run reads no file and computes exactly the missing vectors.
    summary = reindex([data], index)
    assert summary.files_read == 0 and summary.vectors_computed == progress["pending"]
    assert health(index)["meaning"] == {"done": progress["pending"], "pending": 0}
    assert not list(index.glob("building-*"))


def test_no_meaning_leaves_vectors_out_and_ranks_by_words(data: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    result = CliRunner().invoke(reindex_command, [str(data), "--index", str(index), "--no-meaning"])
    assert result.exit_code == 0, result.output
    assert "0 vectors computed" in result.output
    progress = health(index)["meaning"]
    assert progress["done"] == 0 and progress["pending"] > 0
    assert run_search(Engine(index).snapshot(), SearchParams(q="patients")).total > 0
    # The setting does the same; without either, the next run computes them.
    monkeypatch.setenv("SEARCH_MEANING", "0")
    assert CliRunner().invoke(reindex_command, [str(data), "--index", str(index)]).exit_code == 0
    assert health(index)["meaning"]["done"] == 0
    monkeypatch.delenv("SEARCH_MEANING")
    assert CliRunner().invoke(reindex_command, [str(data), "--index", str(index)]).exit_code == 0
    assert health(index)["meaning"] == {"done": progress["pending"], "pending": 0}


def test_unchanged_articles_keep_their_vectors_and_only_changed_ones_are_computed(
        data: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    first = reindex([data], index)
    before = Engine(index).snapshot().arrays
    vectors = {doc: np.array(before.vectors[doc]) for doc in np.flatnonzero(before.live)}
    # One article's abstract changes; its file is read again, the others are not.
    victim = sorted(data.glob("*.xml"))[0]
    text = victim.read_text(encoding="utf-8")
    start = text.index("<abstract")
    start = text.index(">", start) + 1
    victim.write_text(text[:start] + "Entirely new opening words about glaciers. " + text[start:], encoding="utf-8")
    first_vectors = [path.stat().st_ino for path in store.live_generation(index).glob("seg-*-vectors.npy")]
    summary = reindex([data], index)
    assert summary.files_read == 1 and summary.vectors_computed == 1
    # The first segment's vectors were neither carried by copy nor written again: its
    # file is shared with the first generation (only the new segment's is new).
    now = [path.stat().st_ino for path in store.live_generation(index).glob("seg-*-vectors.npy")]
    assert len(first_vectors) == 1 and first_vectors[0] in now and len(now) == 2
    # A rebuild from scratch recomputes nothing.
    rebuilt = reindex([data], index, full=True)
    assert rebuilt.updated == first.added and rebuilt.vectors_computed == 0
    after = Engine(index).snapshot().arrays
    kept = [np.array(after.vectors[doc]) for doc in np.flatnonzero(after.live)]
    assert sum(any(np.array_equal(v, old) for old in vectors.values()) for v in kept) == len(kept) - 1


def test_vectors_of_another_model_are_computed_again_and_the_words_kept(
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    first = reindex([data], index)
    words = {path.name: path.stat().st_ino for path in store.live_generation(index).glob("seg-*.npy")
             if not path.name.endswith("-vectors.npy")}
    # An upgrade that changes the model (its weights, graph or the word pieces it reads).
    monkeypatch.setattr(arrays, "MODEL_ID", "another-model")
    summary = reindex([data], index)
    assert summary.files_read == 0 and summary.vectors_computed == first.added > 0
    now = {path.name: path.stat().st_ino for path in store.live_generation(index).glob("seg-*.npy")}
    assert all(now[name] == inode for name, inode in words.items())
    assert Engine(index).snapshot().arrays.has_vector.all()
    assert reindex([data], index).vectors_computed == 0


def test_model_processes_give_the_vectors_one_process_gives(
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meaning, "ENCODE_BATCH", 8)  # several batches, in flight at once
    vectors = {}
    for name, at_least in (("one", 10**9), ("per core", 0)):
        monkeypatch.setattr(meaning, "MODEL_PROCESS_MIN", at_least)
        index = tmp_path / name
        summary = reindex([data], index)
        snapshot = Engine(index).snapshot()
        assert summary.vectors_computed == snapshot.doc_count and snapshot.arrays.has_vector.all()
        with snapshot.reading() as searcher:
            order = np.argsort([fields["id"] for fields in searcher.all_stored_fields()])
        vectors[name] = np.asarray(snapshot.arrays.vectors, dtype=np.float32)[order]
    # Each batch's vectors land on its own articles: a shuffled batch would give cosines near 0.
    assert (vectors["one"] * vectors["per core"]).sum(axis=1).min() > 0.999
