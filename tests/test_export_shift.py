"""Shift layers: recognition of one-tap depthwise kernels and the tables that replace them.

Bit-exactness of ef_shift_s8 and ef_shift2_s8 against TFLM runs with every per-op model
(tests/opmodels.py has SAL, zero-kernel, scaled and stride-2 shift cases, and the two-tap
"shift_mix" block) in the host and emulator per-op tests; here: which layers become shifts (one
or two taps) and which stay convolutions, what they report, and the tables against a brute-force
evaluation.
"""

from __future__ import annotations

import numpy as np
import pytest
from codegen_util import sal2_shiftnet_tflite_path
from opmodels import get_opmodel

from edgefact.export import quant
from edgefact.export.codegen import generate_c
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.lowering import lower
from edgefact.export.ops import get_op
from edgefact.export.ops.shift import gather_offsets, runs, single_taps, tables
from edgefact.export.ops.shift2 import two_taps
from edgefact.export.reference import run_tflm
from edgefact.export.shift_layout import group_shift_channels, shift_order
from edgefact.export.tflite_model import load_tflite


def _layer(case: str):
    return lower(load_tflite(get_opmodel(case))).layers[0]


@pytest.mark.parametrize(("case", "constant"), [("shift_sal_3x3_s1_same", 0), ("shift_sal_5x5_s2_same_zero", 2),
                                                ("shift_scaled_3x3_s1_valid_relu", 0)])
def test_one_tap_depthwise_becomes_a_zero_mac_shift(case: str, constant: int) -> None:
    layer = _layer(case)
    assert layer.kernel == "ef_shift_s8"
    assert layer.macs == 0
    assert f"+ {constant} constant channels" in layer.describe
    assert layer.weight_bytes == layer.args.table_bytes
    assert layer.args.conv_macs > 0


def test_three_taps_and_dense_depthwise_stay_convolutions() -> None:
    for case in ("shift_3tap_3x3_s1_same_c7", "dw_3x3_m1_s1_same", "dw_5x5_m2_s2_valid"):
        layer = _layer(case)
        assert layer.kernel not in ("ef_shift_s8", "ef_shift2_s8"), case
        f = layer.consts["filter"]
        assert layer.macs == int(np.prod(layer.output_shape)) * f.shape[1] * f.shape[2], case  # every tap


@pytest.mark.parametrize(("case", "counts"), [("shift_sal2_3x3_s1_same", (4, 0, 0)),
                                              ("shift2_mix_3x3_s1_same_c13_relu", (7, 3, 3)),
                                              ("shift2_5x5_s1_same_c16", (12, 4, 0)),
                                              ("shift2_5x5_valid_1px_c5", (3, 1, 1))])
def test_two_tap_depthwise_becomes_a_two_multiply_shift(case: str, counts: tuple[int, int, int]) -> None:
    """Never the one-tap kernel; MACs are the real products, non-zero taps x output pixels."""
    layer = _layer(case)
    assert layer.kernel == "ef_shift2_s8"
    two, one, zero = counts
    assert f"{two} two-tap + {one} one-tap + {zero} constant channels" in layer.describe
    pixels = int(np.prod(layer.output_shape[:-1]))
    assert layer.macs == (2 * two + one) * pixels
    assert layer.args.conv_macs == pixels * int(np.prod(layer.consts["filter"].shape))
    f = layer.consts["filter"].reshape(-1, layer.output_shape[-1])
    for ch in range(f.shape[1]):  # the taps and weights are the filter's non-zero values
        kw = layer.consts["filter"].shape[2]
        taps = [int(t) for t in layer.args.taps[ch] if t >= 0]
        assert [(t >> 8) * kw + (t & 0xFF) for t in taps] == np.flatnonzero(f[:, ch]).tolist()
        assert layer.args.weights[ch][:len(taps)].tolist() == f[np.flatnonzero(f[:, ch]), ch].tolist()


def test_two_taps_recognition() -> None:
    f = np.zeros((1, 3, 3, 4), np.int8)
    f[0, 0, 1, 0] = 127
    f[0, 2, 2, 1] = -5
    assert two_taps(f) is None  # one tap at most: the one-tap shift's
    f[0, 1, 1, 1] = 9
    taps, weights = two_taps(f)
    assert taps.tolist() == [[1, -1], [4, 8], [-1, -1], [-1, -1]]
    assert weights.tolist() == [[127, 0], [9, -5], [0, 0], [0, 0]]
    assert single_taps(f) is None
    f[0, 0, 0, 3], f[0, 0, 2, 3], f[0, 2, 0, 3] = 1, 2, 3  # three taps in channel 3: a convolution
    assert two_taps(f) is None


def test_forcing_the_depthwise_kernel_on_a_two_tap_shift(tmp_path) -> None:
    layer = _layer("shift_sal2_3x3_s1_same")
    entry = get_op("DEPTHWISE_CONV_2D")
    assert entry is not None
    assert entry.kernels(layer) == ("ef_shift2_s8", "ef_depthwise_conv_3x3_s8", "ef_depthwise_conv_s8")
    macs = layer.args.conv_macs
    entry.use_kernel(layer, "ef_depthwise_conv_s8")
    assert layer.kernel == "ef_depthwise_conv_s8" and layer.macs == macs
    gen = generate_c(get_opmodel("shift_sal2_3x3_s1_same"), tmp_path / "dw")
    assert "ef_shift2_s8(" in gen.files["model.c"].read_text()
    gen = generate_c(get_opmodel("shift_sal2_3x3_s1_same"), tmp_path / "dw3", kernels={0: "ef_depthwise_conv_3x3_s8"})
    text = gen.files["model.c"].read_text()
    assert "ef_depthwise_conv_3x3_s8(" in text and "ef_shift2_s8(" not in text


def test_a_two_tap_shift_keeps_its_channel_order() -> None:
    f = np.zeros((1, 3, 3, 3), np.int8)
    f[0, 0, 0, :] = 5
    f[0, 2, 1, 0] = 7
    assert shift_order(f, None, None) is None  # shift_layout only reorders one-tap layers


def test_forcing_the_depthwise_kernel_restores_its_macs(tmp_path) -> None:
    layer = _layer("shift_sal_3x3_s1_same")
    entry = get_op("DEPTHWISE_CONV_2D")
    assert entry is not None
    assert entry.kernels(layer) == ("ef_shift_s8", "ef_depthwise_conv_3x3_s8", "ef_depthwise_conv_s8")
    macs = layer.args.conv_macs
    entry.use_kernel(layer, "ef_depthwise_conv_s8")
    assert layer.kernel == "ef_depthwise_conv_s8" and layer.macs == macs
    gen = generate_c(get_opmodel("shift_sal_3x3_s1_same"), tmp_path / "dw", kernels={0: "ef_depthwise_conv_3x3_s8"})
    text = gen.files["model.c"].read_text()
    assert "ef_depthwise_conv_3x3_s8(" in text and "ef_shift_s8(" not in text


def test_single_taps() -> None:
    f = np.zeros((1, 3, 3, 4), np.int8)
    f[0, 0, 1, 0] = 127
    f[0, 2, 2, 1] = -5
    f[0, 1, 1, 3] = 1  # channel 2 all zero
    assert single_taps(f).tolist() == [1, 8, -1, 4]
    f[0, 0, 0, 3] = 3  # a second tap: a real convolution
    assert single_taps(f) is None


def test_tables_match_a_brute_force_depthwise_evaluation() -> None:
    rng = np.random.default_rng(5)
    c = 6
    f = np.zeros((1, 3, 3, c), np.int8)
    for ch in range(c - 1):
        f[0, rng.integers(3), rng.integers(3), ch] = rng.integers(-127, 128)
    taps = single_taps(f)
    assert taps is not None
    bias = rng.integers(-3000, 3000, c).astype(np.int32)
    mult = rng.integers(2**30, 2**31 - 1, c).astype(np.int32)
    shift = rng.integers(-12, 1, c).astype(np.int32)
    act = (-128, 100)
    luts, index, border = tables(f, taps, bias, mult, shift, 5, -3, act)
    flat = f.reshape(9, c).astype(np.int64)
    for ch in range(c):
        w = int(flat[taps[ch], ch]) if taps[ch] >= 0 else 0
        for x in (-128, -1, 0, 1, 77, 127):
            want = quant.requantize((x + 5) * w + int(bias[ch]), int(mult[ch]), int(shift[ch]), -3, *act)
            assert luts[index[ch], x & 0xFF] == want
        assert border[ch] == quant.requantize(int(bias[ch]), int(mult[ch]), int(shift[ch]), -3, *act)


def test_gather_offsets_are_relative_and_bounded() -> None:
    taps = np.array([0, 4, 8, -1])  # 3x3: top-left, centre, bottom-right, none
    offsets, base = gather_offsets(taps, 3, (1, 1), 10)
    raw = base + offsets.astype(np.int64)
    c = 4
    assert raw.tolist() == [(-10 - 1) * c + 0, 0 * c + 1, (10 + 1) * c + 2, 3]
    assert gather_offsets(np.array([0, 8]), 3, (1, 1), 40_000) is None  # would not fit 16 bits


def test_runs_join_neighbours_with_one_tap_and_table_and_mark_identity_copies() -> None:
    ident = np.arange(256, dtype=np.uint8).view(np.int8)
    luts = np.stack([ident, np.full(256, 5, np.int8)])
    taps = np.array([4, 4, 4, 0, -1, -1, 4], np.int16)  # 3x3: centre x3, top-left, two zero kernels, centre
    index = np.array([0, 0, 0, 0, 1, 1, 0], np.uint8)
    border = np.array([-128, -128, -128, -128, 5, 5, -128], np.int8)
    rows = runs(taps, index, luts, border, 3)
    assert rows.tolist() == [[0, 3, 257, -1, -128], [3, 1, 0, -1, -128], [4, 2, -1, 1, 5], [6, 1, 257, -1, -128]]


def test_shift_order_groups_by_tap_then_weight_and_bias() -> None:
    f = np.zeros((1, 3, 3, 6), np.int8)
    for ch, (tap, w) in enumerate([(4, 127), (0, 127), (4, 127), (0, 64), (8, 127), (0, 127)]):
        f[0, tap // 3, tap % 3, ch] = w
    order = shift_order(f, None, None)
    assert order is not None and order.tolist() == [3, 1, 5, 0, 2, 4]  # tap 0 (weight 64 first), 4, 8
    f[0, 0, 0, 0] = 1  # two taps: not a shift
    assert shift_order(f, None, None) is None


@pytest.mark.parametrize("case", ["shift_block_sal_pool_c13", "shift_block_sal_c32", "shift_block_scaled_zero_c19"])
def test_shift_block_channels_are_grouped_into_one_run_per_tap(case: str) -> None:
    model = load_tflite(get_opmodel(case))
    _, done = group_shift_channels(model)
    graph = lower(model)
    shift = next(la for la in graph.layers if la.kernel == "ef_shift_s8")
    assert done == [shift.index]
    taps = shift.args.runs[:, 2]
    assert len(set(taps.tolist())) == len(taps) or "scaled" in case  # one run per tap (equal tables)
    assert list(taps) == sorted(taps)  # in tap order
    # the convolutions around it read / write the permuted channels: the depthwise filter's taps
    # are sorted too, and the model still computes TFLite's outputs (host and emulator op tests)
    filt = shift.args.conv
    assert filt.input_dims.c == shift.args.runs[:, 1].sum()


def test_a_shift_reading_the_model_input_keeps_its_channel_order() -> None:
    model = load_tflite(get_opmodel("shift_sal_3x3_s1_same"))
    out, done = group_shift_channels(model)
    assert done == [] and out is model


def test_identity_tables_become_copies_without_tables() -> None:
    layer = lower(load_tflite(get_opmodel("shift_block_sal_c32"))).layers[1]
    assert layer.kernel == "ef_shift_s8"
    assert layer.args.luts.shape[0] == 0 and layer.args.params.num_tables == 0
    assert np.all(layer.args.runs[:, 3] == -1) and "copies" in layer.describe


@pytest.mark.slow  # a zoo model converted (cached after the first run: ~11 s)
def test_sal2_shiftnet_runs_its_shifts_on_the_two_tap_kernel_bit_exactly(tmp_path) -> None:
    """The zoo ShiftNet with SAL2 shifts (keep=2, learned-like weights): its four depthwise layers
    become two-tap shifts with their real MACs, and the generated model equals TFLM on the host."""
    path = sal2_shiftnet_tflite_path(tmp_path)
    gen = generate_c(path, tmp_path / "gen")
    shifts = [la for la in gen.graph.layers if la.op == "DEPTHWISE_CONV_2D"]
    assert len(shifts) == 4 and all(la.kernel == "ef_shift2_s8" for la in shifts)
    for la in shifts:
        assert la.macs == 2 * int(np.prod(la.output_shape)) < la.args.conv_macs
        assert np.any(la.args.weights[:, 0] != la.args.weights[:, 1])  # two different weights
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (16, 28, 28, 1)).astype(np.int8)
    got, want = run_host_batch(gen, x), run_tflm(path.read_bytes(), x)[0]
    assert np.array_equal(got, want)
    assert len({bytes(r) for r in got.reshape(len(got), -1)}) > 4  # not a constant model
