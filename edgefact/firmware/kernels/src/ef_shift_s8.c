/*
 * Shift layer: a DEPTHWISE_CONV_2D whose kernels have at most one non-zero tap each (a hardened
 * shift attention layer), run as one table look-up per output value. The generator folds the
 * tap's weight, the bias and TFLite's requantization of each channel into a 256-entry table
 * (indexed by the input byte) and a border value (the output where the tap reads padding), so
 * the kernel neither multiplies nor requantizes: 0 MACs, bit-exact by construction.
 *
 * Channels are processed one at a time: along an output row the valid taps read the input at a
 * constant stride, so the inner loop is load / look-up / store, four outputs per iteration.
 */
#include "internal/ef_nn_internal.h"

static void fill_strided(int8_t *dst, int32_t n, int32_t step, int8_t v)
{
    for (int32_t i = 0; i < n; ++i) {
        *dst = v;
        dst += step;
    }
}

/* dst[k * dstep] = lut[src[k * sstep]] for k < n. */
static void lookup_strided(int8_t *dst, int32_t dstep, const int8_t *src, int32_t sstep, int32_t n,
                           const uint8_t *lut)
{
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        const uint8_t a = (uint8_t)src[0];
        const uint8_t b = (uint8_t)src[sstep];
        const uint8_t c = (uint8_t)src[2 * sstep];
        const uint8_t d = (uint8_t)src[3 * sstep];
        dst[0] = (int8_t)lut[a];
        dst[dstep] = (int8_t)lut[b];
        dst[2 * dstep] = (int8_t)lut[c];
        dst[3 * dstep] = (int8_t)lut[d];
        src += 4 * sstep;
        dst += 4 * dstep;
    }
    for (; k < n; ++k) {
        *dst = (int8_t)lut[(uint8_t)*src];
        src += sstep;
        dst += dstep;
    }
}

/* First output index o >= 0 with o * stride + off >= 0, and one past the last with
 * o * stride + off < size, clamped to [0, out]. */
static void valid_range(int32_t off, int32_t stride, int32_t size, int32_t out, int32_t *lo, int32_t *hi)
{
    int32_t a = 0;
    while (a < out && a * stride + off < 0) {
        ++a;
    }
    int32_t b = a;
    while (b < out && b * stride + off < size) {
        ++b;
    }
    *lo = a;
    *hi = b;
}

ef_status ef_shift_s8(const ef_shift_params *params, const ef_dims *input_dims, const int8_t *input,
                      const int16_t *taps, const uint8_t *tables, const int8_t *luts, const int8_t *border,
                      const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || input_dims == 0 || input == 0 || taps == 0 || tables == 0 || luts == 0 || border == 0 ||
        output_dims == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    if (!ef_dims_valid(in) || !ef_dims_valid(out) || out->c != in->c || out->n != in->n) {
        return EF_ERR_DIMS;
    }
    const int32_t kh = params->filter.h;
    const int32_t kw = params->filter.w;
    if (kh <= 0 || kw <= 0 || params->stride.h <= 0 || params->stride.w <= 0 || params->padding.h < 0 ||
        params->padding.w < 0) {
        return EF_ERR_PARAM;
    }
    if (!ef_out_size_ok(in->h, kh, params->stride.h, params->padding.h, out->h) ||
        !ef_out_size_ok(in->w, kw, params->stride.w, params->padding.w, out->w)) {
        return EF_ERR_DIMS;
    }
    const int32_t C = in->c;
    for (int32_t c = 0; c < C; ++c) {
        if (taps[c] < -1 || taps[c] >= kh * kw) {
            return EF_ERR_PARAM;
        }
    }
    const int32_t sh = params->stride.h;
    const int32_t sw = params->stride.w;
    const int32_t row_out = out->w * C;
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *in_b = input + b * in->h * in->w * C;
        int8_t *out_b = output + b * out->h * row_out;
        for (int32_t c = 0; c < C; ++c) {
            const int8_t edge = border[c];
            int8_t *dst_c = out_b + c;
            if (taps[c] < 0) {  /* all-zero kernel: the output is the bias alone everywhere */
                fill_strided(dst_c, out->h * out->w, C, edge);
                continue;
            }
            const int32_t ky = taps[c] / kw;
            const int32_t kx = taps[c] % kw;
            const uint8_t *lut = (const uint8_t *)luts + (int32_t)tables[c] * 256;
            int32_t y_lo;
            int32_t y_hi;
            int32_t x_lo;
            int32_t x_hi;
            valid_range(ky - params->padding.h, sh, in->h, out->h, &y_lo, &y_hi);
            valid_range(kx - params->padding.w, sw, in->w, out->w, &x_lo, &x_hi);
            for (int32_t oy = 0; oy < out->h; ++oy) {
                int8_t *dst = dst_c + oy * row_out;
                if (oy < y_lo || oy >= y_hi) {
                    fill_strided(dst, out->w, C, edge);
                    continue;
                }
                const int32_t iy = oy * sh - params->padding.h + ky;
                const int32_t ix = x_lo * sw - params->padding.w + kx;
                fill_strided(dst, x_lo, C, edge);
                lookup_strided(dst + x_lo * C, C, in_b + (iy * in->w + ix) * C + c, sw * C, x_hi - x_lo, lut);
                fill_strided(dst + x_hi * C, out->w - x_hi, C, edge);
            }
        }
    }
    return EF_OK;
}
