/* CONV_2D inner engine for Helium (MVE, Cortex-M55): used by ef_conv_s8 (any kernel, grouped)
 * and ef_conv_1x1_s8.
 *
 * Columns stay int8 (16 lanes per VMLADAV): an out-of-bounds tap is filled with the input zero
 * point (-input_offset, always an int8), so sum((x + off) * w) = sum(x * w) + off * sum(w) holds
 * for every tap, padded or not; sum(w) comes from a VADDVA in the same loop. Two output pixels x
 * two output channels per pass share every column and filter vector; the results go through the
 * 4-lane requantization (ef_store_requantized_x4) four channels at a time.
 *
 * Cycle reasoning (QEMU counts instructions only): on the M55 a 128-bit VLDRB/VMLADAV is two
 * beats, overlapped in pairs by the dual-beat pipeline, so a pass of 2 column loads + 2 filter
 * loads + 4 VMLADAV + 2 VADDVA (64 MACs) is about 10-12 cycles, versus 32 SMLAD for the same work.
 */
#include "internal/ef_nn_internal.h"

#if defined(EF_NN_USE_MVE)

/* n bytes of src, or of `pad` when src is NULL (an out-of-bounds tap). */
static inline void copy_or_fill_s8(int8_t *dst, const int8_t *src, int8_t pad, int32_t n)
{
    if (src == 0) {
        const int8x16_t v = vdupq_n_s8(pad);
        for (int32_t i = 0; i < n; i += 16) {
            vstrbq_p_s8(dst + i, v, vctp8q((uint32_t)(n - i)));
        }
        return;
    }
    for (int32_t i = 0; i < n; i += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - i));
        vstrbq_p_s8(dst + i, vldrbq_z_s8(src + i, p), p);
    }
}

static void fill_column_s8(int8_t *col, const int8_t *input, const ef_dims *in, int32_t b, int32_t iy0,
                           int32_t ix0, int32_t kh, int32_t kw, int32_t c0, int32_t fc, int8_t pad)
{
    for (int32_t ky = 0; ky < kh; ++ky) {
        const int32_t iy = iy0 + ky;
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t ix = ix0 + kx;
            const int inside = iy >= 0 && iy < in->h && ix >= 0 && ix < in->w;
            const int8_t *src = inside ? input + (((b * in->h + iy) * in->w + ix) * in->c + c0) : 0;
            copy_or_fill_s8(col, src, pad, fc);
            col += fc;
        }
    }
}

/* ra[k] / rb[k] = sum((a + off) * fk) / sum((b + off) * fk), k = 0, 1. */
static inline void dot_2px_2ch(const int8_t *ca, const int8_t *cb, const int8_t *f0, const int8_t *f1,
                               int32_t n, int32_t off, int32_t *ra, int32_t *rb)
{
    int32_t a0 = 0;
    int32_t a1 = 0;
    int32_t b0 = 0;
    int32_t b1 = 0;
    int32_t s0 = 0;
    int32_t s1 = 0;
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const int8x16_t va = vldrbq_s8(ca + i);
        const int8x16_t vb = vldrbq_s8(cb + i);
        const int8x16_t w0 = vldrbq_s8(f0 + i);
        const int8x16_t w1 = vldrbq_s8(f1 + i);
        a0 = vmladavaq_s8(a0, va, w0);
        b0 = vmladavaq_s8(b0, vb, w0);
        a1 = vmladavaq_s8(a1, va, w1);
        b1 = vmladavaq_s8(b1, vb, w1);
        s0 = vaddvaq_s8(s0, w0);
        s1 = vaddvaq_s8(s1, w1);
    }
    if (i < n) { /* tail: zeroing loads of the last n % 16 values */
        const mve_pred16_t p = vctp8q((uint32_t)(n - i));
        const int8x16_t va = vldrbq_z_s8(ca + i, p);
        const int8x16_t vb = vldrbq_z_s8(cb + i, p);
        const int8x16_t w0 = vldrbq_z_s8(f0 + i, p);
        const int8x16_t w1 = vldrbq_z_s8(f1 + i, p);
        a0 = vmladavaq_s8(a0, va, w0);
        b0 = vmladavaq_s8(b0, vb, w0);
        a1 = vmladavaq_s8(a1, va, w1);
        b1 = vmladavaq_s8(b1, vb, w1);
        s0 = vaddvaq_s8(s0, w0);
        s1 = vaddvaq_s8(s1, w1);
    }
    ra[0] = a0 + off * s0;
    ra[1] = a1 + off * s1;
    rb[0] = b0 + off * s0;
    rb[1] = b1 + off * s1;
}

static inline void dot_2px_1ch(const int8_t *ca, const int8_t *cb, const int8_t *f, int32_t n, int32_t off,
                               int32_t *ra, int32_t *rb)
{
    int32_t a = 0;
    int32_t b = 0;
    int32_t s = 0;
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const int8x16_t w = vldrbq_s8(f + i);
        a = vmladavaq_s8(a, vldrbq_s8(ca + i), w);
        b = vmladavaq_s8(b, vldrbq_s8(cb + i), w);
        s = vaddvaq_s8(s, w);
    }
    if (i < n) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - i));
        const int8x16_t w = vldrbq_z_s8(f + i, p);
        a = vmladavaq_s8(a, vldrbq_z_s8(ca + i, p), w);
        b = vmladavaq_s8(b, vldrbq_z_s8(cb + i, p), w);
        s = vaddvaq_s8(s, w);
    }
    *ra = a + off * s;
    *rb = b + off * s;
}

/* Bias, requantize and store `cnt` (1..4) channels starting at oc. */
static inline void store4(int8_t *dst, const int32_t acc[4], const int32_t *bias, const ef_per_channel_quant *q,
                          int32_t oc, int32_t cnt, const ef_conv_params *params)
{
    const mve_pred16_t p = vctp32q((uint32_t)cnt);
    int32x4_t v = vldrwq_z_s32(acc, p);
    if (bias != 0) {
        v = vaddq_s32(v, vldrwq_z_s32(bias + oc, p));
    }
    ef_store_requantized_x4(dst + oc, v, q->multiplier + oc, q->shift + oc, params->output_offset,
                            params->activation.min, params->activation.max, p);
}

void ef_conv_mve_s8_run(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                        const int8_t *input, const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                        const ef_dims *out, int8_t *output, int8_t *scratch)
{
    const int32_t kh = filter_dims->h;
    const int32_t kw = filter_dims->w;
    const int32_t fc = filter_dims->c;
    const int32_t col_len = kh * kw * fc;
    const int32_t groups = in->c / fc;
    const int32_t oc_per_group = out->c / groups;
    const int32_t n_px = out->h * out->w;
    const int32_t off = params->input_offset;
    const int8_t pad = (int8_t)(-off);
    /* ungrouped 1x1 without padding: the input pixel is the column, no copy */
    const int direct = scratch == 0;
    for (int32_t b = 0; b < in->n; ++b) {
        int8_t *dst = output + b * n_px * out->c;
        for (int32_t p = 0; p < n_px; p += 2) {
            const int has_b = p + 1 < n_px;
            const int32_t pb = has_b ? p + 1 : p;
            const int32_t oya = p / out->w;
            const int32_t oxa = p - oya * out->w;
            const int32_t oyb = pb / out->w;
            const int32_t oxb = pb - oyb * out->w;
            const int32_t iya = oya * params->stride.h - params->padding.h;
            const int32_t ixa = oxa * params->stride.w - params->padding.w;
            const int32_t iyb = oyb * params->stride.h - params->padding.h;
            const int32_t ixb = oxb * params->stride.w - params->padding.w;
            int8_t *dsta = dst + p * out->c;
            int8_t *dstb = dsta + out->c;
            for (int32_t g = 0; g < groups; ++g) {
                const int8_t *ca;
                const int8_t *cb;
                if (direct) {
                    ca = input + ((b * in->h + iya) * in->w + ixa) * in->c;
                    cb = input + ((b * in->h + iyb) * in->w + ixb) * in->c;
                } else {
                    fill_column_s8(scratch, input, in, b, iya, ixa, kh, kw, g * fc, fc, pad);
                    if (has_b) {
                        fill_column_s8(scratch + col_len, input, in, b, iyb, ixb, kh, kw, g * fc, fc, pad);
                    }
                    ca = scratch;
                    cb = has_b ? scratch + col_len : scratch;
                }
                const int32_t oc_end = (g + 1) * oc_per_group;
                for (int32_t oc = g * oc_per_group; oc < oc_end; oc += 4) {
                    const int32_t cnt = EF_MIN(4, oc_end - oc);
                    int32_t acc_a[4] = {0, 0, 0, 0};
                    int32_t acc_b[4] = {0, 0, 0, 0};
                    int32_t k = 0;
                    for (; k + 1 < cnt; k += 2) {
                        const int8_t *f0 = filter + (oc + k) * col_len;
                        dot_2px_2ch(ca, cb, f0, f0 + col_len, col_len, off, &acc_a[k], &acc_b[k]);
                    }
                    if (k < cnt) {
                        dot_2px_1ch(ca, cb, filter + (oc + k) * col_len, col_len, off, &acc_a[k], &acc_b[k]);
                    }
                    store4(dsta, acc_a, bias, quant, oc, cnt, params);
                    if (has_b) {
                        store4(dstb, acc_b, bias, quant, oc, cnt, params);
                    }
                }
            }
        }
    }
}

#else
typedef int ef_conv_mve_unused; /* ISO C: a translation unit needs a declaration */
#endif
