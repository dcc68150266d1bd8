"""256-entry tables for int8 -> int8 operators whose output depends on the input byte only.

LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU and ABS map each int8 input value to one int8 output value,
so the generator computes the 256 outputs once, here, with an exact Python mirror of TFLite
Micro's integer algorithm for the operator (its Prepare step included: float32 where TFLM
computes in float, double where it widens), and the firmware runs one table look-up per element
(``ef_lut_s8``). The tests check every table against TFLM on all 256 input values for many
scales and zero points.

Tables are indexed by the input byte: position ``p`` holds the output for the int8 value
``p - 256 if p >= 128 else p`` (so the kernel indexes with ``(uint8_t)x``).

The gemmlowp fixed-point helpers below work on raw int32 values (``FixedPoint<int32_t, I>``
with ``I`` integer bits keeps ``x / 2**(31 - I)``), with C's int32 wrap-around where gemmlowp
adds without saturating.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from edgefact.export.quant import (
    INT8_MAX,
    INT8_MIN,
    INT32_MAX,
    INT32_MIN,
    QuantizationError,
    calculate_input_radius,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    tf_round,
)

#: int8 value of each table position (the uint8 view of the input byte)
INPUT_VALUES = tuple(p - 256 if p >= 128 else p for p in range(256))


def table(fn: Callable[[int], int]) -> np.ndarray:
    """The 256-entry int8 table of ``fn`` (int8 value -> int8 value), indexed by the input byte."""
    return np.array([fn(x) for x in INPUT_VALUES], dtype=np.int8)


def _clamp8(v: int) -> int:
    return min(max(v, INT8_MIN), INT8_MAX)


def _f32(x: float) -> float:
    """Round to float32 (a C ``float`` intermediate)."""
    return float(np.float32(x))


# ---- gemmlowp fixed point on int32 ---------------------------------------------------------

def _w32(x: int) -> int:
    """C int32 wrap-around."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= 1 << 31 else x


def _mul(a: int, b: int) -> int:
    """FixedPoint product (SaturatingRoundingDoublingHighMul); the integer bits add up."""
    return saturating_rounding_doubling_high_mul(a, b)


def _mul_pot(x: int, exponent: int) -> int:
    """gemmlowp's SaturatingRoundingMultiplyByPOT<exponent> on int32."""
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return _w32(x << exponent)


def _rescale(x: int, src_bits: int, dst_bits: int) -> int:
    """gemmlowp's Rescale<dst_bits> of a FixedPoint with src_bits integer bits."""
    return _mul_pot(x, src_bits - dst_bits)


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a: int) -> int:
    constant_term = 1895147668  # exp(-1/8) in Q0.31
    constant_1_over_3 = 715827883
    x = _w32(a + (1 << 28))
    x2 = _mul(x, x)
    x3 = _mul(x2, x)
    x4 = _mul(x2, x2)
    x4_over_4 = _mul_pot(x4, -2)
    poly = _mul_pot(_w32(_mul(_w32(x4_over_4 + x3), constant_1_over_3) + x2), -1)
    return _w32(constant_term + _mul(constant_term, _w32(x + poly)))


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535),
               (3, 720401), (4, 242))


def exp_on_negative_values(a: int, int_bits: int) -> int:
    """gemmlowp's exp_on_negative_values: exp(a) in Q0.31 for a <= 0 with ``int_bits``."""
    frac = 31 - int_bits
    one_quarter = 1 << (frac - 2)
    a_mod = _w32((a & (one_quarter - 1)) - one_quarter)
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(_rescale(a_mod, int_bits, 0))
    remainder = _w32(a_mod - a)
    for exponent, multiplier in _EXP_BARREL:
        if int_bits > exponent and remainder & (1 << (frac + exponent)):
            result = _mul(result, multiplier)
    if int_bits > 5 and a < -(1 << (36 - int_bits)):
        result = 0
    return INT32_MAX if a == 0 else result


def _newton_reciprocal(a: int) -> int:
    """The Newton-Raphson loop shared by gemmlowp's 1/(1+x) and (1-x)/(1+x): ~1/(half
    denominator) in Q2.29 for a in Q0.31."""
    total = a + INT32_MAX  # RoundingHalfSum(a, One): (sum + sign) / 2, C division toward zero
    total += 1 if total >= 0 else -1
    half_denominator = total // 2 if total >= 0 else -((-total) // 2)
    x = _w32(1515870810 + _mul(half_denominator, -1010580540))  # 48/17 - 32/17 * d
    for _ in range(3):
        one_minus = _w32((1 << 29) - _mul(half_denominator, x))
        x = _w32(x + _rescale(_mul(x, one_minus), 4, 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    return _rescale(_newton_reciprocal(a), 1, 0)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    return _rescale(_w32(_newton_reciprocal(a) - (1 << 29)), 2, 0)


def fixed_logistic(a: int, int_bits: int) -> int:
    """gemmlowp's logistic: Q0.31 result of a FixedPoint with ``int_bits``."""
    if a == 0:
        return 1 << 30
    abs_a = a if a > 0 else _w32(-a)
    positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(_w32(-abs_a), int_bits))
    return positive if a > 0 else _w32(INT32_MAX - positive)


def fixed_tanh(a: int, int_bits: int) -> int:
    """gemmlowp's tanh: Q0.31 result of a FixedPoint with ``int_bits``."""
    if a == 0:
        return 0
    n = a if a < 0 else _w32(-a)
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, int_bits + 1))
    return _w32(-t) if a < 0 else t


# ---- LOGISTIC and TANH (int8) ----------------------------------------------------------------

_SIGMOID_INPUT_INTEGER_BITS = 4


def sigmoid_input_params(input_scale: float) -> tuple[int, int, int]:
    """TFLM's int8 LOGISTIC / TANH Prepare: ``(multiplier, left_shift, range_radius)`` of
    ``input_scale * 2**27`` (frexp, Q31 multiplier) and CalculateInputRadius(4, left_shift)."""
    s = float(input_scale)
    if not math.isfinite(s) or s <= 0.0:
        raise QuantizationError(f"the input scale is {s!r}: LOGISTIC / TANH need a finite positive scale")
    q, left_shift = math.frexp(s * float(1 << (31 - _SIGMOID_INPUT_INTEGER_BITS)))
    if left_shift < 0:
        raise QuantizationError(f"the input scale {s!r} is below 2**-28: TFLite's LOGISTIC / TANH cannot "
                                "represent it (re-export the model with calibrated quantization)")
    multiplier = _w32(tf_round(q * (1 << 31)))  # static_cast<int32_t>
    radius = calculate_input_radius(_SIGMOID_INPUT_INTEGER_BITS, left_shift, 31)
    return multiplier, left_shift, radius


def logistic_table(input_scale: float, input_zero_point: int) -> np.ndarray:
    """LOGISTIC int8 (output scale 1/256, zero point -128, which TFLM requires)."""
    mult, shift, radius = sigmoid_input_params(input_scale)

    def f(x: int) -> int:
        v = x - int(input_zero_point)
        if v <= -radius:
            return INT8_MIN
        if v >= radius:
            return INT8_MAX
        q4 = multiply_by_quantized_multiplier(v, mult, shift)
        out = rounding_divide_by_pot(fixed_logistic(q4, _SIGMOID_INPUT_INTEGER_BITS), 31 - 8)
        return _clamp8(out - 128)

    return table(f)


def tanh_table(input_scale: float, input_zero_point: int) -> np.ndarray:
    """TANH int8 (output scale 1/128, zero point 0 by TFLite's rule; TFLM assumes them)."""
    mult, shift, radius = sigmoid_input_params(input_scale)

    def f(x: int) -> int:
        v = x - int(input_zero_point)
        if v <= -radius:
            return INT8_MIN
        if v >= radius:
            return INT8_MAX
        q4 = multiply_by_quantized_multiplier(v, mult, shift)
        return _clamp8(rounding_divide_by_pot(fixed_tanh(q4, _SIGMOID_INPUT_INTEGER_BITS), 31 - 7))

    return table(f)


# ---- HARD_SWISH (int8, int16 fixed point) ----------------------------------------------------

def _w16(x: int) -> int:
    x &= 0xFFFF
    return x - (1 << 16) if x >= 1 << 15 else x


def _srdhm16(a: int, b: int) -> int:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int16."""
    if a == b == -(1 << 15):
        return (1 << 15) - 1
    ab = a * b
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    q = abs(ab + nudge) // (1 << 15)
    return _w16(q if ab + nudge >= 0 else -q)


def _sdhm16(a: int, b: int) -> int:
    """TFLite's SaturatingDoublingHighMul on int16 (truncating toward zero)."""
    if a == b == -(1 << 15):
        return (1 << 15) - 1
    ab = a * b
    q = abs(ab) // (1 << 15)
    return _w16(q if ab >= 0 else -q)


def _rdbpot16(x: int, exponent: int) -> int:
    """gemmlowp's RoundingDivideByPOT on int16: the mask ``(1 << exponent) - 1`` is truncated to
    int16, so exponents of 16 and more round every value to -1, 0 or +1 by its sign (TFLM does
    this for HARD_SWISH output shifts of 16 or more)."""
    mask = _w16((1 << exponent) - 1)
    threshold = _w16((mask >> 1) + (1 if x < 0 else 0))
    return _w16((x >> exponent) + (1 if (x & mask) > threshold else 0))


def _sat_left_shift16(v: int, amount: int) -> int:
    return min(max(v * (1 << amount), -(1 << 15)), (1 << 15) - 1)


def _downscale_multiplier16(m32: int) -> int:
    """TFLite's DownScaleInt32ToInt16Multiplier."""
    if m32 >= INT32_MAX - (1 << 15):
        return (1 << 15) - 1
    return (m32 + (1 << 15)) >> 16


def hard_swish_params(input_scale: float, output_scale: float) -> tuple[int, int, int, int]:
    """TFLM's int8 HARD_SWISH Prepare (float32 arithmetic as in C): ``(output multiplier int16,
    output exponent, reluish multiplier int16, reluish exponent)``."""
    hires = _f32(_f32(1.0 / 128.0) * _f32(input_scale))
    reluish_scale = _f32(3.0 / 32768.0)
    if _f32(output_scale) == 0.0:
        raise QuantizationError("the output scale of HARD_SWISH is 0")
    m_out, e_out = quantize_multiplier(_f32(hires / _f32(output_scale)))
    if e_out > 0:
        raise QuantizationError(f"HARD_SWISH input scale {input_scale!r} over 128 times the output scale "
                                f"{output_scale!r}: TFLite requires a non-positive output exponent")
    m_rel, e_rel = quantize_multiplier(_f32(hires / reluish_scale))
    return _downscale_multiplier16(m_out), e_out, _downscale_multiplier16(m_rel), e_rel


def hard_swish_table(input_scale: float, input_zero_point: int, output_scale: float,
                     output_zero_point: int) -> np.ndarray:
    m_out, e_out, m_rel, e_rel = hard_swish_params(input_scale, output_scale)

    def f(x: int) -> int:
        v = _w16(x - int(input_zero_point))
        hires = _w16(v * (1 << 7))
        pre_out = _srdhm16(hires, m_out)
        rel = hires
        if e_rel > 0:
            rel = _sat_left_shift16(rel, e_rel - 1)
        rel = _srdhm16(rel, m_rel)
        if e_rel > 0:
            rel = _sat_left_shift16(rel, 1)
        if e_rel < 0:
            rel = _rdbpot16(rel, -e_rel)
        rel = _w16((rel + (1 << 15)) >> 1)
        out = _rdbpot16(_sdhm16(rel, pre_out), -e_out)
        out = _w16(out + int(output_zero_point))
        return _clamp8(out)

    return table(f)


# ---- LEAKY_RELU and ABS ----------------------------------------------------------------------

def leaky_relu_params(input_scale: float, output_scale: float, alpha: float) -> tuple[int, int, int, int]:
    """TFLM's LEAKY_RELU Prepare: ``(alpha multiplier, alpha shift, identity multiplier, identity
    shift)``; the alpha product is float32 (``input scale * alpha / output scale``)."""
    s_in, s_out, a = _f32(input_scale), _f32(output_scale), _f32(alpha)
    if s_out == 0.0:
        raise QuantizationError("the output scale of LEAKY_RELU is 0")
    m_a, sh_a = quantize_multiplier(_f32(_f32(s_in * a) / s_out))
    m_i, sh_i = quantize_multiplier(_f32(s_in / s_out))
    return m_a, sh_a, m_i, sh_i


def leaky_relu_table(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                     alpha: float) -> np.ndarray:
    """LEAKY_RELU int8. A negative alpha gives a negative multiplier, which TFLM (the version
    edgefact checks against) passes to MultiplyByQuantizedMultiplier as it is; its rounding of
    ties then differs from negating a positive product, so the mirror does the same."""
    m_a, sh_a, m_i, sh_i = leaky_relu_params(input_scale, output_scale, alpha)

    def f(x: int) -> int:
        v = x - int(input_zero_point)
        m, sh = (m_i, sh_i) if v >= 0 else (m_a, sh_a)
        return _clamp8(int(output_zero_point) + multiply_by_quantized_multiplier(v, m, sh))

    return table(f)


def abs_table(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int) -> np.ndarray:
    """ABS int8: |x - zp_in| rescaled when the scales differ (float32 comparison, as TFLM)."""
    rescale = _f32(input_scale) != _f32(output_scale)
    m, sh = quantize_multiplier(float(_f32(input_scale)) / float(_f32(output_scale))) if rescale else (0, 0)

    def f(x: int) -> int:
        v = abs(x - int(input_zero_point))
        if not rescale:
            return _clamp8(v + int(output_zero_point))
        return _clamp8(multiply_by_quantized_multiplier(v, m, sh) + int(output_zero_point))

    return table(f)


# ---- RELU / RELU6 when the output quantization differs from the input's ------------------------

def relu_table(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int) -> np.ndarray:
    """TFLM's int8 RELU: ``zp_out + MBQM(x - zp_in, s_in / s_out)`` clamped to [max(-128, zp_out), 127]."""
    if _f32(output_scale) == 0.0:
        raise QuantizationError("the output scale of RELU is 0")
    m, sh = quantize_multiplier(float(_f32(input_scale)) / float(_f32(output_scale)))
    lo = max(INT8_MIN, int(output_zero_point))

    def f(x: int) -> int:
        v = int(output_zero_point) + multiply_by_quantized_multiplier(x - int(input_zero_point), m, sh)
        return min(max(v, lo), INT8_MAX)

    return table(f)


def relu6_table(input_scale: float, input_zero_point: int) -> np.ndarray:
    """TFLM's int8 RELU6: the raw input clamped to [zp_in, q(6.0)] on the *input's* quantization
    (TFLM ignores the output's), q(6.0) = round(6.0f / s_in) + zp_in saturated to int8."""
    s = _f32(input_scale)
    if s == 0.0:
        raise QuantizationError("the input scale of RELU6 is 0")
    six = _clamp8(tf_round(_f32(6.0 / s)) + int(input_zero_point))
    return table(lambda x: min(max(x, int(input_zero_point)), six))
