"""What an operator entry of the registry is, and the two contexts it works in.

An :class:`OpDef` describes one TFLite builtin operator end to end: how it is lowered from the
.tflite to a :class:`~edgefact.export.ir.Layer` (shapes, quantization, MACs and parameters), which
C kernel runs it (chosen at generation time from the shapes and the target: generated code calls
the specialised kernel directly, no run-time dispatch), how much scratch that kernel needs, and
the C it emits (parameter struct initializers and the call). The lowering driver
(:mod:`edgefact.export.lowering`) and the C generator (:mod:`edgefact.export.codegen`) hand an
entry the small contexts defined here, so an entry never imports them.

Parameter structs are :class:`CStruct` dataclasses whose fields mirror the C struct of
``ef_nn_types.h`` one to one (a test checks names and order), so the initializer is generated,
not written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from edgefact.errors import UnsupportedOpError
from edgefact.export.ir import Layer, TensorInfo

if TYPE_CHECKING:
    from edgefact.export.tflite_model import Operator, Tensor, TFLiteModel
    from edgefact.targets import Target


def c_value(v: Any) -> str:
    """C initializer text of a field value: ints, (nested) tuples and nested CStructs as braces."""
    if isinstance(v, CStruct):
        return "{" + ", ".join(c_value(getattr(v, f.name)) for f in fields(v)) + "}"
    if isinstance(v, tuple | list):
        return "{" + ", ".join(c_value(x) for x in v) + "}"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int | np.integer):
        return str(int(v))
    raise TypeError(f"no C initializer for {type(v).__name__} {v!r}")


@dataclass(frozen=True)
class CStruct:
    """A parameter struct: subclasses are frozen dataclasses named by ``C_TYPE``."""

    C_TYPE: ClassVar[str] = ""

    def c_fields(self) -> list[tuple[str, str]]:
        return [(f.name, c_value(getattr(self, f.name))) for f in fields(self)]

    def c_define(self, var: str) -> list[str]:
        """``static const <C_TYPE> var = { .field = value, ... };`` as lines."""
        return [f"static const {self.C_TYPE} {var} = {{", *(f"    .{n} = {v}," for n, v in self.c_fields()), "};"]


@dataclass(frozen=True)
class Dims(CStruct):
    """ef_dims: NHWC extents."""

    C_TYPE: ClassVar[str] = "ef_dims"
    n: int
    h: int
    w: int
    c: int

    @classmethod
    def of(cls, shape: tuple[int, ...]) -> Dims:
        s = (1,) * (4 - len(shape)) + tuple(int(d) for d in shape)
        return cls(*s)

    @property
    def size(self) -> int:
        return self.n * self.h * self.w * self.c


@dataclass
class Emission:
    """What one layer contributes to model.c: file-scope declarations and statements."""

    decls: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)


class LowerContext(Protocol):
    """What the lowering driver offers an entry (see :mod:`edgefact.export.lowering`)."""

    model: TFLiteModel
    tensors: dict[int, TensorInfo]
    target: Target | None

    def fail(self, op: Operator, why: str) -> UnsupportedOpError: ...
    def act(self, op: Operator, out: Tensor) -> tuple[int, int]: ...
    def activation_tensor(self, idx: int, op: Operator) -> TensorInfo: ...
    def const(self, op: Operator, pos: int, what: str) -> Tensor | None: ...
    def base(self, op: Operator, kernel: str, inputs: list[int]) -> Layer: ...
    def base_for(self, op: Operator, kernel: str, inputs: list[int], output: int, part: int) -> Layer: ...
    def require_int8(self, op: Operator, layer: Layer) -> None: ...


class EmitContext(Protocol):
    """What the C generator offers an entry (see :mod:`edgefact.export.codegen`)."""

    def tensor(self, index: int) -> TensorInfo: ...
    def ptr(self, tensor: int, writable: bool) -> str: ...
    def const_array(self, layer: Layer, role: str, arr: np.ndarray, ctype: str, what: str) -> str: ...
    def filter_ref(self, pos: int, layer: Layer, what: str) -> str: ...
    def scratch(self, pos: int, layer: Layer) -> str: ...
    def check_size(self, layer: Layer, tensor: int, dims: tuple[int, ...]) -> None: ...
    def aliased(self, a: int, b: int) -> bool: ...


class OpDef:
    """One supported TFLite operator (subclass per operator; register an instance)."""

    name: ClassVar[str]  # TFLite builtin operator name
    constraints: ClassVar[str] = ""  # what edgefact supports of it, one line (docs, error messages)
    kernel_names: ClassVar[tuple[str, ...]] = ()  # every C kernel it may call (``edgefact ops``, tests)
    multi_output: ClassVar[bool] = False  # True: lower() returns one Layer per output (e.g. SPLIT)
    # tensor types beyond int8 / float32 (edgefact.export.dtypes) the entry takes and checks itself
    tensor_types: ClassVar[tuple[str, ...]] = ()

    def lower(self, ctx: LowerContext, op: Operator) -> Layer | list[Layer]:
        """Build the layer (shapes, args, consts, MACs, params, kernel, scratch) or raise
        UnsupportedOpError naming the problem. An operator with several outputs (``multi_output``)
        returns one layer per output, each writing one tensor (``LowerContext.base_for`` names
        them apart)."""
        raise NotImplementedError

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        """C declarations and statements of the layer at position ``pos``."""
        raise NotImplementedError

    def kernels(self, layer: Layer) -> tuple[str, ...]:
        """Every kernel that can run this lowered layer, the one :meth:`lower` chose first.
        Entries with alternatives (a specialised and a generic kernel) override this and
        :meth:`use_kernel`."""
        return (layer.kernel,)

    def use_kernel(self, layer: Layer, kernel: str) -> None:
        """Run ``layer`` on ``kernel`` (one of :meth:`kernels`) instead of the chosen one, e.g. to
        test or measure a generic kernel on a shape the generator would specialise."""
        if kernel not in self.kernels(layer):
            raise UnsupportedOpError(f"layer {layer.index} ({layer.op}) cannot run on {kernel}; "
                                     f"possible: {', '.join(self.kernels(layer))}")
        layer.kernel = kernel

    def scratch_c_expr(self, layer: Layer) -> str | None:
        """A C expression giving the chosen kernel's own ``*_get_buffer_size`` for this layer
        (None when the kernel takes no scratch): the parity test evaluates it against
        ``layer.scratch_bytes``."""
        return None


def dims_decl(em: Emission, layer: Layer, suffix: str, shape: tuple[int, ...] | Dims) -> str:
    """Declare ``static const ef_dims L<i>_<suffix>`` and return ``&L<i>_<suffix>``."""
    d = shape if isinstance(shape, Dims) else Dims.of(shape)
    em.decls.append(f"static const ef_dims {layer.sym}_{suffix} = {c_value(d)};")
    return f"&{layer.sym}_{suffix}"


def struct_decl(em: Emission, layer: Layer, suffix: str, value: CStruct) -> str:
    """Declare ``static const <type> L<i>_<suffix>`` from a CStruct and return its address."""
    if not is_dataclass(value):
        raise TypeError(value)
    em.decls += value.c_define(f"{layer.sym}_{suffix}")
    return f"&{layer.sym}_{suffix}"


@dataclass(frozen=True)
class WeightedOperands:
    """The C expressions of a weighted layer's call (see :func:`weighted_operands`)."""

    filt: str
    bias: str
    input_dims: str
    filter_dims: str
    output_dims: str
    x: str
    y: str


def weighted_operands(layer: Layer, pos: int, em: EmitContext, e: Emission, params: CStruct, input_dims: Dims,
                      filter_dims: Dims, output_dims: Dims) -> WeightedOperands:
    """What every convolution-like call declares: filter (or its unpacked buffer), bias, the
    per-channel requantization arrays and struct, the parameter struct and the three dims, with
    the input and output sizes checked against the plan."""
    filt = em.filter_ref(pos, layer, "filter")
    bias = (em.const_array(layer, "bias", layer.consts["bias"], "int32_t", "bias")
            if "bias" in layer.consts else "NULL")
    mult = em.const_array(layer, "multiplier", layer.consts["multiplier"], "int32_t", "requant multiplier")
    shift = em.const_array(layer, "shift", layer.consts["shift"], "int32_t", "requant shift")
    e.decls += params.c_define(f"{layer.sym}_params")
    e.decls.append(f"static const ef_per_channel_quant {layer.sym}_quant = {{{mult}, {shift}}};")
    d_in = dims_decl(e, layer, "input_dims", input_dims)
    d_f = dims_decl(e, layer, "filter_dims", filter_dims)
    d_out = dims_decl(e, layer, "output_dims", output_dims)
    em.check_size(layer, layer.inputs[0], layer.input_shapes[0])
    em.check_size(layer, layer.output, layer.output_shape)
    return WeightedOperands(filt, bias, d_in, d_f, d_out, em.ptr(layer.inputs[0], False), em.ptr(layer.output, True))


def params_dims_call(layer: Layer, em: EmitContext, out_dims: tuple[int, ...] | Dims | None = None) -> Emission:
    """The common call shape ``st = <kernel>(&L<i>_params, &in_dims, in, &out_dims, out);`` with
    the layer's CStruct ``args`` as the parameters (``out_dims`` defaults to the output shape)."""
    e = Emission()
    L = layer.sym
    e.decls += layer.args.c_define(f"{L}_params")
    d_in = dims_decl(e, layer, "input_dims", layer.input_shapes[0])
    d_out = dims_decl(e, layer, "output_dims", layer.output_shape if out_dims is None else out_dims)
    x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
    e.calls = [f"st = {layer.kernel}(&{L}_params, {d_in}, {x}, {d_out}, {y});"]
    return e


def activation(t: tuple[int, int]) -> tuple[int, int]:
    return int(t[0]), int(t[1])
