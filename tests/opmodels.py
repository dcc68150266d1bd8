"""One-op full-int8 TFLite models for per-op tests (kernels, code generator, oracles).

Each case is a tiny TensorFlow function (random weights, fixed seed per case) converted with
``TFLiteConverter``: representative data set, ``TFLITE_BUILTINS_INT8`` only, int8 input and output
(float at the boundary only for the QUANTIZE/DEQUANTIZE cases), per-channel weights. Generation
takes a fraction of a second per model after TensorFlow's import (~4 s); results are cached under
``.cache/opmodels/<hash>.tflite``, keyed by the case spec, the generator version and the TF version.

Usage::

    from opmodels import OPMODEL_CASES, get_opmodel, random_inputs

    @pytest.mark.parametrize("case", sorted(OPMODEL_CASES))
    def test_op(case):
        model = get_opmodel(case)
        xs = random_inputs(model, 20, seed=0)   # one (N, ...) array per model input
        ...

``get_opmodel`` checks that the produced model holds exactly ``spec.expected_ops`` (LiteRT's op
list) and raises otherwise, so a converter change that alters the graph cannot go unnoticed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.fsutil import atomic_write_bytes

GENERATOR_VERSION = 3  # bump when a builder changes, to invalidate cached models
# EDGEFACT_OPMODELS_CACHE moves the cache (e.g. to time a cold run); default .cache/opmodels.
CACHE_DIR = Path(
    os.environ.get("EDGEFACT_OPMODELS_CACHE", Path(__file__).resolve().parent.parent / ".cache" / "opmodels")
)
CALIBRATION_SAMPLES = 64


@dataclass(frozen=True)
class OpSpec:
    """A one-op model: the builder ``kind``, its parameters and the ops the .tflite must contain."""

    op: str  # the TFLite builtin op under test
    kind: str  # builder name in _BUILDERS
    params: dict[str, Any] = field(default_factory=dict)
    expected_ops: tuple[str, ...] = ()  # exact op list, execution order; default (op,)
    input_ranges: tuple[tuple[float, float], ...] = ((-1.0, 1.0),)  # calibration range per input

    @property
    def ops(self) -> tuple[str, ...]:
        return self.expected_ops or (self.op,)


def _argmax(shape: tuple[int, ...], axis: int, out: str = "int32", fn: str = "max", **kw: Any) -> OpSpec:
    op = "ARG_MAX" if fn == "max" else "ARG_MIN"
    return OpSpec(op, "argmax", dict(shape=shape, axis=axis, out=out, fn=fn, **kw))


def _u8(shape: tuple[int, ...], out: str, head: str = "fc") -> OpSpec:
    """A small conv classifier converted with inference_input_type=tf.uint8 (the converter's
    QUANTIZE uint8 -> int8 at the input), its output int8, uint8 (a QUANTIZE int8 -> uint8) or
    the class index (ARG_MAX)."""
    ops = ("QUANTIZE", "CONV_2D", "MEAN", "FULLY_CONNECTED")
    ops += ("ARG_MAX",) if head == "argmax" else ("QUANTIZE",) if out == "uint8" else ()
    return OpSpec("QUANTIZE", "u8_classifier", dict(shape=shape, in_type="uint8", out_type=out, head=head),
                  expected_ops=ops, input_ranges=((0.0, 1.0),))


def _conv(
    h: int,
    w: int,
    cin: int,
    cout: int,
    kh: int,
    kw: int,
    stride: int = 1,
    padding: str = "SAME",
    act: str = "NONE",
    groups: int = 1,
) -> OpSpec:
    return OpSpec(
        "CONV_2D",
        "conv",
        dict(
            h=h, w=w, cin=cin, cout=cout, kh=kh, kw=kw, stride=stride, padding=padding, act=act, groups=groups
        ),
    )


def _dw(h: int, w: int, c: int, mult: int, k: int, stride: int, padding: str, act: str = "NONE") -> OpSpec:
    return OpSpec(
        "DEPTHWISE_CONV_2D",
        "dw",
        dict(h=h, w=w, c=c, mult=mult, k=k, stride=stride, padding=padding, act=act),
    )


def _pool(kind: str, h: int, w: int, c: int, size: int, stride: int, padding: str) -> OpSpec:
    op = "AVERAGE_POOL_2D" if kind == "avg" else "MAX_POOL_2D"
    return OpSpec(op, "pool", dict(pool=kind, h=h, w=w, c=c, size=size, stride=stride, padding=padding))


def _resize(method: str, shape: tuple[int, ...], size: tuple[int, int], align: bool = False,
            half: bool = False) -> OpSpec:
    op = "RESIZE_NEAREST_NEIGHBOR" if method == "nearest" else "RESIZE_BILINEAR"
    return OpSpec(op, "resize", dict(method=method, shape=shape, size=size, align=align, half=half))


def _tconv(h: int, w: int, cin: int, cout: int, k: int, strides: tuple[int, int], padding: str,
           out: tuple[int, int], act: str = "NONE", bias: bool = True) -> OpSpec:
    return OpSpec("TRANSPOSE_CONV", "tconv", dict(h=h, w=w, cin=cin, cout=cout, kh=k, kw=k, strides=strides,
                                                  padding=padding, out=out, act=act, bias=bias))


def _bmm(s1: tuple[int, ...], s2: tuple[int, ...], adj_x: bool = False, adj_y: bool = False,
         const: bool = False) -> OpSpec:
    return OpSpec("BATCH_MATMUL", "bmm", dict(shape1=s1, shape2=s2, adj_x=adj_x, adj_y=adj_y, const=const),
                  input_ranges=((-1.0, 1.0),) if const else ((-1.0, 1.0), (-3.0, 2.0)))


OPMODEL_CASES: dict[str, OpSpec] = {
    # CONV_2D: kernel sizes, strides, padding, odd sizes, channel counts not multiple of 4
    "conv_1x1_s1": _conv(9, 9, 6, 10, 1, 1),
    "conv_1x1_s2_relu": _conv(9, 7, 5, 7, 1, 1, stride=2, padding="VALID", act="RELU"),
    "conv_3x3_s1_same_relu": _conv(11, 11, 3, 8, 3, 3, act="RELU"),
    "conv_3x3_s1_valid": _conv(10, 9, 4, 6, 3, 3, padding="VALID"),
    "conv_3x3_s2_same_relu6": _conv(11, 11, 5, 7, 3, 3, stride=2, act="RELU6"),
    "conv_3x3_s2_valid": _conv(12, 12, 4, 6, 3, 3, stride=2, padding="VALID"),
    "conv_5x5_s1_same": _conv(9, 9, 3, 5, 5, 5),
    "conv_5x5_s2_valid_relu": _conv(13, 13, 2, 3, 5, 5, stride=2, padding="VALID", act="RELU"),
    "conv_3x3_c1_8x8": _conv(8, 8, 1, 4, 3, 3, act="RELU"),  # one input channel; digits-shaped input
    "conv_3x1_same": _conv(10, 7, 6, 6, 3, 1),
    "conv_1x3_same_relu": _conv(7, 10, 6, 6, 1, 3, act="RELU"),
    "conv_5x1_s2_valid": _conv(11, 9, 3, 5, 5, 1, stride=2, padding="VALID"),
    "conv_1x5_s2_same_relu6": _conv(9, 11, 3, 5, 1, 5, stride=2, act="RELU6"),
    "conv_g2_3x3_s1_same": _conv(9, 9, 6, 10, 3, 3, groups=2),
    "conv_g2_1x1_relu": _conv(7, 7, 10, 6, 1, 1, act="RELU", groups=2),
    "conv_g4_3x3_s2_valid": _conv(10, 10, 8, 12, 3, 3, stride=2, padding="VALID", groups=4),
    "conv_g4_1x1_relu6": _conv(6, 6, 12, 8, 1, 1, act="RELU6", groups=4),
    # MVE conv engine: input rows read in place (interior) vs zero-point columns (border: padding on
    # every side, pairs of one in-place and one column pixel on odd widths), rows of 16 * k and of
    # 16 * k + tail bytes, > 32 output channels (several bias chunks, odd last chunk), flat columns
    # with a tail (kws-like 10x4 first layer), a 1-pixel output with one odd channel
    "conv_3x3_c16_o37_same": _conv(6, 5, 16, 37, 3, 3),
    "conv_3x3_c20_o6_s2_same_relu": _conv(9, 7, 20, 6, 3, 3, stride=2, act="RELU"),
    "conv_5x5_c16_o5_same": _conv(7, 6, 16, 5, 5, 5),
    "conv_1x1_c24_o40_relu6": _conv(5, 3, 24, 40, 1, 1, act="RELU6"),
    "conv_10x4_c1_o9_s2_same_relu": _conv(15, 7, 1, 9, 10, 4, stride=2, act="RELU"),
    "conv_3x3_c5_o3_1px_valid": _conv(3, 3, 5, 3, 3, 3, padding="VALID"),
    # DSP 2x2 asm loop: groups of 4 column values % 4 = 3 (7 and 27 groups, the partial first pass)
    "conv_1x1_c28_o6_relu": _conv(5, 3, 28, 6, 1, 1, act="RELU"),
    "conv_3x3_c12_o9_s2_same": _conv(7, 6, 12, 9, 3, 3, stride=2),
    # DSP flat path (first layers): 3x3x3 column (27, padded to 28), odd pixel count, 16 and odd
    # output channels (the last filter's tail added in C), stride 2
    "conv_3x3_c3_o16_same_relu": _conv(7, 5, 3, 16, 3, 3, act="RELU"),
    "conv_3x3_c3_o11_s2_same": _conv(8, 7, 3, 11, 3, 3, stride=2),
    "conv_3x3_c2_o6_valid_relu6": _conv(6, 5, 2, 6, 3, 3, padding="VALID", act="RELU6"),
    # DSP channel-pair asm (ef_nn_conv_pairs_2x2): > 64 output channels (two requantization-table
    # chunks, odd last channel) on the 2-pixel engine (1x1, 3x3 stride 2) and the flat path, the
    # KWS-like 10x4x1 first layer at 64 channels, flat columns of 3 values (every filter read near
    # the end in C), single pixels, 1 / 5 / 7 / 15 output channels, an even kernel (SAME padding
    # larger after than before)
    "conv_1x1_c8_o67": _conv(5, 3, 8, 67, 1, 1),
    "conv_3x3_c4_o70_s2_same_relu": _conv(7, 6, 4, 70, 3, 3, stride=2, act="RELU"),
    "conv_3x3_c3_o67_same": _conv(5, 5, 3, 67, 3, 3),
    "conv_10x4_c1_o64_s2_same_relu": _conv(13, 6, 1, 64, 10, 4, stride=2, act="RELU"),
    "conv_1x1_c3_o7_s2": _conv(5, 4, 3, 7, 1, 1, stride=2, padding="VALID"),
    "conv_3x3_c1_o7_1px_valid": _conv(3, 3, 1, 7, 3, 3, padding="VALID"),
    "conv_1x1_c4_o5_1px": _conv(1, 1, 4, 5, 1, 1),
    "conv_4x4_c4_o6_same": _conv(6, 7, 4, 6, 4, 4),
    "conv_1x1_c16_o15_relu6": _conv(4, 5, 16, 15, 1, 1, act="RELU6"),
    "conv_3x3_c8_o1_same": _conv(5, 5, 8, 1, 3, 3),
    "conv_3x3_c3_o5_s2_valid": _conv(9, 8, 3, 5, 3, 3, stride=2, padding="VALID"),
    # DEPTHWISE_CONV_2D
    "dw_3x3_m1_s1_same": _dw(9, 9, 6, 1, 3, 1, "SAME"),
    "dw_3x3_m1_s2_valid_relu": _dw(11, 11, 5, 1, 3, 2, "VALID", "RELU"),
    "dw_3x3_m2_s1_valid": _dw(8, 9, 3, 2, 3, 1, "VALID"),
    "dw_3x3_m2_s2_same_relu6": _dw(9, 9, 5, 2, 3, 2, "SAME", "RELU6"),
    "dw_5x5_m1_s1_same_relu6": _dw(10, 10, 7, 1, 5, 1, "SAME", "RELU6"),
    "dw_5x5_m2_s2_valid": _dw(13, 11, 3, 2, 5, 2, "VALID"),
    # Helium generic depthwise: 8-channel blocks and a predicated tail (13 = 8 + 5, 15 = 8 + 7),
    # multipliers 3 and 4 (input channels gathered), a 1-pixel output of a 7x7 kernel
    "dw_5x5_m1_s2_same_relu_c13": _dw(9, 8, 13, 1, 5, 2, "SAME", "RELU"),
    "dw_3x3_m3_s1_same_c5": _dw(6, 7, 5, 3, 3, 1, "SAME"),
    "dw_7x7_m1_valid_1px_c9": _dw(7, 7, 9, 1, 7, 1, "VALID"),
    "dw_3x3_m4_s2_valid_relu6_c4": _dw(8, 9, 4, 4, 3, 2, "VALID", "RELU6"),
    # dilation (run as zero-inserted filters); the space-to-batch form folded into one operator
    "conv_3x3_d2_same": OpSpec("CONV_2D", "conv", dict(h=11, w=10, cin=3, cout=5, kh=3, kw=3, stride=1,
                                                       padding="SAME", act="RELU", groups=1, dilation=2)),
    "conv_3x3_d2_valid": OpSpec("CONV_2D", "conv", dict(h=12, w=12, cin=4, cout=6, kh=3, kw=3, stride=1,
                                                        padding="VALID", act="NONE", groups=1, dilation=2)),
    "dw_3x3_d2_same": OpSpec("DEPTHWISE_CONV_2D", "dw", dict(h=10, w=11, c=5, mult=1, k=3, stride=1, padding="SAME",
                                                            act="RELU6", dilation=2)),
    "dw_3x3_d3_valid_m2": OpSpec("DEPTHWISE_CONV_2D", "dw", dict(h=12, w=11, c=3, mult=2, k=3, stride=1,
                                                                padding="VALID", act="NONE", dilation=3)),
    # DSP generic depthwise (4 output channels per block): k x 1 / 1 x k kernels, multipliers 2, 4
    # and 8 (inputs as halfword pairs / one broadcast value), block tails (oc % 4), a dilated filter
    # (its zero taps left out of the interior tap list), a kernel over the list's 64 taps
    "dw_3x1_m1_s1_same_c8": OpSpec("DEPTHWISE_CONV_2D", "dw", dict(h=9, w=7, c=8, mult=1, k=3, kh=3, kw=1, stride=1,
                                                                  padding="SAME", act="RELU")),
    "dw_1x5_m1_s2_valid_c12": OpSpec("DEPTHWISE_CONV_2D", "dw", dict(h=7, w=11, c=12, mult=1, k=5, kh=1, kw=5,
                                                                    stride=2, padding="VALID", act="NONE")),
    "dw_3x3_m2_s1_same_c7": _dw(7, 6, 7, 2, 3, 1, "SAME", "RELU6"),
    "dw_3x3_m4_s2_same_c3": _dw(9, 8, 3, 4, 3, 2, "SAME"),
    "dw_5x5_m8_s1_valid_c2": _dw(8, 7, 2, 8, 5, 1, "VALID", "RELU"),
    "dw_3x3_d2_same_c8": OpSpec("DEPTHWISE_CONV_2D", "dw", dict(h=10, w=9, c=8, mult=1, k=3, stride=1,
                                                               padding="SAME", act="NONE", dilation=2)),
    "dw_9x9_m1_same_c4": _dw(10, 9, 4, 1, 9, 1, "SAME"),
    "dw_3x3_m3_s2_same_relu_c6": _dw(9, 8, 6, 3, 3, 2, "SAME", "RELU"),  # general multipliers: lanes packed
    "dw_3x3_m5_s1_valid_c3": _dw(7, 6, 3, 5, 3, 1, "VALID"),
    # Helium 3x3 window path (stride 1, >= 5 output lines, 5 lines per step): KWS-like 25 x 5
    # (lines along the taller side, a 1-output last column, odd channels), lines in segments of 28
    # outputs with padding at both ends, a last 5-line group overlapping the previous one
    "dw_3x3_m1_s1_same_c19_25x5": _dw(25, 5, 19, 1, 3, 1, "SAME", "RELU"),
    "dw_3x3_m1_s1_same_relu6_c5_6x70": _dw(6, 70, 5, 1, 3, 1, "SAME", "RELU6"),
    "dw_3x3_m1_s1_valid_c3_9x33": _dw(9, 33, 3, 1, 3, 1, "VALID"),
    # stride 2 (3 output lines per step, de-interleaved window lines): SAME with even input (padding
    # after only), SAME with odd input (padding before), VALID with two equal segments of 12
    "dw_3x3_m1_s2_same_c10_30x8": _dw(30, 8, 10, 1, 3, 2, "SAME", "RELU"),
    "dw_3x3_m1_s2_same_relu6_c7_29x9": _dw(29, 9, 7, 1, 3, 2, "SAME", "RELU6"),
    "dw_3x3_m1_s2_valid_c6_9x49": _dw(9, 49, 6, 1, 3, 2, "VALID"),
    # depth multiplier 2 / 3 on the 3x3 kernel's window path (one window fill per input channel)
    "dw_3x3_m2_s1_same_c5_9x12": _dw(9, 12, 5, 2, 3, 1, "SAME", "RELU"),
    "dw_3x3_m3_s2_valid_c3_11x20": _dw(11, 20, 3, 3, 3, 2, "VALID"),
    # Helium generic depthwise over the tap list (multiplier 1): k x 1 / 1 x k with 8-channel
    # blocks and predicated tails, border pixels through their in-bounds taps, dilation 3 with SAME
    # padding (the zero-inserted taps dropped), a single output pixel
    "dw_1x3_m1_s1_same_c19": OpSpec("DEPTHWISE_CONV_2D", "dw", dict(h=6, w=9, c=19, mult=1, k=3, kh=1, kw=3, stride=1,
                                                                   padding="SAME", act="RELU")),
    "dw_5x1_m1_s2_same_c11": OpSpec("DEPTHWISE_CONV_2D", "dw", dict(h=11, w=6, c=11, mult=1, k=5, kh=5, kw=1,
                                                                   stride=2, padding="SAME", act="RELU6")),
    "dw_3x3_d3_same_c9": OpSpec("DEPTHWISE_CONV_2D", "dw", dict(h=11, w=10, c=9, mult=1, k=3, stride=1,
                                                               padding="SAME", act="NONE", dilation=3)),
    "dw_5x5_m1_valid_1px_c10": _dw(5, 5, 10, 1, 5, 1, "VALID", "RELU"),
    # one-hot depthwise kernels (hardened shift layers) -> ef_shift_s8; "taps" non-zero taps per
    # kernel, "zero" channels with an all-zero kernel, "scaled" learned tap values and a bias
    "shift_sal_3x3_s1_same": OpSpec("DEPTHWISE_CONV_2D", "shift",
                                    dict(h=9, w=8, c=7, k=3, stride=1, padding="SAME", taps=1, zero=0, scaled=False)),
    "shift_sal_5x5_s2_same_zero": OpSpec("DEPTHWISE_CONV_2D", "shift",
                                         dict(h=11, w=10, c=6, k=5, stride=2, padding="SAME", taps=1, zero=2,
                                              scaled=False)),
    "shift_scaled_3x3_s1_valid_relu": OpSpec("DEPTHWISE_CONV_2D", "shift",
                                             dict(h=8, w=9, c=5, k=3, stride=1, padding="VALID", taps=1, zero=0,
                                                  scaled=True, act="RELU")),
    # SAL2 (two taps) -> ef_shift2_s8 (more two-tap cases: the "shift_mix" block at the end)
    "shift_sal2_3x3_s1_same": OpSpec("DEPTHWISE_CONV_2D", "shift",
                                     dict(h=7, w=7, c=4, k=3, stride=1, padding="SAME", taps=2, zero=0, scaled=True)),
    # shift blocks (conv -> [max pool] -> shift -> conv): the shift's channels are grouped by tap
    # (shift_layout), folded into both convolutions; copies (identity tables) and tables, MVE
    # interior chunks with and without a tail, frames on every side, stride 2
    "shift_block_sal_pool_c13": OpSpec("DEPTHWISE_CONV_2D", "shift_block",
                                       dict(h=12, w=11, cin=5, c=13, cout=6, k=3, stride=1, pool=True, zero=0,
                                            scaled=False, k2=1),
                                       expected_ops=("CONV_2D", "MAX_POOL_2D", "DEPTHWISE_CONV_2D", "CONV_2D")),
    "shift_block_sal_5x5_s2_c24": OpSpec("DEPTHWISE_CONV_2D", "shift_block",
                                         dict(h=11, w=13, cin=3, c=24, cout=5, k=5, stride=2, pool=False, zero=0,
                                              scaled=False, k2=3),
                                         expected_ops=("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D")),
    "shift_block_scaled_zero_c19": OpSpec("DEPTHWISE_CONV_2D", "shift_block",
                                          dict(h=9, w=8, cin=4, c=19, cout=7, k=3, stride=1, pool=False, zero=3,
                                               scaled=True, k2=1),
                                          expected_ops=("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D")),
    "shift_block_sal_c32": OpSpec("DEPTHWISE_CONV_2D", "shift_block",
                                  dict(h=8, w=9, cin=4, c=32, cout=4, k=3, stride=1, pool=False, zero=0,
                                       scaled=False, k2=1),
                                  expected_ops=("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D")),
    "shift_block_sal_c48": OpSpec("DEPTHWISE_CONV_2D", "shift_block",
                                  dict(h=6, w=7, cin=3, c=48, cout=5, k=3, stride=1, pool=False, zero=0,
                                       scaled=False, k2=1),
                                  expected_ops=("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D")),
    # FULLY_CONNECTED
    "fc_bias": OpSpec("FULLY_CONNECTED", "fc", dict(n_in=20, n_out=7, bias=True, act="NONE")),
    "fc_bias_relu": OpSpec("FULLY_CONNECTED", "fc", dict(n_in=33, n_out=10, bias=True, act="RELU")),
    "fc_nobias": OpSpec("FULLY_CONNECTED", "fc", dict(n_in=16, n_out=5, bias=False, act="NONE")),
    # 4-unit interleaved weights (ef_fully_connected_il4_s8, the DSP cores' kernel): 1, 2 and 3
    # groups of 4 inputs (the odd group first, pairs), unit tails of 1-3, a 128-deep block row
    "fc_il4_c4_o6": OpSpec("FULLY_CONNECTED", "fc", dict(n_in=4, n_out=6, bias=True, act="NONE")),
    "fc_il4_c8_o13_relu": OpSpec("FULLY_CONNECTED", "fc", dict(n_in=8, n_out=13, bias=True, act="RELU")),
    "fc_il4_c12_o4_nobias": OpSpec("FULLY_CONNECTED", "fc", dict(n_in=12, n_out=4, bias=False, act="NONE")),
    "fc_il4_c128_o9_relu6": OpSpec("FULLY_CONNECTED", "fc", dict(n_in=128, n_out=9, bias=True, act="RELU6")),
    # input zero points far from 0 (the input offset folded into the bias, with and without a bias
    # tensor), more units than one Helium chunk (48) with a 1-unit tail, a depth tail of 6
    "fc_zp_c70_o53_relu": OpSpec("FULLY_CONNECTED", "fc", dict(n_in=70, n_out=53, bias=True, act="RELU"),
                                 input_ranges=((0.0, 3.0),)),
    "fc_zp_nobias_c24_o6": OpSpec("FULLY_CONNECTED", "fc", dict(n_in=24, n_out=6, bias=False, act="NONE"),
                                  input_ranges=((-0.5, 2.5),)),
    # pools
    "avgpool_2x2_s2_valid": _pool("avg", 8, 8, 6, 2, 2, "VALID"),
    "avgpool_3x3_s2_same": _pool("avg", 9, 9, 5, 3, 2, "SAME"),
    "avgpool_3x3_s1_same": _pool("avg", 7, 6, 3, 3, 1, "SAME"),
    "maxpool_2x2_s2_valid": _pool("max", 8, 8, 6, 2, 2, "VALID"),
    "maxpool_3x3_s2_same": _pool("max", 9, 9, 5, 3, 2, "SAME"),
    "maxpool_3x3_s1_valid": _pool("max", 7, 6, 3, 3, 1, "VALID"),
    # Helium pools: 16-channel blocks and a predicated tail, border windows of every count
    # (SAME), one global window (121 taps: the exact reciprocal multiply)
    "avgpool_3x3_s2_same_c37": _pool("avg", 7, 6, 37, 3, 2, "SAME"),
    "avgpool_global_11x11_c20": _pool("avg", 11, 11, 20, 11, 11, "VALID"),
    "maxpool_3x3_s1_same_c20": _pool("max", 6, 5, 20, 3, 1, "SAME"),
    # packed pools (DSP: 4 channels per SSUB8/SEL or SXTAB16 word, Helium: 16 per vector, the 2x2
    # window unrolled): channel tails 1 / 3 / 5 / 17, SAME padding on the bottom / right, windows
    # over 256 taps (the DSP halfword sums widened in chunks)
    "maxpool_2x2_s2_same_c17": _pool("max", 7, 9, 17, 2, 2, "SAME"),
    "maxpool_2x2_s1_same_c1": _pool("max", 5, 6, 1, 2, 1, "SAME"),
    "maxpool_2x2_s2_valid_c3": _pool("max", 6, 8, 3, 2, 2, "VALID"),
    "maxpool_3x3_s2_same_c8": _pool("max", 9, 8, 8, 3, 2, "SAME"),
    "avgpool_2x2_s2_same_c17": _pool("avg", 7, 9, 17, 2, 2, "SAME"),
    "avgpool_2x2_s1_same_c5": _pool("avg", 5, 4, 5, 2, 1, "SAME"),
    "avgpool_global_17x17_c8": _pool("avg", 17, 17, 8, 17, 17, "VALID"),
    # element-wise with two inputs of different scales
    "add": OpSpec(
        "ADD", "binary", dict(fn="add", shape=(1, 5, 5, 6), act="NONE"), input_ranges=((-1, 1), (-4, 3))
    ),
    "add_relu": OpSpec(
        "ADD", "binary", dict(fn="add", shape=(1, 7, 3, 5), act="RELU"), input_ranges=((-2, 1), (-0.5, 0.7))
    ),
    # DSP ADD with a clamped activation (RELU6)
    "add_relu6": OpSpec(
        "ADD", "binary", dict(fn="add", shape=(1, 6, 5, 7), act="RELU6"), input_ranges=((-3, 5), (-8, 2))
    ),
    # ef_add_table_s8: sizes for the 4-lane / 4-element steps and their tails (153 = 38 * 4 + 1,
    # 30, a 3-element tail only), scales 10^4 apart (the small input's rescale shifts far right)
    "add_c17_tail": OpSpec(
        "ADD", "binary", dict(fn="add", shape=(1, 3, 3, 17), act="NONE"), input_ranges=((-1, 1), (-4, 3))
    ),
    "add_c5_relu": OpSpec(
        "ADD", "binary", dict(fn="add", shape=(1, 2, 3, 5), act="RELU"), input_ranges=((-6, 5), (-0.5, 0.4))
    ),
    "add_c1_3px": OpSpec(
        "ADD", "binary", dict(fn="add", shape=(1, 1, 3, 1), act="NONE"), input_ranges=((-2, 2), (-1, 3))
    ),
    "add_extreme_scales": OpSpec(
        "ADD", "binary", dict(fn="add", shape=(1, 4, 4, 3), act="NONE"), input_ranges=((-0.01, 0.01), (-100, 90))
    ),
    # SUB of equal shapes: ef_add_table_s8 and, as the alternative, ef_sub_s8's flat bodies (the
    # Helium 4-lane loop, the portable rows), with either input the exact (larger-scale) operand
    "sub_table_c17": OpSpec(
        "SUB", "broadcast", dict(fn="sub", shape1=(1, 3, 3, 17), shape2=(1, 3, 3, 17), const=False, act="NONE"),
        input_ranges=((-1.0, 1.0), (-3.0, 2.0)),
    ),
    "sub_table_in1_larger_relu": OpSpec(
        "SUB", "broadcast", dict(fn="sub", shape1=(1, 2, 5, 7), shape2=(1, 2, 5, 7), const=False, act="RELU"),
        input_ranges=((-6.0, 5.0), (-1.0, 1.0)),
    ),
    "mul": OpSpec(
        "MUL", "binary", dict(fn="mul", shape=(1, 5, 5, 6), act="NONE"), input_ranges=((-1, 1), (-4, 3))
    ),
    # reductions and data movement
    "mean_hw_keepdims": OpSpec("MEAN", "mean", dict(shape=(1, 7, 5, 6), keepdims=True)),
    "mean_hw": OpSpec("MEAN", "mean", dict(shape=(1, 6, 6, 10), keepdims=False)),
    "mean_hw_c37": OpSpec("MEAN", "mean", dict(shape=(1, 5, 4, 37), keepdims=False)),
    "mean_hw_c3": OpSpec("MEAN", "mean", dict(shape=(1, 4, 3, 3), keepdims=True)),
    "mean_hw_c5_300px": OpSpec("MEAN", "mean", dict(shape=(1, 20, 15, 5), keepdims=False)),
    # MEAN over other axes (ef_reduce_mean_s8): one axis, two apart, all, a 3-D tensor
    "mean_c_keepdims": OpSpec("MEAN", "mean", dict(shape=(1, 5, 6, 7), keepdims=True, axes=(3,))),
    "mean_w": OpSpec("MEAN", "mean", dict(shape=(1, 4, 7, 5), keepdims=False, axes=(2,))),
    "mean_h_c_keepdims": OpSpec("MEAN", "mean", dict(shape=(1, 6, 5, 8), keepdims=True, axes=(1, 3))),
    "mean_hwc": OpSpec("MEAN", "mean", dict(shape=(1, 4, 5, 6), keepdims=False, axes=(1, 2, 3))),
    "mean_3d_axis1": OpSpec("MEAN", "mean", dict(shape=(1, 9, 6), keepdims=False, axes=(1,))),
    "mean_3d_last": OpSpec("MEAN", "mean", dict(shape=(1, 3, 11), keepdims=True, axes=(-1,))),
    "pad": OpSpec("PAD", "pad", dict(shape=(1, 5, 6, 3), paddings=((0, 0), (1, 2), (2, 1), (0, 0)))),
    "reshape": OpSpec("RESHAPE", "reshape", dict(shape=(1, 4, 3, 6), new_shape=(1, 72))),
    # The converter puts every CONCATENATION input on the output's scale, and both TFLM and LiteRT
    # refuse int8 CONCATENATION with differing scales (they check it in Prepare); so the inputs'
    # ranges differ here but their scales are equal, as in every real model.
    "concat_c": OpSpec(
        "CONCATENATION",
        "concat",
        dict(shapes=((1, 5, 5, 3), (1, 5, 5, 6))),
        input_ranges=((-1, 1), (-5, 2)),
    ),
    "softmax": OpSpec("SOFTMAX", "softmax", dict(shape=(1, 10)), input_ranges=((-6, 6),)),
    # the float boundary
    "quantize_in": OpSpec(
        "QUANTIZE",
        "boundary",
        dict(shape=(1, 6, 6, 4), float_in=True, float_out=False),
        expected_ops=("QUANTIZE", "MAX_POOL_2D"),
        input_ranges=((-2, 2),),
    ),
    "dequantize_out": OpSpec(
        "DEQUANTIZE",
        "boundary",
        dict(shape=(1, 6, 6, 4), float_in=False, float_out=True),
        expected_ops=("MAX_POOL_2D", "DEQUANTIZE"),
        input_ranges=((-2, 2),),
    ),
    # data movement as strided views (ef_strided_copy_s8): STRIDED_SLICE of activations (slices as
    # [begin, end, step] lists, an int shrinks the axis), SPLIT / SPLIT_V / UNPACK along every
    # axis, TRANSPOSE permutations, DEPTH_TO_SPACE / SPACE_TO_DEPTH with blocks 2 and 3
    "strided_slice_hw_step": OpSpec("STRIDED_SLICE", "slice", dict(shape=(1, 9, 8, 5), index=(
        [None, None, None], [1, 8, 2], [2, 7, None], [None, None, None]))),
    "strided_slice_negative": OpSpec("STRIDED_SLICE", "slice", dict(shape=(1, 7, 9, 6), index=(
        [None, None, None], [-2, 0, -2], [None, None, -1], [5, 0, -2]))),
    "strided_slice_shrink_c": OpSpec("STRIDED_SLICE", "slice", dict(shape=(1, 6, 5, 11), index=(
        [None, None, None], 3, [None, None, None], [2, 9, 3]))),
    "strided_slice_channels": OpSpec("STRIDED_SLICE", "slice", dict(shape=(1, 5, 4, 13), index=(
        [None, None, None], [None, None, None], [None, None, None], [3, -1, None]))),
    "split_c3": OpSpec("SPLIT", "split", dict(shape=(1, 5, 4, 9), sizes=3, axis=3)),
    "split_h2": OpSpec("SPLIT", "split", dict(shape=(1, 6, 5, 3), sizes=2, axis=1)),
    "split_w3": OpSpec("SPLIT", "split", dict(shape=(1, 4, 9, 5), sizes=3, axis=2)),
    "split_v_c": OpSpec("SPLIT_V", "split", dict(shape=(1, 5, 3, 10), sizes=(2, 7, 1), axis=3)),
    "split_v_w_rest": OpSpec("SPLIT_V", "split", dict(shape=(1, 4, 11, 3), sizes=(5, -1), axis=2)),
    "split_v_h": OpSpec("SPLIT_V", "split", dict(shape=(1, 7, 3, 4), sizes=(1, 2, 4), axis=1)),
    "unpack_h": OpSpec("UNPACK", "unpack", dict(shape=(1, 3, 5, 4), axis=1)),
    "transpose_hw": OpSpec("TRANSPOSE", "transpose", dict(shape=(1, 5, 7, 3), perm=(0, 2, 1, 3))),
    "transpose_nchw": OpSpec("TRANSPOSE", "transpose", dict(shape=(1, 4, 6, 5), perm=(0, 3, 1, 2))),
    "transpose_cwh": OpSpec("TRANSPOSE", "transpose", dict(shape=(1, 3, 5, 7), perm=(0, 3, 2, 1))),
    "transpose_3d": OpSpec("TRANSPOSE", "transpose", dict(shape=(1, 9, 6), perm=(0, 2, 1))),
    "depth_to_space_b2": OpSpec("DEPTH_TO_SPACE", "d2s", dict(shape=(1, 3, 5, 12), block=2)),
    "depth_to_space_b3": OpSpec("DEPTH_TO_SPACE", "d2s", dict(shape=(1, 2, 3, 18), block=3)),
    "space_to_depth_b2": OpSpec("SPACE_TO_DEPTH", "s2d", dict(shape=(1, 6, 4, 3), block=2)),
    "space_to_depth_b3": OpSpec("SPACE_TO_DEPTH", "s2d", dict(shape=(1, 9, 6, 2), block=3)),
    # resizing up and down by non-integer factors, each of TFLite's coordinate conventions
    "resize_nn_up": _resize("nearest", (1, 4, 6, 3), (7, 10)),
    "resize_nn_down_half_pixel": _resize("nearest", (1, 9, 7, 5), (5, 4), half=True),
    "resize_nn_up_align": _resize("nearest", (1, 5, 4, 2), (8, 7), align=True),
    "resize_nn_down_align": _resize("nearest", (1, 8, 11, 3), (3, 5), align=True),
    "resize_bilinear_up": _resize("bilinear", (1, 4, 6, 3), (7, 10)),
    "resize_bilinear_up_half_pixel": _resize("bilinear", (1, 3, 5, 4), (8, 7), half=True),
    "resize_bilinear_down_half_pixel": _resize("bilinear", (1, 9, 7, 5), (5, 4), half=True),
    "resize_bilinear_up_align": _resize("bilinear", (1, 5, 4, 2), (8, 7), align=True),
    "resize_bilinear_down_align": _resize("bilinear", (1, 8, 11, 3), (3, 5), align=True),
    # TRANSPOSE_CONV: the decoder's 3x3 / 2x2 stride 2, an odd SAME output (9 from 5), VALID with
    # overlapping taps, stride 1, uneven strides, no bias, fused RELU
    "tconv_3x3_s2_same_relu": _tconv(4, 5, 6, 7, 3, (2, 2), "SAME", (8, 10), act="RELU"),
    "tconv_2x2_s2_valid": _tconv(5, 4, 8, 5, 2, (2, 2), "VALID", (10, 8)),
    "tconv_3x3_s2_same_odd": _tconv(5, 5, 3, 4, 3, (2, 2), "SAME", (9, 9)),
    "tconv_4x4_s2_valid": _tconv(3, 4, 5, 6, 4, (2, 2), "VALID", (8, 10)),
    "tconv_3x3_s1_same_nobias": _tconv(6, 5, 4, 3, 3, (1, 1), "SAME", (6, 5), bias=False),
    "tconv_5x3_s3x2_same": OpSpec("TRANSPOSE_CONV", "tconv", dict(h=3, w=4, cin=5, cout=4, kh=5, kw=3,
                                                                  strides=(3, 2), padding="SAME", out=(9, 8),
                                                                  act="NONE", bias=True)),
    # BATCH_MATMUL of two activations (different scales), adjoints, broadcast batches, a constant
    # right operand
    "bmm_3d": _bmm((1, 5, 6), (1, 6, 4)),
    "bmm_4d_adj_y": _bmm((1, 3, 5, 7), (1, 3, 4, 7), adj_y=True),
    "bmm_adj_x": _bmm((1, 6, 5), (1, 6, 3), adj_x=True),
    "bmm_bcast": _bmm((1, 2, 4, 5), (1, 1, 5, 3)),
    "bmm_const_rhs": _bmm((1, 3, 4, 6), (3, 6, 5), const=True),
    # L2_NORMALIZATION over the last axis: rows of an image, a vector, a wide range with the zero
    # point far from 0 (an all-zero-point row: the inverse square root of 0)
    "l2norm_hwc": OpSpec("L2_NORMALIZATION", "l2norm", dict(shape=(1, 4, 5, 7)), input_ranges=((-2.0, 2.0),)),
    "l2norm_vec": OpSpec("L2_NORMALIZATION", "l2norm", dict(shape=(1, 37)), input_ranges=((-0.3, 0.5),)),
    "l2norm_offset": OpSpec("L2_NORMALIZATION", "l2norm", dict(shape=(1, 6, 3)), input_ranges=((0.5, 9.0),)),
    # LOG_SOFTMAX over the last axis: a classifier row, image rows, a wide input range (differences
    # below the representable range give -128)
    "log_softmax_vec": OpSpec("LOG_SOFTMAX", "log_softmax", dict(shape=(1, 10)), input_ranges=((-6.0, 6.0),)),
    "log_softmax_rows": OpSpec("LOG_SOFTMAX", "log_softmax", dict(shape=(1, 4, 3, 7)), input_ranges=((-2.0, 3.0),)),
    "log_softmax_wide": OpSpec("LOG_SOFTMAX", "log_softmax", dict(shape=(1, 5, 9)), input_ranges=((-40.0, 30.0),)),
    # ARG_MAX / ARG_MIN (int8 in, int32 indices out; int64: LITERT_CASES): every axis, negative
    # axes, rank 2 and 3, channel counts for the Helium 16-lane and DSP 4-lane steps and their tails (7,
    # 19 = 16 + 3, 37 = 2 * 16 + 5), a classifier head (conv -> mean -> FC -> ARG_MAX)
    "argmax_c_i32": _argmax((1, 5, 6, 7), 3),
    "argmax_h_i32": _argmax((1, 6, 5, 4), 1),
    "argmax_w_neg_i32": _argmax((1, 4, 7, 5), -2),
    "argmax_3d_c37_i32": _argmax((1, 9, 37), -1),
    "argmax_vec_i32": _argmax((1, 10), 1),
    "argmax_c16_i32": _argmax((1, 3, 4, 16), 3),  # whole 4-byte words / one 16-lane vector, no tail
    "argmin_c19_i32": _argmax((1, 4, 5, 19), 3, fn="min"),
    "argmin_w_i32": _argmax((1, 3, 6, 5), 2, fn="min"),
    "argmax_head_i32": OpSpec("ARG_MAX", "argmax", dict(shape=(1, 8, 8, 3), axis=-1, out="int32", fn="max",
                                                         head=True),
                              expected_ops=("CONV_2D", "MEAN", "FULLY_CONNECTED", "ARG_MAX")),
    # uint8 model inputs (inference_input_type=tf.uint8) with int8, uint8 and ARG_MAX outputs
    "u8_classifier_i8": _u8((1, 9, 8, 3), "int8"),
    "u8_classifier_u8": _u8((1, 8, 7, 3), "uint8"),
    "u8_classifier_argmax": _u8((1, 8, 8, 1), "int8", head="argmax"),
}


# Cases TFLM cannot run, checked against LiteRT's reference instead: ARG_MAX with int64 indices
# (TFLM's kernel writes int32 only and fails at invoke). tests/test_export_ops_argmax.py runs them
# on the host and the four cores; get_opmodel() serves them.
LITERT_CASES: dict[str, OpSpec] = {
    "argmax_c_i64": _argmax((1, 5, 3, 9), -1, out="int64"),
    "argmax_h_i64": _argmax((1, 7, 3, 2), 1, out="int64"),
}


# Tiny multi-op models (residual, depthwise-separable, inverted residual, Fire, classifier head,
# PyTorch-style explicit PAD, flatten + FC, spatially separable): for model-level tests of the code
# generator and memory planner (liveness, in-place ADD, CONCATENATION of branches). Kept apart from
# OPMODEL_CASES so per-kernel tests stay one-op; get_opmodel() serves both.
def _block(name: str, ops: tuple[str, ...], shape: tuple[int, ...], **kw: Any) -> OpSpec:
    return OpSpec(ops[-1], "block", dict(block=name, shape=shape, **kw), expected_ops=ops)


BLOCK_CASES: dict[str, OpSpec] = {
    "block_residual": _block("residual", ("CONV_2D", "CONV_2D", "ADD"), (1, 8, 8, 8)),
    "block_dwsep": _block("dwsep", ("DEPTHWISE_CONV_2D", "CONV_2D"), (1, 9, 9, 6)),
    "block_inverted_residual": _block(
        "inverted_residual", ("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "ADD"), (1, 7, 7, 8)
    ),
    "block_fire": _block("fire", ("CONV_2D", "CONV_2D", "CONV_2D", "CONCATENATION"), (1, 8, 8, 8)),
    "block_head": _block("head", ("CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"), (1, 8, 8, 3)),
    "block_pad_conv_pool": _block("pad_conv_pool", ("PAD", "CONV_2D", "MAX_POOL_2D"), (1, 10, 10, 3)),
    "block_flatten_fc": _block("flatten_fc", ("CONV_2D", "RESHAPE", "FULLY_CONNECTED"), (1, 5, 5, 4)),
    "block_spatial_separable": _block("spatial_separable", ("CONV_2D", "CONV_2D"), (1, 9, 9, 5)),
}


# Element-wise operators (tests/test_ops_elementwise_*.py): the table look-up activations, the
# broadcasting binary ops (equal shapes, per-channel [1,H,W,C] x [1,1,1,C], per-row [1,H,1,1], both
# sides broadcasting, rank < 4, constant operands) and the squeeze-and-excitation / swish patterns.
# Kept apart from OPMODEL_CASES (whose kernel-harness tests lower each op by hand); get_opmodel()
# serves them.
def _unary(fn: str, shape: tuple[int, ...], op: str, rng_in: tuple[float, float] = (-4.0, 4.0),
           **kw: Any) -> OpSpec:
    return OpSpec(op, "unary", dict(fn=fn, shape=shape, **kw), input_ranges=(rng_in,))


def _bc(fn: str, op: str, s1: tuple[int, ...], s2: tuple[int, ...], const: bool = False, act: str = "NONE",
        ranges: tuple[tuple[float, float], ...] = ((-1.0, 1.0), (-3.0, 2.0))) -> OpSpec:
    return OpSpec(op, "broadcast", dict(fn=fn, shape1=s1, shape2=s2, const=const, act=act),
                  input_ranges=ranges[:1] if const else ranges)  # a constant draws its own values


ELEMENTWISE_CASES: dict[str, OpSpec] = {
    "logistic": _unary("logistic", (1, 5, 7, 6), "LOGISTIC", (-8.0, 8.0)),
    "logistic_narrow": _unary("logistic", (1, 33), "LOGISTIC", (-0.5, 0.3)),
    "tanh": _unary("tanh", (1, 6, 5, 3), "TANH", (-3.0, 3.0)),
    "tanh_wide": _unary("tanh", (1, 17), "TANH", (-20.0, 9.0)),
    "hard_swish": _unary("hard_swish", (1, 7, 5, 6), "HARD_SWISH", (-6.0, 6.0)),
    "hard_swish_wide": _unary("hard_swish", (1, 3, 3, 7), "HARD_SWISH", (-40.0, 70.0)),
    "leaky_relu": _unary("leaky_relu", (1, 6, 6, 5), "LEAKY_RELU", (-2.0, 5.0), alpha=0.2),
    "leaky_relu_steep": _unary("leaky_relu", (1, 19), "LEAKY_RELU", (-3.0, 1.0), alpha=2.5),
    "abs": _unary("abs", (1, 5, 3, 7), "ABS", (-3.0, 1.5)),
    "prelu_per_channel": _unary("prelu", (1, 6, 5, 7), "PRELU", (-3.0, 3.0)),
    "sub": _bc("sub", "SUB", (1, 5, 5, 6), (1, 5, 5, 6)),
    # SUB on ef_add_table_s8 with the minuend as the exact operand (input1 the larger scale), 17 channels
    "sub_in1_larger_c17": _bc("sub", "SUB", (1, 3, 3, 17), (1, 3, 3, 17), ranges=((-6.0, 5.0), (-1.0, 1.0))),
    "sub_relu_bc_channel": _bc("sub", "SUB", (1, 5, 7, 6), (1, 1, 1, 6), act="RELU"),
    "sub_bc_row": _bc("sub", "SUB", (1, 4, 5, 3), (1, 4, 1, 1)),
    "sub_const_channel": _bc("sub", "SUB", (1, 5, 3, 7), (7,), const=True),
    "mul_bc_channel": _bc("mul", "MUL", (1, 6, 5, 7), (1, 1, 1, 7)),
    "mul_bc_row": _bc("mul", "MUL", (1, 5, 6, 4), (1, 5, 1, 1)),
    "mul_bc_both": _bc("mul", "MUL", (1, 1, 6, 1), (1, 5, 1, 3)),
    "mul_const_channel": _bc("mul", "MUL", (1, 5, 5, 6), (1, 1, 1, 6), const=True),
    "add_const_channel": _bc("add", "ADD", (1, 4, 6, 5), (5,), const=True),
    "add_bc_rank2": _bc("add", "ADD", (1, 3, 4, 9), (4, 9)),
    "maximum": _bc("max", "MAXIMUM", (1, 5, 6, 5), (1, 5, 6, 5)),
    "maximum_bc_channel": _bc("max", "MAXIMUM", (1, 4, 5, 6), (1, 1, 1, 6)),
    "minimum": _bc("min", "MINIMUM", (1, 3, 7, 5), (1, 3, 7, 5)),
    "minimum_const": _bc("min", "MINIMUM", (1, 6, 4, 3), (1, 1, 1, 3), const=True, ranges=((-2.0, 2.0),)),
    "squared_difference": _bc("sqdiff", "SQUARED_DIFFERENCE", (1, 5, 5, 4), (1, 5, 5, 4)),
    "squared_difference_bc": _bc("sqdiff", "SQUARED_DIFFERENCE", (1, 4, 6, 5), (1, 1, 1, 5)),
    # squeeze-and-excitation (per-channel scale by the sigmoid of the channel means) and swish
    "se_block": OpSpec("MUL", "se", dict(shape=(1, 6, 6, 8)), expected_ops=("MEAN", "LOGISTIC", "MUL"),
                       input_ranges=((-3.0, 3.0),)),
    "swish": OpSpec("MUL", "swish", dict(shape=(1, 5, 7, 6)), expected_ops=("LOGISTIC", "MUL"),
                    input_ranges=((-5.0, 5.0),)),
}


# --------------------------------------------------------------------------------------------
# Builders: (params, rng) -> (tf.function, input shapes)
# --------------------------------------------------------------------------------------------


def _tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


def _act(tf: Any, y: Any, act: str) -> Any:
    if act == "RELU":
        return tf.nn.relu(y)
    if act == "RELU6":
        return tf.nn.relu6(y)
    if act != "NONE":
        raise ValueError(f"unknown activation {act}")
    return y


def _weights(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    # Different magnitude per output channel so per-channel scales really differ.
    w = rng.normal(0.0, 1.0 / np.sqrt(fan_in), shape)
    ch = rng.uniform(0.3, 2.0, shape[-1])
    return (w * ch).astype(np.float32)


def _build_conv(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    cin_g = p["cin"] // p["groups"]
    w = tf.constant(_weights(rng, (p["kh"], p["kw"], cin_g, p["cout"]), p["kh"] * p["kw"] * cin_g))
    b = tf.constant(rng.normal(0, 0.2, p["cout"]).astype(np.float32))

    def f(x: Any) -> Any:
        d = p.get("dilation", 1)  # an int, or (h, w)
        y = tf.nn.conv2d(x, w, strides=p["stride"], padding=p["padding"],
                         dilations=list(d) if isinstance(d, tuple | list) else d) + b
        return _act(tf, y, p["act"])

    return f, [(1, p["h"], p["w"], p["cin"])]


def _build_dw(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    kh, kw = p.get("kh", p["k"]), p.get("kw", p["k"])  # k x 1 / 1 x k kernels through kh / kw
    w = _weights(rng, (kh, kw, p["c"] * p["mult"]), kh * kw).reshape(kh, kw, p["c"], p["mult"])
    wt = tf.constant(w)
    b = tf.constant(rng.normal(0, 0.2, p["c"] * p["mult"]).astype(np.float32))
    s = p["stride"]

    d = p.get("dilation", 1)  # an int, or (h, w)
    dd = tuple(d) if isinstance(d, tuple | list) else (d, d)

    def f(x: Any) -> Any:
        y = tf.nn.depthwise_conv2d(x, wt, strides=(1, s, s, 1), padding=p["padding"], dilations=dd) + b
        return _act(tf, y, p["act"])

    return f, [(1, p["h"], p["w"], p["c"])]


def _build_shift(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    """Depthwise conv whose kernels have ``taps`` non-zero positions (1.0 each unless ``scaled``),
    the last ``zero`` channels all-zero."""
    tf = _tf()
    k, c = p["k"], p["c"]
    w = np.zeros((k * k, c), np.float32)
    for ch in range(c - p["zero"]):
        pos = rng.choice(k * k, size=p["taps"], replace=False)
        w[pos, ch] = rng.uniform(0.4, 1.6, p["taps"]) * rng.choice([-1, 1], p["taps"]) if p["scaled"] else 1.0
    wt = tf.constant(w.reshape(k, k, c, 1))
    b = tf.constant(rng.normal(0, 0.2, c).astype(np.float32) if p["scaled"] else np.zeros(c, np.float32))
    s = p["stride"]

    def f(x: Any) -> Any:
        y = tf.nn.depthwise_conv2d(x, wt, strides=(1, s, s, 1), padding=p["padding"]) + b
        return _act(tf, y, p.get("act", "NONE"))

    return f, [(1, p["h"], p["w"], c)]


def _build_shift_block(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    """1x1 conv (relu) -> optional 2x2 max pool -> one-tap depthwise (as _build_shift, SAME) ->
    k2 x k2 conv: the ShiftNet block whose shift channels the generator reorders."""
    tf = _tf()
    k, c = p["k"], p["c"]
    w1 = tf.constant(_weights(rng, (1, 1, p["cin"], c), p["cin"]))
    b1 = tf.constant(rng.normal(0, 0.2, c).astype(np.float32))
    w = np.zeros((k * k, c), np.float32)
    for ch in range(c - p["zero"]):
        pos = rng.integers(k * k)
        w[pos, ch] = rng.uniform(0.4, 1.6) * rng.choice([-1, 1]) if p["scaled"] else 1.0
    wt = tf.constant(w.reshape(k, k, c, 1))
    bs = tf.constant(rng.normal(0, 0.2, c).astype(np.float32) if p["scaled"] else np.zeros(c, np.float32))
    k2 = p["k2"]
    w2 = tf.constant(_weights(rng, (k2, k2, c, p["cout"]), k2 * k2 * c))
    s = p["stride"]

    def f(x: Any) -> Any:
        y = tf.nn.relu(tf.nn.conv2d(x, w1, strides=1, padding="SAME") + b1)
        if p["pool"]:
            y = tf.nn.max_pool2d(y, ksize=2, strides=2, padding="VALID")
        y = tf.nn.depthwise_conv2d(y, wt, strides=(1, s, s, 1), padding="SAME") + bs
        return tf.nn.conv2d(y, w2, strides=1, padding="SAME")

    return f, [(1, p["h"], p["w"], p["cin"])]


def _build_fc(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    w = tf.constant(_weights(rng, (p["n_in"], p["n_out"]), p["n_in"]))
    b = tf.constant(rng.normal(0, 0.2, p["n_out"]).astype(np.float32))

    def f(x: Any) -> Any:
        y = tf.matmul(x, w)
        if p["bias"]:
            y = y + b
        return _act(tf, y, p["act"])

    return f, [(1, p["n_in"])]


def _build_pool(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    fn = tf.nn.avg_pool2d if p["pool"] == "avg" else tf.nn.max_pool2d

    def f(x: Any) -> Any:
        return fn(x, ksize=p["size"], strides=p["stride"], padding=p["padding"])

    return f, [(1, p["h"], p["w"], p["c"])]


def _build_binary(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any, y: Any) -> Any:
        z = tf.add(x, y) if p["fn"] == "add" else tf.multiply(x, y)
        return _act(tf, z, p["act"])

    shape = tuple(p["shape"])
    return f, [shape, shape]


def _build_mean(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any) -> Any:
        return tf.reduce_mean(x, axis=list(p.get("axes", (1, 2))), keepdims=p["keepdims"])

    return f, [tuple(p["shape"])]


def _build_pad(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    pads = tf.constant(np.array(p["paddings"], np.int32))

    def f(x: Any) -> Any:
        return tf.pad(x, pads)

    return f, [tuple(p["shape"])]


def _build_reshape(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any) -> Any:
        return tf.reshape(x, p["new_shape"])

    return f, [tuple(p["shape"])]


def _build_concat(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any, y: Any) -> Any:
        return tf.concat([x, y], axis=3)

    return f, [tuple(s) for s in p["shapes"]]


def _build_softmax(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any) -> Any:
        return tf.nn.softmax(x)

    return f, [tuple(p["shape"])]


def _build_boundary(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any) -> Any:
        return tf.nn.max_pool2d(x, ksize=2, strides=2, padding="VALID")

    return f, [tuple(p["shape"])]


def _build_block(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    shape = tuple(p["shape"])
    c = shape[-1]

    def conv(cin: int, cout: int, kh: int, kw: int) -> tuple[Any, Any]:
        w = tf.constant(_weights(rng, (kh, kw, cin, cout), kh * kw * cin))
        return w, tf.constant(rng.normal(0, 0.2, cout).astype(np.float32))

    def dwconv(ch: int, k: int) -> tuple[Any, Any]:
        w = tf.constant(_weights(rng, (k, k, ch), k * k).reshape(k, k, ch, 1))
        return w, tf.constant(rng.normal(0, 0.2, ch).astype(np.float32))

    def c2d(x: Any, wb: tuple[Any, Any], stride: int = 1, padding: str = "SAME") -> Any:
        return tf.nn.conv2d(x, wb[0], strides=stride, padding=padding) + wb[1]

    def dw(x: Any, wb: tuple[Any, Any], stride: int = 1) -> Any:
        return tf.nn.depthwise_conv2d(x, wb[0], strides=(1, stride, stride, 1), padding="SAME") + wb[1]

    kind = p["block"]
    if kind == "residual":
        a, b = conv(c, c, 3, 3), conv(c, c, 3, 3)

        def f(x: Any) -> Any:
            return tf.nn.relu(c2d(tf.nn.relu(c2d(x, a)), b) + x)

    elif kind == "dwsep":
        d, pw = dwconv(c, 3), conv(c, 10, 1, 1)

        def f(x: Any) -> Any:
            return tf.nn.relu6(c2d(tf.nn.relu6(dw(x, d, 2)), pw))

    elif kind == "inverted_residual":
        e, d, pj = conv(c, 3 * c, 1, 1), dwconv(3 * c, 3), conv(3 * c, c, 1, 1)

        def f(x: Any) -> Any:
            return c2d(tf.nn.relu6(dw(tf.nn.relu6(c2d(x, e)), d)), pj) + x

    elif kind == "fire":
        sq, e1, e3 = conv(c, 4, 1, 1), conv(4, 6, 1, 1), conv(4, 6, 3, 3)

        def f(x: Any) -> Any:
            s_ = tf.nn.relu(c2d(x, sq))
            return tf.concat([tf.nn.relu(c2d(s_, e1)), tf.nn.relu(c2d(s_, e3))], axis=3)

    elif kind == "head":
        cv = conv(c, 12, 3, 3)
        w = tf.constant(_weights(rng, (12, 10), 12))
        b = tf.constant(rng.normal(0, 0.2, 10).astype(np.float32))

        def f(x: Any) -> Any:
            h = tf.reduce_mean(tf.nn.relu(c2d(x, cv, stride=2)), axis=[1, 2])
            return tf.nn.softmax(tf.matmul(h, w) + b)

    elif kind == "pad_conv_pool":
        cv = conv(c, 7, 3, 3)
        pads = tf.constant(np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))

        def f(x: Any) -> Any:
            y = tf.nn.relu(c2d(tf.pad(x, pads), cv, stride=2, padding="VALID"))
            return tf.nn.max_pool2d(y, ksize=2, strides=2, padding="VALID")

    elif kind == "pad_then":  # explicit PAD, then a conv / depthwise (and maybe a second reader)
        pads = tf.constant(np.array(p["pads"], np.int32))
        kh, kw = p["k"]
        s_, pad_mode = int(p.get("stride", 1)), str(p.get("padding", "VALID"))
        if p["then"] == "dw":
            wd = tf.constant(_weights(rng, (kh, kw, c), kh * kw).reshape(kh, kw, c, 1))
            bd = tf.constant(rng.normal(0, 0.2, c).astype(np.float32))

            def g(x: Any) -> Any:
                return tf.nn.depthwise_conv2d(x, wd, strides=(1, s_, s_, 1), padding=pad_mode) + bd
        else:
            cv = conv(c, int(p.get("cout", 5)), kh, kw)

            def g(x: Any) -> Any:
                return c2d(x, cv, stride=s_, padding=pad_mode)

        def f(x: Any) -> Any:
            xp = tf.pad(x, pads)
            y = tf.nn.relu(g(xp))
            if p.get("second_reader"):  # the padded tensor read twice: the PAD must stay
                return tf.concat([y, tf.nn.max_pool2d(xp, ksize=kh, strides=s_, padding=pad_mode)], axis=3)
            return y

    elif kind == "flatten_fc":
        cv = conv(c, 6, 1, 1)
        n_flat = shape[1] * shape[2] * 6
        w = tf.constant(_weights(rng, (n_flat, 5), n_flat))
        b = tf.constant(rng.normal(0, 0.2, 5).astype(np.float32))

        def f(x: Any) -> Any:
            return tf.matmul(tf.reshape(tf.nn.relu(c2d(x, cv)), (1, n_flat)), w) + b

    elif kind == "spatial_separable":
        v, h_ = conv(c, 6, 3, 1), conv(6, 7, 1, 3)

        def f(x: Any) -> Any:
            return tf.nn.relu(c2d(c2d(x, v), h_))

    else:
        raise ValueError(f"unknown block {kind!r}")
    return f, [shape]


def _build_unary(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    shape = tuple(p["shape"])
    neg_alpha = tf.constant(-rng.uniform(0.05, 0.6, (1, 1, shape[-1])).astype(np.float32))
    fn = p["fn"]

    def f(x: Any) -> Any:
        if fn == "logistic":
            return tf.sigmoid(x)
        if fn == "tanh":
            return tf.tanh(x)
        if fn == "hard_swish":
            return x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)
        if fn == "leaky_relu":
            return tf.nn.leaky_relu(x, alpha=p["alpha"])
        if fn == "abs":
            return tf.abs(x)
        if fn == "prelu":  # relu(x) + (-alpha) * relu(-x): the pattern the converter fuses into PRELU
            return tf.nn.relu(x) + neg_alpha * tf.nn.relu(-x)
        raise ValueError(f"unknown unary {fn!r}")

    return f, [shape]


def _build_broadcast(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    s1, s2 = tuple(p["shape1"]), tuple(p["shape2"])
    fns = {"add": tf.add, "sub": tf.subtract, "mul": tf.multiply, "max": tf.maximum, "min": tf.minimum,
           "sqdiff": tf.math.squared_difference}
    fn = fns[p["fn"]]
    if p["const"]:
        c = tf.constant(rng.uniform(-0.5, 2.0, s2).astype(np.float32))

        def f1(x: Any) -> Any:
            return _act(tf, fn(x, c), p["act"])

        return f1, [s1]

    def f2(x: Any, y: Any) -> Any:
        return _act(tf, fn(x, y), p["act"])

    return f2, [s1, s2]


def _build_se(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any) -> Any:
        return x * tf.sigmoid(tf.reduce_mean(x, axis=[1, 2], keepdims=True))

    return f, [tuple(p["shape"])]


def _build_swish(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any) -> Any:
        return x * tf.sigmoid(x)

    return f, [tuple(p["shape"])]


def _build_slice(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    index = tuple(slice(*s) if isinstance(s, list | tuple) else s for s in p["index"])

    def f(x: Any) -> Any:
        return x[index]

    return f, [tuple(p["shape"])]


def _build_split(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    sizes = p["sizes"] if isinstance(p["sizes"], int) else list(p["sizes"])

    def f(x: Any) -> Any:
        return tuple(tf.split(x, sizes, axis=p["axis"]))

    return f, [tuple(p["shape"])]


def _build_unpack(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any) -> Any:
        return tuple(tf.unstack(x, axis=p["axis"]))

    return f, [tuple(p["shape"])]


def _build_transpose(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any) -> Any:
        return tf.transpose(x, list(p["perm"]))

    return f, [tuple(p["shape"])]


def _build_d2s(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any) -> Any:
        return tf.nn.depth_to_space(x, p["block"])

    return f, [tuple(p["shape"])]


def _build_s2d(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any) -> Any:
        return tf.nn.space_to_depth(x, p["block"])

    return f, [tuple(p["shape"])]


def _build_resize(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    fn = (tf.compat.v1.image.resize_nearest_neighbor if p["method"] == "nearest"
          else tf.compat.v1.image.resize_bilinear)

    def f(x: Any) -> Any:
        return fn(x, list(p["size"]), align_corners=p["align"], half_pixel_centers=p["half"])

    return f, [tuple(p["shape"])]


def _build_tconv(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    kh, kw = p["kh"], p["kw"]
    # conv2d_transpose takes the filter as [kh, kw, out_c, in_c]
    w = tf.constant(_weights(rng, (kh, kw, p["cin"], p["cout"]), kh * kw * p["cin"]).transpose(0, 1, 3, 2))
    b = tf.constant(rng.normal(0, 0.2, p["cout"]).astype(np.float32))
    out_shape = (1, *p["out"], p["cout"])

    def f(x: Any) -> Any:
        y = tf.nn.conv2d_transpose(x, w, out_shape, strides=list(p["strides"]), padding=p["padding"])
        if p["bias"]:
            y = y + b
        return _act(tf, y, p["act"])

    return f, [(1, p["h"], p["w"], p["cin"])]


def _build_bmm(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    s1, s2 = tuple(p["shape1"]), tuple(p["shape2"])
    if p["const"]:
        c = tf.constant(rng.uniform(-1.0, 1.0, s2).astype(np.float32))

        def f1(x: Any) -> Any:
            return tf.matmul(x, c, adjoint_a=p["adj_x"], adjoint_b=p["adj_y"])

        return f1, [s1]

    def f2(x: Any, y: Any) -> Any:
        return tf.matmul(x, y, adjoint_a=p["adj_x"], adjoint_b=p["adj_y"])

    return f2, [s1, s2]


def _build_l2norm(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any) -> Any:
        return tf.math.l2_normalize(x, axis=-1)

    return f, [tuple(p["shape"])]


def _build_log_softmax(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()

    def f(x: Any) -> Any:
        return tf.nn.log_softmax(x, axis=-1)

    return f, [tuple(p["shape"])]


def _build_argmax(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    shape = tuple(p["shape"])
    out_type = tf.int64 if p["out"] == "int64" else tf.int32
    fn = tf.math.argmax if p["fn"] == "max" else tf.math.argmin
    if p.get("head"):
        w = tf.constant(_weights(rng, (3, 3, shape[-1], 12), 9 * shape[-1]))
        fw = tf.constant(_weights(rng, (12, 10), 12))
        b = tf.constant(rng.normal(0, 0.2, 10).astype(np.float32))

        def f(x: Any) -> Any:
            h = tf.reduce_mean(tf.nn.relu(tf.nn.conv2d(x, w, strides=2, padding="SAME")), axis=[1, 2])
            return fn(tf.matmul(h, fw) + b, axis=p["axis"], output_type=out_type)

        return f, [shape]

    def g(x: Any) -> Any:
        return fn(x, axis=p["axis"], output_type=out_type)

    return g, [shape]


def _build_u8_classifier(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    tf = _tf()
    shape = tuple(p["shape"])
    w = tf.constant(_weights(rng, (3, 3, shape[-1], 8), 9 * shape[-1]))
    cb = tf.constant(rng.normal(0, 0.2, 8).astype(np.float32))
    fw = tf.constant(_weights(rng, (8, 6), 8))
    b = tf.constant(rng.normal(0, 0.2, 6).astype(np.float32))

    def f(x: Any) -> Any:
        y = tf.nn.relu(tf.nn.conv2d(x, w, strides=1, padding="SAME") + cb)
        y = tf.matmul(tf.reduce_mean(y, axis=[1, 2]), fw) + b
        return tf.math.argmax(y, axis=-1, output_type=tf.int32) if p["head"] == "argmax" else y

    return f, [shape]


def _build_decoder(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    """An encoder-decoder fragment of the new data-movement operators: conv, SPLIT_V of its
    channels, a transposed conv and a bilinear upsampling of the parts, their concatenation, a
    strided slice, a transpose and a mean over the channels (tests/test_export_ops_movement_block.py)."""
    tf = _tf()
    shape = tuple(p["shape"])
    c = shape[-1]
    w = tf.constant(_weights(rng, (3, 3, c, 8), 9 * c))
    b = tf.constant(rng.normal(0, 0.2, 8).astype(np.float32))
    tw = tf.constant(_weights(rng, (2, 2, 3, 4), 12).transpose(0, 1, 3, 2))
    h, wd = shape[1], shape[2]

    def f(x: Any) -> Any:
        y = tf.nn.relu(tf.nn.conv2d(x, w, strides=1, padding="SAME") + b)
        a, r = tf.split(y, [3, 5], axis=3)
        up_a = tf.nn.conv2d_transpose(a, tw, (1, 2 * h, 2 * wd, 4), strides=2, padding="SAME")
        up_r = tf.compat.v1.image.resize_bilinear(r, [2 * h, 2 * wd], half_pixel_centers=True)
        z = tf.concat([up_a, up_r], axis=3)
        z = tf.transpose(z[:, ::-2, 1::2, :], (0, 2, 1, 3))
        return tf.reduce_mean(z, axis=3, keepdims=True)

    return f, [shape]


def _build_conv_then(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    """1x1 conv -> L2 normalization or log-softmax over the channels -> 1x1 conv: the middle
    layer's input and output are arena buffers, so the planner runs it in place
    (tests/test_export_ops_movement_block.py)."""
    tf = _tf()
    shape = tuple(p["shape"])
    w = tf.constant(_weights(rng, (1, 1, shape[-1], 6), shape[-1]))
    w2 = tf.constant(_weights(rng, (1, 1, 6, 4), 6))

    def f(x: Any) -> Any:
        y = tf.nn.conv2d(x, w, strides=1, padding="SAME")
        y = tf.math.l2_normalize(y, axis=-1) if p["fn"] == "l2norm" else tf.nn.log_softmax(y, axis=-1)
        return tf.nn.conv2d(y, w2, strides=1, padding="SAME")

    return f, [shape]


_BUILDERS: dict[
    str, Callable[[dict[str, Any], np.random.Generator], tuple[Callable[..., Any], list[Any]]]
] = {
    "conv": _build_conv,
    "dw": _build_dw,
    "shift": _build_shift,
    "shift_block": _build_shift_block,
    "fc": _build_fc,
    "pool": _build_pool,
    "binary": _build_binary,
    "mean": _build_mean,
    "pad": _build_pad,
    "reshape": _build_reshape,
    "concat": _build_concat,
    "softmax": _build_softmax,
    "boundary": _build_boundary,
    "block": _build_block,
    "unary": _build_unary,
    "broadcast": _build_broadcast,
    "se": _build_se,
    "swish": _build_swish,
    "slice": _build_slice,
    "split": _build_split,
    "unpack": _build_unpack,
    "transpose": _build_transpose,
    "d2s": _build_d2s,
    "s2d": _build_s2d,
    "resize": _build_resize,
    "tconv": _build_tconv,
    "bmm": _build_bmm,
    "l2norm": _build_l2norm,
    "log_softmax": _build_log_softmax,
    "decoder": _build_decoder,
    "conv_then": _build_conv_then,
    "argmax": _build_argmax,
    "u8_classifier": _build_u8_classifier,
}


# --------------------------------------------------------------------------------------------
# Generation, verification and cache
# --------------------------------------------------------------------------------------------


def _spec_json(spec: OpSpec) -> str:
    return json.dumps(asdict(spec), sort_keys=True, default=list)


def _seed(case_id: str) -> int:
    return zlib.crc32(case_id.encode())


def build_opmodel(case_id: str, spec: OpSpec) -> bytes:
    """Convert one case with TFLiteConverter (no cache)."""
    tf = _tf()
    # TensorFlow refuses a thread setting once it has run anything (another test may have
    # converted a model in this process already); the models do not depend on it
    with contextlib.suppress(RuntimeError):
        tf.config.threading.set_intra_op_parallelism_threads(1)
    rng = np.random.default_rng(_seed(case_id))
    fn, shapes = _BUILDERS[spec.kind](spec.params, rng)
    sig = [tf.TensorSpec(s, tf.float32) for s in shapes]
    tf_fn = tf.function(fn, input_signature=sig)
    ranges = list(spec.input_ranges) + [spec.input_ranges[-1]] * (len(shapes) - len(spec.input_ranges))
    cal_rng = np.random.default_rng(_seed(case_id) + 1)
    cal = [
        [cal_rng.uniform(lo, hi, s).astype(np.float32) for s, (lo, hi) in zip(shapes, ranges, strict=True)]
        for _ in range(CALIBRATION_SAMPLES)
    ]
    for sample in cal[:2]:  # make sure the calibration range reaches both ends
        for i, (lo, hi) in enumerate(ranges):
            sample[i].flat[0] = lo
            sample[i].flat[-1] = hi

    def rep() -> Iterator[list[np.ndarray]]:
        yield from cal

    conv = tf.lite.TFLiteConverter.from_concrete_functions([tf_fn.get_concrete_function()], tf_fn)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    io_types = {"uint8": tf.uint8, "int8": tf.int8}
    conv.inference_input_type = (tf.float32 if spec.params.get("float_in")
                                 else io_types[spec.params.get("in_type", "int8")])
    conv.inference_output_type = (tf.float32 if spec.params.get("float_out")
                                  else io_types[spec.params.get("out_type", "int8")])
    return bytes(conv.convert())


def interpreter_ops(model: bytes) -> list[str]:
    """The op list LiteRT's interpreter sees, in execution order."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=model)
    return [d["op_name"] for d in interp._get_ops_details()]


def check_opmodel(case_id: str, spec: OpSpec, model: bytes) -> None:
    """Raise EdgefactError unless the model holds exactly the intended ops (and int8 tensors)."""
    ops = interpreter_ops(model)
    if tuple(ops) != spec.ops:
        raise EdgefactError(f"op model {case_id!r}: expected ops {list(spec.ops)}, converter produced {ops}")
    problems = _option_problems(spec, model)
    if problems:
        raise EdgefactError(f"op model {case_id!r} is not what the spec asks: {'; '.join(problems)}")


def _option_problems(spec: OpSpec, model: bytes) -> list[str]:
    """Compare the op under test (options, filter shape, quantization) with the spec."""
    from edgefact.export.tflite_model import load_tflite

    m = load_tflite(model)
    op = next(o for o in m.operators if o.name == spec.op)
    if spec.kind == "block":
        op = m.operators[-1]
    p = spec.params
    opt = op.options
    bad: list[str] = []

    def want(what: str, got: Any, expected: Any) -> None:
        if got != expected:
            bad.append(f"{what} is {got!r}, expected {expected!r}")

    def q(tidx: int) -> tuple[float, int] | None:
        qq = m.tensor(tidx).quantization
        return None if qq is None else (float(qq.scales[0]), int(qq.zero_points[0]))

    if spec.kind in ("conv", "dw", "fc", "binary"):
        want("fused activation", opt.get("fused_activation_function"), p.get("act", "NONE"))
    if spec.kind in ("conv", "dw", "pool"):
        want("padding", opt.get("padding"), p["padding"])
        want("stride", (opt.get("stride_h"), opt.get("stride_w")), (p["stride"], p["stride"]))
    if spec.kind == "conv":
        filt = m.tensor(op.inputs[1])
        want("filter shape", filt.shape, (p["cout"], p["kh"], p["kw"], p["cin"] // p["groups"]))
        want("input channels", m.tensor(op.inputs[0]).shape[-1], p["cin"])
    if spec.kind == "dw":
        want("filter shape", m.tensor(op.inputs[1]).shape,
             (1, p.get("kh", p["k"]), p.get("kw", p["k"]), p["c"] * p["mult"]))
        want("depth multiplier", opt.get("depth_multiplier"), p["mult"])
    if spec.kind in ("conv", "dw", "fc"):
        fq = m.tensor(op.inputs[1]).quantization
        n_out = m.tensor(op.inputs[1]).shape[-1 if spec.kind == "dw" else 0]
        if fq is None or len(fq.scales) != n_out:
            bad.append(
                f"weights are not per-channel quantized ({0 if fq is None else len(fq.scales)} scales)"
            )
    if spec.kind == "fc":
        has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
        want("bias present", has_bias, p["bias"])
    if spec.kind == "pool":
        want("pool size", (opt.get("filter_height"), opt.get("filter_width")), (p["size"], p["size"]))
    if spec.kind == "mean":
        want("keep_dims", opt.get("keep_dims"), p["keepdims"])
    if spec.kind == "binary":
        qs = [q(t) for t in (*op.inputs, *op.outputs)]
        if len(set(qs)) != len(qs):
            bad.append(f"inputs/output do not all have different quantization: {qs}")
    for tidx in (*m.inputs, *m.outputs):
        t = m.tensor(tidx)
        float_ok = (tidx in m.inputs and p.get("float_in")) or (tidx in m.outputs and p.get("float_out"))
        declared = p.get("in_type") if tidx in m.inputs else p.get("out_type")
        if spec.kind == "argmax" or p.get("head") == "argmax":  # the indices: output_type
            declared = declared if tidx in m.inputs else p.get("out", "int32")
        want(f"type of model I/O tensor {t.name!r}", t.type_name,
             "FLOAT32" if float_ok else (declared or "int8").upper())
    return bad


def _cache_path(case_id: str, spec: OpSpec) -> Path:
    from importlib.metadata import version

    # The installed version, read without importing TensorFlow (a 4 s import): cache hits stay fast.
    key = f"{GENERATOR_VERSION}|{version('tensorflow')}|{case_id}|{_spec_json(spec)}"
    return CACHE_DIR / f"{case_id}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.tflite"


def get_opmodel(case_id: str) -> bytes:
    """The .tflite bytes of a case (cached; generated and verified on first use)."""
    spec = (OPMODEL_CASES.get(case_id) or BLOCK_CASES.get(case_id) or ELEMENTWISE_CASES.get(case_id)
            or LITERT_CASES.get(case_id))
    if spec is None:
        valid = ", ".join(sorted(OPMODEL_CASES) + sorted(BLOCK_CASES) + sorted(ELEMENTWISE_CASES)
                          + sorted(LITERT_CASES))
        raise EdgefactError(f"unknown op model {case_id!r}; valid: {valid}")
    path = _cache_path(case_id, spec)
    if path.is_file():
        return path.read_bytes()
    model = build_opmodel(case_id, spec)
    check_opmodel(case_id, spec, model)
    atomic_write_bytes(path, model)
    return model


def random_inputs(model: bytes, n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` random samples per model input, one ``(n, ...)`` array each.

    Integer inputs are uniform over the whole type range, and the first two samples are all-min
    and all-max (saturation paths). Float inputs span the float range that the model's first
    QUANTIZE maps onto int8, widened by 25% on each side so saturation is exercised too.
    """
    from edgefact.export.reference import model_io_quant
    from edgefact.export.tflite_model import load_tflite

    io = model_io_quant(model)
    rng = np.random.default_rng(seed)
    out = []
    for t in io.inputs:
        shape = (n, *(t.shape[1:] if t.shape and t.shape[0] == 1 else t.shape))
        if np.issubdtype(t.dtype, np.integer):
            info = np.iinfo(t.dtype)
            x = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=t.dtype)
            if n >= 3:
                x[0] = info.min
                x[1] = info.max
        else:
            lo, hi = -1.0, 1.0
            m = load_tflite(model)
            for op in m.operators:
                if op.name == "QUANTIZE" and op.inputs[0] == t.index:
                    q = m.tensor(op.outputs[0]).quantization
                    if q is not None:
                        s, z = float(q.scales[0]), int(q.zero_points[0])
                        lo, hi = (-128 - z) * s, (127 - z) * s
            span = hi - lo
            x = rng.uniform(lo - 0.25 * span, hi + 0.25 * span, size=shape).astype(t.dtype)
        out.append(x)
    return out


def main() -> None:
    """Generate (or load) every case and print its ops: ``python tests/opmodels.py``."""
    for cid in sorted(OPMODEL_CASES) + sorted(BLOCK_CASES) + sorted(ELEMENTWISE_CASES):
        m = get_opmodel(cid)
        print(f"{cid:28s} {len(m):6d} B  {' '.join(interpreter_ops(m))}")


if __name__ == "__main__":
    main()


# MUL's row kernels (internal/ef_mul_row.h: Helium 8 lanes, DSP 4 values per step) and the table
# look-up's 16-lane Helium loop: element counts on both sides of the step sizes (1, 3, 5, 17, 99),
# a narrow activation, broadcasting along each axis (a repeated input2 or input1 per row), the
# squeeze-and-excitation scale with 1, 5, 17 and 33 channels, swish.
ELEMENTWISE_CASES.update({
    "mul_eq_c1": _bc("mul", "MUL", (1, 1, 1, 1), (1, 1, 1, 1)),
    "mul_eq_c3": _bc("mul", "MUL", (1, 1, 1, 3), (1, 1, 1, 3)),
    "mul_eq_c5": _bc("mul", "MUL", (1, 5), (1, 5)),
    "mul_eq_c17": _bc("mul", "MUL", (1, 1, 1, 17), (1, 1, 1, 17)),
    "mul_eq_c33_odd": _bc("mul", "MUL", (1, 3, 1, 33), (1, 3, 1, 33)),
    "mul_eq_relu6_c17": _bc("mul", "MUL", (1, 3, 3, 17), (1, 3, 3, 17), act="RELU6"),
    "mul_bc_h_c3": _bc("mul", "MUL", (1, 4, 5, 3), (1, 1, 5, 3)),
    "mul_bc_w_c5": _bc("mul", "MUL", (1, 4, 5, 5), (1, 4, 1, 5)),
    "mul_bc_c_rows": _bc("mul", "MUL", (1, 4, 5, 9), (1, 4, 5, 1)),
    "mul_bc_in1_rows": _bc("mul", "MUL", (1, 4, 5, 1), (1, 4, 5, 9)),
    "mul_bc_channel_c33_relu": _bc("mul", "MUL", (1, 3, 2, 33), (1, 1, 1, 33), act="RELU"),
    "se_block_c1": OpSpec("MUL", "se", dict(shape=(1, 3, 5, 1)), expected_ops=("MEAN", "LOGISTIC", "MUL"),
                          input_ranges=((-3.0, 3.0),)),
    "se_block_c5": OpSpec("MUL", "se", dict(shape=(1, 4, 4, 5)), expected_ops=("MEAN", "LOGISTIC", "MUL"),
                          input_ranges=((-3.0, 3.0),)),
    "se_block_c17": OpSpec("MUL", "se", dict(shape=(1, 5, 3, 17)), expected_ops=("MEAN", "LOGISTIC", "MUL"),
                           input_ranges=((-3.0, 3.0),)),
    "se_block_c33": OpSpec("MUL", "se", dict(shape=(1, 3, 3, 33)), expected_ops=("MEAN", "LOGISTIC", "MUL"),
                           input_ranges=((-3.0, 3.0),)),
    "swish_c33": OpSpec("MUL", "swish", dict(shape=(1, 3, 3, 33)), expected_ops=("LOGISTIC", "MUL"),
                        input_ranges=((-5.0, 5.0),)),
    "hard_swish_c1": _unary("hard_swish", (1, 1), "HARD_SWISH", (-6.0, 6.0)),
    "logistic_c16": _unary("logistic", (1, 16), "LOGISTIC", (-8.0, 8.0)),
    "hard_swish_c33_blocks": _unary("hard_swish", (1, 5, 7, 33), "HARD_SWISH", (-6.0, 6.0)),
})


# Helium short-column convolutions (kh * kw * filter c <= 48: the pixels in registers, the filters
# streaming past them; ef_nn_conv_2px_s8.c): 1-, 2- and 3-vector columns (4, 3, 2 pixels per
# block) with partial last blocks, input depths 1/2/3/4/5/7/9/15/16/32, odd output counts, more
# channels than one block of sums (32 / 64), a single pixel, strides, padding on one side only
# (stride 2 on an even size, an even kernel) and on every side, groups 2/4/8 with odd group
# widths, k x 1 and 1 x k, a window too wide for 8-bit gather offsets (the pair engine instead).
OPMODEL_CASES.update({
    "conv_short_3x3_c1_o5_same": _conv(7, 6, 1, 5, 3, 3),
    "conv_short_3x3_c2_o7_s2_same_relu": _conv(9, 8, 2, 7, 3, 3, stride=2, act="RELU"),
    "conv_short_3x3_c4_o13_valid": _conv(6, 7, 4, 13, 3, 3, padding="VALID"),
    "conv_short_3x3_c5_o37_same_relu6": _conv(5, 5, 5, 37, 3, 3, act="RELU6"),
    "conv_short_3x3_c3_o6_s2_even": _conv(8, 8, 3, 6, 3, 3, stride=2),
    "conv_short_4x4_c2_o5_same": _conv(6, 7, 2, 5, 4, 4),
    "conv_short_10x4_c1_o64_s2_relu": _conv(13, 6, 1, 64, 10, 4, stride=2, act="RELU"),
    "conv_short_1x1_c7_o9": _conv(5, 7, 7, 9, 1, 1),
    "conv_short_1x1_c9_o40_s2_valid": _conv(9, 9, 9, 40, 1, 1, stride=2, padding="VALID"),
    "conv_short_1x1_c15_o6_relu6": _conv(4, 5, 15, 6, 1, 1, act="RELU6"),
    "conv_short_1x1_c16_o35_s2": _conv(8, 8, 16, 35, 1, 1, stride=2),
    "conv_short_1x1_c32_o5_1px": _conv(1, 1, 32, 5, 1, 1),
    "conv_short_3x1_c3_o8_same": _conv(8, 6, 3, 8, 3, 1),
    "conv_short_1x4_c5_o6_s2_same": _conv(7, 9, 5, 6, 1, 4, stride=2),
    "conv_short_g2_1x1_c10_o6": _conv(6, 5, 10, 6, 1, 1, groups=2),
    "conv_short_g4_3x3_c12_o20_same": _conv(7, 7, 12, 20, 3, 3, groups=4),
    "conv_short_g8_1x1_c24_o24_relu": _conv(5, 5, 24, 24, 1, 1, act="RELU", groups=8),
    "conv_short_g8_3x3_c16_o8_s2": _conv(9, 9, 16, 8, 3, 3, stride=2, groups=8),
    "conv_short_3x3_c1_o4_wide": _conv(4, 130, 1, 4, 3, 3),
})
# Helium grouped windows gathered a row at a time (gather_window): window rows of 1 and 3 vectors,
# odd group widths, borders on every side
OPMODEL_CASES.update({
    "conv_gather_g2_3x3_c16_o10_same": _conv(7, 6, 16, 10, 3, 3, groups=2),
    "conv_gather_g4_5x5_c32_o12_same_relu": _conv(6, 6, 32, 12, 5, 5, act="RELU", groups=4),
    # interior windows (gather_window_in): rows of 1, 2 and 3 vectors, valid and strided
    "conv_gather_g2_5x5_c6_o4_valid": _conv(8, 9, 6, 4, 5, 5, padding="VALID", groups=2),
    "conv_gather_g2_3x3_c26_o6_s2_relu6": _conv(9, 8, 26, 6, 3, 3, stride=2, act="RELU6", groups=2),
    "conv_gather_g2_3x3_c16_o14_valid": _conv(6, 7, 16, 14, 3, 3, padding="VALID", groups=2),
})
# DSP short-column 1x1 (ef_conv_1x1_short_s8: 4 or 8 input channels, filters widened into a table
# once per call): odd output channels, more than one 32-channel table, a single pixel, stride 2 on
# odd and even sizes (one run per output row), fused RELU / RELU6 (the clamp pass)
OPMODEL_CASES.update({
    "conv_1x1s_c8_o7": _conv(6, 5, 8, 7, 1, 1),
    "conv_1x1s_c4_o13_relu6": _conv(7, 6, 4, 13, 1, 1, act="RELU6"),
    "conv_1x1s_c8_o67_s2_relu": _conv(9, 7, 8, 67, 1, 1, stride=2, act="RELU"),
    "conv_1x1s_c4_o33_s2_even": _conv(8, 8, 4, 33, 1, 1, stride=2, padding="VALID"),
    "conv_1x1s_c8_o1_1px": _conv(1, 1, 8, 1, 1, 1),
    "conv_1x1s_c4_o5_1px_relu": _conv(1, 1, 4, 5, 1, 1, act="RELU"),
})
# ef_conv_1x1_short_s8 at 12 and 16 input channels (entries of 10 / 12 words, 25 / 21 channels
# per table): odd output channels, two tables, stride 2, a single pixel
OPMODEL_CASES.update({
    "conv_1x1s_c12_o49_relu6": _conv(5, 6, 12, 49, 1, 1, act="RELU6"),
    "conv_1x1s_c12_o3_s2": _conv(7, 8, 12, 3, 1, 1, stride=2),
    "conv_1x1s_c16_o45_s2_relu": _conv(9, 8, 16, 45, 1, 1, stride=2, act="RELU"),
    "conv_1x1s_c16_o7_1px": _conv(1, 1, 16, 7, 1, 1),
})
# ef_conv_1x1_short_s8 at 4 input channels, two pixels per entry: odd runs (the last pixel alone)
# at stride 1 (15 pixels) and stride 2 (rows of 5)
OPMODEL_CASES.update({
    "conv_1x1s_c4_o9_odd": _conv(5, 3, 4, 9, 1, 1),
    "conv_1x1s_c4_o16_s2_odd_relu6": _conv(9, 10, 4, 16, 1, 1, stride=2, act="RELU6"),
})
# ef_conv_1x1_short_s8 at 20 input channels (14-word entries, 18 channels per table, input words
# 8-9 in stack slots): three tables with an odd last one, stride 2, a single pixel
OPMODEL_CASES.update({
    "conv_1x1s_c20_o41_relu": _conv(6, 5, 20, 41, 1, 1, act="RELU"),
    "conv_1x1s_c20_o6_s2": _conv(7, 9, 20, 6, 1, 1, stride=2),
    "conv_1x1s_c20_o3_1px": _conv(1, 1, 20, 3, 1, 1),
})
# ef_conv_1x1_short_s8's Helium body (4-16 input channels per group, 4 pixels per step, 32-channel
# tables): runs with 1-3 pixels left (3x5, rows of 5 / 7 at stride 2, a single pixel), 5 / 13 /
# 70 outputs (three tables), one output (no channel pair), fused RELU6, grouped layers (K = 8 and 4
# per group)
OPMODEL_CASES.update({
    "conv_1x1v_c16_o5_3x5": _conv(3, 5, 16, 5, 1, 1),
    "conv_1x1v_c12_o13_s2_relu6": _conv(7, 9, 12, 13, 1, 1, stride=2, act="RELU6"),
    "conv_1x1v_c8_o13_1px": _conv(1, 1, 8, 13, 1, 1),
    "conv_1x1v_c4_o5_s2_relu6": _conv(6, 10, 4, 5, 1, 1, stride=2, act="RELU6"),
    "conv_1x1v_c16_o32_s2": _conv(16, 14, 16, 32, 1, 1, stride=2),
    "conv_1x1v_c8_o70": _conv(5, 3, 8, 70, 1, 1),
    "conv_1x1v_g2_c16_o10_s2": _conv(7, 7, 16, 10, 1, 1, stride=2, groups=2),
    "conv_1x1v_g4_c16_o12_relu6": _conv(3, 5, 16, 12, 1, 1, act="RELU6", groups=4),
    "conv_1x1v_c4_o1_4x5": _conv(4, 5, 4, 1, 1, 1),  # one channel: no pair, the odd step only
    # Helium short 1x1 with two vectors per pixel (K = 17-32): full groups of 4 pixels, 1-3 pixel
    # tails, odd channel counts, strides, one pixel, groups of 20
    "conv_1x1w_c20_o40_5x7": _conv(5, 7, 20, 40, 1, 1),
    "conv_1x1w_c17_o5_3x3": _conv(3, 3, 17, 5, 1, 1),
    "conv_1x1w_c24_o13_s2_relu6": _conv(7, 9, 24, 13, 1, 1, stride=2, act="RELU6"),
    "conv_1x1w_c32_o1_1px": _conv(1, 1, 32, 1, 1, 1),
    "conv_1x1w_c20_o13_1px": _conv(1, 1, 20, 13, 1, 1),
    "conv_1x1w_c32_o40_s2": _conv(9, 11, 32, 40, 1, 1, stride=2),
    "conv_1x1w_c17_o40_2x3": _conv(2, 3, 17, 40, 1, 1),
    "conv_1x1w_c24_o5_4x4": _conv(4, 4, 24, 5, 1, 1),
    "conv_1x1w_g2_c20_o10_s2": _conv(7, 7, 40, 10, 1, 1, stride=2, groups=2),
})
# DSP first layers (ef_conv_first_s8: 3x3, 1-4 input channels, windows read in place, borders via a
# zero-point block): 4/5/8/16 outputs, stride 1 and 2, SAME/VALID, odd sizes, a
# single pixel, 1-, 2- and 4-channel inputs, fused RELU / RELU6, 20 outputs (two 16-entry tables)
OPMODEL_CASES.update({
    "conv_first_c3_o4_same": _conv(7, 9, 3, 4, 3, 3),
    "conv_first_c3_o5_s2_same_relu6": _conv(9, 8, 3, 5, 3, 3, stride=2, act="RELU6"),
    "conv_first_c3_o8_s2_valid": _conv(11, 7, 3, 8, 3, 3, stride=2, padding="VALID"),
    "conv_first_c3_o16_same_relu": _conv(6, 5, 3, 16, 3, 3, act="RELU"),
    "conv_first_c3_o8_1px": _conv(1, 1, 3, 8, 3, 3),
    "conv_first_c1_o5_s2": _conv(8, 7, 1, 5, 3, 3, stride=2),
    "conv_first_c2_o8_valid": _conv(5, 6, 2, 8, 3, 3, padding="VALID"),
    "conv_first_c4_o7_s2_relu": _conv(7, 7, 4, 7, 3, 3, stride=2, act="RELU"),
    "conv_first_c3_o20_s2_relu6": _conv(8, 9, 3, 20, 3, 3, stride=2, act="RELU6"),
})
# Helium first layers (ef_conv_first_s8's MVE body: blocks of 48 / 96 / 32 pixel columns at 3-4 / 1 /
# 2 channels, 4 pixels per step): several blocks with a partial last group (110, 195, 45 pixels),
# 1-4 channels, 5 / 13 / 64 outputs, stride 2 on SAME even and odd sizes, VALID, a 1-pixel output,
# RELU6 (the clamp pass), rows over 255 bytes (100 x 3)
OPMODEL_CASES.update({
    "conv_firstv_c3_o13_same": _conv(10, 11, 3, 13, 3, 3),
    "conv_firstv_c1_o8_same_relu6": _conv(13, 15, 1, 8, 3, 3, act="RELU6"),
    "conv_firstv_c2_o5_s2_same": _conv(10, 17, 2, 5, 3, 3, stride=2),
    "conv_firstv_c4_o16_s2_same_relu": _conv(9, 9, 4, 16, 3, 3, stride=2, act="RELU"),
    "conv_firstv_c3_o64_s2_valid": _conv(8, 100, 3, 64, 3, 3, stride=2, padding="VALID"),
    "conv_firstv_c4_o5_1px_valid": _conv(3, 3, 4, 5, 3, 3, padding="VALID"),
})
# 1-2 channel first layers on the generator's table (ef_conv_first_c12_s8, DSP: one pixel's window
# in registers, 4 channels per pass): 16 / 20 outputs and counts entering the first pass late (1, 3,
# 5, 6, 7), stride 1 and 2, SAME (padding on every side, uneven at stride 2: the top / bottom strips,
# the left / right blocks) and VALID, odd and tiny maps (the 1-channel word read past the window on
# the last row: width 3 and 4), a single output pixel, fused RELU / RELU6 (the clamp pass)
OPMODEL_CASES.update({
    "conv_first12_c1_o16_same_relu": _conv(9, 10, 1, 16, 3, 3, act="RELU"),
    "conv_first12_c1_o7_s2_same": _conv(11, 9, 1, 7, 3, 3, stride=2),
    "conv_first12_c1_o20_s2_same_relu6": _conv(10, 12, 1, 20, 3, 3, stride=2, act="RELU6"),
    "conv_first12_c1_o5_valid_relu6": _conv(6, 7, 1, 5, 3, 3, padding="VALID", act="RELU6"),
    "conv_first12_c1_o16_s2_valid": _conv(9, 8, 1, 16, 3, 3, stride=2, padding="VALID"),
    "conv_first12_c1_o3_w3_valid": _conv(5, 3, 1, 3, 3, 3, padding="VALID"),
    "conv_first12_c1_o6_w4_same": _conv(4, 4, 1, 6, 3, 3),
    "conv_first12_c1_o1_1px": _conv(1, 1, 1, 1, 3, 3),
    "conv_first12_c2_o16_same": _conv(7, 8, 2, 16, 3, 3),
    "conv_first12_c2_o7_s2_same_relu6": _conv(9, 9, 2, 7, 3, 3, stride=2, act="RELU6"),
    "conv_first12_c2_o5_valid": _conv(5, 6, 2, 5, 3, 3, padding="VALID"),
    "conv_first12_c2_o20_s2_valid_relu": _conv(8, 11, 2, 20, 3, 3, stride=2, padding="VALID", act="RELU"),
    "conv_first12_c2_o3_1px_valid": _conv(3, 3, 2, 3, 3, 3, padding="VALID"),
    "conv_first12_c2_o1_1px": _conv(1, 1, 2, 1, 3, 3),
})
# 1-channel first layers on Helium (ef_conv_first_c1_s8: 4 pixels gathered from a padded strip,
# every channel streamed past them; the conv_first12_c1 cases above run on it too): word stores
# (channels % 4 == 0) and byte stores (odd counts), partial last groups (widths 5, 7, 3) spilling
# into the next row or, on the last row, through the local block, two table chunks (40 channels),
# the widest strip (61 outputs: pitch 63), stride 1 and 2, SAME and VALID, RELU / RELU6 / none
OPMODEL_CASES.update({
    "conv_first1_c1_o16_w5_same_relu": _conv(6, 5, 1, 16, 3, 3, act="RELU"),
    "conv_first1_c1_o20_w7_s2_same_relu6": _conv(9, 13, 1, 20, 3, 3, stride=2, act="RELU6"),
    "conv_first1_c1_o3_w3_s2_valid": _conv(8, 7, 1, 3, 3, 3, stride=2, padding="VALID"),
    "conv_first1_c1_o40_w6_same": _conv(4, 6, 1, 40, 3, 3),
    "conv_first1_c1_o5_w61_same_relu6": _conv(3, 61, 1, 5, 3, 3, act="RELU6"),
})


def _dil(h: int, w: int, cin: int, cout: int, k: int | tuple[int, int], d: tuple[int, int], stride: int = 1,
         padding: str = "SAME", act: str = "NONE", groups: int = 1) -> OpSpec:
    kh, kw = (k, k) if isinstance(k, int) else k
    return OpSpec("CONV_2D", "conv", dict(h=h, w=w, cin=cin, cout=cout, kh=kh, kw=kw, stride=stride, padding=padding,
                                          act=act, groups=groups, dilation=d))


# Dilated CONV_2D on ef_conv_s8 with its real kh x kw taps (dilation in the parameters): DSP
# two-pixel engine (filter c % 4 == 0) with its lone last pixel, DSP flat columns (c 3/5/7) and the
# portable fallback (c 9: column > 64), Helium short columns (gathered with dilated offsets), rows
# mode (dilation along h only), flat columns copied per tap, grouped windows gathered per row;
# dilation 2 and 3, h != w, stride 2, SAME (padding on every side, uneven for an even window) and
# VALID, odd channel counts, a single output pixel
OPMODEL_CASES.update({
    "conv_dil_3x3_d2_c8_o6_same": _dil(11, 10, 8, 6, 3, (2, 2)),
    "conv_dil_3x3_d3_c16_o5_valid_relu": _dil(12, 13, 16, 5, 3, (3, 3), padding="VALID", act="RELU"),
    "conv_dil_3x3_d2x1_c16_o4_same": _dil(9, 8, 16, 4, 3, (2, 1)),
    "conv_dil_3x3_d1x3_c5_o3_same_relu6": _dil(8, 11, 5, 3, 3, (1, 3), act="RELU6"),
    "conv_dil_3x3_d2_c7_o3_s2_same_relu": _dil(11, 12, 7, 3, 3, (2, 2), stride=2, act="RELU"),
    "conv_dil_3x3_d3_c3_o5_s2_valid": _dil(13, 12, 3, 5, 3, (3, 3), stride=2, padding="VALID"),
    "conv_dil_3x3_d2_c4_o5_1px": _dil(5, 5, 4, 5, 3, (2, 2), padding="VALID"),
    "conv_dil_2x2_d3_c8_o5_same": _dil(7, 8, 8, 5, 2, (3, 3)),
    "conv_dil_3x2_d2x3_c12_o7_s2_same": _dil(10, 11, 12, 7, (3, 2), (2, 3), stride=2),
    "conv_dil_3x3_d2_c9_o4_same": _dil(8, 9, 9, 4, 3, (2, 2)),
    "conv_dil_g2_3x3_d2_c32_o10_same": _dil(8, 7, 32, 10, 3, (2, 2), groups=2),
    "conv_dil_g4_3x3_d3_c12_o8_same_relu": _dil(9, 9, 12, 8, 3, (3, 3), act="RELU", groups=4),
    "conv_dil_1x1_d2_c8_o5": _dil(6, 5, 8, 5, 1, (2, 2)),  # a 1x1's dilation changes nothing: the 1x1 kernels
})
# Grouped 1x1 convolutions: groups 2 / 4 / 8, odd group widths (input 5 / 7, output 3 / 5 / 9),
# group widths of 4 / 8 / 16, stride 2, a single pixel
OPMODEL_CASES.update({
    "conv_g1x1_g2_c14_o10": _conv(6, 7, 14, 10, 1, 1, groups=2),
    "conv_g1x1_g4_c20_o12_relu": _conv(5, 6, 20, 12, 1, 1, act="RELU", groups=4),
    "conv_g1x1_g8_c32_o24": _conv(6, 5, 32, 24, 1, 1, groups=8),
    "conv_g1x1_g4_c64_o36_s2_relu6": _conv(9, 8, 64, 36, 1, 1, stride=2, act="RELU6", groups=4),
    "conv_g1x1_g2_c16_o16_odd": _conv(5, 3, 16, 16, 1, 1, groups=2),
    "conv_g1x1_g8_c64_o64_1px": _conv(1, 1, 64, 64, 1, 1, groups=8),
    "conv_g1x1_g4_c48_o20_s2_valid": _conv(8, 8, 48, 20, 1, 1, stride=2, padding="VALID", groups=4),
})


def _dwd(h: int, w: int, c: int, mult: int, dilation: int | tuple[int, int], padding: str,
         act: str = "NONE") -> OpSpec:
    return OpSpec("DEPTHWISE_CONV_2D", "dw", dict(h=h, w=w, c=c, mult=mult, k=3, stride=1, padding=padding, act=act,
                                                  dilation=dilation))


# ef_depthwise_conv_3x3_mult_s8 (the DSP ring refilled per multiplier index; the generator's choice
# on M4/M7/M33, an alternative elsewhere: the Helium window or the portable loop): multiplier 8
# with odd channels, lines along the columns with stride 2, a single pixel, multiplier 3 with
# RELU6, a line too long for the ring (the portable loop)
# ef_depthwise_conv_3x3_dilated_s8: every output phase a 3x3 layer on its input sub-lattice
# (DSP ring / Helium window with >= 5 phase lines, else the portable loop): dilation 2 and 3,
# 2 x 3, SAME (padding on every side) and VALID, odd channels, a multiplier, phases along the
# columns, a single pixel, phases too short for the Helium window
OPMODEL_CASES.update({
    "dwr_3x3_m8_s1_same_relu_c3": _dw(9, 10, 3, 8, 3, 1, "SAME", "RELU"),
    "dwr_3x3_m2_s2_valid_c13_12x5": _dw(12, 5, 13, 2, 3, 2, "VALID"),
    "dwr_3x3_m4_s1_same_1px_c5": _dw(1, 1, 5, 4, 3, 1, "SAME"),
    "dwr_3x3_m3_s1_same_relu6_c5_7x9": _dw(7, 9, 5, 3, 3, 1, "SAME", "RELU6"),
    "dwr_3x3_m2_s1_valid_c2_4x60": _dw(4, 60, 2, 2, 3, 1, "VALID"),
    "dwd_3x3_d2_same_c13_14x12": _dwd(14, 12, 13, 1, 2, "SAME", "RELU"),
    "dwd_3x3_d3_same_c8_16x18": _dwd(16, 18, 8, 1, 3, "SAME"),
    "dwd_3x3_d3_valid_c5_20x17": _dwd(20, 17, 5, 1, 3, "VALID", "RELU6"),
    "dwd_3x3_d2x3_same_c7_13x17": _dwd(13, 17, 7, 1, (2, 3), "SAME"),
    "dwd_3x3_d3x2_valid_c4_17x11": _dwd(17, 11, 4, 1, (3, 2), "VALID"),
    "dwd_3x3_d2_m2_same_c5_12x12": _dwd(12, 12, 5, 2, 2, "SAME", "RELU"),
    "dwd_3x3_d2_valid_c16_30x16": _dwd(30, 16, 16, 1, 2, "VALID"),
    "dwd_3x3_d2_same_1px_c4": _dwd(1, 1, 4, 1, 2, "SAME"),
    "dwd_3x3_d2_same_c3_7x6": _dwd(7, 6, 3, 1, 2, "SAME"),
})


def _dwk(h: int, w: int, c: int, mult: int, kh: int, kw: int, stride: int, padding: str, act: str = "NONE") -> OpSpec:
    return OpSpec("DEPTHWISE_CONV_2D", "dw", dict(h=h, w=w, c=c, mult=mult, k=max(kh, kw), kh=kh, kw=kw, stride=stride,
                                                  padding=padding, act=act))


# ef_depthwise_conv_line_s8 (1 x k / k x 1, the DSP and Helium line bodies): k = 2..7 (even k: SAME
# padding 0 before, 1 after), stride 2 (DSP: aligned words only), odd channel counts and output
# lines not a multiple of 4, a narrower activation (the DSP clamp pass), a multiplier, a single
# pixel, a line too long for the DSP body (there the generic kernel; the Helium body has no limit)
OPMODEL_CASES.update({
    "dwl_1x3_s1_same_relu6_c13_6x30": _dwk(6, 30, 13, 1, 1, 3, 1, "SAME", "RELU6"),
    "dwl_3x1_s1_valid_c5_30x6": _dwk(30, 6, 5, 1, 3, 1, 1, "VALID"),
    "dwl_7x1_s1_same_c6_9x5": _dwk(9, 5, 6, 1, 7, 1, 1, "SAME", "RELU"),
    "dwl_1x7_s2_same_c3_5x17": _dwk(5, 17, 3, 1, 1, 7, 2, "SAME"),
    "dwl_1x5_s1_valid_c16_4x9": _dwk(4, 9, 16, 1, 1, 5, 1, "VALID"),
    "dwl_5x1_m2_s1_same_c5_8x6": _dwk(8, 6, 5, 2, 5, 1, 1, "SAME"),
    "dwl_3x1_m3_s2_valid_c4_11x7": _dwk(11, 7, 4, 3, 3, 1, 2, "VALID", "RELU"),
    "dwl_1x3_s1_same_1px_c9": _dwk(1, 1, 9, 1, 1, 3, 1, "SAME"),
    "dwl_1x2_s1_same_c4_5x7": _dwk(5, 7, 4, 1, 1, 2, 1, "SAME"),
    "dwl_4x1_s1_same_c3_7x5": _dwk(7, 5, 3, 1, 4, 1, 1, "SAME", "RELU6"),
    "dwl_6x1_s2_same_c7_13x4": _dwk(13, 4, 7, 1, 6, 1, 2, "SAME"),
    "dwl_1x3_s1_same_c2_3x140": _dwk(3, 140, 2, 1, 1, 3, 1, "SAME"),
    # the Helium body (lanes: 4 neighbouring lines, taps gathered from the input): full groups with
    # the store addressed from the input pointer, a partial last group, fewer than 4 lines, stride 2
    # along and across (separate pointers), a multiplier, a single output along, borders only
    "dwl_3x1_s1_same_relu_c32_9x8": _dwk(9, 8, 32, 1, 3, 1, 1, "SAME", "RELU"),
    "dwl_1x3_s1_same_c1_7x9": _dwk(7, 9, 1, 1, 1, 3, 1, "SAME"),
    "dwl_5x1_s2_same_relu6_c17_11x6": _dwk(11, 6, 17, 1, 5, 1, 2, "SAME", "RELU6"),
    "dwl_7x1_s1_valid_c4_13x5": _dwk(13, 5, 4, 1, 7, 1, 1, "VALID"),
    "dwl_2x1_s2_valid_c3_9x9": _dwk(9, 9, 3, 1, 2, 1, 2, "VALID", "RELU"),
    "dwl_1x5_s1_same_c8_3x13": _dwk(3, 13, 8, 1, 1, 5, 1, "SAME"),
    "dwl_1x7_s1_same_relu_c5_4x7": _dwk(4, 7, 5, 1, 1, 7, 1, "SAME", "RELU"),
    "dwl_3x1_s1_valid_1out_c17_3x4": _dwk(3, 4, 17, 1, 3, 1, 1, "VALID"),
    "dwl_1x3_m2_s1_same_c3_5x8": _dwk(5, 8, 3, 2, 1, 3, 1, "SAME", "RELU6"),
    # k = 4, 5 sliding taps (saturated, then the activation pass), a border run of 4 taps whose
    # line-group step equals the tap step (the sliding run at stride 2)
    "dwl_4x1_s1_same_relu6_c5_10x9": _dwk(10, 9, 5, 1, 4, 1, 1, "SAME", "RELU6"),
    "dwl_1x5_s1_same_relu_c32_5x12": _dwk(5, 12, 32, 1, 1, 5, 1, "SAME", "RELU"),
    "dwl_6x1_s2_same_relu6_c3_13x8": _dwk(13, 8, 3, 1, 6, 1, 2, "SAME", "RELU6"),
})


# --- two-tap shift layers (ef_shift2_s8) and their negative controls ---------------------------
def _build_shift_mix(
    p: dict[str, Any], rng: np.random.Generator
) -> tuple[Callable[..., Any], list[tuple[int, ...]]]:
    """Depthwise conv whose channel c has ``taps[c % len(taps)]`` non-zero positions (1.0 each
    unless ``scaled``: learned-like values of both signs and a bias)."""
    tf = _tf()
    k, c, counts = p["k"], p["c"], p["taps"]
    w = np.zeros((k * k, c), np.float32)
    for ch in range(c):
        n = counts[ch % len(counts)]
        pos = rng.choice(k * k, size=n, replace=False)
        w[pos, ch] = rng.uniform(0.4, 1.6, n) * rng.choice([-1, 1], n) if p["scaled"] else 1.0
    wt = tf.constant(w.reshape(k, k, c, 1))
    b = tf.constant(rng.normal(0, 0.2, c).astype(np.float32) if p["scaled"] else np.zeros(c, np.float32))
    s = p["stride"]

    def f(x: Any) -> Any:
        y = tf.nn.depthwise_conv2d(x, wt, strides=(1, s, s, 1), padding=p["padding"]) + b
        return _act(tf, y, p.get("act", "NONE"))

    return f, [(1, p["h"], p["w"], c)]


_BUILDERS["shift_mix"] = _build_shift_mix


def _mix(h: int, w: int, c: int, k: int, stride: int, padding: str, taps: tuple[int, ...], scaled: bool = True,
         act: str = "NONE") -> OpSpec:
    return OpSpec("DEPTHWISE_CONV_2D", "shift_mix", dict(h=h, w=w, c=c, k=k, stride=stride, padding=padding,
                                                         taps=taps, scaled=scaled, act=act))


# ef_shift2_s8: 0/1/2-tap channels mixed, odd channel counts (13, 9, 5) and full Helium vectors
# (16), stride 2, SAME (3x3: one pixel of padding on every side; 5x5: two) and VALID, fused
# RELU / RELU6, SAL2 with equal unit weights, single output pixels (VALID 5x5, SAME on a 1x1
# input); negative control: a channel with three taps stays a depthwise convolution
OPMODEL_CASES.update({
    "shift2_mix_3x3_s1_same_c13_relu": _mix(9, 8, 13, 3, 1, "SAME", (2, 1, 0, 2, 2), act="RELU"),
    "shift2_5x5_s2_same_c9": _mix(11, 10, 9, 5, 2, "SAME", (2,)),
    "shift2_5x5_s1_same_c16": _mix(8, 9, 16, 5, 1, "SAME", (2, 2, 2, 1)),
    "shift2_3x3_s1_valid_c6_relu6": _mix(7, 9, 6, 3, 1, "VALID", (2, 2, 1), act="RELU6"),
    "shift2_sal2_3x3_s2_valid_c16": _mix(10, 11, 16, 3, 2, "VALID", (2,), scaled=False),
    "shift2_5x5_valid_1px_c5": _mix(5, 5, 5, 5, 1, "VALID", (2, 2, 0, 1)),
    "shift2_3x3_same_1px_c7": _mix(1, 1, 7, 3, 1, "SAME", (2,)),
    "shift_3tap_3x3_s1_same_c7": _mix(7, 6, 7, 3, 1, "SAME", (2, 3, 1)),
})
