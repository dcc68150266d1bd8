"""QUANTIZE (float32 -> int8 at the model input, or int8 -> int8 requantization: a 256-entry table
look-up, ``ef_lut_s8``, with ``ef_requantize_s8`` as the alternative) and DEQUANTIZE (int8 ->
float32 at the model output)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.export import quant, quant_lut
from edgefact.export.ir import Layer, prod
from edgefact.export.ops.base import CStruct, Emission, EmitContext, LowerContext, OpDef
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator


def c_float(x: float) -> str:
    """A float32 literal that round-trips exactly."""
    return f"{float(np.float32(x))!r}f" if np.isfinite(x) else "0.0f"


@dataclass(frozen=True)
class RequantizeParams(CStruct):
    """ef_requantize_params."""

    C_TYPE: ClassVar[str] = "ef_requantize_params"
    input_offset: int
    output_offset: int
    multiplier: int
    shift: int


@dataclass(frozen=True)
class AffineArgs:
    """A float <-> int8 conversion: real = scale * (q - zero_point)."""

    scale: float
    zero_point: int


@dataclass(frozen=True)
class RequantizeArgs:
    """int8 -> int8: the requantization parameters and the same map as a table by input byte."""

    params: RequantizeParams
    table: np.ndarray


@register
class Quantize(OpDef):
    name = "QUANTIZE"
    kernel_names = ("ef_quantize_f32_s8", "ef_lut_s8", "ef_requantize_s8")
    constraints = "float32 -> int8, or int8 -> int8 (requantization, as a table look-up)"

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, "", [op.inputs[0]])
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        if out.type_name != "INT8":
            raise ctx.fail(op, f"QUANTIZE to {out.type_name}; supported: to int8")
        if inp.type_name == "FLOAT32":
            layer.kernel = "ef_quantize_f32_s8"
            layer.args = AffineArgs(out.scale, out.zero_point)
            layer.describe = "float32 -> int8"
        else:
            p = RequantizeParams(*quant.requantize_params(inp.scale, inp.zero_point, out.scale, out.zero_point))
            table = quant_lut.table(lambda x: quant.requantize(x + p.input_offset, p.multiplier, p.shift,
                                                               p.output_offset))
            layer.kernel = "ef_lut_s8"  # 1-4 instructions per value instead of a requantization
            layer.args = RequantizeArgs(p, table)
            layer.weight_bytes = int(table.nbytes)
            layer.describe = "int8 -> int8"
        return layer

    def kernels(self, layer: Layer) -> tuple[str, ...]:
        if layer.kernel == "ef_quantize_f32_s8":
            return (layer.kernel,)
        return (layer.kernel, *(k for k in ("ef_lut_s8", "ef_requantize_s8") if k != layer.kernel))

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        size = prod(layer.output_shape)
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        if layer.kernel == "ef_quantize_f32_s8":
            a: AffineArgs = layer.args
            return Emission(calls=[f"st = ef_quantize_f32_s8({x}, {y}, {size}, {c_float(a.scale)}, {a.zero_point});"])
        r: RequantizeArgs = layer.args
        if layer.kernel == "ef_lut_s8":
            table = em.const_array(layer, "table", r.table, "int8_t", "requantized value per input byte")
            return Emission(calls=[f"st = ef_lut_s8({table}, {x}, {y}, {size});"])
        L = layer.sym
        return Emission(decls=r.params.c_define(f"{L}_params"),
                        calls=[f"st = ef_requantize_s8(&{L}_params, {x}, {y}, {size});"])


@register
class Dequantize(OpDef):
    name = "DEQUANTIZE"
    kernel_names = ("ef_dequantize_s8_f32",)
    constraints = "int8 -> float32"

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, "ef_dequantize_s8_f32", [op.inputs[0]])
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        if inp.type_name != "INT8" or out.type_name != "FLOAT32":
            raise ctx.fail(op, f"DEQUANTIZE {inp.type_name} -> {out.type_name}; supported: int8 -> float32")
        layer.args = AffineArgs(inp.scale, inp.zero_point)
        layer.describe = "int8 -> float32"
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: AffineArgs = layer.args
        size = prod(layer.output_shape)
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        return Emission(calls=[f"st = ef_dequantize_s8_f32({x}, {y}, {size}, {c_float(a.scale)}, {a.zero_point});"])
