"""Table fusion: element-wise int8 work that depends on one int8 byte only becomes ONE table.

Every activation is int8, so an operator whose output is a function of a single int8 tensor ``x``
is a 256-entry table of ``x``'s byte, however it computes. Two patterns are fused here, on the
lowered layers (after :func:`edgefact.export.lowering.lower` built them), bit-exact by
construction because each entry is computed with the exact Python mirrors of TFLite Micro's
integer arithmetic that the kernels themselves are checked against:

* a chain of table look-ups (``ef_lut_s8`` layers of :mod:`edgefact.export.ops.unary`: LOGISTIC,
  TANH, HARD_SWISH, LEAKY_RELU, ABS), each intermediate read by the next one only: the composed
  table ``t2[t1[x]]``;
* an equal-shape MUL / ADD / SUB of ``x`` and ``f(x)`` (either order), ``f`` a table or a chain,
  ``f(x)`` read by that operator only: the swish ``x * sigmoid(x)`` of EfficientNet-style models
  (LOGISTIC -> MUL). ``table[x] = MUL_int8(x, f_table[x])`` with TFLM's int8 MUL (offsets,
  MultiplyByQuantizedMultiplier's double rounding, output offset, activation clamp) or ADD/SUB
  (both rescalings, the sum, the output rescaling, the clamp).

The fused layer keeps the binary operator's index, name and output tensor and runs as a table
operator's layer (its ``op`` is the chain's first table operator, whose registry entry emits the
``ef_lut_s8`` call); each operator that disappears is reported in ``Graph.folded`` (plan.txt's
"folded at generation time" lines). An intermediate that is a model output, or read by anything
else, is never fused.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from edgefact.export import quant
from edgefact.export.ir import FoldedOp, Graph, Layer
from edgefact.export.ops.unary import KERNEL, LutArgs

#: int8 value at each table position (position p holds the output for the byte p)
_BYTES = np.array([p - 256 if p >= 128 else p for p in range(256)], dtype=np.int64)

BINARY_OPS = ("MUL", "ADD", "SUB")


def _is_table(layer: Layer) -> bool:
    return layer.kernel == KERNEL and isinstance(layer.args, LutArgs) and len(layer.inputs) == 1 and not layer.alias


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The table of ``outer(inner(x))``: tables are indexed by the uint8 view of the byte."""
    return np.asarray(outer, dtype=np.int8)[np.asarray(inner, dtype=np.int8).view(np.uint8)]


def _clamp(v: int, lo: int, hi: int) -> int:
    return min(max(v, lo), hi)


def binary_table(op: str, params: Any, x_first: bool, fx: np.ndarray) -> np.ndarray:
    """The int8 table of ``op(x, f(x))`` (``x_first``) or ``op(f(x), x)``, ``fx`` the table of f,
    with the layer's TFLite parameters (``MulParams`` / ``AddParams`` of ops/elementwise.py):
    TFLM's reference int8 MUL / ADD / SUB per element."""
    mbqm = quant.multiply_by_quantized_multiplier
    out = np.empty(256, dtype=np.int8)
    for p in range(256):
        x, f = int(_BYTES[p]), int(fx[p])
        a, b = (x, f) if x_first else (f, x)
        lo, hi = params.activation
        if op == "MUL":
            prod = (a + params.input1_offset) * (b + params.input2_offset)
            v = mbqm(prod, params.output_multiplier, params.output_shift) + params.output_offset
        else:
            shift = params.left_shift
            s1 = mbqm((a + params.input1_offset) << shift, params.input1_multiplier, params.input1_shift)
            s2 = mbqm((b + params.input2_offset) << shift, params.input2_multiplier, params.input2_shift)
            total = s1 + s2 if op == "ADD" else s1 - s2
            v = mbqm(total, params.output_multiplier, params.output_shift) + params.output_offset
        out[p] = _clamp(v, lo, hi)
    return out


def _binary_params(layer: Layer) -> Any:
    """The TFLite parameters of an equal-shape MUL / ADD / SUB of two computed int8 tensors, or
    None when the layer is not one (a broadcast, a constant operand, another kernel form)."""
    if layer.op not in BINARY_OPS or len(layer.inputs) != 2 or layer.alias:
        return None
    a = layer.args
    operands, params = getattr(a, "operands", None), getattr(a, "params", None)
    if operands is None or params is None or operands.broadcast or any(c is not None for c in operands.const):
        return None
    if layer.input_shapes[0] != layer.input_shapes[1] or layer.input_shapes[0] != layer.output_shape:
        return None
    needed = ("input1_offset", "input2_offset", "output_offset", "output_multiplier", "output_shift", "activation")
    if layer.op != "MUL":
        needed += ("left_shift", "input1_multiplier", "input1_shift", "input2_multiplier", "input2_shift")
    return params if all(hasattr(params, f) for f in needed) else None


def fuse_tables(graph: Graph) -> Graph:
    """``graph`` with its table chains and ``op(x, f(x))`` binaries fused (module docstring); the
    operators absorbed are appended to ``graph.folded``."""
    layers = list(graph.layers)
    outputs = set(graph.outputs)
    readers: dict[int, int] = {}
    for layer in layers:
        for t in layer.inputs:
            readers[t] = readers.get(t, 0) + 1
    producer: dict[int, int] = {layer.output: k for k, layer in enumerate(layers)}
    dropped: set[int] = set()
    folded: list[FoldedOp] = []
    ops_of: dict[int, list[str]] = {}  # layer position -> the table operators its table holds

    def private(t: int) -> bool:
        return t not in outputs and readers.get(t, 0) == 1

    def absorb(k: int, into: Layer) -> None:
        src = layers[k]
        dropped.add(k)
        t = graph.tensors[src.output]
        folded.append(FoldedOp(src.index, f"{src.op} (into the table of {into.op} at index {into.index})",
                               (t.name,), (tuple(t.shape),)))

    for k, layer in enumerate(layers):
        if _is_table(layer):
            p = producer.get(layer.inputs[0])
            if p is not None and p not in dropped and _is_table(layers[p]) and private(layer.inputs[0]):
                inner = layers[p]
                absorb(p, layer)
                table = compose(layer.args.table, inner.args.table)
                chain = [*ops_of.get(p, [inner.op]), layer.op]
                ops_of[k] = chain
                layers[k] = dataclasses.replace(
                    layer, inputs=list(inner.inputs), input_shapes=list(inner.input_shapes),
                    args=LutArgs(table, f"{' -> '.join(chain)} output per input byte"),
                    describe="table look-up (" + " -> ".join(chain) + ", fused)")
            continue
        params = _binary_params(layer)
        if params is None:
            continue
        a, b = layer.inputs
        for x_first, (x, fx) in ((True, (a, b)), (False, (b, a))):
            p = producer.get(fx)
            if p is None or p in dropped or not _is_table(layers[p]) or layers[p].inputs[0] != x or not private(fx):
                continue
            f = layers[p]
            chain = ops_of.get(p, [f.op])
            absorb(p, layer)
            table = binary_table(layer.op, params, x_first, f.args.table)
            fname = "(".join(chain[::-1]) + "(x" + ")" * len(chain)
            expr = f"{layer.op}(x, {fname})" if x_first else f"{layer.op}({fname}, x)"
            layers[k] = dataclasses.replace(
                layer, op=f.op, kernel=KERNEL, inputs=[x], input_shapes=[layer.input_shapes[0]],
                args=LutArgs(table, f"{expr} per input byte"), consts={}, const_names={},
                weight_bytes=int(table.nbytes), scratch_bytes=0, inplace_ok=(0,), macs=0,
                describe=f"table look-up ({expr}, fused)")
            break
    if not dropped:
        return graph
    kept = [layer for k, layer in enumerate(layers) if k not in dropped]
    gone = {graph.layers[k].output for k in dropped}  # no layer writes or reads them any more
    tensors = {i: t for i, t in graph.tensors.items() if i not in gone}
    return dataclasses.replace(graph, tensors=tensors, layers=kept, folded=[*graph.folded, *folded])
