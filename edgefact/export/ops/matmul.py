"""BATCH_MATMUL of int8 tensors (TFLite Micro's arithmetic, ``ef_batch_matmul_s8``).

``out[..., m, n] = requant(sum_k (lhs[..., m, k] - zp_l) * (rhs[..., k, n] - zp_r))`` with one
per-tensor multiplier ``lhs_scale * rhs_scale / output_scale`` (computed in double, as TFLM).
``adj_x`` / ``adj_y`` and NumPy broadcasting of the batch dimensions (up to 4) become element
strides of the operands, so nothing is transposed or copied. The right operand may be a constant
(stored in flash); the left one is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.export import quant
from edgefact.export.ir import Layer, prod, scale_zp
from edgefact.export.ops.base import CStruct, Emission, EmitContext, LowerContext, OpDef
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator

KERNEL = "ef_batch_matmul_s8"
MAX_BATCH_DIMS = 4


@dataclass(frozen=True)
class BatchMatmulParams(CStruct):
    """ef_batch_matmul_params."""

    C_TYPE: ClassVar[str] = "ef_batch_matmul_params"
    lhs_offset: int
    rhs_offset: int
    output_offset: int
    multiplier: int
    shift: int
    activation: tuple[int, int]
    rows: int
    depth: int
    cols: int
    lhs_row_stride: int
    lhs_depth_stride: int
    rhs_depth_stride: int
    rhs_col_stride: int
    batch: tuple[int, ...]
    lhs_batch_stride: tuple[int, ...]
    rhs_batch_stride: tuple[int, ...]


@dataclass(frozen=True)
class BatchMatmulArgs:
    params: BatchMatmulParams
    lhs_size: int
    rhs_size: int
    rhs_const: np.ndarray | None  # the constant right operand, or None (computed)


def _strides(shape: tuple[int, ...]) -> list[int]:
    out, step = [], 1
    for d in reversed(shape):
        out.insert(0, step)
        step *= d
    return out


def batch_strides(shape: tuple[int, ...], out_batch: tuple[int, ...]) -> list[int]:
    """Element strides of an operand's batch dimensions, aligned to the output's (NumPy
    broadcasting: a missing or size-1 dimension has stride 0)."""
    if len(shape) - 2 > len(out_batch):
        raise ValueError(f"{list(shape)} has more batch dimensions than {list(out_batch)}")
    st = _strides(shape)[:-2]
    dims = list(shape[:-2])
    pad = len(out_batch) - len(dims)
    st, dims = [0] * pad + st, [1] * pad + dims
    return [0 if d == 1 else s for d, s in zip(dims, st, strict=True)]


@register
class BatchMatmul(OpDef):
    name = "BATCH_MATMUL"
    kernel_names = (KERNEL,)
    constraints = ("int8 per-tensor, adj_x / adj_y, broadcast batch dims (up to 4), the right operand computed "
                   "or constant")

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        lhs_i, rhs_i = op.inputs[0], op.inputs[1]
        rhs_t = ctx.model.tensors[rhs_i]
        const = ctx.const(op, 1, "right operand") if rhs_t.is_constant else None
        layer = ctx.base(op, KERNEL, [lhs_i] if const is not None else [lhs_i, rhs_i])
        ctx.require_int8(op, layer)
        lhs, out = ctx.tensors[lhs_i], ctx.tensors[layer.output]
        if const is not None:
            if const.data is None or const.type_name != "INT8" or const.quantization is None:
                raise ctx.fail(op, f"constant right operand '{const.name}' must be int8 with quantization")
            if len(const.quantization.scales) != 1:
                raise ctx.fail(op, "a per-channel quantized right operand; BATCH_MATMUL is per-tensor")
            r_shape, (r_scale, r_zp) = tuple(const.shape), scale_zp(const)
        else:
            rhs = ctx.tensors[rhs_i]
            r_shape, r_scale, r_zp = tuple(rhs.shape), rhs.scale, rhs.zero_point
        l_shape = tuple(lhs.shape)
        if len(l_shape) < 2 or len(r_shape) < 2:
            raise ctx.fail(op, f"operands {list(l_shape)} and {list(r_shape)}; both need rank >= 2")
        adj_x, adj_y = bool(op.options.get("adj_x", False)), bool(op.options.get("adj_y", False))
        m, k = (l_shape[-1], l_shape[-2]) if adj_x else (l_shape[-2], l_shape[-1])
        k2, n = (r_shape[-1], r_shape[-2]) if adj_y else (r_shape[-2], r_shape[-1])
        try:
            batch = tuple(int(d) for d in np.broadcast_shapes(l_shape[:-2], r_shape[:-2]))
        except ValueError:
            batch = None
        if k != k2 or batch is None or tuple(out.shape) != (*batch, m, n):
            raise ctx.fail(op, f"{list(l_shape)} x {list(r_shape)} (adj_x {adj_x}, adj_y {adj_y}) does not give the "
                               f"output {list(out.shape)}")
        if len(batch) > MAX_BATCH_DIMS:
            raise ctx.fail(op, f"{len(batch)} batch dimensions; supported: up to {MAX_BATCH_DIMS}")
        ls, rs = _strides(l_shape), _strides(r_shape)
        l_row, l_dep = (ls[-1], ls[-2]) if adj_x else (ls[-2], ls[-1])
        r_dep, r_col = (rs[-1], rs[-2]) if adj_y else (rs[-2], rs[-1])
        pad = MAX_BATCH_DIMS - len(batch)
        lb, rb = batch_strides(l_shape, batch), batch_strides(r_shape, batch)
        mult, shift = quant.quantize_multiplier(float(lhs.scale) * float(r_scale) / float(out.scale))
        act = ctx.act(op, ctx.model.tensors[out.index])
        params = BatchMatmulParams(-lhs.zero_point, -r_zp, out.zero_point, mult, shift, act, m, k, n, l_row, l_dep,
                                   r_dep, r_col, (1,) * pad + batch, (0,) * pad + tuple(lb), (0,) * pad + tuple(rb))
        layer.args = BatchMatmulArgs(params, prod(l_shape), prod(r_shape),
                                     None if const is None else np.asarray(const.data))
        if const is not None:
            layer.const_names["rhs"] = const.name
            layer.params = int(const.data.size)
            layer.weight_bytes = int(const.data.nbytes)
        layer.macs = prod(batch) * m * n * k
        layer.describe = (f"{m}x{k} x {k}x{n}" + (f" x{prod(batch)}" if prod(batch) > 1 else "")
                          + (" adj_x" if adj_x else "") + (" adj_y" if adj_y else ""))
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: BatchMatmulArgs = layer.args
        L = layer.sym
        em.check_size(layer, layer.inputs[0], (a.lhs_size,))
        em.check_size(layer, layer.output, (*a.params.batch, a.params.rows, a.params.cols))
        x = em.ptr(layer.inputs[0], False)
        if a.rhs_const is not None:
            r = em.const_array(layer, "rhs", a.rhs_const, "int8_t", "constant right operand")
        else:
            em.check_size(layer, layer.inputs[1], (a.rhs_size,))
            r = em.ptr(layer.inputs[1], False)
        y = em.ptr(layer.output, True)
        return Emission(decls=a.params.c_define(f"{L}_params"),
                        calls=[f"st = {KERNEL}(&{L}_params, {x}, {a.lhs_size}, {r}, {a.rhs_size}, {y});"])
