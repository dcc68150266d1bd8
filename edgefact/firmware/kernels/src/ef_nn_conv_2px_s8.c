/* The two-pixel convolution engine of ef_conv_s8 and ef_conv_1x1_s8 (include/internal/ef_conv_2px.h):
 * two output pixels x two output channels per pass, so each filter load serves two pixels and each
 * column load two channels. One function, two bodies:
 *
 * DSP (Cortex-M4/M7/M33, filter depth % 4 == 0): paired int16 columns ((a0, a2) (a1, a3) halfword
 * pairs as SXTAB16 makes them from 4 input bytes), SMLAD against SXTB16 of 4 filter bytes.
 *
 * MVE (Helium, Cortex-M55): int8 runs (16 lanes per VMLADAV) read in place from the input where
 * the window is inside it, else from int8 columns filled with the input zero point; off * sum(w)
 * folded into the biases once per call; see the MVE body below.
 *
 * Cycle reasoning (QEMU counts instructions only): on the M55 a 128-bit VLDRB/VMLADAV is two
 * beats, overlapped in pairs by the dual-beat pipeline, so a step of 2 pixel loads + 2 filter
 * loads + 4 VMLADAV (64 MACs) is about 8-10 cycles, versus 32 SMLAD for the same work.
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
__attribute__((noinline)) static void fill_column_paired(uint32_t *col, const int8_t *input, const ef_dims *in, int32_t b,
                               int32_t iy0, int32_t ix0, int32_t kh, int32_t kw, const ef_tile *dil, int32_t c0,
                               int32_t fc, int32_t input_offset, int32_t skip)
{
    const uint32_t off2 = ((uint32_t)(uint16_t)input_offset << 16) | (uint16_t)input_offset;
    uint32_t *dst = col;
    for (int32_t ky = 0; ky < kh; ++ky) {
        const int32_t iy = iy0 + ky * dil->h;
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t ix = ix0 + kx * dil->w;
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
__attribute__((noinline)) static void dot_paired_x2(const uint32_t *col, const int8_t *f0, const int8_t *f1, int32_t n,
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

__attribute__((noinline)) static int32_t dot_paired(const uint32_t *col, const int8_t *f, int32_t n)
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
__attribute__((noinline)) static void dot_2px_1ch(const uint32_t *col, const int8_t *f, int32_t n, int32_t *ra, int32_t *rb)
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
/* n words of both pixels' runs, each widened (+ the offset pair off2) into [A02, A13, B02, B13]:
 * 10 instructions per word pair with the two STRDs (the compiler's four STRs and pointer updates
 * took 13). */
static inline __attribute__((always_inline)) uint32_t *widen_words_2px(uint32_t *dst, const int8_t *sa,
                                                                      const int8_t *sb, int32_t n, uint32_t off2)
{
    for (; n > 0; --n) {
        uint32_t a13;
        uint32_t b13;
        uint32_t a02;
        uint32_t b02;
        __asm__ volatile("ldr      %[a13], [%[sa]], #4\n\t"
                         "ldr      %[b13], [%[sb]], #4\n\t"
                         "sxtab16  %[a02], %[off], %[a13]\n\t"
                         "sxtab16  %[a13], %[off], %[a13], ror #8\n\t"
                         "sxtab16  %[b02], %[off], %[b13]\n\t"
                         "sxtab16  %[b13], %[off], %[b13], ror #8\n\t"
                         "strd     %[b02], %[b13], [%[dst], #8]\n\t"
                         "strd     %[a02], %[a13], [%[dst]], #16\n\t"
                         : [a13] "=&r"(a13), [b13] "=&r"(b13), [a02] "=&r"(a02), [b02] "=&r"(b02), [sa] "+r"(sa),
                           [sb] "+r"(sb), [dst] "+r"(dst)
                         : [off] "r"(off2)
                         : "memory");
    }
    return dst;
}

/* A border tap of both windows (sa / sb: its fc input values, or NULL outside the input): the words
 * [A02, A13, B02, B13] per 4 values, out-of-bounds ones 0; returns the end. */
static inline __attribute__((always_inline)) uint32_t *widen_border_tap_2px(uint32_t *dst, const int8_t *sa,
                                                                           const int8_t *sb, int32_t fc, uint32_t off2)
{
    for (int32_t ci = fc >> 2; ci > 0; --ci) {
        if (sa != 0) {
            const uint32_t wa = ef_read_u32(sa);
            sa += 4;
            dst[0] = __sxtab16(off2, wa);
            dst[1] = ef_sxtab16_ror8(off2, wa);
        } else {
            dst[0] = 0;
            dst[1] = 0;
        }
        if (sb != 0) {
            const uint32_t wb = ef_read_u32(sb);
            sb += 4;
            dst[2] = __sxtab16(off2, wb);
            dst[3] = ef_sxtab16_ror8(off2, wb);
        } else {
            dst[2] = 0;
            dst[3] = 0;
        }
        dst += 4;
    }
    return dst;
}

/* Both columns of a pixel pair in one pass over the taps: per group of 4 channels, the words
 * [A02, A13, B02, B13] of ef_conv_dot_2px_2ch. Out-of-bounds taps are 0 (they add nothing). */
__attribute__((noinline)) static void fill_columns_2px(uint32_t *dst, const int8_t *input, const ef_dims *in,
                                                      int32_t b, int32_t iya, int32_t ixa, int32_t iyb, int32_t ixb,
                                                      int32_t kh, int32_t kw, int32_t c0, int32_t fc, uint32_t off2)
{
    const int32_t row = in->w * in->c;
    const int8_t *base = input + b * in->h * row + c0;
    if (iya >= 0 && iyb >= 0 && ixa >= 0 && ixb >= 0 && iya + kh <= in->h && iyb + kh <= in->h &&
        ixa + kw <= in->w && ixb + kw <= in->w) {
        /* both windows inside the input (most pixel pairs): no bounds tests; an ungrouped
         * window row is one run of kw * c bytes, a grouped one kw runs of fc bytes, c apart */
        const int whole = fc == in->c;
        const int32_t words = (whole ? kw * fc : fc) >> 2;
        const int32_t runs = whole ? 1 : kw;
        const int8_t *ra = base + iya * row + ixa * in->c;
        const int8_t *rb = base + iyb * row + ixb * in->c;
        for (int32_t ky = kh; ky > 0; --ky, ra += row, rb += row) {
            const int8_t *sa = ra;
            const int8_t *sb = rb;
            for (int32_t r = runs; r > 0; --r, sa += in->c, sb += in->c) {
                dst = widen_words_2px(dst, sa, sb, words, off2);
            }
        }
        return;
    }
    for (int32_t ky = 0; ky < kh; ++ky) {
        const int32_t ya = iya + ky;
        const int32_t yb = iyb + ky;
        const int ra = (uint32_t)ya < (uint32_t)in->h;
        const int rb = (uint32_t)yb < (uint32_t)in->h;
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t xa = ixa + kx;
            const int32_t xb = ixb + kx;
            const int8_t *sa = ra && (uint32_t)xa < (uint32_t)in->w ? base + ya * row + xa * in->c : 0;
            const int8_t *sb = rb && (uint32_t)xb < (uint32_t)in->w ? base + yb * row + xb * in->c : 0;
            if (sa != 0 && sb != 0) {
                dst = widen_words_2px(dst, sa, sb, fc >> 2, off2);
            } else {
                dst = widen_border_tap_2px(dst, sa, sb, fc, off2);
            }
        }
    }
}

/* fill_columns_2px for a dilated window (its kh x kw taps dil apart): tap by tap, each with its
 * bounds test (ef_conv_2x2_dilated_s8's columns; a function of its own so that only firmware
 * with a dilated layer links it). */
__attribute__((noinline)) static void fill_columns_2px_dil(uint32_t *dst, const int8_t *input, const ef_dims *in,
                                                          int32_t b, int32_t iya, int32_t ixa, int32_t iyb,
                                                          int32_t ixb, int32_t kh, int32_t kw, int32_t c0,
                                                          int32_t fc, uint32_t off2, const ef_tile *dil)
{
    const int32_t row = in->w * in->c;
    const int8_t *base = input + b * in->h * row + c0;
    for (int32_t ky = 0; ky < kh; ++ky) {
        const int32_t ya = iya + ky * dil->h;
        const int32_t yb = iyb + ky * dil->h;
        const int ra = (uint32_t)ya < (uint32_t)in->h;
        const int rb = (uint32_t)yb < (uint32_t)in->h;
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t xa = ixa + kx * dil->w;
            const int32_t xb = ixb + kx * dil->w;
            const int8_t *sa = ra && (uint32_t)xa < (uint32_t)in->w ? base + ya * row + xa * in->c : 0;
            const int8_t *sb = rb && (uint32_t)xb < (uint32_t)in->w ? base + yb * row + xb * in->c : 0;
            dst = sa != 0 && sb != 0 ? widen_words_2px(dst, sa, sb, fc >> 2, off2)
                                     : widen_border_tap_2px(dst, sa, sb, fc, off2);
        }
    }
}

void ef_nn_fill_columns_2px(uint32_t *dst, const int8_t *input, const ef_dims *in, int32_t b, int32_t iya,
                            int32_t ixa, int32_t iyb, int32_t ixb, int32_t kh, int32_t kw, int32_t c0, int32_t fc,
                            uint32_t off2)
{
    fill_columns_2px(dst, input, in, b, iya, ixa, iyb, ixb, kh, kw, c0, fc, off2);
}

void ef_nn_fill_columns_2px_dil(uint32_t *dst, const int8_t *input, const ef_dims *in, int32_t b, int32_t iya,
                                int32_t ixa, int32_t iyb, int32_t ixb, int32_t kh, int32_t kw, int32_t c0, int32_t fc,
                                uint32_t off2, const ef_tile *dil)
{
    fill_columns_2px_dil(dst, input, in, b, iya, ixa, iyb, ixb, kh, kw, c0, fc, off2, dil);
}

void ef_nn_dot_2px_1ch(const uint32_t *col, const int8_t *f, int32_t n, int32_t *ra, int32_t *rb)
{
    dot_2px_1ch(col, f, n, ra, rb);
}

/* ef_conv_output out of line, for the tails (odd pixel, odd channel) of the DSP paths: rare
 * outputs, and one copy instead of one per call site (flash). */
int8_t ef_nn_conv_output_any(int32_t acc, const int32_t *bias, int32_t oc, const int32_t *mult,
                             const int32_t *shift, int32_t out_off, int32_t act_min, int32_t act_max)
{
    return ef_conv_output(acc, bias, oc, mult, shift, out_off, act_min, act_max);
}

void ef_nn_clamp_s8(int8_t *p, int32_t n, int32_t lo, int32_t hi)
{
    const uint32_t lo4 = ((uint32_t)lo & 0xFFu) * 0x01010101u;
    const uint32_t hi4 = ((uint32_t)hi & 0xFFu) * 0x01010101u;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t w = ef_read_u32(p + i);
        (void)__ssub8(w, lo4); /* GE per byte: w >= lo */
        w = __sel(w, lo4);
        (void)__ssub8(hi4, w); /* GE per byte: hi >= w */
        w = __sel(w, hi4);
        memcpy(p + i, &w, 4);
    }
    for (; i < n; ++i) {
        p[i] = ef_clamp_to_s8(p[i], lo, hi);
    }
}

void ef_nn_conv_pairs_tab(int32_t *tab, const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t oc,
                          int32_t pairs, int32_t out_off)
{
    for (int32_t k = 0; k < pairs; ++k, oc += 2, tab += 8) {
        for (int32_t j = 0; j < 2; ++j) {
            const int32_t e = -1 - shift[oc + j];
            tab[j] = bias != 0 ? bias[oc + j] : 0;
            tab[2 + 3 * j] = mult[oc + j];
            tab[3 + 3 * j] = (int32_t)(1u << (e - 1)) + out_off * (int32_t)(1u << e);
            tab[4 + 3 * j] = e;
        }
    }
    tab[0] = 0; /* read (unused) after the last pair */
    tab[1] = 0;
}

/* ef_conv_dot_2px_2ch_adv's group with its registers fixed for ef_nn_conv_pairs_2x2: column r11,
 * filters r12 / lr, accumulators A0 r6, A1 r8, B0 r9, B1 r10. */
#define EF_CONV_PAIRS_GROUP                  \
    "ldmia.w  r11!, {r0, r1, r2, r3}\n\t"   \
    "ldr.w    r4, [r12], #4\n\t"             \
    "sxtb16   r5, r4\n\t"                    \
    "smlad    r6, r0, r5, r6\n\t"            \
    "smlad    r9, r2, r5, r9\n\t"            \
    "sxtb16   r4, r4, ror #8\n\t"            \
    "smlad    r6, r1, r4, r6\n\t"            \
    "smlad    r9, r3, r4, r9\n\t"            \
    "ldr.w    r4, [lr], #4\n\t"              \
    "sxtb16   r5, r4\n\t"                    \
    "smlad    r8, r0, r5, r8\n\t"            \
    "smlad    r10, r2, r5, r10\n\t"          \
    "sxtb16   r4, r4, ror #8\n\t"            \
    "smlad    r8, r1, r4, r8\n\t"            \
    "smlad    r10, r3, r4, r10\n\t"

/* Requantize accumulator `x` with m r1, H r2, e r3 (temporaries r4, r7) and store it at `dst`
 * (see ef_conv_pairs_job: the output offset is in H). */
#define EF_CONV_PAIRS_RQ(x, dst)             \
    "add      r4, r2, " x ", asr #31\n\t"    \
    "and      r7, " x ", #0x80000000\n\t"    \
    "orr      r7, r7, #0x40000000\n\t"       \
    "smlal    r7, r4, " x ", r1\n\t"         \
    "asr      r4, r4, r3\n\t"                \
    "ssat     r4, #8, r4\n\t"                \
    "strb     r4, " dst "\n\t"

/* Stack frame after the prologue (44 bytes over the 9 saved registers): col 0, n 4, tab 8 (the
 * current pair's m0), dst 12, doff 16, pairs 20, the entry address into the unrolled loop 24
 * (groups % 4 leftovers run as a first, partial pass), stride 28, 2 * stride - n 32 (f0's step
 * after a pair's dot), the pass count 36, a pad word 40. */
__attribute__((naked, noinline)) void ef_nn_conv_pairs_2x2(const ef_conv_pairs_job *job)
{
    (void)job;
    __asm__ volatile(
        "push     {r4-r11, lr}\n\t"
        "ldmia    r0, {r1, r2, r3, r4, r5, r6, r8, r9}\n\t"
        "mov      r12, r8\n\t"                /* f0 */
        "add      lr, r8, r9\n\t"             /* f1 */
        "rsb      r10, r2, r9, lsl #1\n\t"
        "lsr      r11, r2, #2\n\t"            /* groups of 4 values */
        "and      r0, r11, #3\n\t"
        "lsr      r11, r11, #2\n\t"           /* full passes */
        "adr.w    r8, 3f + 1\n\t"             /* + 1: Thumb state for BX */
        "cbz      r0, 5f\n\t"
        "add      r11, r11, #1\n\t"
        "rsb      r0, r0, #4\n\t"             /* groups to skip in the first pass */
        "movs     r7, #60\n\t"                /* bytes per group */
        "mla      r8, r0, r7, r8\n\t"
        "5:\n\t"
        "add      r3, r3, #8\n\t"
        "push     {r1-r6, r8-r12}\n\t"
        "ldrd     r6, r8, [r3, #-8]\n\t"      /* the first pair's biases */
        "mov      r9, r6\n\t"
        "mov      r10, r8\n\t"
        "1:\n\t"
        "ldr      r11, [sp]\n\t"
        "ldr      r7, [sp, #36]\n\t"
        "ldr      r5, [sp, #24]\n\t"
        "bx       r5\n\t"
        "3:\n\t"
        EF_CONV_PAIRS_GROUP
        EF_CONV_PAIRS_GROUP
        EF_CONV_PAIRS_GROUP
        EF_CONV_PAIRS_GROUP
        "subs     r7, r7, #1\n\t"
        "bne      3b\n\t"
        "ldr      r0, [sp, #8]\n\t"
        "ldr      r5, [sp, #12]\n\t"
        "ldr      r11, [sp, #16]\n\t"
        "ldmia    r0!, {r1, r2, r3}\n\t"
        EF_CONV_PAIRS_RQ("r6", "[r5]")
        EF_CONV_PAIRS_RQ("r9", "[r5, r11]")
        "ldmia    r0!, {r1, r2, r3}\n\t"
        "adds     r5, r5, #1\n\t"
        EF_CONV_PAIRS_RQ("r8", "[r5]")
        EF_CONV_PAIRS_RQ("r10", "[r5, r11]")
        "adds     r5, r5, #1\n\t"
        "str      r5, [sp, #12]\n\t"
        "ldrd     r6, r8, [r0], #8\n\t"       /* the next pair's biases */
        "str      r0, [sp, #8]\n\t"
        "mov      r9, r6\n\t"
        "mov      r10, r8\n\t"
        "ldr      r1, [sp, #32]\n\t"
        "add      r12, r12, r1\n\t"
        "ldr      r1, [sp, #28]\n\t"
        "add      lr, r12, r1\n\t"
        "ldr      r1, [sp, #20]\n\t"
        "subs     r1, r1, #1\n\t"
        "str      r1, [sp, #20]\n\t"
        "bne      1b\n\t"
        "add      sp, sp, #44\n\t"
        "pop      {r4-r11, pc}\n\t");
}

/* channel pairs per requantization table (ef_conv_pairs_job; 32 bytes of stack each) */
#define EF_CONV_TAB_PAIRS 32

/* The pixel-pair loop (precondition: ef_conv_rq_fast): per group and chunk of channel pairs, every
 * pixel pair's columns, then ef_nn_conv_pairs_2x2; the fills and the tails (odd pixel, odd
 * channel) stay out of line. */
static void conv_2px_dsp(
    const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in, const int8_t *input,
    const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias, const ef_dims *out, int8_t *output,
    uint32_t *pcol)
{
    const int32_t kh = filter_dims->h;
    const int32_t kw = filter_dims->w;
    const int32_t fc = filter_dims->c;
    const int32_t col_len = kh * kw * fc;
    const int32_t groups = in->c / fc;
    const int32_t oc_per_group = out->c / groups;
    const int32_t n_px = out->h * out->w;
    const int32_t in_off = params->input_offset;
    const uint32_t off2 = ((uint32_t)(uint16_t)in_off << 16) | (uint16_t)in_off;
    const int32_t *qm = quant->multiplier;
    const int32_t *qs = quant->shift;
    const int32_t out_off = params->output_offset;
    const int32_t act_min = params->activation.min;
    const int32_t act_max = params->activation.max;
    const int32_t ow = out->w;
    const int32_t sh = params->stride.h;
    const int32_t sw = params->stride.w;
    const int32_t ph = params->padding.h;
    const int32_t pw = params->padding.w;
    const int32_t pairs_g = oc_per_group >> 1;
    /* the columns of a pair: 0 fill_columns_2px, 1 a 1x1 without padding (inline), 2 dilated */
    const int fill = kh == 1 && kw == 1 && ph == 0 && pw == 0 && (out->h - 1) * sh < in->h &&
                     (out->w - 1) * sw < in->w ? 1 : (params->dilation.h != 1 || params->dilation.w != 1 ? 2 : 0);
    int32_t tab[EF_CONV_TAB_PAIRS * 8 + 2];
    ef_conv_pairs_job job;
    job.col = pcol;
    job.n = col_len;
    job.doff = out->c;
    job.stride = col_len;
    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        int32_t p = 0;
        int32_t oya = 0;
        int32_t oxa = 0;
        for (int32_t g = 0; g < groups; ++g) {
            /* channel pairs in chunks of EF_CONV_TAB_PAIRS (one chunk up to 64 channels per group);
             * the odd last channel of the group with the last chunk */
            for (int32_t k0 = 0; k0 == 0 || k0 < pairs_g; k0 += EF_CONV_TAB_PAIRS) {
                const int32_t np = EF_MIN(EF_CONV_TAB_PAIRS, pairs_g - k0);
                const int32_t oc0 = g * oc_per_group + 2 * k0;
                const int odd = (oc_per_group & 1) && k0 + np == pairs_g;
                if (np > 0) {
                    ef_nn_conv_pairs_tab(tab, bias, qm, qs, oc0, np, out_off);
                }
                p = 0;
                oya = 0;
                oxa = 0;
                for (; p + 1 < n_px; p += 2) {
                    int32_t oyb = oya;
                    int32_t oxb = oxa + 1;
                    if (oxb == ow) {
                        oxb = 0;
                        ++oyb;
                    }
                    if (fill == 0) {
                        fill_columns_2px(pcol, input, in, b, oya * sh - ph, oxa * sw - pw, oyb * sh - ph,
                                         oxb * sw - pw, kh, kw, g * fc, fc, off2);
                    } else if (fill == 2) { /* the two columns interleaved: words 0-1 and 2-3 of each group */
                        fill_column_paired(pcol, input, in, b, oya * sh - ph, oxa * sw - pw, kh, kw, &params->dilation,
                                           g * fc, fc, in_off, 4);
                        fill_column_paired(pcol + 2, input, in, b, oyb * sh - ph, oxb * sw - pw, kh, kw,
                                           &params->dilation, g * fc, fc, in_off, 4);
                    } else { /* 1x1 without padding: both pixels in bounds, one run of fc values */
                        const int8_t *sa = input + ((b * in->h + oya * sh) * in->w + oxa * sw) * in->c + g * fc;
                        const int8_t *sb = input + ((b * in->h + oyb * sh) * in->w + oxb * sw) * in->c + g * fc;
                        (void)widen_words_2px(pcol, sa, sb, fc >> 2, off2);
                    }
                    int8_t *dsta = dst + p * out->c;
                    if (np > 0) {
                        job.tab = tab;
                        job.dst = dsta + oc0;
                        job.pairs = np;
                        job.f0 = filter + oc0 * col_len;
                        ef_nn_conv_pairs_2x2(&job);
                    }
                    if (odd) {
                        const int32_t oc = g * oc_per_group + oc_per_group - 1;
                        int32_t acca;
                        int32_t accb;
                        dot_2px_1ch(pcol, filter + oc * col_len, col_len, &acca, &accb);
                        dsta[oc] = ef_nn_conv_output_any(acca, bias, oc, qm, qs, out_off, act_min, act_max);
                        dsta[out->c + oc] = ef_nn_conv_output_any(accb, bias, oc, qm, qs, out_off, act_min, act_max);
                    }
                    oya = oyb;
                    oxa = oxb + 1;
                    if (oxa == ow) {
                        oxa = 0;
                        ++oya;
                    }
                }
            }
        }
        dst += p * out->c;
        if (p < n_px) {
            const int32_t iy0 = oya * sh - ph;
            const int32_t ix0 = oxa * sw - pw;
            for (int32_t g = 0; g < groups; ++g) {
                fill_column_paired(pcol, input, in, b, iy0, ix0, kh, kw, &params->dilation, g * fc, fc, in_off, 2);
                int32_t oc = g * oc_per_group;
                const int32_t oc_end = oc + oc_per_group;
                for (; oc + 1 < oc_end; oc += 2) {
                    int32_t acc0;
                    int32_t acc1;
                    dot_paired_x2(pcol, filter + oc * col_len, filter + (oc + 1) * col_len, col_len, &acc0, &acc1);
                    dst[oc] = ef_nn_conv_output_any(acc0, bias, oc, qm, qs, out_off, act_min, act_max);
                    dst[oc + 1] = ef_nn_conv_output_any(acc1, bias, oc + 1, qm, qs, out_off, act_min, act_max);
                }
                if (oc < oc_end) {
                    const int32_t acc = dot_paired(pcol, filter + oc * col_len, col_len);
                    dst[oc] = ef_nn_conv_output_any(acc, bias, oc, qm, qs, out_off, act_min, act_max);
                }
            }
            dst += out->c;
        }
    }
}

/* DSP body (filter depth % 4 == 0, ef_conv_rq_fast): output pixels in pairs (consecutive in raster order, so a
 * pair may straddle two rows), two interleaved columns in `cols`, 2 pixels x 2 channels per
 * pass (ef_conv_dot_2px_2ch_adv); an odd last pixel goes through one column and dot_paired_x2,
 * an odd last channel of a group through dot_2px_1ch. */
void ef_nn_conv_2px_s8(
    const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in, const int8_t *input,
    const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias, const ef_dims *out, int8_t *output,
    void *cols)
{
    uint32_t *pcol = (uint32_t *)cols;
    conv_2px_dsp(params, quant, in, input, filter_dims, filter, bias, out, output, pcol);
    if (params->activation.min != -128 || params->activation.max != 127) {
        ef_nn_clamp_s8(output, in->n * out->h * out->w * out->c, params->activation.min, params->activation.max);
    }
}
#elif defined(EF_NN_USE_MVE)
/*
 * MVE body. A pixel's receptive field is read as `rows` runs of `seg` bytes, run r at
 * base + r * stride, against the filter's rows, which are contiguous (OHWI):
 *  - "rows" mode (ungrouped, kw * fc long enough that its kh runs need no more vector steps than
 *    the flat column): an interior pixel is read in place from the input (kh runs of kw * fc
 *    bytes, stride = one input row), nothing is copied; a border pixel gets a column whose runs
 *    are its rows (stride kw * fc), out-of-bounds taps filled with the input zero point;
 *  - "flat" mode (grouped, or short rows such as a first layer with 1-3 channels): every pixel
 *    gets an int8 column, read as one run of kh * kw * fc bytes;
 *  - cols == NULL (ungrouped unpadded 1x1, ef_conv_1x1_s8): one run, the input pixel.
 * Padding with the zero point makes sum((x + off) * w) = sum(x * w) + off * sum(w) for every
 * pixel, so off * sum(w) is folded once per call into the biases (`eff_bias`, a stack block of
 * EF_CONV_MVE_CHUNK channels) and the inner loop is 2 pixel loads + 2 filter loads + 4
 * VMLADAVA per 16 bytes (64 MACs). Runs of n % 16 bytes end with one predicated step.
 */

/* output channels whose effective biases are computed at a time (stack: 4 bytes each) */
#define EF_CONV_MVE_CHUNK 64

/* Rows mode (reading interior windows in place) only for layers with fewer output channels per
 * group: each run costs ~10 instructions of loop control per channel pair, which outweighs
 * copying the window into a column (~2 instructions per 16 bytes, once per pixel) from a few
 * channels on. */
#define EF_CONV_ROWS_MAX_OC 8

typedef struct conv_geom_s {
    const int8_t *input;
    const ef_dims *in;
    int32_t b;
    int32_t kh;
    int32_t kw;
    int32_t fc;
    int32_t dh;       /* dilation: input rows / columns between two taps */
    int32_t dw;
    int32_t ekh;      /* the window's extent in the input: (kh - 1) * dh + 1 */
    int32_t ekw;
    int32_t seg;      /* bytes of one run */
    int32_t rows;     /* runs per pixel */
    int32_t row_step; /* input bytes between two rows of the window (rows mode, interior pixels; dh rows) */
    int32_t full;     /* seg / 16 */
    int32_t rem;      /* seg % 16 */
    int8_t pad;
    int rows_mode;
    const uint8_t *goffs; /* grouped windows: gather offsets of a window row's bytes (48), or NULL */
    const uint8_t *gtapx; /* their tap columns */
    /* dh or dw > 1: pixel_column by fill_column_dil (goffs is NULL), set by ef_nn_conv_2px_dil_s8 only */
    void (*fill_dil)(int8_t *col, const struct conv_geom_s *g, int32_t iy0, int32_t ix0, int32_t c0);
    int copy_win;         /* interior windows by copy_window: ungrouped, undilated, no goffs (or short) */
} conv_geom;

/* n bytes of src to dst (n >= 0), 16 per step, the last step predicated. */
static inline void copy_s8(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 16; n -= 16) {
        vstrbq_s8(dst, vldrbq_s8(src));
        dst += 16;
        src += 16;
    }
    if (n > 0) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
    }
}

static inline void fill_s8(int8_t *dst, int8x16_t v, int32_t n)
{
    for (; n >= 16; n -= 16) {
        vstrbq_s8(dst, v);
        dst += 16;
    }
    if (n > 0) {
        vstrbq_p_s8(dst, v, vctp8q((uint32_t)n));
    }
}

/* fc bytes from s to col (fc >= 1): whole vectors, the last one predicated (p: fc % 16 lanes). */
static inline __attribute__((always_inline)) int8_t *copy_tap(int8_t *col, const int8_t *s, int32_t fc,
                                                              mve_pred16_t p)
{
    for (; fc >= 16; fc -= 16, col += 16, s += 16) {
        vstrbq_s8(col, vldrbq_s8(s));
    }
    if (fc > 0) {
        vstrbq_p_s8(col, vldrbq_z_s8(s, p), p);
    }
    return col + fc;
}

/* A dilated window (taps dh / dw apart) at (iy0, ix0) of channels c0..c0+fc as a column of
 * kh * kw * fc bytes, out-of-bounds taps = pad: every pixel of a dilated layer outside the short
 * columns (interior and border, grouped or not). Inside the input: one copy per tap, no tests;
 * on a border, one bounds test per tap. Everything in locals (the int8 stores may alias g). */
static __attribute__((noinline)) void fill_column_dil(int8_t *col, const conv_geom *g, int32_t iy0, int32_t ix0,
                                                      int32_t c0)
{
    const ef_dims *in = g->in;
    const int32_t fc = g->fc;
    const int32_t kh = g->kh;
    const int32_t kw = g->kw;
    const int32_t dh = g->dh;
    const int32_t ih = in->h;
    const int32_t iw = in->w;
    const int32_t tstep = g->dw * in->c;
    const int32_t rstep = dh * iw * in->c;
    const mve_pred16_t p = vctp8q((uint32_t)(fc & 15));
    /* (uintptr_t: a border window's first tap may lie outside the image; only in-bounds taps are read) */
    uintptr_t row = (uintptr_t)(g->input + g->b * ih * iw * in->c + c0) + (uintptr_t)((iy0 * iw + ix0) * in->c);
    if (iy0 >= 0 && ix0 >= 0 && iy0 + g->ekh <= ih && ix0 + g->ekw <= iw) {
        if (fc == 16 || fc == 32) { /* whole vectors, unrolled: no per-tap loop or tail test */
            for (int32_t ky = 0; ky < kh; ++ky, row += (uintptr_t)rstep) {
                const int8_t *s = (const int8_t *)row;
                for (int32_t kx = 0; kx < kw; ++kx, s += tstep, col += fc) {
                    vstrbq_s8(col, vldrbq_s8(s));
                    if (fc == 32) {
                        vstrbq_s8(col + 16, vldrbq_s8(s + 16));
                    }
                }
            }
            return;
        }
        for (int32_t ky = 0; ky < kh; ++ky, row += (uintptr_t)rstep) {
            const int8_t *s = (const int8_t *)row;
            for (int32_t kx = 0; kx < kw; ++kx, s += tstep) {
                col = copy_tap(col, s, fc, p);
            }
        }
        return;
    }
    const int8x16_t vpad = vdupq_n_s8(g->pad);
    const int32_t dw = g->dw;
    for (int32_t ky = 0, iy = iy0; ky < kh; ++ky, iy += dh, row += (uintptr_t)rstep) {
        uintptr_t s = row;
        for (int32_t kx = 0, ix = ix0; kx < kw; ++kx, ix += dw, s += (uintptr_t)tstep) {
            if ((uint32_t)iy < (uint32_t)ih && (uint32_t)ix < (uint32_t)iw) {
                col = copy_tap(col, (const int8_t *)s, fc, p);
            } else {
                int32_t n = fc;
                for (; n >= 16; n -= 16, col += 16) {
                    vstrbq_s8(col, vpad);
                }
                if (n > 0) {
                    vstrbq_p_s8(col, vpad, p);
                    col += n;
                }
            }
        }
    }
}

/* The window at (iy0, ix0) of channels c0..c0+fc as a column of kh * kw * fc bytes, out-of-bounds
 * taps = pad. Ungrouped (fc == in->c): the in-bounds taps of a row are one contiguous copy. */
static void fill_column(int8_t *col, const conv_geom *g, int32_t iy0, int32_t ix0, int32_t c0)
{
    const ef_dims *in = g->in;
    const int32_t fc = g->fc;
    const int32_t seg = g->kw * fc;
    const int8x16_t vpad = vdupq_n_s8(g->pad);
    const int32_t kx0 = EF_MAX(0, -ix0);
    const int32_t kx1 = EF_MIN(g->kw, in->w - ix0);
    for (int32_t ky = 0; ky < g->kh; ++ky) {
        const int32_t iy = iy0 + ky;
        if (iy < 0 || iy >= in->h || kx1 <= kx0) {
            fill_s8(col, vpad, seg);
        } else {
            const int8_t *src = g->input + (((g->b * in->h + iy) * in->w + ix0 + kx0) * in->c + c0);
            fill_s8(col, vpad, kx0 * fc);
            if (fc == in->c) {
                copy_s8(col + kx0 * fc, src, (kx1 - kx0) * fc);
            } else {
                for (int32_t kx = kx0; kx < kx1; ++kx) {
                    copy_s8(col + kx * fc, src + (kx - kx0) * in->c, fc);
                }
            }
            fill_s8(col + kx1 * fc, vpad, (g->kw - kx1) * fc);
        }
        col += seg;
    }
}

/* The window at (iy0, ix0), inside the input, of an ungrouped layer as a column: kh row copies of
 * kw * c bytes (most pixels of a layer; apart from fill_column, whose set-up it skips). */
static __attribute__((noinline)) void copy_window(int8_t *col, const conv_geom *g, int32_t iy0, int32_t ix0)
{
    const ef_dims *in = g->in;
    const int32_t seg = g->kw * g->fc;
    const int32_t step = in->w * in->c - (seg & ~15);
    const int32_t n16 = seg >> 4;
    const int32_t rem = seg & 15;
    const mve_pred16_t p = vctp8q((uint32_t)rem);
    const int8_t *src = g->input + ((g->b * in->h + iy0) * in->w + ix0) * in->c;
    for (int32_t ky = 0; ky < g->kh; ++ky) {
        for (int32_t i = 0; i < n16; ++i) {
            vstrbq_s8(col, vldrbq_s8(src));
            col += 16;
            src += 16;
        }
        if (rem != 0) {
            vstrbq_p_s8(col, vldrbq_z_s8(src, p), p);
            col += rem;
        }
        src += step;
    }
}

/* A window (of a grouped layer: its channels c0..c0 + fc of each tap) as a column: per window row
 * (kw * fc <= 48 bytes) one VLDRB gather per 16 bytes (8-bit offsets kx * c + ci); on a border,
 * taps outside the input masked off (not read) and set to the zero point (the column masks once per
 * window, rows outside the input the zero point). Instead of one copy per tap (~20 instructions
 * each). */
static __attribute__((noinline)) void gather_window(int8_t *col, const conv_geom *g, int32_t iy0, int32_t ix0,
                                                    int32_t c0)
{
    const ef_dims *in = g->in;
    const int32_t seg = g->kw * g->fc;
    const int32_t nv = (seg + 15) >> 4;
    const mve_pred16_t ptail = vctp8q((uint32_t)(seg - 16 * (nv - 1)));
    const int8x16_t vpad = vdupq_n_s8(g->pad);
    const int x_in = ix0 >= 0 && ix0 + g->kw <= in->w;
    const int32_t row = in->w * in->c;
    const int32_t h = in->h;
    const uint8_t w = (uint8_t)in->w;
    const uint8_t x0 = (uint8_t)ix0;
    const uint8x16_t o0 = vldrbq_u8(g->goffs);
    const uint8x16_t o1 = vldrbq_u8(g->goffs + 16);
    const uint8x16_t o2 = vldrbq_u8(g->goffs + 32);
    /* the lanes whose tap column is inside the input, the same for every row of the window (u8
     * coordinates: a column left of the input wraps above w) */
    const mve_pred16_t k0 = x_in ? 0xFFFF : (mve_pred16_t)~vcmpcsq_n_u8(vaddq_n_u8(vldrbq_u8(g->gtapx), x0), w);
    const mve_pred16_t k1 =
        x_in ? 0xFFFF : (mve_pred16_t)~vcmpcsq_n_u8(vaddq_n_u8(vldrbq_u8(g->gtapx + 16), x0), w);
    const mve_pred16_t k2 =
        x_in ? 0xFFFF : (mve_pred16_t)~vcmpcsq_n_u8(vaddq_n_u8(vldrbq_u8(g->gtapx + 32), x0), w);
    uintptr_t src = (uintptr_t)(g->input + g->b * h * row + c0) + (uintptr_t)((iy0 * in->w + ix0) * in->c);
    for (int32_t iy = iy0; iy < iy0 + g->kh; ++iy, col += seg, src += (uintptr_t)row) {
        const int8_t *sp = (const int8_t *)src;
        int8x16_t x0v = vpad;
        int8x16_t x1v = vpad;
        int8x16_t x2v = vpad;
        if ((uint32_t)iy < (uint32_t)h) { /* a row inside: the taps inside, the zero point outside */
            x0v = vpselq_s8(vldrbq_gather_offset_z_s8(sp, o0, k0), vpad, k0);
            if (nv > 1) {
                x1v = vpselq_s8(vldrbq_gather_offset_z_s8(sp, o1, k1), vpad, k1);
            }
            if (nv > 2) {
                x2v = vpselq_s8(vldrbq_gather_offset_z_s8(sp, o2, k2), vpad, k2);
            }
        }
        if (nv == 1) {
            vstrbq_p_s8(col, x0v, ptail);
        } else if (nv == 2) {
            vstrbq_s8(col, x0v);
            vstrbq_p_s8(col + 16, x1v, ptail);
        } else {
            vstrbq_s8(col, x0v);
            vstrbq_s8(col + 16, x1v);
            vstrbq_p_s8(col + 32, x2v, ptail);
        }
    }
}

/* The column of the pixel at (iy0, ix0) in `slot` when it is not an interior window of an
 * ungrouped layer (copy_window) or of a grouped one (gather_run_in, from the pair loop): a grouped
 * window on a border (gather_window), a dilated window, or the column fill. */
static __attribute__((noinline)) void pixel_column(const conv_geom *g, int8_t *slot, int32_t iy0, int32_t ix0,
                                                   int32_t c0)
{
    if (g->goffs != 0) {
        gather_window(slot, g, iy0, ix0, c0);
    } else if (g->fill_dil != 0) {
        g->fill_dil(slot, g, iy0, ix0, c0);
    } else {
        fill_column(slot, g, iy0, ix0, c0);
    }
}

/* One window's rows in gather_run_in's asm (NV: vectors per row, 1-3; the gathers' offsets in
 * q4-q6; VPR: the tail lanes, set once per call). The kh - 1 rows before the last store whole
 * vectors: a last vector's bytes past the row land on the next row, which is stored after it and
 * covers them (seg > 16 (NV - 1)). The last row's last vector is predicated, so nothing is written
 * past the column; at NV = 1 every row's store is (seg may be under 8). */
#define EF_GRI_LOADS1 "vldrb.u8 q0, [%[s], q4]\n\t"
#define EF_GRI_LOADS2 EF_GRI_LOADS1 "vldrb.u8 q1, [%[s], q5]\n\t"
#define EF_GRI_LOADS3 EF_GRI_LOADS2 "vldrb.u8 q2, [%[s], q6]\n\t"
#define EF_GRI_LAST1 "vpst\n\t" "vstrbt.8 q0, [%[c]]\n\t"
#define EF_GRI_FULL1 EF_GRI_LAST1 /* one vector: every row predicated */
#define EF_GRI_FULL2 "vstrb.8 q0, [%[c]]\n\t" "vstrb.8 q1, [%[c], #16]\n\t"
#define EF_GRI_FULL3 EF_GRI_FULL2 "vstrb.8 q2, [%[c], #32]\n\t"
#define EF_GRI_LAST2 "vstrb.8 q0, [%[c]]\n\t" "vpst\n\t" "vstrbt.8 q1, [%[c], #16]\n\t"
#define EF_GRI_LAST3 EF_GRI_FULL2 "vpst\n\t" "vstrbt.8 q2, [%[c], #32]\n\t"
#define EF_GRI_ASM(NV)                                                                              \
    __asm__ volatile("vldrb.u8 q4, [%[o]]\n\t"                                                     \
                     "vldrb.u8 q5, [%[o], #16]\n\t"                                                \
                     "vldrb.u8 q6, [%[o], #32]\n\t"                                                \
                     "vmsr    p0, %[pt]\n"                                                          \
                     "1:\n\t"                                                                      \
                     "mov     %[s], %[src]\n\t"                                                    \
                     "mov     %[c], %[col]\n\t"                                                    \
                     "subs    %[k], %[kh], #1\n\t"                                                 \
                     "beq     3f\n"                                                                 \
                     "2:\n\t" EF_GRI_LOADS##NV "add     %[s], %[s], %[row]\n\t" EF_GRI_FULL##NV    \
                     "add     %[c], %[c], %[seg]\n\t"                                              \
                     "subs    %[k], %[k], #1\n\t"                                                  \
                     "bne     2b\n"                                                                 \
                     "3:\n\t" EF_GRI_LOADS##NV EF_GRI_LAST##NV                                     \
                     "add     %[col], %[col], %[cl]\n\t"                                           \
                     "add     %[src], %[src], %[xs]\n\t"                                           \
                     "subs    %[n], %[n], #1\n\t"                                                  \
                     "bne     1b\n\t"                                                              \
                     : [s] "=&r"(s), [c] "=&r"(c), [k] "=&r"(k), [col] "+&r"(col), [src] "+&r"(src), \
                       [n] "+&r"(n)                                                                 \
                     : [o] "r"(g->goffs), [pt] "r"(pt), [kh] "r"(kh), [row] "r"(row), [seg] "r"(seg), \
                       [cl] "r"(col_len), [xs] "r"(xstep)                                          \
                     : "q0", "q1", "q2", "q4", "q5", "q6", "cc", "memory")

/* The columns of n >= 1 consecutive interior windows of a grouped layer (gathered rows, g->goffs,
 * kw * fc <= 48 bytes) on one input row: window i at src + i * xstep, its column at col + i *
 * col_len. The offsets and the tail predicate are loaded once for the n windows; per window row
 * one VLDRB gather and one store per 16 bytes, in one asm loop (at kw * fc <= 32: 4, 8 per row before
 * the last, 5, 4 instructions a window, 29 at kh = 3, against ~41 through the compiled loops). */
static __attribute__((noinline)) void gather_run_in(int8_t *col, int32_t col_len, const int8_t *src, int32_t xstep,
                                                    int32_t n, const conv_geom *g)
{
    const int32_t seg = g->kw * g->fc;
    const int32_t row = g->in->w * g->in->c;
    const int32_t kh = g->kh;
    const uint32_t pt = (uint32_t)vctp8q((uint32_t)(((seg - 1) & 15) + 1));
    const int8_t *s;
    int8_t *c;
    int32_t k;
    if (seg <= 16) {
        EF_GRI_ASM(1);
    } else if (seg <= 32) {
        EF_GRI_ASM(2);
    } else {
        EF_GRI_ASM(3);
    }
    (void)s;
    (void)c;
    (void)k;
}

/* Where the runs of the pixel at (iy0, ix0) start and their stride: in place, or a column
 * written to `slot`. */
static inline const int8_t *pixel_runs(const conv_geom *g, int8_t *slot, int32_t iy0, int32_t ix0, int32_t c0,
                                       int32_t *stride)
{
    const ef_dims *in = g->in;
    if (slot == 0 || (g->rows_mode && iy0 >= 0 && ix0 >= 0 && iy0 + g->ekh <= in->h && ix0 + g->ekw <= in->w)) {
        *stride = g->row_step;
        return g->input + ((g->b * in->h + iy0) * in->w + ix0) * in->c + c0;
    }
    if (g->copy_win && iy0 >= 0 && ix0 >= 0 && iy0 + g->kh <= in->h && ix0 + g->kw <= in->w) {
        copy_window(slot, g, iy0, ix0);
    } else {
        pixel_column(g, slot, iy0, ix0, c0);
    }
    *stride = g->seg;
    return slot;
}

/* Where a pixel pair's runs are, for dot_pairs (read by its asm at fixed offsets). */
typedef struct {
    const int8_t *a;  /* 0: pixel a, first run */
    const int8_t *b;  /* 4: pixel b */
    int32_t full;     /* 8: 16-byte steps per run */
    int32_t rem;      /* 12: bytes after them (0..15) */
    int32_t sa;       /* 16: run stride of a minus 16 * full */
    int32_t sb;       /* 20: same for b */
    int32_t col_len;  /* 24: filter bytes per output channel */
    int32_t rows;     /* 28: runs per pixel */
    int32_t pairs;    /* 32: channel pairs left (counted down) */
    int32_t fstep;    /* 36: 2 * col_len - 16 * full (one-run loop: f0 to the next pair) */
    int32_t full1;    /* 40: full - 1 (one-run loops: the steps after the first) */
} pair_runs;


/* One run for both pixels and both filters, then the tail (first rem lanes, zeroing loads: the
 * other lanes multiply 0 by 0); the filters advance by the whole run. */
#define EF_CONV_RUN_ASM                                 \
    "ldr    lr, [%[ctx], #8]\n\t"                       \
    "wls    lr, lr, 3f\n\t"                             \
    "2:\n\t"                                            \
    "vldrb.u8 q0, [%[pa]], #16\n\t"                     \
    "vldrb.u8 q1, [%[pb]], #16\n\t"                     \
    "vldrb.u8 q2, [%[f0]], #16\n\t"                     \
    "vldrb.u8 q3, [%[f1]], #16\n\t"                     \
    "vmladava.s8 %[a0], q0, q2\n\t"                     \
    "vmladava.s8 %[a1], q0, q3\n\t"                     \
    "vmladava.s8 %[b0], q1, q2\n\t"                     \
    "vmladava.s8 %[b1], q1, q3\n\t"                     \
    "le     lr, 2b\n\t"                                 \
    "3:\n\t"                                            \
    "ldr    %[t], [%[ctx], #12]\n\t"                    \
    "cbz    %[t], 4f\n\t"                               \
    "vctp.8 %[t]\n\t"                                   \
    "vpstttt\n\t"                                       \
    "vldrbt.u8 q0, [%[pa]]\n\t"                         \
    "vldrbt.u8 q1, [%[pb]]\n\t"                         \
    "vldrbt.u8 q2, [%[f0]]\n\t"                         \
    "vldrbt.u8 q3, [%[f1]]\n\t"                         \
    "add    %[f0], %[t]\n\t"                            \
    "add    %[f1], %[t]\n\t"                            \
    "vmladava.s8 %[a0], q0, q2\n\t"                     \
    "vmladava.s8 %[a1], q0, q3\n\t"                     \
    "vmladava.s8 %[b0], q1, q2\n\t"                     \
    "vmladava.s8 %[b1], q1, q3\n\t"                     \
    "4:\n\t"

/* A pair's first 16 bytes: both pixels' column pointers from the context, one step of both
 * columns against both filters with VMLADAV (the sums start here, no zeroing). */
#define EF_CONV_STEP_FIRST                              \
    "ldrd   %[pa], %[pb], [%[ctx]]\n\t"               \
    "vldrb.u8 q0, [%[pa]], #16\n\t"                   \
    "vldrb.u8 q1, [%[pb]], #16\n\t"                   \
    "vldrb.u8 q2, [%[f0]], #16\n\t"                   \
    "vldrb.u8 q3, [%[f1]], #16\n\t"                   \
    "vmladav.s8 %[a0], q0, q2\n\t"                    \
    "vmladav.s8 %[a1], q0, q3\n\t"                    \
    "vmladav.s8 %[b0], q1, q2\n\t"                    \
    "vmladav.s8 %[b1], q1, q3\n\t"

/* The one-run pair loop (full >= 1): first 16 bytes with VMLADAV (no zeroing), full - 1 more in
 * the WLS/LE loop, then (EF_CONV_PAIR1_TAIL) the rem tail; the foot stores the four sums and steps
 * to the next filter pair. */
#define EF_CONV_PAIR1_HEAD                              \
    EF_CONV_STEP_FIRST                                \
    "ldr    lr, [%[ctx], #40]\n\t"                    \
    "wls    lr, lr, 3f\n\t"                           \
    "2:\n\t"                                          \
    "vldrb.u8 q0, [%[pa]], #16\n\t"                   \
    "vldrb.u8 q1, [%[pb]], #16\n\t"                   \
    "vldrb.u8 q2, [%[f0]], #16\n\t"                   \
    "vldrb.u8 q3, [%[f1]], #16\n\t"                   \
    "vmladava.s8 %[a0], q0, q2\n\t"                   \
    "vmladava.s8 %[a1], q0, q3\n\t"                   \
    "vmladava.s8 %[b0], q1, q2\n\t"                   \
    "vmladava.s8 %[b1], q1, q3\n\t"                   \
    "le     lr, 2b\n\t"                               \
    "3:\n\t"
#define EF_CONV_PAIR1_TAIL                              \
    "vpstttt\n\t"                                     \
    "vldrbt.u8 q0, [%[pa]]\n\t"                       \
    "vldrbt.u8 q1, [%[pb]]\n\t"                       \
    "vldrbt.u8 q2, [%[f0]]\n\t"                       \
    "vldrbt.u8 q3, [%[f1]]\n\t"                       \
    "vmladava.s8 %[a0], q0, q2\n\t"                   \
    "vmladava.s8 %[a1], q0, q3\n\t"                   \
    "vmladava.s8 %[b0], q1, q2\n\t"                   \
    "vmladava.s8 %[b1], q1, q3\n\t"
#define EF_CONV_PAIR1_FOOT                              \
    "strd   %[a1], %[b1], [%[acc], #16]\n\t"           \
    "strd   %[a0], %[b0], [%[acc]], #32\n\t"          \
    "ldr    %[t], [%[ctx], #36]\n\t"                  \
    "add    %[f0], %[t]\n\t"                          \
    "add    %[f1], %[f0], %[cl]\n\t"                  \
    "subs   %[cnt], #1\n\t"                           \
    "bne    1b\n\t"

/* The one-run pair loop unrolled: the first 16 bytes with VMLADAV, then a computed branch (lr, set
 * once per call) into a run of unrolled 16-byte steps of 32 bytes of code each, entered full - 1
 * steps before its end, the tail (rem != 0), the foot with the filter step in t. No loop counter per
 * pair: 7 instructions of overhead per pair against 13 in the WLS/LE loop. The .rept counts of the
 * two bodies (EF_CONV_UNR_HEAD(17), (4) in dot_pairs) are these: */
#define EF_CONV_UNROLL 17     /* runs of 16 * n bytes: n <= 18 (3x3 x 32 channels) */
#define EF_CONV_UNROLL_REM 4  /* runs with a tail: up to 5 steps and the tail (K < 96) */
#define EF_CONV_STEP_ACC                                \
    "vldrb.u8 q0, [%[pa]], #16\n\t"                   \
    "vldrb.u8 q1, [%[pb]], #16\n\t"                   \
    "vldrb.u8 q2, [%[f0]], #16\n\t"                   \
    "vldrb.u8 q3, [%[f1]], #16\n\t"                   \
    "vmladava.s8 %[a0], q0, q2\n\t"                   \
    "vmladava.s8 %[a1], q0, q3\n\t"                   \
    "vmladava.s8 %[b0], q1, q2\n\t"                   \
    "vmladava.s8 %[b1], q1, q3\n\t"
#define EF_CONV_UNR_SETUP                               \
    "ldr    lr, [%[ctx], #40]\n\t"                    \
    "adr.w  %[t], 7f\n\t"                             \
    "sub    lr, %[t], lr, lsl #5\n\t"                 \
    "orr    lr, lr, #1\n\t"                           \
    "ldr    %[t], [%[ctx], #36]\n\t"
#define EF_CONV_UNR_HEAD(REPT)                          \
    EF_CONV_STEP_FIRST                                \
    "bx     lr\n\t"                                   \
    ".rept " #REPT "\n\t" EF_CONV_STEP_ACC ".endr\n\t" \
    "7:\n\t"
#define EF_CONV_UNR_FOOT                                \
    "strd   %[a1], %[b1], [%[acc], #16]\n\t"           \
    "strd   %[a0], %[b0], [%[acc]], #32\n\t"          \
    "add    %[f0], %[t]\n\t"                          \
    "add    %[f1], %[f0], %[cl]\n\t"                  \
    "subs   %[cnt], #1\n\t"                           \
    "bne    1b\n\t"

/* Raw sums of the pixel pair in r with ctx->pairs consecutive filter pairs starting at f:
 * acc[4c], acc[4c + 1] = pixels a, b . filter c (four words per channel, the short store's layout:
 * a block of 4 pixels is two calls, the second at acc + 2).
 * Returns the filter after the last pair. One asm loop over pairs (and runs): GCC, left to it,
 * keeps the loop invariants on the stack around the VMLADAVA loop (~40 instructions per pair
 * besides the 9 per 16 bytes), and opens one VPST per predicated load. VMLADAVA accumulates into
 * even registers only. */
static __attribute__((noinline)) const int8_t *dot_pairs(pair_runs *r, const int8_t *f, int32_t *acc)
{
    register int32_t a0 __asm__("r4");
    register int32_t a1 __asm__("r6");
    register int32_t b0 __asm__("r8");
    register int32_t b1 __asm__("r10");
    const int8_t *f0 = f;
    const int8_t *f1 = f + r->col_len;
    const int8_t *pa;
    const int8_t *pb;
    int32_t t;
    int32_t rows;
    if (r->rows == 1 && r->full >= 1 && r->full <= (r->rem != 0 ? EF_CONV_UNROLL_REM : EF_CONV_UNROLL) + 1) {
        int32_t cnt = r->pairs;
        const int32_t cl = r->col_len;
        r->full1 = r->full - 1;
        r->fstep = 2 * cl - 16 * r->full;
        if (r->rem != 0) {
            __asm__ volatile("ldr    %[t], [%[ctx], #12]\n\t"
                             "vctp.8 %[t]\n\t"
                             EF_CONV_UNR_SETUP
                             "1:\n\t" EF_CONV_UNR_HEAD(4) EF_CONV_PAIR1_TAIL EF_CONV_UNR_FOOT
                             : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [pa] "=&r"(pa),
                               [pb] "=&r"(pb), [f0] "+&r"(f0), [f1] "+&r"(f1), [acc] "+&r"(acc), [t] "=&l"(t),
                               [cnt] "+&r"(cnt)
                             : [ctx] "r"(r), [cl] "r"(cl)
                             : "q0", "q1", "q2", "q3", "lr", "cc", "memory");
        } else {
            __asm__ volatile(EF_CONV_UNR_SETUP
                             "1:\n\t" EF_CONV_UNR_HEAD(17) EF_CONV_UNR_FOOT
                             : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [pa] "=&r"(pa),
                               [pb] "=&r"(pb), [f0] "+&r"(f0), [f1] "+&r"(f1), [acc] "+&r"(acc), [t] "=&l"(t),
                               [cnt] "+&r"(cnt)
                             : [ctx] "r"(r), [cl] "r"(cl)
                             : "q0", "q1", "q2", "q3", "lr", "cc", "memory");
        }
        return f0;
    }
    r->fstep = 2 * r->col_len - 16 * r->full;
    r->full1 = r->full - 1;
    if (r->rows == 1 && r->full >= 1) {
        /* one run per pixel (1x1, flat columns): the first 16 bytes start the sums (VMLADAV), the
         * pair count and the filter stride stay in registers, the tail is compiled in or out */
        int32_t cnt = r->pairs;
        const int32_t cl = r->col_len;
        if (r->rem != 0) {
            /* the tail's predicate once for all pairs (nothing in the loop writes VPR) */
            __asm__ volatile("ldr    %[t], [%[ctx], #12]\n\t"
                             "vctp.8 %[t]\n\t"
                             "1:\n\t" EF_CONV_PAIR1_HEAD EF_CONV_PAIR1_TAIL EF_CONV_PAIR1_FOOT
                             : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [pa] "=&r"(pa),
                               [pb] "=&r"(pb), [f0] "+&r"(f0), [f1] "+&r"(f1), [acc] "+&r"(acc), [t] "=&l"(t),
                               [cnt] "+&r"(cnt)
                             : [ctx] "r"(r), [cl] "r"(cl)
                             : "q0", "q1", "q2", "q3", "lr", "cc", "memory");
        } else {
            __asm__ volatile("1:\n\t" EF_CONV_PAIR1_HEAD EF_CONV_PAIR1_FOOT
                             : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [pa] "=&r"(pa),
                               [pb] "=&r"(pb), [f0] "+&r"(f0), [f1] "+&r"(f1), [acc] "+&r"(acc), [t] "=&l"(t),
                               [cnt] "+&r"(cnt)
                             : [ctx] "r"(r), [cl] "r"(cl)
                             : "q0", "q1", "q2", "q3", "lr", "cc", "memory");
        }
    } else { /* runs per pixel (rows mode), or one run of < 16 bytes */
        __asm__ volatile(
            "1:\n\t"
            "mov.w  %[a0], #0\n\t"
            "mov.w  %[a1], #0\n\t"
            "mov.w  %[b0], #0\n\t"
            "mov.w  %[b1], #0\n\t"
            "ldrd   %[pa], %[pb], [%[ctx]]\n\t"
            "ldr    %[rows], [%[ctx], #28]\n\t"
            "5:\n\t"
            EF_CONV_RUN_ASM
            "ldr    %[t], [%[ctx], #16]\n\t"
            "add    %[pa], %[t]\n\t"
            "ldr    %[t], [%[ctx], #20]\n\t"
            "add    %[pb], %[t]\n\t"
            "subs   %[rows], #1\n\t"
            "bne    5b\n\t"
            "strd   %[a1], %[b1], [%[acc], #16]\n\t"
            "strd   %[a0], %[b0], [%[acc]], #32\n\t"
            "ldr    %[t], [%[ctx], #24]\n\t"
            "mov    %[f0], %[f1]\n\t"
            "add    %[f1], %[t]\n\t"
            "ldr    %[t], [%[ctx], #32]\n\t"
            "subs   %[t], #1\n\t"
            "str    %[t], [%[ctx], #32]\n\t"
            "bne    1b\n\t"
            : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [pa] "=&r"(pa), [pb] "=&r"(pb),
              [f0] "+&r"(f0), [f1] "+&r"(f1), [acc] "+&r"(acc), [t] "=&l"(t), [rows] "=&r"(rows)
            : [ctx] "r"(r)
            : "q0", "q1", "q2", "q3", "lr", "cc", "memory");
    }
    return f0;
}

/* eff[k] = bias[oc + k] + off * sum(filter of oc + k), k < n. */
static void effective_bias(int32_t *eff, const int8_t *filter, const int32_t *bias, int32_t oc, int32_t n,
                           int32_t col_len, int32_t off)
{
    for (int32_t k = 0; k < n; ++k) {
        const int8_t *f = filter + (oc + k) * col_len;
        int32_t s = 0;
        int32_t i = 0;
        for (; i + 16 <= col_len; i += 16) {
            s = vaddvaq_s8(s, vldrbq_s8(f + i));
        }
        if (i < col_len) {
            s = vaddvaq_s8(s, vldrbq_z_s8(f + i, vctp8q((uint32_t)(col_len - i))));
        }
        eff[k] = (bias != 0 ? bias[oc + k] : 0) + off * s;
    }
}

/* What the short-column store needs (one per chunk of channels). */
typedef struct {
    const int32_t *eff;   /* effective biases of the chunk's channels */
    const int32_t *mult;  /* their multipliers and shifts */
    const int32_t *shift;
    int32_t nc;           /* channels in the chunk */
    int32_t out_c;        /* output bytes between two pixels */
    int32_t out_off;
    int32_t act_min;
    int32_t act_max;
    int32_t words;        /* words per channel in the raw sums (4: blocks of up to 4 pixels) */
    int shifts;           /* 2: every shift < 0, else some shift >= 0 */
    int8_t *spare;        /* nc bytes for the outputs of a lone last pixel's missing partner */
} rq_block;

/* The general store (some shift >= 0: rare in TFLite models): ef_requantize per value. */
static __attribute__((noinline)) void store_any(const rq_block *q, int8_t *dst, const int32_t *acc, int32_t np)
{
    for (int32_t i = 0; i < np; ++i) {
        for (int32_t c = 0; c < q->nc; ++c) {
            const int32_t x = ef_requantize(acc[q->words * c + i] + q->eff[c], q->mult[c], q->shift[c]) + q->out_off;
            dst[i * q->out_c + c] = ef_clamp_to_s8(x, q->act_min, q->act_max);
        }
    }
}

/* One pixel's 4 channels in the store asm: q3 = its raw sums (gathered by LD), + eff, the rounding
 * high multiply, the ties-away fix-up (every shift < 0: x - 1 on negative lanes), the rounding right
 * shift, + out_off, the activation clamp, a predicated byte store stepping D by 4. */
#define EF_SHORT_RQ(LD, D)                               \
    LD                                                   \
    "vadd.i32 q3, q3, q2\n\t"                            \
    "vqrdmulh.s32 q3, q3, q0\n\t"                        \
    "vshr.s32 q7, q3, #31\n\t"                           \
    "vqadd.s32 q3, q3, q7\n\t"                           \
    "vrshl.s32 q3, q3, q1\n\t"                           \
    "vadd.i32 q3, q3, %[off]\n\t"                        \
    "vmax.s32 q3, q3, %q[lo]\n\t"                        \
    "vmin.s32 q3, q3, %q[hi]\n\t"                        \
    "vpst\n\t"                                           \
    "vstrbt.32 q3, [%[" D "]], #4\n\t"

/* Channels 0..nc-1 of np (1..4) consecutive pixels from dst; raw sums acc[words * channel + pixel]
 * (the layout of short_dots and of the pair engine's dot_pairs). Every shift < 0 (the usual case):
 * one asm loop over groups of 4 channels, the per-channel terms loaded once for the pixels, each
 * pixel's 4 sums one word gather through a vector of addresses: 8 + 11 per pixel instructions per
 * 4 channels (a lone pixel computes a second one into q->spare). Else store_any. */
static __attribute__((noinline)) void store_short(const rq_block *q, int8_t *dst, const int32_t *acc, int32_t np)
{
    if (q->shifts != 2) {
        store_any(q, dst, acc, np);
        return;
    }
    const int32_t *mult = q->mult;
    const int32_t *shift = q->shift;
    const int32_t *eff = q->eff;
    int8_t *d0 = dst;
    int8_t *d1 = np > 1 ? dst + q->out_c : q->spare; /* a lone pixel: the second to the spare */
    int8_t *d2 = dst + 2 * q->out_c; /* used when np > 2 */
    int8_t *d3 = dst + 3 * q->out_c; /* np > 3 */
    int32_t rem = q->nc;
    const int32_t out_off = q->out_off;
    /* the gathers' addresses: channel lane's sums, q->words apart; pixel i at + 4 i bytes */
    const int32_t step = 16 * q->words;
    uint32x4_t addr = vaddq_n_u32(vmulq_n_u32(vidupq_n_u32(0, 4), (uint32_t)q->words), (uint32_t)(uintptr_t)acc);
    const int32x4_t lo = vdupq_n_s32(q->act_min);
    const int32x4_t hi = vdupq_n_s32(q->act_max);
    __asm__ volatile(
        "add    lr, %[rem], #3\n\t"
        "lsr    lr, lr, #2\n\t"
        "dls    lr, lr\n\t"
        "cmp    %[np], #3\n\t" /* flags for the loop: lt 2 pixels, eq 3, gt 4 */
        "1:\n\t"
        "vctp.32 %[rem]\n\t"
        "vpstt\n\t"
        "vldrwt.u32 q1, [%[sh]], #16\n\t"
        "vldrwt.u32 q0, [%[mu]], #16\n\t"
        "vldrw.u32 q2, [%[ef]], #16\n\t"
        EF_SHORT_RQ("vldrw.u32 q3, [%q[addr]]\n\t", "d0")
        EF_SHORT_RQ("vldrw.u32 q3, [%q[addr], #4]\n\t", "d1")
        "blt    2f\n\t"
        EF_SHORT_RQ("vldrw.u32 q3, [%q[addr], #8]\n\t", "d2")
        "ble    2f\n\t"
        EF_SHORT_RQ("vldrw.u32 q3, [%q[addr], #12]\n\t", "d3")
        "2:\n\t"
        "vadd.i32 %q[addr], %q[addr], %[step]\n\t"
        "sub    %[rem], %[rem], #4\n\t"
        "le     lr, 1b\n\t"
        : [sh] "+&r"(shift), [mu] "+&r"(mult), [ef] "+&r"(eff), [rem] "+&r"(rem), [d0] "+&l"(d0), [d1] "+&l"(d1),
          [d2] "+&l"(d2), [d3] "+&l"(d3), [addr] "+&w"(addr)
        : [np] "r"(EF_MAX(np, 2)), [off] "r"(out_off), [step] "r"(step), [lo] "w"(lo), [hi] "w"(hi)
        : "q0", "q1", "q2", "q3", "q7", "lr", "cc", "memory");
}

/*
 * Short columns (kh * kw * filter c <= EF_CONV_SHORT_MAX: first layers, 1x1 convs with few input
 * channels, grouped 1x1 convs): the pixels stay in registers and the filters stream past them.
 * A block of P pixels (P = 4, 3, 2 for columns of 1, 2, 3 vectors) is loaded once into q0-q5 (the
 * last vector of each by a zeroing predicated load, so the lanes after the column are 0), then
 * per output channel: the filter row's 1-3 vectors, one VMLADAV(A) per pixel and vector, one STR
 * per pixel: 64 MACs in 11 instructions for a 16-byte column, against a full 2x2 step plus a
 * predicated one for a 27-byte column in the pair engine. The filter's vectors read past its row
 * into the next row (times the zero lanes: nothing); the channels at the filter's end, whose read
 * would leave the array, load their last vector predicated (a second loop). Columns: in place for
 * an unpadded 1x1 filter (grouped too: the group's slice of the input pixel), one VLDRB gather per
 * 16 bytes for an interior window whose offsets fit in 8 bits (KWS's 10x4 window of 1 channel,
 * 3x3x3 up to 41 pixels wide), else the column fill of the pair engine.
 */
#define EF_CONV_SHORT_MAX 48

/* What the short-column asm reads (fixed offsets). */
typedef struct {
    const int8_t *px[4]; /* 0: the columns of the block's pixels */
    int32_t rem;         /* 16: bytes in the column's last vector (1..16) */
    int32_t n;           /* 20: channels whose filter vectors are read whole */
    int32_t n_end;       /* 24: channels after them (the filter's end: last vector predicated) */
} short_block;

#define EF_SHORT_C1_LD_FULL "vldrb.u8 q4, [%[f]]\n\t"
#define EF_SHORT_C1_LD_PRED "vpst\n\tvldrbt.u8 q4, [%[f]]\n\t"
#define EF_SHORT_C1(LD)                                  \
    LD                                                   \
    "add    %[f], %[cl]\n\t"                             \
    "vmladav.s8 r4, q0, q4\n\t"                          \
    "vmladav.s8 r6, q1, q4\n\t"                          \
    "vmladav.s8 r8, q2, q4\n\t"                          \
    "vmladav.s8 r10, q3, q4\n\t"                         \
    "stm    %[acc]!, {r4, r6, r8, r10}\n\t"

#define EF_SHORT_C2_LD_FULL "vldrb.u8 q6, [%[f]]\n\tvldrb.u8 q7, [%[f], #16]\n\t"
#define EF_SHORT_C2_LD_PRED "vldrb.u8 q6, [%[f]]\n\tvpst\n\tvldrbt.u8 q7, [%[f], #16]\n\t"
#define EF_SHORT_C2(LD)                                  \
    LD                                                   \
    "add    %[f], %[cl]\n\t"                             \
    "vmladav.s8 r4, q0, q6\n\t"                          \
    "vmladava.s8 r4, q1, q7\n\t"                         \
    "vmladav.s8 r6, q2, q6\n\t"                          \
    "vmladava.s8 r6, q3, q7\n\t"                         \
    "vmladav.s8 r8, q4, q6\n\t"                          \
    "vmladava.s8 r8, q5, q7\n\t"                         \
    "stm    %[acc]!, {r4, r6, r8, r10}\n\t"

#define EF_SHORT_C3_LD_FULL "vldrb.u8 q6, [%[f], #32]\n\t"
#define EF_SHORT_C3_LD_PRED "vpst\n\tvldrbt.u8 q6, [%[f], #32]\n\t"
#define EF_SHORT_C3(LD)                                  \
    "vldrb.u8 q7, [%[f]]\n\t"                            \
    "vmladav.s8 r4, q0, q7\n\t"                          \
    "vmladav.s8 r6, q3, q7\n\t"                          \
    "vldrb.u8 q7, [%[f], #16]\n\t"                       \
    LD                                                   \
    "add    %[f], %[cl]\n\t"                             \
    "vmladava.s8 r4, q1, q7\n\t"                         \
    "vmladava.s8 r6, q4, q7\n\t"                         \
    "vmladava.s8 r4, q2, q6\n\t"                         \
    "vmladava.s8 r6, q5, q6\n\t"                         \
    "strd   r4, r6, [%[acc]], #16\n\t"

/* The two channel loops of a block: n whole, then n_end with the last vector predicated (VPR
 * still holds the column's tail predicate: nothing in between writes it). */
#define EF_SHORT_LOOPS(BODY, LDF, LDP)                   \
    "ldr    %[t], [%[r], #20]\n\t"                       \
    "wls    lr, %[t], 2f\n\t"                            \
    "1:\n\t" BODY(LDF) "le     lr, 1b\n\t"               \
    "2:\n\t"                                             \
    "ldr    %[t], [%[r], #24]\n\t"                       \
    "wls    lr, %[t], 4f\n\t"                            \
    "3:\n\t" BODY(LDP) "le     lr, 3b\n\t"               \
    "4:\n\t"

#define EF_SHORT_OPERANDS_PX                                                                \
    : [f] "+&r"(f), [acc] "+&r"(acc), [t] "=&r"(t)                                          \
    : [r] "r"(blk), [cl] "r"(cl), [px] "r"(px)                                              \
    : "r4", "r6", "r8", "r10", "lr", "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "cc", "memory"

#define EF_SHORT_OPERANDS                                                                   \
    : [f] "+&r"(f), [acc] "+&r"(acc), [t] "=&r"(t)                                          \
    : [r] "r"(blk), [cl] "r"(cl)                                                            \
    : "r4", "r6", "r8", "r10", "lr", "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "cc", "memory"

/* Raw sums of the block's pixels with blk->n + blk->n_end filters from f (row stride cl): 4 words per
 * channel (acc[4 * channel + pixel], one STM) for 3-4 pixels, 2 (one STRD) for 2. vecs: vectors per
 * column (1..3). */
static __attribute__((noinline)) void short_dots(const short_block *blk, const int8_t *f, int32_t cl, int32_t *acc,
                                                 int32_t vecs, const int8_t *const *px)
{
    int32_t t;
    if (vecs == 1) {
        __asm__ volatile("ldm    %[r], {r4, r6, r8, r10}\n\t"
                         "ldr    %[t], [%[r], #16]\n\t"
                         "vctp.8 %[t]\n\t"
                         "vpstttt\n\t"
                         "vldrbt.u8 q0, [r4]\n\t"
                         "vldrbt.u8 q1, [r6]\n\t"
                         "vldrbt.u8 q2, [r8]\n\t"
                         "vldrbt.u8 q3, [r10]\n\t"
                         EF_SHORT_LOOPS(EF_SHORT_C1, EF_SHORT_C1_LD_FULL, EF_SHORT_C1_LD_PRED)
                         EF_SHORT_OPERANDS);
    } else if (vecs == 2) {
        __asm__ volatile("ldm    %[r], {r4, r6, r8}\n\t"
                         "ldr    %[t], [%[r], #16]\n\t"
                         "vldrb.u8 q0, [r4]\n\t"
                         "vldrb.u8 q2, [r6]\n\t"
                         "vldrb.u8 q4, [r8]\n\t"
                         "vctp.8 %[t]\n\t"
                         "vpsttt\n\t"
                         "vldrbt.u8 q1, [r4, #16]\n\t"
                         "vldrbt.u8 q3, [r6, #16]\n\t"
                         "vldrbt.u8 q5, [r8, #16]\n\t"
                         EF_SHORT_LOOPS(EF_SHORT_C2, EF_SHORT_C2_LD_FULL, EF_SHORT_C2_LD_PRED)
                         EF_SHORT_OPERANDS);
    } else {
        __asm__ volatile("ldm    %[px], {r4, r6}\n\t"
                         "ldr    %[t], [%[r], #16]\n\t"
                         "vldrb.u8 q0, [r4]\n\t"
                         "vldrb.u8 q1, [r4, #16]\n\t"
                         "vldrb.u8 q3, [r6]\n\t"
                         "vldrb.u8 q4, [r6, #16]\n\t"
                         "vctp.8 %[t]\n\t"
                         "vpstt\n\t"
                         "vldrbt.u8 q2, [r4, #32]\n\t"
                         "vldrbt.u8 q5, [r6, #32]\n\t"
                         EF_SHORT_LOOPS(EF_SHORT_C3, EF_SHORT_C3_LD_FULL, EF_SHORT_C3_LD_PRED)
                         EF_SHORT_OPERANDS_PX);
    }
}

typedef struct {
    const conv_geom *g;
    int8_t *scratch;      /* np columns of col_len bytes (unused in place) */
    const uint8_t *offs;  /* gather offsets of the window's bytes (48, zero-padded) */
    const uint8_t *tap_y; /* each byte's filter row and column (48 each), for border windows */
    const uint8_t *tap_x;
    const ef_dims *out;
    int32_t sh, sw, ph, pw;
    int32_t col_len;
    int in_place;         /* unpadded 1x1: the column is the input pixel's slice */
    int gather;           /* the window's offsets fit the 8-bit gathers; else the pair engine's column fills */
} short_geom;

/* Every pixel of image g->b for one chunk of channels (filters from f, input channels from c0,
 * outputs from dst): blocks of np pixels, their columns, short_dots, one store per block. */
static __attribute__((noinline)) void short_pixels(const short_geom *s, short_block *blk, const rq_block *q,
                                                   const int8_t *f, int32_t c0, int8_t *dst, int32_t *acc)
{
    const conv_geom *g = s->g;
    const ef_dims *in = g->in;
    const ef_dims *out = s->out;
    const int32_t cl = s->col_len;
    const int32_t vecs = (cl + 15) >> 4;
    const int32_t np = vecs == 2 ? 3 : 4; /* 3 vectors: 2 + 2 */
    const int32_t n_px = out->h * out->w;
    const int32_t row = in->w * in->c;
    const int32_t xstep = s->sw * in->c;
    const int32_t x_last = in->w - g->ekw; /* last interior ix0 */
    const int8_t *img = g->input + g->b * in->h * row + c0;
    const mve_pred16_t ptail = vctp8q((uint32_t)(cl - 16 * (vecs - 1)));
    const int in_place = s->in_place;
    const int gather = s->gather;
    const int32_t seg = g->kw * g->fc; /* bytes of a window row (the column fills) */
    const mve_pred16_t pseg = vctp8q((uint32_t)EF_MIN(seg, 16));
    int8_t *scratch = s->scratch;
    const int32_t sw = s->sw;
    const int32_t sh = s->sh;
    const int32_t pw = s->pw;
    const int32_t ow = out->w;
    const int32_t kh = g->ekh;
    const int32_t ih = in->h;
    const int32_t ic = in->c;
    const int32_t iw = in->w;
    const int8x16_t vpad = vdupq_n_s8(g->pad);
    const uint8x16_t o0 = vldrbq_u8(s->offs);
    const uint8x16_t o1 = vldrbq_u8(s->offs + 16);
    const uint8x16_t o2 = vldrbq_u8(s->offs + 32);
    int32_t ox = 0;
    int32_t iy0 = -s->ph;
    int32_t ix0 = -pw;
    int32_t off = iy0 * row + ix0 * ic; /* of the window's first byte in the image */
    int y_in = iy0 >= 0 && iy0 + kh <= ih;
    for (int32_t p = 0; p < n_px; p += np) {
        const int32_t m = EF_MIN(np, n_px - p);
        for (int32_t i = 0; i < m; ++i) {
            const int8_t *px;
            if (in_place) {
                px = img + off;
            } else {
                int8_t *col = scratch + i * cl;
                /* (uintptr_t: a border window's first byte may lie outside the image) */
                const int8_t *src = (const int8_t *)((uintptr_t)img + (uintptr_t)off);
                if (!gather) {
                    /* rows too far apart for 8-bit offsets (k x 1 windows of wide rows): an interior
                     * window of an ungrouped layer is kh row copies, any other the column fill */
                    if (y_in && (uint32_t)ix0 <= (uint32_t)x_last && g->copy_win && seg <= 16) {
                        const int8_t *sp = src;
                        int8_t *cp = col;
                        for (int32_t ky = 0; ky < kh; ++ky, sp += row, cp += seg) {
                            vstrbq_p_s8(cp, vldrbq_z_s8(sp, pseg), pseg);
                        }
                    } else if (y_in && (uint32_t)ix0 <= (uint32_t)x_last && g->copy_win) {
                        copy_window(col, g, iy0, ix0);
                    } else {
                        pixel_column(g, col, iy0, ix0, c0);
                    }
                } else if (y_in && (uint32_t)ix0 <= (uint32_t)x_last) {
                    /* one gather per 16 bytes (lanes past the column gather the window's first
                     * byte), the last store predicated: the columns are cl bytes apart */
                    if (vecs == 1) {
                        vstrbq_p_s8(col, vldrbq_gather_offset_s8(src, o0), ptail);
                    } else {
                        vstrbq_s8(col, vldrbq_gather_offset_s8(src, o0));
                        if (vecs == 2) {
                            vstrbq_p_s8(col + 16, vldrbq_gather_offset_s8(src, o1), ptail);
                        } else {
                            vstrbq_s8(col + 16, vldrbq_gather_offset_s8(src, o1));
                            vstrbq_p_s8(col + 32, vldrbq_gather_offset_s8(src, o2), ptail);
                        }
                    }
                } else {
                    /* a border window: the same gathers, lanes outside the input masked off
                     * (not read) and set to the zero point; u8 lane coordinates (h, w, padding
                     * below 120): a tap row iy0 + ky from -ph to h + kh is inside iff below h */
                    for (int32_t v = 0; v < vecs; ++v) {
                        const uint8x16_t ty = vaddq_n_u8(vldrbq_u8(s->tap_y + 16 * v), (uint8_t)iy0);
                        const uint8x16_t tx = vaddq_n_u8(vldrbq_u8(s->tap_x + 16 * v), (uint8_t)ix0);
                        const mve_pred16_t ok =
                            (mve_pred16_t)~(vcmpcsq_n_u8(ty, (uint8_t)ih) | vcmpcsq_n_u8(tx, (uint8_t)iw));
                        const int8x16_t x =
                            vpselq_s8(vldrbq_gather_offset_z_s8(src, vldrbq_u8(s->offs + 16 * v), ok), vpad, ok);
                        vstrbq_p_s8(col + 16 * v, x, v == vecs - 1 ? ptail : 0xFFFF);
                    }
                }
                px = col;
            }
            blk->px[i] = px;
            off += xstep;
            ix0 += sw;
            if (++ox == ow) {
                ox = 0;
                iy0 += sh;
                ix0 = -pw;
                off = iy0 * row + ix0 * ic;
                y_in = iy0 >= 0 && iy0 + kh <= ih;
            }
        }
        for (int32_t i = m; i < np; ++i) { /* past the last pixel: sums computed, never stored */
            blk->px[i] = blk->px[0];
        }
        short_dots(blk, f, cl, acc, vecs, blk->px);
        if (vecs == 3 && m > 2) { /* 3-vector columns: two pixels per pass, one store for 4 */
            short_dots(blk, f, cl, acc + 2, vecs, blk->px + 2);
        }
        store_short(q, dst + p * out->c, acc, m);
    }
}

typedef void (*fill_dil_fn)(int8_t *col, const conv_geom *g, int32_t iy0, int32_t ix0, int32_t c0);

static __attribute__((noinline)) void conv_2px_mve(const ef_conv_params *params, const ef_per_channel_quant *quant,
                                                   const ef_dims *in, const int8_t *input, const ef_dims *filter_dims,
                                                   const int8_t *filter, const int32_t *bias, const ef_dims *out,
                                                   int8_t *output, void *cols, fill_dil_fn fill_dil)
{
    int8_t *scratch = (int8_t *)cols;
    conv_geom g;
    g.input = input;
    g.in = in;
    g.kh = filter_dims->h;
    g.kw = filter_dims->w;
    g.fc = filter_dims->c;
    g.dh = params->dilation.h;
    g.dw = params->dilation.w;
    g.ekh = (g.kh - 1) * g.dh + 1;
    g.ekw = (g.kw - 1) * g.dw + 1;
    g.pad = (int8_t)(-params->input_offset);
    const int32_t col_len = g.kh * g.kw * g.fc;
    const int32_t groups = in->c / g.fc;
    const int32_t opg = out->c / groups;
    const int32_t n_px = out->h * out->w;
    const int32_t sh = params->stride.h;
    const int32_t sw = params->stride.w;
    const int32_t ph = params->padding.h;
    const int32_t pw = params->padding.w;
    const int32_t row_vectors = g.kh * ((g.kw * g.fc + 15) >> 4);
    /* short columns: in place (unpadded 1x1), or gathered (8-bit offsets; u8 lane coordinates) */
    const int in_place = scratch == 0 || (g.kh == 1 && g.kw == 1 && ph == 0 && pw == 0 &&
                                          (out->h - 1) * sh < in->h && (out->w - 1) * sw < in->w);
    const int gatherable = (g.ekh - 1) * in->w * in->c + (g.ekw - 1) * in->c + g.fc <= 256 && in->h + g.ekh < 120 &&
                           in->w + g.ekw < 120 && ph < 120 && pw < 120;
    /* (not gatherable: each column by row copies / the column fill, from 8 channels per group on;
     * below, rows mode reads the windows in place) */
    const int short_k = col_len <= EF_CONV_SHORT_MAX &&
                        (in_place || gatherable || opg >= EF_CONV_ROWS_MAX_OC);
    /* rows mode reads kw * fc contiguous bytes per window row: not with dilated columns */
    g.rows_mode = !short_k && scratch != 0 && groups == 1 && g.dw == 1 && row_vectors <= ((col_len + 15) >> 4) &&
                  opg < EF_CONV_ROWS_MAX_OC;
    if (g.rows_mode) {
        g.rows = g.kh;
        g.seg = g.kw * g.fc;
        g.row_step = g.dh * in->w * in->c;
    } else { /* one run: the flat column, or the input pixel of an unpadded 1x1 */
        g.rows = 1;
        g.seg = col_len;
        g.row_step = 0;
    }
    g.full = g.seg >> 4;
    g.rem = g.seg & 15;
    /* per-byte gather offsets and tap coordinates: of the whole window (short columns) or of a
     * window row (grouped windows; the two are exclusive) */
    uint8_t offs[EF_CONV_SHORT_MAX];
    uint8_t tap_y[EF_CONV_SHORT_MAX];
    uint8_t tap_x[EF_CONV_SHORT_MAX];
    uint8_t *goffs = offs;
    uint8_t *gtapx = tap_x;
    g.goffs = 0;
    g.gtapx = gtapx;
    /* windows gathered a row at a time: rows of <= 48 bytes, offsets and u8 lane coordinates (w,
     * padding below 120) in range; grouped layers, and ungrouped ones outside rows mode (a group
     * that is the whole input: gather_run_in and gather_window against copy_window's ~96 and the
     * column fill's ~300 instructions for a 3x3 window of 8 channels); short columns that the
     * whole-window gather cannot reach (k x 1 windows over wide rows) for their border windows */
    const int dilated = g.dh != 1 || g.dw != 1;
    const int rows_gather = short_k ? !in_place && !gatherable : (groups > 1 || !g.rows_mode);
    if (rows_gather && !dilated && g.kw * g.fc <= EF_CONV_SHORT_MAX &&
        (g.kw - 1) * in->c + g.fc <= 256 && in->w + g.kw < 120 && pw < 120) {
        for (int32_t e = 0; e < EF_CONV_SHORT_MAX; ++e) {
            const int32_t kx = e < g.kw * g.fc ? e / g.fc : 0;
            gtapx[e] = (uint8_t)kx;
            goffs[e] = e < g.kw * g.fc ? (uint8_t)(kx * in->c + e % g.fc) : 0;
        }
        g.goffs = goffs;
    }
    g.fill_dil = dilated ? fill_dil : 0;
    /* (the pair loop gathers the interior windows of a goffs layer itself; short columns keep their
     * interior row copies and gather only the border windows) */
    g.copy_win = !dilated && g.fc == in->c && (g.goffs == 0 || short_k);
    /* per chunk: effective biases and the raw sums of the pixels, padded to a multiple of 4 (the
     * last vector reads lanes that are computed or stale, never stored) */
    int32_t eff[EF_CONV_MVE_CHUNK + 4];
    /* raw sums, 4 words per channel (a block of 4 pixels; short columns of 3 vectors: 2 words) */
    int32_t acc[4 * (EF_CONV_MVE_CHUNK + 4)];
    int8_t spare[EF_CONV_MVE_CHUNK]; /* pixel b's outputs when the last pixel is alone */
    pair_runs run;
    run.full = g.full;
    run.rem = g.rem;
    run.col_len = col_len;
    run.rows = g.rows;
    const int32_t *mult = quant->multiplier;
    const int32_t *shift = quant->shift;
    const int32_t out_off = params->output_offset;
    const int32_t act_min = params->activation.min;
    const int32_t act_max = params->activation.max;
    rq_block q;
    q.eff = eff;
    q.out_c = out->c;
    q.out_off = out_off;
    q.act_min = act_min;
    q.act_max = act_max;
    q.words = 4;
    q.spare = spare;
    q.shifts = 2; /* 2: every shift < 0 (the asm store), else the general store */
    for (int32_t oc = 0; oc < out->c; ++oc) {
        if (shift[oc] >= 0) {
            q.shifts = 0;
        }
    }
    short_geom sg;
    short_block blk;
    int32_t safe = 0;
    if (short_k) {
        sg.g = &g;
        sg.scratch = scratch;
        sg.out = out;
        sg.sh = sh;
        sg.sw = sw;
        sg.ph = ph;
        sg.pw = pw;
        sg.col_len = col_len;
        sg.in_place = in_place;
        sg.gather = gatherable;
        /* each byte's offset from the window's first and its tap row and column (dilated) */
        const int32_t dh = g.dh;
        const int32_t dw = g.dw;
        for (int32_t e = 0; e < EF_CONV_SHORT_MAX; ++e) {
            const int32_t tap = e < col_len ? e / g.fc : 0;
            tap_y[e] = (uint8_t)(tap / g.kw * dh);
            tap_x[e] = (uint8_t)(tap % g.kw * dw);
            offs[e] = e < col_len ? (uint8_t)(tap_y[e] * in->w * in->c + tap_x[e] * in->c + e % g.fc) : 0;
        }
        sg.offs = offs;
        sg.tap_y = tap_y;
        sg.tap_x = tap_x;
        const int32_t vecs = (col_len + 15) >> 4;
        blk.rem = col_len - 16 * (vecs - 1);
        /* filters whose unpredicated read (16 * vecs bytes) stays inside the array */
        const int32_t safe_bytes = out->c * col_len - 16 * vecs;
        safe = safe_bytes < 0 ? 0 : safe_bytes / col_len + 1;
    }
    const int32_t chunk = EF_CONV_MVE_CHUNK; /* 4 words of sums per channel (blocks of 4 pixels) */
    const int32_t x_last = in->w - g.kw; /* the last interior ix0 (grouped windows: undilated) */
    for (int32_t b = 0; b < in->n; ++b) {
        g.b = b;
        int8_t *out_b = output + b * n_px * out->c;
        for (int32_t grp = 0; grp < groups; ++grp) {
            const int32_t c0 = grp * g.fc;
            for (int32_t cs = grp * opg; cs < (grp + 1) * opg; cs += chunk) {
                const int32_t nc = EF_MIN(chunk, (grp + 1) * opg - cs);
                effective_bias(eff, filter, bias, cs, nc, col_len, params->input_offset);
                q.mult = mult + cs;
                q.shift = shift + cs;
                q.nc = nc;
                if (short_k) {
                    blk.n = EF_MIN(nc, EF_MAX(0, safe - cs));
                    blk.n_end = nc - blk.n;
                    short_pixels(&sg, &blk, &q, filter + cs * col_len, c0, out_b + cs, acc);
                    continue;
                }
                int32_t oy = 0;
                int32_t ox = 0;
                /* blocks of 4 pixels (4 columns of scratch): two pair passes, one store (the
                 * requantization's per-channel terms loaded once for 4 pixels) */
                for (int32_t p = 0; p < n_px; p += 4) {
                    const int32_t m = EF_MIN(4, n_px - p);
                    const int8_t *px[4];
                    int32_t st[4];
                    for (int32_t i = 0; i < m;) {
                        const int32_t iy0 = oy * sh - ph;
                        const int32_t ix0 = ox * sw - pw;
                        if (g.goffs != 0 && iy0 >= 0 && iy0 + g.kh <= in->h && ix0 >= 0 && ix0 <= x_last) {
                            /* gathered windows: the run of interior ones on this output row, in one call */
                            const int32_t n =
                                EF_MIN(EF_MIN(m - i, out->w - ox), (x_last - ix0) / sw + 1);
                            gather_run_in(scratch + i * col_len, col_len,
                                          input + ((b * in->h + iy0) * in->w + ix0) * in->c + c0, sw * in->c, n, &g);
                            for (int32_t k = i + n; i < k; ++i) {
                                px[i] = scratch + i * col_len;
                                st[i] = col_len;
                            }
                            ox += n;
                        } else {
                            px[i] = pixel_runs(&g, scratch ? scratch + i * col_len : 0, iy0, ix0, c0, &st[i]);
                            ++i;
                            ++ox;
                        }
                        if (ox == out->w) {
                            ox = 0;
                            ++oy;
                        }
                    }
                    for (int32_t i = 0; i < m; i += 2) {
                        const int32_t j = i + 1 < m ? i + 1 : i; /* a lone last pixel: paired with itself */
                        run.a = px[i];
                        run.b = px[j];
                        run.sa = st[i] - 16 * g.full;
                        run.sb = st[j] - 16 * g.full;
                        const int8_t *f = filter + cs * col_len;
                        if (nc >= 2) {
                            run.pairs = nc >> 1;
                            f = dot_pairs(&run, f, acc + i);
                        }
                        if (nc & 1) { /* odd channel count: the last filter as a pair of itself */
                            run.col_len = 0;
                            run.pairs = 1;
                            (void)dot_pairs(&run, f, acc + 4 * (nc - 1) + i);
                            run.col_len = col_len;
                        }
                    }
                    store_short(&q, out_b + p * out->c + cs, acc, m);
                }
            }
        }
    }
}

void ef_nn_conv_2px_s8(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                       const int8_t *input, const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                       const ef_dims *out, int8_t *output, void *cols)
{
    conv_2px_mve(params, quant, in, input, filter_dims, filter, bias, out, output, cols, 0);
}

void ef_nn_conv_2px_dil_s8(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                           const int8_t *input, const ef_dims *filter_dims, const int8_t *filter,
                           const int32_t *bias, const ef_dims *out, int8_t *output, void *cols)
{
    conv_2px_mve(params, quant, in, input, filter_dims, filter, bias, out, output, cols, fill_column_dil);
}

#else
typedef int ef_nn_conv_2px_unused; /* ISO C: a translation unit needs a declaration */
#endif
