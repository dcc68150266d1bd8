"""AVERAGE_POOL_2D, MAX_POOL_2D and MEAN (over any axes; H,W of a 4-D tensor specialised) (no
MACs: no weights)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export import quant
from edgefact.export.ir import Layer, compute_padding, prod, shape4
from edgefact.export.ops.base import (
    CStruct,
    Dims,
    Emission,
    EmitContext,
    LowerContext,
    OpDef,
    dims_decl,
    params_dims_call,
)
from edgefact.export.ops.registry import register
from edgefact.export.ops.slicing import StridedCopyParams, strided_view
from edgefact.export.tflite_model import Operator


@dataclass(frozen=True)
class PoolParams(CStruct):
    """ef_pool_params."""

    C_TYPE: ClassVar[str] = "ef_pool_params"
    stride: tuple[int, int]
    padding: tuple[int, int]
    filter: tuple[int, int]
    activation: tuple[int, int]


@dataclass(frozen=True)
class MeanParams(CStruct):
    """ef_mean_params."""

    C_TYPE: ClassVar[str] = "ef_mean_params"
    input_offset: int
    output_offset: int
    multiplier: int
    shift: int
    activation: tuple[int, int]


class _Pool(OpDef):
    kernel: ClassVar[str]
    constraints = "int8, any window, stride, SAME/VALID; input and output quantization equal"

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, self.kernel, [op.inputs[0]])
        ctx.require_int8(op, layer)
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        if (inp.scale, inp.zero_point) != (out.scale, out.zero_point):
            raise ctx.fail(op, "input and output quantization differ; TFLite pooling keeps them equal")
        o = op.options
        _, h, w, _ = shape4(inp.shape)
        kh, kw = int(o["filter_height"]), int(o["filter_width"])
        sh, sw = int(o["stride_h"]), int(o["stride_w"])
        oh, pt, _ = compute_padding(h, kh, sh, 1, o["padding"])
        ow, pl, _ = compute_padding(w, kw, sw, 1, o["padding"])
        if shape4(out.shape)[1:3] != (oh, ow):
            raise ctx.fail(op, f"output {out.shape} disagrees with the computed {oh}x{ow}")
        layer.args = PoolParams((sh, sw), (pt, pl), (kh, kw), ctx.act(op, ctx.model.tensors[out.index]))
        layer.describe = f"{kh}x{kw} s{sh} {o['padding']}"
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        return params_dims_call(layer, em)


@register
class AveragePool2D(_Pool):
    name = "AVERAGE_POOL_2D"
    kernel = "ef_avgpool_s8"
    kernel_names = ("ef_avgpool_s8",)


@register
class MaxPool2D(_Pool):
    name = "MAX_POOL_2D"
    kernel = "ef_maxpool_s8"
    kernel_names = ("ef_maxpool_s8",)


@dataclass(frozen=True)
class MeanArgs:
    """A MEAN: its parameters, and the kept / reduced axes as strided views of the input (what
    the general kernel ``ef_reduce_mean_s8`` takes; ``ef_mean_hw_s8`` needs the shapes only)."""

    params: MeanParams
    outer: StridedCopyParams
    inner: StridedCopyParams
    input_size: int
    hw: bool  # a 4-D tensor reduced over H and W: ef_mean_hw_s8 can run it


def mean_views(shape: tuple[int, ...], axes: list[int]) -> tuple[StridedCopyParams, StridedCopyParams]:
    """The kept axes (output order) and the reduced axes (relative to each output's first input
    element) of a MEAN over ``axes`` of ``shape``, as strided views."""
    x = np.arange(prod(shape), dtype=np.int64).reshape(shape)
    kept = [a for a in range(len(shape)) if a not in axes]
    t = np.transpose(x, kept + list(axes))
    first = t[(Ellipsis,) + (0,) * len(axes)]
    rest = t[(0,) * len(kept)] - t[(0,) * len(kept)].flat[0]
    return strided_view(first), strided_view(rest)


@register
class Mean(OpDef):
    name = "MEAN"
    kernel_names = ("ef_mean_hw_s8", "ef_reduce_mean_s8")
    constraints = ("int8, over any constant axes (keep_dims or not); H,W of a 4-D NHWC tensor on the "
                   "specialised ef_mean_hw_s8")

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        axes_t = ctx.model.tensors[op.inputs[1]]
        if axes_t.data is None:
            raise ctx.fail(op, "the axis tensor must be constant")
        layer = ctx.base(op, "ef_mean_hw_s8", [op.inputs[0]])
        ctx.require_int8(op, layer)
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        axes = sorted({int(a) % len(inp.shape) for a in np.ravel(axes_t.data)})
        if prod(out.shape) != prod(inp.shape) // max(1, prod([inp.shape[a] for a in axes])):
            raise ctx.fail(op, f"output {list(out.shape)} is not the input {list(inp.shape)} reduced over {axes}")
        in_off, out_off, mult, shift = quant.mean_params(inp.scale, inp.zero_point, out.scale, out.zero_point)
        try:
            outer, inner = mean_views(tuple(inp.shape), axes)
        except EdgefactError as exc:
            raise ctx.fail(op, str(exc)) from exc
        hw = len(inp.shape) == 4 and axes == [1, 2]
        layer.args = MeanArgs(MeanParams(in_off, out_off, mult, shift, (-128, 127)), outer, inner,
                              prod(inp.shape), hw)
        if not hw:
            layer.kernel = "ef_reduce_mean_s8"
        layer.describe = "over H,W" if hw else f"over axes {axes}"
        return layer

    def kernels(self, layer: Layer) -> tuple[str, ...]:
        a: MeanArgs = layer.args
        return (layer.kernel, *(k for k in self.kernel_names if k != layer.kernel)) if a.hw else (layer.kernel,)

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: MeanArgs = layer.args
        L = layer.sym
        e = Emission(decls=a.params.c_define(f"{L}_params"))
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        if layer.kernel == "ef_mean_hw_s8":
            n, _, _, c = shape4(layer.input_shapes[0])
            em.check_size(layer, layer.output, (n, c))
            d_in = dims_decl(e, layer, "input_dims", layer.input_shapes[0])
            d_out = dims_decl(e, layer, "output_dims", Dims(n, 1, 1, c))
            e.calls = [f"st = ef_mean_hw_s8(&{L}_params, {d_in}, {x}, {d_out}, {y});"]
            return e
        em.check_size(layer, layer.output, a.outer.extent)
        em.check_size(layer, layer.inputs[0], (a.input_size,))
        e.decls += a.outer.c_define(f"{L}_outer") + a.inner.c_define(f"{L}_inner")
        e.calls = [f"st = ef_reduce_mean_s8(&{L}_params, &{L}_outer, &{L}_inner, {x}, {a.input_size}, {y});"]
        return e
