/* CONV_2D, generic: any kernel size and stride, SAME/VALID padding, grouped convolution. */
#include "internal/ef_nn_internal.h"

int32_t ef_conv_s8_get_buffer_size(const ef_dims *input_dims, const ef_dims *filter_dims)
{
    if (input_dims == 0 || filter_dims == 0) {
        return 0;
    }
    if (filter_dims->h == 1 && filter_dims->w == 1 && filter_dims->c == input_dims->c) {
        return 0;
    }
    /* two int16 columns (the DSP path computes two output pixels per pass) */
    return 4 * filter_dims->h * filter_dims->w * filter_dims->c;
}

/* Fills `col` with the (input + offset) values under the window at (iy0, ix0) for one group;
 * taps outside the input are 0 so they add nothing, as in TFLite. */
static void fill_column(int16_t *col, const int8_t *input, const ef_dims *in, int32_t b,
                        int32_t iy0, int32_t ix0, int32_t kh, int32_t kw, int32_t c0, int32_t fc,
                        int32_t input_offset)
{
    int32_t k = 0;
    for (int32_t ky = 0; ky < kh; ++ky) {
        const int32_t iy = iy0 + ky;
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t ix = ix0 + kx;
            if (iy < 0 || iy >= in->h || ix < 0 || ix >= in->w) {
                for (int32_t ci = 0; ci < fc; ++ci) {
                    col[k++] = 0;
                }
            } else {
                const int8_t *src = input + (((b * in->h + iy) * in->w + ix) * in->c + c0);
                for (int32_t ci = 0; ci < fc; ++ci) {
                    col[k++] = (int16_t)(src[ci] + input_offset);
                }
            }
        }
    }
}

#if defined(EF_NN_USE_DSP)
/*
 * DSP fast path, used when the filter depth is a multiple of 4: the column is stored with each
 * group of 4 values as (a0, a2) (a1, a3) halfword pairs, which is what SXTAB16 produces from 4
 * input bytes and what SMLAD needs against SXTB16 of 4 filter bytes (and its 8-bit rotation).
 * Two output channels share every column load. `skip` is the word step between groups: 2 for one
 * column, 4 for two interleaved columns (two output pixels, see dot_2px_2ch).
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

/* Two output pixels x two output channels per pass over two interleaved paired columns
 * ([A02, A13, B02, B13] per group of 4 values): each filter word is sign-extended once for both
 * pixels and each column word is used by both channels, so 16 MACs cost 8 SMLAD, 4 extends and
 * 2 LDRD + 2 LDR (CMSIS-NN-style 2x2 blocking, written here from scratch). acc: [A0, A1, B0, B1]. */
/* The flat-column path (conv_dsp_flat) writes the column as int16 and reads it here as words:
 * may_alias keeps that well defined under strict aliasing. */
typedef uint32_t ef_col_word __attribute__((may_alias));

static inline void dot_2px_2ch(const ef_col_word *col, const int8_t *f0, const int8_t *f1, int32_t n,
                               int32_t acc[4])
{
    uint32_t a0 = 0;
    uint32_t a1 = 0;
    uint32_t b0 = 0;
    uint32_t b1 = 0;
    for (int32_t i = n >> 2; i > 0; --i) {
        const uint32_t ca02 = col[0];
        const uint32_t ca13 = col[1];
        const uint32_t cb02 = col[2];
        const uint32_t cb13 = col[3];
        col += 4;
        uint32_t w = ef_read_u32(f0);
        f0 += 4;
        uint32_t we = __sxtb16(w);
        ef_smlad_acc(&a0, ca02, we);
        ef_smlad_acc(&b0, cb02, we);
        we = ef_sxtb16_ror8(w);
        ef_smlad_acc(&a0, ca13, we);
        ef_smlad_acc(&b0, cb13, we);
        w = ef_read_u32(f1);
        f1 += 4;
        we = __sxtb16(w);
        ef_smlad_acc(&a1, ca02, we);
        ef_smlad_acc(&b1, cb02, we);
        we = ef_sxtb16_ror8(w);
        ef_smlad_acc(&a1, ca13, we);
        ef_smlad_acc(&b1, cb13, we);
    }
    acc[0] = (int32_t)a0;
    acc[1] = (int32_t)a1;
    acc[2] = (int32_t)b0;
    acc[3] = (int32_t)b1;
}

/* The odd last output channel of dot_2px_2ch. */
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
#endif

/* mult/shift are passed as plain pointers (not through the quant struct) so the int8 output
 * stores, which may alias anything, do not force reloads of the struct. */
static inline int8_t conv_output(int32_t acc, const int32_t *bias, int32_t oc, const int32_t *mult,
                                 const int32_t *shift, int32_t out_off, int32_t act_min, int32_t act_max)
{
    if (bias != 0) {
        acc += bias[oc];
    }
    acc = ef_requantize(acc, mult[oc], shift[oc]) + out_off;
    return ef_clamp_to_s8(acc, act_min, act_max);
}

#if defined(EF_NN_USE_DSP)
/*
 * DSP path for filter depths that are not a multiple of 4 (e.g. the first layer of an image or
 * audio model, 1 or 3 input channels): the column is built value by value in the same
 * interleaved layout as fill_column_paired ([A02, A13, B02, B13] per group of 4 column values,
 * now groups of the flattened kh*kw*fc column rather than of channels), so dot_2px_2ch runs on the
 * col_len & ~3 leading values; the last col_len % 4 values of each pixel follow plainly (pixel A,
 * then B) and are added in C. Two columns fit the scratch exactly (2 * col_len int16). An odd
 * last output pixel is computed as a pair with itself.
 */
static void fill_column_flat(int16_t *col, int32_t pixel, const int8_t *input, const ef_dims *in, int32_t b,
                             int32_t iy0, int32_t ix0, int32_t kh, int32_t kw, int32_t c0, int32_t fc,
                             int32_t input_offset, int32_t n4, int32_t rem)
{
    int32_t k = 0;
    for (int32_t ky = 0; ky < kh; ++ky) {
        const int32_t iy = iy0 + ky;
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t ix = ix0 + kx;
            const int inside = iy >= 0 && iy < in->h && ix >= 0 && ix < in->w;
            const int8_t *src = input + (((b * in->h + iy) * in->w + ix) * in->c + c0);
            for (int32_t ci = 0; ci < fc; ++ci, ++k) {
                const int16_t v = inside ? (int16_t)(src[ci] + input_offset) : 0;
                if (k < n4) {
                    const int32_t r = k & 3;
                    col[2 * (k - r) + 4 * pixel + (((r & 1) << 1) | (r >> 1))] = v;
                } else {
                    col[2 * n4 + pixel * rem + (k - n4)] = v;
                }
            }
        }
    }
}

/* The flat column costs ~10 instructions per value and pixel to build, and the 2x2 loop saves
 * about half an instruction per MAC over the int16 dot products: measured on Cortex-M4, it loses
 * below ~8 output channels per group and wins clearly from 16 (ResNet-8's and DS-CNN's first
 * layers). */
#define EF_CONV_FLAT_MIN_CHANNELS 12

static void conv_dsp_flat(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                          const int8_t *input, const ef_dims *filter_dims, const int8_t *filter,
                          const int32_t *bias, const ef_dims *out, int8_t *output, int16_t *col)
{
    const int32_t kh = filter_dims->h;
    const int32_t kw = filter_dims->w;
    const int32_t fc = filter_dims->c;
    const int32_t col_len = kh * kw * fc;
    const int32_t n4 = col_len & ~3;
    const int32_t rem = col_len - n4;
    const int32_t groups = in->c / fc;
    const int32_t oc_per_group = out->c / groups;
    const int32_t n_px = out->h * out->w;
    const int32_t in_off = params->input_offset;
    const int32_t *qm = quant->multiplier;
    const int32_t *qs = quant->shift;
    const int32_t out_off = params->output_offset;
    const int32_t act_min = params->activation.min;
    const int32_t act_max = params->activation.max;
    const int16_t *tail_a = col + 2 * n4;
    const int16_t *tail_b = tail_a + rem;
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
                fill_column_flat(col, 0, input, in, b, iya, ixa, kh, kw, g * fc, fc, in_off, n4, rem);
                fill_column_flat(col, 1, input, in, b, iyb, ixb, kh, kw, g * fc, fc, in_off, n4, rem);
                const int32_t oc_end = (g + 1) * oc_per_group;
                int32_t oc = g * oc_per_group;
                for (; oc < oc_end; oc += 2) {
                    const int two = oc + 1 < oc_end;
                    const int8_t *f0 = filter + oc * col_len;
                    const int8_t *f1 = two ? f0 + col_len : f0;
                    int32_t acc[4];
                    dot_2px_2ch((const ef_col_word *)col, f0, f1, n4, acc);
                    for (int32_t r = 0; r < rem; ++r) {
                        acc[0] += tail_a[r] * f0[n4 + r];
                        acc[1] += tail_a[r] * f1[n4 + r];
                        acc[2] += tail_b[r] * f0[n4 + r];
                        acc[3] += tail_b[r] * f1[n4 + r];
                    }
                    dsta[oc] = conv_output(acc[0], bias, oc, qm, qs, out_off, act_min, act_max);
                    if (two) {
                        dsta[oc + 1] = conv_output(acc[1], bias, oc + 1, qm, qs, out_off, act_min, act_max);
                    }
                    if (has_b) {
                        dstb[oc] = conv_output(acc[2], bias, oc, qm, qs, out_off, act_min, act_max);
                        if (two) {
                            dstb[oc + 1] = conv_output(acc[3], bias, oc + 1, qm, qs, out_off, act_min, act_max);
                        }
                    }
                }
            }
        }
    }
}

/* DSP path (filter depth % 4 == 0): output pixels in pairs (consecutive in raster order, so a
 * pair may straddle two rows), two interleaved columns in scratch, 2 pixels x 2 channels per
 * pass; an odd last pixel goes through one column and dot_paired_x2. Also the engine of
 * ef_conv_1x1_s8 for small depths (its columns live on the stack there). */
void ef_conv_dsp_s8_run(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                        const int8_t *input, const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                        const ef_dims *out, int8_t *output, uint32_t *pcol)
{
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
                    dot_2px_2ch(pcol, filter + oc * col_len, filter + (oc + 1) * col_len, col_len, acc);
                    dsta[oc] = conv_output(acc[0], bias, oc, qm, qs, out_off, act_min, act_max);
                    dsta[oc + 1] = conv_output(acc[1], bias, oc + 1, qm, qs, out_off, act_min, act_max);
                    dstb[oc] = conv_output(acc[2], bias, oc, qm, qs, out_off, act_min, act_max);
                    dstb[oc + 1] = conv_output(acc[3], bias, oc + 1, qm, qs, out_off, act_min, act_max);
                }
                if (oc < oc_end) {
                    int32_t acca;
                    int32_t accb;
                    dot_2px_1ch(pcol, filter + oc * col_len, col_len, &acca, &accb);
                    dsta[oc] = conv_output(acca, bias, oc, qm, qs, out_off, act_min, act_max);
                    dstb[oc] = conv_output(accb, bias, oc, qm, qs, out_off, act_min, act_max);
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
                    dst[oc] = conv_output(acc0, bias, oc, qm, qs, out_off, act_min, act_max);
                    dst[oc + 1] = conv_output(acc1, bias, oc + 1, qm, qs, out_off, act_min, act_max);
                }
                if (oc < oc_end) {
                    const int32_t acc = dot_paired(pcol, filter + oc * col_len, col_len);
                    dst[oc] = conv_output(acc, bias, oc, qm, qs, out_off, act_min, act_max);
                }
            }
            dst += out->c;
        }
    }
}
#endif

ef_status ef_conv_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                     const ef_dims *input_dims, const int8_t *input,
                     const ef_dims *filter_dims, const int8_t *filter,
                     const int32_t *bias,
                     const ef_dims *output_dims, int8_t *output,
                     void *scratch)
{
    if (params == 0 || quant == 0 || quant->multiplier == 0 || quant->shift == 0 || input == 0 ||
        filter == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (!ef_dims_valid(input_dims) || !ef_dims_valid(filter_dims) || !ef_dims_valid(output_dims)) {
        return EF_ERR_DIMS;
    }
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    const int32_t kh = filter_dims->h;
    const int32_t kw = filter_dims->w;
    const int32_t fc = filter_dims->c;
    if (in->c % fc != 0 || filter_dims->n != out->c || out->n != in->n) {
        return EF_ERR_DIMS;
    }
    const int32_t groups = in->c / fc;
    if (out->c % groups != 0) {
        return EF_ERR_DIMS;
    }
    if (params->dilation.h != 1 || params->dilation.w != 1) {
        return EF_ERR_UNSUPPORTED;
    }
    if (!ef_out_size_ok(in->h, kh, params->stride.h, params->padding.h, out->h) ||
        !ef_out_size_ok(in->w, kw, params->stride.w, params->padding.w, out->w)) {
        return EF_ERR_DIMS;
    }
    if (!ef_activation_valid(&params->activation)) {
        return EF_ERR_PARAM;
    }
    if (kh == 1 && kw == 1 && groups == 1 && params->padding.h == 0 && params->padding.w == 0) {
        return ef_conv_1x1_s8(params, quant, input_dims, input, filter_dims, filter, bias,
                              output_dims, output);
    }
    if (scratch == 0) {
        return EF_ERR_NULL;
    }
    if (((uintptr_t)scratch & 3u) != 0) {
        return EF_ERR_PARAM; /* the column is written as words (STRD/STM need 4-byte alignment) */
    }
    for (int32_t oc = 0; oc < out->c; ++oc) {
        if (!ef_shift_valid(quant->shift[oc])) {
            return EF_ERR_PARAM;
        }
    }

    int16_t *col = (int16_t *)scratch;
    const int32_t *qm = quant->multiplier;
    const int32_t *qs = quant->shift;
    const int32_t col_len = kh * kw * fc;
    const int32_t oc_per_group = out->c / groups;
    const int32_t in_off = params->input_offset;
    const int32_t out_off = params->output_offset;
    const int32_t act_min = params->activation.min;
    const int32_t act_max = params->activation.max;
    int8_t *dst = output;
#if defined(EF_NN_USE_MVE)
    ef_conv_mve_s8_run(params, quant, in, input, filter_dims, filter, bias, out, output, (int8_t *)scratch);
    return EF_OK;
#endif
#if defined(EF_NN_USE_DSP)
    if ((fc & 3) == 0) {
        ef_conv_dsp_s8_run(params, quant, in, input, filter_dims, filter, bias, out, output, (uint32_t *)scratch);
        return EF_OK;
    }
    if (out->c / groups >= EF_CONV_FLAT_MIN_CHANNELS) {
        conv_dsp_flat(params, quant, in, input, filter_dims, filter, bias, out, output, (int16_t *)scratch);
        return EF_OK;
    }
#endif

    for (int32_t b = 0; b < in->n; ++b) {
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy0 = oy * params->stride.h - params->padding.h;
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t ix0 = ox * params->stride.w - params->padding.w;
                for (int32_t g = 0; g < groups; ++g) {
                    int32_t oc = g * oc_per_group;
                    const int32_t oc_end = oc + oc_per_group;
                    fill_column(col, input, in, b, iy0, ix0, kh, kw, g * fc, fc, in_off);
                    for (; oc + 1 < oc_end; oc += 2) {
                        int32_t acc0;
                        int32_t acc1;
                        ef_dot2_s16_s8(col, filter + oc * col_len, filter + (oc + 1) * col_len, col_len, &acc0,
                                       &acc1);
                        dst[oc] = conv_output(acc0, bias, oc, qm, qs, out_off, act_min, act_max);
                        dst[oc + 1] = conv_output(acc1, bias, oc + 1, qm, qs, out_off, act_min, act_max);
                    }
                    for (; oc < oc_end; ++oc) {
                        const int32_t acc = ef_dot_s16_s8(col, filter + oc * col_len, col_len);
                        dst[oc] = conv_output(acc, bias, oc, qm, qs, out_off, act_min, act_max);
                    }
                }
                dst += out->c;
            }
        }
    }
    return EF_OK;
}
