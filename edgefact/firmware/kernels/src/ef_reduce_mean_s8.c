/* MEAN over any axes, TFLite Micro's integer arithmetic (reference QuantizedMeanOrSum): each
 * output is the int32 sum of its input elements minus zero point x count, requantized once with
 * 1/count folded into the multiplier: k = min(floor(log2(count)), 32, 31 + shift),
 * multiplier' = (multiplier << k) / count, shift' = shift - k. Output elements are visited in
 * order (the `outer` view of the kept axes) and each sums its `inner` view (the reduced axes), so
 * no scratch is needed; an inner view whose innermost stride is 1 sums contiguous runs. */
#include "internal/ef_nn_internal.h"

/* Lowest and highest element offset a view reaches (from its own offset); 0 when invalid. */
static int ef_view_span(const ef_strided_copy_params *v, int64_t *lo, int64_t *hi, int64_t *count)
{
    if (v->ndims < 1 || v->ndims > EF_COPY_MAX_DIMS) {
        return 0;
    }
    *lo = 0;
    *hi = 0;
    *count = 1;
    for (int32_t k = 0; k < v->ndims; ++k) {
        if (v->extent[k] < 1) {
            return 0;
        }
        const int64_t span = (int64_t)(v->extent[k] - 1) * v->stride[k];
        if (span < 0) {
            *lo += span;
        } else {
            *hi += span;
        }
        *count *= v->extent[k];
    }
    return 1;
}

/* Sum of the inner view's elements starting at `base`. */
static int32_t ef_view_sum(const int8_t *base, const ef_strided_copy_params *v)
{
    const int32_t nd = v->ndims;
    const int32_t row = v->extent[nd - 1];
    const int32_t s = v->stride[nd - 1];
    int32_t idx[EF_COPY_MAX_DIMS] = {0};
    int32_t pos = 0;
    int32_t acc = 0;
    for (;;) {
        const int8_t *p = base + pos;
        if (s == 1) {
            for (int32_t i = 0; i < row; ++i) {
                acc += p[i];
            }
        } else {
            for (int32_t i = 0; i < row; ++i) {
                acc += p[i * s];
            }
        }
        int32_t k = nd - 2;
        for (; k >= 0; --k) {
            pos += v->stride[k];
            if (++idx[k] < v->extent[k]) {
                break;
            }
            pos -= v->extent[k] * v->stride[k];
            idx[k] = 0;
        }
        if (k < 0) {
            return acc;
        }
    }
}

ef_status ef_reduce_mean_s8(const ef_mean_params *params, const ef_strided_copy_params *outer,
                            const ef_strided_copy_params *inner, const int8_t *input, int32_t input_size,
                            int8_t *output)
{
    if (params == 0 || outer == 0 || inner == 0 || input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    int64_t olo, ohi, n_out, ilo, ihi, count;
    if (!ef_view_span(outer, &olo, &ohi, &n_out) || !ef_view_span(inner, &ilo, &ihi, &count) ||
        inner->offset != 0 || count > ((int64_t)1 << 24)) {
        return EF_ERR_DIMS; /* (a count beyond 2^24 could overflow the int32 sum) */
    }
    if (outer->offset + olo + ilo < 0 || outer->offset + ohi + ihi >= input_size) {
        return EF_ERR_DIMS;
    }
    if (!ef_activation_valid(&params->activation) || !ef_shift_valid(params->shift) || params->multiplier < 0) {
        return EF_ERR_PARAM;
    }
    int32_t k = 0;
    while (k < 32 && ((int64_t)1 << (k + 1)) <= count) {
        ++k;
    }
    k = EF_MIN(k, 31 + params->shift);
    const int32_t mult = (int32_t)(((int64_t)params->multiplier << k) / count);
    const int32_t shift = params->shift - k;
    const int32_t zp_term = params->input_offset * (int32_t)count;

    const int32_t nd = outer->ndims;
    int32_t idx[EF_COPY_MAX_DIMS] = {0};
    int32_t pos = outer->offset;
    for (;;) {
        for (int32_t i = 0; i < outer->extent[nd - 1]; ++i) {
            const int32_t sum = ef_view_sum(input + pos + i * outer->stride[nd - 1], inner);
            const int32_t v = ef_requantize(sum + zp_term, mult, shift) + params->output_offset;
            *output++ = ef_clamp_to_s8(v, params->activation.min, params->activation.max);
        }
        int32_t d = nd - 2;
        for (; d >= 0; --d) {
            pos += outer->stride[d];
            if (++idx[d] < outer->extent[d]) {
                break;
            }
            pos -= outer->extent[d] * outer->stride[d];
            idx[d] = 0;
        }
        if (d < 0) {
            return EF_OK;
        }
    }
}
