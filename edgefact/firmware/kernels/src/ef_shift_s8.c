/*
 * Shift layer: a DEPTHWISE_CONV_2D whose kernels have at most one non-zero tap each (a hardened
 * shift attention layer), run as one table look-up per output value. The generator folds the
 * tap's weight, the bias and TFLite's requantization of each channel into a 256-entry table
 * (indexed by the input byte) and a border value (the output where the tap reads padding), so
 * the kernel neither multiplies nor requantizes: 0 MACs, bit-exact by construction.
 *
 * Interior output pixels (every channel's tap inside the input) read channel c at
 * pixel_base + offset_base + offsets[c], offsets precomputed by the generator (a channel with no
 * tap reads its own pixel through a constant table), so the loop over channels is uniform:
 * gather, look up, store contiguous outputs. On Helium 8 channels per step (VLDRB gathers for the
 * input and the table); elsewhere four per iteration, packed into one word store. Border pixels
 * check each channel's tap against the input bounds.
 */
#include <string.h>

#include "internal/ef_nn_internal.h"

/* Rows / columns o in [lo, hi) for which o * stride + off_min >= 0 and o * stride + off_max < size. */
static void interior_range(int32_t off_min, int32_t off_max, int32_t stride, int32_t size, int32_t out,
                           int32_t *lo, int32_t *hi)
{
    int32_t a = 0;
    while (a < out && a * stride + off_min < 0) {
        ++a;
    }
    int32_t b = a;
    while (b < out && b * stride + off_max < size) {
        ++b;
    }
    *lo = a;
    *hi = b;
}

#if !defined(EF_NN_USE_MVE)
/* One border pixel, scalar: each channel checks its tap against the input bounds and reads
 * through the interior offsets from `base` (the pixel's gather base, which may lie outside the
 * input: only in-bounds reads happen). iy0, ix0: the window's top-left input position. */
static void border_pixel(const ef_dims *in, uintptr_t base, int32_t iy0, int32_t ix0, const int16_t *taps,
                         const uint16_t *offsets, const uint8_t *tables, const int8_t *luts, const int8_t *border,
                         int8_t *dst)
{
    const uint32_t h = (uint32_t)in->h;
    const uint32_t w = (uint32_t)in->w;
    const int32_t C = in->c;
    for (int32_t c = 0; c < C; ++c) {
        const int32_t t = taps[c];
        int8_t v = border[c];
        if (t >= 0 && (uint32_t)(iy0 + (t >> 8)) < h && (uint32_t)(ix0 + (t & 0xFF)) < w) {
            const uint8_t x = *(const uint8_t *)(base + offsets[c]);
            v = luts[(int32_t)tables[c] * 256 + x];
        }
        dst[c] = v;
    }
}
#endif

#if defined(EF_NN_USE_MVE)
/* Interior pixel, Helium: 8 channels per step (gather the inputs, gather from the table, store
 * contiguous), the tail predicated. */
static void interior_pixel(const int8_t *src, const uint16_t *offsets, const uint8_t *tables, const int8_t *luts,
                           int32_t single, int32_t C, int8_t *dst)
{
    const uint8_t *s = (const uint8_t *)src;
    const uint8_t *lut = (const uint8_t *)luts;
    uint8_t *d = (uint8_t *)dst;
    int32_t c = 0;
    if (single) {
        for (; c + 8 <= C; c += 8) {
            const uint16x8_t x = vldrbq_gather_offset_u16(s, vldrhq_u16(offsets + c));
            vstrbq_u16(d + c, vldrbq_gather_offset_u16(lut, x));
        }
    } else {
        for (; c + 8 <= C; c += 8) {
            const uint16x8_t x = vldrbq_gather_offset_u16(s, vldrhq_u16(offsets + c));
            const uint16x8_t t = vshlq_n_u16(vldrbq_u16(tables + c), 8);
            vstrbq_u16(d + c, vldrbq_gather_offset_u16(lut, vaddq_u16(x, t)));
        }
    }
    if (c < C) {
        const mve_pred16_t p = vctp16q((uint32_t)(C - c));
        uint16x8_t x = vldrbq_gather_offset_z_u16(s, vldrhq_z_u16(offsets + c, p), p);
        x = vaddq_x_u16(x, vshlq_n_u16(vldrbq_z_u16(tables + c, p), 8), p);
        vstrbq_p_u16(d + c, vldrbq_gather_offset_z_u16(lut, x, p), p);
    }
}

/* Border pixel, Helium: the interior gather with the lanes whose tap falls outside masked off
 * and replaced by the border value. `base` is the pixel's gather base (may lie outside the
 * input: only in-bounds lanes are loaded). */
static void border_pixel_mve(const ef_dims *in, uintptr_t base, int32_t iy0, int32_t ix0, const int16_t *taps,
                             const uint16_t *offsets, const uint8_t *tables, const int8_t *luts,
                             const int8_t *border, int8_t *dst)
{
    const int32_t C = in->c;
    const uint8_t *lut = (const uint8_t *)luts;
    for (int32_t c = 0; c < C; c += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)(C - c));
        const int16x8_t t = vldrhq_z_s16(taps + c, p);
        const uint16x8_t iy = vreinterpretq_u16_s16(vaddq_n_s16(vshrq_n_s16(t, 8), (int16_t)iy0));
        const uint16x8_t ix = vreinterpretq_u16_s16(vaddq_n_s16(vandq_s16(t, vdupq_n_s16(0xFF)), (int16_t)ix0));
        const mve_pred16_t ok = (mve_pred16_t)(p & vcmpgeq_n_s16(t, 0) & vcmphiq_u16(vdupq_n_u16((uint16_t)in->h), iy) &
                                               vcmphiq_u16(vdupq_n_u16((uint16_t)in->w), ix));
        uint16x8_t x = vldrbq_gather_offset_z_u16((const uint8_t *)base, vldrhq_z_u16(offsets + c, p), ok);
        x = vaddq_x_u16(x, vshlq_n_u16(vldrbq_z_u16(tables + c, p), 8), p);
        const uint16x8_t y = vldrbq_gather_offset_z_u16(lut, x, ok);
        const uint16x8_t b = vldrbq_z_u16((const uint8_t *)border + c, p);
        vstrbq_p_u16((uint8_t *)dst + c, vpselq_u16(y, b, ok), p);
    }
}
#else
/* Interior pixel, scalar: four channels per iteration, one word store. */
static void interior_pixel(const int8_t *src, const uint16_t *offsets, const uint8_t *tables, const int8_t *luts,
                           int32_t single, int32_t C, int8_t *dst)
{
    const uint8_t *lut = (const uint8_t *)luts;
    int32_t c = 0;
    if (single) {
        for (; c + 4 <= C; c += 4) {
            const uint32_t a = lut[(uint8_t)src[offsets[c]]];
            const uint32_t b = lut[(uint8_t)src[offsets[c + 1]]];
            const uint32_t d = lut[(uint8_t)src[offsets[c + 2]]];
            const uint32_t e = lut[(uint8_t)src[offsets[c + 3]]];
            const uint32_t w = a | (b << 8) | (d << 16) | (e << 24);
            memcpy(dst + c, &w, 4);
        }
        for (; c < C; ++c) {
            dst[c] = (int8_t)lut[(uint8_t)src[offsets[c]]];
        }
        return;
    }
    for (; c < C; ++c) {
        dst[c] = (int8_t)lut[(int32_t)tables[c] * 256 + (uint8_t)src[offsets[c]]];
    }
}
#endif

ef_status ef_shift_s8(const ef_shift_params *params, const ef_dims *input_dims, const int8_t *input,
                      const int16_t *taps, const uint16_t *offsets, const uint8_t *tables, const int8_t *luts,
                      const int8_t *border, const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || input_dims == 0 || input == 0 || taps == 0 || offsets == 0 || tables == 0 || luts == 0 ||
        border == 0 || output_dims == 0 || output == 0) {
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
        params->padding.w < 0 || params->num_tables <= 0 || params->num_tables > 256) {
        return EF_ERR_PARAM;
    }
    if (!ef_out_size_ok(in->h, kh, params->stride.h, params->padding.h, out->h) ||
        !ef_out_size_ok(in->w, kw, params->stride.w, params->padding.w, out->w)) {
        return EF_ERR_DIMS;
    }
    const int32_t C = in->c;
    int32_t ky_min = kh;
    int32_t ky_max = -1;
    int32_t kx_min = kw;
    int32_t kx_max = -1;
    for (int32_t c = 0; c < C; ++c) {
        const int32_t t = taps[c];
        if (t < -1 || (t >= 0 && ((t >> 8) >= kh || (t & 0xFF) >= kw)) || tables[c] >= params->num_tables) {
            return EF_ERR_PARAM;
        }
        if (t >= 0) {
            ky_min = EF_MIN(ky_min, t >> 8);
            ky_max = EF_MAX(ky_max, t >> 8);
            kx_min = EF_MIN(kx_min, t & 0xFF);
            kx_max = EF_MAX(kx_max, t & 0xFF);
        }
    }
    if (ky_max < 0) { /* no channel has a tap: read each pixel's own values (constant tables) */
        ky_min = ky_max = params->padding.h;
        kx_min = kx_max = params->padding.w;
    }
    /* the base pixel itself must be inside too (channels without a tap read it) */
    ky_min = EF_MIN(ky_min, params->padding.h);
    ky_max = EF_MAX(ky_max, params->padding.h);
    kx_min = EF_MIN(kx_min, params->padding.w);
    kx_max = EF_MAX(kx_max, params->padding.w);
    int32_t y_lo;
    int32_t y_hi;
    int32_t x_lo;
    int32_t x_hi;
    interior_range(ky_min - params->padding.h, ky_max - params->padding.h, params->stride.h, in->h, out->h, &y_lo,
                   &y_hi);
    interior_range(kx_min - params->padding.w, kx_max - params->padding.w, params->stride.w, in->w, out->w, &x_lo,
                   &x_hi);
    const int32_t single = params->num_tables == 1;
    const int32_t sh = params->stride.h;
    const int32_t sw = params->stride.w;
    const int32_t src_step = sw * C;
#if defined(EF_NN_USE_MVE)
#define BORDER_PIXEL()                                                                                         \
    border_pixel_mve(in, (uintptr_t)in_b + (uintptr_t)(((oy * sh) * in->w + ox * sw) * C + params->offset_base), \
                     iy0, ox * sw - params->padding.w, taps, offsets, tables, luts, border, dst)
#else
#define BORDER_PIXEL()                                                                                     \
    border_pixel(in, (uintptr_t)in_b + (uintptr_t)(((oy * sh) * in->w + ox * sw) * C + params->offset_base), \
                 iy0, ox * sw - params->padding.w, taps, offsets, tables, luts, border, dst)
#endif
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *in_b = input + b * in->h * in->w * C;
        int8_t *dst = output + b * out->h * out->w * C;
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy0 = oy * sh - params->padding.h;
            const int32_t lo = (oy >= y_lo && oy < y_hi) ? x_lo : out->w;
            const int32_t hi = (oy >= y_lo && oy < y_hi) ? x_hi : out->w;
            int32_t ox = 0;
            for (; ox < lo; ++ox, dst += C) {
                BORDER_PIXEL();
            }
            const int8_t *src = in_b + ((oy * sh) * in->w + ox * sw) * C + params->offset_base;
            for (; ox < hi; ++ox, dst += C, src += src_step) {
                interior_pixel(src, offsets, tables, luts, single, C, dst);
            }
            for (; ox < out->w; ++ox, dst += C) {
                BORDER_PIXEL();
            }
        }
    }
#undef BORDER_PIXEL
    return EF_OK;
}
