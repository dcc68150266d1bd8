"""TRANSPOSE_CONV, int8 with per-channel symmetric weights (TFLite Micro's arithmetic,
``ef_transpose_conv_s8``).

TFLite's operands: the output shape (constant), the filter ``[out_c, kh, kw, in_c]``, the input,
an optional int32 bias. The padding is the one TFLite computes for a convolution from the output
size back to the input size (``ComputePaddingHeightWidth`` on the output's H and W), and the
requantization is a convolution's (input scale x filter scale / output scale per channel).
MACs count every (input pixel, tap, output channel) product: n * h * w * kh * kw * in_c * out_c.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgefact.export import quant
from edgefact.export.ir import Layer, compute_padding, shape4
from edgefact.export.ops.base import Dims, Emission, EmitContext, LowerContext, OpDef, weighted_operands
from edgefact.export.ops.conv import ConvParams
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator

KERNEL = "ef_transpose_conv_s8"
#: EF_TCONV_MAX_TAPS of ef_transpose_conv_s8.c
MAX_FILTER = 16


@dataclass(frozen=True)
class TransposeConvArgs:
    params: ConvParams
    input_dims: Dims
    filter_dims: Dims
    output_dims: Dims


@register
class TransposeConv(OpDef):
    name = "TRANSPOSE_CONV"
    kernel_names = (KERNEL,)
    constraints = ("int8 per-channel symmetric filters up to 16x16, any stride, SAME/VALID, optional bias, "
                   "fused activation")

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, KERNEL, [op.inputs[2]])
        ctx.require_int8(op, layer)
        filt = ctx.const(op, 1, "filter")
        bias = ctx.const(op, 3, "bias")
        shape_t = ctx.const(op, 0, "output shape")
        if filt is None or shape_t is None or shape_t.data is None:
            raise ctx.fail(op, "no filter or output shape tensor")
        inp, out = ctx.tensors[op.inputs[2]], ctx.tensors[layer.output]
        n, h, w, c = shape4(inp.shape)
        n_o, oh, ow, oc = shape4(out.shape)
        if [int(v) for v in np.ravel(shape_t.data)] != list(out.shape):
            raise ctx.fail(op, f"output shape {np.ravel(shape_t.data).tolist()} disagrees with the output "
                               f"{list(out.shape)}")
        fo, kh, kw, fi = filt.shape
        if (fo, fi) != (oc, c) or n_o != n:
            raise ctx.fail(op, f"filter {list(filt.shape)} does not map the input {list(inp.shape)} to the output "
                               f"{list(out.shape)}")
        if kh > MAX_FILTER or kw > MAX_FILTER:
            raise ctx.fail(op, f"a {kh}x{kw} filter; supported: up to {MAX_FILTER}x{MAX_FILTER}")
        o = op.options
        sh, sw = int(o["stride_h"]), int(o["stride_w"])
        # TFLite: the padding of a convolution from the output size to the input size
        ih, pt, _ = compute_padding(oh, kh, sh, 1, o["padding"])
        iw, pl, _ = compute_padding(ow, kw, sw, 1, o["padding"])
        if (ih, iw) != (h, w):
            raise ctx.fail(op, f"input {h}x{w} is not what a {kh}x{kw} stride {sh}x{sw} {o['padding']} convolution "
                               f"of the {oh}x{ow} output gives ({ih}x{iw})")
        fq = filt.quantization
        if fq is None or filt.type_name != "INT8":
            raise ctx.fail(op, f"filter '{filt.name}' must be int8 with quantization parameters")
        if np.any(fq.zero_points != 0):
            raise ctx.fail(op, "filter zero points must be 0 (symmetric int8 weights)")
        act = ctx.act(op, ctx.model.tensors[out.index])
        m, s = quant.per_channel_multipliers(inp.scale, fq.scales, out.scale, oc)
        layer.args = TransposeConvArgs(ConvParams(-inp.zero_point, out.zero_point, (sh, sw), (pt, pl), (1, 1), act),
                                       Dims.of(inp.shape), Dims.of(tuple(filt.shape)), Dims.of(out.shape))
        layer.consts["filter"] = filt.data
        layer.const_names["filter"] = filt.name
        if bias is not None:
            if bias.type_name != "INT32":
                raise ctx.fail(op, f"bias '{bias.name}' is {bias.type_name}; int32 biases are supported")
            layer.consts["bias"] = bias.data
            layer.const_names["bias"] = bias.name
        layer.consts["multiplier"] = np.asarray(m, dtype=np.int32)
        layer.consts["shift"] = np.asarray(s, dtype=np.int32)
        layer.macs = n * h * w * kh * kw * c * oc
        layer.params = int(filt.data.size) + (int(bias.data.size) if bias is not None else 0)
        layer.weight_bytes = int(filt.data.nbytes) + (int(bias.data.nbytes) if bias is not None else 0)
        fused = o.get("fused_activation_function", "NONE")
        layer.describe = f"{kh}x{kw} s{sh} {o['padding']}" + (f" {fused.lower()}" if fused != "NONE" else "")
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: TransposeConvArgs = layer.args
        e = Emission()
        L = layer.sym
        w = weighted_operands(layer, pos, em, e, a.params, a.input_dims, a.filter_dims, a.output_dims)
        pad = " " * (len(KERNEL) + 6)
        e.calls = [f"st = {KERNEL}(&{L}_params, &{L}_quant, {w.input_dims}, {w.x}, {w.filter_dims}, {w.filt}, "
                   f"{w.bias},", f"{pad}{w.output_dims}, {w.y});"]
        return e
