/* CONV_2D, generic: any kernel size and stride, SAME/VALID padding, grouped convolution.
 *
 * One im2col column of kh * kw * filter c values per output pixel and group, then dot products
 * with every filter of the group. Bodies, chosen at compile time (ef_nn_target.h):
 *  - MVE: the two-pixel engine on int8 columns (ef_nn_conv_2px_s8);
 *  - DSP: the two-pixel engine on paired int16 columns when filter c % 4 == 0, else the flat
 *    interleaved column (conv_dsp_flat) when a group has >= EF_CONV_FLAT_MIN_CHANNELS output
 *    channels, else the portable loop (whose int16 dot products use SMLAD);
 *  - portable: one int16 column, two output channels per pass. */
#include "internal/ef_conv_2px.h"

int32_t ef_conv_s8_get_buffer_size(const ef_dims *input_dims, const ef_dims *filter_dims)
{
    if (input_dims == 0 || filter_dims == 0) {
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
 * DSP path for filter depths that are not a multiple of 4 (e.g. the first layer of an image or
 * audio model, 1 or 3 input channels): the column is built value by value in the same
 * interleaved layout as the DSP engine's paired columns ([A02, A13, B02, B13] per group of 4 column values,
 * now groups of the flattened kh*kw*fc column rather than of channels), so ef_conv_dot_2px_2ch runs on the
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
                    ef_conv_dot_2px_2ch((const ef_col_word *)col, f0, f1, n4, acc);
                    for (int32_t r = 0; r < rem; ++r) {
                        acc[0] += tail_a[r] * f0[n4 + r];
                        acc[1] += tail_a[r] * f1[n4 + r];
                        acc[2] += tail_b[r] * f0[n4 + r];
                        acc[3] += tail_b[r] * f1[n4 + r];
                    }
                    dsta[oc] = ef_conv_output(acc[0], bias, oc, qm, qs, out_off, act_min, act_max);
                    if (two) {
                        dsta[oc + 1] = ef_conv_output(acc[1], bias, oc + 1, qm, qs, out_off, act_min, act_max);
                    }
                    if (has_b) {
                        dstb[oc] = ef_conv_output(acc[2], bias, oc, qm, qs, out_off, act_min, act_max);
                        if (two) {
                            dstb[oc + 1] = ef_conv_output(acc[3], bias, oc + 1, qm, qs, out_off, act_min, act_max);
                        }
                    }
                }
            }
        }
    }
}

#endif

ef_status ef_conv_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                     const ef_dims *input_dims, const int8_t *input,
                     const ef_dims *filter_dims, const int8_t *filter,
                     const int32_t *bias,
                     const ef_dims *output_dims, int8_t *output,
                     const ef_context *ctx)
{
    if (params == 0 || quant == 0 || quant->multiplier == 0 || quant->shift == 0 || input == 0 ||
        filter == 0 || output == 0 || ctx == 0 || ctx->buf == 0) {
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
    /* the column is written as words (STRD/STM need 4-byte alignment) */
    if (ctx->size < ef_conv_s8_get_buffer_size(input_dims, filter_dims) || ((uintptr_t)ctx->buf & 3u) != 0) {
        return EF_ERR_SCRATCH;
    }
    for (int32_t oc = 0; oc < out->c; ++oc) {
        if (!ef_shift_valid(quant->shift[oc])) {
            return EF_ERR_PARAM;
        }
    }

    void *scratch = ctx->buf;
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
    ef_nn_conv_2px_s8(params, quant, in, input, filter_dims, filter, bias, out, output, scratch);
    return EF_OK;
#elif defined(EF_NN_USE_DSP)
    if ((fc & 3) == 0) {
        ef_nn_conv_2px_s8(params, quant, in, input, filter_dims, filter, bias, out, output, scratch);
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
                        dst[oc] = ef_conv_output(acc0, bias, oc, qm, qs, out_off, act_min, act_max);
                        dst[oc + 1] = ef_conv_output(acc1, bias, oc + 1, qm, qs, out_off, act_min, act_max);
                    }
                    for (; oc < oc_end; ++oc) {
                        const int32_t acc = ef_dot_s16_s8(col, filter + oc * col_len, col_len);
                        dst[oc] = ef_conv_output(acc, bias, oc, qm, qs, out_off, act_min, act_max);
                    }
                }
                dst += out->c;
            }
        }
    }
    return EF_OK;
}
