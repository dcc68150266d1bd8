/* CONV_2D, ungrouped unpadded 1x1 with a short column (4 or 8 input channels) on the DSP cores.
 *
 * The generator picks this kernel only on Cortex-M4/M7/M33 for such layers (MobileNet-style
 * models at small widths), so firmware without them (the MLPerf models) does not link it. With
 * 4-8 values per dot product, ef_conv_1x1_s8's 2x2 channel-pair engine spends ~52 fixed
 * instructions per 16-32 MACs. Here the filter of every output channel is sign-extended once per
 * call into a stack table next to its requantization constants, {bias, m, H, e, K/2 filter words}
 * (H and e as in ef_conv_pairs_job: the output offset folded into H), and one asm loop walks the
 * pixels: per pixel, its K input bytes are widened once (SXTAB16 with the input offset); per
 * output channel one LDM fetches that channel's entry, K/2 SMLAD start from the bias, the
 * requantization and SSAT store follow (14 instructions per 8 MACs at K = 8, 12 per 4 at K = 4,
 * against ~(52 + 15 K/4) / 4 per output channel and pixel before). The last entry's e has bit
 * 31 set (ASR reads only the shift register's low byte): the channel loop's end test is one CMP.
 * Any other layer (other depths, a requantization off the fast path) and the portable / Helium
 * builds run ef_conv_1x1_s8, so the results are those of that kernel, bit-exact with TFLM.
 */
#include "internal/ef_conv_2px.h"

#if defined(EF_NN_USE_DSP)

/* output channels per table (stack: 4 + K/2 words each, 1 KB at K = 8) */
#define EF_SHORT_CHUNK 32

typedef struct {
    const int8_t *in;   /* first pixel's input */
    int32_t in_step;    /* bytes between consecutive pixels' inputs */
    int32_t n;          /* pixels, >= 1 */
    const int32_t *tab; /* the chunk's channel entries */
    int8_t *dst;        /* first pixel's output of the chunk's first channel */
    int32_t dstep;      /* bytes between consecutive pixels' outputs (out_c) */
    uint32_t off2;      /* input offset in both halfwords */
} short_job;

/* Requantize r4 with m r5, H r6, e r7 (temporaries r8, r9), store it at lr (post-increment), and
 * loop while e >= 0 (not the last channel). */
#define EF_SHORT_RQ_LOOP                     \
    "add      r8, r6, r4, asr #31\n\t"       \
    "and      r9, r4, #0x80000000\n\t"       \
    "orr      r9, r9, #0x40000000\n\t"       \
    "smlal    r9, r8, r4, r5\n\t"            \
    "asr      r8, r8, r7\n\t"                \
    "ssat     r8, #8, r8\n\t"                \
    "strb     r8, [lr], #1\n\t"              \
    "cmp      r7, #0\n\t"                    \
    "bge      2b\n\t"

/* The job's fields on the stack after the prologue: in 0, in_step 4, n 8, tab 12, dst 16,
 * dstep 20, off2 24. */
#define EF_SHORT_PROLOGUE                    \
    "push     {r4-r11, lr}\n\t"              \
    "ldmia    r0, {r1, r2, r3, r4, r5, r6, r7}\n\t" \
    "push     {r1, r2, r3, r4, r5, r6, r7}\n\t"

#define EF_SHORT_NEXT_PIXEL                  \
    "ldr      r4, [sp, #16]\n\t"             \
    "ldr      r5, [sp, #20]\n\t"             \
    "add      r4, r4, r5\n\t"                \
    "str      r4, [sp, #16]\n\t"             \
    "ldr      r4, [sp, #8]\n\t"              \
    "subs     r4, r4, #1\n\t"                \
    "str      r4, [sp, #8]\n\t"              \
    "bne      1b\n\t"                        \
    "add      sp, sp, #28\n\t"               \
    "pop      {r4-r11, pc}\n\t"

/* K = 8: entries of 8 words {bias, m, H, e, f02, f13, f46, f57}. */
__attribute__((naked, noinline)) static void short_run8(const short_job *job)
{
    (void)job;
    __asm__ volatile(
        EF_SHORT_PROLOGUE
        "1:\n\t"
        "ldr      r12, [sp]\n\t"
        "ldr      r10, [sp, #4]\n\t"
        "ldr      r11, [sp, #24]\n\t"
        "ldr      r8, [r12, #4]\n\t"
        "ldr      r9, [r12]\n\t"
        "add      r12, r12, r10\n\t"
        "str      r12, [sp]\n\t"
        "sxtab16  r0, r11, r9\n\t"
        "sxtab16  r1, r11, r9, ror #8\n\t"
        "sxtab16  r2, r11, r8\n\t"
        "sxtab16  r3, r11, r8, ror #8\n\t"
        "ldr      r12, [sp, #12]\n\t"
        "ldr      lr, [sp, #16]\n\t"
        "2:\n\t"
        "ldmia    r12!, {r4, r5, r6, r7, r8, r9, r10, r11}\n\t"
        "smlad    r4, r0, r8, r4\n\t"
        "smlad    r4, r1, r9, r4\n\t"
        "smlad    r4, r2, r10, r4\n\t"
        "smlad    r4, r3, r11, r4\n\t"
        EF_SHORT_RQ_LOOP
        EF_SHORT_NEXT_PIXEL);
}

/* K = 4: entries of 6 words {bias, m, H, e, f02, f13}. */
__attribute__((naked, noinline)) static void short_run4(const short_job *job)
{
    (void)job;
    __asm__ volatile(
        EF_SHORT_PROLOGUE
        "1:\n\t"
        "ldr      r12, [sp]\n\t"
        "ldr      r10, [sp, #4]\n\t"
        "ldr      r11, [sp, #24]\n\t"
        "ldr      r9, [r12]\n\t"
        "add      r12, r12, r10\n\t"
        "str      r12, [sp]\n\t"
        "sxtab16  r0, r11, r9\n\t"
        "sxtab16  r1, r11, r9, ror #8\n\t"
        "ldr      r12, [sp, #12]\n\t"
        "ldr      lr, [sp, #16]\n\t"
        "2:\n\t"
        "ldmia    r12!, {r4, r5, r6, r7, r8, r9}\n\t"
        "smlad    r4, r0, r8, r4\n\t"
        "smlad    r4, r1, r9, r4\n\t"
        EF_SHORT_RQ_LOOP
        EF_SHORT_NEXT_PIXEL);
}

/* The entries of channels oc .. oc + nc - 1 (nc >= 1), k = 4 or 8 filter bytes each. */
static void short_tab(int32_t *tab, const int8_t *filter, const int32_t *bias, const int32_t *mult,
                      const int32_t *shift, int32_t oc, int32_t nc, int32_t k, int32_t out_off)
{
    for (int32_t j = 0; j < nc; ++j, ++oc) {
        const int32_t e = -1 - shift[oc];
        tab[0] = bias != 0 ? bias[oc] : 0;
        tab[1] = mult[oc];
        tab[2] = (int32_t)(1u << (e - 1)) + out_off * (int32_t)(1u << e);
        tab[3] = j + 1 == nc ? (int32_t)((uint32_t)e | 0x80000000u) : e;
        tab += 4;
        for (int32_t i = 0; i < k; i += 4) {
            const uint32_t w = ef_read_u32(filter + oc * k + i);
            tab[0] = (int32_t)__sxtb16(w);
            tab[1] = (int32_t)ef_sxtb16_ror8(w);
            tab += 2;
        }
    }
}
#endif

ef_status ef_conv_1x1_short_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                               const ef_dims *input_dims, const int8_t *input,
                               const ef_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias,
                               const ef_dims *output_dims, int8_t *output)
{
#if defined(EF_NN_USE_DSP)
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    /* the fast path's preconditions; everything else (and every argument error) goes to
     * ef_conv_1x1_s8, which checks the arguments in full */
    if (params != 0 && quant != 0 && quant->multiplier != 0 && quant->shift != 0 && input != 0 && filter != 0 &&
        output != 0 && ef_dims_valid(in) && ef_dims_valid(filter_dims) && ef_dims_valid(out) &&
        (in->c == 4 || in->c == 8) && filter_dims->h == 1 && filter_dims->w == 1 && filter_dims->c == in->c &&
        filter_dims->n == out->c && out->n == in->n && params->padding.h == 0 && params->padding.w == 0 &&
        params->dilation.h == 1 && params->dilation.w == 1 &&
        ef_out_size_ok(in->h, 1, params->stride.h, 0, out->h) &&
        ef_out_size_ok(in->w, 1, params->stride.w, 0, out->w) && ef_activation_valid(&params->activation) &&
        ef_conv_rq_fast(quant, out->c)) {
        const int32_t k = in->c;
        const int32_t sh = params->stride.h;
        const int32_t sw = params->stride.w;
        /* stride 1: every pixel follows the previous one, one run; else one run per output row */
        const int flat = sh == 1 && sw == 1;
        const int32_t runs = flat ? 1 : in->n * out->h;
        const int32_t run_px = flat ? in->n * out->h * out->w : out->w;
        int32_t tab[EF_SHORT_CHUNK * 8];
        short_job job;
        job.in_step = sw * k;
        job.dstep = out->c;
        job.off2 = ((uint32_t)(uint16_t)params->input_offset << 16) | (uint16_t)params->input_offset;
        for (int32_t oc = 0; oc < out->c; oc += EF_SHORT_CHUNK) {
            const int32_t nc = EF_MIN(EF_SHORT_CHUNK, out->c - oc);
            short_tab(tab, filter, bias, quant->multiplier, quant->shift, oc, nc, k, params->output_offset);
            job.tab = tab;
            for (int32_t r = 0; r < runs; ++r) {
                const int32_t b = r / (flat ? 1 : out->h);
                const int32_t oy = flat ? 0 : r - b * out->h;
                job.in = input + ((b * in->h + oy * sh) * in->w) * k;
                job.n = run_px;
                job.dst = output + r * run_px * out->c + oc;
                if (k == 8) {
                    short_run8(&job);
                } else {
                    short_run4(&job);
                }
            }
        }
        if (params->activation.min != -128 || params->activation.max != 127) {
            ef_nn_clamp_s8(output, in->n * out->h * out->w * out->c, params->activation.min,
                           params->activation.max);
        }
        return EF_OK;
    }
#endif
    return ef_conv_1x1_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output);
}
