/* L2_NORMALIZATION, int8, TFLite Micro's integer algorithm (reference_integer_ops::
 * L2Normalization): per row, acc = sum((x - zp)^2); the inverse square root of acc as a
 * multiplier and shift (GetInvSqrtQuantizedMultiplierExp: acc normalised into [2^27, 2^29) by
 * bit pairs, five Newton-Raphson steps x = 1.5 x - (acc / 2) x^3 in gemmlowp's Q3.28 fixed point
 * (products by SaturatingRoundingDoublingHighMul, rescales by saturating shifts), times
 * sqrt(2) / 2); every value is then MultiplyByQuantizedMultiplier(x - zp, mult, shift + 7) into
 * the fixed output scale 1/128, clamped to int8. */
#include "internal/ef_nn_internal.h"

/* gemmlowp's SaturatingRoundingMultiplyByPOT<exponent> for 0 < exponent < 31. */
static int32_t ef_sat_shift_left(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* GetInvSqrtQuantizedMultiplierExp(input, kReverseShift = -1): the multiplier and the (left)
 * shift of 1 / sqrt(input). */
static void ef_inv_sqrt_multiplier(int32_t input, int32_t *multiplier, int32_t *shift)
{
    if (input <= 1) {
        *multiplier = INT32_MAX;
        *shift = 0;
        return;
    }
    int32_t s = 11;
    while (input >= (1 << 29)) {
        input /= 4;
        ++s;
    }
    const int32_t max_left_shift_bits = __builtin_clz((uint32_t)input) - 1;
    const int32_t pairs = max_left_shift_bits / 2 - 1;
    s -= pairs;
    input <<= 2 * pairs;
    /* Q3.28 (3 integer bits) */
    const int32_t fx_input = input >> 1;
    const int32_t fx_half_input = ef_rounding_divide_by_pot(fx_input, 1);
    const int32_t fx_half_three = (1 << 28) + (1 << 27); /* 1.5 */
    int32_t x = 1 << 28;                                /* 1.0 */
    for (int i = 0; i < 5; ++i) {
        /* x^3: Q3 * Q3 = Q6, Q6 * Q3 = Q9, rescaled to Q3 (a saturating left shift by 6) */
        const int32_t x2 = ef_sat_rounding_doubling_high_mul(x, x);
        const int32_t x3 = ef_sat_shift_left(ef_sat_rounding_doubling_high_mul(x2, x), 6);
        /* 1.5 x - (input / 2) x^3, both in Q6, rescaled to Q3 (left shift by 3) */
        const int32_t a = ef_sat_rounding_doubling_high_mul(fx_half_three, x);
        const int32_t b = ef_sat_rounding_doubling_high_mul(fx_half_input, x3);
        x = ef_sat_shift_left((int32_t)((uint32_t)a - (uint32_t)b), 3);
    }
    x = ef_sat_rounding_doubling_high_mul(x, 1518500250); /* times sqrt(2) / 2 in Q0.31 */
    if (s < 0) {
        x = (int32_t)((uint32_t)x << -s);
        s = 0;
    }
    *multiplier = x;
    *shift = -s; /* a right shift of s */
}

ef_status ef_l2_normalization_s8(int32_t input_offset, const int8_t *input, int32_t rows, int32_t depth,
                                 int8_t *output)
{
    if (input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (rows < 1 || depth < 1 || depth > (1 << 16)) {
        return EF_ERR_DIMS;
    }
    if (input_offset < -127 || input_offset > 128) {
        return EF_ERR_PARAM;
    }
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *x = input + r * depth;
        int8_t *y = output + r * depth;
        int32_t acc = 0;
        for (int32_t i = 0; i < depth; ++i) {
            const int32_t v = x[i] + input_offset;
            acc += v * v;
        }
        int32_t mult, shift;
        ef_inv_sqrt_multiplier(acc, &mult, &shift);
        for (int32_t i = 0; i < depth; ++i) {
            const int32_t v = ef_requantize(x[i] + input_offset, mult, shift + 7);
            y[i] = ef_clamp_to_s8(v, -128, 127);
        }
    }
    return EF_OK;
}
