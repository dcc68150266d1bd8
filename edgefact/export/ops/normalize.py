"""L2_NORMALIZATION and LOG_SOFTMAX int8 -> int8 over the last axis (TFLite Micro's integer
algorithms, ``ef_l2_normalization_s8`` / ``ef_log_softmax_s8``). TFLite fixes both output
quantizations: scale 1/128, zero point 0 for L2_NORMALIZATION; 16/256 and 127 for LOG_SOFTMAX."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from edgefact.errors import EdgefactError
from edgefact.export import quant
from edgefact.export.ir import Layer, prod
from edgefact.export.ops.base import CStruct, Emission, EmitContext, LowerContext, OpDef
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator

#: ef_l2_normalization_s8's largest row (its int32 sum of squares)
MAX_DEPTH = 1 << 16


@dataclass(frozen=True)
class L2NormArgs:
    input_offset: int
    rows: int
    depth: int


@register
class L2Normalization(OpDef):
    name = "L2_NORMALIZATION"
    kernel_names = ("ef_l2_normalization_s8",)
    constraints = "int8 over the last axis (up to 65536 values), output scale 1/128 and zero point 0 (TFLite's rule)"

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, "ef_l2_normalization_s8", [op.inputs[0]])
        ctx.require_int8(op, layer)
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        if out.scale != 1.0 / 128.0 or out.zero_point != 0:
            raise ctx.fail(op, "int8 L2_NORMALIZATION output must have scale 1/128 and zero point 0 (TFLite's rule)")
        act = op.options.get("fused_activation_function", "NONE")
        if act != "NONE":
            raise ctx.fail(op, f"fused activation {act}; TFLite's int8 L2_NORMALIZATION has none")
        depth = int(inp.shape[-1]) if inp.shape else 1
        if depth > MAX_DEPTH:
            raise ctx.fail(op, f"rows of {depth} values; supported: up to {MAX_DEPTH}")
        layer.args = L2NormArgs(-inp.zero_point, prod(inp.shape) // max(depth, 1), depth)
        layer.inplace_ok = (0,)
        layer.describe = f"rows of {depth}"
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: L2NormArgs = layer.args
        em.check_size(layer, layer.output, (a.rows, a.depth))
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        return Emission(calls=[f"st = ef_l2_normalization_s8({a.input_offset}, {x}, {a.rows}, {a.depth}, {y});"])


@dataclass(frozen=True)
class LogSoftmaxParams(CStruct):
    """ef_log_softmax_params."""

    C_TYPE: ClassVar[str] = "ef_log_softmax_params"
    input_multiplier: int
    input_left_shift: int
    reverse_scaling_divisor: int
    reverse_scaling_left_shift: int
    diff_min: int


#: TFLite's kScaledDiffIntegerBits of LOG_SOFTMAX
LOG_SOFTMAX_DIFF_BITS = 5
#: ef_log_softmax_s8's largest row (the Q12 sum of exponentials)
LOG_SOFTMAX_MAX_DEPTH = 4096


def log_softmax_params(input_scale: float) -> LogSoftmaxParams:
    """TFLite's PreprocessLogSoftmaxScalingExp (beta 1) and the input radius, as TFLM prepares
    LOG_SOFTMAX: the reverse scaling divisor is the inverse of the input rescaling."""
    m, s = quant.preprocess_softmax_scaling(1.0, input_scale, LOG_SOFTMAX_DIFF_BITS)
    div, div_shift = quant.quantize_multiplier_smaller_than_one((1 << (31 - s)) / float(m))
    return LogSoftmaxParams(m, s, div, div_shift, -quant.calculate_input_radius(LOG_SOFTMAX_DIFF_BITS, s))


@dataclass(frozen=True)
class LogSoftmaxArgs:
    params: LogSoftmaxParams
    rows: int
    depth: int


@register
class LogSoftmax(OpDef):
    name = "LOG_SOFTMAX"
    kernel_names = ("ef_log_softmax_s8",)
    constraints = "int8 over the last axis (up to 4096 values), output scale 16/256 and zero point 127 (TFLite's rule)"

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, "ef_log_softmax_s8", [op.inputs[0]])
        ctx.require_int8(op, layer)
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        if out.scale != 16.0 / 256.0 or out.zero_point != 127:
            raise ctx.fail(op, "int8 LOG_SOFTMAX output must have scale 16/256 and zero point 127 (TFLite's rule)")
        depth = int(inp.shape[-1]) if inp.shape else 1
        if depth > LOG_SOFTMAX_MAX_DEPTH:
            raise ctx.fail(op, f"rows of {depth} values; supported: up to {LOG_SOFTMAX_MAX_DEPTH}")
        try:
            params = log_softmax_params(inp.scale)
        except EdgefactError as exc:
            raise ctx.fail(op, str(exc)) from exc
        layer.args = LogSoftmaxArgs(params, prod(inp.shape) // max(depth, 1), depth)
        layer.inplace_ok = (0,)
        layer.describe = f"rows of {depth}"
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: LogSoftmaxArgs = layer.args
        L = layer.sym
        em.check_size(layer, layer.output, (a.rows, a.depth))
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        return Emission(decls=a.params.c_define(f"{L}_params"),
                        calls=[f"st = ef_log_softmax_s8(&{L}_params, {x}, {a.rows}, {a.depth}, {y});"])
