/* gemmlowp-style fixed-point helpers (Q-format int32, TFLite's rounding conventions) shared by
 * the kernels that evaluate exp / log / reciprocals in fixed point (ef_softmax_s8,
 * ef_log_softmax_s8), plus the logarithm of TFLite's log_x_for_x_greater_than_or_equal_to_1. */
#ifndef EF_FIXEDPOINT_H
#define EF_FIXEDPOINT_H

#include "internal/ef_nn_internal.h"

/* x * 2^exponent, saturating (gemmlowp's SaturatingRoundingMultiplyByPOT, 0 <= exponent < 32). */
static inline int32_t ef_fx_sat_shift_left(int32_t x, int32_t exponent)
{
    if (exponent == 0) {
        return x;
    }
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

static inline int32_t ef_fx_mul(int32_t a, int32_t b)
{
    return ef_sat_rounding_doubling_high_mul(a, b);
}

/* Wrapping add / subtract of raw values (gemmlowp's FixedPoint + and -). */
static inline int32_t ef_fx_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t ef_fx_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

static inline int32_t ef_fx_clamp64(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : (int32_t)v);
}

/* gemmlowp's RoundingHalfSum: (a + b) / 2 rounded half away from zero. */
static inline int32_t ef_fx_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static inline int32_t ef_fx_exp_on_neg_quarter(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;             /* 1/3 in Q0.31 */
    const int32_t x = a + (1 << 28);                 /* a + 1/8 */
    const int32_t x2 = ef_fx_mul(x, x);
    const int32_t x3 = ef_fx_mul(x2, x);
    const int32_t x4 = ef_fx_mul(x2, x2);
    const int32_t x4_over_4 = ef_rounding_divide_by_pot(x4, 2);
    const int32_t poly = ef_rounding_divide_by_pot(ef_fx_mul(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + ef_fx_mul(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0 given in Q5.26; result in Q0.31. */
static inline int32_t ef_fx_exp_on_negative_values_q5(int32_t a)
{
    const int frac_bits = 26;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_quarter = (a & mask) - one_quarter;
    int32_t result = ef_fx_exp_on_neg_quarter(ef_fx_sat_shift_left(a_mod_quarter_minus_quarter, 5));
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    /* exp(-2^k) in Q0.31 for k = -2 .. 4, applied for each set bit of the remainder */
    static const int32_t factors[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    for (int k = 0; k < 7; ++k) {
        if (remainder & ((int32_t)1 << (frac_bits - 2 + k))) {
            result = ef_fx_mul(result, factors[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + x) for x in [0, 1), Q0.31 in and out (Newton-Raphson, 3 steps, in Q2.29). */
static inline int32_t ef_fx_one_over_one_plus_x(int32_t a)
{
    const int32_t half_denominator = ef_fx_rounding_half_sum(a, INT32_MAX);
    int32_t x = 1515870810 + ef_fx_mul(half_denominator, -1010580540); /* 48/17 - 32/17 d */
    for (int i = 0; i < 3; ++i) {
        const int32_t one_minus = (1 << 29) - ef_fx_mul(half_denominator, x);
        x = x + ef_fx_sat_shift_left(ef_fx_mul(x, one_minus), 2);
    }
    return ef_fx_sat_shift_left(x, 1);
}

/* log(x) for x >= 1 given in Q12.19; result in Q5.26 (TFLite's
 * log_x_for_x_greater_than_or_equal_to_1<5>, accumulated in Q6.25): x = 2^z * r with r near
 * 2^(1/4) picked from two normalisations, log r by a rational approximation in
 * q = 2 (r - 2^(-1/4)). */
static inline int32_t ef_fx_log_q12_to_q5(int32_t x)
{
    const int in_bits = 12;
    const int acc_bits = 6;
    const int32_t log_2 = 1488522236;          /* log(2) in Q0.31 */
    const int32_t sqrt_sqrt_half = 1805811301; /* 2^(-1/4) */
    const int32_t sqrt_half = 1518500250;      /* 2^(-1/2) */
    const int32_t alpha_n = 117049297;         /* 11/240 * 2^(1/4) */
    const int32_t alpha_d = 127690142;         /* 1/20 * 2^(1/4) */
    const int32_t alpha_i = 1057819769;        /* 2 / 2^(1/4) - 2^(1/4) */
    const int32_t alpha_f = 638450708;         /* 1/4 * 2^(1/4) */
    const int32_t shifted_quarter = ef_rounding_divide_by_pot(536870912, acc_bits); /* 1/4 in Q6 */

    const int32_t z_a_headroom_plus_1 = x == 0 ? 32 : __builtin_clz((uint32_t)x);
    const int32_t r_a_tmp = ef_fx_sat_shift_left(x, z_a_headroom_plus_1 - 1);
    const int32_t r_a = ef_fx_sat_shift_left(ef_fx_mul(r_a_tmp, sqrt_half), 1);
    const int32_t z_a_pow_2_adj = ef_fx_clamp64(
        (int64_t)ef_fx_sat_shift_left(in_bits - z_a_headroom_plus_1, 31 - acc_bits) + shifted_quarter);
    const int32_t z_b = ef_fx_mul(x, sqrt_half);
    const int32_t z_b_headroom = (z_b == 0 ? 32 : __builtin_clz((uint32_t)z_b)) - 1;
    const int32_t r_b = ef_fx_sat_shift_left(x, z_b_headroom);
    const int32_t z_b_pow_2_adj = ef_fx_clamp64(
        (int64_t)ef_fx_sat_shift_left(in_bits - z_b_headroom, 31 - acc_bits) - shifted_quarter);
    const int32_t r = EF_MIN(r_a, r_b);
    const int32_t z_pow_2_adj = EF_MAX(z_a_pow_2_adj, z_b_pow_2_adj);

    const int32_t p = ef_fx_rounding_half_sum(r, sqrt_sqrt_half);
    int32_t q = ef_fx_sub(r, sqrt_sqrt_half);
    q = ef_fx_add(q, q);
    const int32_t common_sq = ef_fx_mul(q, q);
    const int32_t num = ef_fx_add(ef_fx_mul(q, r), ef_fx_mul(ef_fx_mul(q, common_sq), alpha_n));
    const int32_t denom_minus_one =
        ef_fx_add(ef_fx_mul(p, ef_fx_add(ef_fx_add(alpha_i, q), ef_fx_mul(alpha_d, common_sq))), ef_fx_mul(alpha_f, q));
    const int32_t recip_denom = ef_fx_one_over_one_plus_x(denom_minus_one);
    const int32_t num_scaled = ef_rounding_divide_by_pot(num, acc_bits);
    return ef_fx_sat_shift_left(ef_fx_add(ef_fx_mul(z_pow_2_adj, log_2), ef_fx_mul(num_scaled, recip_denom)), 1);
}

#endif /* EF_FIXEDPOINT_H */
