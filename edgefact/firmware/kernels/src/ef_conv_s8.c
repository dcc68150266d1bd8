/* CONV_2D, generic: any kernel size and stride, SAME/VALID padding, grouped convolution; dilation
 * through ef_conv_dilated_s8 (the same bodies).
 *
 * One im2col column of kh * kw * filter c values per output pixel and group (the real taps of a
 * dilated filter, dilation apart in the input), then dot products
 * with every filter of the group. Bodies, chosen at compile time (ef_nn_target.h):
 *  - MVE: the two-pixel engine on int8 columns (ef_nn_conv_2px_s8);
 *  - DSP, when every channel is on the fast requantization (ef_conv_rq_fast): the two-pixel
 *    engine on paired int16 columns when filter c % 4 == 0, else, for a column of at most
 *    EF_CONV_FLAT_STACK_LEN values and >= 2 output channels per group, the flat path
 *    (conv_dsp_flat_small: the same 2x2 asm loop on stack columns; undilated); otherwise the portable loop
 *    (whose int16 dot products use SMLAD);
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

/* Fills `col` with the (input + offset) values under the window at (iy0, ix0) for one group
 * (taps dil->h / dil->w apart); taps outside the input are 0 so they add nothing, as in TFLite. */
static void fill_column(int16_t *col, const int8_t *input, const ef_dims *in, int32_t b,
                        int32_t iy0, int32_t ix0, int32_t kh, int32_t kw, const ef_tile *dil, int32_t c0,
                        int32_t fc, int32_t input_offset)
{
    int32_t k = 0;
    for (int32_t ky = 0; ky < kh; ++ky) {
        const int32_t iy = iy0 + ky * dil->h;
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t ix = ix0 + kx * dil->w;
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
 * DSP path for short flat columns (filter depth % 4 != 0, kh * kw * filter c <= 64: first layers
 * with 1-4 input channels, KWS's 10x4 kernel): per pixel pair, each pixel's column is first
 * gathered as int8 (out-of-bounds taps and the padding up to a multiple of 4 hold the input zero
 * point, so they extend to 0), then widened a word at a time into the interleaved layout of
 * ef_conv_dot_2px_2ch_adv on the stack (256 + 128 bytes). The padded last group multiplies zeros
 * with the first bytes of the next filter; only for the channel pair whose filter ends the array
 * are the last col_len % 4 values added in C instead (no read past the filter).
 */
#define EF_CONV_FLAT_STACK_LEN 64
/* channel pairs per requantization table (ef_conv_pairs_job; 32 bytes of stack each) */
#define EF_CONV_FLAT_TAB_PAIRS 32

static void gather_raw(int8_t *raw, const int8_t *input, const ef_dims *in, int32_t b, int32_t iy0, int32_t ix0,
                       int32_t kh, int32_t kw, int32_t c0, int32_t fc, int8_t pad, int32_t n4p)
{
    const int32_t row = in->w * in->c;
    const int8_t *base = input + b * in->h * row + c0;
    const int32_t run = kw * fc;
    const int contiguous = fc == in->c && ix0 >= 0 && ix0 + kw <= in->w;
    int8_t *dst = raw;
    for (int32_t ky = 0; ky < kh; ++ky) {
        const int32_t iy = iy0 + ky;
        if ((uint32_t)iy >= (uint32_t)in->h) {
            for (int32_t i = 0; i < run; ++i) {
                *dst++ = pad;
            }
        } else if (contiguous) {
            const int8_t *src = base + iy * row + ix0 * in->c;
            int32_t n = run;
            for (; n >= 4; n -= 4) {
                memcpy(dst, src, 4);
                dst += 4;
                src += 4;
            }
            for (; n > 0; --n) {
                *dst++ = *src++;
            }
        } else {
            for (int32_t kx = 0; kx < kw; ++kx) {
                const int32_t ix = ix0 + kx;
                if ((uint32_t)ix >= (uint32_t)in->w) {
                    for (int32_t ci = 0; ci < fc; ++ci) {
                        *dst++ = pad;
                    }
                } else {
                    const int8_t *src = base + iy * row + ix * in->c;
                    for (int32_t ci = 0; ci < fc; ++ci) {
                        *dst++ = src[ci];
                    }
                }
            }
        }
    }
    while (dst < raw + n4p) {
        *dst++ = pad;
    }
}

static void conv_dsp_flat_small(const ef_conv_params *params, const ef_per_channel_quant *quant,
                                const ef_dims *in, const int8_t *input, const ef_dims *filter_dims,
                                const int8_t *filter, const int32_t *bias, const ef_dims *out, int8_t *output)
{
    uint32_t cols[EF_CONV_FLAT_STACK_LEN];
    uint32_t raw_words[2][EF_CONV_FLAT_STACK_LEN / 4];
    int8_t *raw_a = (int8_t *)raw_words[0];
    int8_t *raw_b = (int8_t *)raw_words[1];
    const int32_t kh = filter_dims->h;
    const int32_t kw = filter_dims->w;
    const int32_t fc = filter_dims->c;
    const int32_t col_len = kh * kw * fc;
    const int32_t n4 = col_len & ~3;
    const int32_t n4p = (col_len + 3) & ~3;
    const int32_t groups = in->c / fc;
    const int32_t oc_per_group = out->c / groups;
    const int32_t n_px = out->h * out->w;
    const int32_t in_off = params->input_offset;
    const uint32_t off2 = ((uint32_t)(uint16_t)in_off << 16) | (uint16_t)in_off;
    const int8_t pad = (int8_t)(-in_off);
    const int32_t *qm = quant->multiplier;
    const int32_t *qs = quant->shift;
    const int32_t out_off = params->output_offset;
    const int32_t act_min = params->activation.min;
    const int32_t act_max = params->activation.max;
    const int8_t *fend = filter + out->c * col_len;
    const int32_t pairs_g = oc_per_group >> 1;
    int32_t tab[EF_CONV_FLAT_TAB_PAIRS * 8 + 2];
    int32_t tab_last[8 + 2];
    uint32_t flast[(2 * EF_CONV_FLAT_STACK_LEN + 4) / 4];
    ef_conv_pairs_job job;
    job.col = cols;
    job.n = n4p;
    job.stride = col_len;
    for (int32_t b = 0; b < in->n; ++b) {
        int8_t *dst = output + b * n_px * out->c;
        for (int32_t g = 0; g < groups; ++g) {
            /* channel pairs in chunks of EF_CONV_FLAT_TAB_PAIRS; a pair whose n4p-byte filter reads
             * would pass the end of the filter array (col_len % 4 != 0, the last pairs) and the odd
             * last channel of the group run in C with the last chunk */
            for (int32_t k0 = 0; k0 == 0 || k0 < pairs_g; k0 += EF_CONV_FLAT_TAB_PAIRS) {
                const int32_t np = EF_MIN(EF_CONV_FLAT_TAB_PAIRS, pairs_g - k0);
                const int32_t oc0 = g * oc_per_group + 2 * k0;
                int32_t nsafe = np;
                while (nsafe > 0 && filter + (oc0 + 2 * nsafe - 1) * col_len + n4p > fend) {
                    --nsafe;
                }
                const int last_chunk = k0 + np >= pairs_g;
                if (nsafe > 0) {
                    ef_nn_conv_pairs_tab(tab, bias, qm, qs, oc0, nsafe, out_off);
                }
                /* one pair reading past the filter's end (col_len >= 4): its two rows copied to the
                 * stack with zeros after, so it runs the asm too (the zeros meet the column's padding) */
                const int one_last = np - nsafe == 1 && col_len >= 4;
                if (one_last) {
                    const int32_t ocl = oc0 + 2 * nsafe;
                    memcpy(flast, filter + ocl * col_len, (size_t)(2 * col_len));
                    memset((int8_t *)flast + 2 * col_len, 0, 4);
                    ef_nn_conv_pairs_tab(tab_last, bias, qm, qs, ocl, 1, out_off);
                }
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
                    gather_raw(raw_a, input, in, b, iya, ixa, kh, kw, g * fc, fc, pad, n4p);
                    gather_raw(raw_b, input, in, b, iyb, ixb, kh, kw, g * fc, fc, pad, n4p);
                    for (int32_t k = 0; k < n4p / 4; ++k) {
                        const uint32_t wa = raw_words[0][k];
                        const uint32_t wb = raw_words[1][k];
                        cols[4 * k] = __sxtab16(off2, wa);
                        cols[4 * k + 1] = ef_sxtab16_ror8(off2, wa);
                        cols[4 * k + 2] = __sxtab16(off2, wb);
                        cols[4 * k + 3] = ef_sxtab16_ror8(off2, wb);
                    }
                    if (nsafe > 0) {
                        /* a lone last pixel: pixel B is pixel A, its stores land on A's (equal values) */
                        job.tab = tab;
                        job.dst = dsta + oc0;
                        job.doff = has_b ? out->c : 0;
                        job.pairs = nsafe;
                        job.f0 = filter + oc0 * col_len;
                        ef_nn_conv_pairs_2x2(&job);
                    }
                    if (one_last) {
                        job.tab = tab_last;
                        job.dst = dsta + oc0 + 2 * nsafe;
                        job.doff = has_b ? out->c : 0;
                        job.pairs = 1;
                        job.f0 = (const int8_t *)flast;
                        ef_nn_conv_pairs_2x2(&job);
                    }
                    for (int32_t oc = oc0 + 2 * (nsafe + one_last); oc < oc0 + 2 * np; oc += 2) {
                        int32_t acc[4];
                        if (bias != 0) {
                            acc[0] = acc[2] = bias[oc];
                            acc[1] = acc[3] = bias[oc + 1];
                        } else {
                            acc[0] = acc[1] = acc[2] = acc[3] = 0;
                        }
                        const int8_t *f0 = filter + oc * col_len;
                        const int8_t *f1 = f0 + col_len;
                        ef_conv_dot_2px_2ch_adv(cols, &f0, &f1, n4, acc);
                        for (int32_t r = n4; r < col_len; ++r) {
                            const int32_t xa = raw_a[r] + in_off;
                            const int32_t xb = raw_b[r] + in_off;
                            acc[0] += xa * f0[r - n4];
                            acc[1] += xa * f1[r - n4];
                            acc[2] += xb * f0[r - n4];
                            acc[3] += xb * f1[r - n4];
                        }
                        ef_conv_store_2x2(dsta, dstb, has_b, acc, oc, qm, qs, out_off);
                    }
                    if (last_chunk && (oc_per_group & 1)) {
                        const int32_t oc = g * oc_per_group + oc_per_group - 1;
                        const int8_t *f = filter + oc * col_len;
                        int32_t acca = 0;
                        int32_t accb = 0;
                        for (int32_t r = 0; r < col_len; ++r) {
                            acca += (raw_a[r] + in_off) * f[r];
                            accb += (raw_b[r] + in_off) * f[r];
                        }
                        dsta[oc] = ef_nn_conv_output_any(acca, bias, oc, qm, qs, out_off, act_min, act_max);
                        if (has_b) {
                            dstb[oc] = ef_nn_conv_output_any(accb, bias, oc, qm, qs, out_off, act_min, act_max);
                        }
                    }
                }
            }
        }
    }
    if (act_min != -128 || act_max != 127) {
        ef_nn_clamp_s8(output, in->n * n_px * out->c, act_min, act_max);
    }
}

#endif

/* ef_conv_s8 (dilated 0: dilation must be 1) and ef_conv_dilated_s8 (1: any dilation), inlined
 * into both so that only firmware with a dilated layer links the dilated window builders. */
static inline __attribute__((always_inline)) ef_status conv_s8(
    const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *input_dims, const int8_t *input,
    const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias, const ef_dims *output_dims,
    int8_t *output, const ef_context *ctx, const int dilated)
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
    const int32_t dh = params->dilation.h;
    const int32_t dw = params->dilation.w;
    if (!dilated && (dh != 1 || dw != 1)) {
        return EF_ERR_UNSUPPORTED;
    }
    if (dh < 1 || dw < 1 || (kh > 1 && dh > in->h + kh) || (kw > 1 && dw > in->w + kw)) {
        return EF_ERR_PARAM;
    }
    /* the window's extent: (k - 1) * dilation + 1 */
    if (!ef_out_size_ok(in->h, (kh - 1) * dh + 1, params->stride.h, params->padding.h, out->h) ||
        !ef_out_size_ok(in->w, (kw - 1) * dw + 1, params->stride.w, params->padding.w, out->w)) {
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
    if (dilated) {
        ef_nn_conv_2px_dil_s8(params, quant, in, input, filter_dims, filter, bias, out, output, scratch);
    } else {
        ef_nn_conv_2px_s8(params, quant, in, input, filter_dims, filter, bias, out, output, scratch);
    }
    return EF_OK;
#elif defined(EF_NN_USE_DSP)
    const int rq_fast = ef_conv_rq_fast(quant, out->c);
    if ((fc & 3) == 0 && rq_fast) {
        ef_nn_conv_2px_s8(params, quant, in, input, filter_dims, filter, bias, out, output, scratch);
        return EF_OK;
    }
    if (col_len <= EF_CONV_FLAT_STACK_LEN && out->c / groups >= 2 && rq_fast && (dh | dw) == 1) {
        conv_dsp_flat_small(params, quant, in, input, filter_dims, filter, bias, out, output);
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
                    fill_column(col, input, in, b, iy0, ix0, kh, kw, &params->dilation, g * fc, fc, in_off);
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

ef_status ef_conv_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                     const ef_dims *input_dims, const int8_t *input,
                     const ef_dims *filter_dims, const int8_t *filter,
                     const int32_t *bias,
                     const ef_dims *output_dims, int8_t *output,
                     const ef_context *ctx)
{
    return conv_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, ctx, 0);
}

ef_status ef_conv_dilated_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                             const ef_dims *input_dims, const int8_t *input,
                             const ef_dims *filter_dims, const int8_t *filter,
                             const int32_t *bias,
                             const ef_dims *output_dims, int8_t *output,
                             const ef_context *ctx)
{
    return conv_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, ctx, 1);
}
