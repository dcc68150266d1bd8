"""Per-op kernel tests through the operator registry and the generated code.

Every case is a small int8 .tflite (the one-op models of ``tests/opmodels.py`` plus
:data:`EXTRA_CASES`, which reach kernel paths that catalogue does not). A case runs as the C
generator writes it (:func:`edgefact.export.codegen.generate_c`), once with the kernels the
registry chooses and once per alternative kernel a layer's entry allows
(:meth:`~edgefact.export.ops.base.OpDef.kernels`, forced with ``generate_c(kernels=...)``), so the
generic and the specialised kernels both run on every shape that reaches them. Nothing here
knows an operator: adding one means a registry entry, its kernel and a case in
``tests/opmodels.py``.

Generated files live under ``<GEN_ROOT>/<where>/<case><variant>/``: stable paths, so the object
cache and hostcheck's content-named binaries are reused from one session to the next; GEN_ROOT is
on /dev/shm where there is one, since ``generate_c`` rewrites (and fsyncs) every file each time.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from opmodels import OPMODEL_CASES, OpSpec, build_opmodel, check_opmodel, get_opmodel

from edgefact.export.codegen import DEFAULT_PREFIX, GeneratedModel, generate_c
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.ir import Graph
from edgefact.export.lowering import lower
from edgefact.export.ops import get_op
from edgefact.export.reference import run_litert_ref, run_tflm
from edgefact.export.tflite_model import TFLiteModel, load_tflite

if TYPE_CHECKING:
    from edgefact.targets import Target

ROOT = Path(__file__).resolve().parent.parent
DRIVER_DIR = Path(__file__).resolve().parent / "kernels_driver"
CACHE = ROOT / ".cache" / "kernels"


def _gen_root() -> Path:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm / f"edgefact-{os.getuid()}-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]}" / "kernels"
    return CACHE


GEN_ROOT = _gen_root()


def _conv(h: int, w: int, cin: int, cout: int, k: int, stride: int, padding: str, act: str, groups: int) -> OpSpec:
    return OpSpec("CONV_2D", "conv", dict(h=h, w=w, cin=cin, cout=cout, kh=k, kw=k, stride=stride, padding=padding,
                                          act=act, groups=groups))


def _dw(h: int, w: int, c: int, stride: int, padding: str, act: str, mult: int = 1) -> OpSpec:
    return OpSpec("DEPTHWISE_CONV_2D", "dw", dict(h=h, w=w, c=c, mult=mult, k=3, stride=stride, padding=padding,
                                                  act=act))


def _dwd(h: int, w: int, c: int, dilation: int | tuple[int, int], padding: str, act: str) -> OpSpec:
    return OpSpec("DEPTHWISE_CONV_2D", "dw", dict(h=h, w=w, c=c, mult=1, k=3, stride=1, padding=padding, act=act,
                                                  dilation=dilation))


def _hw(top: int, bottom: int, left: int, right: int) -> tuple[tuple[int, int], ...]:
    return ((0, 0), (top, bottom), (left, right), (0, 0))


def _pad_then(shape: tuple[int, ...], then: str, **kw: Any) -> OpSpec:
    op = "DEPTHWISE_CONV_2D" if then == "dw" else "CONV_2D"
    ops = ("PAD", op, "MAX_POOL_2D", "CONCATENATION") if kw.get("second_reader") else ("PAD", op)
    return OpSpec(ops[-1], "block", dict(block="pad_then", shape=shape, then=then, **kw), expected_ops=ops)


#: One-op models for kernel paths the shared catalogue does not reach.
EXTRA_CASES: dict[str, OpSpec] = {
    # filter depth a multiple of 4 with odd output channel counts: the SMLAD column path, the
    # 4-channel 1x1 path and their tails (tests/opmodels.py has even counts / odd depths there)
    "xconv_3x3_c8_o5_same": _conv(7, 7, 8, 5, 3, 1, "SAME", "NONE", 1),
    # ungrouped windows of <= 48 bytes a row gathered on Helium (gather_run_in inside, gather_window
    # on the borders): stride 2 with an odd channel count, a 5x5 window's two border columns, 12
    # channels a tap
    "xconv_3x3_c8_o17_s2_relu": _conv(9, 11, 8, 17, 3, 2, "SAME", "RELU", 1),
    "xconv_5x5_c8_o12_same": _conv(8, 9, 8, 12, 5, 1, "SAME", "NONE", 1),
    "xconv_3x3_c12_o24_relu6": _conv(6, 7, 12, 24, 3, 1, "SAME", "RELU6", 1),
    "xconv_g2_3x3_c16_o6_s2_relu": _conv(9, 8, 16, 6, 3, 2, "SAME", "RELU", 2),
    "xconv_5x5_c4_o3_valid_relu6": _conv(9, 9, 4, 3, 5, 1, "VALID", "RELU6", 1),
    "xconv_g4_3x3_c16_o4_valid": _conv(6, 7, 16, 4, 3, 1, "VALID", "NONE", 4),
    # two output pixels per pass (DSP): pairs straddling rows (odd width, even count), exact channel
    # pairs, and a single output pixel (only the odd-pixel tail)
    "xconv_3x3_c4_o2_w5_relu": _conv(6, 5, 4, 2, 3, 1, "SAME", "RELU", 1),
    "xconv_3x3_c12_o3_1px_valid": _conv(3, 3, 12, 3, 3, 1, "VALID", "NONE", 1),
    # depth not a multiple of 4 but the flattened column is (the flat DSP column with no C tail)
    # (>= 12 output channels: EF_CONV_FLAT_MIN_CHANNELS), and a ResNet-style 3-channel first layer
    "xconv_4x4_c1_o13_s2": _conv(9, 6, 1, 13, 4, 2, "SAME", "NONE", 1),
    "xconv_3x3_c3_o16_relu": _conv(7, 7, 3, 16, 3, 1, "SAME", "RELU", 1),
    # 1x1 with depth % 4 == 0: four output channels per pass, then the pair and single tails
    "xconv_1x1_c8_o7": _conv(5, 6, 8, 7, 1, 1, "SAME", "NONE", 1),
    # grouped 1x1 on ef_conv_1x1_2x2_s8 (DSP) with 32 per group and an odd count per group (the
    # conv_g1x1_* op-model cases cover 8, 12 and 16 per group)
    "xconv_g2_1x1_c64_o10_relu6": _conv(5, 7, 64, 10, 1, 1, "VALID", "RELU6", 2),
    "xconv_1x1_c16_o6_s2_relu": _conv(7, 7, 16, 6, 1, 2, "VALID", "RELU", 1),
    # 1x1 through the 2-pixel engine (depth <= 512, stack columns): odd pixel and channel counts;
    # depth 516 keeps the portable loop straight from the input
    "xconv_1x1_c12_o5_odd_relu6": _conv(5, 3, 12, 5, 1, 1, "VALID", "RELU6", 1),
    "xconv_1x1_c68_o6": _conv(3, 3, 68, 6, 1, 1, "SAME", "NONE", 1),
    "xconv_1x1_c128_o9_s2_relu6": _conv(5, 7, 128, 9, 1, 2, "VALID", "RELU6", 1),
    "xconv_1x1_c512_o4_1px": _conv(1, 1, 512, 4, 1, 1, "VALID", "NONE", 1),
    "xconv_1x1_c516_o3": _conv(2, 3, 516, 3, 1, 1, "VALID", "RELU", 1),
    # the DSP 1x1 against a widened-filter table (ef_conv_1x1_2x2_s8: depth % 4 == 0, <= 64): few
    # outputs, odd outputs (the C tail), one output (no pair), one pixel, odd pixel counts, stride 2,
    # several table chunks (64 deep: 8 pairs each); 17 / 33 deep take ef_conv_1x1_s8's portable loop
    "xconv_1x1_c32_o8_relu6": _conv(6, 5, 32, 8, 1, 1, "VALID", "RELU6", 1),
    "xconv_1x1_c48_o12_s2": _conv(9, 9, 48, 12, 1, 2, "VALID", "NONE", 1),
    "xconv_1x1_c40_o13_relu": _conv(5, 7, 40, 13, 1, 1, "SAME", "RELU", 1),
    "xconv_1x1_c64_o3_1px": _conv(1, 1, 64, 3, 1, 1, "VALID", "NONE", 1),
    # 49-64-byte pointwise columns (the Helium pair engine's, kept there: a one-pixel short-column
    # pass measured 6 % slower on KWS's 64 -> 64 layers): tail lanes, odd channels, a group's slice
    "xconv_1x1_c49_o5_3px": _conv(1, 3, 49, 5, 1, 1, "VALID", "NONE", 1),
    "xconv_1x1_c56_o19_relu": _conv(5, 7, 56, 19, 1, 1, "VALID", "RELU", 1),
    "xconv_1x1_g2_c128_o22_relu6": _conv(3, 5, 128, 22, 1, 1, "VALID", "RELU6", 2),
    "xconv_1x1_c20_o1": _conv(3, 5, 20, 1, 1, 1, "VALID", "NONE", 1),
    "xconv_1x1_c64_o37_s2_relu6": _conv(7, 6, 64, 37, 1, 2, "SAME", "RELU6", 1),
    "xconv_1x1_c17_o12": _conv(4, 5, 17, 12, 1, 1, "VALID", "NONE", 1),
    # windows on ef_conv_2x2_s8 (DSP: depth kh*kw*c <= 288, c % 4 == 0): a 3x1 of the spatially
    # separable cnn's shape (10 pairs, one table chunk), a grouped 1x3 at stride 2 with an odd count
    # per group (the C channel); conv_3x3_c16_o37_same (tests/opmodels.py) takes two chunks
    "xconv_3x1_c16_o20_same_relu6": OpSpec("CONV_2D", "conv", dict(h=7, w=5, cin=16, cout=20, kh=3, kw=1, stride=1,
                                                                   padding="SAME", act="RELU6", groups=1)),
    "xconv_g2_1x3_c16_o10_s2": OpSpec("CONV_2D", "conv", dict(h=5, w=9, cin=16, cout=10, kh=1, kw=3, stride=2,
                                                              padding="SAME", act="NONE", groups=2)),
    # a 160-deep window (5x1 / 1x5 over 32 channels), and the deepest it takes (288: the whole
    # unrolled loop, no group skipped; the dense 3x3 over 32 channels)
    "xconv_3x3_c32_o6_same": _conv(4, 4, 32, 6, 3, 1, "SAME", "NONE", 1),
    "xconv_1x5_c32_o6_same": OpSpec("CONV_2D", "conv", dict(h=4, w=7, cin=32, cout=6, kh=1, kw=5, stride=1,
                                                            padding="SAME", act="NONE", groups=1)),
    # ef_conv_2x2_dilated_s8 at the full depth (288 real taps' values), an odd pixel count (the last
    # pixel as its own pair) and an odd output count; opmodels' conv_dil_* cases reach the rest
    "xconv_dil_3x3_d2_c32_o9_same_relu": OpSpec("CONV_2D", "conv", dict(h=5, w=7, cin=32, cout=9, kh=3, kw=3, stride=1,
                                                                        padding="SAME", act="RELU", groups=1,
                                                                        dilation=2)),

    "xconv_1x1_c33_o8_s2_relu6": _conv(7, 7, 33, 8, 1, 2, "VALID", "RELU6", 1),
    # the Helium short 1x1 (4 pixels x 4 channels per step, 16 bytes of each pixel at a time): K = 24
    # (two chunks, a partial quad, a run's last pixels again), 40 at stride 2 over 64 channels (three
    # chunks, runs of 5), 7 (a predicated chunk), 3 pixels (pixel by pixel), two groups of 24 at
    # stride 2 (5 per group), wide outputs (> 84 channels: through the stack block) with chunks of
    # 29 / 43 channels, 80 channels (chunks of 16: 8-bit store offsets)
    "xconv_1x1_c24_o13_relu": _conv(3, 5, 24, 13, 1, 1, "VALID", "RELU", 1),
    "xconv_1x1_c40_o64_s2": _conv(3, 9, 40, 64, 1, 2, "VALID", "NONE", 1),
    "xconv_1x1_c7_o10_relu6": _conv(3, 5, 7, 10, 1, 1, "VALID", "RELU6", 1),
    "xconv_1x1_c24_o6_3px": _conv(1, 3, 24, 6, 1, 1, "VALID", "NONE", 1),
    "xconv_g2_1x1_c48_o10_s2": _conv(3, 9, 48, 10, 1, 2, "VALID", "NONE", 2),
    "xconv_1x1_c24_o93": _conv(3, 5, 24, 93, 1, 1, "VALID", "NONE", 1),
    "xconv_1x1_c16_o87_s2_relu": _conv(3, 9, 16, 87, 1, 2, "VALID", "RELU", 1),
    "xconv_1x1_c16_o80": _conv(3, 3, 16, 80, 1, 1, "VALID", "NONE", 1),
    # Helium short columns (<= 48 bytes) whose window rows lie too far apart for 8-bit gather
    # offsets (a 3x1 filter over 16 / 32 channels): interior windows as row copies, borders and
    # grouped windows by the column fill; an odd channel count, stride 2, two groups
    "xconv_3x1_c16_o13_same_relu": OpSpec("CONV_2D", "conv", dict(h=7, w=9, cin=16, cout=13, kh=3, kw=1, stride=1,
                                                                  padding="SAME", act="RELU", groups=1)),
    "xconv_g2_3x1_c32_o16_s2_same": OpSpec("CONV_2D", "conv", dict(h=8, w=9, cin=32, cout=16, kh=3, kw=1, stride=2,
                                                                   padding="SAME", act="NONE", groups=2)),
    # 3x3 depthwise with channels a multiple of 4: the SMLABB/SMLATT 4-channel path (interior and
    # border taps); tests/opmodels.py's 3x3 multiplier-1 cases have 5 and 6 channels
    "xdw_3x3_c8_s1_same": _dw(7, 5, 8, 1, "SAME", "NONE"),
    "xdw_3x3_c16_s2_same_relu6": _dw(9, 6, 16, 2, "SAME", "RELU6"),
    "xdw_3x3_c4_s2_valid_relu": _dw(8, 9, 4, 2, "VALID", "RELU"),
    # MVE: 8 channels as int16 lanes, then a predicated 4-lane tail (13 = 8 + 4 + 1)
    "xdw_3x3_c13_s1_same_relu": _dw(5, 6, 13, 1, "SAME", "RELU"),
    # DSP ring path: one pixel (padding on every side), lines along columns (out h > out w) with
    # stride 2 and an odd channel count, pad after only (SAME, even size), no padding, and rows
    # wider than the ring (the fallback loops, C % 4 == 0 and odd)
    "xdw_3x3_c7_1px_same": _dw(1, 1, 7, 1, "SAME", "NONE"),
    "xdw_3x3_c3_s2_same_tall": _dw(13, 3, 3, 2, "SAME", "NONE"),
    "xdw_3x3_c5_s2_same_even": _dw(6, 8, 5, 2, "SAME", "RELU"),
    "xdw_3x3_c2_s1_valid_tall": _dw(9, 4, 2, 1, "VALID", "NONE"),
    "xdw_3x3_c8_s1_same_wide": _dw(3, 66, 8, 1, "SAME", "NONE"),
    "xdw_3x3_c3_s2_same_wide": _dw(2, 121, 3, 2, "SAME", "NONE"),
    # ef_depthwise_conv_3x3_dot_s8 (Helium: one gathered 9-tap VMLADAV per output, four per step):
    # small maps at stride 1 / 2 (a table step overlapping the previous: 49, 9 + 3 outputs), exactly
    # 4 outputs (2x2, 3x3 at stride 2), fewer than 8 pixels per window row (predicated gathers), wide
    # rows (overlapping gathers), several strips (48 wide: 10 rows; stride 2: 6 rows, the window's
    # padding rows refilled), VALID, PyTorch's padding 1 at stride 2 (a folded PAD) below
    "xdw_dot_c16_7x7_s1_same": _dw(7, 7, 16, 1, "SAME", "NONE"),
    "xdw_dot_c40_14x14_s2_same_relu": _dw(14, 14, 40, 2, "SAME", "RELU"),
    "xdw_dot_c48_7x7_s1_same_relu6": _dw(7, 7, 48, 1, "SAME", "RELU6"),
    "xdw_dot_c8_12x12_s2_valid": _dw(12, 12, 8, 2, "VALID", "NONE"),
    "xdw_dot_c2_4x4_s1_same_relu": _dw(4, 4, 2, 1, "SAME", "RELU"),
    "xdw_dot_c8_2x2_s1_same": _dw(2, 2, 8, 1, "SAME", "NONE"),
    "xdw_dot_c16_3x3_s2_same_relu6": _dw(3, 3, 16, 2, "SAME", "RELU6"),
    "xdw_dot_c4_48x48_s1_same": _dw(48, 48, 4, 1, "SAME", "NONE"),
    "xdw_dot_c2_60x59_s2_same_relu": _dw(60, 59, 2, 2, "SAME", "RELU"),
    "xdw_dot_c17_7x7_s2_same": _dw(7, 7, 17, 2, "SAME", "NONE"),  # odd: the 3x3 kernel's window
    # the dot kernel with a depth multiplier: one channel pair's window for its 2 M output channels
    # (M 2 / 3 / 4, stride 1 and 2, the 4-output minimum, two strips at 60 wide; small maps: the
    # harness firmware's 4 MB flash holds every case's inputs)
    "xdw_dot_m2_c8_6x5_s1_same_relu": _dw(6, 5, 8, 1, "SAME", "RELU", mult=2),
    "xdw_dot_m4_c4_7x7_s2_same": _dw(7, 7, 4, 2, "SAME", "NONE", mult=4),
    "xdw_dot_m3_c2_4x4_s1_valid_relu6": _dw(4, 4, 2, 1, "VALID", "RELU6", mult=3),
    "xdw_dot_m2_c2_10x60_s1_same": _dw(10, 60, 2, 1, "SAME", "NONE", mult=2),
    # window rows of 17-56 pixels: 2..6 gathers 8 apart and the last 8 (dot_fill's unrolled rows)
    "xdw_dot_c10_6x24_s1_same": _dw(6, 24, 10, 1, "SAME", "NONE"),
    "xdw_dot_c6_9x32_valid_relu6": _dw(9, 32, 6, 1, "VALID", "RELU6"),
    "xdw_dot_c8_12x40_s2_same": _dw(12, 40, 8, 2, "SAME", "NONE"),
    "xdw_dot_c2_9x56_same": _dw(9, 56, 2, 1, "SAME", "NONE"),
    # ef_depthwise_conv_3x3_px_s8 (4-channel groups, window shapes 3x3 / 2x3 / 3x2 / 2x2, the scalar
    # loop for 1-wide windows and channel tails): stride 2 with PyTorch's padding 1, SAME on odd and
    # even sizes (padding after only), VALID, 1-wide and 1x1 / 2x2 maps, 12 and 4 channels
    "xdwp_c12_s2_p1": _pad_then((1, 6, 6, 12), "dw", pads=_hw(1, 1, 1, 1), k=(3, 3), stride=2),
    "xdwp_c8_s2_same_odd_relu6": _dw(5, 7, 8, 2, "SAME", "RELU6"),
    "xdwp_c4_s2_same_even": _dw(8, 6, 4, 2, "SAME", "NONE"),
    "xdwp_c8_s2_valid_relu": _dw(7, 6, 8, 2, "VALID", "RELU"),
    "xdwp_c8_7x7_relu6": _dw(7, 7, 8, 1, "SAME", "RELU6"),
    "xdwp_c4_9x9_relu": _dw(9, 9, 4, 1, "SAME", "RELU"),
    "xdwp_c4_s1_valid": _dw(6, 5, 4, 1, "VALID", "NONE"),
    "xdwp_c4_1x5": _dw(1, 5, 4, 1, "SAME", "NONE"),
    "xdwp_c8_1x1_relu": _dw(1, 1, 8, 1, "SAME", "RELU"),
    "xdwp_c4_2x2": _dw(2, 2, 4, 1, "SAME", "NONE"),
    "xdwp_c8_2x2_s2": _dw(2, 2, 8, 2, "SAME", "RELU6"),
    # its multiplier groups (ch_mult a multiple of 4: 4 output channels of one input, LDRSB taps):
    # the dictionary factorization's 7x7 shape, odd input channels, VALID, stride 2 on odd / even
    # sizes, a 1-wide map (the scalar loop) and a narrower activation (the clamp pass)
    "xdwp_m4_c8_7x7_same": _dw(7, 7, 8, 1, "SAME", "NONE", mult=4),
    "xdwp_m8_c3_6x5_valid_relu6": _dw(6, 5, 3, 1, "VALID", "RELU6", mult=8),
    "xdwp_m4_c5_9x8_s2_same_relu": _dw(9, 8, 5, 2, "SAME", "RELU", mult=4),
    "xdwp_m4_c2_1x5": _dw(1, 5, 2, 1, "SAME", "NONE", mult=4),
    # ef_depthwise_conv_3x3_px_mult_any_s8 (any multiplier >= 2: a group reads one input or two split
    # 3 + 1, 2 + 2, 1 + 3): multiplier 3 on the cnn dictionary's 14x14x16 and with every split and
    # a channel tail, 2 at stride 2 (2 + 2 only), 5 (one-input groups among the splits) VALID, 6
    # with a narrower activation, a 1-wide map (the scalar loop)
    "xdwp_m3_c16_14x14_same": _dw(14, 14, 16, 1, "SAME", "NONE", mult=3),
    "xdwp_m3_c6_7x7_same_relu": _dw(7, 7, 6, 1, "SAME", "RELU", mult=3),
    "xdwp_m2_c5_8x7_s2_same_relu6": _dw(8, 7, 5, 2, "SAME", "RELU6", mult=2),
    "xdwp_m5_c4_6x6_valid": _dw(6, 6, 4, 1, "VALID", "NONE", mult=5),
    "xdwp_m6_c3_5x9_same_relu6": _dw(5, 9, 3, 1, "SAME", "RELU6", mult=6),
    "xdwp_m3_c2_1x5": _dw(1, 5, 2, 1, "SAME", "NONE", mult=3),
    # ef_depthwise_conv_3x3_px_dilated_s8 (each phase of a dilated 3x3 through the pixel plan, on its
    # input lattice): phases of unequal sizes (15 x 13 at dilation 2), dilation 4 with 2- and 3-pixel
    # phases, 2 x 3 VALID, a map smaller than the dilation in one axis (1-pixel phases: the scalar
    # loop) with a channel tail, a narrower activation (the clamp pass)
    "xdwpd_c8_d2_15x13_same_relu": _dwd(15, 13, 8, 2, "SAME", "RELU"),
    "xdwpd_c12_d4_11x9_same": _dwd(11, 9, 12, 4, "SAME", "NONE"),
    "xdwpd_c4_d2x3_9x14_valid_relu6": _dwd(9, 14, 4, (2, 3), "VALID", "RELU6"),
    "xdwpd_c6_d3_2x7_same": _dwd(2, 7, 6, 3, "SAME", "NONE"),
    # ef_depthwise_conv_3x3_dot_dilated_s8 (Helium: the dot kernel on a window stored residue by
    # residue; the cases above too where the channels are even): strips of output rows, the last
    # shorter (40 x 30 at dilation 2: 3 strips; 36 x 20 at dilation 3: 2)
    "xdwdd_c2_d2_40x30_same_relu": _dwd(40, 30, 2, 2, "SAME", "RELU"),
    "xdwdd_c4_d3_36x20_same": _dwd(36, 20, 4, 3, "SAME", "NONE"),
    # an explicit zero-point PAD folded into the convolution reading it (edgefact/export/pad_fold.py):
    # PyTorch's padding=1 at stride 2 (a 1- and a 3-channel first layer, a depthwise), asymmetric
    # amounts, a PAD in front of a SAME convolution, a 5x5 filter; and PADs that must stay (amounts
    # the kernels do not take, a padded tensor read twice)
    **{f"xpad_{name}": _pad_then(shape, then, **kw) for name, (shape, then, kw) in {
        "conv3x3_c1_s2": ((1, 12, 12, 1), "conv", dict(pads=_hw(1, 1, 1, 1), k=(3, 3), stride=2, cout=8)),
        "conv3x3_c3_s2": ((1, 10, 9, 3), "conv", dict(pads=_hw(1, 1, 1, 1), k=(3, 3), stride=2, cout=16)),
        "dw3x3_c13_s2": ((1, 9, 10, 13), "dw", dict(pads=_hw(1, 1, 1, 1), k=(3, 3), stride=2)),
        "dw3x3_c8_asym": ((1, 7, 8, 8), "dw", dict(pads=_hw(0, 1, 1, 0), k=(3, 3), stride=1)),
        "dw3x3_c16_s2_p1": ((1, 14, 14, 16), "dw", dict(pads=_hw(1, 1, 1, 1), k=(3, 3), stride=2)),
        "dw3x3_c40_s2_tl": ((1, 13, 12, 40), "dw", dict(pads=_hw(1, 0, 1, 0), k=(3, 3), stride=2)),
        "conv3x3_c8_same": ((1, 6, 7, 8), "conv", dict(pads=_hw(1, 0, 0, 1), k=(3, 3), padding="SAME", cout=6)),
        "conv5x5_c4_s1": ((1, 8, 8, 4), "conv", dict(pads=_hw(2, 2, 2, 1), k=(5, 5), cout=7)),
        "kept_too_much": ((1, 6, 6, 4), "conv", dict(pads=_hw(3, 3, 3, 3), k=(3, 3), cout=4)),
        "kept_two_readers": ((1, 8, 8, 4), "conv", dict(pads=_hw(1, 1, 1, 1), k=(3, 3), stride=2, cout=4,
                                                        second_reader=True)),
    }.items()},
}

#: Every per-op case: the catalogue's, then the extra ones.
CASES: tuple[str, ...] = (*sorted(OPMODEL_CASES), *EXTRA_CASES)


def case_spec(case: str) -> OpSpec:
    return OPMODEL_CASES[case] if case in OPMODEL_CASES else EXTRA_CASES[case]


def case_model(case: str) -> bytes:
    """The .tflite of a case (built, checked and cached on first use)."""
    if case in OPMODEL_CASES:
        return get_opmodel(case)
    from importlib.metadata import version

    from edgefact.fsutil import atomic_write_bytes

    spec = EXTRA_CASES[case]
    key = hashlib.sha256(f"1|{version('tensorflow')}|{case}|{sorted(spec.params.items())}".encode())
    path = ROOT / ".cache" / "kernels_models" / f"{case}-{key.hexdigest()[:16]}.tflite"
    if path.is_file():
        return path.read_bytes()
    model = build_opmodel(case, spec)
    check_opmodel(case, spec, model)
    atomic_write_bytes(path, model)
    return model


def reference(case: str) -> Callable[..., list[np.ndarray]]:
    """The interpreter a case must equal: TFLM, or LiteRT's reference where the spec says so."""
    return run_litert_ref if getattr(case_spec(case), "reference", "tflm") == "litert" else run_tflm


@dataclass(frozen=True)
class Variant:
    """A case run with some layers forced onto an alternative kernel (none: the chosen ones)."""

    kernels: tuple[tuple[int, str], ...] = ()

    @property
    def label(self) -> str:
        """"" for the chosen kernels, else ``@<op index>=<kernel>`` per forced layer."""
        return "".join(f"@{i}={k}" for i, k in self.kernels)

    @property
    def forced(self) -> dict[int, str]:
        return dict(self.kernels)


def alternatives(graph: Graph) -> list[Variant]:
    """One variant per alternative kernel of each layer of ``graph`` (lowered with the chosen
    kernels), from the layer's registry entry."""
    out = []
    for layer in graph.layers:
        entry = get_op(layer.op)
        assert entry is not None, layer.op
        out += [Variant(((layer.index, k),)) for k in entry.kernels(layer)[1:]]
    return out


def kernel_variants(model: bytes, target: Target | None = None) -> list[Variant]:
    """The chosen kernels, then every alternative (:func:`alternatives`)."""
    return [Variant(), *alternatives(lower(load_tflite(model), target))]


def uniform_variants(model: bytes, target: Target | None = None) -> list[Variant]:
    """Variant r runs every layer on alternative r of its entry (the last one where it has fewer):
    few builds that still put every kernel of a whole model to work."""
    graph = lower(load_tflite(model), target)
    options = []
    for layer in graph.layers:
        entry = get_op(layer.op)
        assert entry is not None, layer.op
        options.append((layer.index, entry.kernels(layer)))
    depth = max((len(ks) for _, ks in options), default=1)
    return [Variant(tuple((i, ks[min(r, len(ks) - 1)]) for i, ks in options if len(ks) > 1) if r else ())
            for r in range(depth)]


def gen_dir(where: str, case: str, variant: Variant) -> Path:
    """A stable folder per (place, case, variant), named after them (a long name, e.g. a whole
    model's layers forced onto one kernel, cut with a digest of the rest: file names stop at 255)."""
    name = re.sub(r"[^A-Za-z0-9_.@=-]", "_", case + variant.label)
    if len(name) > 160:
        name = name[:120] + "-" + hashlib.sha256(name.encode()).hexdigest()[:16]
    return GEN_ROOT / where / name


def generate(model: bytes | TFLiteModel, out_dir: Path, variant: Variant, target: Target | None = None,
             prefix: str = DEFAULT_PREFIX, profile_base: int = 0) -> GeneratedModel:
    """``generate_c`` of ``model`` (bytes, or loaded once for several variants) with ``variant``'s
    kernels forced."""
    return generate_c(model, out_dir, target=target, model_name=out_dir.name, prefix=prefix,
                      profile_base=profile_base, kernels=variant.forced or None)


def run_on_host(gen: GeneratedModel, xs: list[np.ndarray]) -> list[np.ndarray]:
    """One (N, ...) array per model output, from the generated code compiled for the host."""
    got = run_host_batch(gen, xs if len(xs) > 1 else xs[0])
    return got if isinstance(got, list) else [got]


def differences(what: str, ref: list[np.ndarray], got: list[np.ndarray]) -> list[str]:
    """One message per output of ``got`` that is not bit-identical to ``ref`` (floats by their bits)."""
    if len(ref) != len(got):
        return [f"{what}: {len(got)} outputs, the reference has {len(ref)}"]
    out = []
    for r, g in zip(ref, got, strict=True):
        g = np.asarray(g).reshape(r.shape)
        if g.dtype != r.dtype:
            out.append(f"{what}: output dtype {g.dtype}, the reference's is {r.dtype}")
            continue
        if r.dtype.kind == "f":
            bad = np.flatnonzero(r.reshape(-1).view(np.int32) != g.reshape(-1).view(np.int32))
        else:
            bad = np.flatnonzero(r.reshape(-1) != g.reshape(-1))
        if bad.size:
            i = int(bad[0])
            out.append(f"{what}: {bad.size}/{r.size} outputs differ from the reference; first at flat index "
                       f"{i}: expected {r.reshape(-1)[i]}, got {g.reshape(-1)[i]}")
    return out
