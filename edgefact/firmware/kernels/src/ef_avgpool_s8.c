/* AVERAGE_POOL_2D: mean of the in-bounds taps (padding is not counted), rounded half away
 * from zero, in the input's quantization (TFLite requires output scale/zp == input's). */
#include "internal/ef_pool_check.h"

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
                for (int32_t c = 0; c < in->c; ++c) {
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
