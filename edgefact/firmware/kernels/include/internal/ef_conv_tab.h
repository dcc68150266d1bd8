/*
 * The widened-filter table engine (internal, DSP cores), shared by ef_conv_1x1_2x2_s8 (1x1, the
 * input pixels are the columns) and ef_conv_2x2_s8 (any window, columns built per pixel pair):
 * 2 output pixels x 2 output channels per step against a stack table that holds each filter
 * already sign-extended into SMLAD halfword pairs, so the inner loop is one LDM of the column,
 * one LDM of the table and 8 SMLAD per 16 MACs (the 2-pixel engine, which widens each filter word
 * per pixel pair, needs 15). Arguments are checked by the calling kernel.
 */
#ifndef EF_CONV_TAB_H
#define EF_CONV_TAB_H

#include "ef_conv_2px.h"

#if defined(EF_NN_USE_DSP)
/* words of the widened-filter table on the stack (2.5 KB) */
#define EF_CONV_TAB_WORDS 640

/* Builds the table of output channel pairs [oc, oc + 2 * np) (np >= 1) of depth-k filters (k % 4
 * == 0), in the order the asm reads it: the first pair's biases (4 words, the starting
 * accumulators {b0, b0, b1, b1}), then per pair its k / 4 groups of 4 words {f0[0,2], f0[1,3],
 * f1[0,2], f1[1,3]} (SXTB16 halfword pairs), its requantization words {m0, H0, e0, m1, H1, e1}
 * (H = 2^(e-1) + out_off * 2^e, the fast path of ef_conv_rq_one) and the next pair's 4 biases;
 * bit 31 of the last e1 ends the chunk (ASR by a register reads its low byte only). np * (k + 10)
 * words, at most EF_CONV_TAB_WORDS. */
void ef_nn_conv_tab_build(uint32_t *tab, const int8_t *filter, int32_t k, const int32_t *bias, const int32_t *qm,
                          const int32_t *qs, int32_t oc, int32_t np, int32_t out_off);

/* One group of 4 values: column words r0-r3 (from r12), table words r4-r7 (from lr),
 * accumulators A0 r8, B0 r9, A1 r10, B1 r11; 40 bytes (32-bit encodings only: the callers
 * compute their entry into the unrolled groups as 40 bytes per group skipped). */
#define EF_CONV_TAB_GROUP                   \
    "ldmia.w  r12!, {r0, r1, r2, r3}\n\t"   \
    "ldmia.w  lr!, {r4, r5, r6, r7}\n\t"    \
    "smlad    r8, r0, r4, r8\n\t"           \
    "smlad    r9, r2, r4, r9\n\t"           \
    "smlad    r10, r0, r6, r10\n\t"         \
    "smlad    r11, r2, r6, r11\n\t"         \
    "smlad    r8, r1, r5, r8\n\t"           \
    "smlad    r9, r3, r5, r9\n\t"           \
    "smlad    r10, r1, r7, r10\n\t"         \
    "smlad    r11, r3, r7, r11\n\t"
#define EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUP EF_CONV_TAB_GROUP EF_CONV_TAB_GROUP EF_CONV_TAB_GROUP

/* Requantize `x` with m r0, H r1, e r2 (temporaries r3, r4; no flags touched) and store it at
 * `dst`, post-incremented. */
#define EF_CONV_TAB_RQ(x, dst)               \
    "add.w    r3, r1, " x ", asr #31\n\t"    \
    "and      r4, " x ", #0x80000000\n\t"    \
    "orr      r4, r4, #0x40000000\n\t"       \
    "smlal    r4, r3, " x ", r0\n\t"         \
    "asr.w    r3, r3, r2\n\t"                \
    "ssat     r3, #8, r3\n\t"                \
    "strb.w   r3, [" dst "], #1\n\t"

/* The chunk loop of a pixel pair, label 3 (its first unrolled group) to label 9 (after the chunk's
 * last pair). The frame holds the column at [sp], the entry (label 3 + 40 * groups skipped, + 1)
 * at [sp, #4] and the two pixels' output pointers at [sp, #8] / [sp, #12]; it is entered through
 * that entry with r12 = the column, lr = the table after the first pair's biases, r8-r11 = those
 * biases. Per pair: the groups, then the 4 requantizations and stores (both pixels' output
 * pointers advance by 2), then the next pair's biases. */
#define EF_CONV_TAB_PAIRS(GROUPS)              \
    ".balign  4\n\t"                           \
    "3:\n\t"                                   \
    GROUPS                                     \
    "ldrd     r5, r6, [sp, #8]\n\t"            \
    "ldmia    lr!, {r0, r1, r2}\n\t"           \
    EF_CONV_TAB_RQ("r8", "r5")                 \
    EF_CONV_TAB_RQ("r9", "r6")                 \
    "ldmia    lr!, {r0, r1, r2}\n\t"           \
    "cmp      r2, #0\n\t" /* bit 31: the chunk's last pair */ \
    EF_CONV_TAB_RQ("r10", "r5")                \
    EF_CONV_TAB_RQ("r11", "r6")                \
    "bmi      9f\n\t"                          \
    "strd     r5, r6, [sp, #8]\n\t"            \
    "ldmia    lr!, {r8, r9, r10, r11}\n\t" /* the next pair's biases */ \
    "ldr      r12, [sp]\n\t"                   \
    "ldr.w    pc, [sp, #4]\n\t"                \
    "9:\n\t"
#endif

#endif
