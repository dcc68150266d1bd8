/* CONV_2D, unpadded 1x1 with 4-64 (a multiple of 4) input channels per group (grouped too: each
 * group its slice of every pixel), every channel on the fast requantization (multiplier >= 0,
 * -23 <= shift <= -2), on the DSP cores: 2 output pixels x 2 output channels per step against a
 * stack table of widened filters.
 *
 * The generator picks this kernel on Cortex-M4/M7/M33 for such layers (`_1x1_2x2_applies` in
 * edgefact/export/ops/conv.py), so firmware whose 1x1 layers all take it does not link
 * ef_conv_1x1_s8. Other shapes return EF_ERR_UNSUPPORTED on the DSP cores; the portable and Helium
 * builds run ef_conv_1x1_s8 (grouped: ef_conv_1x1_short_s8; same results, bit-exact with TFLM).
 */
#include "internal/ef_conv_tab.h"

/* deepest input this kernel takes: 16 groups of 4 in the unrolled loop, a 256-byte column */
#define EF_CONV_1X1_STACK_DEPTH 64

#if defined(EF_NN_USE_DSP)
/*
 * DSP body, on the widened-filter table engine (include/internal/ef_conv_tab.h): per chunk of
 * output channel pairs, the filters are widened once into a stack table (ef_nn_conv_tab_build). Then one asm
 * call per run of pixels (stride 1: the whole tensor; else an output row), conv_1x1_run: per
 * pixel pair, the two pixels' values are widened (SXTAB16 with the input offset) into
 * [A02, A13, B02, B13] words (9 instructions per 4 values), then for every pair of the chunk one
 * LDM of the column, one LDM of the table and 8 SMLAD per 4 values (10 instructions per 16 MACs;
 * the 2-pixel engine's loop is 15, as it widens each filter word per pixel pair), the 4
 * requantizations (7 each) and 9 instructions of bookkeeping; ~22 per pixel pair besides the
 * widening. An odd last pixel of a run runs as the pair (P, P) (steps 0), storing the same bytes
 * twice; an odd last channel runs in C (conv_1x1_odd).
 */

typedef struct {
    const int8_t *in;    /* pixel A of the run's first pair */
    int32_t step;        /* input bytes from a pair's pixel A to its pixel B (and B to the next A) */
    int8_t *dst;         /* pixel A's output of the chunk's first channel */
    int32_t dstep;       /* output bytes from pixel A to pixel B */
    int32_t n;           /* pixel pairs, >= 1 */
    const uint32_t *tab; /* the chunk's table (above) */
    uint32_t off2;       /* the input offset in both halfwords */
    int32_t groups;      /* K / 4 */
    uint32_t *col;       /* [A02, A13, B02, B13] per group of 4 values */
    int32_t skip;        /* groups of the unrolled loop to skip: EF_1X1_MAX_GROUPS - K / 4 */
} conv_1x1_job;

#define EF_1X1_MAX_GROUPS (EF_CONV_1X1_STACK_DEPTH / 4)

/* Frame (48 bytes below the 9 saved registers): col 0, entry 4, dsta 8, dstb 12, then the job's
 * in 16, step 20, dst 24, dstep 28, n 32, tab 36, off2 40, groups 44 (in, dst, n updated per
 * pixel pair). */
__attribute__((naked, noinline)) static void conv_1x1_run(const conv_1x1_job *job)
{
    (void)job;
    __asm__ volatile(
        "push     {r4-r11, lr}\n\t"
        "sub      sp, sp, #48\n\t"
        "ldmia    r0, {r1, r2, r3, r4, r5, r6, r7, r8, r9, r10}\n\t"
        "adr.w    r11, 3f + 1\n\t"           /* + 1: Thumb state for the branches to it */
        "movs     r12, #40\n\t"              /* bytes per group */
        "mla      r10, r10, r12, r11\n\t"
        "str      r9, [sp]\n\t"
        "str      r10, [sp, #4]\n\t"
        "add      r11, sp, #16\n\t"
        "stmia    r11, {r1, r2, r3, r4, r5, r6, r7, r8}\n\t"
        "1:\n\t"                             /* a pixel pair */
        "ldrd     r0, r5, [sp, #16]\n\t"     /* in A, step */
        "add      r1, r0, r5\n\t"            /* in B */
        "add      r6, r1, r5\n\t"
        "str      r6, [sp, #16]\n\t"         /* the next pair's A */
        "ldrd     r6, r7, [sp, #24]\n\t"     /* dst, dstep */
        "add      r8, r6, r7\n\t"
        "strd     r6, r8, [sp, #8]\n\t"      /* dsta, dstb */
        "add      r6, r8, r7\n\t"
        "str      r6, [sp, #24]\n\t"
        "ldrd     r2, r3, [sp, #40]\n\t"     /* off2, groups */
        "ldr      lr, [sp]\n\t"
        "2:\n\t"                             /* the column: [A02, A13, B02, B13] per 4 values */
        "ldr      r4, [r0], #4\n\t"
        "ldr      r5, [r1], #4\n\t"
        "sxtab16  r6, r2, r4\n\t"
        "sxtab16  r7, r2, r4, ror #8\n\t"
        "sxtab16  r8, r2, r5\n\t"
        "sxtab16  r9, r2, r5, ror #8\n\t"
        "stmia    lr!, {r6, r7, r8, r9}\n\t"
        "subs     r3, r3, #1\n\t"
        "bne      2b\n\t"
        "ldr      r12, [sp]\n\t"
        "ldr      lr, [sp, #36]\n\t"
        "ldmia    lr!, {r8, r9, r10, r11}\n\t" /* the first pair's biases */
        "ldr.w    pc, [sp, #4]\n\t"
        EF_CONV_TAB_PAIRS(EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4)
        "ldr      r0, [sp, #32]\n\t"
        "subs     r0, r0, #1\n\t"
        "str      r0, [sp, #32]\n\t"
        "bne      1b\n\t"
        "add      sp, sp, #48\n\t"
        "pop      {r4-r11, pc}\n\t");
}

/* Output channel oc (the odd last one of its group, depth k from input channel c0) of every pixel,
 * in C (no activation: the caller's clamp pass). */
static __attribute__((noinline)) void conv_1x1_odd(const ef_conv_params *params, const ef_per_channel_quant *quant,
                                                   const ef_dims *in, const int8_t *input, const int8_t *filter,
                                                   const int32_t *bias, const ef_dims *out, int8_t *output,
                                                   int32_t k, int32_t c0, int32_t oc)
{
    const int8_t *f = filter + oc * k;
    int8_t *dst = output + oc;
    for (int32_t b = 0; b < in->n; ++b) {
        for (int32_t y = 0; y < out->h; ++y) {
            for (int32_t x = 0; x < out->w; ++x, dst += out->c) {
                const int8_t *src =
                    input + ((b * in->h + y * params->stride.h) * in->w + x * params->stride.w) * in->c + c0;
                const int32_t acc = ef_dot_s8_s8_offset(src, params->input_offset, f, k);
                *dst = ef_nn_conv_output_any(acc, bias, oc, quant->multiplier, quant->shift, params->output_offset,
                                             -128, 127);
            }
        }
    }
}

/* One group: input channels c0..c0 + k - 1 of every pixel, output channels oc0..oc0 + nc - 1.
 * Precondition: k % 4 == 0, 4 <= k <= EF_CONV_1X1_STACK_DEPTH, ef_conv_rq_fast. */
static void conv_1x1_dsp(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                         const int8_t *input, const int8_t *filter, const int32_t *bias, const ef_dims *out,
                         int8_t *output, int32_t k, int32_t c0, int32_t oc0, int32_t nc)
{
    const int32_t pairs = nc >> 1;
    /* stride 1 (out == in): every pixel follows the previous one, one run; else one per output row */
    const int flat = params->stride.h == 1 && params->stride.w == 1;
    const int32_t runs = flat ? 1 : in->n * out->h;
    const int32_t run_px = flat ? in->n * out->h * out->w : out->w;
    const int32_t chunk = EF_CONV_TAB_WORDS / (k + 10);
    uint32_t tab[EF_CONV_TAB_WORDS];
    uint32_t col[EF_CONV_1X1_STACK_DEPTH];
    conv_1x1_job job;
    job.tab = tab;
    job.off2 = ((uint32_t)(uint16_t)params->input_offset << 16) | (uint16_t)params->input_offset;
    job.groups = k >> 2;
    job.col = col;
    job.skip = EF_1X1_MAX_GROUPS - (k >> 2);
    for (int32_t p0 = 0; p0 < pairs; p0 += chunk) {
        ef_nn_conv_tab_build(tab, filter, k, bias, quant->multiplier, quant->shift, oc0 + 2 * p0,
                             EF_MIN(chunk, pairs - p0), params->output_offset);
        for (int32_t r = 0; r < runs; ++r) {
            const int32_t b = flat ? 0 : r / out->h;
            const int32_t oy = flat ? 0 : r - b * out->h;
            const int8_t *src = input + ((b * in->h + oy * params->stride.h) * in->w) * in->c + c0;
            int8_t *dst = output + r * run_px * out->c + oc0 + 2 * p0;
            if (run_px > 1) {
                job.in = src;
                job.step = params->stride.w * in->c;
                job.dst = dst;
                job.dstep = out->c;
                job.n = run_px >> 1;
                conv_1x1_run(&job);
            }
            if (run_px & 1) { /* the odd last pixel: the pair (P, P) */
                job.in = src + (run_px - 1) * params->stride.w * in->c;
                job.step = 0;
                job.dst = dst + (run_px - 1) * out->c;
                job.dstep = 0;
                job.n = 1;
                conv_1x1_run(&job);
            }
        }
    }
    if (nc & 1) {
        conv_1x1_odd(params, quant, in, input, filter, bias, out, output, k, c0, oc0 + nc - 1);
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
    const int32_t k = filter_dims->c;
    if (filter_dims->h != 1 || filter_dims->w != 1 || (k & 3) != 0 || k < 4 || k > EF_CONV_1X1_STACK_DEPTH ||
        params->padding.h != 0 || params->padding.w != 0 || params->dilation.h != 1 || params->dilation.w != 1) {
        return EF_ERR_UNSUPPORTED;
    }
    if (in->c % k != 0 || out->c % (in->c / k) != 0 || filter_dims->n != out->c || out->n != in->n ||
        !ef_out_size_ok(in->h, 1, params->stride.h, 0, out->h) ||
        !ef_out_size_ok(in->w, 1, params->stride.w, 0, out->w)) {
        return EF_ERR_DIMS;
    }
    if (!ef_activation_valid(&params->activation)) {
        return EF_ERR_PARAM;
    }
    if (!ef_conv_rq_fast(quant, out->c)) {
        return EF_ERR_UNSUPPORTED;
    }
    const int32_t opg = out->c / (in->c / k);
    for (int32_t c0 = 0, oc0 = 0; c0 < in->c; c0 += k, oc0 += opg) {
        conv_1x1_dsp(params, quant, in, input, filter, bias, out, output, k, c0, oc0, opg);
    }
    if (params->activation.min != -128 || params->activation.max != 127) {
        ef_nn_clamp_s8(output, in->n * out->h * out->w * out->c, params->activation.min, params->activation.max);
    }
    return EF_OK;
#else
    if (input_dims != 0 && filter_dims != 0 && filter_dims->c != input_dims->c) { /* grouped */
        return ef_conv_1x1_short_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output);
    }
    return ef_conv_1x1_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output);
#endif
}
