"""ADD and MUL (same shape, or NumPy broadcasting of any rank that merges to <= 4 dims, one
operand may be a constant: :mod:`edgefact.export.ops.operands`), and the standalone RELU / RELU6
(a clamp in place when quantization is unchanged, else a table look-up). No MACs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.export import quant, quant_lut
from edgefact.export.ir import Layer, TensorInfo, prod
from edgefact.export.ops.base import CStruct, Emission, EmitContext, LowerContext, OpDef, c_value
from edgefact.export.ops.operands import Operands, dims_ptrs, lower_operands, operand_ptrs
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator


@dataclass(frozen=True)
class AddParams(CStruct):
    """ef_add_params."""

    C_TYPE: ClassVar[str] = "ef_add_params"
    input1_offset: int
    input2_offset: int
    output_offset: int
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int
    activation: tuple[int, int]


@dataclass(frozen=True)
class MulParams(CStruct):
    """ef_mul_params."""

    C_TYPE: ClassVar[str] = "ef_mul_params"
    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    activation: tuple[int, int]


@dataclass(frozen=True)
class AddTableParams(CStruct):
    """ef_add_table_params."""

    C_TYPE: ClassVar[str] = "ef_add_table_params"
    direct_multiplier: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    activation: tuple[int, int]


@dataclass(frozen=True)
class AddTable:
    """ADD / SUB of equal shapes on ``ef_add_table_s8``: operand ``direct`` (0 or 1) is read as is,
    the other through ``table`` (int32, by byte)."""

    params: AddTableParams
    direct: int
    table: np.ndarray


#: ef_add_table_s8's bounds: output shift -23..-1, |direct multiplier| <= 2^22, |sum| < 2^29
_TABLE_MAX_SHIFT = 23
_TABLE_SUM_LIMIT = 1 << 29


def add_table(p: quant.AddParams, subtract: bool = False) -> AddTable | None:
    """The table form of an ADD (``subtract``: SUB, input1 - input2) with TFLite's parameters, or
    None when it does not apply. One input of TFLite's ADD has multiplier 2^30 and shift 0 (the
    larger scale, 0.5): its rescale is exactly ``(x + offset) << (left_shift - 1)``, so the sum of
    both rescaled inputs is ``table[(uint8_t)t] + K * d`` with the other input's exact
    MultiplyByQuantizedMultiplier (and ``d``'s offset term) in the table: bit-exact by construction."""
    ins = ((p.input1_offset, p.input1_multiplier, p.input1_shift), (p.input2_offset, p.input2_multiplier,
                                                                    p.input2_shift))
    half = [m == 1 << 30 and s == 0 for _, m, s in ins]
    if (not any(half) or not 1 <= p.left_shift <= _TABLE_MAX_SHIFT or p.output_multiplier < 0
            or not -_TABLE_MAX_SHIFT <= p.output_shift <= -1):
        return None
    d = 0 if half[0] else 1
    t = 1 - d
    off_t, m_t, s_t = ins[t]
    sign_t = -1 if subtract and t == 1 else 1
    sign_d = -1 if subtract and d == 1 else 1
    k = sign_d * (1 << (p.left_shift - 1))
    x = np.arange(256, dtype=np.int64)
    x = np.where(x >= 128, x - 256, x)
    rescaled = np.array([quant.multiply_by_quantized_multiplier(int(v + off_t) << p.left_shift, m_t, s_t)
                         for v in x], dtype=np.int64)
    table = sign_t * rescaled + k * ins[d][0]
    if int(np.abs(table).max()) + 128 * abs(k) >= _TABLE_SUM_LIMIT:
        return None
    params = AddTableParams(k, p.output_offset, p.output_multiplier, p.output_shift, (p.act_min, p.act_max))
    return AddTable(params, d, table.astype(np.int32))


def emit_add_table(layer: Layer, em: EmitContext, t: AddTable, operands: Operands) -> Emission:
    """The ef_add_table_s8 call of an equal-shape ADD or SUB."""
    e = Emission()
    L = layer.sym
    e.decls += t.params.c_define(f"{L}_tparams")
    x = operand_ptrs(layer, em, operands)
    table = em.const_array(layer, "table", t.table, "int32_t", "sum term per byte of the tabled operand")
    y = em.ptr(layer.output, True)
    e.calls = [f"st = ef_add_table_s8(&{L}_tparams, {table}, {x[t.direct]}, {x[1 - t.direct]}, {y}, "
               f"{prod(layer.output_shape)});"]
    return e


@dataclass(frozen=True)
class BinaryArgs:
    params: AddParams | MulParams
    operands: Operands
    table: AddTable | None = None  # ADD of equal shapes: ef_add_table_s8's form

    @property
    def broadcast(self) -> bool:
        return self.operands.broadcast


class _Binary(OpDef):
    kernel: ClassVar[str]
    broadcast_inplace: ClassVar[bool] = False  # the broadcast kernel may overwrite a full-shape input
    constraints = ("int8, same shape or NumPy broadcasting (any rank that merges to <= 4 dims), one operand "
                   "may be a constant")

    def params(self, a: tuple[float, int], b: tuple[float, int], out: tuple[float, int],
               act: str) -> AddParams | MulParams:
        raise NotImplementedError

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer, operands = lower_operands(ctx, op, self.kernel)
        out = ctx.tensors[layer.output]
        act = op.options.get("fused_activation_function", "NONE")
        if operands.broadcast:
            layer.kernel = self.kernel.replace("_s8", "_broadcast_s8")
            if not self.broadcast_inplace:
                layer.inplace_ok = ()
        layer.args = BinaryArgs(self.params(*operands.quant, (out.scale, out.zero_point), act), operands)
        layer.describe = ", ".join(d for d in (layer.describe, act.lower()) if d)
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: BinaryArgs = layer.args
        if layer.kernel == "ef_add_table_s8" and a.table is not None:
            return emit_add_table(layer, em, a.table, a.operands)
        e = Emission()
        L = layer.sym
        e.decls += a.params.c_define(f"{L}_params")
        x1, x2 = operand_ptrs(layer, em, a.operands)
        y = em.ptr(layer.output, True)
        if a.broadcast:
            d1, d2, d_out = dims_ptrs(e, layer, a.operands)
            e.calls = [f"st = {layer.kernel}(&{L}_params, {d1}, {x1}, {d2}, {x2}, {d_out}, {y});"]
        else:
            e.calls = [f"st = {layer.kernel}(&{L}_params, {x1}, {x2}, {y}, {prod(layer.output_shape)});"]
        return e


@register
class Add(_Binary):
    name = "ADD"
    kernel = "ef_add_s8"
    kernel_names = ("ef_add_s8", "ef_add_broadcast_s8", "ef_add_table_s8")

    def params(self, a: tuple[float, int], b: tuple[float, int], out: tuple[float, int], act: str) -> AddParams:
        p = quant.add_params(*a, *b, *out, act)
        return AddParams(p.input1_offset, p.input2_offset, p.output_offset, p.left_shift, p.input1_multiplier,
                         p.input1_shift, p.input2_multiplier, p.input2_shift, p.output_multiplier, p.output_shift,
                         (p.act_min, p.act_max))

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        """Equal shapes with TFLite's parameters take ef_add_table_s8 (one table of 1 KB)."""
        layer = super().lower(ctx, op)
        a: BinaryArgs = layer.args
        if not a.broadcast:
            p = a.params
            t = add_table(quant.AddParams(p.input1_offset, p.input2_offset, p.output_offset, p.left_shift,
                                          p.input1_multiplier, p.input1_shift, p.input2_multiplier, p.input2_shift,
                                          p.output_multiplier, p.output_shift, *p.activation))
            if t is not None:
                layer.args = BinaryArgs(a.params, a.operands, t)
                layer.kernel = "ef_add_table_s8"
        return layer

    def kernels(self, layer: Layer) -> tuple[str, ...]:
        a: BinaryArgs = layer.args
        return ("ef_add_table_s8", "ef_add_s8") if a.table is not None else (layer.kernel,)


@register
class Mul(_Binary):
    name = "MUL"
    kernel = "ef_mul_s8"
    broadcast_inplace = True  # ef_mul_broadcast_s8 reads each element before writing it
    kernel_names = ("ef_mul_s8", "ef_mul_broadcast_s8")

    def params(self, a: tuple[float, int], b: tuple[float, int], out: tuple[float, int], act: str) -> MulParams:
        p = quant.mul_params(*a, *b, *out, act)
        return MulParams(p.input1_offset, p.input2_offset, p.output_offset, p.output_multiplier, p.output_shift,
                         (p.act_min, p.act_max))


class _Clamp(OpDef):
    constraints = ("int8; a clamp in place when input and output quantization are equal, otherwise a table "
                   "look-up (TFLM's arithmetic)")
    kernel_names = ("ef_clamp_s8", "ef_lut_s8")

    def table(self, inp: TensorInfo, out: TensorInfo) -> np.ndarray:
        raise NotImplementedError

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, "ef_clamp_s8", [op.inputs[0]])
        ctx.require_int8(op, layer)
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        layer.describe = self.name.lower()
        layer.inplace_ok = (0,)
        if (inp.scale, inp.zero_point) != (out.scale, out.zero_point):
            layer.kernel = "ef_lut_s8"
            layer.args = self.table(inp, out)
            layer.weight_bytes = int(layer.args.nbytes)
            layer.describe += " (requantizing: table look-up)"
            return layer
        layer.args = quant.activation_range(self.name, out.scale, out.zero_point)
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        e = Emission()
        L = layer.sym
        size = prod(layer.output_shape)
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        if layer.kernel == "ef_lut_s8":
            table = em.const_array(layer, "table", layer.args, "int8_t", f"{layer.op} output per input byte")
            e.calls.append(f"st = ef_lut_s8({table}, {x}, {y}, {size});")
            return e
        e.decls.append(f"static const ef_activation {L}_act = {c_value(tuple(layer.args))};")
        if layer.inplace_input is None:
            e.calls.append(f"memcpy({y}, {x}, {size});")
        e.calls.append(f"st = ef_clamp_s8(&{L}_act, {y}, {size});")
        return e


@register
class Relu(_Clamp):
    name = "RELU"

    def table(self, inp: TensorInfo, out: TensorInfo) -> np.ndarray:
        return quant_lut.relu_table(inp.scale, inp.zero_point, out.scale, out.zero_point)


@register
class Relu6(_Clamp):
    name = "RELU6"

    def table(self, inp: TensorInfo, out: TensorInfo) -> np.ndarray:
        """TFLM's RELU6 clamps the raw input on the input's quantization whatever the output's."""
        return quant_lut.relu6_table(inp.scale, inp.zero_point)
