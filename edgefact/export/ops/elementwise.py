"""ADD and MUL of two computed tensors (same shape, or NumPy broadcasting up to 4-D), and the
standalone RELU / RELU6 (a clamp in place when quantization is unchanged). No MACs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from edgefact.errors import UnsupportedOpError
from edgefact.export import quant
from edgefact.export.ir import Layer, TensorInfo, prod
from edgefact.export.ops.base import CStruct, Emission, EmitContext, LowerContext, OpDef, c_value, dims_decl
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
    broadcast: bool


class _Binary(OpDef):
    kernel: ClassVar[str]
    constraints = "int8, two computed tensors of the same shape or broadcasting over <= 4-D"

    def params(self, a: TensorInfo, b: TensorInfo, out: TensorInfo, act: str) -> AddParams | MulParams:
        raise NotImplementedError

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        for i in op.inputs[:2]:
            if ctx.model.tensors[i].is_constant:
                raise ctx.fail(op, f"constant operand '{ctx.model.tensors[i].name}'; edgefact supports "
                                   f"{op.name} of two computed tensors")
        layer = ctx.base(op, self.kernel, [op.inputs[0], op.inputs[1]])
        ctx.require_int8(op, layer)
        a, b = (ctx.tensors[i] for i in layer.inputs)
        out = ctx.tensors[layer.output]
        act = op.options.get("fused_activation_function", "NONE")
        broadcast = not (a.shape == b.shape == out.shape)
        if broadcast:
            if max(len(a.shape), len(b.shape)) > 4:
                raise UnsupportedOpError(f"operator {layer.index} ({layer.op}): broadcasting beyond 4-D")
            layer.kernel = self.kernel.replace("_s8", "_broadcast_s8")
        else:
            layer.inplace_ok = (0, 1)
        layer.args = BinaryArgs(self.params(a, b, out, act), broadcast)
        layer.describe = act.lower()
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: BinaryArgs = layer.args
        e = Emission()
        L = f"L{layer.index}"
        e.decls += a.params.c_define(f"{L}_params")
        x1, x2 = (em.ptr(t, False) for t in layer.inputs)
        y = em.ptr(layer.output, True)
        if a.broadcast:
            d1 = dims_decl(e, layer, "input1_dims", layer.input_shapes[0])
            d2 = dims_decl(e, layer, "input2_dims", layer.input_shapes[1])
            d_out = dims_decl(e, layer, "output_dims", layer.output_shape)
            e.calls = [f"st = {layer.kernel}(&{L}_params, {d1}, {x1}, {d2}, {x2}, {d_out}, {y});"]
        else:
            e.calls = [f"st = {layer.kernel}(&{L}_params, {x1}, {x2}, {y}, {prod(layer.output_shape)});"]
        return e


@register
class Add(_Binary):
    name = "ADD"
    kernel = "ef_add_s8"
    kernel_names = ("ef_add_s8", "ef_add_broadcast_s8")

    def params(self, a: TensorInfo, b: TensorInfo, out: TensorInfo, act: str) -> AddParams:
        p = quant.add_params(a.scale, a.zero_point, b.scale, b.zero_point, out.scale, out.zero_point, act)
        return AddParams(p.input1_offset, p.input2_offset, p.output_offset, p.left_shift, p.input1_multiplier,
                         p.input1_shift, p.input2_multiplier, p.input2_shift, p.output_multiplier, p.output_shift,
                         (p.act_min, p.act_max))


@register
class Mul(_Binary):
    name = "MUL"
    kernel = "ef_mul_s8"
    kernel_names = ("ef_mul_s8", "ef_mul_broadcast_s8")

    def params(self, a: TensorInfo, b: TensorInfo, out: TensorInfo, act: str) -> MulParams:
        p = quant.mul_params(a.scale, a.zero_point, b.scale, b.zero_point, out.scale, out.zero_point, act)
        return MulParams(p.input1_offset, p.input2_offset, p.output_offset, p.output_multiplier, p.output_shift,
                         (p.act_min, p.act_max))


class _Clamp(OpDef):
    constraints = "int8, input and output quantization equal"
    kernel_names = ("ef_clamp_s8",)

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, "ef_clamp_s8", [op.inputs[0]])
        ctx.require_int8(op, layer)
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        if (inp.scale, inp.zero_point) != (out.scale, out.zero_point):
            raise ctx.fail(op, "a standalone activation that changes quantization is not supported")
        layer.args = quant.activation_range(self.name, out.scale, out.zero_point)
        layer.describe = self.name.lower()
        layer.inplace_ok = (0,)
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        e = Emission()
        L = f"L{layer.index}"
        size = prod(layer.output_shape)
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        e.decls.append(f"static const ef_activation {L}_act = {c_value(tuple(layer.args))};")
        if layer.inplace_input is None:
            e.calls.append(f"memcpy({y}, {x}, {size});")
        e.calls.append(f"st = ef_clamp_s8(&{L}_act, {y}, {size});")
        return e


@register
class Relu(_Clamp):
    name = "RELU"


@register
class Relu6(_Clamp):
    name = "RELU6"
