/* ARG_MAX / ARG_MIN int8: the index of the largest (smallest) value along one axis, the first one
 * on a tie (TFLite's ArgMinMax compares with a strict > / <), written as int32 or int64. Along the
 * last axis (contiguous rows) Helium and DSP find the extreme value 16 / 4 bytes at a time and
 * then its first index; other axes take the portable strided loop. */
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

/* The first index of the largest value among n values `stride` bytes apart (portable). */
static int32_t strided_argmax(const int8_t *p, int32_t n, int32_t stride)
{
    int32_t best = *p, index = 0;
    for (int32_t a = 1; a < n; ++a) {
        p += stride;
        if (*p > best) {
            best = *p;
            index = a;
        }
    }
    return index;
}

static int32_t strided_argmin(const int8_t *p, int32_t n, int32_t stride)
{
    int32_t best = *p, index = 0;
    for (int32_t a = 1; a < n; ++a) {
        p += stride;
        if (*p < best) {
            best = *p;
            index = a;
        }
    }
    return index;
}

#if defined(EF_NN_USE_DSP)
/* 4 lanes at a time: SSUB8 sets GE[k] where byte k of a >= byte k of b, SEL picks per byte. */
static inline uint32_t lanes_max(uint32_t a, uint32_t b)
{
    (void)__ssub8(a, b);
    return __sel(a, b);
}

static inline uint32_t lanes_min(uint32_t a, uint32_t b)
{
    (void)__ssub8(a, b);
    return __sel(b, a);
}

/* A contiguous row (the channel axis): the extreme value of 4 bytes per word (SSUB8 + SEL, the
 * word's lanes folded at the end, the n % 4 tail in C), then the first index holding it. */
static int32_t row_extreme_dsp(const int8_t *row, int32_t n, int select_min)
{
    if (n < 8) { /* the second pass would cost more than the words save */
        return select_min ? strided_argmin(row, n, 1) : strided_argmax(row, n, 1);
    }
    uint32_t m = ef_read_u32(row);
    int32_t a = 4;
    for (; a + 4 <= n; a += 4) {
        const uint32_t v = ef_read_u32(row + a);
        m = select_min ? lanes_min(m, v) : lanes_max(m, v);
    }
    const uint32_t h = (m >> 16) | (m << 16); /* fold the word's lanes: 2, then 1 */
    m = select_min ? lanes_min(m, h) : lanes_max(m, h);
    const uint32_t q = (m >> 8) | (m << 24);
    m = select_min ? lanes_min(m, q) : lanes_max(m, q);
    int32_t best = (int8_t)(m & 0xFFu);
    for (; a < n; ++a) {
        if (select_min ? row[a] < best : row[a] > best) {
            best = row[a];
        }
    }
    int32_t index = 0;
    while (row[index] != best) {
        ++index;
    }
    return index;
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
#elif defined(EF_NN_USE_DSP)
        if (inner == 1) {
            put_index(output, o, row_extreme_dsp(block, n, select_min), params->output_bytes);
            continue;
        }
#endif
        for (int32_t i = 0; i < inner; ++i) {
            const int32_t index = select_min ? strided_argmin(block + i, n, inner) : strided_argmax(block + i, n, inner);
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
