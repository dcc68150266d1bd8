/* The two-pixel convolution engine of ef_conv_s8 and ef_conv_1x1_s8 (include/internal/ef_conv_2px.h):
 * two output pixels x two output channels per pass, so each filter load serves two pixels and each
 * column load two channels. One function, two bodies:
 *
 * DSP (Cortex-M4/M7/M33, filter depth % 4 == 0): paired int16 columns ((a0, a2) (a1, a3) halfword
 * pairs as SXTAB16 makes them from 4 input bytes), SMLAD against SXTB16 of 4 filter bytes.
 *
 * MVE (Helium, Cortex-M55): columns stay int8 (16 lanes per VMLADAV): an out-of-bounds tap is
 * filled with the input zero point (-input_offset, always an int8), so
 * sum((x + off) * w) = sum(x * w) + off * sum(w) holds for every tap, padded or not; sum(w) comes
 * from a VADDVA in the same loop. The results go through the 4-lane requantization
 * (ef_store_requantized_x4) four channels at a time.
 *
 * Cycle reasoning (QEMU counts instructions only): on the M55 a 128-bit VLDRB/VMLADAV is two
 * beats, overlapped in pairs by the dual-beat pipeline, so a pass of 2 column loads + 2 filter
 * loads + 4 VMLADAV + 2 VADDVA (64 MACs) is about 10-12 cycles, versus 32 SMLAD for the same work.
 */
#include "internal/ef_conv_2px.h"

#if defined(EF_NN_USE_DSP)
/*
 * DSP fast path, used when the filter depth is a multiple of 4: the column is stored with each
 * group of 4 values as (a0, a2) (a1, a3) halfword pairs, which is what SXTAB16 produces from 4
 * input bytes and what SMLAD needs against SXTB16 of 4 filter bytes (and its 8-bit rotation).
 * Two output channels share every column load. `skip` is the word step between groups: 2 for one
 * column, 4 for two interleaved columns (two output pixels, see ef_conv_dot_2px_2ch).
 */
static void fill_column_paired(uint32_t *col, const int8_t *input, const ef_dims *in, int32_t b,
                               int32_t iy0, int32_t ix0, int32_t kh, int32_t kw, int32_t c0, int32_t fc,
                               int32_t input_offset, int32_t skip)
{
    const uint32_t off2 = ((uint32_t)(uint16_t)input_offset << 16) | (uint16_t)input_offset;
    uint32_t *dst = col;
    for (int32_t ky = 0; ky < kh; ++ky) {
        const int32_t iy = iy0 + ky;
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t ix = ix0 + kx;
            if (iy < 0 || iy >= in->h || ix < 0 || ix >= in->w) {
                for (int32_t ci = 0; ci < fc; ci += 4) {
                    dst[0] = 0;
                    dst[1] = 0;
                    dst += skip;
                }
            } else {
                const int8_t *src = input + (((b * in->h + iy) * in->w + ix) * in->c + c0);
                for (int32_t ci = 0; ci < fc; ci += 4) {
                    const uint32_t w = ef_read_u32(src + ci);
                    dst[0] = __sxtab16(off2, w);
                    dst[1] = ef_sxtab16_ror8(off2, w);
                    dst += skip;
                }
            }
        }
    }
}

/* Dot products of one paired column (n values, n % 4 == 0) with two filters. */
static inline void dot_paired_x2(const uint32_t *col, const int8_t *f0, const int8_t *f1, int32_t n,
                                 int32_t *acc0, int32_t *acc1)
{
    uint32_t s0 = 0;
    uint32_t s1 = 0;
    for (int32_t i = 0; i < n; i += 4) {
        const uint32_t c02 = col[0];
        const uint32_t c13 = col[1];
        col += 2;
        const uint32_t w0 = ef_read_u32(f0 + i);
        const uint32_t w1 = ef_read_u32(f1 + i);
        ef_smlad_acc(&s0, c02, __sxtb16(w0));
        ef_smlad_acc(&s0, c13, ef_sxtb16_ror8(w0));
        ef_smlad_acc(&s1, c02, __sxtb16(w1));
        ef_smlad_acc(&s1, c13, ef_sxtb16_ror8(w1));
    }
    *acc0 = (int32_t)s0;
    *acc1 = (int32_t)s1;
}

static inline int32_t dot_paired(const uint32_t *col, const int8_t *f, int32_t n)
{
    uint32_t s = 0;
    for (int32_t i = 0; i < n; i += 4) {
        const uint32_t w = ef_read_u32(f + i);
        ef_smlad_acc(&s, col[0], __sxtb16(w));
        ef_smlad_acc(&s, col[1], ef_sxtb16_ror8(w));
        col += 2;
    }
    return (int32_t)s;
}

/* The odd last output channel of ef_conv_dot_2px_2ch. */
static inline void dot_2px_1ch(const uint32_t *col, const int8_t *f, int32_t n, int32_t *ra, int32_t *rb)
{
    uint32_t a = 0;
    uint32_t b = 0;
    const uint32_t *end = col + n;
    while (col != end) {
        const uint32_t w = ef_read_u32(f);
        f += 4;
        const uint32_t w02 = __sxtb16(w);
        const uint32_t w13 = ef_sxtb16_ror8(w);
        ef_smlad_acc(&a, col[0], w02);
        ef_smlad_acc(&a, col[1], w13);
        ef_smlad_acc(&b, col[2], w02);
        ef_smlad_acc(&b, col[3], w13);
        col += 4;
    }
    *ra = (int32_t)a;
    *rb = (int32_t)b;
}
/* DSP body (filter depth % 4 == 0): output pixels in pairs (consecutive in raster order, so a
 * pair may straddle two rows), two interleaved columns in `cols`, 2 pixels x 2 channels per
 * pass; an odd last pixel goes through one column and dot_paired_x2. */
void ef_nn_conv_2px_s8(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                       const int8_t *input, const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                       const ef_dims *out, int8_t *output, void *cols)
{
    uint32_t *pcol = (uint32_t *)cols;
    const int32_t kh = filter_dims->h;
    const int32_t kw = filter_dims->w;
    const int32_t fc = filter_dims->c;
    const int32_t col_len = kh * kw * fc;
    const int32_t groups = in->c / fc;
    const int32_t oc_per_group = out->c / groups;
    const int32_t n_px = out->h * out->w;
    const int32_t in_off = params->input_offset;
    const int32_t *qm = quant->multiplier;
    const int32_t *qs = quant->shift;
    const int32_t out_off = params->output_offset;
    const int32_t act_min = params->activation.min;
    const int32_t act_max = params->activation.max;
    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        int32_t p = 0;
        for (; p + 1 < n_px; p += 2) {
            const int32_t oya = p / out->w;
            const int32_t oxa = p - oya * out->w;
            const int32_t oyb = (p + 1) / out->w;
            const int32_t oxb = (p + 1) - oyb * out->w;
            const int32_t iya = oya * params->stride.h - params->padding.h;
            const int32_t ixa = oxa * params->stride.w - params->padding.w;
            const int32_t iyb = oyb * params->stride.h - params->padding.h;
            const int32_t ixb = oxb * params->stride.w - params->padding.w;
            int8_t *dsta = dst;
            int8_t *dstb = dst + out->c;
            for (int32_t g = 0; g < groups; ++g) {
                fill_column_paired(pcol, input, in, b, iya, ixa, kh, kw, g * fc, fc, in_off, 4);
                fill_column_paired(pcol + 2, input, in, b, iyb, ixb, kh, kw, g * fc, fc, in_off, 4);
                int32_t oc = g * oc_per_group;
                const int32_t oc_end = oc + oc_per_group;
                for (; oc + 1 < oc_end; oc += 2) {
                    int32_t acc[4];
                    ef_conv_dot_2px_2ch(pcol, filter + oc * col_len, filter + (oc + 1) * col_len, col_len, acc);
                    dsta[oc] = ef_conv_output(acc[0], bias, oc, qm, qs, out_off, act_min, act_max);
                    dsta[oc + 1] = ef_conv_output(acc[1], bias, oc + 1, qm, qs, out_off, act_min, act_max);
                    dstb[oc] = ef_conv_output(acc[2], bias, oc, qm, qs, out_off, act_min, act_max);
                    dstb[oc + 1] = ef_conv_output(acc[3], bias, oc + 1, qm, qs, out_off, act_min, act_max);
                }
                if (oc < oc_end) {
                    int32_t acca;
                    int32_t accb;
                    dot_2px_1ch(pcol, filter + oc * col_len, col_len, &acca, &accb);
                    dsta[oc] = ef_conv_output(acca, bias, oc, qm, qs, out_off, act_min, act_max);
                    dstb[oc] = ef_conv_output(accb, bias, oc, qm, qs, out_off, act_min, act_max);
                }
            }
            dst += 2 * out->c;
        }
        if (p < n_px) {
            const int32_t oy = p / out->w;
            const int32_t ox = p - oy * out->w;
            const int32_t iy0 = oy * params->stride.h - params->padding.h;
            const int32_t ix0 = ox * params->stride.w - params->padding.w;
            for (int32_t g = 0; g < groups; ++g) {
                fill_column_paired(pcol, input, in, b, iy0, ix0, kh, kw, g * fc, fc, in_off, 2);
                int32_t oc = g * oc_per_group;
                const int32_t oc_end = oc + oc_per_group;
                for (; oc + 1 < oc_end; oc += 2) {
                    int32_t acc0;
                    int32_t acc1;
                    dot_paired_x2(pcol, filter + oc * col_len, filter + (oc + 1) * col_len, col_len, &acc0, &acc1);
                    dst[oc] = ef_conv_output(acc0, bias, oc, qm, qs, out_off, act_min, act_max);
                    dst[oc + 1] = ef_conv_output(acc1, bias, oc + 1, qm, qs, out_off, act_min, act_max);
                }
                if (oc < oc_end) {
                    const int32_t acc = dot_paired(pcol, filter + oc * col_len, col_len);
                    dst[oc] = ef_conv_output(acc, bias, oc, qm, qs, out_off, act_min, act_max);
                }
            }
            dst += out->c;
        }
    }
}
#elif defined(EF_NN_USE_MVE)


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

/* MVE body: int8 columns in `cols` (or the input pixels themselves when cols is NULL). */
void ef_nn_conv_2px_s8(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                       const int8_t *input, const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                       const ef_dims *out, int8_t *output, void *cols)
{
    int8_t *scratch = (int8_t *)cols;
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
typedef int ef_nn_conv_2px_unused; /* ISO C: a translation unit needs a declaration */
#endif
