/* MAX_POOL_2D over the in-bounds taps. */
#include "internal/ef_pool_check.h"

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
