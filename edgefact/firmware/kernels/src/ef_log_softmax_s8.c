/* LOG_SOFTMAX int8 -> int8, TFLite's reference integer algorithm (reference_integer_ops::
 * LogSoftmax): per row, diff = x - max(row); the exponentials of the diffs >= diff_min, rescaled
 * to Q5.26, summed in Q12.19; log of the sum in Q5.26; outputs above the adjusted lower bound
 * (the smallest Q5 value the log leaves representable, scaled back to input units) are
 * (diff_q5 - log) / 2^22 + 127, the others -128. The output is in place-safe: a row is read
 * completely (max, sum) before any of it is written, and each value is read before its write. */
#include "internal/ef_fixedpoint.h"

/* MultiplyByQuantizedMultiplier with a left shift (TFLite: x * 2^shift, then the high multiply). */
static inline int32_t ef_ls_rescale(int32_t diff, const ef_log_softmax_params *p)
{
    return ef_sat_rounding_doubling_high_mul((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
}

ef_status ef_log_softmax_s8(const ef_log_softmax_params *params, const int8_t *input, int32_t rows,
                            int32_t depth, int8_t *output)
{
    if (params == 0 || input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (rows < 1 || depth < 1 || depth > 4096) {
        return EF_ERR_DIMS;
    }
    if (params->input_left_shift < 0 || params->input_left_shift > 31 ||
        !ef_shift_valid(params->reverse_scaling_left_shift) || params->reverse_scaling_left_shift > 0) {
        return EF_ERR_PARAM;
    }
    const int32_t diff_min = params->diff_min;
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *x = input + r * depth;
        int8_t *y = output + r * depth;
        int32_t max_in_row = -128;
        for (int32_t i = 0; i < depth; ++i) {
            max_in_row = EF_MAX(max_in_row, x[i]);
        }
        int32_t sum_q12 = 0;
        for (int32_t i = 0; i < depth; ++i) {
            const int32_t diff = x[i] - max_in_row;
            if (diff >= diff_min) {
                const int32_t d5 = ef_ls_rescale(diff, params);
                sum_q12 = ef_fx_add(sum_q12, ef_rounding_divide_by_pot(ef_fx_exp_on_negative_values_q5(d5), 12));
            }
        }
        const int32_t log_q5 = ef_fx_log_q12_to_q5(sum_q12);
        const int32_t shifted_log = ef_fx_add(log_q5, INT32_MIN);
        const int32_t adjusted_diff_min =
            EF_MAX(diff_min - 1, ef_requantize(shifted_log, params->reverse_scaling_divisor,
                                               params->reverse_scaling_left_shift));
        for (int32_t i = 0; i < depth; ++i) {
            const int32_t diff = x[i] - max_in_row;
            if (diff > adjusted_diff_min) {
                const int32_t d5 = ef_ls_rescale(diff, params);
                const int32_t v = ef_rounding_divide_by_pot(ef_fx_sub(d5, log_q5), 31 - 5 - 4) + 127;
                y[i] = ef_clamp_to_s8(v, -128, 127);
            } else {
                y[i] = -128;
            }
        }
    }
    return EF_OK;
}
