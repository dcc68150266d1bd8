"""RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR of int8 NHWC activations (TFLite Micro's
semantics, both ``align_corners`` and ``half_pixel_centers``).

Nearest neighbour: TFLM picks each source row / column with float32 arithmetic
(``GetNearestNeighbor``); :func:`nearest_indices` mirrors it in NumPy float32 at generation time
and the kernel copies channel vectors through the two tables. Bilinear: TFLM's int8 path is
integer arithmetic in 1/1024 pixel, which the kernel computes itself (``ef_resize_bilinear_s8``).
Neither requantizes, so the input and output quantization must be equal (the converter keeps
them so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.export.ir import Layer, shape4
from edgefact.export.ops.base import CStruct, Emission, EmitContext, LowerContext, OpDef, dims_decl
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator


@dataclass(frozen=True)
class ResizeParams(CStruct):
    """ef_resize_params."""

    C_TYPE: ClassVar[str] = "ef_resize_params"
    align_corners: int
    half_pixel_centers: int


def nearest_indices(in_size: int, out_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """Source index of each output index along one axis, as TFLite's GetNearestNeighbor (float32
    scale and position; round half away from zero with align_corners, else floor)."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5 if half_pixel_centers else 0.0)
    out = []
    for v in range(out_size):
        pos = float((f32(v) + offset) * scale)  # a float32 value, exact as a double
        # the position is >= 0, so rounding half away from zero is floor(pos + 0.5), exact in double
        idx = min(math.floor(pos + 0.5) if align_corners else math.floor(pos), in_size - 1)
        out.append(max(0, idx) if half_pixel_centers else idx)
    return np.asarray(out, dtype=np.int32)


@dataclass(frozen=True)
class NearestArgs:
    rows: np.ndarray
    cols: np.ndarray


class _Resize(OpDef):
    def options(self, ctx: LowerContext, op: Operator) -> tuple[bool, bool]:
        ac, hp = bool(op.options.get("align_corners", False)), bool(op.options.get("half_pixel_centers", False))
        if ac and hp:
            raise ctx.fail(op, "align_corners and half_pixel_centers both set (TFLite refuses it too)")
        return ac, hp

    def base_layer(self, ctx: LowerContext, op: Operator, kernel: str) -> Layer:
        layer = ctx.base(op, kernel, [op.inputs[0]])
        ctx.require_int8(op, layer)
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        if len(inp.shape) != 4 or len(out.shape) != 4:
            raise ctx.fail(op, f"{len(inp.shape)}-D input; supported: 4-D NHWC")
        if (inp.scale, inp.zero_point) != (out.scale, out.zero_point):
            raise ctx.fail(op, "input and output quantization differ; TFLite resizes the raw values")
        size = ctx.const(op, 1, "size")
        if size is None or size.data is None:
            raise ctx.fail(op, "the size tensor must be a constant")
        if [int(v) for v in np.ravel(size.data)] != list(out.shape[1:3]):
            raise ctx.fail(op, f"size {np.ravel(size.data).tolist()} disagrees with the output {list(out.shape)}")
        if inp.shape[0] != out.shape[0] or inp.shape[3] != out.shape[3]:
            raise ctx.fail(op, f"input {list(inp.shape)} and output {list(out.shape)} differ beyond H and W")
        ac, hp = self.options(ctx, op)
        layer.describe = (f"{inp.shape[1]}x{inp.shape[2]} -> {out.shape[1]}x{out.shape[2]}"
                          + (" align_corners" if ac else "") + (" half_pixel_centers" if hp else ""))
        return layer


@register
class ResizeNearestNeighbor(_Resize):
    name = "RESIZE_NEAREST_NEIGHBOR"
    kernel_names = ("ef_resize_nearest_s8",)
    constraints = ("int8 4-D NHWC, constant size, up or down by any factor, align_corners / half_pixel_centers; "
                   "quantization unchanged")

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = self.base_layer(ctx, op, "ef_resize_nearest_s8")
        ac, hp = self.options(ctx, op)
        (_, h, w, _), (_, oh, ow, _) = layer.input_shapes[0], layer.output_shape
        layer.args = NearestArgs(nearest_indices(h, oh, ac, hp), nearest_indices(w, ow, ac, hp))
        layer.weight_bytes = int(layer.args.rows.nbytes + layer.args.cols.nbytes)
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: NearestArgs = layer.args
        e = Emission()
        rows = em.const_array(layer, "rows", a.rows, "int32_t", "source row of each output row")
        cols = em.const_array(layer, "cols", a.cols, "int32_t", "source column of each output column")
        d_in = dims_decl(e, layer, "input_dims", shape4(layer.input_shapes[0]))
        d_out = dims_decl(e, layer, "output_dims", shape4(layer.output_shape))
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        e.calls = [f"st = ef_resize_nearest_s8({d_in}, {x}, {rows}, {cols}, {d_out}, {y});"]
        return e


@register
class ResizeBilinear(_Resize):
    name = "RESIZE_BILINEAR"
    kernel_names = ("ef_resize_bilinear_s8",)
    constraints = ("int8 4-D NHWC, constant size, up or down by any factor, align_corners / half_pixel_centers "
                   "(TFLite's integer arithmetic); quantization unchanged")

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = self.base_layer(ctx, op, "ef_resize_bilinear_s8")
        ac, hp = self.options(ctx, op)
        layer.args = ResizeParams(int(ac), int(hp))
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        e = Emission()
        p = layer.args.c_define(f"{layer.sym}_params")
        e.decls += p
        d_in = dims_decl(e, layer, "input_dims", shape4(layer.input_shapes[0]))
        d_out = dims_decl(e, layer, "output_dims", shape4(layer.output_shape))
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        e.calls = [f"st = ef_resize_bilinear_s8(&{layer.sym}_params, {d_in}, {x}, {d_out}, {y});"]
        return e
