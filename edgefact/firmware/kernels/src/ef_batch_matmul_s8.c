/* BATCH_MATMUL, int8, TFLite Micro's arithmetic: each output is the int32 sum over k of
 * (lhs + lhs_offset) * (rhs + rhs_offset), requantized once (per tensor). Operands are read by
 * element strides (adjoints and broadcast batches included). With both depth strides 1 the sum is
 * a contiguous dot product: sum((l + ol) * r) + or * (sum(l) + K * ol), the lhs row sum taken
 * once per row. */
#include "internal/ef_nn_internal.h"

/* Highest element index a set of (extent, stride) pairs reaches from 0, or -1 if one goes below 0. */
static int64_t ef_bmm_reach(const int32_t *extent, const int32_t *stride, int32_t n)
{
    int64_t hi = 0;
    for (int32_t i = 0; i < n; ++i) {
        if (stride[i] < 0) {
            return -1;
        }
        hi += (int64_t)(extent[i] - 1) * stride[i];
    }
    return hi;
}

ef_status ef_batch_matmul_s8(const ef_batch_matmul_params *params, const int8_t *lhs, int32_t lhs_size,
                             const int8_t *rhs, int32_t rhs_size, int8_t *output)
{
    if (params == 0 || lhs == 0 || rhs == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    const ef_batch_matmul_params *p = params;
    const int32_t M = p->rows;
    const int32_t K = p->depth;
    const int32_t N = p->cols;
    if (M < 1 || K < 1 || N < 1) {
        return EF_ERR_DIMS;
    }
    for (int32_t i = 0; i < 4; ++i) {
        if (p->batch[i] < 1) {
            return EF_ERR_DIMS;
        }
    }
    const int32_t l_ext[6] = {p->batch[0], p->batch[1], p->batch[2], p->batch[3], M, K};
    const int32_t l_str[6] = {p->lhs_batch_stride[0], p->lhs_batch_stride[1], p->lhs_batch_stride[2],
                              p->lhs_batch_stride[3], p->lhs_row_stride, p->lhs_depth_stride};
    const int32_t r_ext[6] = {p->batch[0], p->batch[1], p->batch[2], p->batch[3], K, N};
    const int32_t r_str[6] = {p->rhs_batch_stride[0], p->rhs_batch_stride[1], p->rhs_batch_stride[2],
                              p->rhs_batch_stride[3], p->rhs_depth_stride, p->rhs_col_stride};
    const int64_t l_hi = ef_bmm_reach(l_ext, l_str, 6);
    const int64_t r_hi = ef_bmm_reach(r_ext, r_str, 6);
    if (l_hi < 0 || r_hi < 0 || l_hi >= lhs_size || r_hi >= rhs_size) {
        return EF_ERR_DIMS;
    }
    if (!ef_activation_valid(&p->activation) || !ef_shift_valid(p->shift)) {
        return EF_ERR_PARAM;
    }
    const int32_t ol = p->lhs_offset;
    const int32_t orr = p->rhs_offset;
    const int contiguous = p->lhs_depth_stride == 1 && p->rhs_depth_stride == 1;
    for (int32_t b0 = 0; b0 < p->batch[0]; ++b0) {
        for (int32_t b1 = 0; b1 < p->batch[1]; ++b1) {
            for (int32_t b2 = 0; b2 < p->batch[2]; ++b2) {
                for (int32_t b3 = 0; b3 < p->batch[3]; ++b3) {
                    const int8_t *L = lhs + b0 * p->lhs_batch_stride[0] + b1 * p->lhs_batch_stride[1] +
                                      b2 * p->lhs_batch_stride[2] + b3 * p->lhs_batch_stride[3];
                    const int8_t *R = rhs + b0 * p->rhs_batch_stride[0] + b1 * p->rhs_batch_stride[1] +
                                      b2 * p->rhs_batch_stride[2] + b3 * p->rhs_batch_stride[3];
                    for (int32_t m = 0; m < M; ++m) {
                        const int8_t *lrow = L + m * p->lhs_row_stride;
                        int32_t lsum = 0;
                        if (contiguous) {
                            for (int32_t k = 0; k < K; ++k) {
                                lsum += lrow[k];
                            }
                            lsum = orr * (lsum + K * ol);
                        }
                        for (int32_t n = 0; n < N; ++n) {
                            const int8_t *rcol = R + n * p->rhs_col_stride;
                            int32_t acc;
                            if (contiguous) {
                                acc = ef_dot_s8_s8_offset(lrow, ol, rcol, K) + lsum;
                            } else {
                                acc = 0;
                                for (int32_t k = 0; k < K; ++k) {
                                    acc += ((int32_t)lrow[k * p->lhs_depth_stride] + ol) *
                                           ((int32_t)rcol[k * p->rhs_depth_stride] + orr);
                                }
                            }
                            acc = ef_requantize(acc, p->multiplier, p->shift) + p->output_offset;
                            *output++ = ef_clamp_to_s8(acc, p->activation.min, p->activation.max);
                        }
                    }
                }
            }
        }
    }
    return EF_OK;
}
