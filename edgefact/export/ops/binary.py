"""SUB, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM and PRELU: binary element-wise int8 operators with
NumPy broadcasting and constant operands (:mod:`edgefact.export.ops.operands`), one kernel each
taking the three merged 4-D shapes. No MACs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from edgefact.errors import EdgefactError
from edgefact.export import quant
from edgefact.export.ir import Layer
from edgefact.export.ops.base import CStruct, Emission, EmitContext, LowerContext, OpDef
from edgefact.export.ops.elementwise import AddParams, AddTable, add_table, emit_add_table
from edgefact.export.ops.operands import Operands, dims_ptrs, lower_operands, operand_ptrs
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator


@dataclass(frozen=True)
class PreluParams(CStruct):
    """ef_prelu_params."""

    C_TYPE: ClassVar[str] = "ef_prelu_params"
    input_offset: int
    alpha_offset: int
    output_offset: int
    positive_multiplier: int
    positive_shift: int
    negative_multiplier: int
    negative_shift: int


@dataclass(frozen=True)
class BroadcastArgs:
    """A broadcasting kernel call: its parameter struct (None: the kernel takes none) and operands."""

    params: CStruct | None
    operands: Operands
    table: AddTable | None = None  # SUB of equal shapes: ef_add_table_s8's form


class _Broadcast(OpDef):
    """An operator whose one kernel takes the three shapes (broadcasting or not)."""

    kernel: ClassVar[str]
    what: ClassVar[str] = "operand"
    constraints = "int8, NumPy broadcasting (any rank that merges to <= 4 dims), a constant operand allowed"

    def params(self, ctx: LowerContext, op: Operator, o: Operands, out_scale: float, out_zp: int) -> CStruct | None:
        raise NotImplementedError

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer, o = lower_operands(ctx, op, self.kernel, self.what)
        out = ctx.tensors[layer.output]
        try:
            p = self.params(ctx, op, o, out.scale, out.zero_point)
        except EdgefactError as exc:
            raise ctx.fail(op, str(exc)) from exc
        layer.args = BroadcastArgs(p, o)
        act = op.options.get("fused_activation_function", "NONE")
        if act != "NONE":
            layer.describe = (layer.describe + " " + act.lower()).strip()
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: BroadcastArgs = layer.args
        if layer.kernel == "ef_add_table_s8" and a.table is not None:
            return emit_add_table(layer, em, a.table, a.operands)
        e = Emission()
        L = layer.sym
        args = []
        if a.params is not None:
            e.decls += a.params.c_define(f"{L}_params")
            args.append(f"&{L}_params")
        x1, x2 = operand_ptrs(layer, em, a.operands, f"constant {self.what}")
        d1, d2, d_out = dims_ptrs(e, layer, a.operands)
        y = em.ptr(layer.output, True)
        args += [d1, x1, d2, x2, d_out, y]
        e.calls = [f"st = {self.kernel}({', '.join(args)});"]
        return e


def _add_struct(p: quant.AddParams) -> AddParams:
    return AddParams(p.input1_offset, p.input2_offset, p.output_offset, p.left_shift, p.input1_multiplier,
                     p.input1_shift, p.input2_multiplier, p.input2_shift, p.output_multiplier, p.output_shift,
                     (p.act_min, p.act_max))


@register
class Sub(_Broadcast):
    name = "SUB"
    kernel = "ef_sub_s8"
    kernel_names = ("ef_sub_s8", "ef_add_table_s8")
    constraints = _Broadcast.constraints + ", fused activation"

    def params(self, ctx: LowerContext, op: Operator, o: Operands, out_scale: float, out_zp: int) -> CStruct:
        (s1, z1), (s2, z2) = o.quant
        return _add_struct(quant.sub_params(s1, z1, s2, z2, out_scale, out_zp,
                                            op.options.get("fused_activation_function", "NONE")))

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        """Equal shapes with TFLite's parameters take ADD's table kernel (the subtrahend negated)."""
        layer = super().lower(ctx, op)
        a: BroadcastArgs = layer.args
        if not a.operands.broadcast:
            (s1, z1), (s2, z2) = a.operands.quant
            out = ctx.tensors[layer.output]
            t = add_table(quant.sub_params(s1, z1, s2, z2, out.scale, out.zero_point,
                                           op.options.get("fused_activation_function", "NONE")), subtract=True)
            if t is not None:
                layer.args = BroadcastArgs(a.params, a.operands, t)
                layer.kernel = "ef_add_table_s8"
        return layer

    def kernels(self, layer: Layer) -> tuple[str, ...]:
        a: BroadcastArgs = layer.args
        return ("ef_add_table_s8", "ef_sub_s8") if a.table is not None else (layer.kernel,)


@register
class SquaredDifference(_Broadcast):
    name = "SQUARED_DIFFERENCE"
    kernel = "ef_squared_difference_s8"
    kernel_names = ("ef_squared_difference_s8",)

    def params(self, ctx: LowerContext, op: Operator, o: Operands, out_scale: float, out_zp: int) -> CStruct:
        (s1, z1), (s2, z2) = o.quant
        return _add_struct(quant.squared_difference_params(s1, z1, s2, z2, out_scale, out_zp))


@register
class Maximum(_Broadcast):
    name = "MAXIMUM"
    kernel = "ef_maximum_s8"
    kernel_names = ("ef_maximum_s8",)
    constraints = _Broadcast.constraints + "; compares the raw int8 values, as TFLite"

    def params(self, ctx: LowerContext, op: Operator, o: Operands, out_scale: float, out_zp: int) -> None:
        return None


@register
class Minimum(Maximum):
    name = "MINIMUM"
    kernel = "ef_minimum_s8"
    kernel_names = ("ef_minimum_s8",)


@register
class Prelu(_Broadcast):
    name = "PRELU"
    kernel = "ef_prelu_s8"
    kernel_names = ("ef_prelu_s8",)
    what = "alpha"
    constraints = "int8, alpha (constant or computed, per-tensor quantized) broadcast against the input"

    def params(self, ctx: LowerContext, op: Operator, o: Operands, out_scale: float, out_zp: int) -> CStruct:
        if o.const[0] is not None:
            raise EdgefactError("the PRELU input is a constant; edgefact needs a computed input")
        (s_in, z_in), (s_a, z_a) = o.quant
        p = quant.prelu_params(s_in, z_in, s_a, z_a, out_scale, out_zp)
        return PreluParams(p.input_offset, p.alpha_offset, p.output_offset, p.positive_multiplier, p.positive_shift,
                           p.negative_multiplier, p.negative_shift)
