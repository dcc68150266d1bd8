"""FULLY_CONNECTED: ``batches`` rows of ``depth`` values times a [units, depth] int8 matrix.

MACs = batches*depth*units. Kernels: ``ef_fully_connected_s8`` (per-tensor quantization) or
``ef_fully_connected_per_channel_s8`` (one scale per unit). With symmetric weights the input
offset is folded into the bias at generation time (``_fold_input_offset``). On the DSP cores
(Cortex-M4/M7/M33) a per-tensor layer with depth % 4 == 0 and >= 4 units runs
``ef_fully_connected_il4_s8`` on weights interleaved here in blocks of 4 units (``interleave4``:
one LDM per 4 units' words, same bytes); a filter stored packed keeps the row-major kernel (its
unpacked arena copy is row-major).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.export import quant
from edgefact.export.ir import Layer, prod
from edgefact.export.ops.base import CStruct, Dims, Emission, EmitContext, LowerContext, OpDef, dims_decl
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator


@dataclass(frozen=True)
class FcParams(CStruct):
    """ef_fc_params."""

    C_TYPE: ClassVar[str] = "ef_fc_params"
    input_offset: int
    filter_offset: int
    output_offset: int
    activation: tuple[int, int]


@dataclass(frozen=True)
class FcArgs:
    params: FcParams
    batches: int
    depth: int
    units: int


def _fold_input_offset(layer: Layer, weights: np.ndarray, input_offset: int) -> int:
    """Fold the constant term of sum((x + input_offset) * w) into the bias (symmetric weights):
    bias' = bias + input_offset * sum(w) per unit, and the kernel runs with input offset 0. The
    int32 accumulator is the same number, so the outputs are bit-exact; the kernels skip the
    per-unit filter sums (Helium: 4 units per pass without VADDVA). Returns the offset to emit
    (unchanged when the folded bias would leave int32)."""
    folded = input_offset * weights.astype(np.int64).reshape(weights.shape[0], -1).sum(axis=1)
    if "bias" in layer.consts:
        folded = folded + layer.consts["bias"].astype(np.int64)
    if folded.min(initial=0) < -(2**31) or folded.max(initial=0) >= 2**31:
        return input_offset
    layer.consts["bias"] = folded.astype(np.int32)
    return 0


IL4 = "ef_fully_connected_il4_s8"
#: cores whose library takes the DSP (SMLAD) bodies, where the interleaved kernel pays
_DSP_CORES = ("cortex-m4", "cortex-m7", "cortex-m33")


def interleave4(weights: np.ndarray) -> np.ndarray:
    """[units, depth] (depth % 4 == 0) -> the layout of ``ef_fully_connected_il4_s8``: per block of
    4 units, per group of 4 inputs, the 4 units' 4 weights in turn; the last units % 4 rows
    row-major after the blocks."""
    units, depth = weights.shape
    nb = units // 4
    head = weights[: 4 * nb].reshape(nb, 4, depth // 4, 4).transpose(0, 2, 1, 3).reshape(-1)
    return np.concatenate([head, weights[4 * nb:].reshape(-1)]).astype(weights.dtype)


def _il4_ok(layer: Layer) -> bool:
    a: FcArgs = layer.args
    return (layer.kernel in ("ef_fully_connected_s8", IL4) and a.params.filter_offset == 0
            and a.depth % 4 == 0 and a.units >= 4)


@register
class FullyConnected(OpDef):
    name = "FULLY_CONNECTED"
    kernel_names = ("ef_fully_connected_s8", "ef_fully_connected_per_channel_s8", IL4)
    constraints = "int8 weights (per-tensor or per-unit scales), int32 bias, any batch count"

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        filt = ctx.const(op, 1, "weight")
        bias = ctx.const(op, 2, "bias")
        if filt is None:
            raise ctx.fail(op, "no weight tensor")
        layer = ctx.base(op, "ef_fully_connected_s8", [op.inputs[0]])
        ctx.require_int8(op, layer)
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        units, depth = filt.shape
        total = prod(inp.shape)
        if total % depth:
            raise ctx.fail(op, f"input {inp.shape} is not a multiple of the weight depth {depth}")
        batches = total // depth
        fq = filt.quantization
        if fq is None or filt.type_name != "INT8":
            raise ctx.fail(op, f"weight '{filt.name}' must be int8 with quantization parameters")
        m, s = quant.per_channel_multipliers(inp.scale, fq.scales, out.scale, len(fq.scales))
        if len(fq.scales) > 1:
            layer.kernel = "ef_fully_connected_per_channel_s8"
        layer.consts.update(filter=filt.data, multiplier=np.asarray(m, dtype=np.int32),
                            shift=np.asarray(s, dtype=np.int32))
        layer.const_names["filter"] = filt.name
        if bias is not None:
            layer.consts["bias"] = bias.data
            layer.const_names["bias"] = bias.name
        input_offset = -inp.zero_point
        if not np.any(fq.zero_points != 0) and input_offset != 0:
            input_offset = _fold_input_offset(layer, filt.data, input_offset)
        params = FcParams(input_offset, -int(fq.zero_points[0]), out.zero_point,
                          ctx.act(op, ctx.model.tensors[out.index]))
        layer.args = FcArgs(params, batches, depth, units)
        layer.describe = op.options.get("fused_activation_function", "NONE").lower()
        layer.macs = batches * depth * units
        layer.params = int(filt.data.size) + (int(bias.data.size) if bias is not None else 0)
        layer.weight_bytes = int(filt.data.nbytes) + (int(bias.data.nbytes) if bias is not None else 0)
        if ctx.target is not None and ctx.target.core in _DSP_CORES and _il4_ok(layer):
            layer.kernel = IL4
        return layer

    def kernels(self, layer: Layer) -> tuple[str, ...]:
        if not _il4_ok(layer):
            return (layer.kernel,)
        other = "ef_fully_connected_s8" if layer.kernel == IL4 else IL4
        return (layer.kernel, other)

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: FcArgs = layer.args
        e = Emission()
        L = layer.sym
        if layer.kernel == IL4 and layer.packed is not None:
            layer.kernel = "ef_fully_connected_s8"  # the unpacked copy is row-major
        if layer.kernel == IL4:
            w = np.asarray(layer.consts["filter"]).reshape(a.units, a.depth)
            filt = em.const_array(layer, "filter", interleave4(w), "int8_t", "weights (4-unit interleaved)")
        else:
            filt = em.filter_ref(pos, layer, "weights")
        bias = (em.const_array(layer, "bias", layer.consts["bias"], "int32_t", "bias")
                if "bias" in layer.consts else "NULL")
        e.decls += a.params.c_define(f"{L}_params")
        mult, shift = layer.consts["multiplier"], layer.consts["shift"]
        if layer.kernel == "ef_fully_connected_per_channel_s8":
            m = em.const_array(layer, "multiplier", mult, "int32_t", "requant multiplier")
            s = em.const_array(layer, "shift", shift, "int32_t", "requant shift")
            e.decls.append(f"static const ef_per_channel_quant {L}_quant = {{{m}, {s}}};")
        else:
            e.decls.append(f"static const ef_per_tensor_quant {L}_quant = {{{int(mult[0])}, {int(shift[0])}}};")
        b, d, u = a.batches, a.depth, a.units
        d_in = dims_decl(e, layer, "input_dims", Dims(b, 1, 1, d))
        d_f = dims_decl(e, layer, "filter_dims", Dims(u, 1, 1, d))
        d_out = dims_decl(e, layer, "output_dims", Dims(b, 1, 1, u))
        em.check_size(layer, layer.inputs[0], (b, d))
        em.check_size(layer, layer.output, (b, u))
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        e.calls = [f"st = {layer.kernel}(&{L}_params, &{L}_quant, {d_in}, {x}, {d_f}, {filt}, {bias},",
                   f"        {d_out}, {y});"]
        return e
