/* CONV_2D, first layers (3x3 filter, 1-4 input channels, ungrouped) on the DSP cores.
 *
 * The generator picks this kernel only on Cortex-M4/M7/M33 for such layers (the 96x96x3 ->
 * 8 MobileNets, ResNet-8's 3 -> 16), so firmware without them (kws_dscnn) does not link it.
 * ef_conv_s8's flat first-layer path gathers every pixel's column (with the zero point for padding)
 * and widens it onto the stack before its 2x2 channel-pair loop; with 4-16 output channels that
 * copy costs about as much as the MACs. Here every output channel's filter is sign-extended once
 * per call into a stack table of entries {bias, filter values, m, e, 2^e} (a filter row of R =
 * 3 * C bytes as R / 4 SXTB16 word pairs and R % 4 single values), and each interior window is
 * read in place: per filter row R / 4 words widened by SXTAB16 with the input offset and R % 4
 * bytes, once per pixel, then per output channel one SMLAD per pair and one MLA per single value
 * from the bias, the fast requantization (ef_conv_rq_one) and SSAT. A border pixel's window is
 * copied into a 3 x R local block with the input zero point outside (every product with it is 0,
 * as TFLM skips those taps). Any other layer, a requantization off the fast path and the
 * portable / Helium builds run ef_conv_s8, so the results are those of that kernel, bit-exact
 * with TFLM.
 */
#include "internal/ef_conv_2px.h"

#if defined(EF_NN_USE_DSP)

/* words of the stack table (1216 B: 16 entries of 19 words at 3x3x3) */
#define EF_FIRST_TAB_WORDS 304

/* One pixel's channels oc0 .. oc0 + nc - 1 from the window at win (rows row_step bytes apart),
 * R = 3 * C filter-row bytes: the table entries are 1 + NV + 3 words, NV = 3 * (R / 4 * 2 + R % 4). */
static void first_pixel(const int8_t *win, int32_t row_step,
                                                               const int32_t *tab, int32_t nc, int8_t *dst,
                                                               uint32_t off2, int32_t in_off, int32_t out_off,
                                                               int32_t act_min, int32_t act_max, const int32_t R)
{
    const int32_t nw = R / 4;
    const int32_t rem = R % 4;
    const int32_t nv = 3 * (2 * nw + rem);
    int32_t x[18];
    int32_t j = 0;
    for (int32_t r = 0; r < 3; ++r) {
        const int8_t *p = win + r * row_step;
        for (int32_t i = 0; i < nw; ++i) {
            const uint32_t w = ef_read_u32(p + 4 * i);
            x[j++] = (int32_t)__sxtab16(off2, w);
            x[j++] = (int32_t)__sxtab16(off2, ef_ror8(w));
        }
        for (int32_t i = 0; i < rem; ++i) {
            x[j++] = p[4 * nw + i] + in_off;
        }
    }
    for (int32_t c = 0; c < nc; ++c) {
        int32_t acc = tab[0];
        const int32_t *f = tab + 1;
        int32_t k = 0;
        for (int32_t r = 0; r < 3; ++r) {
            for (int32_t i = 0; i < 2 * nw; ++i, ++k) {
                acc = (int32_t)__smlad((uint32_t)x[k], (uint32_t)f[k], (uint32_t)acc);
            }
            for (int32_t i = 0; i < rem; ++i, ++k) {
                acc += x[k] * f[k];
            }
        }
        const int32_t *q = tab + 1 + nv;
        int32_t v = __ssat(ef_conv_rq_one(acc, q[0], q[1], (uint32_t)q[2]) + out_off, 8);
        v = EF_MAX(v, act_min);
        dst[c] = (int8_t)EF_MIN(v, act_max);
        tab += 4 + nv;
    }
}

/* first_pixel at R = 9 (3x3x3): the window's 15 widened values in a stack block ordered like the
 * entries' filter values ([a0 b0 a1 b1 | a2 b2 a3 b3 | a4 b4 a5 b5 | s0 s1 s2], first_tab9), then
 * per channel LDMs of 4 (3) values and their filter values, 12 SMLAD and 3 MLA on 19-word entries
 * {bias, 15 filter values, m, e, 2^e}; the activation clamp is the caller's pass. */
static void first_pixel9(const int8_t *win, int32_t row_step, const int32_t *tab, int32_t nc, int8_t *dst,
                         uint32_t off2, int32_t in_off, int32_t out_off)
{
    const int8_t *p1 = win + row_step;
    const int8_t *p2 = p1 + row_step;
    uint32_t xs[15];
    const uint32_t w0 = ef_read_u32(win), w1 = ef_read_u32(win + 4);
    const uint32_t w2 = ef_read_u32(p1), w3 = ef_read_u32(p1 + 4);
    const uint32_t w4 = ef_read_u32(p2), w5 = ef_read_u32(p2 + 4);
    xs[0] = __sxtab16(off2, w0);
    xs[1] = __sxtab16(off2, ef_ror8(w0));
    xs[2] = __sxtab16(off2, w1);
    xs[3] = __sxtab16(off2, ef_ror8(w1));
    xs[4] = __sxtab16(off2, w2);
    xs[5] = __sxtab16(off2, ef_ror8(w2));
    xs[6] = __sxtab16(off2, w3);
    xs[7] = __sxtab16(off2, ef_ror8(w3));
    xs[8] = __sxtab16(off2, w4);
    xs[9] = __sxtab16(off2, ef_ror8(w4));
    xs[10] = __sxtab16(off2, w5);
    xs[11] = __sxtab16(off2, ef_ror8(w5));
    xs[12] = (uint32_t)(win[8] + in_off);
    xs[13] = (uint32_t)(p1[8] + in_off);
    xs[14] = (uint32_t)(p2[8] + in_off);
    for (int32_t c = 0; c < nc; ++c) {
        const uint32_t *xp = xs;
        int32_t acc = *tab++;
        __asm__ volatile(
            "ldmia    %[x]!, {r0, r1, r2, r3}\n\t"
            "ldmia    %[f]!, {r4, r5, r6, r8}\n\t"
            "smlad    %[a], r0, r4, %[a]\n\t"
            "smlad    %[a], r1, r5, %[a]\n\t"
            "smlad    %[a], r2, r6, %[a]\n\t"
            "smlad    %[a], r3, r8, %[a]\n\t"
            "ldmia    %[x]!, {r0, r1, r2, r3}\n\t"
            "ldmia    %[f]!, {r4, r5, r6, r8}\n\t"
            "smlad    %[a], r0, r4, %[a]\n\t"
            "smlad    %[a], r1, r5, %[a]\n\t"
            "smlad    %[a], r2, r6, %[a]\n\t"
            "smlad    %[a], r3, r8, %[a]\n\t"
            "ldmia    %[x]!, {r0, r1, r2, r3}\n\t"
            "ldmia    %[f]!, {r4, r5, r6, r8}\n\t"
            "smlad    %[a], r0, r4, %[a]\n\t"
            "smlad    %[a], r1, r5, %[a]\n\t"
            "smlad    %[a], r2, r6, %[a]\n\t"
            "smlad    %[a], r3, r8, %[a]\n\t"
            "ldmia    %[x], {r0, r1, r2}\n\t"
            "ldmia    %[f]!, {r4, r5, r6}\n\t"
            "mla      %[a], r0, r4, %[a]\n\t"
            "mla      %[a], r1, r5, %[a]\n\t"
            "mla      %[a], r2, r6, %[a]\n\t"
            : [a] "+r"(acc), [x] "+r"(xp), [f] "+r"(tab)
            : "m"(xs)
            : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "memory");
        dst[c] = (int8_t)__ssat(ef_conv_rq_one(acc, tab[0], tab[1], (uint32_t)tab[2]) + out_off, 8);
        tab += 3;
    }
}

static void first_run(const ef_conv_params *params, const ef_dims *in, const int8_t *input, const ef_dims *out,
                      int8_t *output, const int32_t *tab, int32_t oc, int32_t nc, const int32_t R)
{
    const int32_t C = in->c;
    const int32_t sh = params->stride.h;
    const int32_t sw = params->stride.w;
    const int32_t pt = params->padding.h;
    const int32_t pl = params->padding.w;
    const int32_t in_off = params->input_offset;
    const int32_t out_off = params->output_offset;
    const int32_t amin = params->activation.min;
    const int32_t amax = params->activation.max;
    const uint32_t off2 = ((uint32_t)(uint16_t)in_off << 16) | (uint16_t)in_off;
    const int32_t row_step = in->w * C;
    int8_t blk[3 * 12];
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * in->h * row_step;
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy = oy * sh - pt;
            const int row_in = iy >= 0 && iy + 3 <= in->h;
            int8_t *dst = output + ((b * out->h + oy) * out->w) * out->c + oc;
            for (int32_t ox = 0; ox < out->w; ++ox, dst += out->c) {
                const int32_t ix = ox * sw - pl;
                if (row_in && ix >= 0 && ix + 3 <= in->w) {
                    if (R == 9) {
                        first_pixel9(img + iy * row_step + ix * C, row_step, tab, nc, dst, off2, in_off, out_off);
                    } else {
                        first_pixel(img + iy * row_step + ix * C, row_step, tab, nc, dst, off2, in_off, out_off,
                                    amin, amax, R);
                    }
                } else {
                    for (int32_t r = 0; r < 3; ++r) {
                        for (int32_t t = 0; t < 3; ++t) {
                            const int32_t y = iy + r;
                            const int32_t xx = ix + t;
                            const int inside = y >= 0 && y < in->h && xx >= 0 && xx < in->w;
                            for (int32_t ch = 0; ch < C; ++ch) {
                                blk[r * R + t * C + ch] =
                                    inside ? img[y * row_step + xx * C + ch] : (int8_t)(-in_off);
                            }
                        }
                    }
                    if (R == 9) {
                        first_pixel9(blk, R, tab, nc, dst, off2, in_off, out_off);
                    } else {
                        first_pixel(blk, R, tab, nc, dst, off2, in_off, out_off, amin, amax, R);
                    }
                }
            }
        }
    }
}

/* The entries of channels oc .. oc + nc - 1: {bias, filter values (per row R / 4 SXTB16 pairs
 * [f0 f2], [f1 f3] and R % 4 single values), m, e, 2^e}. */
static void first_tab(int32_t *tab, const int8_t *filter, const int32_t *bias, const int32_t *mult,
                      const int32_t *shift, int32_t oc, int32_t nc, int32_t R)
{
    const int32_t nw = R / 4;
    const int32_t rem = R % 4;
    for (int32_t j = 0; j < nc; ++j, ++oc) {
        const int8_t *f = filter + oc * 3 * R;
        *tab++ = bias != 0 ? bias[oc] : 0;
        if (R == 9) { /* first_pixel9's order: the 12 pairs, then the 3 single values */
            for (int32_t r = 0; r < 3; ++r) {
                for (int32_t i = 0; i < 2; ++i) {
                    const uint32_t w = ef_read_u32(f + r * 9 + 4 * i);
                    *tab++ = (int32_t)__sxtb16(w);
                    *tab++ = (int32_t)ef_sxtb16_ror8(w);
                }
            }
            for (int32_t r = 0; r < 3; ++r) {
                *tab++ = f[r * 9 + 8];
            }
        } else {
            for (int32_t r = 0; r < 3; ++r, f += R) {
                for (int32_t i = 0; i < nw; ++i) {
                    const uint32_t w = ef_read_u32(f + 4 * i);
                    *tab++ = (int32_t)__sxtb16(w);
                    *tab++ = (int32_t)ef_sxtb16_ror8(w);
                }
                for (int32_t i = 0; i < rem; ++i) {
                    *tab++ = f[4 * nw + i];
                }
            }
        }
        const int32_t e = -1 - shift[oc];
        *tab++ = mult[oc];
        *tab++ = e;
        *tab++ = (int32_t)(1u << e);
    }
}
#endif

ef_status ef_conv_first_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                           const ef_dims *input_dims, const int8_t *input,
                           const ef_dims *filter_dims, const int8_t *filter,
                           const int32_t *bias,
                           const ef_dims *output_dims, int8_t *output,
                           const ef_context *ctx)
{
#if defined(EF_NN_USE_DSP)
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    /* the fast path's preconditions; everything else (and every argument error) goes to
     * ef_conv_s8, which checks the arguments in full */
    if (params != 0 && quant != 0 && quant->multiplier != 0 && quant->shift != 0 && input != 0 && filter != 0 &&
        output != 0 && ef_dims_valid(in) && ef_dims_valid(filter_dims) && ef_dims_valid(out) && in->c >= 1 &&
        in->c <= 4 && filter_dims->h == 3 && filter_dims->w == 3 && filter_dims->c == in->c &&
        filter_dims->n == out->c && out->n == in->n && params->dilation.h == 1 && params->dilation.w == 1 &&
        ef_out_size_ok(in->h, 3, params->stride.h, params->padding.h, out->h) &&
        ef_out_size_ok(in->w, 3, params->stride.w, params->padding.w, out->w) &&
        ef_activation_valid(&params->activation) && params->input_offset >= -127 && params->input_offset <= 128 &&
        ef_conv_rq_fast(quant, out->c)) {
        const int32_t R = 3 * in->c;
        const int32_t entry = 4 + 3 * (R / 4 * 2 + R % 4);
        const int32_t chunk = EF_FIRST_TAB_WORDS / entry;
        int32_t tab[EF_FIRST_TAB_WORDS];
        for (int32_t oc = 0; oc < out->c; oc += chunk) {
            const int32_t nc = EF_MIN(chunk, out->c - oc);
            first_tab(tab, filter, bias, quant->multiplier, quant->shift, oc, nc, R);
            first_run(params, in, input, out, output, tab, oc, nc, R);
        }
        if (R == 9 && (params->activation.min != -128 || params->activation.max != 127)) {
            ef_nn_clamp_s8(output, in->n * out->h * out->w * out->c, params->activation.min,
                           params->activation.max);
        }
        return EF_OK;
    }
#endif
    return ef_conv_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, ctx);
}
