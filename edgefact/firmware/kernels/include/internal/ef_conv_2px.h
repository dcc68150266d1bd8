/*
 * The two-pixel convolution engine (internal), shared by ef_conv_s8 (any kernel, grouped) and
 * ef_conv_1x1_s8: src/ef_nn_conv_2px_s8.c, one function with a DSP body and an MVE body (no
 * portable body: the portable kernels loop over one pixel at a time). Arguments are checked by
 * the calling kernel.
 */
#ifndef EF_CONV_2PX_H
#define EF_CONV_2PX_H

#include "ef_nn_internal.h"

/* mult/shift are passed as plain pointers (not through the quant struct) so the int8 output
 * stores, which may alias anything, do not force reloads of the struct. */
static inline int8_t ef_conv_output(int32_t acc, const int32_t *bias, int32_t oc, const int32_t *mult,
                                    const int32_t *shift, int32_t out_off, int32_t act_min, int32_t act_max)
{
    if (bias != 0) {
        acc += bias[oc];
    }
    acc = ef_requantize(acc, mult[oc], shift[oc]) + out_off;
    return ef_clamp_to_s8(acc, act_min, act_max);
}

#if defined(EF_NN_USE_DSP)
/* ef_requantize's fast path (multiplier >= 0, shift <= -1; include/internal/ef_nn_internal.h),
 * with the per-channel terms e = -1 - shift and 2^e computed once for both pixels: bit-exact
 * with it. */
static inline int32_t ef_conv_rq_one(int32_t x, int32_t m, int32_t e, uint32_t pe)
{
    const int32_t h = (int32_t)(pe - ((uint32_t)x >> 31));
    const uint32_t lo = ((uint32_t)h << 31) | (1u << 30);
    const int64_t k = (int64_t)(((uint64_t)(uint32_t)(h >> 1) << 32) | lo);
    const int64_t n = k + (int64_t)x * m;
    return (int32_t)(n >> 32) >> e;
}

/* Whether every channel is on ef_requantize's fast path with 1 <= e = -1 - shift <= 22 (multiplier
 * >= 0, -23 <= shift <= -2; every conv of the MLPerf and zoo models: -12 to -2): a precondition of the DSP 2x2 paths
 * (ef_nn_conv_2px_s8, the flat path of ef_conv_s8), which requantize with ef_conv_rq_one or its
 * asm form in ef_nn_conv_pairs_2x2 and one SSAT; other layers take the portable body. */
static inline int ef_conv_rq_fast(const ef_per_channel_quant *quant, int32_t channels)
{
    for (int32_t oc = 0; oc < channels; ++oc) {
        if (quant->multiplier[oc] < 0 || quant->shift[oc] > -2 || quant->shift[oc] < -23) {
            return 0;
        }
    }
    return 1;
}

/* Requantize and store one 2x2 block (pixels A, B x channels oc, oc + 1) whose accumulators
 * already hold the biases: ef_conv_rq_one, the output offset and one SSAT (the activation clamp,
 * when narrower than int8, is a pass over the output afterwards: ef_nn_clamp_s8). */
static inline void ef_conv_store_2x2(int8_t *dsta, int8_t *dstb, int has_b, const int32_t acc[4], int32_t oc,
                                     const int32_t *qm, const int32_t *qs, int32_t out_off)
{
    const int32_t m0 = qm[oc];
    const int32_t e0 = -1 - qs[oc];
    const uint32_t p0 = 1u << e0;
    const int32_t m1 = qm[oc + 1];
    const int32_t e1 = -1 - qs[oc + 1];
    const uint32_t p1 = 1u << e1;
    dsta[oc] = (int8_t)__ssat(ef_conv_rq_one(acc[0], m0, e0, p0) + out_off, 8);
    dsta[oc + 1] = (int8_t)__ssat(ef_conv_rq_one(acc[1], m1, e1, p1) + out_off, 8);
    if (has_b) {
        dstb[oc] = (int8_t)__ssat(ef_conv_rq_one(acc[2], m0, e0, p0) + out_off, 8);
        dstb[oc + 1] = (int8_t)__ssat(ef_conv_rq_one(acc[3], m1, e1, p1) + out_off, 8);
    }
}

/* One pixel pair's run of channel pairs (ef_nn_conv_pairs_2x2). Per pair, tab holds 8 words
 * {bias0, bias1, m0, H0, e0, m1, H1, e1} (e = -1 - shift, 1 <= e <= 22, H = 2^(e - 1) + out_off
 * * 2^e), and 2 more words after the last pair (read, unused): the requantization of
 * ef_conv_rq_one plus the output offset is then hi(x * m + (H + (x >> 31)) * 2^32 + lo) >> e with
 * lo = (x & 2^31) | 2^30 (the same constant k; the offset term keeps |hi| < 2^31 for e <= 22:
 * bit-exact). The field order is the asm's LDM order. */
typedef struct {
    const void *col;    /* the two interleaved paired columns of ef_conv_dot_2px_2ch_adv */
    int32_t n;          /* bytes of each dot product, a multiple of 4, >= 4 */
    const int32_t *tab; /* 8 words per pair (above) */
    int8_t *dst;        /* pixel A's output of the first pair's channel; pixel B's at dst + doff */
    int32_t doff;
    int32_t pairs;      /* >= 1 */
    const int8_t *f0;   /* first pair's first filter; the pair's second at f0 + stride */
    int32_t stride;     /* bytes between filter rows (consecutive channels) */
} ef_conv_pairs_job;

/* Builds tab (ef_conv_pairs_job, 8 * pairs + 2 words) for channel pairs (oc, oc + 1) ... */
void ef_nn_conv_pairs_tab(int32_t *tab, const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t oc,
                          int32_t pairs, int32_t out_off);

/* For each channel pair of the job: the 2x2 dot over the columns (the loop of
 * ef_conv_dot_2px_2ch_adv, biases as the start), requantization and SSAT stores of the 4 outputs,
 * all in one asm function: ~52 instructions per pair besides the 15 per 4 column values, against
 * ~100 with the store in C (register spills around the asm loop). */
void ef_nn_conv_pairs_2x2(const ef_conv_pairs_job *job);

/* ef_conv_output, out of line (src/ef_nn_conv_2px_s8.c): the tails of the DSP paths. */
int8_t ef_nn_conv_output_any(int32_t acc, const int32_t *bias, int32_t oc, const int32_t *mult,
                             const int32_t *shift, int32_t out_off, int32_t act_min, int32_t act_max);

/* Both columns of a pixel pair (windows at (iya, ixa) and (iyb, ixb), input channels c0 ..
 * c0 + fc - 1, fc % 4 == 0) in one pass over the taps: per group of 4 values the words
 * [A02, A13, B02, B13] (+ the input offset pair off2); out-of-bounds taps are 0. */
void ef_nn_fill_columns_2px(uint32_t *dst, const int8_t *input, const ef_dims *in, int32_t b, int32_t iya,
                            int32_t ixa, int32_t iyb, int32_t ixb, int32_t kh, int32_t kw, int32_t c0, int32_t fc,
                            uint32_t off2);

/* The same with the taps dil apart (a dilated window's real taps). */
void ef_nn_fill_columns_2px_dil(uint32_t *dst, const int8_t *input, const ef_dims *in, int32_t b, int32_t iya,
                                int32_t ixa, int32_t iyb, int32_t ixb, int32_t kh, int32_t kw, int32_t c0, int32_t fc,
                                uint32_t off2, const ef_tile *dil);

/* One filter's dot products (n values, n % 4 == 0) with both columns of such a pair: ra, rb. */
void ef_nn_dot_2px_1ch(const uint32_t *col, const int8_t *f, int32_t n, int32_t *ra, int32_t *rb);

/* Clamps n int8 values in place to [lo, hi] (-128 <= lo <= hi <= 127), 4 per word with
 * SSUB8/SEL; clamp(ssat8(v)) = clamp(v), so this after an SSAT store is the activation. */
void ef_nn_clamp_s8(int8_t *p, int32_t n, int32_t lo, int32_t hi);
#endif

#if defined(EF_NN_USE_DSP) || defined(EF_NN_USE_MVE)
/* Two output pixels x two output channels per pass over im2col columns in `cols`:
 *  - DSP (filter depth % 4 == 0): two interleaved paired int16 columns, 4 * kh * kw * filter c
 *    bytes, 4-byte aligned (ef_conv_s8's scratch, or a stack buffer of ef_conv_1x1_s8);
 *  - MVE: two int8 columns (2 * kh * kw * filter c bytes), or NULL for an ungrouped 1x1 filter
 *    without padding (the input pixels are the columns, nothing is copied). */
void ef_nn_conv_2px_s8(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                       const int8_t *input, const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                       const ef_dims *out, int8_t *output, void *cols);
#endif
#if defined(EF_NN_USE_MVE)
/* The same for a dilated layer (ef_conv_dilated_s8): with the dilated window builder, which only
 * firmware with a dilated convolution links (ef_nn_conv_2px_s8 is for dilation 1 on MVE). */
void ef_nn_conv_2px_dil_s8(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                           const int8_t *input, const ef_dims *filter_dims, const int8_t *filter,
                           const int32_t *bias, const ef_dims *out, int8_t *output, void *cols);
#endif

#if defined(EF_NN_USE_DSP)
/* Two output pixels x two output channels per pass over two interleaved paired columns
 * ([A02, A13, B02, B13] per group of 4 values): each filter word is sign-extended once for both
 * pixels and each column word is used by both channels, so 16 MACs cost 8 SMLAD, 4 extends and
 * 2 LDRD + 2 LDR (CMSIS-NN-style 2x2 blocking, written here from scratch). acc: [A0, A1, B0, B1]. */
/* The flat-column path (conv_dsp_flat in src/ef_conv_s8.c) writes the column as int16 and reads
 * it here as words: may_alias keeps that well defined under strict aliasing. */
typedef uint32_t ef_col_word __attribute__((may_alias));

/* One group of 4 column values (2 pixels x 2 channels, 16 MACs): LDM of the 4 column words,
 * one LDR per filter, 4 SXTB16, 8 SMLAD. */
#define EF_CONV_2X2_GROUP                                   \
    "ldmia.w  %[col]!, {r0, r1, r2, r3}\n\t"                \
    "ldr.w    r4, [%[f0]], #4\n\t"                          \
    "sxtb16   r5, r4\n\t"                                   \
    "smlad    %[a0], r0, r5, %[a0]\n\t"                     \
    "smlad    %[b0], r2, r5, %[b0]\n\t"                     \
    "sxtb16   r4, r4, ror #8\n\t"                           \
    "smlad    %[a0], r1, r4, %[a0]\n\t"                     \
    "smlad    %[b0], r3, r4, %[b0]\n\t"                     \
    "ldr.w    r4, [%[f1]], #4\n\t"                          \
    "sxtb16   r5, r4\n\t"                                   \
    "smlad    %[a1], r0, r5, %[a1]\n\t"                     \
    "smlad    %[b1], r2, r5, %[b1]\n\t"                     \
    "sxtb16   r4, r4, ror #8\n\t"                           \
    "smlad    %[a1], r1, r4, %[a1]\n\t"                     \
    "smlad    %[b1], r3, r4, %[b1]\n\t"

/* Hand-scheduled in one asm statement: the loop needs 4 accumulators, 4 column words, a filter
 * word and its extension and 3 pointers (13 registers; GCC, left to itself, spilled the loop bound
 * and took 19 instructions per 16 MACs). The loop count lives in memory (one LDR/SUBS/STR per 4
 * groups). 15 instructions per 16 MACs plus 1 per 4 groups.
 * The column words are r0-r3 for the LDM (ascending registers = ascending addresses). n % 4 == 0;
 * the accumulators start at acc[] (e.g. the biases); f0 and f1 advance by n (the next channel
 * pair starts where f1 ends). */
static inline __attribute__((always_inline)) void ef_conv_dot_2px_2ch_adv(const ef_col_word *col,
                                                                          const int8_t **pf0, const int8_t **pf1,
                                                                          int32_t n, int32_t acc[4])
{
#if !defined(__OPTIMIZE__)
    /* -O0 keeps every variable in memory and has no 13 registers to give the asm: plain C */
    uint32_t a0 = (uint32_t)acc[0];
    uint32_t a1 = (uint32_t)acc[1];
    uint32_t b0 = (uint32_t)acc[2];
    uint32_t b1 = (uint32_t)acc[3];
    const int8_t *f0 = *pf0;
    const int8_t *f1 = *pf1;
    for (int32_t i = n >> 2; i > 0; --i) {
        uint32_t w = ef_read_u32(f0);
        uint32_t we = __sxtb16(w);
        a0 = __smlad(col[0], we, a0);
        b0 = __smlad(col[2], we, b0);
        we = ef_sxtb16_ror8(w);
        a0 = __smlad(col[1], we, a0);
        b0 = __smlad(col[3], we, b0);
        w = ef_read_u32(f1);
        we = __sxtb16(w);
        a1 = __smlad(col[0], we, a1);
        b1 = __smlad(col[2], we, b1);
        we = ef_sxtb16_ror8(w);
        a1 = __smlad(col[1], we, a1);
        b1 = __smlad(col[3], we, b1);
        col += 4;
        f0 += 4;
        f1 += 4;
    }
#else
    /* every operand in a fixed register (not r7, the Thumb frame pointer): left to choose, GCC's
     * allocator failed to find 13 registers in some callers ("impossible constraints") */
    register uint32_t a0 __asm__("r6") = (uint32_t)acc[0];
    register uint32_t a1 __asm__("r8") = (uint32_t)acc[1];
    register uint32_t b0 __asm__("r9") = (uint32_t)acc[2];
    register uint32_t b1 __asm__("r10") = (uint32_t)acc[3];
    register const ef_col_word *c __asm__("r11") = col;
    register const int8_t *f0 __asm__("r12") = *pf0;
    register const int8_t *f1 __asm__("lr") = *pf1;
    /* groups = n / 4: bits 0-1 the leftover groups, the rest the count of 4-group passes */
    uint32_t ctl = (uint32_t)n >> 2;
    /* Four groups per pass; the groups % 4 leftovers run as a first, partial pass entered in
     * the middle of the unrolled body (each group is 15 32-bit instructions, 60 bytes). */
    __asm__ volatile(
        "ldr    r5, %[q]\n\t"
        "ands   r4, r5, #3\n\t"
        "lsr    r5, r5, #2\n\t" /* passes of 4 (LSR without S keeps the Z of the ANDS) */
        "beq    0f\n\t"
        "add    r5, r5, #1\n\t" /* the partial pass */
        "str    r5, %[q]\n\t"
        "rsb    r4, r4, #4\n\t" /* groups to skip: 4 - leftovers */
        "adr.w  r5, 3f + 1\n\t"  /* + 1: Thumb state for BX */
        "movs   r0, #60\n\t"
        "mla    r5, r4, r0, r5\n\t"
        "bx     r5\n\t"
        "0:\n\t"
        "str    r5, %[q]\n\t"
        "cmp    r5, #0\n\t"
        "beq    4f\n\t"
        "3:\n\t"
        EF_CONV_2X2_GROUP
        EF_CONV_2X2_GROUP
        EF_CONV_2X2_GROUP
        EF_CONV_2X2_GROUP
        "ldr    r5, %[q]\n\t"
        "subs   r5, r5, #1\n\t"
        "str    r5, %[q]\n\t"
        "bne    3b\n\t"
        "4:\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [col] "+r"(c), [f0] "+r"(f0),
          [f1] "+r"(f1), [q] "+m"(ctl)
        :
        : "r0", "r1", "r2", "r3", "r4", "r5", "cc", "memory");
#endif
    *pf0 = f0;
    *pf1 = f1;
    acc[0] = (int32_t)a0;
    acc[1] = (int32_t)a1;
    acc[2] = (int32_t)b0;
    acc[3] = (int32_t)b1;
}

static inline void ef_conv_dot_2px_2ch(const ef_col_word *col, const int8_t *f0, const int8_t *f1, int32_t n,
                                       int32_t acc[4])
{
    acc[0] = acc[1] = acc[2] = acc[3] = 0;
    ef_conv_dot_2px_2ch_adv(col, &f0, &f1, n, acc);
}

#endif

#endif /* EF_CONV_2PX_H */
