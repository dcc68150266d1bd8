/* DEPTHWISE_CONV_2D, 3x3, pixel by pixel over groups of 4 output channels: depth multiplier 1
 * (ef_depthwise_conv_3x3_px_s8), a multiple of 4 (ef_depthwise_conv_3x3_px_mult_s8) or any other
 * multiplier >= 2 (ef_depthwise_conv_3x3_px_mult_any_s8). The
 * generator's choice on M4/M7/M33 where the ring of ef_depthwise_conv_3x3_s8 is slow: stride 2 (the
 * ring widens 4 input values per output there) and small maps (its per-line and per-channel set-up
 * dominates a 7x7 or 12x12 layer); for the multipliers it takes, everywhere (the multiplier ring
 * widens each input line once per multiplier index). A dilated 3x3 (ef_depthwise_conv_3x3_px_dilated_s8)
 * runs the multiplier-1 plan phase by phase, each phase a 3x3 layer on its input lattice (the
 * pixel and row steps of the asm loops are the lattice's: no new loop). DSP body (M4/M7/M33) and
 * portable body. */
#include "internal/ef_dw_check.h"
#include "internal/ef_dw_phase.h"

#include <string.h>

/* A filter's 3 x 3 real taps: the dilation between them (in input pixels) and their byte steps in
 * the filter (a 3 x 3 filter: dilation 1, steps 3 OC and OC; a zero-inserted dilated one of
 * (2 dh + 1) x (2 dw + 1) taps: dh (2 dw + 1) OC and dw OC, its other taps never read). */
typedef struct {
    int32_t dh;
    int32_t dw;
    int32_t fy;
    int32_t fx;
} dwp_taps;

/* The output pixels one pass covers, as a layer of its own: the whole layer, or one phase of a
 * dilated one (ef_depthwise_conv_3x3_px_dilated_s8: the outputs (ry + dh j, rx + dw i) read only
 * the input rows and columns of one residue, a 3 x 3 layer of stride 1 on that sub-lattice). */
typedef struct {
    int32_t h;     /* the input lattice's rows and columns */
    int32_t w;
    int32_t oh;    /* its output rows and columns */
    int32_t ow;
    int32_t pad_h; /* padding before the first input, and the strides, in lattice steps */
    int32_t pad_w;
    int32_t sh;
    int32_t sw;
    int32_t px;    /* input bytes between neighbouring lattice pixels: along a row, between rows */
    int32_t row;
    int32_t opx;   /* the same for the outputs */
    int32_t orow;
    int32_t in0;   /* byte offsets of the lattice's first input and output pixel in the image */
    int32_t out0;
    int32_t oy0;   /* the layer's output (oy0 + ody j, ox0 + odx i) is the lattice's output (j, i) */
    int32_t ox0;
    int32_t ody;
    int32_t odx;
} dwp_lattice;

#if defined(EF_NN_USE_DSP)
#include "internal/ef_conv_2px.h" /* ef_nn_clamp_s8 */

/*
 * DSP body: channels in groups of 4, the group loop outermost so that the group's constants are
 * set up once: the 9 taps' weights widened into halfword pairs (w0, w2) / (w1, w3) (SXTB16 of the
 * filter word) and doubled, the bias with the input offset's term in_off * sum(w) folded in (the
 * inputs of a window then need no offset) and doubled, and the requantization constants per
 * channel (DWP_OUT). A run of output pixels is one asm loop (registers fixed, a naked function per
 * window shape); per pixel and tap one LDR of the 4 input bytes, SXTB16 twice (channels 0 / 2 and
 * 1 / 3 as halfword pairs), one LDRD of the weight pairs and 4 SMLABB / SMLATT (8 instructions per
 * 4 MACs), then per channel the 3-instruction requantization of the doubled accumulator (with its
 * two constant loads), SSAT, STRB: 110 instructions per 36 MACs with the loop. A border pixel whose window keeps 2 or 3 rows and
 * columns inside the input runs the loop of that shape (2 x 3, 3 x 2, 2 x 2) over just those taps,
 * with the bias of their offset terms (one small block per group and window shape), so padding
 * costs fewer instructions than the interior; no lines are copied and nothing is spent per line:
 * the rate is the same on a 7x7 map as on a 48x48 one, at stride 1 or 2. A group whose channels
 * are not all on the fast requantization (ef_rq_chan_ok) or within DWP_BIAS_MAX, every group of a
 * layer whose input offset is outside [-128, 128], the last group of fewer than 4 channels and
 * windows with a single row or column inside the input run the scalar loop; a narrower
 * activation than int8 is one ef_nn_clamp_s8 pass over the output afterwards.
 * A depth multiplier M that is a multiple of 4 (a dictionary factorization's atoms): the 4 output
 * channels of a group read one input channel, so a window row's first two taps are one halfword
 * pair of that input against each channel's weight pair (SMLAD) and a third tap one LDRSB against
 * the pairs above (DWPM_PAIR / DWPM_THIRD: 15 instructions per 12 MACs where multiplier 1 takes
 * 24), and the output steps by the output's channel count (a word of the block) instead of the
 * input's.
 * Any other multiplier M >= 2 (2, 3, 5, 6: a dictionary's atom counts, Tucker ranks): a group's 4
 * outputs read at most two neighbouring input channels a, b = a + 1, the first M (a + 1) - c of
 * them a (all four: the loops above). Per window row the first two taps of both channels are two
 * LDRH of the byte pairs (a, b), PKHBT and SXTB16 / SXTB16 ROR 8: the halfword pairs (a0, a1) and
 * (b0, b1), each channel's SMLAD against the pair of its input; the third tap one LDRH, SXTB16 and
 * SXTB16 ROR 8 (a2 and b2 as low halfwords), each channel's SMLABB / SMLABT taking its input's
 * (DWPX_PAIR / DWPX_THIRD): 19 instructions per 12 MACs. The three ways a group splits (3 + 1,
 * 2 + 2, 1 + 3) are three sets of loops, one per split and window shape.
 */

/* A block (words), per group and region of output pixels with one window shape: the biases with
 * the offset terms of the window's taps, per channel j khi, mult, e at DWP_RQ + 3j; the input step
 * from a window's last row to the next window (DWP_DELTA); the end of the current output row and
 * of the region (dst); from a row's end to the next row's first window and output; the output row
 * step. */
#define DWP_RQ 4
#define DWP_DELTA 16
#define DWP_ROWEND 17
#define DWP_END 18
#define DWP_RSTEP_IN 19
#define DWP_RSTEP_OUT 20
#define DWP_OROW 21
#define DWP_OSTEP 22 /* output bytes between two pixels (the multiplier loops; C in r2 otherwise) */
#define DWP_WORDS 23

/* A run (dwp_run*'s argument, read with one LDM): the first window's top-left tap inside the
 * input, the first output, the pixel and row steps, the weight pairs of that tap in the group's
 * 3 x 3 table (tap (r, c) of the window 24 r + 8 c bytes on), the block. */
typedef struct {
    const int8_t *p;
    int8_t *dst;
    int32_t C;
    int32_t row;
    const uint32_t *w;
    const uint32_t *k;
} dwp_job;

/* Registers: r0 p, r1 dst, r2 C, r3 row, r4-r7 the accumulators of channels 0-3, r8-r11
 * temporaries, r12 the weights, lr the block. One tap at addr, weights of window tap (r, c). */
#define DWP_TAP(addr, r, c)                                 \
    "ldr      r8, " addr "\n\t"                             \
    "ldrd     r10, r11, [r12, #24*" #r "+8*" #c "]\n\t"     \
    "sxtb16   r9, r8\n\t"                                   \
    "sxtb16   r8, r8, ror #8\n\t"                           \
    "smlabb   r4, r9, r10, r4\n\t"                          \
    "smlatt   r6, r9, r10, r6\n\t"                          \
    "smlabb   r5, r8, r11, r5\n\t"                          \
    "smlatt   r7, r8, r11, r7\n\t"

#define DWP_ROW3(r) DWP_TAP("[r0]", r, 0) DWP_TAP("[r0, r2]", r, 1) DWP_TAP("[r0, r2, lsl #1]", r, 2)
#define DWP_ROW2(r) DWP_TAP("[r0]", r, 0) DWP_TAP("[r0, r2]", r, 1)

/* A window row of a multiplier group, whose 4 output channels read one input channel: the row's
 * first two taps inside the input as one halfword pair (x0, x1) (2 LDRSB, PKHBT) against each
 * channel's weight pair (w0, w1) (2 LDRD, 4 SMLAD), a third tap (LDRSB: its low halfword is the
 * value) against the pairs (w_c0, w_c2) / (w_c1, w_c3) (LDRD, SMLABB / SMLABT x 4): 15
 * instructions per 12 MACs. The group's table has 10 words per filter row (DWPM_ROW_WORDS): the
 * pairs of taps 0-1, the third-tap pairs of tap 2, the pairs of taps 1-2 (a window whose first
 * column is padding reads those from its first tap on; it has no third tap). */
#define DWPM_PAIR(r)                                        \
    "ldrsb    r8, [r0]\n\t"                                 \
    "ldrsb    r9, [r0, r2]\n\t"                             \
    "ldrd     r10, r11, [r12, #40*" #r "]\n\t"              \
    "pkhbt    r8, r8, r9, lsl #16\n\t"                      \
    "smlad    r4, r8, r10, r4\n\t"                          \
    "smlad    r5, r8, r11, r5\n\t"                          \
    "ldrd     r10, r11, [r12, #40*" #r "+8]\n\t"            \
    "smlad    r6, r8, r10, r6\n\t"                          \
    "smlad    r7, r8, r11, r7\n\t"
#define DWPM_THIRD(r)                                       \
    "ldrsb    r8, [r0, r2, lsl #1]\n\t"                     \
    "ldrd     r10, r11, [r12, #40*" #r "+16]\n\t"           \
    "smlabb   r4, r8, r10, r4\n\t"                          \
    "smlabt   r6, r8, r10, r6\n\t"                          \
    "smlabb   r5, r8, r11, r5\n\t"                          \
    "smlabt   r7, r8, r11, r7\n\t"
#define DWPM_ROW_WORDS 10 /* the 40 of DWPM_PAIR / DWPM_THIRD's offsets, in words */

#define DWPM_ROW3(r) DWPM_PAIR(r) DWPM_THIRD(r)
#define DWPM_ROW2(r) DWPM_PAIR(r)

/* A window row of a group whose channels j read input a (s_j "r9") or b = a + 1 (s_j "r8"), the
 * row's first tap at [r0] on channel a: the pairs (a0, a1) in r9 and (b0, b1) in r8 from the byte
 * pairs (a, b) of taps 0 and 1 (LDRH x 2, PKHBT: bytes a0 b0 a1 b1; SXTB16 and SXTB16 ROR 8), the
 * third tap's a2 and b2 as the low halfwords of r9 and r8 (LDRH, SXTB16, SXTB16 ROR 8); the same
 * table as DWPM_PAIR / DWPM_THIRD. */
#define DWPX_PAIR(r, s0, s1, s2, s3)                        \
    "ldrh     r8, [r0]\n\t"                                 \
    "ldrh     r9, [r0, r2]\n\t"                             \
    "ldrd     r10, r11, [r12, #40*" #r "]\n\t"              \
    "pkhbt    r8, r8, r9, lsl #16\n\t"                      \
    "sxtb16   r9, r8\n\t"                                   \
    "sxtb16   r8, r8, ror #8\n\t"                           \
    "smlad    r4, " s0 ", r10, r4\n\t"                      \
    "smlad    r5, " s1 ", r11, r5\n\t"                      \
    "ldrd     r10, r11, [r12, #40*" #r "+8]\n\t"            \
    "smlad    r6, " s2 ", r10, r6\n\t"                      \
    "smlad    r7, " s3 ", r11, r7\n\t"
#define DWPX_THIRD(r, s0, s1, s2, s3)                       \
    "ldrh     r8, [r0, r2, lsl #1]\n\t"                     \
    "ldrd     r10, r11, [r12, #40*" #r "+16]\n\t"           \
    "sxtb16   r9, r8\n\t"                                   \
    "sxtb16   r8, r8, ror #8\n\t"                           \
    "smlabb   r4, " s0 ", r10, r4\n\t"                      \
    "smlabt   r6, " s2 ", r10, r6\n\t"                      \
    "smlabb   r5, " s1 ", r11, r5\n\t"                      \
    "smlabt   r7, " s3 ", r11, r7\n\t"

/* The three splits of a group: 3 + 1, 2 + 2, 1 + 3 outputs of a and b. */
#define DWPX_31 "r9", "r9", "r9", "r8"
#define DWPX_22 "r9", "r9", "r8", "r8"
#define DWPX_13 "r9", "r8", "r8", "r8"
#define DWPX_PAIR_(...) DWPX_PAIR(__VA_ARGS__) /* expands a split's register list into the arguments */
#define DWPX_THIRD_(...) DWPX_THIRD(__VA_ARGS__)
#define DWPX_ROW2_31(r) DWPX_PAIR_(r, DWPX_31)
#define DWPX_ROW2_22(r) DWPX_PAIR_(r, DWPX_22)
#define DWPX_ROW2_13(r) DWPX_PAIR_(r, DWPX_13)
#define DWPX_ROW3_31(r) DWPX_PAIR_(r, DWPX_31) DWPX_THIRD_(r, DWPX_31)
#define DWPX_ROW3_22(r) DWPX_PAIR_(r, DWPX_22) DWPX_THIRD_(r, DWPX_22)
#define DWPX_ROW3_13(r) DWPX_PAIR_(r, DWPX_13) DWPX_THIRD_(r, DWPX_13)
#define DWP_NEXT "add      r0, r0, r3\n\t"

/* The requantization of accumulator a = 2 * acc (channel j, constants at word DWP_RQ + 3 j = 4 + 3 j:
 * K = 2^(r-1) + output_offset * 2^r, the multiplier m, r = -shift), SSAT, stored at dst[j]:
 *   ADD    t, K, a, ASR #31      (K - [acc < 0])
 *   SMMLAR t, a, m, t            (t + floor((a * m + 2^31) / 2^32) = t + floor((acc * m + 2^30) / 2^31))
 *   ASR    t, t, r
 * = floor((floor((acc * m + 2^30) / 2^31) + 2^(r-1) - [acc < 0]) / 2^r) + output_offset, which is
 * ef_rq_chan_apply's value (ef_requantize's fast path plus the offset; ef_conv_first_c12_s8 uses
 * the same form): 7 instructions with the two constant loads against 9. Exact while every term
 * stays inside int32: |2 * acc| < 2^30, which DWP_BIAS_MAX guarantees for any input and weights. */
#define DWP_OUT(a, j)                                       \
    "ldrd     r10, r11, [lr, #16+12*" #j "]\n\t"            \
    "add      r8, r10, " a ", asr #31\n\t"                  \
    "smmlar   r8, " a ", r11, r8\n\t"                       \
    "ldr      r10, [lr, #24+12*" #j "]\n\t"                 \
    "asr      r8, r8, r10\n\t"                              \
    "ssat     r8, #8, r8\n\t"                               \
    "strb     r8, [r1, #" #j "]\n\t"

/* The largest |bias| of a group on the asm loops: with |x| <= 128 per tap, |w| <= 128, |input
 * offset| <= 128 and 9 taps, |acc| <= |bias| + 2 * 128 * 9 * 128 < 2^29 (|2 * acc| < 2^30, DWP_OUT's
 * bound); a larger bias (none seen in a real model) sends its group to the scalar loop. */
#define DWP_BIAS_MAX ((1 << 29) - 2 * 128 * 9 * 128 - 1)

/* The output pixels of a region, row by row: job->dst, + C (ostep), ... up to k[DWP_ROWEND], then
 * the next row, up to k[DWP_END] (each row at least one pixel). */
#define DWP_OSTEP_C "add      r1, r1, r2\n\t"
#define DWP_OSTEP_K "ldr      r8, [lr, #88]\n\t" "add      r1, r1, r8\n\t"
#define DWP_RUN_FN(name, taps, ostep)                                           \
    __attribute__((naked, noinline)) static void name(const dwp_job *job)       \
    {                                                                           \
        (void)job;                                                              \
        __asm__ volatile("push     {r4-r11, lr}\n\t"                            \
                         "ldm      r0, {r0, r1, r2, r3, r12, lr}\n\t"           \
                         "1:\n\t"                                               \
                         "ldm      lr, {r4, r5, r6, r7}\n\t"                    \
                         taps                                                   \
                         DWP_OUT("r4", 0) DWP_OUT("r5", 1) DWP_OUT("r6", 2) DWP_OUT("r7", 3) \
                         "ldr      r8, [lr, #64]\n\t"                           \
                         "add      r0, r0, r8\n\t"                              \
                         ostep                                                  \
                         "ldr      r8, [lr, #68]\n\t"                           \
                         "cmp      r1, r8\n\t"                                  \
                         "bne      1b\n\t"                                      \
                         "ldr      r9, [lr, #72]\n\t"                           \
                         "cmp      r1, r9\n\t"                                  \
                         "beq      2f\n\t"                                      \
                         "ldrd     r9, r10, [lr, #76]\n\t"                      \
                         "add      r0, r0, r9\n\t"                              \
                         "add      r1, r1, r10\n\t"                             \
                         "ldr      r9, [lr, #84]\n\t"                           \
                         "add      r8, r8, r9\n\t"                              \
                         "str      r8, [lr, #68]\n\t"                           \
                         "b        1b\n\t"                                      \
                         "2:\n\t"                                               \
                         "pop      {r4-r11, pc}\n\t"                            \
                         ::: "memory");                                         \
    }

#if DWP_RQ != 4 || DWP_DELTA != 16 || DWP_ROWEND != 17 || DWP_END != 18 || DWP_RSTEP_IN != 19 || \
    DWP_RSTEP_OUT != 20 || DWP_OROW != 21 || DWP_OSTEP != 22
#error "DWP_OUT / DWP_RUN_FN assume the block layout above"
#endif

DWP_RUN_FN(dwp_run33, DWP_ROW3(0) DWP_NEXT DWP_ROW3(1) DWP_NEXT DWP_ROW3(2), DWP_OSTEP_C)
DWP_RUN_FN(dwp_run23, DWP_ROW3(0) DWP_NEXT DWP_ROW3(1), DWP_OSTEP_C)
DWP_RUN_FN(dwp_run32, DWP_ROW2(0) DWP_NEXT DWP_ROW2(1) DWP_NEXT DWP_ROW2(2), DWP_OSTEP_C)
DWP_RUN_FN(dwp_run22, DWP_ROW2(0) DWP_NEXT DWP_ROW2(1), DWP_OSTEP_C)
DWP_RUN_FN(dwpm_run33, DWPM_ROW3(0) DWP_NEXT DWPM_ROW3(1) DWP_NEXT DWPM_ROW3(2), DWP_OSTEP_K)
DWP_RUN_FN(dwpm_run23, DWPM_ROW3(0) DWP_NEXT DWPM_ROW3(1), DWP_OSTEP_K)
DWP_RUN_FN(dwpm_run32, DWPM_ROW2(0) DWP_NEXT DWPM_ROW2(1) DWP_NEXT DWPM_ROW2(2), DWP_OSTEP_K)
DWP_RUN_FN(dwpm_run22, DWPM_ROW2(0) DWP_NEXT DWPM_ROW2(1), DWP_OSTEP_K)
/* the splits' loops: 3 x 3, 2 x 3, 3 x 2 and 2 x 2 windows per split */
#define DWPX_RUN_FNS(sp)                                                                                      \
    DWP_RUN_FN(dwpx_run33_##sp, DWPX_ROW3_##sp(0) DWP_NEXT DWPX_ROW3_##sp(1) DWP_NEXT DWPX_ROW3_##sp(2), DWP_OSTEP_K) \
    DWP_RUN_FN(dwpx_run23_##sp, DWPX_ROW3_##sp(0) DWP_NEXT DWPX_ROW3_##sp(1), DWP_OSTEP_K)                         \
    DWP_RUN_FN(dwpx_run32_##sp, DWPX_ROW2_##sp(0) DWP_NEXT DWPX_ROW2_##sp(1) DWP_NEXT DWPX_ROW2_##sp(2), DWP_OSTEP_K) \
    DWP_RUN_FN(dwpx_run22_##sp, DWPX_ROW2_##sp(0) DWP_NEXT DWPX_ROW2_##sp(1), DWP_OSTEP_K)
DWPX_RUN_FNS(31)
DWPX_RUN_FNS(22)
DWPX_RUN_FNS(13)

/* The group's constants: per tap the weight pairs (multiplier 1), or per filter row the tap-pair
 * table of DWPM_PAIR / DWPM_THIRD (a multiplier group); per window shape (3 row kind + column
 * kind, dwp_kind) the biases with the offset terms of its taps. */
typedef struct {
    uint32_t w[18];
    uint32_t wm[3 * DWPM_ROW_WORDS];
    int32_t fb[9][4];
} dwp_group;

/* Channel j's weights of taps a, b as one halfword pair (w_a, w_b), j = 0..3, from the taps'
 * (c0, c2) / (c1, c3) pairs wa, wb (PKHBT / PKHTB). */
static inline void dwpm_pairs(uint32_t *dst, const uint32_t *wa, const uint32_t *wb)
{
    dst[0] = (wa[0] & 0xFFFFu) | (wb[0] << 16);
    dst[1] = (wa[1] & 0xFFFFu) | (wb[1] << 16);
    dst[2] = (wa[0] >> 16) | (wb[0] & 0xFFFF0000u);
    dst[3] = (wa[1] >> 16) | (wb[1] & 0xFFFF0000u);
}

/* The group's constants (pairs: also the multiplier table), its requantization constants into
 * the block k; 0 when one of channels c..c + 3 is not on the fast requantization or its bias is
 * beyond DWP_BIAS_MAX (the input offset is checked once per layer, in dwp_entry). */
static inline __attribute__((always_inline)) int dwp_group_of(dwp_group *g, uint32_t *k, const int8_t *filter,
                                                              const dwp_taps *t, int32_t c,
                                                              const ef_per_channel_quant *quant,
                                                              const int32_t *bias, int32_t in_off, int32_t out_off,
                                                              const int pairs)
{
    for (int32_t j = 0; j < 4; ++j) {
        const int32_t bj = bias != 0 ? bias[c + j] : 0;
        if (!ef_rq_chan_ok(quant->multiplier[c + j], quant->shift[c + j]) || bj > DWP_BIAS_MAX || bj < -DWP_BIAS_MAX) {
            return 0;
        }
    }
    for (int32_t j = 0; j < 4; ++j) {
        const int32_t r = -quant->shift[c + j]; /* 2..23 */
        k[DWP_RQ + 3 * j] = (uint32_t)((1 << (r - 1)) + out_off * (1 << r));
        k[DWP_RQ + 3 * j + 1] = (uint32_t)quant->multiplier[c + j];
        k[DWP_RQ + 3 * j + 2] = (uint32_t)r;
    }
    /* per filter row and column span (0-2, 1-2, 0-1) the sums of the (doubled) weight pairs (|sum|
     * <= 2 * 9 * 128 for any window: no halfword overflow) */
    uint32_t rs[3][3][2];
    for (int32_t ky = 0; ky < 3; ++ky) {
        const int8_t *f = filter + ky * t->fy + c;
        uint32_t *w = g->w + 6 * ky;
        for (int32_t kx = 0; kx < 3; ++kx) {
            const uint32_t v = ef_read_u32(f + kx * t->fx);
            const uint32_t lo = __sxtb16(v);
            const uint32_t hi = ef_sxtb16_ror8(v);
            w[2 * kx] = __sadd16(lo, lo); /* doubled: the accumulators hold 2 * acc (DWP_OUT) */
            w[2 * kx + 1] = __sadd16(hi, hi);
        }
        if (pairs) { /* the multiplier table (DWPM_PAIR / DWPM_THIRD) */
            uint32_t *wm = g->wm + DWPM_ROW_WORDS * ky;
            dwpm_pairs(wm, w, w + 2);
            wm[4] = w[4];
            wm[5] = w[5];
            dwpm_pairs(wm + 6, w + 2, w + 4);
        }
        for (int32_t h = 0; h < 2; ++h) {
            rs[ky][1][h] = __sadd16(w[2 + h], w[4 + h]);
            rs[ky][2][h] = __sadd16(w[2 + h], w[h]);
            rs[ky][0][h] = __sadd16(rs[ky][1][h], w[h]);
        }
    }
    const int32_t b0 = bias != 0 ? 2 * bias[c] : 0;
    const int32_t b1 = bias != 0 ? 2 * bias[c + 1] : 0;
    const int32_t b2 = bias != 0 ? 2 * bias[c + 2] : 0;
    const int32_t b3 = bias != 0 ? 2 * bias[c + 3] : 0;
    for (int32_t cx = 0; cx < 3; ++cx) {
        for (int32_t ry = 0; ry < 3; ++ry) {
            /* row kinds: all three rows, the last two, the first two */
            const uint32_t mid02 = rs[1][cx][0];
            const uint32_t mid13 = rs[1][cx][1];
            const uint32_t s02 = ry == 0 ? __sadd16(__sadd16(mid02, rs[0][cx][0]), rs[2][cx][0])
                                         : __sadd16(mid02, rs[ry == 1 ? 2 : 0][cx][0]);
            const uint32_t s13 = ry == 0 ? __sadd16(__sadd16(mid13, rs[0][cx][1]), rs[2][cx][1])
                                         : __sadd16(mid13, rs[ry == 1 ? 2 : 0][cx][1]);
            /* 2 * (bias + in_off * sum): |bias| <= DWP_BIAS_MAX, |in_off| <= 128, no wrap */
            int32_t *fb = g->fb[3 * ry + cx];
            fb[0] = __smlabb(in_off, (int32_t)s02, b0);
            fb[1] = __smlabb(in_off, (int32_t)s13, b1);
            fb[2] = __smlabt(in_off, (int32_t)s02, b2);
            fb[3] = __smlabt(in_off, (int32_t)s13, b3);
        }
    }
    return 1;
}

/* The filter taps k0..k1 - 1 (rows or columns) a window starting at input i of n reads. */
typedef struct {
    int32_t k0;
    int32_t k1;
} dwp_span;

static inline dwp_span dwp_span_of(int32_t i, int32_t n)
{
    const dwp_span s = {EF_MAX(0, -i), EF_MIN(3, n - i)};
    return s;
}

/* Shape index of a span: 0 all three taps, 1 the last two (window over the start), 2 the first
 * two (over the end), 3 anything else (the scalar loop). */
static inline int dwp_kind(dwp_span s)
{
    return s.k0 == 0 && s.k1 == 3 ? 0 : s.k0 == 1 && s.k1 == 3 ? 1 : s.k0 == 0 && s.k1 == 2 ? 2 : 3;
}

/* A run of output columns (rows) with one window shape: the first, the count, the filter taps
 * read and the shape's kind. */
typedef struct {
    int32_t o0;
    int32_t n;
    dwp_span s;
    int kind;
} dwp_line_run;

#define DWP_MAX_RUNS 5 /* the shapes come in this order: 3*, 1?, 0*, 2?, 3* */

/* A region of output pixels with one window shape (a row run x a column run, both of kinds 0-2),
 * for any group: byte offsets from the image / output base of the first window's first tap and
 * the first output, the block's step words (DWP_DELTA.. DWP_RSTEP_OUT; the two ends as offsets
 * from the output base), the first tap's weights (word offset into the group's table) and the
 * window shape (3 row kind + column kind: the run function and the biases). */
typedef struct {
    int32_t in_off;
    int32_t out_off;
    int32_t delta;
    int32_t rowend;
    int32_t end;
    int32_t rstep_in;
    int32_t rstep_out;
    int32_t w_off;
    int32_t fn;
} dwp_region;

/* A pass's lattice, runs and regions (the pixels of a kind-3 row or column run: the scalar loop). */
typedef struct {
    dwp_lattice lat;
    dwp_line_run ys[DWP_MAX_RUNS];
    dwp_line_run xs[DWP_MAX_RUNS];
    int32_t ny;
    int32_t nx;
    dwp_region r[9];
    int32_t n;
    int scalar; /* some run of kind 3 */
} dwp_plan;
#endif

/* Output channels c..c + n - 1 of the layer's output pixel (oy, ox), one at a time over the real
 * taps inside the input (the portable body, and the DSP body's groups and windows off its fast
 * path); output channel oc reads input channel oc / ch_mult. */
static void dwp_scalar_px(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                          const int8_t *img, const int8_t *filter, const dwp_taps *t, const int32_t *bias,
                          const ef_dims *out, int8_t *obase, int32_t oy, int32_t ox, int32_t c, int32_t n)
{
    const int32_t C = in->c;
    const int32_t OC = out->c;
    const int32_t M = params->ch_mult;
    const int32_t row = in->w * C;
    const int32_t in_off = params->input_offset;
    const int32_t iy0 = oy * params->stride.h - params->padding.h;
    const int32_t ix0 = ox * params->stride.w - params->padding.w;
    int32_t ky0 = 0;
    int32_t ky1 = 3;
    int32_t kx0 = 0;
    int32_t kx1 = 3;
    while (ky0 < 3 && iy0 + ky0 * t->dh < 0) {
        ++ky0;
    }
    while (ky1 > ky0 && iy0 + (ky1 - 1) * t->dh >= in->h) {
        --ky1;
    }
    while (kx0 < 3 && ix0 + kx0 * t->dw < 0) {
        ++kx0;
    }
    while (kx1 > kx0 && ix0 + (kx1 - 1) * t->dw >= in->w) {
        --kx1;
    }
    int8_t *dst = obase + (oy * out->w + ox) * OC;
    for (int32_t oc = c; oc < c + n; ++oc) {
        const int32_t ic = oc / M;
        int32_t acc = bias != 0 ? bias[oc] : 0;
        for (int32_t ky = ky0; ky < ky1; ++ky) {
            for (int32_t kx = kx0; kx < kx1; ++kx) {
                acc += (img[(iy0 + ky * t->dh) * row + (ix0 + kx * t->dw) * C + ic] + in_off) *
                       filter[ky * t->fy + kx * t->fx + oc];
            }
        }
        acc = ef_requantize(acc, quant->multiplier[oc], quant->shift[oc]) + params->output_offset;
        dst[oc] = ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
    }
}

/* Output channels c..c + n - 1 of every output pixel of one image's lattice. */
static void dwp_scalar(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                       const int8_t *img, const int8_t *filter, const dwp_taps *t, const int32_t *bias,
                       const ef_dims *out, int8_t *obase, const dwp_lattice *lat, int32_t c, int32_t n)
{
    for (int32_t j = 0; j < lat->oh; ++j) {
        for (int32_t i = 0; i < lat->ow; ++i) {
            dwp_scalar_px(params, quant, in, img, filter, t, bias, out, obase, lat->oy0 + lat->ody * j,
                          lat->ox0 + lat->odx * i, c, n);
        }
    }
}

/* The whole layer as one lattice. */
static inline dwp_lattice dwp_layer_lattice(const ef_dw_conv_params *params, const ef_dims *in, const ef_dims *out)
{
    const dwp_lattice lat = {in->h, in->w, out->h, out->w, params->padding.h, params->padding.w,
                             params->stride.h, params->stride.w, in->c, in->w * in->c, out->c, out->w * out->c,
                             0, 0, 0, 0, 1, 1};
    return lat;
}

#if defined(EF_NN_USE_DSP)
/* The runs of output positions 0..n_out - 1 along one axis (window start o * stride - pad of n
 * inputs); at most DWP_MAX_RUNS (see dwp_kind). */
static int32_t dwp_runs(dwp_line_run *runs, int32_t stride, int32_t pad, int32_t n, int32_t n_out)
{
    int32_t m = 0;
    for (int32_t o = 0; o < n_out; ++o) {
        const dwp_span s = dwp_span_of(o * stride - pad, n);
        const int kind = dwp_kind(s);
        if (m > 0 && runs[m - 1].kind == kind) {
            ++runs[m - 1].n;
        } else {
            runs[m] = (dwp_line_run){o, 1, s, kind};
            ++m;
        }
    }
    return m;
}

/* The regions of a pass: the lattice's row runs x its column runs. */
static void dwp_plan_of(dwp_plan *pl, const dwp_lattice *lat)
{
    const int32_t sh = lat->sh;
    const int32_t sw = lat->sw;
    pl->lat = *lat;
    pl->ny = dwp_runs(pl->ys, sh, lat->pad_h, lat->h, lat->oh);
    pl->nx = dwp_runs(pl->xs, sw, lat->pad_w, lat->w, lat->ow);
    pl->n = 0;
    pl->scalar = 0;
    for (int32_t i = 0; i < pl->ny; ++i) {
        const dwp_line_run *v = &pl->ys[i];
        for (int32_t j = 0; j < pl->nx; ++j) {
            const dwp_line_run *u = &pl->xs[j];
            if (v->kind == 3 || u->kind == 3) {
                pl->scalar = 1;
                continue;
            }
            dwp_region *r = &pl->r[pl->n++]; /* kinds 0-2 come in at most 3 runs per axis */
            r->fn = 3 * v->kind + u->kind;
            const int32_t iy = v->o0 * sh - lat->pad_h + v->s.k0;
            const int32_t ix = u->o0 * sw - lat->pad_w + u->s.k0;
            const int32_t span = u->n * lat->opx; /* output bytes per row */
            r->in_off = lat->in0 + iy * lat->row + ix * lat->px;
            r->out_off = lat->out0 + v->o0 * lat->orow + u->o0 * lat->opx;
            r->delta = sw * lat->px - (v->s.k1 - v->s.k0 - 1) * lat->row;
            r->rowend = r->out_off + span;
            r->end = r->out_off + (v->n - 1) * lat->orow + span;
            r->rstep_in = sh * lat->row - u->n * sw * lat->px;
            r->rstep_out = lat->orow - span;
            r->w_off = 6 * v->s.k0 + 2 * u->s.k0;
        }
    }
}

/* Output channels c..c + 3 of one image's pass through the asm loops (dwp_group_of accepted them;
 * k holds their requantization constants and the pass's output row and pixel steps): mult 0
 * (multiplier 1), input channels c..c + 3; 1 (a multiple of 4), input channel c / ch_mult for all
 * four; 2 (any multiplier), input a = c / ch_mult for the first ch_mult (a + 1) - c of them and
 * a + 1 for the rest (one of the split loops when that is fewer than 4). */
static inline __attribute__((always_inline)) void dwp_dsp_group(const ef_dw_conv_params *params,
                                                                const ef_per_channel_quant *quant, const ef_dims *in,
                                                                const int8_t *img, const int8_t *filter,
                                                                const dwp_taps *t, const int32_t *bias,
                                                                const ef_dims *out, int8_t *obase, int32_t c,
                                                                const dwp_group *g, const dwp_plan *pl, uint32_t *k,
                                                                const int mult)
{
    typedef void (*dwp_run_fn)(const dwp_job *job);
    /* by row kind and column kind (dwp_kind): the taps inside the input */
    static const dwp_run_fn fns[9] = {dwp_run33, dwp_run32, dwp_run32, dwp_run23, dwp_run22, dwp_run22,
                                      dwp_run23, dwp_run22, dwp_run22};
    static const dwp_run_fn fns_m[9] = {dwpm_run33, dwpm_run32, dwpm_run32, dwpm_run23, dwpm_run22, dwpm_run22,
                                        dwpm_run23, dwpm_run22, dwpm_run22};
#define DWPX_FNS(sp)                                                                                 \
    {dwpx_run33_##sp, dwpx_run32_##sp, dwpx_run32_##sp, dwpx_run23_##sp, dwpx_run22_##sp, dwpx_run22_##sp, \
     dwpx_run23_##sp, dwpx_run22_##sp, dwpx_run22_##sp}
    /* by the outputs of input a (1-3) */
    static const dwp_run_fn fns_x[3][9] = {DWPX_FNS(13), DWPX_FNS(22), DWPX_FNS(31)};
#undef DWPX_FNS
    const dwp_lattice *lat = &pl->lat;
    const int32_t ic = mult ? c / params->ch_mult : c;
    const int32_t na = mult == 2 ? params->ch_mult * (ic + 1) - c : 4; /* the outputs of input ic */
    const dwp_run_fn *run = mult == 0 ? fns : na >= 4 ? fns_m : fns_x[na - 1];
    dwp_job job = {0, 0, lat->px, lat->row, 0, k};
    const uint32_t ob = (uint32_t)(uintptr_t)(obase + c);
    for (int32_t i = 0; i < pl->ny && pl->scalar; ++i) {
        for (int32_t j = 0; j < pl->nx; ++j) {
            const dwp_line_run *v = &pl->ys[i];
            const dwp_line_run *u = &pl->xs[j];
            if (v->kind != 3 && u->kind != 3) {
                continue;
            }
            for (int32_t oy = v->o0; oy < v->o0 + v->n; ++oy) {
                for (int32_t ox = u->o0; ox < u->o0 + u->n; ++ox) {
                    dwp_scalar_px(params, quant, in, img, filter, t, bias, out, obase, lat->oy0 + lat->ody * oy,
                                  lat->ox0 + lat->odx * ox, c, 4);
                }
            }
        }
    }
    for (int32_t i = 0; i < pl->n; ++i) {
        const dwp_region *r = &pl->r[i];
        memcpy(k, g->fb[r->fn], sizeof g->fb[0]);
        k[DWP_DELTA] = (uint32_t)r->delta;
        k[DWP_ROWEND] = ob + (uint32_t)r->rowend;
        k[DWP_END] = ob + (uint32_t)r->end;
        k[DWP_RSTEP_IN] = (uint32_t)r->rstep_in;
        k[DWP_RSTEP_OUT] = (uint32_t)r->rstep_out;
        job.p = img + (r->in_off + ic);
        job.dst = obase + (r->out_off + c);
        /* the first tap inside the window: row k0 and column k0 (w_off = 6 k0_row + 2 k0_col) */
        job.w = mult ? g->wm + DWPM_ROW_WORDS * (r->w_off / 6) + 3 * (r->w_off % 6) : g->w + r->w_off;
        run[r->fn](&job);
    }
}

/* The 4-channel groups of one image's pass through the asm loops (a group off the fast
 * requantization through the scalar loop, over the pass's pixels); mult: the multiplier groups'
 * loops. The input offset is in [-128, 128] (DWP_BIAS_MAX's bound; the caller checks). Returns the
 * first channel left (C % 4 of them). Inlined once per mode, so multiplier 1 runs without the
 * multiplier's tests. */
static inline __attribute__((always_inline)) int32_t dwp_groups(const ef_dw_conv_params *params,
                                                                const ef_per_channel_quant *quant, const ef_dims *in,
                                                                const int8_t *img, const int8_t *filter,
                                                                const dwp_taps *t, const int32_t *bias,
                                                                const ef_dims *out, int8_t *obase, const dwp_plan *pl,
                                                                uint32_t *k, const int mult)
{
    const int32_t C = out->c;
    int32_t c = 0;
    k[DWP_OROW] = (uint32_t)pl->lat.orow;
    if (mult) {
        k[DWP_OSTEP] = (uint32_t)pl->lat.opx;
    }
    for (; c + 4 <= C; c += 4) {
        dwp_group g;
        if (dwp_group_of(&g, k, filter, t, c, quant, bias, params->input_offset, params->output_offset, mult)) {
            dwp_dsp_group(params, quant, in, img, filter, t, bias, out, obase, c, &g, pl, k, mult);
        } else {
            dwp_scalar(params, quant, in, img, filter, t, bias, out, obase, &pl->lat, c, 4);
        }
    }
    return c;
}

/* Phase (ry, rx) of a stride-1 layer whose real taps are dh x dw input pixels apart: the outputs
 * oy = ry + dh j, ox = rx + dw i read the inputs iy = ry - pad_h + dh (j + ky), which is the input
 * lattice of one residue; on it a 3 x 3 stride-1 layer. No outputs: oh or ow 0. */
static dwp_lattice dwp_phase_lattice(const ef_dw_conv_params *params, const ef_dims *in, const ef_dims *out,
                                     const dwp_taps *t, int32_t ry, int32_t rx)
{
    int32_t y[4];
    int32_t x[4];
    ef_dw_phase_axis(ry, params->padding.h, t->dh, in->h, out->h, y);
    ef_dw_phase_axis(rx, params->padding.w, t->dw, in->w, out->w, x);
    const int32_t C = in->c;
    const int32_t OC = out->c;
    const dwp_lattice lat = {y[1], x[1], y[3], x[3], y[2], x[2], 1, 1, t->dw * C, t->dh * in->w * C,
                             t->dw * OC, t->dh * out->w * OC, (y[0] * in->w + x[0]) * C, (ry * out->w + rx) * OC,
                             ry, rx, t->dh, t->dw};
    return lat;
}
#endif

/* The entries: mult 0 multiplier 1, 1 a multiple of 4, 2 any multiplier >= 2; dil 1 a dilated layer (a zero-inserted
 * filter, multiplier 1, stride 1), phase by phase (dwp_phase_lattice). Each entry inlines its own
 * mode, so a firmware links the asm loops of the one it calls. */
static inline __attribute__((always_inline)) ef_status dwp_entry(const ef_dw_conv_params *params,
                                                                 const ef_per_channel_quant *quant,
                                                                 const ef_dims *input_dims, const int8_t *input,
                                                                 const ef_dims *filter_dims, const int8_t *filter,
                                                                 const int32_t *bias, const ef_dims *output_dims,
                                                                 int8_t *output, const int mult, const int dil)
{
    const ef_status st = ef_dw_check(params, quant, input_dims, input, filter_dims, filter,
                                     output_dims, output);
    if (st != EF_OK) {
        return st;
    }
    const int32_t FH = filter_dims->h;
    const int32_t FW = filter_dims->w;
    if (dil ? (FH < 3 || FW < 3 || (FH & 1) == 0 || (FW & 1) == 0 || params->ch_mult != 1 ||
               params->stride.h != 1 || params->stride.w != 1)
            : (FH != 3 || FW != 3
               || (mult == 0 ? params->ch_mult != 1 : mult == 1 ? params->ch_mult % 4 != 0 : params->ch_mult < 2))) {
        return EF_ERR_UNSUPPORTED;
    }
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    const int32_t C = out->c; /* output channels: in->c * ch_mult */
    const int32_t in_px = in->h * in->w * in->c;
    const int32_t out_px = out->h * out->w * C;
    const dwp_taps t = {(FH - 1) / 2, (FW - 1) / 2, (FH - 1) / 2 * FW * C, (FW - 1) / 2 * C};
    const dwp_lattice whole = dwp_layer_lattice(params, in, out);
#if defined(EF_NN_USE_DSP)
    /* DWP_BIAS_MAX's bound assumes |input offset| <= 128: else every group in the scalar loop */
    const int fast = params->input_offset >= -128 && params->input_offset <= 128;
    dwp_plan pl;
    if (!dil) {
        dwp_plan_of(&pl, &whole);
    }
    uint32_t k[DWP_WORDS] __attribute__((aligned(8)));
#endif
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * in_px;
        int8_t *obase = output + b * out_px;
        int32_t c = 0;
#if defined(EF_NN_USE_DSP)
        for (int32_t ry = 0; ry < t.dh && fast; ++ry) {
            for (int32_t rx = 0; rx < t.dw; ++rx) {
                if (dil) {
                    const dwp_lattice ph = dwp_phase_lattice(params, in, out, &t, ry, rx);
                    if (ph.oh == 0 || ph.ow == 0) {
                        continue;
                    }
                    dwp_plan_of(&pl, &ph);
                }
                c = dwp_groups(params, quant, in, img, filter, &t, bias, out, obase, &pl, k, mult);
            }
        }
#endif
        if (c < C) {
            dwp_scalar(params, quant, in, img, filter, &t, bias, out, obase, &whole, c, C - c);
        }
    }
#if defined(EF_NN_USE_DSP)
    if (params->activation.min > -128 || params->activation.max < 127) {
        ef_nn_clamp_s8(output, in->n * out_px, params->activation.min, params->activation.max);
    }
#endif
    return EF_OK;
}

ef_status ef_depthwise_conv_3x3_px_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                      const ef_dims *input_dims, const int8_t *input,
                                      const ef_dims *filter_dims, const int8_t *filter,
                                      const int32_t *bias,
                                      const ef_dims *output_dims, int8_t *output)
{
    return dwp_entry(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, 0, 0);
}

ef_status ef_depthwise_conv_3x3_px_mult_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                           const ef_dims *input_dims, const int8_t *input,
                                           const ef_dims *filter_dims, const int8_t *filter,
                                           const int32_t *bias,
                                           const ef_dims *output_dims, int8_t *output)
{
    return dwp_entry(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, 1, 0);
}

ef_status ef_depthwise_conv_3x3_px_dilated_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                              const ef_dims *input_dims, const int8_t *input,
                                              const ef_dims *filter_dims, const int8_t *filter,
                                              const int32_t *bias,
                                              const ef_dims *output_dims, int8_t *output)
{
    return dwp_entry(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, 0, 1);
}

ef_status ef_depthwise_conv_3x3_px_mult_any_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                               const ef_dims *input_dims, const int8_t *input,
                                               const ef_dims *filter_dims, const int8_t *filter,
                                               const int32_t *bias,
                                               const ef_dims *output_dims, int8_t *output)
{
    return dwp_entry(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, 2, 0);
}
