"""AVERAGE_POOL_2D, MAX_POOL_2D and MEAN over H and W (no MACs: no weights)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.export import quant
from edgefact.export.ir import Layer, compute_padding, shape4
from edgefact.export.ops.base import (
    CStruct,
    Dims,
    Emission,
    EmitContext,
    LowerContext,
    OpDef,
    params_dims_call,
)
from edgefact.export.ops.registry import register
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


@register
class Mean(OpDef):
    name = "MEAN"
    kernel_names = ("ef_mean_hw_s8",)
    constraints = "int8, over H and W (axes [1, 2]) of a 4-D NHWC tensor, constant axes"

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        axes_t = ctx.model.tensors[op.inputs[1]]
        if axes_t.data is None:
            raise ctx.fail(op, "the axis tensor must be constant")
        layer = ctx.base(op, "ef_mean_hw_s8", [op.inputs[0]])
        ctx.require_int8(op, layer)
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        axes = sorted(int(a) % len(inp.shape) for a in np.ravel(axes_t.data))
        if len(inp.shape) != 4 or axes != [1, 2]:
            raise ctx.fail(op, f"MEAN over axes {axes} of a {len(inp.shape)}-D tensor; supported: MEAN over "
                               "H and W (axes [1, 2]) of a 4-D NHWC tensor")
        in_off, out_off, mult, shift = quant.mean_params(inp.scale, inp.zero_point, out.scale, out.zero_point)
        layer.args = MeanParams(in_off, out_off, mult, shift, (-128, 127))
        layer.describe = "over H,W"
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        n, _, _, c = shape4(layer.input_shapes[0])
        em.check_size(layer, layer.output, (n, c))
        return params_dims_call(layer, em, Dims(n, 1, 1, c))
