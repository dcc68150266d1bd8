"""Element-wise int8 -> int8 operators whose output depends on the input value only: LOGISTIC,
TANH, HARD_SWISH, LEAKY_RELU and ABS. Each becomes one ``ef_lut_s8`` call with a 256-entry table
computed here by the exact Python mirror of TFLite Micro's integer algorithm
(:mod:`edgefact.export.quant_lut`): a look-up per element, in place when the input dies here.
No MACs; the table counts as 256 weight bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export import quant_lut
from edgefact.export.ir import Layer, TensorInfo, prod
from edgefact.export.ops.base import Emission, EmitContext, LowerContext, OpDef
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator

KERNEL = "ef_lut_s8"


@dataclass(frozen=True)
class LutArgs:
    table: np.ndarray  # int8 [256], indexed by the input byte
    what: str  # the table's comment in model_data.c


class _Lut(OpDef):
    """An operator run as a table look-up; subclasses compute the table."""

    kernel_names = (KERNEL,)
    what: ClassVar[str]

    def table(self, ctx: LowerContext, op: Operator, inp: TensorInfo, out: TensorInfo) -> np.ndarray:
        raise NotImplementedError

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, KERNEL, [op.inputs[0]])
        ctx.require_int8(op, layer)
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        try:
            lut = self.table(ctx, op, inp, out)
        except EdgefactError as exc:
            raise ctx.fail(op, str(exc)) from exc
        layer.args = LutArgs(lut, self.what)
        layer.weight_bytes = int(lut.nbytes)
        layer.inplace_ok = (0,)
        layer.describe = "table look-up"
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: LutArgs = layer.args
        size = prod(layer.output_shape)
        em.check_size(layer, layer.inputs[0], layer.input_shapes[0])
        em.check_size(layer, layer.output, layer.output_shape)
        table = em.const_array(layer, "table", a.table, "int8_t", a.what)
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        return Emission(calls=[f"st = {KERNEL}({table}, {x}, {y}, {size});"])


@register
class Logistic(_Lut):
    name = "LOGISTIC"
    constraints = "int8, output zero point -128 (TFLite's rule: scale 1/256); a table look-up"
    what = "LOGISTIC output per input byte"

    def table(self, ctx: LowerContext, op: Operator, inp: TensorInfo, out: TensorInfo) -> np.ndarray:
        if out.zero_point != -128:
            raise ctx.fail(op, f"int8 LOGISTIC output zero point is {out.zero_point}; TFLite requires -128")
        return quant_lut.logistic_table(inp.scale, inp.zero_point)


@register
class Tanh(_Lut):
    name = "TANH"
    constraints = "int8 (output scale 1/128, zero point 0 by TFLite's rule); a table look-up"
    what = "TANH output per input byte"

    def table(self, ctx: LowerContext, op: Operator, inp: TensorInfo, out: TensorInfo) -> np.ndarray:
        return quant_lut.tanh_table(inp.scale, inp.zero_point)


@register
class HardSwish(_Lut):
    name = "HARD_SWISH"
    constraints = "int8, input scale at most 128 x the output scale (TFLite's rule); a table look-up"
    what = "HARD_SWISH output per input byte"

    def table(self, ctx: LowerContext, op: Operator, inp: TensorInfo, out: TensorInfo) -> np.ndarray:
        return quant_lut.hard_swish_table(inp.scale, inp.zero_point, out.scale, out.zero_point)


@register
class LeakyRelu(_Lut):
    name = "LEAKY_RELU"
    constraints = "int8, any alpha; a table look-up"
    what = "LEAKY_RELU output per input byte"

    def table(self, ctx: LowerContext, op: Operator, inp: TensorInfo, out: TensorInfo) -> np.ndarray:
        alpha = float(op.options.get("alpha", 0.0))
        return quant_lut.leaky_relu_table(inp.scale, inp.zero_point, out.scale, out.zero_point, alpha)


@register
class Abs(_Lut):
    name = "ABS"
    constraints = "int8; a table look-up"
    what = "ABS output per input byte"

    def table(self, ctx: LowerContext, op: Operator, inp: TensorInfo, out: TensorInfo) -> np.ndarray:
        return quant_lut.abs_table(inp.scale, inp.zero_point, out.scale, out.zero_point)
