/* MAX_POOL_2D over the in-bounds taps. Per output pixel the window's in-bounds taps are a
 * rows x cols block of pixels; the channels of a pixel are contiguous (NHWC), so the maximum runs
 * across channels in parallel: 16 per VMAX.S8 on Helium, 4 per SSUB8 + SEL word on the DSP
 * extension (unaligned words: any channel count), the last channels of a count that is not a
 * multiple of 16 / 4 predicated (Helium) or one at a time (DSP, portable). */
#include <string.h>

#include "internal/ef_conv_2px.h"
#include "internal/ef_pool_check.h"

#if defined(EF_NN_USE_MVE)
/* channels c..c+15 of one output pixel (p: the lanes in use) */
static inline __attribute__((always_inline)) int8x16_t max_block16(const int8_t *q, int32_t rows, int32_t cols,
                                                                   int32_t row_step, int32_t col_step,
                                                                   mve_pred16_t p)
{
    int8x16_t m = vldrbq_z_s8(q, p);
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *t = q + y * row_step;
        for (int32_t x = (y == 0); x < cols; ++x) {
            m = vmaxq_s8(m, vldrbq_z_s8(t + x * col_step, p));
        }
    }
    return m;
}

static inline __attribute__((always_inline)) void max_pixel(const int8_t *src, int32_t rows, int32_t cols, int32_t row_step, int32_t col_step,
                      int8_t *dst, int32_t ch, const ef_activation *act)
{
    const int8x16_t lo = vdupq_n_s8((int8_t)act->min);
    const int8x16_t hi = vdupq_n_s8((int8_t)act->max);
    int32_t c = 0;
    if (rows == 2 && cols == 2) { /* the common 2x2 window, unrolled */
        for (; c + 16 <= ch; c += 16) {
            const int8_t *q = src + c;
            const int8x16_t m = vmaxq_s8(vmaxq_s8(vldrbq_s8(q), vldrbq_s8(q + col_step)),
                                         vmaxq_s8(vldrbq_s8(q + row_step), vldrbq_s8(q + row_step + col_step)));
            vstrbq_s8(dst + c, vminq_s8(vmaxq_s8(m, lo), hi));
        }
    }
    for (; c < ch; c += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(ch - c));
        const int8x16_t m = max_block16(src + c, rows, cols, row_step, col_step, p);
        vstrbq_p_s8(dst + c, vminq_s8(vmaxq_s8(m, lo), hi), p);
    }
}

/* One output row of a 2x2 window with every window in bounds: no per-pixel bounds work. A block of
 * 16 channels at a time over the row's pixels (the pixel loop innermost: its set-up once per block,
 * not per pixel), the clamp only for a narrower activation than int8. */
static inline __attribute__((always_inline)) void max_run_2x2(const int8_t *a, const int8_t *b, int32_t ch,
                                                                int32_t ow, int32_t step, int8_t *d, int8x16_t lo,
                                                                int8x16_t hi, const int clamp, const int tail,
                                                                mve_pred16_t p)
{
    const int8_t *a1 = a + ch;
    const int8_t *b1 = b + ch;
    for (int32_t ox = 0; ox < ow; ++ox) {
        int8x16_t m;
        if (tail) {
            m = vmaxq_s8(vmaxq_s8(vldrbq_z_s8(a, p), vldrbq_z_s8(a1, p)), vmaxq_s8(vldrbq_z_s8(b, p), vldrbq_z_s8(b1, p)));
        } else {
            m = vmaxq_s8(vmaxq_s8(vldrbq_s8(a), vldrbq_s8(a1)), vmaxq_s8(vldrbq_s8(b), vldrbq_s8(b1)));
        }
        if (clamp) {
            m = vminq_s8(vmaxq_s8(m, lo), hi);
        }
        if (tail) {
            vstrbq_p_s8(d, m, p);
        } else {
            vstrbq_s8(d, m);
        }
        a += step;
        a1 += step;
        b += step;
        b1 += step;
        d += ch;
    }
}

static void max_row_2x2(const int8_t *q, int32_t ow, int32_t step, int32_t row_step, int32_t ch, int8_t *dst,
                        const ef_activation *act)
{
    const int8x16_t lo = vdupq_n_s8((int8_t)act->min);
    const int8x16_t hi = vdupq_n_s8((int8_t)act->max);
    const int clamp = act->min > -128 || act->max < 127;
    const mve_pred16_t all = 0xFFFF; /* unused: whole blocks */
    int32_t c = 0;
    for (; c + 16 <= ch; c += 16) {
        if (clamp) {
            max_run_2x2(q + c, q + c + row_step, ch, ow, step, dst + c, lo, hi, 1, 0, all);
        } else {
            max_run_2x2(q + c, q + c + row_step, ch, ow, step, dst + c, lo, hi, 0, 0, all);
        }
    }
    if (c < ch) {
        max_run_2x2(q + c, q + c + row_step, ch, ow, step, dst + c, lo, hi, 1, 1, vctp8q((uint32_t)(ch - c)));
    }
}
#elif defined(EF_NN_USE_DSP)
/* signed bytewise max / min of two words: SSUB8 sets GE[k] where byte k of a >= byte k of b */
static inline uint32_t max4(uint32_t a, uint32_t b)
{
    (void)__ssub8(a, b);
    return __sel(a, b);
}

/* No clamp here: a narrower activation is one pass over the output (ef_nn_clamp_s8). */
static inline __attribute__((always_inline)) void max_pixel(const int8_t *src, int32_t rows, int32_t cols,
                                                            int32_t row_step, int32_t col_step, int8_t *dst,
                                                            int32_t ch, const ef_activation *act)
{
    (void)act;
    int32_t c = 0;
    if (rows == 2 && cols == 2) { /* the common 2x2 window, unrolled */
        const int8_t *q0 = src;
        const int8_t *q1 = src + row_step;
        for (; c + 4 <= ch; c += 4) {
            const uint32_t m = max4(max4(ef_read_u32(q0 + c), ef_read_u32(q0 + c + col_step)),
                                    max4(ef_read_u32(q1 + c), ef_read_u32(q1 + c + col_step)));
            memcpy(dst + c, &m, 4);
        }
    } else {
        for (; c + 4 <= ch; c += 4) {
            const int8_t *q = src + c;
            uint32_t m = ef_read_u32(q);
            for (int32_t y = 0; y < rows; ++y) {
                const int8_t *t = q + y * row_step;
                for (int32_t x = (y == 0); x < cols; ++x) {
                    m = max4(m, ef_read_u32(t + x * col_step));
                }
            }
            memcpy(dst + c, &m, 4);
        }
    }
    for (; c < ch; ++c) {
        int32_t m = -128;
        for (int32_t y = 0; y < rows; ++y) {
            for (int32_t x = 0; x < cols; ++x) {
                m = EF_MAX(m, (int32_t)src[y * row_step + x * col_step + c]);
            }
        }
        dst[c] = (int8_t)m;
    }
}

/* One output row of a 2x2 window with every window in bounds: no per-pixel bounds work (a
 * narrower activation: the clamp pass afterwards). A word of 4 channels at a time over the row's
 * pixels (the pixel loop innermost), the last ch % 4 channels one at a time. */
static void max_row_2x2(const int8_t *q, int32_t ow, int32_t step, int32_t row_step, int32_t ch, int8_t *dst,
                        const ef_activation *act)
{
    (void)act;
    int32_t c = 0;
    for (; c + 4 <= ch; c += 4) {
        const int8_t *a = q + c;
        const int8_t *b = a + row_step;
        int8_t *d = dst + c;
        for (int32_t n = ow; n > 0; --n, a += step, b += step, d += ch) {
            const uint32_t m = max4(max4(ef_read_u32(a), ef_read_u32(a + ch)), max4(ef_read_u32(b), ef_read_u32(b + ch)));
            memcpy(d, &m, 4);
        }
    }
    for (; c < ch; ++c) {
        const int8_t *a = q + c;
        const int8_t *b = a + row_step;
        int8_t *d = dst + c;
        for (int32_t ox = 0; ox < ow; ++ox, a += step, b += step, d += ch) {
            *d = (int8_t)EF_MAX(EF_MAX(a[0], a[ch]), EF_MAX(b[0], b[ch]));
        }
    }
}
#else
static inline __attribute__((always_inline)) void max_pixel(const int8_t *src, int32_t rows, int32_t cols, int32_t row_step, int32_t col_step,
                      int8_t *dst, int32_t ch, const ef_activation *act)
{
    for (int32_t c = 0; c < ch; ++c) {
        int32_t m = -128;
        for (int32_t y = 0; y < rows; ++y) {
            for (int32_t x = 0; x < cols; ++x) {
                m = EF_MAX(m, (int32_t)src[y * row_step + x * col_step + c]);
            }
        }
        dst[c] = ef_clamp_to_s8(m, act->min, act->max);
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
    /* local copies: the int8 stores may alias *params and the dims, which would reload every
     * field per output pixel */
    const ef_dims in = *input_dims;
    const int32_t oh = output_dims->h;
    const int32_t ow = output_dims->w;
    const int32_t sh = params->stride.h;
    const int32_t sw = params->stride.w;
    const int32_t ph = params->padding.h;
    const int32_t pw = params->padding.w;
    const int32_t fh = params->filter.h;
    const int32_t fw = params->filter.w;
    const ef_activation act = params->activation;
    const int32_t row_step = in.w * in.c;
    int8_t *dst = output;
    for (int32_t b = 0; b < in.n; ++b) {
        for (int32_t oy = 0; oy < oh; ++oy) {
            const int32_t iy0 = oy * sh - ph;
            const int32_t ky0 = EF_MAX(0, -iy0);
            const int32_t ky1 = EF_MIN(fh, in.h - iy0);
            const int8_t *row = input + (b * in.h + iy0 + ky0) * row_step;
#if defined(EF_NN_USE_MVE) || defined(EF_NN_USE_DSP)
            if (fh == 2 && fw == 2 && pw == 0 && ky1 - ky0 == 2 && (ow - 1) * sw + 2 <= in.w) {
                max_row_2x2(row, ow, sw * in.c, row_step, in.c, dst, &act);
                dst += ow * in.c;
                continue;
            }
#endif
            for (int32_t ox = 0; ox < ow; ++ox) {
                const int32_t ix0 = ox * sw - pw;
                const int32_t kx0 = EF_MAX(0, -ix0);
                const int32_t kx1 = EF_MIN(fw, in.w - ix0);
                if (ky1 <= ky0 || kx1 <= kx0) { /* no tap in bounds: the empty maximum, clamped */
                    for (int32_t c = 0; c < in.c; ++c) {
                        dst[c] = ef_clamp_to_s8(-128, act.min, act.max);
                    }
                } else {
                    max_pixel(row + (ix0 + kx0) * in.c, ky1 - ky0, kx1 - kx0, row_step, in.c, dst, in.c, &act);
                }
                dst += in.c;
            }
        }
    }
#if defined(EF_NN_USE_DSP) && !defined(EF_NN_USE_MVE)
    if (act.min > -128 || act.max < 127) {
        ef_nn_clamp_s8(output, in.n * oh * ow * in.c, act.min, act.max);
    }
#endif
    return EF_OK;
}
