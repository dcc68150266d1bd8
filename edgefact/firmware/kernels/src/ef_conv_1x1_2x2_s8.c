/* CONV_2D, ungrouped unpadded 1x1 with 4-64 (a multiple of 4) input channels, every channel on
 * the fast requantization (multiplier >= 0, -23 <= shift <= -2), on the DSP cores: 2 output pixels
 * x 2 output channels per step against a stack table of widened filters.
 *
 * The generator picks this kernel on Cortex-M4/M7/M33 for such layers (`_1x1_2x2_applies` in
 * edgefact/export/ops/conv.py), so firmware whose 1x1 layers all take it does not link
 * ef_conv_1x1_s8. Other shapes return EF_ERR_UNSUPPORTED on the DSP cores; the portable and Helium
 * builds run ef_conv_1x1_s8 (same results, bit-exact with TFLM).
 */
#include "internal/ef_conv_2px.h"

/* deepest input this kernel takes: 16 groups of 4 in the unrolled loop, a 256-byte column */
#define EF_CONV_1X1_STACK_DEPTH 64

#if defined(EF_NN_USE_DSP)
/*
 * DSP body. Per chunk of output channel pairs, the filters are widened once into a stack table
 * (EF_1X1_TAB_WORDS), in the order the asm loop reads it: the first pair's two biases, then per
 * pair its K / 4 groups of 4 words {f0[0,2], f0[1,3], f1[0,2], f1[1,3]} (SXTB16 halfword pairs),
 * its requantization words {m0, H0, e0, m1, H1, e1} (as ef_nn_conv_pairs_tab: H = 2^(e-1) +
 * out_off * 2^e, the fast path of ef_conv_rq_one) and the next pair's biases; bit 31 of the
 * chunk's last e1 ends the pair loop (ASR by a register reads its low byte only). Then per pixel
 * pair, the two pixels' values are widened (with the input offset) into [A02, A13, B02, B13]
 * words and conv_1x1_pairs runs every pair of the chunk: per group one LDM of the column, one LDM
 * of the table and 8 SMLAD (10 instructions per 16 MACs; the 2-pixel engine's loop is 15, as it
 * widens each filter word per pixel pair), per pair ~11 instructions besides the 4
 * requantizations (7 each). The column is refilled per chunk. An odd last pixel runs as the pair
 * (P, P), storing the same bytes twice; an odd last channel runs in C from the same column.
 */

/* words of the widened-filter table on the stack */
#define EF_1X1_TAB_WORDS 640

typedef struct {
    const uint32_t *col; /* [A02, A13, B02, B13] per group of 4 values */
    const uint32_t *tab; /* the chunk's table (above) */
    int8_t *dsta;        /* pixel A's output of the chunk's first channel */
    int8_t *dstb;        /* pixel B's (dsta for an odd last pixel) */
    int32_t skip;        /* groups of the unrolled loop to skip: EF_1X1_MAX_GROUPS - K / 4 */
} conv_1x1_job;

/* One group of 4 values: column words r0-r3 (r12), table words r4-r7 (lr), accumulators
 * A0 r8, B0 r9, A1 r10, B1 r11; 40 bytes (32-bit encodings only: the entry arithmetic). */
#define EF_1X1_GROUP                        \
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
#define EF_1X1_MAX_GROUPS (EF_CONV_1X1_STACK_DEPTH / 4)

/* Requantize `x` with m r0, H r1, e r2 (temporaries r3, r4; no flags touched) and store it at
 * `dst`, post-incremented. */
#define EF_1X1_RQ(x, dst)                    \
    "add.w    r3, r1, " x ", asr #31\n\t"    \
    "and      r4, " x ", #0x80000000\n\t"    \
    "orr      r4, r4, #0x40000000\n\t"       \
    "smlal    r4, r3, " x ", r0\n\t"         \
    "asr.w    r3, r3, r2\n\t"                \
    "ssat     r3, #8, r3\n\t"                \
    "strb.w   r3, [" dst "], #1\n\t"

/* Frame (16 bytes below the 9 saved registers): col 0, entry 4, dsta 8, dstb 12. */
__attribute__((naked, noinline)) static void conv_1x1_pairs(const conv_1x1_job *job)
{
    (void)job;
    __asm__ volatile(
        "push     {r4-r11, lr}\n\t"
        "ldmia    r0, {r1, r2, r3, r4, r5}\n\t"
        "sub      sp, sp, #16\n\t"
        "adr.w    r6, 3f + 1\n\t"            /* + 1: Thumb state for the branches to it */
        "movs     r7, #40\n\t"               /* bytes per group */
        "mla      r5, r5, r7, r6\n\t"
        "str      r1, [sp]\n\t"
        "str      r5, [sp, #4]\n\t"
        "strd     r3, r4, [sp, #8]\n\t"
        "mov      r12, r1\n\t"
        "mov      lr, r2\n\t"
        "ldrd     r8, r10, [lr], #8\n\t"     /* the first pair's biases */
        "mov      r9, r8\n\t"
        "mov      r11, r10\n\t"
        "bx       r5\n\t"
        ".balign  4\n\t"
        "3:\n\t"
        EF_1X1_GROUP EF_1X1_GROUP EF_1X1_GROUP EF_1X1_GROUP
        EF_1X1_GROUP EF_1X1_GROUP EF_1X1_GROUP EF_1X1_GROUP
        EF_1X1_GROUP EF_1X1_GROUP EF_1X1_GROUP EF_1X1_GROUP
        EF_1X1_GROUP EF_1X1_GROUP EF_1X1_GROUP EF_1X1_GROUP
        "ldrd     r5, r6, [sp, #8]\n\t"
        "ldmia    lr!, {r0, r1, r2}\n\t"
        EF_1X1_RQ("r8", "r5")
        EF_1X1_RQ("r9", "r6")
        "ldmia    lr!, {r0, r1, r2}\n\t"
        "cmp      r2, #0\n\t"                /* bit 31: the chunk's last pair */
        EF_1X1_RQ("r10", "r5")
        EF_1X1_RQ("r11", "r6")
        "strd     r5, r6, [sp, #8]\n\t"
        "bmi      9f\n\t"
        "ldrd     r8, r10, [lr], #8\n\t"     /* the next pair's biases */
        "mov      r9, r8\n\t"
        "mov      r11, r10\n\t"
        "ldr      r12, [sp]\n\t"
        "ldr.w    pc, [sp, #4]\n\t"
        "9:\n\t"
        "add      sp, sp, #16\n\t"
        "pop      {r4-r11, pc}\n\t");
}

/* Builds the table of pairs [oc, oc + 2 * np) (np >= 1) of a depth-K filter. */
static void conv_1x1_table(uint32_t *tab, const int8_t *filter, int32_t k, const int32_t *bias,
                           const int32_t *qm, const int32_t *qs, int32_t oc, int32_t np, int32_t out_off)
{
    tab[0] = bias != 0 ? (uint32_t)bias[oc] : 0u;
    tab[1] = bias != 0 ? (uint32_t)bias[oc + 1] : 0u;
    tab += 2;
    for (int32_t j = 0; j < np; ++j, oc += 2) {
        const int8_t *f0 = filter + oc * k;
        const int8_t *f1 = f0 + k;
        for (int32_t i = 0; i < k; i += 4) {
            const uint32_t w0 = ef_read_u32(f0 + i);
            const uint32_t w1 = ef_read_u32(f1 + i);
            tab[0] = __sxtb16(w0);
            tab[1] = ef_sxtb16_ror8(w0);
            tab[2] = __sxtb16(w1);
            tab[3] = ef_sxtb16_ror8(w1);
            tab += 4;
        }
        for (int32_t c = 0; c < 2; ++c) {
            const int32_t e = -1 - qs[oc + c];
            tab[0] = (uint32_t)qm[oc + c];
            tab[1] = (1u << (e - 1)) + (uint32_t)out_off * (1u << e);
            tab[2] = (uint32_t)e;
            tab += 3;
        }
        if (j + 1 < np) {
            tab[0] = bias != 0 ? (uint32_t)bias[oc + 2] : 0u;
            tab[1] = bias != 0 ? (uint32_t)bias[oc + 3] : 0u;
            tab += 2;
        }
    }
    tab[-1] |= 0x80000000u; /* the last e1: the end of the chunk */
}

/* The input pixel of output pixel (y, x) of batch b. */
static inline const int8_t *conv_1x1_src(const int8_t *input, const ef_dims *in, const ef_conv_params *params,
                                         int32_t b, int32_t y, int32_t x)
{
    return input + ((b * in->h + y * params->stride.h) * in->w + x * params->stride.w) * in->c;
}

/* The odd last channel oc of a pixel pair from its column: two dots, requantized in C. */
static __attribute__((noinline)) void conv_1x1_odd(const uint32_t *col, const int8_t *f, int32_t k,
                                                   const int32_t *bias, int32_t oc, const ef_per_channel_quant *quant,
                                                   int32_t out_off, int8_t *dsta, int8_t *dstb)
{
    uint32_t a = 0;
    uint32_t bb = 0;
    for (int32_t i = 0; i < k; i += 4, col += 4) {
        const uint32_t w = ef_read_u32(f + i);
        const uint32_t w02 = __sxtb16(w);
        const uint32_t w13 = ef_sxtb16_ror8(w);
        ef_smlad_acc(&a, col[0], w02);
        ef_smlad_acc(&a, col[1], w13);
        ef_smlad_acc(&bb, col[2], w02);
        ef_smlad_acc(&bb, col[3], w13);
    }
    dsta[oc] = ef_nn_conv_output_any((int32_t)a, bias, oc, quant->multiplier, quant->shift, out_off, -128, 127);
    dstb[oc] = ef_nn_conv_output_any((int32_t)bb, bias, oc, quant->multiplier, quant->shift, out_off, -128, 127);
}

/* Precondition: in->c % 4 == 0, 4 <= in->c <= EF_CONV_1X1_STACK_DEPTH, ef_conv_rq_fast. */
static void conv_1x1_dsp(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                         const int8_t *input, const int8_t *filter, const int32_t *bias, const ef_dims *out,
                         int8_t *output)
{
    const int32_t k = in->c;
    const int32_t nc = out->c;
    const int32_t pairs = nc >> 1;
    const int32_t n_px = out->h * out->w;
    const int32_t ow = out->w;
    const uint32_t off2 = ((uint32_t)(uint16_t)params->input_offset << 16) | (uint16_t)params->input_offset;
    const int32_t chunk = (EF_1X1_TAB_WORDS - 2) / (k + 8);
    uint32_t tab[EF_1X1_TAB_WORDS];
    uint32_t col[EF_CONV_1X1_STACK_DEPTH];
    conv_1x1_job job;
    job.col = col;
    job.tab = tab;
    job.skip = EF_1X1_MAX_GROUPS - (k >> 2);
    for (int32_t b = 0; b < in->n; ++b) {
        int8_t *dst_b = output + b * n_px * nc;
        for (int32_t p0 = 0; p0 == 0 || p0 < pairs; p0 += chunk) {
            const int32_t np = EF_MIN(chunk, pairs - p0);
            const int odd = (nc & 1) && p0 + np >= pairs;
            if (np > 0) {
                conv_1x1_table(tab, filter, k, bias, quant->multiplier, quant->shift, 2 * p0, np,
                               params->output_offset);
            }
            int32_t ya = 0;
            int32_t xa = 0;
            for (int32_t p = 0; p < n_px; p += 2) {
                int32_t yb = ya;
                int32_t xb = xa + 1;
                if (xb == ow) {
                    xb = 0;
                    ++yb;
                }
                const int has_b = p + 1 < n_px;
                const int8_t *sa = conv_1x1_src(input, in, params, b, ya, xa);
                const int8_t *sb = has_b ? conv_1x1_src(input, in, params, b, yb, xb) : sa;
                uint32_t *d = col;
                for (int32_t i = k >> 2; i > 0; --i) {
                    const uint32_t wa = ef_read_u32(sa);
                    const uint32_t wb = ef_read_u32(sb);
                    sa += 4;
                    sb += 4;
                    d[0] = __sxtab16(off2, wa);
                    d[1] = ef_sxtab16_ror8(off2, wa);
                    d[2] = __sxtab16(off2, wb);
                    d[3] = ef_sxtab16_ror8(off2, wb);
                    d += 4;
                }
                int8_t *dsta = dst_b + p * nc;
                int8_t *dstb = has_b ? dsta + nc : dsta;
                if (np > 0) {
                    job.dsta = dsta + 2 * p0;
                    job.dstb = dstb + 2 * p0;
                    conv_1x1_pairs(&job);
                }
                if (odd) {
                    conv_1x1_odd(col, filter + (nc - 1) * k, k, bias, nc - 1, quant, params->output_offset, dsta,
                                 dstb);
                }
                ya = yb;
                xa = xb + 1;
                if (xa == ow) {
                    xa = 0;
                    ++ya;
                }
            }
        }
    }
    if (params->activation.min != -128 || params->activation.max != 127) {
        ef_nn_clamp_s8(output, in->n * n_px * nc, params->activation.min, params->activation.max);
    }
}
#endif

ef_status ef_conv_1x1_2x2_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                             const ef_dims *input_dims, const int8_t *input,
                             const ef_dims *filter_dims, const int8_t *filter,
                             const int32_t *bias,
                             const ef_dims *output_dims, int8_t *output)
{
#if defined(EF_NN_USE_DSP)
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    if (params == 0 || quant == 0 || quant->multiplier == 0 || quant->shift == 0 || input == 0 ||
        filter == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (!ef_dims_valid(in) || !ef_dims_valid(filter_dims) || !ef_dims_valid(out)) {
        return EF_ERR_DIMS;
    }
    if (filter_dims->h != 1 || filter_dims->w != 1 || filter_dims->c != in->c || (in->c & 3) != 0 ||
        in->c > EF_CONV_1X1_STACK_DEPTH || params->padding.h != 0 || params->padding.w != 0 ||
        params->dilation.h != 1 || params->dilation.w != 1) {
        return EF_ERR_UNSUPPORTED;
    }
    if (filter_dims->n != out->c || out->n != in->n || !ef_out_size_ok(in->h, 1, params->stride.h, 0, out->h) ||
        !ef_out_size_ok(in->w, 1, params->stride.w, 0, out->w)) {
        return EF_ERR_DIMS;
    }
    if (!ef_activation_valid(&params->activation)) {
        return EF_ERR_PARAM;
    }
    if (!ef_conv_rq_fast(quant, out->c)) {
        return EF_ERR_UNSUPPORTED;
    }
    conv_1x1_dsp(params, quant, in, input, filter, bias, out, output);
    return EF_OK;
#else
    return ef_conv_1x1_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output);
#endif
}
