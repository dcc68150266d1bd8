"""TFLite's int8 requantization arithmetic, in exact Python.

Every function here reproduces, bit for bit, a computation TFLite (and TFLite Micro) does when
it prepares an int8 kernel: quantized multipliers, activation clamps, ADD/MUL/SOFTMAX/MEAN
parameters. The code generator uses these to fill the parameter structs of the C kernel library
(``edgefact/firmware/kernels/include/ef_nn_types.h``), and the tests use the integer helpers
(:func:`multiply_by_quantized_multiplier` ...) as a second, independent model of the kernels.

Scales arrive as float32 in a .tflite file; TFLite widens them to double before dividing, so
every function accepts Python floats (doubles) and callers must pass the float32 values
unchanged (``float(np.float32(s))``), never re-derived ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgefact.errors import EdgefactError

INT8_MIN = -128
INT8_MAX = 127
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

#: ADD pre-shift for int8/uint8 inputs (TFLite uses 15 for int16).
ADD_LEFT_SHIFT_INT8 = 20
#: Integer bits of the scaled input difference in the int8 softmax (TFLite's kScaledDiffIntegerBits).
SOFTMAX_SCALED_DIFF_INTEGER_BITS = 5

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")

_FIX = "re-export the model with calibrated quantization (finite, non-zero scales)"


class QuantizationError(EdgefactError):
    """A quantization scale the TFLite arithmetic cannot use (zero divisor, NaN, infinity)."""


def _finite(name: str, value: float) -> float:
    """``value`` as a float; NaN or infinity is a QuantizationError naming the scale."""
    v = float(value)
    if not math.isfinite(v):
        raise QuantizationError(f"the {name} is {v!r}: quantization scales must be finite; {_FIX}")
    return v


def _divisor(name: str, value: float) -> float:
    """A scale used as a divisor: finite and non-zero."""
    v = _finite(name, value)
    if v == 0.0:
        raise QuantizationError(f"the {name} is 0: it divides the requantization multiplier; {_FIX}")
    return v


def tf_round(x: float) -> int:
    """Round half away from zero (C's ``round``), as TFLite's ``TfLiteRound``."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplier``: ``real ~= multiplier * 2**(shift - 31)``.

    Returns ``(multiplier, shift)`` with multiplier a Q31 int32 in [2**30, 2**31) (or 0) and
    shift > 0 meaning a left shift. Tiny values (shift < -31) flush to ``(0, 0)``.
    """
    if real == 0.0:
        return 0, 0
    if not math.isfinite(real):
        raise QuantizationError(f"cannot quantize multiplier {real!r}: the model has a non-finite or "
                                f"out-of-range scale; {_FIX}")
    q, shift = math.frexp(real)
    q_fixed = tf_round(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def quantize_multiplier_smaller_than_one(real: float) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplierSmallerThanOneExp``: as :func:`quantize_multiplier`, shift <= 0."""
    if not 0.0 <= real < 1.0:
        raise EdgefactError(f"multiplier {real} must be in [0, 1) here (TFLite's SmallerThanOne); "
                            "the model's scales are inconsistent")
    m, s = quantize_multiplier(real)
    return m, min(s, 0) if m else 0


def quantize_multiplier_greater_than_one(real: float) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplierGreaterThanOne``: shift >= 0."""
    if real <= 1.0:
        raise EdgefactError(f"multiplier {real} must be > 1 here (TFLite's GreaterThanOne)")
    m, s = quantize_multiplier(real)
    return m, s


def per_channel_multipliers(input_scale: float, filter_scales: Sequence[float] | np.ndarray,
                            output_scale: float, channels: int | None = None) -> tuple[list[int], list[int]]:
    """CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED requantization per output channel.

    ``effective = input_scale * filter_scale[c] / output_scale`` in double, then
    :func:`quantize_multiplier`. A single filter scale (per-tensor) is repeated ``channels`` times.
    """
    scales = [_finite("filter scale", s) for s in np.asarray(filter_scales, dtype=np.float32).reshape(-1)]
    input_scale, output_scale = _finite("input scale", input_scale), _divisor("output scale", output_scale)
    if channels is not None and len(scales) == 1:
        scales = scales * channels
    if channels is not None and len(scales) != channels:
        raise EdgefactError(f"{len(scales)} filter scales for {channels} output channels; "
                            "expected one per channel or one per tensor")
    mults: list[int] = []
    shifts: list[int] = []
    for fs in scales:
        m, s = quantize_multiplier(float(input_scale) * fs / float(output_scale))
        mults.append(m)
        shifts.append(s)
    return mults, shifts


def quantize_value(x: float, scale: float, zero_point: int) -> int:
    """TFLite's activation-range helper: ``zp + round(x / scale)`` with the division in float32."""
    _divisor("output scale", scale)
    with np.errstate(all="ignore"):
        q = float(np.float32(x) / np.float32(scale))
    if not math.isfinite(q):
        raise QuantizationError(f"the output scale {float(scale)!r} is too small to quantize the activation "
                                f"bound {x} in float32; {_FIX}")
    return int(zero_point) + tf_round(q)


def activation_range(activation: str, scale: float, zero_point: int,
                     qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> tuple[int, int]:
    """TFLite's ``CalculateActivationRangeQuantized`` for a fused activation."""
    act = activation.upper()
    if act == "NONE":
        return qmin, qmax
    if act == "RELU":
        return max(qmin, quantize_value(0.0, scale, zero_point)), qmax
    if act == "RELU6":
        return (max(qmin, quantize_value(0.0, scale, zero_point)),
                min(qmax, quantize_value(6.0, scale, zero_point)))
    if act == "RELU_N1_TO_1":
        return (max(qmin, quantize_value(-1.0, scale, zero_point)),
                min(qmax, quantize_value(1.0, scale, zero_point)))
    raise EdgefactError(f"unsupported fused activation {activation!r}; supported: {', '.join(ACTIVATIONS)}")


@dataclass(frozen=True)
class AddParams:
    """Fields of ``ef_add_params`` (TFLite's int8 ADD preparation)."""

    input1_offset: int
    input2_offset: int
    output_offset: int
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def add_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int,
               activation: str = "NONE") -> AddParams:
    """ADD: rescale both inputs to 2*max(s1, s2) with 20 bits headroom, sum, rescale to output."""
    s1, s2 = _finite("first input scale", s1), _finite("second input scale", s2)
    s_out = _divisor("output scale", s_out)
    twice_max = _divisor("larger input scale", 2.0 * max(s1, s2))
    m1, sh1 = quantize_multiplier_smaller_than_one(float(s1) / twice_max)
    m2, sh2 = quantize_multiplier_smaller_than_one(float(s2) / twice_max)
    mo, sho = quantize_multiplier_smaller_than_one(twice_max / ((1 << ADD_LEFT_SHIFT_INT8) * float(s_out)))
    lo, hi = activation_range(activation, s_out, zp_out)
    return AddParams(-int(zp1), -int(zp2), int(zp_out), ADD_LEFT_SHIFT_INT8, m1, sh1, m2, sh2, mo, sho, lo, hi)


@dataclass(frozen=True)
class MulParams:
    """Fields of ``ef_mul_params``."""

    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def mul_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int,
               activation: str = "NONE") -> MulParams:
    """MUL: one multiplier for s1*s2/s_out (double)."""
    s1, s2 = _finite("first input scale", s1), _finite("second input scale", s2)
    m, s = quantize_multiplier(s1 * s2 / _divisor("output scale", s_out))
    lo, hi = activation_range(activation, s_out, zp_out)
    return MulParams(-int(zp1), -int(zp2), int(zp_out), m, s, lo, hi)


@dataclass(frozen=True)
class SoftmaxParams:
    """Fields of ``ef_softmax_params``."""

    input_multiplier: int
    input_left_shift: int
    diff_min: int


def preprocess_softmax_scaling(beta: float, input_scale: float,
                               input_integer_bits: int = SOFTMAX_SCALED_DIFF_INTEGER_BITS) -> tuple[int, int]:
    """TFLite's ``PreprocessSoftmaxScaling``: multiplier and left shift for beta*scale."""
    beta, input_scale = _finite("softmax beta", beta), _divisor("input scale", input_scale)
    if beta * input_scale <= 0:
        raise QuantizationError(f"softmax beta {beta!r} times the input scale {input_scale!r} is not positive; "
                                f"{_FIX}")
    real = min(beta * input_scale * (1 << (31 - input_integer_bits)), float((1 << 31) - 1))
    return quantize_multiplier_greater_than_one(real)


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """TFLite's ``CalculateInputRadius``."""
    max_input_rescaled = (1.0 * ((1 << input_integer_bits) - 1) * float(1 << (total_signed_bits - input_integer_bits))
                          / float(1 << input_left_shift))
    return int(math.floor(max_input_rescaled))


def softmax_params(input_scale: float, beta: float = 1.0) -> SoftmaxParams:
    """SOFTMAX int8 -> int8 parameters (as TFLite Micro's softmax preparation)."""
    m, s = preprocess_softmax_scaling(beta, input_scale)
    return SoftmaxParams(m, s, -calculate_input_radius(SOFTMAX_SCALED_DIFF_INTEGER_BITS, s))


def mean_params(s_in: float, zp_in: int, s_out: float, zp_out: int) -> tuple[int, int, int, int]:
    """MEAN over H,W: ``(input_offset, output_offset, multiplier, shift)`` with the multiplier of
    ``s_in / s_out``; the kernel folds the element count in (see :func:`mean_count_multiplier`)."""
    m, s = quantize_multiplier(_finite("input scale", s_in) / _divisor("output scale", s_out))
    return -int(zp_in), int(zp_out), m, s


def mean_count_multiplier(multiplier: int, shift: int, count: int) -> tuple[int, int]:
    """TFLite Micro's integer MEAN: 1/count folded into the multiplier.

    ``k = min(floor(log2(count)), 31 + shift)``; returns ``((multiplier << k) // count, shift - k)``.
    The mean is then ``MultiplyByQuantizedMultiplier(sum(x) - zp_in * count, m, s) + zp_out``.
    """
    if count <= 0:
        raise EdgefactError(f"MEAN over {count} elements: the reduced axes must not be empty")
    k = min(count.bit_length() - 1, 32, 31 + shift)
    return (multiplier << k) // count, shift - k


def requantize_params(s_in: float, zp_in: int, s_out: float, zp_out: int) -> tuple[int, int, int, int]:
    """QUANTIZE int8 -> int8: ``(input_offset, output_offset, multiplier, shift)``."""
    m, s = quantize_multiplier(_finite("input scale", s_in) / _divisor("output scale", s_out))
    return -int(zp_in), int(zp_out), m, s


# ---- integer helpers (exact models of the C inline functions) ---------------------------------

def saturating_rounding_doubling_high_mul(a: int, b: int) -> int:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int32."""
    if a == INT32_MIN and b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else (1 - (1 << 30))
    q = abs(ab + nudge) // (1 << 31)  # C++ division truncates toward zero
    return q if ab + nudge >= 0 else -q


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    """gemmlowp's RoundingDivideByPOT (round half away from zero)."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> int:
    """TFLite's MultiplyByQuantizedMultiplier (double rounding, the TFLite/TFLM default)."""
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    v = (x * (1 << left)) & 0xFFFFFFFF  # C int32 wrap, as TFLite does
    if v >= 1 << 31:
        v -= 1 << 32
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(v, multiplier), right)


def multiply_by_quantized_multiplier_single_round(x: int, multiplier: int, shift: int) -> int:
    """The single-rounding variant (TFLite built with ``TFLITE_SINGLE_ROUNDING``):
    ``(x * multiplier + 2**(30 - shift)) >> (31 - shift)``. LiteRT's reference FULLY_CONNECTED
    rounds this way; TFLite Micro (our oracle) and every edgefact kernel use the double rounding
    of :func:`multiply_by_quantized_multiplier`. They differ by 1 LSB on rare ties."""
    total = 31 - shift
    return (x * multiplier + (1 << (total - 1))) >> total


def requantize(acc: int, multiplier: int, shift: int, output_offset: int,
               act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> int:
    """Accumulator -> int8, the epilogue of every conv/FC kernel."""
    v = multiply_by_quantized_multiplier(acc, multiplier, shift) + output_offset
    return min(max(v, act_min), act_max)


# ---- SUB, SQUARED_DIFFERENCE, PRELU (TFLite Micro's Prepare arithmetic) ------------------------

def _f32(x: float) -> float:
    """Round to float32: TFLM computes these scale ratios in C ``float``."""
    return float(np.float32(x))


def sub_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float, zp_out: int,
               activation: str = "NONE") -> AddParams:
    """SUB (``ef_add_params``): exactly ADD's rescaling (the ratios in double); the kernel subtracts
    the rescaled second input. (Some TFLM sources compute SUB's ratios in float32; the TFLM that
    edgefact checks against does not, and the tests pin this on ties.)"""
    return add_params(s1, zp1, s2, zp2, s_out, zp_out, activation)


#: SQUARED_DIFFERENCE pre-shift for int8 inputs (255^2 << 14 fits int32).
SQUARED_DIFFERENCE_LEFT_SHIFT_INT8 = 7


def squared_difference_params(s1: float, zp1: int, s2: float, zp2: int, s_out: float,
                              zp_out: int) -> AddParams:
    """SQUARED_DIFFERENCE (``ef_add_params``; the output shift may be positive): inputs rescaled to
    2*max(s1, s2) with 7 bits headroom (double), the squared difference by
    (2*max)^2 / (2^14 * s_out) (the denominator in float32, as TFLM writes it)."""
    s1, s2 = _finite("first input scale", s1), _finite("second input scale", s2)
    s_out = _divisor("output scale", s_out)
    twice_max = _divisor("larger input scale", 2.0 * max(s1, s2))
    m1, sh1 = quantize_multiplier_smaller_than_one(s1 / twice_max)
    m2, sh2 = quantize_multiplier_smaller_than_one(s2 / twice_max)
    left = SQUARED_DIFFERENCE_LEFT_SHIFT_INT8
    mo, sho = quantize_multiplier(twice_max * twice_max
                                  / _divisor("output scale (in float32)", _f32((1 << (2 * left)) * _f32(s_out))))
    return AddParams(-int(zp1), -int(zp2), int(zp_out), left, m1, sh1, m2, sh2, mo, sho, INT8_MIN, INT8_MAX)


@dataclass(frozen=True)
class PreluParams:
    """Fields of ``ef_prelu_params`` (TFLM's PreluParams)."""

    input_offset: int
    alpha_offset: int
    output_offset: int
    positive_multiplier: int
    positive_shift: int
    negative_multiplier: int
    negative_shift: int


def prelu_params(s_in: float, zp_in: int, s_alpha: float, zp_alpha: int, s_out: float, zp_out: int) -> PreluParams:
    """PRELU: x >= 0 rescaled by s_in / s_out, x < 0 times alpha by s_in * s_alpha / s_out (double)."""
    s_in, s_alpha = _finite("input scale", s_in), _finite("alpha scale", s_alpha)
    s_out = _divisor("output scale", s_out)
    m1, sh1 = quantize_multiplier(s_in / s_out)
    m2, sh2 = quantize_multiplier(s_in * s_alpha / s_out)
    return PreluParams(-int(zp_in), -int(zp_alpha), int(zp_out), m1, sh1, m2, sh2)
