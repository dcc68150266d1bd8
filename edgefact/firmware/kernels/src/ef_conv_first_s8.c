/* CONV_2D, first layers (3x3 filter, 1-4 input channels, ungrouped) on the DSP and Helium cores.
 *
 * The generator picks this kernel on Cortex-M4/M7/M33 (3 channels) and Cortex-M55 (1-4) for such layers (the 96x96x3 ->
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
 * as TFLM skips those taps). The Helium body (Cortex-M55) is described above first_mve. Any other
 * layer, a requantization off the fast path and the portable build run ef_conv_s8, so the results
 * are those of that kernel, bit-exact with TFLM.
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

#if defined(EF_NN_USE_MVE)
/* Helium body: the columns of up to EF_FIRST_COL_BYTES / pitch consecutive output pixels (raster
 * order over n, h, w; pitch = 16 * NV bytes, NV = ceil(9 * C / 16)) are copied once into a stack
 * block (an interior window: 3 unpredicated 16-byte row loads stored at 0, R, 2R, each store's
 * tail overwritten by the next; lanes past 9 * C are left as they are and meet zero filter
 * lanes), then per output channel its filter is loaded into NV registers (zeroing predicated
 * loads: the lanes past 9 * C are 0) and 4 pixels per step take NV VMLADAV(A) each, 2 VMOV into
 * one vector of 4 pixels and the requantization with the channel's terms as scalars: VADD of the
 * bias (+ in_off * sum(w): the columns hold raw input with the zero point in padding taps),
 * (s >> 31) + out_off * 2^e + 2^(e - 1), VQRDMLAH of s * m onto it (gemmlowp's SRDHM plus
 * RoundingDivideByPOT's fix-up: the sign of s is that of SRDHM(s, m) for m >= 0, and where SRDHM
 * is 0 the -1 shifts out for e >= 1), VQSHL by 24 - e and VSHR #24 (the rounding shift by e with
 * the int8 saturation; a saturated intermediate saturates the same way), one VSTRB.32 scatter. */
#define EF_FIRST_COL_BYTES 3072
/* the table of filters and requantization terms: 24 channels at 3x3x3 */
#define EF_FIRST_TAB_BYTES 1152

/* ef_conv_rq_fast (DSP only in ef_conv_2px.h): multiplier >= 0, -23 <= shift <= -2 */
static int ef_conv_rq_fast(const ef_per_channel_quant *quant, int32_t channels)
{
    for (int32_t oc = 0; oc < channels; ++oc) {
        if (quant->multiplier[oc] < 0 || quant->shift[oc] > -2 || quant->shift[oc] < -23) {
            return 0;
        }
    }
    return 1;
}

/* The interior run's copies: per pixel 3 row loads and stores, post-incremented by the pixel step S
 * (the loads: "#S" for the common steps, else ADDs) and the pitch P, and the LE. */
#define EF_FIRST_COPY_ASM(LD0, LD1, LD2, ADDS, P)                                                            \
    __asm__ volatile("dls      lr, lr\n"                                                                    \
                     "1:\n\t" LD0 LD1 LD2 ADDS                                                               \
                     "vstrb.8  %q[v0], [%[c0]], #" P "\n\t"                                                  \
                     "vstrb.8  %q[v1], [%[c1]], #" P "\n\t"                                                  \
                     "vstrb.8  %q[v2], [%[c2]], #" P "\n\t"                                                  \
                     "le       lr, 1b\n\t"                                                                   \
                     : [p0] "+r"(p0), [p1] "+r"(p1), [p2] "+r"(p2), [c0] "+r"(cols), [c1] "+r"(c1),           \
                       [c2] "+r"(c2), [n] "+r"(n), [v0] "=&w"(v0), [v1] "=&w"(v1), [v2] "=&w"(v2)              \
                     : [st] "r"(step)                                                                          \
                     : "memory")
#define EF_FIRST_COPY_S(S, P)                                                                                \
    EF_FIRST_COPY_ASM("vldrb.u8 %q[v0], [%[p0]], #" S "\n\t", "vldrb.u8 %q[v1], [%[p1]], #" S "\n\t",        \
                      "vldrb.u8 %q[v2], [%[p2]], #" S "\n\t", "", P)
#define EF_FIRST_COPY_ANY(P)                                                                                 \
    EF_FIRST_COPY_ASM("vldrb.u8 %q[v0], [%[p0]]\n\t", "vldrb.u8 %q[v1], [%[p1]]\n\t",                       \
                      "vldrb.u8 %q[v2], [%[p2]]\n\t",                                                          \
                      "add %[p0], %[p0], %[st]\n\tadd %[p1], %[p1], %[st]\n\tadd %[p2], %[p2], %[st]\n\t", P)
/* the step cases: 1-4 channels at stride 1 or 2 */
#define EF_FIRST_COPY(P)                                                                                     \
    switch (step) {                                                                                          \
    case 1: EF_FIRST_COPY_S("1", P); break;                                                                  \
    case 2: EF_FIRST_COPY_S("2", P); break;                                                                  \
    case 3: EF_FIRST_COPY_S("3", P); break;                                                                  \
    case 4: EF_FIRST_COPY_S("4", P); break;                                                                  \
    case 6: EF_FIRST_COPY_S("6", P); break;                                                                  \
    case 8: EF_FIRST_COPY_S("8", P); break;                                                                  \
    default: EF_FIRST_COPY_ANY(P); break;                                                                    \
    }

/* columns of pixels pix0 .. pix0 + npx - 1 into cols (pitch bytes each) */
static void first_mve_cols(const ef_conv_params *params, const ef_dims *in, const int8_t *input, const ef_dims *out,
                           int32_t pix0, int32_t npx, int8_t *cols, int32_t pitch)
{
    const int32_t C = in->c;
    const int32_t R = 3 * C;
    const int32_t rs = in->w * C;
    const int32_t sh = params->stride.h;
    const int32_t sw = params->stride.w;
    const int8x16_t zp = vdupq_n_s8((int8_t)(-params->input_offset));
    int32_t ox = pix0 % out->w;
    int32_t oy = (pix0 / out->w) % out->h;
    int32_t b = pix0 / (out->w * out->h);
    while (npx > 0) {
        const int8_t *img = input + b * in->h * rs;
        const int32_t iy = oy * sh - params->padding.h;
        const int32_t n_row = EF_MIN(npx, out->w - ox);
        const int32_t ox_end = ox + n_row;
        /* interior columns [lo, hi): the window inside the image and its 16-byte row reads too */
        int32_t lo = ox_end;
        int32_t hi = ox_end;
        if (iy >= 0 && iy + 3 <= in->h) {
            const int32_t pl = params->padding.w;
            int32_t xmax = in->w - 3; /* ix <= xmax */
            const int32_t room = (in->h - iy - 2) * rs - 16; /* ix * C <= room */
            xmax = EF_MIN(xmax, room < 0 ? -1 : room / C);
            lo = EF_MAX(ox, (pl + sw - 1) / sw);
            hi = xmax < -pl ? lo : EF_MIN(ox_end, (xmax + pl) / sw + 1);
            if (hi < lo) {
                hi = lo;
            }
        }
        for (int32_t x = ox; x < ox_end; ++x, cols += pitch) {
            if (x == lo) { /* the interior run: 3 row loads and stores per pixel */
                const int8_t *p0 = img + iy * rs + (x * sw - params->padding.w) * C;
                const int8_t *p1 = p0 + rs;
                const int8_t *p2 = p1 + rs;
                const int32_t step = sw * C;
                if (hi > lo) {
                    int8_t *c1 = cols + R;
                    int8_t *c2 = cols + 2 * R;
                    register int32_t n __asm__("lr") = hi - lo;
                    int8x16_t v0, v1, v2;
                    if (pitch == 16) {
                        EF_FIRST_COPY("16");
                    } else if (pitch == 32) {
                        EF_FIRST_COPY("32");
                    } else {
                        EF_FIRST_COPY("48");
                    }
                    (void)v0;
                    (void)v1;
                    (void)v2;
                    (void)n;
                    (void)c1;
                    (void)c2;
                }
                x = hi;
                if (x == ox_end) {
                    break;
                }
            }
            const int32_t ix = x * sw - params->padding.w;
            /* border: per window row the in-bounds taps' lanes [a, e), the zero point elsewhere */
            const int32_t t0 = EF_MAX(0, -ix);
            const int32_t t1 = EF_MIN(3, in->w - ix);
            const mve_pred16_t pm = (t1 > t0) ? (mve_pred16_t)(vctp8q((uint32_t)(t1 * C)) &
                                                               (mve_pred16_t)~vctp8q((uint32_t)(t0 * C)))
                                              : (mve_pred16_t)0;
            for (int32_t r = 0; r < 3; ++r) {
                const int32_t y = iy + r;
                int8x16_t v = zp;
                if (y >= 0 && y < in->h && pm != 0) {
                    v = vpselq_s8(vldrbq_z_s8(img + y * rs + ix * C, pm), zp, pm);
                }
                vstrbq_p_s8(cols + r * R, v, vctp8q((uint32_t)R));
            }
        }
        npx -= n_row;
        ox = 0;
        if (++oy == out->h) {
            oy = 0;
            ++b;
        }
    }
}

/* The 1-3 pixels of a block's last, partial group of 4 (C; the lanes past npx are not stored);
 * e: the channel's table entry (first_mve_tab). */
static void first_mve_tail(const int8_t *col, int32_t npx, const int8_t *e, int32_t NV, int8_t *dst,
                           uint32x4_t offs)
{
    const int32_t *q = (const int32_t *)(const void *)(e + 16 * NV);
    int32_t a[4] = {0, 0, 0, 0};
    for (int32_t j = 0; j < npx && j < 4; ++j) {
        int32_t v = 0;
        for (int32_t i = 0; i < NV; ++i) {
            v = vmladavaq_s8(v, vldrbq_s8(col + (j * NV + i) * 16), vldrbq_s8(e + 16 * i));
        }
        a[j] = v;
    }
    int32x4_t s = vaddq_n_s32(vldrwq_s32(a), q[0]);
    int32x4_t t = vaddq_n_s32(vshrq_n_s32(s, 31), q[2]);
    t = vqrdmlahq_n_s32(t, s, q[1]);
    t = vshrq_n_s32(vqshlq_r_s32(t, q[3]), 24);
    vstrbq_scatter_offset_p_s32(dst, offs, t, vctp32q((uint32_t)npx));
}

/* one pixel's column (NV vectors, post-incremented loads) into the even register r */
#define EF_FIRST_PX1(r) "vldrb.u8 %q[x], [%[c]], #16\n\t" "vmladav.s8 " r ", %q[x], %q[f0]\n\t"
#define EF_FIRST_PX2(r) EF_FIRST_PX1(r) "vldrb.u8 %q[x], [%[c]], #16\n\t" "vmladava.s8 " r ", %q[x], %q[f1]\n\t"
#define EF_FIRST_PX3(r) EF_FIRST_PX2(r) "vldrb.u8 %q[x], [%[c]], #16\n\t" "vmladava.s8 " r ", %q[x], %q[f2]\n\t"
#define EF_FIRST_F1 "vldrb.u8 %q[f0], [%[tp]], #16\n\t"
#define EF_FIRST_F2 EF_FIRST_F1 "vldrb.u8 %q[f1], [%[tp]], #16\n\t"
#define EF_FIRST_F3 EF_FIRST_F2 "vldrb.u8 %q[f2], [%[tp]], #16\n\t"
/* 4 pixels' sums -> one vector (VMOV Qd[2], Qd[0], Rt, Rt2 puts Rt in lane 0), the requantization
 * (r1 = bias, r3 = m, r5 = out_off * 2^e + 2^(e - 1), r9 = 24 - e; see above first_mve_cols), the
 * scatter store */
#define EF_FIRST_RQ                                         \
    "vmov     %q[s][2], %q[s][0], r0, r4\n\t"               \
    "vmov     %q[s][3], %q[s][1], r2, r8\n\t"               \
    "vadd.i32 %q[s], %q[s], r1\n\t"                         \
    "vshr.s32 %q[t], %q[s], #31\n\t"                        \
    "vadd.i32 %q[t], %q[t], r5\n\t"                         \
    "vqrdmlah.s32 %q[t], %q[s], r3\n\t"                     \
    "vqshl.s32 %q[t], r9\n\t"                               \
    "vshr.s32 %q[t], %q[t], #24\n\t"                        \
    "vstrb.32 %q[t], [%[d], %q[o]]\n\t"                     \
    "add      %[d], %[d], %[o4]\n\t"
#define EF_FIRST_LOOP(F, PX)                                                                                   \
    __asm__ volatile(F "ldm      %[tp], {r1, r3, r5, r9}\n\t"                                                  \
                     "dls      lr, lr\n"                                                                       \
                     "1:\n\t" PX("r0") PX("r2") PX("r4") PX("r8") EF_FIRST_RQ "le       lr, 1b\n\t"            \
                     : [c] "+r"(col), [d] "+r"(dst), [tp] "+r"(tp), [x] "=&w"(x), [s] "=&w"(sv),             \
                       [t] "=&w"(tv), [f0] "=&w"(f0), [f1] "=&w"(f1), [f2] "=&w"(f2), [n] "+r"(n)             \
                     : [o4] "r"(oc4), [o] "w"(offs)                                                           \
                     : "r1", "r2", "r3", "r4", "r5", "r8", "r9", "memory")

/* One output channel over the block's npx pixels (NV vectors per column), e its table entry, dst
 * its output of the first pixel, pixels oc bytes apart: the filter and terms loaded from the entry,
 * then 4 pixels per pass of one asm loop (NV = 2: 8 VLDRB, 8 VMLADAV(A), 2 VMOV, 6 requantization,
 * VSTRB, ADD, LE = 27 instructions per 4 outputs), the partial last group in C. */
static inline __attribute__((always_inline)) void first_mve_chan(const int8_t *col, int32_t npx, const int8_t *e,
                                                                 const int32_t NV, int8_t *dst, int32_t oc,
                                                                 uint32x4_t offs)
{
    const int32_t groups = npx >> 2;
    const int32_t oc4 = 4 * oc;
    if (groups > 0) {
        int8x16_t x, f0, f1, f2;
        int32x4_t sv, tv;
        register const int8_t *tp __asm__("r0") = e; /* r0: then pixel 0's sum */
        register int32_t n __asm__("lr") = groups;
        if (NV == 1) {
            EF_FIRST_LOOP(EF_FIRST_F1, EF_FIRST_PX1);
        } else if (NV == 2) {
            EF_FIRST_LOOP(EF_FIRST_F2, EF_FIRST_PX2);
        } else {
            EF_FIRST_LOOP(EF_FIRST_F3, EF_FIRST_PX3);
        }
        (void)n;
        (void)x;
        (void)sv;
        (void)tv;
        (void)f0;
        (void)f1;
        (void)f2;
        (void)tp;
    }
    if (npx & 3) {
        first_mve_tail(col, npx & 3, e, NV, dst, offs);
    }
}

/* The table entries of channels oc0 .. oc0 + nc - 1, 16 * NV + 16 bytes each: the filter (L = 9 * C
 * bytes, zeros up to 16 * NV), then {bias + in_off * sum(w), m, out_off * 2^e + 2^(e - 1), 24 - e}
 * with e = -shift (2 <= e <= 23). */
static void first_mve_tab(int8_t *tab, const ef_conv_params *params, const ef_per_channel_quant *quant,
                          const int8_t *filter, const int32_t *bias, int32_t L, int32_t NV, int32_t oc0, int32_t nc)
{
    for (int32_t j = 0; j < nc; ++j) {
        const int32_t ch = oc0 + j;
        int8_t *e = tab + j * (16 * NV + 16);
        int32_t sw = 0;
        for (int32_t i = 0; i < 16 * NV; i += 16) {
            const int8x16_t f = vldrbq_z_s8(filter + ch * L + i, vctp8q((uint32_t)EF_MAX(L - i, 0)));
            sw = vaddvaq_s8(sw, f);
            vstrbq_s8(e + i, f);
        }
        const int32_t sh = -quant->shift[ch];
        int32_t *q = (int32_t *)(void *)(e + 16 * NV);
        q[0] = (int32_t)((uint32_t)(bias != 0 ? bias[ch] : 0) + (uint32_t)params->input_offset * (uint32_t)sw);
        q[1] = quant->multiplier[ch];
        q[2] = params->output_offset * (1 << sh) + (1 << (sh - 1));
        q[3] = 24 - sh;
    }
}

/* Channels oc0 .. oc0 + nc - 1 (entries in tab) over the block's npx pixel columns; one copy per NV. */
static inline __attribute__((always_inline)) void first_mve_block_nv(const int8_t *tab, int32_t oc, int32_t oc0,
                                                                     int32_t nc, const int8_t *cols, int32_t npx,
                                                                     int8_t *dst, const int32_t NV)
{
    const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)oc);
    dst += oc0;
    for (int32_t j = 0; j < nc; ++j, tab += 16 * NV + 16, ++dst) {
        first_mve_chan(cols, npx, tab, NV, dst, oc, offs);
    }
}

#define EF_FIRST_BLOCK(NV_)                                                                                      \
    static __attribute__((noinline)) void first_mve_block##NV_(const int8_t *tab, int32_t oc, int32_t oc0,       \
                                                               int32_t nc, const int8_t *cols, int32_t npx,      \
                                                               int8_t *dst)                                      \
    {                                                                                                            \
        first_mve_block_nv(tab, oc, oc0, nc, cols, npx, dst, NV_);                                               \
    }
EF_FIRST_BLOCK(1)
EF_FIRST_BLOCK(2)
EF_FIRST_BLOCK(3)

static void first_mve(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                      const int8_t *input, const int8_t *filter, const int32_t *bias, const ef_dims *out,
                      int8_t *output)
{
    const int32_t C = in->c;
    const int32_t L = 9 * C;
    const int32_t NV = (L + 15) / 16;
    const int32_t pitch = 16 * NV;
    /* + 16: the last interior column's row stores run up to 2R + 16 bytes past its start */
    int8_t cols[EF_FIRST_COL_BYTES + 16];
    int32_t tab32[EF_FIRST_TAB_BYTES / 4];
    int8_t *tab = (int8_t *)tab32;
    const int32_t per = (EF_FIRST_COL_BYTES / pitch) & ~3;
    const int32_t per_tab = EF_FIRST_TAB_BYTES / (pitch + 16);
    const int32_t total = in->n * out->h * out->w;
    const int narrow = params->activation.min > -128 || params->activation.max < 127;
    for (int32_t i = 0; i < EF_MIN(per, total) * pitch + 16; i += 16) {
        vstrbq_s8(cols + i, vdupq_n_s8(0)); /* border columns leave bytes past 9 * C as they are */
    }
    for (int32_t oc0 = 0; oc0 < out->c; oc0 += per_tab) {
        const int32_t nc = EF_MIN(per_tab, out->c - oc0);
        first_mve_tab(tab, params, quant, filter, bias, L, NV, oc0, nc);
        for (int32_t pix = 0; pix < total; pix += per) {
            const int32_t npx = EF_MIN(per, total - pix);
            first_mve_cols(params, in, input, out, pix, npx, cols, pitch);
            int8_t *dst = output + pix * out->c;
            if (NV == 1) {
                first_mve_block1(tab, out->c, oc0, nc, cols, npx, dst);
            } else if (NV == 2) {
                first_mve_block2(tab, out->c, oc0, nc, cols, npx, dst);
            } else {
                first_mve_block3(tab, out->c, oc0, nc, cols, npx, dst);
            }
        }
    }
    if (narrow) { /* the activation: one pass over the output (the stores saturated to int8) */
        const int8x16_t lo = vdupq_n_s8((int8_t)params->activation.min);
        const int8x16_t hi = vdupq_n_s8((int8_t)params->activation.max);
        const int32_t n = total * out->c;
        for (int32_t i = 0; i < n; i += 16) {
            const mve_pred16_t p = vctp8q((uint32_t)(n - i));
            vstrbq_p_s8(output + i, vminq_s8(vmaxq_s8(vldrbq_z_s8(output + i, p), lo), hi), p);
        }
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
#if defined(EF_NN_USE_DSP) || defined(EF_NN_USE_MVE)
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
#if defined(EF_NN_USE_MVE)
        (void)ctx;
        first_mve(params, quant, in, input, filter, bias, out, output);
        return EF_OK;
#else
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
#endif
    }
#endif
    return ef_conv_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, ctx);
}
