"""Data movement: RESHAPE / SQUEEZE / EXPAND_DIMS (aliases, no code), PAD and CONCATENATION along
channels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export import quant
from edgefact.export.ir import Layer, prod
from edgefact.export.ops.base import (
    CStruct,
    Dims,
    Emission,
    EmitContext,
    LowerContext,
    OpDef,
    params_dims_call,
)
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator


class _Alias(OpDef):
    """An operator that only renames the shape: the output aliases the input's bytes."""

    constraints = "same size and quantization: the output aliases the input (no code)"

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, "", [op.inputs[0]])
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        if (inp.nbytes, inp.type_name, inp.scale, inp.zero_point) != (out.nbytes, out.type_name, out.scale,
                                                                      out.zero_point):
            raise ctx.fail(op, f"{op.name} that changes size or quantization")
        layer.alias = True
        layer.inplace_ok = (0,)
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        if layer.copy:
            x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
            return Emission(calls=[f"memcpy({y}, {x}, {em.tensor(layer.output).nbytes});"])
        if not em.aliased(layer.inputs[0], layer.output):
            raise EdgefactError(f"generator bug: {layer.name} is not aliased")
        return Emission()  # same bytes, new shape: nothing to do


@register
class Reshape(_Alias):
    name = "RESHAPE"


@register
class Squeeze(_Alias):
    name = "SQUEEZE"


@register
class ExpandDims(_Alias):
    name = "EXPAND_DIMS"


#: option key of a PAD the generator wrote itself with another value than the zero point
PAD_VALUE = "edgefact_pad_value"


@dataclass(frozen=True)
class PadParams(CStruct):
    """ef_pad_params."""

    C_TYPE: ClassVar[str] = "ef_pad_params"
    before: Dims
    after: Dims
    pad_value: int


@register
class Pad(OpDef):
    name = "PAD"
    kernel_names = ("ef_pad_s8",)
    constraints = "int8, constant paddings, up to 4-D, unchanged quantization"

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        pads_t = ctx.model.tensors[op.inputs[1]]
        if pads_t.data is None:
            raise ctx.fail(op, "the paddings tensor must be constant")
        layer = ctx.base(op, "ef_pad_s8", [op.inputs[0]])
        ctx.require_int8(op, layer)
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        pads = np.asarray(pads_t.data, dtype=np.int64).reshape(-1, 2)
        pads = np.concatenate([np.zeros((4 - len(pads), 2), dtype=np.int64), pads])
        value = int(op.options.get(PAD_VALUE, out.zero_point))
        layer.args = PadParams(Dims(*(int(v) for v in pads[:, 0])), Dims(*(int(v) for v in pads[:, 1])), value)
        layer.describe = f"pad {pads[:, 0].tolist()}/{pads[:, 1].tolist()}"
        if (inp.scale, inp.zero_point) != (out.scale, out.zero_point):
            raise ctx.fail(op, "PAD that changes quantization")
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        return params_dims_call(layer, em)


@dataclass(frozen=True)
class ConcatPart:
    """One ef_concat_input row (its data pointer is filled in at emission)."""

    channels: int
    requantize: int
    input_offset: int
    multiplier: int
    shift: int


@dataclass(frozen=True)
class ConcatArgs:
    parts: tuple[ConcatPart, ...]
    outer: int
    output_offset: int


@register
class Concatenation(OpDef):
    name = "CONCATENATION"
    kernel_names = ("ef_concat_c_s8",)
    constraints = "int8 computed inputs along the channel (last) axis, requantized when scales differ"

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        for i in op.inputs:
            if ctx.model.tensors[i].is_constant:
                raise ctx.fail(op, f"constant input '{ctx.model.tensors[i].name}'")
        layer = ctx.base(op, "ef_concat_c_s8", list(op.inputs))
        ctx.require_int8(op, layer)
        out = ctx.tensors[layer.output]
        axis = int(op.options.get("axis", -1)) % len(out.shape)
        if axis != len(out.shape) - 1:
            raise ctx.fail(op, f"concatenation along axis {axis}; supported: the channel (last) axis")
        parts = []
        for i in layer.inputs:
            t = ctx.tensors[i]
            same = (t.scale, t.zero_point) == (out.scale, out.zero_point)
            m, s = (0, 0) if same else quant.requantize_params(t.scale, t.zero_point, out.scale, out.zero_point)[2:]
            parts.append(ConcatPart(t.shape[-1], 0 if same else 1, -t.zero_point, m, s))
        layer.args = ConcatArgs(tuple(parts), prod(out.shape[:-1]), out.zero_point)
        layer.describe = f"axis {axis}"
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: ConcatArgs = layer.args
        L = layer.sym
        y = em.ptr(layer.output, True)
        rows = [f"    {{{em.ptr(t, False)}, {p.channels}, {p.requantize}, {p.input_offset}, {p.multiplier}, "
                f"{p.shift}}}," for t, p in zip(layer.inputs, a.parts, strict=True)]
        n = len(a.parts)
        return Emission(calls=[f"const ef_concat_input {L}_inputs[{n}] = {{", *rows, "};",
                               f"st = ef_concat_c_s8({L}_inputs, {n}, {a.outer}, {a.output_offset}, {y});"])
