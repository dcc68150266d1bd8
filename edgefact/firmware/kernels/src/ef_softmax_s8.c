/*
 * SOFTMAX int8 -> int8 with TFLite's fixed-point reference algorithm:
 *   diff = x - max(row), rescaled to Q5.26 by (input_multiplier, input_left_shift);
 *   exp(diff) in Q0.31 by a polynomial on [-1/4, 0) and a barrel of exp(-2^k) factors;
 *   sum of exps in Q12.19; reciprocal by Newton-Raphson; output = exp * (1/sum) in 1/256 units.
 * Every step is integer arithmetic with gemmlowp's rounding conventions.
 */
#include "internal/ef_nn_internal.h"

#define EF_SM_DIFF_INT_BITS 5  /* integer bits of the rescaled difference */
#define EF_SM_ACC_INT_BITS 12  /* integer bits of the sum of exponentials */

/* x * 2^exponent, saturating (exponent > 0). */
static int32_t sat_shift_left(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

static int32_t fx_mul(int32_t a, int32_t b)
{
    return ef_sat_rounding_doubling_high_mul(a, b);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static int32_t exp_on_neg_quarter(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;             /* 1/3 in Q0.31 */
    const int32_t x = a + (1 << 28);                 /* a + 1/8 */
    const int32_t x2 = fx_mul(x, x);
    const int32_t x3 = fx_mul(x2, x);
    const int32_t x4 = fx_mul(x2, x2);
    const int32_t x4_over_4 = ef_rounding_divide_by_pot(x4, 2);
    const int32_t poly = ef_rounding_divide_by_pot(fx_mul(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + fx_mul(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0 given in Q5.26; result in Q0.31. */
static int32_t exp_on_negative_values(int32_t a)
{
    const int frac_bits = 31 - EF_SM_DIFF_INT_BITS;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_quarter = (a & mask) - one_quarter;
    int32_t result = exp_on_neg_quarter(sat_shift_left(a_mod_quarter_minus_quarter, EF_SM_DIFF_INT_BITS));
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    /* exp(-2^k) in Q0.31 for k = -2 .. 4, applied for each set bit of the remainder. */
    static const int32_t factors[7] = {1672461947, 1302514674, 790015084, 290630308,
                                       39332535, 720401, 242};
    for (int k = 0; k < 7; ++k) {
        if (remainder & ((int32_t)1 << (frac_bits - 2 + k))) {
            result = fx_mul(result, factors[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + x) for x in [0, 1), Q0.31 in and out (Newton-Raphson, 3 steps, in Q2.29). */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t c48_over_17 = 1515870810;
    const int32_t cneg32_over_17 = -1010580540;
    int32_t x = c48_over_17 + fx_mul(half_denominator, cneg32_over_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t hdx = fx_mul(half_denominator, x);
        const int32_t one_minus = (1 << 29) - hdx;
        x = x + sat_shift_left(fx_mul(x, one_minus), 2);
    }
    return sat_shift_left(x, 1);
}

static int count_leading_zeros(uint32_t x)
{
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        ++n;
    }
    return n;
}

static inline int32_t rescaled_diff(const ef_softmax_params *p, int32_t diff)
{
    return ef_sat_rounding_doubling_high_mul((int32_t)((uint32_t)diff << p->input_left_shift),
                                             p->input_multiplier);
}

ef_status ef_softmax_s8(const ef_softmax_params *params, const int8_t *input,
                        int32_t rows, int32_t depth, int8_t *output)
{
    if (params == 0 || input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (rows <= 0 || depth <= 0) {
        return EF_ERR_DIMS;
    }
    if (params->input_left_shift < 0 || params->input_left_shift > 31 || params->diff_min > 0) {
        return EF_ERR_PARAM;
    }
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *x = input + r * depth;
        int8_t *y = output + r * depth;
        int32_t max_v = x[0];
        for (int32_t i = 1; i < depth; ++i) {
            max_v = EF_MAX(max_v, (int32_t)x[i]);
        }
        int32_t sum_of_exps = 0; /* Q12.19 */
        for (int32_t i = 0; i < depth; ++i) {
            const int32_t diff = x[i] - max_v;
            if (diff >= params->diff_min) {
                const int32_t e = exp_on_negative_values(rescaled_diff(params, diff));
                sum_of_exps += ef_rounding_divide_by_pot(e, EF_SM_ACC_INT_BITS);
            }
        }
        const int headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        const int num_bits_over_unit = EF_SM_ACC_INT_BITS - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = one_over_one_plus_x(shifted_sum_minus_one);
        for (int32_t i = 0; i < depth; ++i) {
            const int32_t diff = x[i] - max_v;
            if (diff >= params->diff_min) {
                const int32_t e = exp_on_negative_values(rescaled_diff(params, diff));
                const int32_t unsat = ef_rounding_divide_by_pot(fx_mul(shifted_scale, e),
                                                                num_bits_over_unit + 31 - 8);
                y[i] = ef_clamp_to_s8(unsat - 128, -128, 127);
            } else {
                y[i] = -128;
            }
        }
    }
    return EF_OK;
}
