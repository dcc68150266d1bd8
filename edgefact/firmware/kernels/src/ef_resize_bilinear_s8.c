/* RESIZE_BILINEAR, int8, TFLite Micro's integer path (ResizeBilinearInteger): positions in
 * 1/1024 pixel, source pixel scale = round((1024 * in) / out) (align_corners: (in - 1) / (out -
 * 1)); with half_pixel_centers the position is y * scale + scale / 2 - 512. The lower neighbour
 * is max(pos / 1024, 0) and the upper min((pos + 1023) / 1024, in - 1) (C division, truncating,
 * as TFLite), the weights are the distances in 1/1024, and the weighted sum of the four raw
 * values (in 1/2^20) is rounded half away from zero. |sum| <= 128 * 2^20, so int32 holds it. */
#include "internal/ef_nn_internal.h"

static int32_t ef_bilinear_scale(int32_t in, int32_t out, int32_t align_corners)
{
    if (align_corners && out > 1) {
        return ((1 << 10) * (in - 1) + (out - 1) / 2) / (out - 1);
    }
    return ((1 << 10) * in + out / 2) / out;
}

/* Source position (1/1024 pixel) and its two neighbours along one axis. */
static void ef_bilinear_position(int32_t v, int32_t scale, int32_t half_pixel, int32_t in, int32_t *pos,
                                 int32_t *lo, int32_t *hi)
{
    *pos = half_pixel ? v * scale + scale / 2 - (1 << 9) : v * scale;
    *lo = EF_MAX(*pos / (1 << 10), 0);
    *hi = EF_MIN((*pos + (1 << 10) - 1) / (1 << 10), in - 1);
}

ef_status ef_resize_bilinear_s8(const ef_resize_params *params, const ef_dims *input_dims, const int8_t *input,
                                const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (!ef_dims_valid(input_dims) || !ef_dims_valid(output_dims) || input_dims->n != output_dims->n ||
        input_dims->c != output_dims->c) {
        return EF_ERR_DIMS;
    }
    if (params->align_corners && params->half_pixel_centers) {
        return EF_ERR_PARAM;
    }
    const ef_dims *in = input_dims;
    const ef_dims *o = output_dims;
    const int32_t c = in->c;
    const int32_t sy = ef_bilinear_scale(in->h, o->h, params->align_corners);
    const int32_t sx = ef_bilinear_scale(in->w, o->w, params->align_corners);
    for (int32_t b = 0; b < o->n; ++b) {
        const int8_t *img = input + b * in->h * in->w * c;
        for (int32_t y = 0; y < o->h; ++y) {
            int32_t py, y0, y1;
            ef_bilinear_position(y, sy, params->half_pixel_centers, in->h, &py, &y0, &y1);
            const int32_t wy1 = py - (1 << 10) * y0;
            const int32_t wy0 = (1 << 10) - wy1;
            const int8_t *r0 = img + y0 * in->w * c;
            const int8_t *r1 = img + y1 * in->w * c;
            for (int32_t x = 0; x < o->w; ++x) {
                int32_t px, x0, x1;
                ef_bilinear_position(x, sx, params->half_pixel_centers, in->w, &px, &x0, &x1);
                const int32_t wx1 = px - (1 << 10) * x0;
                const int32_t wx0 = (1 << 10) - wx1;
                const int32_t w00 = wy0 * wx0;
                const int32_t w10 = wy1 * wx0;
                const int32_t w01 = wy0 * wx1;
                const int32_t w11 = wy1 * wx1;
                const int8_t *p00 = r0 + x0 * c;
                const int8_t *p01 = r0 + x1 * c;
                const int8_t *p10 = r1 + x0 * c;
                const int8_t *p11 = r1 + x1 * c;
                for (int32_t k = 0; k < c; ++k) {
                    const int32_t sum = p00[k] * w00 + p10[k] * w10 + p01[k] * w01 + p11[k] * w11;
                    const int32_t round = sum > 0 ? (1 << 19) : -(1 << 19);
                    *output++ = (int8_t)((sum + round) / (1 << 20));
                }
            }
        }
    }
    return EF_OK;
}
