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
class BinaryArgs:
    params: AddParams | MulParams
    operands: Operands

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
    kernel_names = ("ef_add_s8", "ef_add_broadcast_s8")

    def params(self, a: tuple[float, int], b: tuple[float, int], out: tuple[float, int], act: str) -> AddParams:
        p = quant.add_params(*a, *b, *out, act)
        return AddParams(p.input1_offset, p.input2_offset, p.output_offset, p.left_shift, p.input1_multiplier,
                         p.input1_shift, p.input2_multiplier, p.input2_shift, p.output_multiplier, p.output_shift,
                         (p.act_min, p.act_max))


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
