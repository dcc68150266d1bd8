"""edgefact.export.quant against values TFLite computes, and the C requantization helper
against the Python model of it."""

from __future__ import annotations

import math
import shutil
import subprocess

import kernel_checks
import numpy as np
import pytest
from requant_cases import requant_expected

from edgefact.errors import EdgefactError
from edgefact.export import quant
from edgefact.export.ops import Dims, get_op
from edgefact.export.ops.conv import conv_scratch_bytes
from edgefact.firmware.kernels import kernel_include_dir, kernel_sources


def test_quantize_multiplier_known_values() -> None:
    assert quant.quantize_multiplier(0.5) == (1 << 30, 0)
    assert quant.quantize_multiplier(1.0) == (1 << 30, 1)
    assert quant.quantize_multiplier(0.25) == (1 << 30, -1)
    assert quant.quantize_multiplier(0.75) == (1610612736, 0)
    assert quant.quantize_multiplier(0.0) == (0, 0)
    assert quant.quantize_multiplier(1e-12) == (0, 0)  # shift < -31 flushes to zero
    # q * 2^31 rounds up to 2^31: halved, shift + 1
    assert quant.quantize_multiplier(1.0 - 2.0**-40) == (1 << 30, 1)
    # exact rounding half away from zero of the Q31 significand
    m, s = quant.quantize_multiplier(0.1)
    assert (m, s) == (1717986918, -3)
    with pytest.raises(EdgefactError, match="non-finite"):
        quant.quantize_multiplier(math.inf)


def test_per_channel_multipliers_use_double_of_float32_scales() -> None:
    s_in, s_out = np.float32(0.0235), np.float32(0.0711)
    fs = np.array([0.003, 0.0101, 0.25], np.float32)
    mults, shifts = quant.per_channel_multipliers(float(s_in), fs, float(s_out), 3)
    for f, m, s in zip(fs, mults, shifts, strict=True):
        real = float(s_in) * float(f) / float(s_out)
        assert abs(m * 2.0 ** (s - 31) - real) <= 2.0 ** (s - 32)
        assert 1 << 30 <= m < 1 << 31
    assert quant.per_channel_multipliers(0.5, [0.5], 0.25, 4) == ([1 << 30] * 4, [1] * 4)
    with pytest.raises(EdgefactError, match="filter scales"):
        quant.per_channel_multipliers(0.5, [0.5, 0.1], 0.25, 4)


def test_activation_range() -> None:
    assert quant.activation_range("NONE", 0.1, 3) == (-128, 127)
    assert quant.activation_range("RELU", 0.1, -20) == (-20, 127)
    assert quant.activation_range("RELU6", 6.0 / 255.0, -128) == (-128, 127)
    assert quant.activation_range("RELU6", 0.05, -10) == (-10, 110)
    assert quant.activation_range("RELU_N1_TO_1", 0.01, 0) == (-100, 100)
    with pytest.raises(EdgefactError, match="RELU6"):
        quant.activation_range("TANH", 0.1, 0)


def test_add_mul_softmax_mean_params() -> None:
    p = quant.add_params(1 / 128, 0, 1 / 128, 0, 1 / 128, 0)
    assert (p.left_shift, p.input1_multiplier, p.input1_shift) == (20, 1 << 30, 0)
    assert (p.output_multiplier, p.output_shift) == (1 << 30, -18)  # 2^-19
    q = quant.mul_params(0.5, 1, 0.25, -2, 0.0625, 5, "RELU")
    assert (q.input1_offset, q.input2_offset, q.output_offset) == (-1, 2, 5)
    assert (q.output_multiplier, q.output_shift) == (1 << 30, 2)  # 2.0
    assert (q.act_min, q.act_max) == (5, 127)
    sp = quant.softmax_params(0.1)
    # 0.1 * 2^26 = 0.8 * 2^23; radius floor(31 * 2^26 / 2^23) = 248
    assert (sp.input_multiplier, sp.input_left_shift, sp.diff_min) == (1717986918, 23, -248)
    assert quant.mean_params(0.5, -3, 0.25, 4) == (3, 4, 1 << 30, 2)
    assert quant.mean_count_multiplier(1 << 30, 2, 36) == (((1 << 30) << 5) // 36, -3)


def test_integer_helpers_match_tflite_rounding() -> None:
    assert quant.rounding_divide_by_pot(3, 1) == 2
    assert quant.rounding_divide_by_pot(-3, 1) == -2
    assert quant.rounding_divide_by_pot(-5, 2) == -1
    assert quant.rounding_divide_by_pot(-6, 2) == -2
    assert quant.saturating_rounding_doubling_high_mul(-(2**31), -(2**31)) == 2**31 - 1
    assert quant.saturating_rounding_doubling_high_mul(-(2**30), 1 << 30) == -(2**29)
    assert quant.multiply_by_quantized_multiplier(100, 1 << 30, 0) == 50
    # the high multiply rounds a tie (-50.5) up, the shift rounds half away from zero
    assert quant.multiply_by_quantized_multiplier(-101, 1 << 30, 0) == -50
    assert quant.multiply_by_quantized_multiplier(-101, 1 << 30, -1) == -25
    assert quant.multiply_by_quantized_multiplier(-102, 1 << 30, -2) == -13
    assert quant.requantize(1000, 1 << 30, 0, -5, -128, 127) == 127
    assert quant.tf_round(-2.5) == -3 and quant.tf_round(2.5) == 3


def test_c_requantize_matches_python_model() -> None:
    """ef_requantize_s8 (the C MultiplyByQuantizedMultiplier) == quant.requantize for random
    multipliers, shifts (left and right), offsets and every int8 input
    (tests/kernels_driver/ef_kernel_checks.c, on the host)."""
    c = kernel_checks.checks()
    outs = kernel_checks.outputs(kernel_checks.host_run())
    rand = [(n, p) for n, p in c.rq if n.startswith("xrequant_rand_")]
    assert len(rand) == 60
    for name, params in rand:
        got = np.frombuffer(outs[name], np.int8).reshape(c.rq_input.shape)
        want = requant_expected(c.rq_input, params)
        assert np.array_equal(got, want), (name, params, np.argwhere(got != want)[:5].tolist())


def test_buffer_size() -> None:
    assert conv_scratch_bytes("ef_conv_1x1_s8", Dims(8, 1, 1, 8)) == 0
    assert conv_scratch_bytes("ef_conv_s8", Dims(8, 3, 3, 3)) == 108  # two columns of 27 int16
    assert conv_scratch_bytes("ef_conv_s8", Dims(8, 1, 1, 4)) == 16  # grouped 1x1 takes the generic kernel
    assert get_op("LSTM") is None


CORES = {
    "cortex-m4": ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard"],
    "cortex-m33": ["-mcpu=cortex-m33", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"],
    "cortex-m55": ["-mcpu=cortex-m55", "-mfloat-abi=hard"],
}


@pytest.mark.parametrize("core", sorted(CORES))
def test_kernels_compile_for_every_core(core: str, tmp_path) -> None:
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("arm-none-eabi-gcc missing: apt install gcc-arm-none-eabi libnewlib-arm-none-eabi")
    cmd = ["arm-none-eabi-gcc", *CORES[core], "-mthumb", "-std=c99", "-Wall", "-Wextra", "-Werror",
           "-Wshadow", "-Wconversion", "-Wno-sign-conversion", "-O2", "-c", f"-I{kernel_include_dir()}",
           *map(str, kernel_sources())]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert len(list(tmp_path.glob("*.o"))) == len(kernel_sources())


def test_fc_rounding_tflm_double_litert_single() -> None:
    """TFLM's FULLY_CONNECTED requantizes with double rounding (what the kernels do), LiteRT's
    reference FC with single rounding: a Python model of each matches its interpreter exactly."""
    from opmodels import get_opmodel, random_inputs

    from edgefact.export.reference import run_litert_ref, run_tflm
    from edgefact.export.tflite_model import load_tflite

    model = get_opmodel("fc_bias")
    m = load_tflite(model)
    op = m.operators[0]
    x_t, w_t, b_t, y_t = (m.tensor(op.inputs[0]), m.tensor(op.inputs[1]), m.tensor(op.inputs[2]),
                          m.tensor(op.outputs[0]))
    s_in, zp_in = float(x_t.quantization.scales[0]), int(x_t.quantization.zero_points[0])
    s_out, zp_out = float(y_t.quantization.scales[0]), int(y_t.quantization.zero_points[0])
    units = w_t.shape[0]
    mults, shifts = quant.per_channel_multipliers(s_in, w_t.quantization.scales, s_out, units)
    xs = random_inputs(model, 200, seed=5)[0].reshape(200, -1)
    acc = (xs.astype(np.int64) - zp_in) @ w_t.data.astype(np.int64).T + b_t.data.astype(np.int64)

    def model_out(fn) -> np.ndarray:
        return np.array([[min(127, max(-128, fn(int(a), mults[u], shifts[u]) + zp_out))
                          for u, a in enumerate(row)] for row in acc], dtype=np.int8)

    double = model_out(quant.multiply_by_quantized_multiplier)
    single = model_out(quant.multiply_by_quantized_multiplier_single_round)
    assert np.array_equal(double, run_tflm(model, [xs])[0].reshape(200, -1))
    assert np.array_equal(single, run_litert_ref(model, [xs])[0].reshape(200, -1))
    diff = np.abs(double.astype(int) - single.astype(int))
    assert np.count_nonzero(diff) > 0 and diff.max() == 1  # rare, 1 LSB


def test_c_quantize_dequantize_match_tflite_formulas() -> None:
    """ef_quantize_f32_s8: round(x / scale) half away from zero (float division) + zp, saturated;
    ef_dequantize_s8_f32: float(double(scale) * (q - zp)). Ties, near-ties, huge values, NaN
    (tests/kernels_driver/ef_kernel_checks.c, on the host)."""
    outs = kernel_checks.outputs(kernel_checks.host_run())
    x = kernel_checks.quantize_input()
    assert np.isnan(x).any() and (np.abs(x) > 1e8).any()
    got = np.frombuffer(outs["xquantize"], np.int8)
    assert got.tolist() == kernel_checks.quantize_expected(x).tolist()
    qs = np.arange(-128, 128, dtype=np.int8)
    for k, s in enumerate(kernel_checks.DQ_SCALES):
        out = np.frombuffer(outs[f"xdequantize_{k}"], np.float32)
        ref = kernel_checks.dequantize_expected(qs, s)
        assert out.view(np.int32).tolist() == ref.view(np.int32).tolist()


def test_checks_on_host_match_the_python_models() -> None:
    """Every case of the kernel checks but the REQUANT_EDGES (pinned core against host) equals
    the Python model's output, byte for byte."""
    c = kernel_checks.checks()
    outs = kernel_checks.outputs(kernel_checks.host_run())
    want = c.expected()
    assert set(want) <= set(outs) and set(outs) == set(c.names)
    bad = [n for n, b in want.items() if outs[n] != b]
    assert not bad, bad
