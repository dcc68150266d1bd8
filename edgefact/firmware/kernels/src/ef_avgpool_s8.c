/* AVERAGE_POOL_2D: mean of the in-bounds taps (padding is not counted), rounded half away
 * from zero, in the input's quantization (TFLite requires output scale/zp == input's). */
#include "internal/ef_mve_pool.h"
#include "internal/ef_pool_check.h"

#if defined(EF_NN_USE_MVE)
/* One output pixel, channels c0..c0+cnt-1 (16 when full): the window sums, then the rounded
 * division as a multiply: with n = |sum| + count / 2 and M = ceil(2^32 / count), n / count =
 * (n * M) >> 32 exactly when n * count < 2^32 (count <= EF_AVG_MVE_MAX_COUNT: |sum| <= 128 *
 * count), and C's truncating division of a negative sum is minus that of |sum|. */
#define EF_AVG_MVE_MAX_COUNT 4096

/* (One out-of-line, tail-predicated instance: the pool is a small share of any model, its code
 * size counts.) */
static __attribute__((noinline)) void avg_block(const int8_t *src, int32_t rows, int32_t cols, int32_t row_step,
                                                int32_t col_step, int32_t count, uint32_t recip, int8_t *dst,
                                                int32_t cnt, int32x4_t lo, int32x4_t hi)
{
    /* full blocks unpredicated (GCC opens a VPST per predicated load) */
    const ef_mve_sum16 r = cnt == 16 ? ef_mve_window_sum16(src, rows, cols, row_step, col_step, 16, 1)
                                     : ef_mve_window_sum16(src, rows, cols, row_step, col_step, cnt, 0);
    for (int k = 0; k < 4; ++k) {
        const int32x4_t s = r.s[k];
        int32x4_t q = s;
        if (count > 1) {
            const uint32x4_t n = vreinterpretq_u32_s32(vaddq_n_s32(vabsq_s32(s), count / 2));
            q = vreinterpretq_s32_u32(vmulhq_u32(n, vdupq_n_u32(recip)));
            q = vpselq_s32(vnegq_s32(q), q, vcmpltq_n_s32(s, 0));
        }
        ef_mve_store4(dst, vminq_s32(vmaxq_s32(q, lo), hi), 4 * k, cnt, 0);
    }
}
#endif

ef_status ef_avgpool_s8(const ef_pool_params *params,
                        const ef_dims *input_dims, const int8_t *input,
                        const ef_dims *output_dims, int8_t *output)
{
    const ef_status st = ef_pool_check(params, input_dims, input, output_dims, output);
    if (st != EF_OK) {
        return st;
    }
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy0 = oy * params->stride.h - params->padding.h;
            const int32_t ky0 = EF_MAX(0, -iy0);
            const int32_t ky1 = EF_MIN(params->filter.h, in->h - iy0);
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t ix0 = ox * params->stride.w - params->padding.w;
                const int32_t kx0 = EF_MAX(0, -ix0);
                const int32_t kx1 = EF_MIN(params->filter.w, in->w - ix0);
                const int32_t count = (ky1 - ky0) * (kx1 - kx0);
#if defined(EF_NN_USE_MVE)
                if (count >= 1 && count <= EF_AVG_MVE_MAX_COUNT) {
                    const uint32_t recip = count > 1 ? 0xFFFFFFFFu / (uint32_t)count + 1u : 0u;
                    const int32x4_t lo = vdupq_n_s32(params->activation.min);
                    const int32x4_t hi = vdupq_n_s32(params->activation.max);
                    const int8_t *src = input + ((b * in->h + iy0 + ky0) * in->w + ix0 + kx0) * in->c;
                    const int32_t row_step = in->w * in->c;
                    for (int32_t c = 0; c < in->c; c += 16) {
                        avg_block(src + c, ky1 - ky0, kx1 - kx0, row_step, in->c, count, recip, dst + c,
                                  EF_MIN(16, in->c - c), lo, hi);
                    }
                    dst += out->c;
                    continue;
                }
#endif
                int32_t c = 0;
#if defined(EF_NN_USE_DSP)
                /* 4 channels per word: SXTAB16 halfword sums, the same rounded division */
                if (count > 0) {
                    const int8_t *src = input + ((b * in->h + iy0 + ky0) * in->w + ix0 + kx0) * in->c;
                    for (; c + 4 <= in->c; c += 4) {
                        int32_t s[4];
                        ef_dsp_window_sum4(src + c, ky1 - ky0, kx1 - kx0, in->w * in->c, in->c, s);
                        for (int q = 0; q < 4; ++q) {
                            const int32_t sum = s[q];
                            const int32_t avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                            dst[c + q] = ef_clamp_to_s8(avg, params->activation.min, params->activation.max);
                        }
                    }
                }
#endif
                for (; c < in->c; ++c) {
                    int32_t sum = 0;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *src = input + ((b * in->h + iy0 + ky) * in->w + ix0 + kx0) * in->c + c;
                        for (int32_t kx = 0; kx < kx1 - kx0; ++kx) {
                            sum += src[kx * in->c];
                        }
                    }
                    int32_t avg = 0;
                    if (count > 0) {
                        avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    }
                    dst[c] = ef_clamp_to_s8(avg, params->activation.min, params->activation.max);
                }
                dst += out->c;
            }
        }
    }
    return EF_OK;
}
