"""The graph IR the C generator walks: activation tensors, layers and the graph.

Each :class:`Layer` is one TFLite operator with everything its kernel call needs resolved ahead
of time, in ``args``: a typed dataclass owned by the operator's registry entry
(:mod:`edgefact.export.ops`), holding the C parameter struct (shapes, TFLite's exact padding,
strides, the fused activation as a clamp range in the quantized domain) and the requantization
constants in ``consts``. It also carries the desktop-style figures per layer (MACs, parameters,
weight bytes) that reports put next to the measured ones, and the annotations the memory planner
and weight packing add (aliasing, in-place execution, packed filters).

The lowering from a TFLite model to this IR is :func:`edgefact.export.lowering.lower`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export.tflite_model import Tensor, TFLiteModel

if TYPE_CHECKING:
    from edgefact.export.packing import PackedTensor


@dataclass
class TensorInfo:
    """An activation tensor (never a constant): what the memory planner places."""

    index: int
    name: str
    shape: tuple[int, ...]
    type_name: str  # "INT8" or "FLOAT32" (float only at the model boundary; state may be INT16/INT32 too)
    scale: float
    zero_point: int
    nbytes: int


@dataclass
class Layer:
    """One operator of the graph, lowered (see the module docstring)."""

    index: int  # operator index in the .tflite
    op: str  # TFLite builtin name, the key of its registry entry
    name: str
    kernel: str  # C function that implements it ("" when no call is emitted, e.g. an aliased RESHAPE)
    inputs: list[int]  # activation tensor indices read
    output: int  # activation tensor index written
    input_shapes: list[tuple[int, ...]]
    output_shape: tuple[int, ...]
    args: Any = None  # the operator's typed arguments (its registry entry's dataclass)
    consts: dict[str, np.ndarray] = field(default_factory=dict)  # filter, bias, multiplier, shift
    const_names: dict[str, str] = field(default_factory=dict)  # role -> TFLite tensor name
    macs: int = 0
    params: int = 0
    weight_bytes: int = 0
    scratch_bytes: int = 0
    inplace_ok: tuple[int, ...] = ()  # input positions whose buffer the output may reuse
    describe: str = ""  # short detail for comments and plan listings ("3x3 s2 SAME relu")
    tensor_name: str = ""  # the output tensor's TFLite name (first part)
    alias: bool = False  # the output is the input's bytes (no code) unless the planner says copy
    # memory planner annotations
    copy: bool = False  # an alias that could not share its buffer: emitted as a copy
    inplace_input: int | None = None  # input position whose buffer the output overwrites
    # weight packing annotations (edgefact.export.packing)
    packed: PackedTensor | None = None
    unpack_bytes: int = 0
    part: int | None = None  # which output of a several-output operator (its layers share ``index``)

    @property
    def sym(self) -> str:
        """The C name stem of this layer's declarations: ``L<index>`` (``L<index>_<part>``)."""
        return f"L{self.index}" if self.part is None else f"L{self.index}_{self.part}"

    def summary(self) -> str:
        """One-line description used in comments and plan listings."""
        ins = ", ".join("x".join(str(d) for d in s) for s in self.input_shapes)
        out = "x".join(str(d) for d in self.output_shape)
        extra = self.describe
        return f"{self.op} [{ins}] -> [{out}]" + (f" {extra}" if extra else "") + f", {self.macs} MACs"


@dataclass(frozen=True)
class FoldedOp:
    """An operator evaluated at generation time (constant folding): it emits no code."""

    index: int
    op: str
    outputs: tuple[str, ...]  # output tensor names
    shapes: tuple[tuple[int, ...], ...]

    def summary(self) -> str:
        shapes = ", ".join("x".join(str(d) for d in s) or "scalar" for s in self.shapes)
        return f"{self.op} at index {self.index} -> [{shapes}]"


@dataclass
class StateVar:
    """State kept between invocations, in storage no other buffer shares (TFLM keeps it in
    persistent memory): a variable tensor (``is_variable``, e.g. an SVDF's activation state) or a
    resource variable (VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE). Its initial contents are
    what a fresh TFLM interpreter holds: ``init`` (the values the CALL_ONCE initialisation
    subgraph assigns) or, when ``init`` is None, every byte ``fill`` (TFLM resets a variable
    tensor to its zero point when int8, to 0 otherwise; a resource variable to 0)."""

    name: str
    tensor: int  # the TensorInfo index standing for its bytes
    init: np.ndarray | None = None
    fill: int = 0


@dataclass
class Graph:
    model: TFLiteModel
    tensors: dict[int, TensorInfo]
    layers: list[Layer]
    inputs: list[int]
    outputs: list[int]
    folded: list[FoldedOp] = field(default_factory=list)
    state: list[StateVar] = field(default_factory=list)  # persistent tensors, in first-use order

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def total_weight_bytes(self) -> int:
        return sum(layer.weight_bytes for layer in self.layers)


# --------------------------------------------------------------------------------------------
# TFLite arithmetic helpers shared by the operator entries
# --------------------------------------------------------------------------------------------


def compute_padding(in_size: int, filter_size: int, stride: int, dilation: int, padding: str) -> tuple[int, int, int]:
    """Output size and (before, after) padding exactly as TFLite's ComputePaddingHeightWidth."""
    eff = (filter_size - 1) * dilation + 1
    if padding == "SAME":
        out = (in_size + stride - 1) // stride
    elif padding == "VALID":
        out = (in_size - eff + stride) // stride
    else:
        raise EdgefactError(f"unknown padding '{padding}' (expected SAME or VALID); re-export the model")
    total = max(0, (out - 1) * stride + eff - in_size)
    before = total // 2
    return out, before, total - before


def scale_zp(t: Tensor) -> tuple[float, int]:
    """Per-tensor (first) scale and zero point of a tensor; (0, 0) when it has none."""
    if t.quantization is None:
        return 0.0, 0
    return float(t.quantization.scales[0]), int(t.quantization.zero_points[0])


def shape4(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """NHWC view of a tensor of rank <= 4 (leading dims padded with 1)."""
    if len(shape) > 4:
        raise EdgefactError(f"tensor of rank {len(shape)} {list(shape)}: edgefact handles rank <= 4")
    s = (1,) * (4 - len(shape)) + tuple(shape)
    return s[0], s[1], s[2], s[3]


def prod(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1
