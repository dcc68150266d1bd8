"""The generator's precondition for the 3x3 depthwise kernel with a depth multiplier (its Helium
window path) matches the kernel's: a line step whose 16-bit gather offsets cannot overflow."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from edgefact.export.ops.base import Dims
from edgefact.export.ops.conv import DW_MULT_MAX_STEP, ConvArgs, DwConvParams, _dw3x3_mult_applies

SRC = Path(__file__).resolve().parent.parent / "edgefact" / "firmware" / "kernels" / "src" / "ef_depthwise_conv_3x3_s8.c"


def _define(name: str) -> str:
    m = re.search(rf"#define {name} (.+?)(?:/\*|$)", SRC.read_text(), re.M)
    assert m, name
    return m.group(1).strip()


def test_step_limit_is_the_kernels() -> None:
    seg, seg2 = int(_define("DW_SEG").split()[0]), int(_define("DW_SEG2").split()[0])
    reach = max(seg + 2, 2 * seg2 + 1) - 1  # a segment's window entries span this many line steps
    assert _define("DW_MULT_MAX_STEP") == f"(65535 / {reach})"
    assert reach * DW_MULT_MAX_STEP <= 65535 < reach * (DW_MULT_MAX_STEP + 1)  # every offset fits 16 bits


def _args(w: int, c: int, mult: int = 2) -> ConvArgs:
    p = DwConvParams(0, 0, mult, (1, 1), (1, 1), (1, 1), (-128, 127))
    return ConvArgs(p, Dims(1, 8, w, c), Dims(1, 3, 3, c * mult), Dims(1, 8, w, c * mult), 1, (1, 1))


def test_selection_stops_at_the_limit() -> None:
    shifts = -np.ones(1, np.int32)
    assert _dw3x3_mult_applies(_args(9, DW_MULT_MAX_STEP), shifts)  # wide layer: the step is the channels
    assert not _dw3x3_mult_applies(_args(9, DW_MULT_MAX_STEP + 1), shifts)
    assert not _dw3x3_mult_applies(_args(9, 16), np.zeros(1, np.int32))  # a left shift: not this path


def test_dot_kernel_takes_a_depth_multiplier_on_helium() -> None:
    """The 9-tap dot kernel serves a channel pair's 2 M output channels from one window (its
    multiplier entry, ef_depthwise_conv_3x3_dot_mult_s8): the generator's choice on Cortex-M55 for a 3x3 depthwise layer with a multiplier where dot_ok holds
    (an even input channel count, every shift a right shift), with the DSP multiplier kernel (its
    build on the other cores) among the alternatives; the DSP cores keep that kernel where its ring
    fits (56 entries a line), else the generic one."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from kernels_harness import case_model

    from edgefact.export.lowering import lower
    from edgefact.export.ops import get_op
    from edgefact.export.ops.conv import DOT, DOT_MULT, MULT, PX_MULT, PX_MULT_ANY, _dw3x3_dot_applies
    from edgefact.export.tflite_model import load_tflite
    from edgefact.targets import get_target

    right = -np.ones(32, np.int32)
    assert _dw3x3_dot_applies(_args(9, 16, mult=2), right)
    assert not _dw3x3_dot_applies(_args(9, 15, mult=2), right)  # odd input channels: no channel pairs
    assert not _dw3x3_dot_applies(_args(9, 16, mult=2), np.zeros(32, np.int32))
    assert not _dw3x3_dot_applies(_args(61, 16, mult=2), right)  # 62 window columns at most
    for case in ("xdw_dot_m2_c8_6x5_s1_same_relu", "xdw_dot_m4_c4_7x7_s2_same", "xdw_dot_m3_c2_4x4_s1_valid_relu6",
                 "xdw_dot_m2_c2_10x60_s1_same"):
        model = load_tflite(case_model(case))
        m55 = lower(model, target=get_target("cortex-m55")).layers[0]
        assert np.all(m55.consts["shift"] < 0) and m55.kernel == DOT_MULT, (case, m55.kernel)
        assert {DOT_MULT, MULT} <= set(get_op("DEPTHWISE_CONV_2D").kernels(m55))
        assert DOT not in get_op("DEPTHWISE_CONV_2D").kernels(m55)  # the multiplier-1 entry refuses it
        m4 = lower(model, target=get_target("cortex-m4")).layers[0]
        assert DOT_MULT in get_op("DEPTHWISE_CONV_2D").kernels(m4)  # an alternative (the DSP build: MULT's body)
        assert m4.kernel == (PX_MULT if m4.args.params.ch_mult % 4 == 0 else PX_MULT_ANY), (case, m4.kernel)


def test_a_multiplier_of_4_takes_the_pixel_kernel_on_the_dsp_cores() -> None:
    """ch_mult 4 / 8: ef_depthwise_conv_3x3_px_mult_s8 (4 outputs of one input per group, paired
    taps) on M4/M7/M33, the ring of ef_depthwise_conv_3x3_mult_s8 and the any-multiplier entry
    still alternatives; other multipliers (2, 3, 5, 6) take ef_depthwise_conv_3x3_px_mult_any_s8
    (groups that read two inputs), the ring an alternative; the Helium core keeps its dot kernel
    (the pixel kernels have no Helium body)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from kernels_harness import case_model

    from edgefact.export.lowering import lower
    from edgefact.export.ops import get_op
    from edgefact.export.ops.conv import (
        DOT_MULT,
        MULT,
        PX,
        PX_MULT,
        PX_MULT_ANY,
        _dw3x3_px,
        _dw3x3_px_mult,
        _dw3x3_px_mult_any,
        _px_kernel,
    )
    from edgefact.export.tflite_model import load_tflite
    from edgefact.targets import get_target

    assert _dw3x3_px_mult(_args(9, 16, mult=4)) and _dw3x3_px_mult(_args(9, 16, mult=8))
    assert not _dw3x3_px_mult(_args(9, 16, mult=2)) and not _dw3x3_px_mult(_args(9, 16, mult=3))
    assert not _dw3x3_px_mult(_args(9, 16, mult=1)) and not _dw3x3_px(_args(9, 16, mult=4))
    assert all(_dw3x3_px_mult_any(_args(9, 16, mult=m)) for m in (2, 3, 4, 5, 8)) and not _dw3x3_px_mult_any(_args(9, 16, 1))
    assert [_px_kernel(_args(9, 16, mult=m)) for m in (1, 2, 3, 4, 5, 8)] == [PX, PX_MULT_ANY, PX_MULT_ANY, PX_MULT,
                                                                             PX_MULT_ANY, PX_MULT]
    for case in ("xdwp_m4_c8_7x7_same", "xdwp_m8_c3_6x5_valid_relu6", "xdwp_m4_c5_9x8_s2_same_relu"):
        model = load_tflite(case_model(case))
        for core in ("cortex-m4", "cortex-m7", "cortex-m33"):
            layer = lower(model, target=get_target(core)).layers[0]
            assert layer.kernel == PX_MULT, (case, core, layer.kernel)
            assert {MULT, PX_MULT_ANY} <= set(get_op("DEPTHWISE_CONV_2D").kernels(layer))
        m55 = lower(model, target=get_target("cortex-m55")).layers[0]
        assert m55.kernel not in (PX, PX_MULT) and (m55.kernel == DOT_MULT or m55.args.input_dims.c % 2), case  # odd: no dot
    for case in ("xdw_dot_m2_c8_6x5_s1_same_relu", "xdw_dot_m3_c2_4x4_s1_valid_relu6", "xdwp_m3_c6_7x7_same_relu",
                 "xdwp_m5_c4_6x6_valid", "xdwp_m6_c3_5x9_same_relu6", "xdwp_m2_c5_8x7_s2_same_relu6"):
        for core in ("cortex-m4", "cortex-m7", "cortex-m33"):
            layer = lower(load_tflite(case_model(case)), target=get_target(core)).layers[0]
            kernels = set(get_op("DEPTHWISE_CONV_2D").kernels(layer))
            assert layer.kernel == PX_MULT_ANY and MULT in kernels and not {PX, PX_MULT} & kernels, (case, core)
        m55 = lower(load_tflite(case_model(case)), target=get_target("cortex-m55")).layers[0]
        assert m55.kernel != PX_MULT_ANY, case


def test_pixel_kernels_bias_bound_and_ring_rule() -> None:
    """The generator's copy of the pixel kernels' bias bound is the C one (their doubled accumulators
    stay under 2^30 in magnitude: the 3-instruction requantization is exact), a larger bias keeps a
    layer off them; at multiplier 1 and stride 1 the ring keeps long lines with a whole number of
    4-output steps or many lines (24x24, 29x29, 40 x 6), the pixel kernel takes short lines and few
    ragged ones (16x16, KWS's 25 x 5)."""
    from edgefact.export.ops.conv import DWP_BIAS_MAX, _dw3x3_px_faster

    src = (SRC.parent / "ef_depthwise_conv_3x3_px_s8.c").read_text()
    m = re.search(r"#define DWP_BIAS_MAX (.+)", src)
    assert m and m.group(1).strip() == "((1 << 29) - 2 * 128 * 9 * 128 - 1)"
    assert DWP_BIAS_MAX == (1 << 29) - 2 * 128 * 9 * 128 - 1
    assert 2 * (DWP_BIAS_MAX + 2 * 128 * 9 * 128) < 1 << 30

    def layer(h: int, w: int) -> ConvArgs:
        p = DwConvParams(0, 0, 1, (1, 1), (1, 1), (1, 1), (-128, 127))
        return ConvArgs(p, Dims(1, h, w, 16), Dims(1, 3, 3, 16), Dims(1, h, w, 16), 1, (1, 1))

    m16, s16 = np.full(16, 1 << 30, np.int32), np.full(16, -8, np.int32)
    picks = {(h, w): _dw3x3_px_faster(layer(h, w), m16, s16) for h, w in
             [(16, 16), (20, 20), (25, 5), (26, 6), (24, 24), (29, 29), (40, 6), (28, 7)]}
    assert picks == {(16, 16): True, (20, 20): True, (25, 5): True, (26, 6): True, (24, 24): False,
                     (29, 29): False, (40, 6): False, (28, 7): False}
    bias = np.zeros(16, np.int64)
    assert _dw3x3_px_faster(layer(16, 16), m16, s16, bias)
    bias[3] = -(DWP_BIAS_MAX + 1)
    assert not _dw3x3_px_faster(layer(16, 16), m16, s16, bias)
