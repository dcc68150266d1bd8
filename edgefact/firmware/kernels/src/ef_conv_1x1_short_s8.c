/* CONV_2D, unpadded 1x1 with a short column (4, 8, 12, 16 or 20 input channels, per group when
 * grouped: each group's pixels are its k-byte slice, in_c bytes apart) on the DSP cores.
 *
 * The generator picks this kernel only on Cortex-M4/M7/M33 for such layers (MobileNet-style
 * models at small widths, ResNet-8's 16-channel shortcut), so firmware without them (kws_dscnn)
 * does not link it. With 4-16 values per dot product, ef_conv_1x1_s8's 2x2 channel-pair engine
 * spends ~52 fixed instructions per 16-64 MACs. Here the filter of every output channel is
 * sign-extended once per call into a stack table next to its requantization constants (H and e
 * as in ef_conv_pairs_job: the output offset folded into H), and one asm loop per K walks the
 * pixels: per pixel, its K input bytes are widened once into registers (SXTAB16 with the input
 * offset); per output channel one to three LDMs fetch that channel's entry, K/2 SMLAD start from
 * the bias, the requantization and SSAT store follow (21 instructions per 8 MACs at K = 4, where
 * two pixels share each entry, 14 per 8 at K = 8, 17 per 12, 22 per 16, 25 per 20). The last entry's e has
 * bit 31 set (ASR reads only the shift register's low byte): the channel loop's end test is one
 * CMP. Any other layer (other depths,
 * a requantization off the fast path) and the portable / Helium builds run ef_conv_1x1_s8, so
 * the results are those of that kernel, bit-exact with TFLM.
 */
#include "internal/ef_conv_2px.h"

/* largest filter depth of a grouped layer outside the fast path (ef_conv_s8 on a stack scratch) */
#define EF_SHORT_GROUPED_MAX_C 64

#if defined(EF_NN_USE_DSP)

/* words of the stack table (1 KB): 256 / (4 + K/2) output channels per table */
#define EF_SHORT_TAB_WORDS 256

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

#define EF_SHORT_NEXT_PIXEL(frame)           \
    "ldr      r4, [sp, #16]\n\t"             \
    "ldr      r5, [sp, #20]\n\t"             \
    "add      r4, r4, r5\n\t"                \
    "str      r4, [sp, #16]\n\t"             \
    "ldr      r4, [sp, #8]\n\t"              \
    "subs     r4, r4, #1\n\t"                \
    "str      r4, [sp, #8]\n\t"              \
    "bne      1b\n\t"                        \
    "add      sp, sp, #" frame "\n\t"        \
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
        EF_SHORT_NEXT_PIXEL("28"));
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
        EF_SHORT_NEXT_PIXEL("28"));
}

/* K = 4, two pixels per channel entry (A at in, B at in + in_step; n pixel pairs; their outputs at
 * dst and dst + dstep, the next pair 2 * in_step / 2 * dstep on): the entry's LDM, the widened
 * filter words and the requantization constants serve both pixels, 21 instructions per 8 MACs. */
__attribute__((naked, noinline)) static void short_run4x2(const short_job *job)
{
    (void)job;
    __asm__ volatile(
        EF_SHORT_PROLOGUE
        "1:\n\t"
        "ldr      r12, [sp]\n\t"
        "ldr      r10, [sp, #4]\n\t"
        "ldr      r11, [sp, #24]\n\t"
        "ldr      r9, [r12]\n\t"
        "ldr      r8, [r12, r10]\n\t"
        "add      r12, r12, r10, lsl #1\n\t"
        "str      r12, [sp]\n\t"
        "sxtab16  r0, r11, r9\n\t"
        "sxtab16  r1, r11, r9, ror #8\n\t"
        "sxtab16  r2, r11, r8\n\t"
        "sxtab16  r3, r11, r8, ror #8\n\t"
        "ldr      r11, [sp, #20]\n\t"
        "ldr      r12, [sp, #12]\n\t"
        "ldr      lr, [sp, #16]\n\t"
        "2:\n\t"
        "ldmia    r12!, {r4, r5, r6, r7, r8, r9}\n\t"
        "smlad    r10, r0, r8, r4\n\t"
        "smlad    r10, r1, r9, r10\n\t"
        "smlad    r4, r2, r8, r4\n\t"
        "smlad    r4, r3, r9, r4\n\t"
        "add      r8, r6, r4, asr #31\n\t"
        "and      r9, r4, #0x80000000\n\t"
        "orr      r9, r9, #0x40000000\n\t"
        "smlal    r9, r8, r4, r5\n\t"
        "asr      r8, r8, r7\n\t"
        "ssat     r8, #8, r8\n\t"
        "strb     r8, [lr, r11]\n\t"
        "mov      r4, r10\n\t"
        EF_SHORT_RQ_LOOP
        "ldr      r4, [sp, #16]\n\t"
        "ldr      r5, [sp, #20]\n\t"
        "add      r4, r4, r5, lsl #1\n\t"
        "str      r4, [sp, #16]\n\t"
        "ldr      r4, [sp, #8]\n\t"
        "subs     r4, r4, #1\n\t"
        "str      r4, [sp, #8]\n\t"
        "bne      1b\n\t"
        "add      sp, sp, #28\n\t"
        "pop      {r4-r11, pc}\n\t");
}

/* The pixel's 16 input values widened with the offset: values 0-7 in r0-r3, 8-15 in r5, r6, r7, lr
 * (K = 12: 8-11 in r5, r6); the input pointer advanced; r12 the table. */
#define EF_SHORT_WIDEN8                      \
    "ldr      r12, [sp]\n\t"                 \
    "ldr      r10, [sp, #4]\n\t"             \
    "ldr      r11, [sp, #24]\n\t"            \
    "ldr      r8, [r12]\n\t"                 \
    "ldr      r9, [r12, #4]\n\t"             \
    "sxtab16  r0, r11, r8\n\t"               \
    "sxtab16  r1, r11, r8, ror #8\n\t"       \
    "sxtab16  r2, r11, r9\n\t"               \
    "sxtab16  r3, r11, r9, ror #8\n\t"

/* K = 12: entries of 10 words {bias, f02, f13, f46, f57, f8a, f9b, m, H, e}: 17 instructions per
 * 12 MACs. */
__attribute__((naked, noinline)) static void short_run12(const short_job *job)
{
    (void)job;
    __asm__ volatile(
        EF_SHORT_PROLOGUE
        "1:\n\t"
        EF_SHORT_WIDEN8
        "ldr      r8, [r12, #8]\n\t"
        "add      r12, r12, r10\n\t"
        "str      r12, [sp]\n\t"
        "sxtab16  r5, r11, r8\n\t"
        "sxtab16  r6, r11, r8, ror #8\n\t"
        "ldr      r12, [sp, #12]\n\t"
        "ldr      lr, [sp, #16]\n\t"
        "2:\n\t"
        "ldmia    r12!, {r4, r8, r9, r10, r11}\n\t"
        "smlad    r4, r0, r8, r4\n\t"
        "smlad    r4, r1, r9, r4\n\t"
        "smlad    r4, r2, r10, r4\n\t"
        "smlad    r4, r3, r11, r4\n\t"
        "ldmia    r12!, {r7, r8, r9, r10, r11}\n\t"
        "smlad    r4, r5, r7, r4\n\t"
        "smlad    r4, r6, r8, r4\n\t"
        "add      r10, r10, r4, asr #31\n\t"
        "and      r7, r4, #0x80000000\n\t"
        "orr      r7, r7, #0x40000000\n\t"
        "smlal    r7, r10, r4, r9\n\t"
        "asr      r10, r10, r11\n\t"
        "ssat     r10, #8, r10\n\t"
        "strb     r10, [lr], #1\n\t"
        "cmp      r11, #0\n\t"
        "bge      2b\n\t"
        EF_SHORT_NEXT_PIXEL("28"));
}

/* K = 16: entries of 12 words {bias, 8 filter words, m, H, e}; every register holds an input word
 * or an entry word, so the output pointer lives in a stack slot (28, the frame is 32 bytes): 22
 * instructions per 16 MACs. */
__attribute__((naked, noinline)) static void short_run16(const short_job *job)
{
    (void)job;
    __asm__ volatile(
        "push     {r4-r11, lr}\n\t"
        "sub      sp, sp, #4\n\t"
        "ldmia    r0, {r1, r2, r3, r4, r5, r6, r7}\n\t"
        "push     {r1, r2, r3, r4, r5, r6, r7}\n\t"
        "1:\n\t"
        EF_SHORT_WIDEN8
        "ldr      r8, [r12, #8]\n\t"
        "ldr      r9, [r12, #12]\n\t"
        "add      r12, r12, r10\n\t"
        "str      r12, [sp]\n\t"
        "sxtab16  r5, r11, r8\n\t"
        "sxtab16  r6, r11, r8, ror #8\n\t"
        "sxtab16  r7, r11, r9\n\t"
        "sxtab16  lr, r11, r9, ror #8\n\t"
        "ldr      r12, [sp, #12]\n\t"
        "ldr      r8, [sp, #16]\n\t"
        "str      r8, [sp, #28]\n\t"
        "2:\n\t"
        "ldmia    r12!, {r4, r8, r9, r10, r11}\n\t"
        "smlad    r4, r0, r8, r4\n\t"
        "smlad    r4, r1, r9, r4\n\t"
        "smlad    r4, r2, r10, r4\n\t"
        "smlad    r4, r3, r11, r4\n\t"
        "ldmia    r12!, {r8, r9, r10, r11}\n\t"
        "smlad    r4, r5, r8, r4\n\t"
        "smlad    r4, r6, r9, r4\n\t"
        "smlad    r4, r7, r10, r4\n\t"
        "smlad    r4, lr, r11, r4\n\t"
        "ldmia    r12!, {r8, r9, r10}\n\t"
        "add      r9, r9, r4, asr #31\n\t"
        "and      r11, r4, #0x80000000\n\t"
        "orr      r11, r11, #0x40000000\n\t"
        "smlal    r11, r9, r4, r8\n\t"
        "asr      r9, r9, r10\n\t"
        "ssat     r9, #8, r9\n\t"
        "ldr      r4, [sp, #28]\n\t"
        "strb     r9, [r4], #1\n\t"
        "str      r4, [sp, #28]\n\t"
        "cmp      r10, #0\n\t"
        "bge      2b\n\t"
        EF_SHORT_NEXT_PIXEL("32"));
}

/* K = 20: entries of 14 words {bias, 10 filter words, m, H, e}; input words 8-9 (values 16-19)
 * in stack slots 32 / 36 beside the output pointer (28; a 40-byte frame): 25 instructions per 20
 * MACs. */
__attribute__((naked, noinline)) static void short_run20(const short_job *job)
{
    (void)job;
    __asm__ volatile(
        "push     {r4-r11, lr}\n\t"
        "sub      sp, sp, #12\n\t"
        "ldmia    r0, {r1, r2, r3, r4, r5, r6, r7}\n\t"
        "push     {r1, r2, r3, r4, r5, r6, r7}\n\t"
        "1:\n\t"
        EF_SHORT_WIDEN8
        "ldr      r8, [r12, #8]\n\t"
        "ldr      r9, [r12, #12]\n\t"
        "sxtab16  r5, r11, r8\n\t"
        "sxtab16  r6, r11, r8, ror #8\n\t"
        "sxtab16  r7, r11, r9\n\t"
        "sxtab16  lr, r11, r9, ror #8\n\t"
        "ldr      r8, [r12, #16]\n\t"
        "add      r12, r12, r10\n\t"
        "str      r12, [sp]\n\t"
        "sxtab16  r9, r11, r8\n\t"
        "sxtab16  r10, r11, r8, ror #8\n\t"
        "strd     r9, r10, [sp, #32]\n\t"
        "ldr      r12, [sp, #12]\n\t"
        "ldr      r8, [sp, #16]\n\t"
        "str      r8, [sp, #28]\n\t"
        "2:\n\t"
        "ldmia    r12!, {r4, r8, r9, r10, r11}\n\t"
        "smlad    r4, r0, r8, r4\n\t"
        "smlad    r4, r1, r9, r4\n\t"
        "smlad    r4, r2, r10, r4\n\t"
        "smlad    r4, r3, r11, r4\n\t"
        "ldmia    r12!, {r8, r9, r10, r11}\n\t"
        "smlad    r4, r5, r8, r4\n\t"
        "smlad    r4, r6, r9, r4\n\t"
        "smlad    r4, r7, r10, r4\n\t"
        "smlad    r4, lr, r11, r4\n\t"
        "ldmia    r12!, {r8, r9}\n\t"
        "ldrd     r10, r11, [sp, #32]\n\t"
        "smlad    r4, r10, r8, r4\n\t"
        "smlad    r4, r11, r9, r4\n\t"
        "ldmia    r12!, {r8, r9, r10}\n\t"
        "add      r9, r9, r4, asr #31\n\t"
        "and      r11, r4, #0x80000000\n\t"
        "orr      r11, r11, #0x40000000\n\t"
        "smlal    r11, r9, r4, r8\n\t"
        "asr      r9, r9, r10\n\t"
        "ssat     r9, #8, r9\n\t"
        "ldr      r4, [sp, #28]\n\t"
        "strb     r9, [r4], #1\n\t"
        "str      r4, [sp, #28]\n\t"
        "cmp      r10, #0\n\t"
        "bge      2b\n\t"
        EF_SHORT_NEXT_PIXEL("40"));
}

/* The entries of channels oc .. oc + nc - 1 (nc >= 1), k = 4, 8, 12, 16 or 20 filter bytes each:
 * {bias, m, H, e, filter words} for k <= 8, {bias, filter words, m, H, e} above. */
static void short_tab(int32_t *tab, const int8_t *filter, const int32_t *bias, const int32_t *mult,
                      const int32_t *shift, int32_t oc, int32_t nc, int32_t k, int32_t out_off)
{
    for (int32_t j = 0; j < nc; ++j, ++oc) {
        const int32_t e = -1 - shift[oc];
        int32_t *rq = k <= 8 ? tab + 1 : tab + 1 + k / 2;
        tab[0] = bias != 0 ? bias[oc] : 0;
        rq[0] = mult[oc];
        rq[1] = (int32_t)(1u << (e - 1)) + out_off * (int32_t)(1u << e);
        rq[2] = j + 1 == nc ? (int32_t)((uint32_t)e | 0x80000000u) : e;
        int32_t *fw = k <= 8 ? tab + 4 : tab + 1;
        for (int32_t i = 0; i < k; i += 4) {
            const uint32_t w = ef_read_u32(filter + oc * k + i);
            fw[0] = (int32_t)__sxtb16(w);
            fw[1] = (int32_t)ef_sxtb16_ror8(w);
            fw += 2;
        }
        tab += 4 + k / 2;
    }
}
#endif

#if defined(EF_NN_USE_MVE)
/* Helium body (Cortex-M55; K = 4, 8, 12 or 16 input channels per group): every pixel's K bytes are
 * one 16-byte vector (a zeroing predicated load: the lanes past K are 0, nothing past the pixel is
 * read), 4 pixels in q registers per step, reused by every output channel of the table (chunks of
 * EF_SHORT_MVE_CH channels, 32 bytes each: the filter zero-padded to 16 bytes, then {bias + in_off
 * * sum(w), m, out_off * 2^e + 2^(e - 1), 24 - e} with e = -shift; the input offset in the bias, so
 * the raw input is multiplied). Per channel: VLDRB of the filter and LDM of its terms
 * (post-incremented), 4 VMLADAV, 2 VMOV into one vector of the 4 pixels' sums, VADD of the bias,
 * VSHR #31 + VADD of the offset/rounding term, VQRDMLAH of s * m onto it, VQSHL by 24 - e and
 * VSHR #24 (ef_conv_first_s8's requantization: bit-exact for multiplier >= 0, -23 <= shift <= -2);
 * two channels per asm pass, narrowed together (VMOVNT) into one VSTRB.16 scatter of 8 outputs,
 * ADD, LE: 32 instructions per 8 outputs (16 MACs each at K = 16). A run's last 1-3 pixels repeat
 * the last one (same value to the same address). K = 17-32 (any K there): two vectors per pixel,
 * the first 16 bytes of 4 pixels in q registers, the other K - 16 (zeroing predicated loads)
 * reloaded per channel into the eighth q register, VMLADAVA onto the first vector's sums: 48-byte
 * entries (21 channels per table), 57 instructions per 8 outputs (EF_SHORT_MVE_CHAN2). */
#define EF_SHORT_MVE_CH 32

static int ef_short_rq_fast(const ef_per_channel_quant *quant, int32_t channels)
{
    for (int32_t oc = 0; oc < channels; ++oc) {
        if (quant->multiplier[oc] < 0 || quant->shift[oc] > -2 || quant->shift[oc] < -23) {
            return 0;
        }
    }
    return 1;
}

static void short_mve_tab(int8_t *tab, const ef_conv_params *params, const ef_per_channel_quant *quant,
                          const int8_t *filter, const int32_t *bias, int32_t k, int32_t oc0, int32_t nc)
{
    const mve_pred16_t pk = vctp8q((uint32_t)k);
    for (int32_t j = 0; j < nc; ++j, tab += 32) {
        const int32_t ch = oc0 + j;
        const int8x16_t f = vldrbq_z_s8(filter + ch * k, pk);
        vstrbq_s8(tab, f);
        const int32_t e = -quant->shift[ch];
        int32_t *q = (int32_t *)(void *)(tab + 16);
        q[0] = (int32_t)((uint32_t)(bias != 0 ? bias[ch] : 0) +
                         (uint32_t)params->input_offset * (uint32_t)vaddvq_s8(f));
        q[1] = quant->multiplier[ch];
        q[2] = params->output_offset * (1 << e) + (1 << (e - 1));
        q[3] = 24 - e;
    }
}

/* K = 17-32: 48-byte entries, the filter in two vectors (the second zero-padded past K), then the
 * terms as above. */
static void short_mve_tab2(int8_t *tab, const ef_conv_params *params, const ef_per_channel_quant *quant,
                           const int8_t *filter, const int32_t *bias, int32_t k, int32_t oc0, int32_t nc)
{
    const mve_pred16_t pk = vctp8q((uint32_t)(k - 16));
    for (int32_t j = 0; j < nc; ++j, tab += 48) {
        const int32_t ch = oc0 + j;
        const int8x16_t f0 = vldrbq_s8(filter + ch * k);
        const int8x16_t f1 = vldrbq_z_s8(filter + ch * k + 16, pk);
        vstrbq_s8(tab, f0);
        vstrbq_s8(tab + 16, f1);
        const int32_t e = -quant->shift[ch];
        int32_t *q = (int32_t *)(void *)(tab + 32);
        q[0] = (int32_t)((uint32_t)(bias != 0 ? bias[ch] : 0) +
                         (uint32_t)params->input_offset * (uint32_t)(vaddvq_s8(f0) + vaddvq_s8(f1)));
        q[1] = quant->multiplier[ch];
        q[2] = params->output_offset * (1 << e) + (1 << (e - 1));
        q[3] = 24 - e;
    }
}

/* One output channel's 4 sums requantized into T (the table entry at r10, post-incremented; 4
 * pixels in x0-x3; s a temporary, f the filter). */
#define EF_SHORT_MVE_CHAN(T)                                      \
    "vldrb.u8 %q[f], [r10], #16\n\t"                              \
    "ldm      r10!, {r1, r3, r5, r9}\n\t"                         \
    "vmladav.s8 r0, %q[x0], %q[f]\n\t"                            \
    "vmladav.s8 r2, %q[x1], %q[f]\n\t"                            \
    "vmladav.s8 r4, %q[x2], %q[f]\n\t"                            \
    "vmladav.s8 r8, %q[x3], %q[f]\n\t"                            \
    "vmov     %q[s][2], %q[s][0], r0, r4\n\t"                     \
    "vmov     %q[s][3], %q[s][1], r2, r8\n\t"                     \
    "vadd.i32 %q[s], %q[s], r1\n\t"                               \
    "vshr.s32 " T ", %q[s], #31\n\t"                              \
    "vadd.i32 " T ", " T ", r5\n\t"                               \
    "vqrdmlah.s32 " T ", %q[s], r3\n\t"                           \
    "vqshl.s32 " T ", r9\n\t"                                     \
    "vshr.s32 " T ", " T ", #24\n\t"

/* Channel pairs (lr of them, possibly 0) at d = r11 (the first pixel's output, +2 per pair): the
 * second channel's results narrowed into the odd halfwords of the first's (VMOVNT), one VSTRB.16
 * scatter of the 8 outputs (o: halfword offsets {0, 1, oc, oc + 1, ...}): 32 instructions per 8
 * outputs. */
#define EF_SHORT_MVE_PAIRS                                        \
    "wls      lr, lr, 3f\n"                                       \
    "1:\n\t"                                                      \
    EF_SHORT_MVE_CHAN("%q[t]")                                    \
    EF_SHORT_MVE_CHAN("%q[f]")                                    \
    "vmovnt.i32 %q[t], %q[f]\n\t"                                 \
    "vstrb.16 %q[t], [r11, %q[o]]\n\t"                            \
    "add      r11, r11, #2\n\t"                                   \
    "le       lr, 1b\n"                                           \
    "3:\n\t"

/* A run's full groups of 4 pixels, the state in memory (r12) between groups: {tab, dst, pairs, p,
 * step, 4 * dstep - nc, groups, odd, pk}; P0 = pk, the K-byte pixel predicate. Per group: the 4
 * pixel loads (one VPST block), the channel pairs, an odd last channel (its even halfword lanes
 * stored, P0 = 0x3333 for that store), the pointer updates (21 instructions besides the channels). */
typedef struct {
    const int8_t *tab;
    int8_t *dst;
    int32_t pairs;
    const int8_t *p;
    int32_t step;
    int32_t adv;
    int32_t groups;
    int32_t odd;
    uint32_t pk;
} short_mve_job;

static void short_mve_groups(short_mve_job *job, uint16x8_t o)
{
    register short_mve_job *jp __asm__("r12") = job;
    int8x16_t x0, x1, x2, x3, f;
    int32x4_t sv, tv;
    __asm__ volatile("ldr      r0, [r12, #32]\n\t"
                     "vmsr     p0, r0\n"
                     "2:\n\t"
                     "ldrd     r0, r1, [r12, #12]\n\t"
                     "add      r2, r0, r1\n\t"
                     "add      r3, r2, r1\n\t"
                     "add      r4, r3, r1\n\t"
                     "add      r5, r4, r1\n\t"
                     "str      r5, [r12, #12]\n\t"
                     "vpstttt\n\t"
                     "vldrbt.8 %q[x0], [r0]\n\t"
                     "vldrbt.8 %q[x1], [r2]\n\t"
                     "vldrbt.8 %q[x2], [r3]\n\t"
                     "vldrbt.8 %q[x3], [r4]\n\t"
                     "ldm      r12, {r10, r11, lr}\n\t"
                     EF_SHORT_MVE_PAIRS
                     "ldr      r0, [r12, #28]\n\t"
                     "cbz      r0, 4f\n\t"
                     EF_SHORT_MVE_CHAN("%q[t]")
                     "movw     r0, #0x3333\n\t"
                     "vmsr     p0, r0\n\t"
                     "vpst\n\t"
                     "vstrbt.16 %q[t], [r11, %q[o]]\n\t"
                     "add      r11, r11, #1\n\t"
                     "ldr      r0, [r12, #32]\n\t"
                     "vmsr     p0, r0\n"
                     "4:\n\t"
                     "ldrd     r0, r1, [r12, #20]\n\t"
                     "add      r11, r11, r0\n\t"
                     "str      r11, [r12, #4]\n\t"
                     "subs     r1, r1, #1\n\t"
                     "str      r1, [r12, #24]\n\t"
                     "bne      2b\n\t"
                     : [x0] "=&w"(x0), [x1] "=&w"(x1), [x2] "=&w"(x2), [x3] "=&w"(x3), [f] "=&w"(f),
                       [s] "=&w"(sv), [t] "=&w"(tv)
                     : [o] "w"(o), "r"(jp)
                     : "r0", "r1", "r2", "r3", "r4", "r5", "r8", "r9", "r10", "r11", "lr", "p0", "memory");
    (void)x0;
    (void)x1;
    (void)x2;
    (void)x3;
    (void)f;
    (void)sv;
    (void)tv;
}

/* A run's last 1-3 pixels (npx) from p, step bytes apart: the lanes past them repeat the last pixel
 * and its output addresses (the same values stored twice); an odd last channel in C. */
static void short_mve_tail(const int8_t *p, int32_t step, int32_t npx, int8_t *dst, int32_t dstep,
                           const int8_t *tab, int32_t nc, uint16x8_t offs, mve_pred16_t pk)
{
    const int8x16_t x0 = vldrbq_z_s8(p, pk);
    const int8x16_t x1 = npx > 1 ? vldrbq_z_s8(p + step, pk) : x0;
    const int8x16_t x2 = npx > 2 ? vldrbq_z_s8(p + 2 * step, pk) : x1;
    const int8x16_t x3 = x2;
    const uint16x8_t lo = vandq_u16(vidupq_n_u16(0, 1), vdupq_n_u16(1));
    const uint16x8_t o = vminq_u16(offs, vaddq_u16(lo, vdupq_n_u16((uint16_t)((npx - 1) * dstep))));
    register const int8_t *tp __asm__("r10") = tab;
    register int8_t *d __asm__("r11") = dst;
    register int32_t n __asm__("lr") = nc >> 1;
    int8x16_t f;
    int32x4_t sv, tv;
    __asm__ volatile(EF_SHORT_MVE_PAIRS
                     : "+r"(tp), "+r"(d), "+r"(n), [f] "=&w"(f), [s] "=&w"(sv), [t] "=&w"(tv)
                     : [x0] "w"(x0), [x1] "w"(x1), [x2] "w"(x2), [x3] "w"(x3), [o] "w"(o)
                     : "r0", "r1", "r2", "r3", "r4", "r5", "r8", "r9", "memory");
    if (nc & 1) {
        const int32_t *q = (const int32_t *)(const void *)(tp + 16);
        const int8x16_t w = vldrbq_s8(tp);
        int32_t a[4];
        a[0] = vmladavq_s8(x0, w);
        a[1] = vmladavq_s8(x1, w);
        a[2] = vmladavq_s8(x2, w);
        a[3] = vmladavq_s8(x3, w);
        const int32x4_t sum = vaddq_n_s32(vldrwq_s32(a), q[0]);
        int32x4_t t = vaddq_n_s32(vshrq_n_s32(sum, 31), q[2]);
        t = vqrdmlahq_n_s32(t, sum, q[1]);
        t = vshrq_n_s32(vqshlq_r_s32(t, q[3]), 24);
        const uint32x4_t o32 = vminq_u32(vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)dstep),
                                         vdupq_n_u32((uint32_t)((npx - 1) * dstep)));
        vstrbq_scatter_offset_s32(d, o32, t);
    }
    (void)f;
    (void)sv;
    (void)tv;
}

/* K = 17-32: two vectors per pixel, the first 16 bytes of 4 pixels in q registers (x0-x3), the
 * rest (K - 16 bytes, a zeroing predicated load under P0 = vctp8(K - 16)) reloaded per channel into
 * the eighth register (b) from the 4 pointers in the job's first words (LDM); the scatter offsets
 * also reloaded into b before each store. One output channel's 4 sums requantized into T (the
 * 48-byte entry at r10: 2 filter vectors, then the terms as above). */
#define EF_SHORT_MVE_CHAN2(T)                                     \
    "ldm      r12, {r1, r3, r5, r9}\n\t"                          \
    "vldrb.u8 %q[f], [r10], #16\n\t"                              \
    "vmladav.s8 r0, %q[x0], %q[f]\n\t"                            \
    "vmladav.s8 r2, %q[x1], %q[f]\n\t"                            \
    "vmladav.s8 r4, %q[x2], %q[f]\n\t"                            \
    "vmladav.s8 r8, %q[x3], %q[f]\n\t"                            \
    "vldrb.u8 %q[f], [r10], #16\n\t"                              \
    "vpstttt\n\t"                                                 \
    "vldrbt.u8 %q[b], [r1]\n\t"                                   \
    "vmladavat.s8 r0, %q[b], %q[f]\n\t"                           \
    "vldrbt.u8 %q[b], [r3]\n\t"                                   \
    "vmladavat.s8 r2, %q[b], %q[f]\n\t"                           \
    "vpstttt\n\t"                                                 \
    "vldrbt.u8 %q[b], [r5]\n\t"                                   \
    "vmladavat.s8 r4, %q[b], %q[f]\n\t"                           \
    "vldrbt.u8 %q[b], [r9]\n\t"                                   \
    "vmladavat.s8 r8, %q[b], %q[f]\n\t"                           \
    "ldm      r10!, {r1, r3, r5, r9}\n\t"                         \
    "vmov     %q[s][2], %q[s][0], r0, r4\n\t"                     \
    "vmov     %q[s][3], %q[s][1], r2, r8\n\t"                     \
    "vadd.i32 %q[s], %q[s], r1\n\t"                               \
    "vshr.s32 " T ", %q[s], #31\n\t"                              \
    "vadd.i32 " T ", " T ", r5\n\t"                               \
    "vqrdmlah.s32 " T ", %q[s], r3\n\t"                           \
    "vqshl.s32 " T ", r9\n\t"                                     \
    "vshr.s32 " T ", " T ", #24\n\t"

/* The K = 17-32 groups' state (r12): {4 second-half pointers, tab, dst, pairs, p, step, 4 * dstep -
 * nc, groups, odd, pk, the scatter offsets}. */
typedef struct {
    const int8_t *bp[4];
    const int8_t *tab;
    int8_t *dst;
    int32_t pairs;
    const int8_t *p;
    int32_t step;
    int32_t adv;
    int32_t groups;
    int32_t odd;
    uint32_t pk;
    uint16_t o[8];
} short_mve_job2;

static void short_mve_groups2(short_mve_job2 *job)
{
    register short_mve_job2 *jp __asm__("r12") = job;
    int8x16_t x0, x1, x2, x3, f, b;
    int32x4_t sv, tv;
    __asm__ volatile("ldr      r0, [r12, #48]\n\t"
                     "vmsr     p0, r0\n"
                     "2:\n\t"
                     "ldrd     r0, r1, [r12, #28]\n\t"
                     "add      r2, r0, r1\n\t"
                     "add      r3, r2, r1\n\t"
                     "add      r4, r3, r1\n\t"
                     "add      r5, r4, r1\n\t"
                     "str      r5, [r12, #28]\n\t"
                     "vldrb.u8 %q[x0], [r0]\n\t"
                     "vldrb.u8 %q[x1], [r2]\n\t"
                     "vldrb.u8 %q[x2], [r3]\n\t"
                     "vldrb.u8 %q[x3], [r4]\n\t"
                     "add      r1, r0, #16\n\t"
                     "add      r5, r3, #16\n\t"
                     "add      r3, r2, #16\n\t"
                     "add      r9, r4, #16\n\t"
                     "stm      r12, {r1, r3, r5, r9}\n\t"
                     "add      r0, r12, #16\n\t"
                     "ldm      r0, {r10, r11, lr}\n\t"
                     "wls      lr, lr, 3f\n"
                     "1:\n\t"
                     EF_SHORT_MVE_CHAN2("%q[t]")
                     EF_SHORT_MVE_CHAN2("%q[f]")
                     "vmovnt.i32 %q[t], %q[f]\n\t"
                     "vldrh.u16 %q[b], [r12, #52]\n\t"
                     "vstrb.16 %q[t], [r11, %q[b]]\n\t"
                     "add      r11, r11, #2\n\t"
                     "le       lr, 1b\n"
                     "3:\n\t"
                     "ldr      r0, [r12, #44]\n\t"
                     "cmp      r0, #0\n\t"
                     "beq      4f\n\t"
                     EF_SHORT_MVE_CHAN2("%q[t]")
                     "vldrh.u16 %q[b], [r12, #52]\n\t"
                     "movw     r0, #0x3333\n\t"
                     "vmsr     p0, r0\n\t"
                     "vpst\n\t"
                     "vstrbt.16 %q[t], [r11, %q[b]]\n\t"
                     "add      r11, r11, #1\n\t"
                     "ldr      r0, [r12, #48]\n\t"
                     "vmsr     p0, r0\n"
                     "4:\n\t"
                     "ldrd     r0, r1, [r12, #36]\n\t"
                     "add      r11, r11, r0\n\t"
                     "str      r11, [r12, #20]\n\t"
                     "subs     r1, r1, #1\n\t"
                     "str      r1, [r12, #40]\n\t"
                     "bne      2b\n\t"
                     : [x0] "=&w"(x0), [x1] "=&w"(x1), [x2] "=&w"(x2), [x3] "=&w"(x3), [f] "=&w"(f),
                       [b] "=&w"(b), [s] "=&w"(sv), [t] "=&w"(tv)
                     : "r"(jp)
                     : "r0", "r1", "r2", "r3", "r4", "r5", "r8", "r9", "r10", "r11", "lr", "p0", "memory");
    (void)x0;
    (void)x1;
    (void)x2;
    (void)x3;
    (void)f;
    (void)b;
    (void)sv;
    (void)tv;
}

/* K = 17-32: a run's last 1-3 pixels (npx), every channel in C, the lanes past them repeating the
 * last pixel and its output address. */
static void short_mve_tail2(const int8_t *p, int32_t step, int32_t npx, int8_t *dst, int32_t dstep,
                            const int8_t *tab, int32_t nc, mve_pred16_t pk)
{
    int8x16_t xa[4], xb[4];
    for (int32_t i = 0; i < 4; ++i) {
        const int8_t *q = p + EF_MIN(i, npx - 1) * step;
        xa[i] = vldrbq_s8(q);
        xb[i] = vldrbq_z_s8(q + 16, pk);
    }
    const uint32x4_t o32 = vminq_u32(vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)dstep),
                                     vdupq_n_u32((uint32_t)((npx - 1) * dstep)));
    for (int32_t j = 0; j < nc; ++j, tab += 48) {
        const int32_t *q = (const int32_t *)(const void *)(tab + 32);
        const int8x16_t w0 = vldrbq_s8(tab);
        const int8x16_t w1 = vldrbq_s8(tab + 16);
        int32_t a[4];
        for (int32_t i = 0; i < 4; ++i) {
            a[i] = vmladavaq_s8(vmladavq_s8(xa[i], w0), xb[i], w1);
        }
        const int32x4_t sum = vaddq_n_s32(vldrwq_s32(a), q[0]);
        int32x4_t t = vaddq_n_s32(vshrq_n_s32(sum, 31), q[2]);
        t = vqrdmlahq_n_s32(t, sum, q[1]);
        t = vshrq_n_s32(vqshlq_r_s32(t, q[3]), 24);
        vstrbq_scatter_offset_s32(dst + j, o32, t);
    }
}

/* K = 17-32: as short_mve_run. */
static void short_mve_run2(const int8_t *p, int32_t step, int32_t npx, int8_t *dst, int32_t dstep,
                           const int8_t *tab, int32_t nc, uint16x8_t offs, mve_pred16_t pk)
{
    const int32_t groups = npx >> 2;
    {
        if (groups > 0) {
            short_mve_job2 job = {{0, 0, 0, 0}, tab, dst, nc >> 1, p, step, 4 * dstep - nc, groups, nc & 1,
                                  (uint32_t)pk, {0}};
            vstrhq_u16(job.o, offs);
            short_mve_groups2(&job);
        }
        if (npx & 3) {
            short_mve_tail2(p + groups * 4 * step, step, npx & 3, dst + groups * 4 * dstep, dstep, tab, nc, pk);
        }
    }
}

/* npx >= 1 pixels step bytes apart from p, their outputs dstep bytes apart from dst; the table's nc
 * channels. */
static void short_mve_run(const int8_t *p, int32_t step, int32_t npx, int8_t *dst, int32_t dstep,
                          const int8_t *tab, int32_t nc, uint16x8_t offs, mve_pred16_t pk)
{
    const int32_t groups = npx >> 2;
    if (groups > 0) {
        short_mve_job job = {tab, dst, nc >> 1, p, step, 4 * dstep - nc, groups, nc & 1, (uint32_t)pk};
        short_mve_groups(&job, offs);
    }
    if (npx & 3) {
        short_mve_tail(p + groups * 4 * step, step, npx & 3, dst + groups * 4 * dstep, dstep, tab, nc, offs, pk);
    }
}

static void short_mve(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                      const int8_t *input, const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                      const ef_dims *out, int8_t *output)
{
    const int32_t k = filter_dims->c; /* per group: groups of k input channels, opg outputs */
    const int32_t opg = out->c / (in->c / k);
    const int32_t sh = params->stride.h;
    const int32_t sw = params->stride.w;
    const int flat = sh == 1 && sw == 1;
    const int32_t runs = flat ? 1 : in->n * out->h;
    const int32_t run_px = flat ? in->n * out->h * out->w : out->w;
    const int32_t step = sw * in->c;
    const mve_pred16_t pk = vctp8q((uint32_t)(k > 16 ? k - 16 : k));
    const int32_t chunk = k > 16 ? EF_SHORT_MVE_CH * 2 / 3 : EF_SHORT_MVE_CH; /* 48-byte entries */
    /* halfword lanes {0, 1, oc, oc + 1, 2 oc, 2 oc + 1, 3 oc, 3 oc + 1} (out->c < 21845: checked) */
    const uint16x8_t idx = vidupq_n_u16(0, 1);
    const uint16x8_t offs = vaddq_u16(vmulq_n_u16(vshrq_n_u16(idx, 1), (uint16_t)out->c),
                                      vandq_u16(idx, vdupq_n_u16(1)));
    int32_t tab32[EF_SHORT_MVE_CH * 8];
    int8_t *tab = (int8_t *)tab32;
    for (int32_t oc = 0; oc < out->c; oc += EF_MIN(chunk, opg - oc % opg)) {
        const int32_t nc = EF_MIN(chunk, opg - oc % opg);
        const int8_t *in_g = input + oc / opg * k;
        if (k > 16) {
            short_mve_tab2(tab, params, quant, filter, bias, k, oc, nc);
        } else {
            short_mve_tab(tab, params, quant, filter, bias, k, oc, nc);
        }
        for (int32_t r = 0; r < runs; ++r) {
            const int32_t b = r / (flat ? 1 : out->h);
            const int32_t oy = flat ? 0 : r - b * out->h;
            const int8_t *p = in_g + ((b * in->h + oy * sh) * in->w) * in->c;
            int8_t *d = output + r * run_px * out->c + oc;
            if (k > 16) {
                short_mve_run2(p, step, run_px, d, out->c, tab, nc, offs, pk);
            } else {
                short_mve_run(p, step, run_px, d, out->c, tab, nc, offs, pk);
            }
        }
    }
    if (params->activation.min > -128 || params->activation.max < 127) { /* one clamp pass */
        const int8x16_t lo = vdupq_n_s8((int8_t)params->activation.min);
        const int8x16_t hi = vdupq_n_s8((int8_t)params->activation.max);
        const int32_t n = in->n * out->h * out->w * out->c;
        int8_t *q = output;
        for (int32_t i = n >> 4; i > 0; --i, q += 16) {
            vstrbq_s8(q, vminq_s8(vmaxq_s8(vldrbq_s8(q), lo), hi));
        }
        if (n & 15) {
            const mve_pred16_t p = vctp8q((uint32_t)(n & 15));
            vstrbq_p_s8(q, vminq_s8(vmaxq_s8(vldrbq_z_s8(q, p), lo), hi), p);
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
        (filter_dims->c & 3) == 0 && filter_dims->c <= 20 && filter_dims->h == 1 && filter_dims->w == 1 &&
        in->c % filter_dims->c == 0 && out->c % (in->c / filter_dims->c) == 0 &&
        filter_dims->n == out->c && out->n == in->n && params->padding.h == 0 && params->padding.w == 0 &&
        params->dilation.h == 1 && params->dilation.w == 1 &&
        ef_out_size_ok(in->h, 1, params->stride.h, 0, out->h) &&
        ef_out_size_ok(in->w, 1, params->stride.w, 0, out->w) && ef_activation_valid(&params->activation) &&
        ef_conv_rq_fast(quant, out->c)) {
        const int32_t k = filter_dims->c; /* per group: groups of k input channels, opg outputs */
        const int32_t opg = out->c / (in->c / k);
        const int32_t sh = params->stride.h;
        const int32_t sw = params->stride.w;
        /* stride 1: every pixel follows the previous one, one run; else one run per output row */
        const int flat = sh == 1 && sw == 1;
        const int32_t runs = flat ? 1 : in->n * out->h;
        const int32_t run_px = flat ? in->n * out->h * out->w : out->w;
        const int32_t chunk = EF_SHORT_TAB_WORDS / (4 + k / 2);
        int32_t tab[EF_SHORT_TAB_WORDS];
        short_job job;
        job.in_step = sw * in->c;
        job.dstep = out->c;
        job.off2 = ((uint32_t)(uint16_t)params->input_offset << 16) | (uint16_t)params->input_offset;
        for (int32_t oc = 0; oc < out->c; oc += EF_MIN(chunk, opg - oc % opg)) {
            /* channel chunks inside a group: the group's input channels are those of oc */
            const int32_t nc = EF_MIN(chunk, opg - oc % opg);
            const int8_t *in_g = input + oc / opg * k;
            short_tab(tab, filter, bias, quant->multiplier, quant->shift, oc, nc, k, params->output_offset);
            job.tab = tab;
            for (int32_t r = 0; r < runs; ++r) {
                const int32_t b = r / (flat ? 1 : out->h);
                const int32_t oy = flat ? 0 : r - b * out->h;
                job.in = in_g + ((b * in->h + oy * sh) * in->w) * in->c;
                job.n = run_px;
                job.dst = output + r * run_px * out->c + oc;
                if (k == 4) {
                    if (run_px > 1) {
                        job.n = run_px >> 1;
                        short_run4x2(&job);
                    }
                    if (run_px & 1) { /* the odd last pixel */
                        job.in += (run_px - 1) * job.in_step;
                        job.dst += (run_px - 1) * job.dstep;
                        job.n = 1;
                        short_run4(&job);
                    }
                } else if (k == 8) {
                    short_run8(&job);
                } else if (k == 12) {
                    short_run12(&job);
                } else if (k == 16) {
                    short_run16(&job);
                } else {
                    short_run20(&job);
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
#if defined(EF_NN_USE_MVE)
    {
        const ef_dims *in = input_dims;
        const ef_dims *out = output_dims;
        /* the Helium path's preconditions (as the DSP path's, K <= 16); everything else goes on */
        if (params != 0 && quant != 0 && quant->multiplier != 0 && quant->shift != 0 && input != 0 &&
            filter != 0 && output != 0 && ef_dims_valid(in) && ef_dims_valid(filter_dims) && ef_dims_valid(out) &&
            (((filter_dims->c & 3) == 0 && filter_dims->c <= 16) || (filter_dims->c > 16 && filter_dims->c <= 32)) &&
            filter_dims->h == 1 && filter_dims->w == 1 &&
            in->c % filter_dims->c == 0 && out->c % (in->c / filter_dims->c) == 0 &&
            filter_dims->n == out->c && out->n == in->n && params->padding.h == 0 && params->padding.w == 0 &&
            params->dilation.h == 1 && params->dilation.w == 1 &&
            ef_out_size_ok(in->h, 1, params->stride.h, 0, out->h) &&
            ef_out_size_ok(in->w, 1, params->stride.w, 0, out->w) && ef_activation_valid(&params->activation) &&
            out->c <= 21000 && ef_short_rq_fast(quant, out->c)) {
            short_mve(params, quant, in, input, filter_dims, filter, bias, out, output);
            return EF_OK;
        }
    }
#endif
    if (input_dims != 0 && filter_dims != 0 && filter_dims->c != input_dims->c) {
        /* grouped: the generic kernel, on a stack scratch of its 1x1 size (4 * filter c bytes) */
        uint32_t scratch[EF_SHORT_GROUPED_MAX_C];
        const ef_context ctx = {scratch, (int32_t)sizeof scratch};
        if (filter_dims->h != 1 || filter_dims->w != 1 || filter_dims->c > EF_SHORT_GROUPED_MAX_C) {
            return EF_ERR_UNSUPPORTED;
        }
        return ef_conv_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, &ctx);
    }
    return ef_conv_1x1_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output);
}
