"""QUANTIZE and DEQUANTIZE, at the model boundary or inside the graph.

QUANTIZE: float32 -> int8 (``ef_quantize_f32_s8``); an 8-bit requantization -- int8 -> int8,
uint8 -> int8 (what ``inference_input_type=tf.uint8`` puts at the model input), int8 -> uint8 (the
uint8 output) -- as a 256-entry table look-up (``ef_lut_s8``, indexed by the input byte;
``ef_requantize_s8`` is the int8 -> int8 alternative); int8 -> int16, int16 -> int8 and int16 ->
int16 by TFLite's Requantize (``ef_requantize_s8_s16`` ...). DEQUANTIZE: int8 or int16 -> float32.
Every requantization is TFLite's: ``MultiplyByQuantizedMultiplier(x - zp_in)`` with the multiplier
of ``input scale / output scale`` (in double, as TFLM's Prepare), plus ``zp_out``, saturated to the
output type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.export import quant
from edgefact.export.ir import Layer, TensorInfo, prod
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
    """A float <-> integer conversion: real = scale * (q - zero_point)."""

    scale: float
    zero_point: int


@dataclass(frozen=True)
class RequantizeArgs:
    """integer -> integer: the requantization parameters and, for 8-bit types on both sides, the
    same map as a table by input byte."""

    params: RequantizeParams
    table: np.ndarray | None
    pair: tuple[str, str] = ("INT8", "INT8")  # (input type, output type)


#: the value range of each integer type QUANTIZE reads or writes
_RANGE = {"INT8": (-128, 127), "UINT8": (0, 255), "INT16": (-32768, 32767)}

#: (input type, output type) -> kernel of the requantizations that are not a table look-up
_REQUANTIZE = {("INT8", "INT16"): "ef_requantize_s8_s16", ("INT16", "INT8"): "ef_requantize_s16_s8",
               ("INT16", "INT16"): "ef_requantize_s16_s16"}

_QUANTIZE_PAIRS = "float32 -> int8; int8 -> int8, uint8 -> int8, int8 -> uint8, int8 <-> int16, int16 -> int16"


def requantize_table(p: RequantizeParams, in_type: str, out_type: str) -> np.ndarray:
    """The 256 output bytes of an 8-bit requantization, indexed by the input byte (as int8 values:
    a uint8 output's bytes seen as int8, the way ``ef_lut_s8`` stores them)."""
    lo, hi = _RANGE[out_type]
    signed_in = in_type == "INT8"
    vals = []
    for byte in range(256):
        x = byte - 256 if signed_in and byte >= 128 else byte
        v = quant.requantize(x + p.input_offset, p.multiplier, p.shift, p.output_offset, lo, hi)
        vals.append(v)
    return np.array(vals, dtype=np.int64).astype(np.uint8).view(np.int8)


def _int8_ptr(expr: str, t: TensorInfo, const: bool) -> str:
    """``expr`` as the ``int8_t`` pointer ``ef_lut_s8`` takes (a uint8 tensor's bytes)."""
    if t.type_name == "INT8":
        return expr
    return f"({'const ' if const else ''}int8_t *)({'const ' if const else ''}void *){expr}"


@register
class Quantize(OpDef):
    name = "QUANTIZE"
    kernel_names = ("ef_quantize_f32_s8", "ef_lut_s8", "ef_requantize_s8", *_REQUANTIZE.values())
    constraints = f"{_QUANTIZE_PAIRS} (8-bit pairs as a table look-up)"
    tensor_types = ("UINT8", "INT16")

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, "", [op.inputs[0]])
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        pair = (inp.type_name, out.type_name)
        if pair == ("FLOAT32", "INT8"):
            layer.kernel = "ef_quantize_f32_s8"
            layer.args = AffineArgs(out.scale, out.zero_point)
            layer.describe = "float32 -> int8"
            return layer
        if inp.type_name not in _RANGE or out.type_name not in _RANGE or pair in (("UINT8", "UINT8"),
                                                                                  ("UINT8", "INT16"),
                                                                                  ("INT16", "UINT8")):
            raise ctx.fail(op, f"QUANTIZE {inp.type_name} -> {out.type_name} (tensor '{inp.name}' -> "
                               f"'{out.name}'); supported: {_QUANTIZE_PAIRS}")
        p = RequantizeParams(*quant.requantize_params(inp.scale, inp.zero_point, out.scale, out.zero_point))
        layer.describe = f"{inp.type_name.lower()} -> {out.type_name.lower()}"
        if pair in _REQUANTIZE:
            layer.kernel = _REQUANTIZE[pair]
            layer.args = RequantizeArgs(p, None, pair)
            return layer
        table = requantize_table(p, *pair)
        layer.kernel = "ef_lut_s8"  # 1-4 instructions per value instead of a requantization
        layer.args = RequantizeArgs(p, table, pair)
        layer.weight_bytes = int(table.nbytes)
        return layer

    def kernels(self, layer: Layer) -> tuple[str, ...]:
        if not isinstance(layer.args, RequantizeArgs) or layer.args.pair != ("INT8", "INT8"):
            return (layer.kernel,)
        return (layer.kernel, *(k for k in ("ef_lut_s8", "ef_requantize_s8") if k != layer.kernel))

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        size = prod(layer.output_shape)
        tin, tout = em.tensor(layer.inputs[0]), em.tensor(layer.output)
        em.check_size(layer, layer.inputs[0], layer.input_shapes[0])
        em.check_size(layer, layer.output, layer.output_shape)
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        if layer.kernel == "ef_quantize_f32_s8":
            a: AffineArgs = layer.args
            return Emission(calls=[f"st = ef_quantize_f32_s8({x}, {y}, {size}, {c_float(a.scale)}, {a.zero_point});"])
        r: RequantizeArgs = layer.args
        if layer.kernel == "ef_lut_s8":
            assert r.table is not None
            table = em.const_array(layer, "table", r.table, "int8_t", "requantized value per input byte")
            return Emission(calls=[f"st = ef_lut_s8({table}, {_int8_ptr(x, tin, True)}, "
                                   f"{_int8_ptr(y, tout, False)}, {size});"])
        L = layer.sym
        return Emission(decls=r.params.c_define(f"{L}_params"),
                        calls=[f"st = {layer.kernel}(&{L}_params, {x}, {y}, {size});"])


_DEQUANTIZE = {"INT8": "ef_dequantize_s8_f32", "INT16": "ef_dequantize_s16_f32"}


@register
class Dequantize(OpDef):
    name = "DEQUANTIZE"
    kernel_names = tuple(_DEQUANTIZE.values())
    constraints = "int8 -> float32, int16 -> float32"
    tensor_types = ("INT16",)

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, "", [op.inputs[0]])
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        if inp.type_name not in _DEQUANTIZE or out.type_name != "FLOAT32":
            raise ctx.fail(op, f"DEQUANTIZE {inp.type_name} -> {out.type_name} (tensor '{inp.name}'); supported: "
                               "int8 -> float32, int16 -> float32")
        layer.kernel = _DEQUANTIZE[inp.type_name]
        layer.args = AffineArgs(inp.scale, inp.zero_point)
        layer.describe = f"{inp.type_name.lower()} -> float32"
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: AffineArgs = layer.args
        size = prod(layer.output_shape)
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        return Emission(calls=[f"st = {layer.kernel}({x}, {y}, {size}, {c_float(a.scale)}, {a.zero_point});"])
