/*
 * SOFTMAX int8 -> int8 with TFLite's fixed-point reference algorithm:
 *   diff = x - max(row), rescaled to Q5.26 by (input_multiplier, input_left_shift);
 *   exp(diff) in Q0.31 by a polynomial on [-1/4, 0) and a barrel of exp(-2^k) factors;
 *   sum of exps in Q12.19; reciprocal by Newton-Raphson; output = exp * (1/sum) in 1/256 units.
 * Every step is integer arithmetic with gemmlowp's rounding conventions.
 */
#include "internal/ef_fixedpoint.h"

/* the rescaled difference is Q5.26: ef_fx_exp_on_negative_values_q5 */
#define EF_SM_ACC_INT_BITS 12  /* integer bits of the sum of exponentials */

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
                const int32_t e = ef_fx_exp_on_negative_values_q5(rescaled_diff(params, diff));
                sum_of_exps += ef_rounding_divide_by_pot(e, EF_SM_ACC_INT_BITS);
            }
        }
        const int headroom_plus_one = sum_of_exps == 0 ? 32 : __builtin_clz((uint32_t)sum_of_exps);
        const int num_bits_over_unit = EF_SM_ACC_INT_BITS - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = ef_fx_one_over_one_plus_x(shifted_sum_minus_one);
        for (int32_t i = 0; i < depth; ++i) {
            const int32_t diff = x[i] - max_v;
            if (diff >= params->diff_min) {
                const int32_t e = ef_fx_exp_on_negative_values_q5(rescaled_diff(params, diff));
                const int32_t unsat = ef_rounding_divide_by_pot(ef_fx_mul(shifted_scale, e),
                                                                num_bits_over_unit + 31 - 8);
                y[i] = ef_clamp_to_s8(unsat - 128, -128, 127);
            } else {
                y[i] = -128;
            }
        }
    }
    return EF_OK;
}
