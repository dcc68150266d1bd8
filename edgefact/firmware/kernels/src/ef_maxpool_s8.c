/* MAX_POOL_2D over the in-bounds taps. */
#include "internal/ef_pool_check.h"

#if defined(EF_NN_USE_MVE)
/* One output pixel, 16 channels per int8 vector (the last block predicated): VMAX over the taps. */
static inline __attribute__((always_inline)) void max_block(const int8_t *src, int32_t rows, int32_t cols,
                                                           int32_t row_step, int32_t col_step, int8_t *dst,
                                                           int32_t cnt, int8x16_t lo, int8x16_t hi)
{
    const mve_pred16_t p = vctp8q((uint32_t)cnt);
    int8x16_t m = vdupq_n_s8(-128);
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *q = src + y * row_step;
        for (int32_t x = 0; x < cols; ++x) {
            m = vmaxq_s8(m, cnt >= 16 ? vldrbq_s8(q) : vldrbq_z_s8(q, p));
            q += col_step;
        }
    }
    m = vminq_s8(vmaxq_s8(m, lo), hi);
    if (cnt >= 16) {
        vstrbq_s8(dst, m);
    } else {
        vstrbq_p_s8(dst, m, p);
    }
}
#endif

ef_status ef_maxpool_s8(const ef_pool_params *params,
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
#if defined(EF_NN_USE_MVE)
                {
                    const int8x16_t lo = vdupq_n_s8((int8_t)params->activation.min);
                    const int8x16_t hi = vdupq_n_s8((int8_t)params->activation.max);
                    const int8_t *src = input + ((b * in->h + iy0 + ky0) * in->w + ix0 + kx0) * in->c;
                    for (int32_t c = 0; c < in->c; c += 16) {
                        max_block(src + c, ky1 - ky0, kx1 - kx0, in->w * in->c, in->c, dst + c, EF_MIN(16, in->c - c),
                                  lo, hi);
                    }
                    dst += out->c;
                    continue;
                }
#endif
                for (int32_t c = 0; c < in->c; ++c) {
                    int32_t m = -128;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *src = input + ((b * in->h + iy0 + ky) * in->w + ix0 + kx0) * in->c + c;
                        for (int32_t kx = 0; kx < kx1 - kx0; ++kx) {
                            m = EF_MAX(m, (int32_t)src[kx * in->c]);
                        }
                    }
                    dst[c] = ef_clamp_to_s8(m, params->activation.min, params->activation.max);
                }
                dst += out->c;
            }
        }
    }
    return EF_OK;
}
