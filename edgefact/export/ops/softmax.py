"""SOFTMAX int8 -> int8 over the last axis (TFLite's fixed-point reference algorithm)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from edgefact.export import quant
from edgefact.export.ir import Layer, prod
from edgefact.export.ops.base import CStruct, Emission, EmitContext, LowerContext, OpDef
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator


@dataclass(frozen=True)
class SoftmaxParams(CStruct):
    """ef_softmax_params."""

    C_TYPE: ClassVar[str] = "ef_softmax_params"
    input_multiplier: int
    input_left_shift: int
    diff_min: int


@dataclass(frozen=True)
class SoftmaxArgs:
    params: SoftmaxParams
    rows: int
    depth: int


@register
class Softmax(OpDef):
    name = "SOFTMAX"
    kernel_names = ("ef_softmax_s8",)
    constraints = "int8 in, int8 out with scale 1/256 and zero point -128 (TFLite's rule), any beta"

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, "ef_softmax_s8", [op.inputs[0]])
        ctx.require_int8(op, layer)
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        if abs(out.scale - 1.0 / 256.0) > 1e-9 or out.zero_point != -128:
            raise ctx.fail(op, "int8 SOFTMAX output must have scale 1/256 and zero point -128 (TFLite's rule)")
        beta = float(op.options.get("beta", 1.0))
        p = quant.softmax_params(inp.scale, beta)
        layer.args = SoftmaxArgs(SoftmaxParams(p.input_multiplier, p.input_left_shift, p.diff_min),
                                 prod(inp.shape[:-1]), inp.shape[-1])
        layer.describe = f"beta {beta:g}"
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: SoftmaxArgs = layer.args
        L = layer.sym
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        return Emission(decls=a.params.c_define(f"{L}_params"),
                        calls=[f"st = ef_softmax_s8(&{L}_params, {x}, {a.rows}, {a.depth}, {y});"])
