"""The MicroNet challenge score (NeurIPS 2019) of a generated model, from its int8 IR.

The challenge scores an entry by two normalised costs (lower is better):

    score = parameter storage / reference parameters + math operations / reference operations

**Parameter storage** counts every value needed at inference, a 32-bit value as 1 and an n-bit
value as n/32: int8 weights 1/4 each, int32 biases and the per-channel requantization
multipliers and shifts 1 each. A tensor may be counted sparse (its non-zero values plus a
bitmask of one bit per position) when that is smaller. Weights shared by k-means clustering
(at most K distinct values per channel or per tensor) are counted as ceil(log2 K)-bit indices plus
their tables of K int8 values, when that is smaller than int8.

**Math operations** count multiplications and additions separately, each at the bit width it is
done in: a MAC of int8 values accumulated in int32 is one 8-bit multiply (1/4) plus one 32-bit add
(1); products with a zero weight may be skipped (sparsity). Per output value: the bias add and
the requantization (a 32-bit multiply, a rounding add and a zero-point add: 3). Element-wise ops,
pooling and softmax count their arithmetic per element at 32 bits (the kernels widen to int32).

The reference model is configurable; the default is the challenge's CIFAR-100 track reference,
WideResNet-28-10 (36.5 M parameters, 10.49 G math operations), the track of small-image
classifiers like the ones edgefact trains; the ImageNet track's MobileNetV2-1.4 (6.9 M, 1.17 G) is
:data:`REFERENCES` ``"imagenet"``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export.ir import Graph, Layer, prod


@dataclass(frozen=True)
class Reference:
    name: str
    params: float
    ops: float


REFERENCES: dict[str, Reference] = {
    "cifar100": Reference("WideResNet-28-10 (MicroNet CIFAR-100 track)", 36.5e6, 10.49e9),
    "imagenet": Reference("MobileNetV2-1.4 (MicroNet ImageNet track)", 6.9e6, 1170e6),
}
DEFAULT_REFERENCE = "cifar100"

#: per output value of a conv / FC: bias add + requantization (multiply, rounding add, offset add)
EPILOGUE_OPS = 4.0


@dataclass(frozen=True)
class LayerScore:
    name: str
    op: str
    storage: float  # in 32-bit parameter equivalents
    ops: float  # in 32-bit operation equivalents
    storage_how: str  # "int8", "sparse", "clustered 4-bit", ...


@dataclass(frozen=True)
class MicroNetScore:
    reference: str
    reference_params: float
    reference_ops: float
    storage: float
    ops: float
    layers: tuple[LayerScore, ...]

    @property
    def score(self) -> float:
        return self.storage / self.reference_params + self.ops / self.reference_ops

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["score"] = self.score
        d["layers"] = [asdict(x) for x in self.layers]
        return d


def tensor_storage(w: np.ndarray, bits: int = 8, clusters_axis: int | None = 0) -> tuple[float, str]:
    """Storage of one weight tensor in 32-bit equivalents: the smallest of dense, sparse
    (non-zeros + 1-bit mask) and clustered (indices + tables, per channel along ``clusters_axis``)."""
    n = int(w.size)
    options = [(n * bits / 32, f"int{bits}")]
    nz = int(np.count_nonzero(w))
    options.append(((nz * bits + n) / 32, "sparse"))
    if clusters_axis is not None and w.ndim > 0 and n > 0:
        moved = np.moveaxis(w, clusters_axis, 0).reshape(w.shape[clusters_axis], -1)
        k = max(len(np.unique(row)) for row in moved)
        index_bits = max(1, math.ceil(math.log2(k))) if k > 1 else 1
        tables = moved.shape[0] * k * bits
        options.append(((n * index_bits + tables) / 32, f"clustered {index_bits}-bit"))
        k_all = len(np.unique(w))
        ib = max(1, math.ceil(math.log2(k_all))) if k_all > 1 else 1
        options.append(((n * ib + k_all * bits) / 32, f"clustered {ib}-bit (one table)"))
    return min(options)


def _weighted_layer(layer: Layer) -> LayerScore:
    filt = layer.consts.get("filter")
    if filt is None:  # a shift layer: its tables are what it stores
        stored = float(layer.weight_bytes) / 4
        return LayerScore(layer.name, layer.op, stored, float(prod(layer.output_shape)), "tables")
    axis = 3 if layer.op == "DEPTHWISE_CONV_2D" else 0
    storage, how = tensor_storage(np.asarray(filt), 8, axis)
    storage += float(layer.consts["bias"].size) if "bias" in layer.consts else 0.0
    storage += float(layer.consts["multiplier"].size + layer.consts["shift"].size)
    density = float(np.count_nonzero(filt)) / max(int(np.asarray(filt).size), 1)
    # products with a zero weight skipped (a two-tap shift layer already counts only its taps)
    macs = layer.macs if layer.kernel == "ef_shift2_s8" else layer.macs * density
    outputs = prod(layer.output_shape)
    ops = macs * (8 / 32 + 1.0) + outputs * EPILOGUE_OPS
    return LayerScore(layer.name, layer.op, storage, ops, how)


#: arithmetic per output element of the weight-free ops, at 32 bits
_ELEMENT_OPS = {"ADD": 8.0, "SUB": 8.0, "MUL": 4.0, "SOFTMAX": 10.0, "QUANTIZE": 3.0, "DEQUANTIZE": 2.0,
                "RELU": 1.0, "RELU6": 1.0, "LOGISTIC": 1.0, "TANH": 1.0, "HARD_SWISH": 1.0, "LEAKY_RELU": 1.0}


def _free_layer(layer: Layer) -> LayerScore:
    out = prod(layer.output_shape)
    if layer.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        fh, fw = layer.args.filter
        ops = out * (fh * fw + (3 if layer.op == "AVERAGE_POOL_2D" else 0))
    elif layer.op == "MEAN":
        ops = prod(layer.input_shapes[0]) + out * 3
    elif layer.alias or layer.op in ("PAD", "CONCATENATION"):
        ops = 0.0
    else:
        ops = out * _ELEMENT_OPS.get(layer.op, 1.0)
    return LayerScore(layer.name, layer.op, 0.0, float(ops), "-")


def micronet_score(graph: Graph, reference: str = DEFAULT_REFERENCE) -> MicroNetScore:
    """The MicroNet score of a lowered graph (see the module docstring for the counting rules)."""
    ref = REFERENCES.get(reference)
    if ref is None:
        raise EdgefactError(f"unknown MicroNet reference {reference!r}; known: {', '.join(REFERENCES)}")
    layers = tuple(_weighted_layer(la) if ("filter" in la.consts or la.kernel == "ef_shift_s8") else _free_layer(la)
                   for la in graph.layers)
    return MicroNetScore(ref.name, ref.params, ref.ops, sum(x.storage for x in layers), sum(x.ops for x in layers),
                         layers)
