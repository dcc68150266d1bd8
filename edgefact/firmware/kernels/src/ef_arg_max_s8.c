/* ARG_MAX / ARG_MIN int8: the index of the largest (smallest) value along one axis, the first one
 * on a tie (TFLite's ArgMinMax compares with a strict > / <), written as int32 or int64. */
#include "internal/ef_nn_internal.h"

static void put_index(void *output, int32_t k, int32_t index, int32_t output_bytes)
{
    if (output_bytes == 8) {
        ((int64_t *)output)[k] = (int64_t)index;
    } else {
        ((int32_t *)output)[k] = index;
    }
}

#if defined(EF_NN_USE_MVE)
/* A contiguous row (the channel axis): the extreme value by VMAXV / VMINV over 16 lanes per step
 * (the tail predicated), then the first lane equal to it by VCMPEQ (one predicate bit per byte
 * lane: its lowest set bit is the lane). */
static int32_t row_extreme_mve(const int8_t *row, int32_t n, int select_min)
{
    int8_t best = row[0];
    for (int32_t a = 0; a < n; a += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - a));
        const int8x16_t v = vldrbq_z_s8(row + a, p);
        best = select_min ? vminvq_p_s8(best, v, p) : vmaxvq_p_s8(best, v, p);
    }
    for (int32_t a = 0; a < n; a += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - a));
        const mve_pred16_t eq = vcmpeqq_m_n_s8(vldrbq_z_s8(row + a, p), best, p);
        if (eq != 0) {
            return a + (int32_t)__builtin_ctz((unsigned int)eq);
        }
    }
    return 0; /* not reached: best is one of the row's values */
}
#endif

static ef_status arg_extreme(const ef_arg_max_params *params, const int8_t *input, void *output, int select_min)
{
    if (params == 0 || input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    const int32_t outer = params->outer, n = params->axis_size, inner = params->inner;
    if (outer < 1 || n < 1 || inner < 1) {
        return EF_ERR_DIMS;
    }
    if (params->output_bytes != 4 && params->output_bytes != 8) {
        return EF_ERR_PARAM;
    }
    for (int32_t o = 0; o < outer; ++o) {
        const int8_t *block = input + (o * n) * inner;
#if defined(EF_NN_USE_MVE)
        if (inner == 1) {
            put_index(output, o, row_extreme_mve(block, n, select_min), params->output_bytes);
            continue;
        }
#endif
        for (int32_t i = 0; i < inner; ++i) {
            int8_t best = block[i];
            int32_t index = 0;
            for (int32_t a = 1; a < n; ++a) {
                const int8_t v = block[a * inner + i];
                if (select_min ? v < best : v > best) {
                    best = v;
                    index = a;
                }
            }
            put_index(output, o * inner + i, index, params->output_bytes);
        }
    }
    return EF_OK;
}

ef_status ef_arg_max_s8(const ef_arg_max_params *params, const int8_t *input, void *output)
{
    return arg_extreme(params, input, output, 0);
}

ef_status ef_arg_min_s8(const ef_arg_max_params *params, const int8_t *input, void *output)
{
    return arg_extreme(params, input, output, 1);
}
