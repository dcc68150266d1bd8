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
 * a requantization off the fast path) and the portable build run ef_conv_1x1_s8, so the results
 * are those of that kernel, bit-exact with TFLM. The Helium body (Cortex-M55, any depth up to 48)
 * is described below, above its code.
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
/* Helium body (Cortex-M55; K = 1-48 input channels per group, nv = ceil(K / 16) vectors per
 * pixel). 4 pixels at a time (lanes = pixels): each 16-byte chunk j of their K bytes is loaded
 * into q0-q3 (the last chunk by zeroing predicated loads: the lanes past K are 0, nothing past
 * the pixel is read), and the output channels stream past them from stack tables (a chunk of
 * channels per EF_SHORT_MVE_TAB_BYTES):
 *   W: per channel 7 words {b, m, b, H, b, 24 - e, b}, b = bias + in_off * sum(w) (the raw input
 *      is multiplied), e = -shift, H = out_off * 2^e + 2^(e - 1);
 *   F: per chunk j and channel the 16 filter bytes of chunk j (zero past K);
 *   B: per channel 7 words, W with the 4 pixels' partial sums in place of the bias (nv > 1);
 *   O: per quad of channels the 16 store offsets.
 * One LDM {r0-r5, r8} loads the 4 sums' start into r0, r2, r4, r8 and m, H, 24 - e into r1, r3,
 * r5. Chunk 0 of nv > 1 (phase A): LDM of W, VLDRB of the filter chunk, 4 VMLADAVA, STM into B
 * (7 instructions per channel); a middle chunk: LDM and STM of B (7); the last chunk: LDM of B
 * (of W when nv = 1), VLDRB, 4 VMLADAVA, 2 VMOV into one vector of the 4 sums, VSHR #31 + VADD
 * of H, VQRDMLAH by m, VQSHL by 24 - e (ef_conv_first_s8's requantization, the result left in
 * each lane's top byte). Four channels are narrowed together (2 VSHRNB.I32 #16, 1 VSHRNB.I16 #8)
 * into 16 bytes, {c1, c3, c0, c2} per pixel, stored by one VSTRB.8 scatter through the quad's
 * 8-bit offsets (3 out_c + the chunk's channels <= 256; wider outputs are stored 4 groups at a
 * time into a stack block, pixels ne apart, and copied out): 54 instructions per 16 outputs. A
 * last partial quad repeats the chunk's last channel (entries and offsets: the same value stored
 * twice). A run's groups of 4 pixels are one asm loop (15 instructions per group besides the
 * quads at nv = 1); its last 1-3 pixels are the last 4 again (the overlap rewrites the same
 * values); a run of fewer than 4 pixels goes pixel by pixel (4 lanes of the same pixel and
 * address). */
#define EF_SHORT_MVE_TAB_BYTES 3328

/* the job the asm loops read (r12); its byte offsets are in the asm */
typedef struct {
    int32_t adv;       /*  0: bytes between groups' outputs (4 out_c) */
    int32_t step;      /*  4: bytes between a group's pixels */
    const int32_t *w;  /*  8: W */
    const int8_t *f;   /* 12: F (chunk 0, then the others, 16 * ne bytes each) */
    int32_t nq;        /* 16: quads of channel entries (ne = 4 nq) */
    int32_t *b;        /* 20: B */
    const uint8_t *o;  /* 24: O */
    uint32_t pk;       /* 28: the last chunk's byte predicate */
    int32_t groups;    /* 32: groups of 4 pixels (counted down by the nv > 1 loop) */
    int32_t step4;     /* 36: bytes between groups' inputs */
    int32_t lastoff;   /* 40: 16 (nv - 1) */
    const int8_t *p0;  /* 44: the first group's first pixel */
    int8_t *dst;       /* 48: the first group's first output */
} short_mve_job;

typedef char short_mve_job_layout[(sizeof(short_mve_job) == 52 && sizeof(void *) == 4) ? 1 : -1];

/* one filter chunk (F, r10) into the 4 pixels' sums r0 / r2 / r4 / r8 */
#define EF_SMVE_DOT4                                 \
    "vldrb.u8 q4, [r10], #16\n\t"                    \
    "vmladava.s8 r0, q0, q4\n\t"                     \
    "vmladava.s8 r2, q1, q4\n\t"                     \
    "vmladava.s8 r4, q2, q4\n\t"                     \
    "vmladava.s8 r8, q3, q4\n\t"

/* One output channel of the last chunk: the 4 sums' start and the constants from r7 (post-
 * incremented), the filter chunk from r10, the requantized lanes (top bytes) in T. */
#define EF_SMVE_CH(T)                                \
    "ldm      r7!, {r0, r1, r2, r3, r4, r5, r8}\n\t" \
    EF_SMVE_DOT4                                     \
    "vmov     q5[2], q5[0], r0, r4\n\t"              \
    "vmov     q5[3], q5[1], r2, r8\n\t"              \
    "vshr.s32 " T ", q5, #31\n\t"                    \
    "vadd.i32 " T ", " T ", r3\n\t"                  \
    "vqrdmlah.s32 " T ", q5, r1\n\t"                 \
    "vqshl.s32 " T ", r5\n\t"

/* A quad of channels narrowed into q7 ({c1, c3, c0, c2} per pixel) and stored at r11 through the
 * quad's offsets (r12, post-incremented): one 8-bit-offset scatter. */
#define EF_SMVE_QUAD                                 \
    EF_SMVE_CH("q6")                                 \
    EF_SMVE_CH("q4")                                 \
    "vshrnb.i32 q6, q4, #16\n\t"                     \
    EF_SMVE_CH("q7")                                 \
    EF_SMVE_CH("q4")                                 \
    "vshrnb.i32 q7, q4, #16\n\t"                     \
    "vshrnb.i16 q7, q6, #8\n\t"
#define EF_SMVE_STORE8                               \
    "vldrb.u8 q4, [r12], #16\n\t"                    \
    "vstrb.8  q7, [r11, q4]\n\t"

/* phase A (chunk 0 of nv > 1): W (r9) and F (r10) in, B (r7) out */
#define EF_SMVE_A                                    \
    "ldm      r9!, {r0, r1, r2, r3, r4, r5, r8}\n\t" \
    EF_SMVE_DOT4                                     \
    "stm      r7!, {r0, r1, r2, r3, r4, r5, r8}\n\t"

/* a middle chunk: B (r7) in and out */
#define EF_SMVE_M                                    \
    "ldm      r7, {r0, r1, r2, r3, r4, r5, r8}\n\t"  \
    EF_SMVE_DOT4                                     \
    "stm      r7!, {r0, r1, r2, r3, r4, r5, r8}\n\t"

/* nv = 1: the job's groups (r12 the job, then the quads' offsets, which end where the job begins:
 * r12 is the job again after the quads; r6 the group's first pixel, r9 the groups left, r11 the
 * group's first output); q0-q3 the pixels, q4 the filter chunk (then a channel's result), q5 the
 * sums, q6 / q7 the narrowed results. 15 instructions per group besides the quads. */
#define EF_SMVE_ONE(STORE)                           \
    "push     {r4-r11, lr}\n\t"                      \
    "vpush    {d8-d15}\n\t"                          \
    "mov      r12, r0\n\t"                           \
    "ldr      r0, [r12]\n\t"                         \
    "ldrd     r6, r11, [r12, #44]\n\t"               \
    "sub      r11, r11, r0\n\t"                      \
    "ldr      r9, [r12, #32]\n\t"                    \
    "ldr      r0, [r12, #28]\n\t"                    \
    "vmsr     p0, r0\n"                              \
    "2:\n\t"                                         \
    "ldm      r12, {r0, r1, r7, r10, lr}\n\t"        \
    "add      r11, r11, r0\n\t"                      \
    "add      r2, r6, r1\n\t"                        \
    "add      r3, r2, r1\n\t"                        \
    "add      r4, r3, r1\n\t"                        \
    "vpstttt\n\t"                                    \
    "vldrbt.u8 q0, [r6]\n\t"                         \
    "vldrbt.u8 q1, [r2]\n\t"                         \
    "vldrbt.u8 q2, [r3]\n\t"                         \
    "vldrbt.u8 q3, [r4]\n\t"                         \
    "add      r6, r4, r1\n\t"                        \
    "ldr      r12, [r12, #24]\n\t"                   \
    "dls      lr, lr\n"                              \
    "1:\n\t"                                         \
    EF_SMVE_QUAD                                     \
    STORE                                            \
    "le       lr, 1b\n\t"                            \
    "subs     r9, r9, #1\n\t"                        \
    "bne      2b\n\t"                                \
    "vpop     {d8-d15}\n\t"                          \
    "pop      {r4-r11, pc}\n\t"

/* nv > 1: as EF_SMVE_ONE, the groups counted in the job; per group phase A over chunk 0, the
 * middle chunks (r9 the chunk's byte offset), the last chunk's quads. */
#define EF_SMVE_MULTI(STORE)                         \
    "push     {r4-r11, lr}\n\t"                      \
    "vpush    {d8-d15}\n\t"                          \
    "mov      r12, r0\n\t"                           \
    "ldr      r0, [r12]\n\t"                         \
    "ldrd     r6, r11, [r12, #44]\n\t"               \
    "sub      r11, r11, r0\n\t"                      \
    "ldr      r0, [r12, #28]\n\t"                    \
    "vmsr     p0, r0\n"                              \
    "2:\n\t"                                         \
    "ldm      r12, {r0, r1, r9, r10, lr}\n\t"        \
    "add      r11, r11, r0\n\t"                      \
    "add      r2, r6, r1\n\t"                        \
    "add      r3, r2, r1\n\t"                        \
    "add      r4, r3, r1\n\t"                        \
    "vldrb.u8 q0, [r6]\n\t"                          \
    "vldrb.u8 q1, [r2]\n\t"                          \
    "vldrb.u8 q2, [r3]\n\t"                          \
    "vldrb.u8 q3, [r4]\n\t"                          \
    "ldr      r7, [r12, #20]\n\t"                    \
    "dls      lr, lr\n"                              \
    "3:\n\t"                                         \
    EF_SMVE_A EF_SMVE_A EF_SMVE_A EF_SMVE_A          \
    "le       lr, 3b\n\t"                            \
    "mov      r9, #16\n"                             \
    "4:\n\t"                                         \
    "ldr      r0, [r12, #40]\n\t"                    \
    "ldr      r1, [r12, #4]\n\t"                     \
    "add      r5, r6, r9\n\t"                        \
    "add      r2, r5, r1\n\t"                        \
    "add      r3, r2, r1\n\t"                        \
    "add      r4, r3, r1\n\t"                        \
    "ldr      r7, [r12, #20]\n\t"                    \
    "ldr      lr, [r12, #16]\n\t"                    \
    "cmp      r9, r0\n\t"                            \
    "beq      5f\n\t"                                \
    "vldrb.u8 q0, [r5]\n\t"                          \
    "vldrb.u8 q1, [r2]\n\t"                          \
    "vldrb.u8 q2, [r3]\n\t"                          \
    "vldrb.u8 q3, [r4]\n\t"                          \
    "dls      lr, lr\n"                              \
    "6:\n\t"                                         \
    EF_SMVE_M EF_SMVE_M EF_SMVE_M EF_SMVE_M          \
    "le       lr, 6b\n\t"                            \
    "add      r9, r9, #16\n\t"                       \
    "b        4b\n"                                  \
    "5:\n\t"                                         \
    "vpstttt\n\t"                                    \
    "vldrbt.u8 q0, [r5]\n\t"                         \
    "vldrbt.u8 q1, [r2]\n\t"                         \
    "vldrbt.u8 q2, [r3]\n\t"                         \
    "vldrbt.u8 q3, [r4]\n\t"                         \
    "ldr      r12, [r12, #24]\n\t"                   \
    "dls      lr, lr\n"                              \
    "1:\n\t"                                         \
    EF_SMVE_QUAD                                     \
    STORE                                            \
    "le       lr, 1b\n\t"                            \
    "ldrd     r1, r0, [r12, #32]\n\t"                \
    "add      r6, r6, r0\n\t"                        \
    "subs     r1, r1, #1\n\t"                        \
    "str      r1, [r12, #32]\n\t"                    \
    "bne      2b\n\t"                                \
    "vpop     {d8-d15}\n\t"                          \
    "pop      {r4-r11, pc}\n\t"

__attribute__((naked, noinline)) static void short_mve_one8(short_mve_job *job)
{
    (void)job;
    __asm__ volatile(EF_SMVE_ONE(EF_SMVE_STORE8));
}

__attribute__((naked, noinline)) static void short_mve_multi8(short_mve_job *job)
{
    (void)job;
    __asm__ volatile(EF_SMVE_MULTI(EF_SMVE_STORE8));
}

/* Whether every channel is on the fast requantization (multiplier >= 0, -23 <= shift <= -2). */
static int ef_short_rq_fast(const ef_per_channel_quant *quant, int32_t channels)
{
    int32_t mmin = 0;
    int32_t smin = -2;
    int32_t smax = -2;
    for (int32_t oc = 0; oc < channels; oc += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(channels - oc));
        const int32x4_t m = vldrwq_z_s32(quant->multiplier + oc, p);
        const int32x4_t s = vldrwq_z_s32(quant->shift + oc, p);
        mmin = vminvq_s32(mmin, m);
        smin = vminvq_p_s32(smin, s, p);
        smax = vmaxvq_p_s32(smax, s, p);
    }
    return mmin >= 0 && smax <= -2 && smin >= -23;
}

/* The tables of channels oc0 .. oc0 + nc - 1 (nc >= 1), ne = 4 nq entries (entry j: channel
 * min(j, nc - 1)): W at w, F at f (nv chunks of 16 ne bytes), the quads' 8-bit offsets at o (ps
 * the pixel stride of the stores, 0 for the single-pixel mode). */
static __attribute__((noinline)) void short_mve_tab(int32_t *w, int8_t *f, uint8_t *o,
                                                                  const ef_conv_params *params,
                                                                  const ef_per_channel_quant *quant,
                                                                  const int8_t *filter, const int32_t *bias,
                                                                  int32_t k, int32_t nv, int32_t oc0, int32_t nc,
                                                                  int32_t ne, int32_t ps)
{
    const mve_pred16_t pk = vctp8q((uint32_t)(k - 16 * (nv - 1)));
    /* the filter chunks and their sums (into each entry's first word); the entries past nc
     * repeat the last channel */
    const int8_t *src = filter + oc0 * k;
    if (nv == 1) {
        int8_t *d = f;
        int32_t *ws = w;
        for (int32_t j = ne; j > 0; --j, d += 16, ws += 7) {
            const int8x16_t v = vldrbq_z_s8(src, pk);
            vstrbq_s8(d, v);
            ws[0] = vaddvq_s8(v);
            src += j > ne - nc + 1 ? k : 0;
        }
    } else {
        for (int32_t j = 0; j < ne; ++j) {
            int8_t *d = f + 16 * j;
            const int8_t *s = src;
            int32_t sum = 0;
            for (int32_t i = 1; i < nv; ++i, s += 16, d += 16 * ne) {
                const int8x16_t v = vldrbq_s8(s);
                vstrbq_s8(d, v);
                sum = vaddvaq_s8(sum, v);
            }
            const int8x16_t v = vldrbq_z_s8(s, pk);
            vstrbq_s8(d, v);
            w[7 * j] = vaddvaq_s8(sum, v);
            src += j + 1 < nc ? k : 0;
        }
    }
    /* the words of 4 entries at a time */
    const uint32x4_t lane = vidupq_n_u32(0, 1);
    const uint32x4_t at = vmulq_n_u32(lane, 28);
    const int32x4_t one = vdupq_n_s32(1);
    for (int32_t j = 0; j < ne; j += 4) {
        const uint32x4_t ch = vminq_u32(vaddq_n_u32(lane, (uint32_t)j), vdupq_n_u32((uint32_t)(nc - 1)));
        const uint32x4_t at_j = vaddq_n_u32(at, (uint32_t)(28 * j));
        const int32x4_t sum = vldrwq_gather_offset_s32(w, at_j);
        const int32x4_t bv = bias != 0 ? vldrwq_gather_shifted_offset_s32(bias + oc0, ch) : vdupq_n_s32(0);
        const int32x4_t m = vldrwq_gather_shifted_offset_s32(quant->multiplier + oc0, ch);
        const int32x4_t s = vldrwq_gather_shifted_offset_s32(quant->shift + oc0, ch); /* -e */
        const int32x4_t b = vmlaq_n_s32(bv, sum, params->input_offset);
        const int32x4_t e = vnegq_s32(s);
        const int32x4_t h = vaddq_s32(vshlq_s32(vdupq_n_s32(params->output_offset), e),
                                      vshlq_s32(one, vsubq_s32(e, one)));
        vstrwq_scatter_offset_s32(w, at_j, b);
        vstrwq_scatter_offset_s32(w + 1, at_j, m);
        vstrwq_scatter_offset_s32(w + 2, at_j, b);
        vstrwq_scatter_offset_s32(w + 3, at_j, h);
        vstrwq_scatter_offset_s32(w + 4, at_j, b);
        vstrwq_scatter_offset_s32(w + 5, at_j, vaddq_n_s32(s, 24));
        vstrwq_scatter_offset_s32(w + 6, at_j, b);
    }
    /* the offsets: lane (pixel p, byte i) of a quad at p ps + its channel; the narrowed bytes
     * are {c1, c3, c0, c2} per pixel */
    const uint8x16_t i = vidupq_n_u8(0, 1);
    const uint8x16_t q = vandq_u8(i, vdupq_n_u8(3));
    const uint8x16_t c = vaddq_u8(vshlq_n_u8(vandq_u8(q, vdupq_n_u8(1)), 1), veorq_u8(vshrq_n_u8(q, 1), vdupq_n_u8(1)));
    const uint8x16_t pix = vmulq_n_u8(vshrq_n_u8(i, 2), (uint8_t)ps);
    const uint8x16_t last = vdupq_n_u8((uint8_t)(nc - 1));
    for (int32_t j = 0; j < ne; j += 4, o += 16) {
        vstrbq_u8(o, vaddq_u8(pix, vminq_u8(vaddq_n_u8(c, (uint8_t)j), last)));
    }
}

/* The job's groups (jp: groups of 4 pixels from p0) into d; wide (out_c > 84, beyond the 8-bit
 * store offsets): through tmp (the pixels ne apart), then each pixel's nc bytes copied to d (ps
 * apart). */
static void short_mve_go(short_mve_job *jp, void (*run)(short_mve_job *), const int8_t *p0, int32_t groups,
                         int8_t *d, int32_t ps, int8_t *tmp, int32_t nc, int32_t ne)
{
    jp->p0 = p0;
    jp->groups = groups;
    if (tmp == 0) {
        jp->dst = d;
        run(jp);
        return;
    }
    jp->dst = tmp;
    run(jp);
    for (int32_t i = jp->step != 0 ? 4 * groups : 1; i > 0; --i, tmp += ne, d += ps) {
        for (int32_t c = 0; c < nc; c += 16) {
            const mve_pred16_t p = vctp8q((uint32_t)(nc - c));
            vstrbq_p_s8(d + c, vldrbq_z_s8(tmp + c, p), p);
        }
    }
}

static __attribute__((noinline, optimize("Os"))) void short_mve(const ef_conv_params *params,
                                                              const ef_per_channel_quant *quant, const ef_dims *in,
                                                              const int8_t *input, const ef_dims *filter_dims,
                                                              const int8_t *filter, const int32_t *bias,
                                                              const ef_dims *out, int8_t *output)
{
    const int32_t k = filter_dims->c; /* per group: groups of k input channels, opg outputs */
    const int32_t opg = out->c / (in->c / k);
    const int32_t nv = (k + 15) >> 4;
    const int32_t sh = params->stride.h;
    const int32_t sw = params->stride.w;
    const int flat = sh == 1 && sw == 1;
    const int32_t runs = flat ? 1 : in->n * out->h;
    const int32_t run_px = flat ? in->n * out->h * out->w : out->w;
    const int32_t ps = out->c;
    /* 8-bit store offsets reach 3 ps + the chunk's channels; wider outputs go through 4 groups'
     * stack block (16 bytes per channel, pixels ne apart) */
    const int wide = 3 * ps + 4 > 256;
    const int32_t per = 28 + 16 * nv + (nv > 1 ? 28 : 0) + 4 + (wide ? 16 : 0); /* W, F, B, O, block */
    const int32_t cmax = EF_MIN(EF_SHORT_MVE_TAB_BYTES / per, wide ? 64 : 256 - 3 * ps) & ~3;
    const int32_t gmax = wide ? 4 : 0x7fffffff;
    void (*run)(short_mve_job *) = nv > 1 ? short_mve_multi8 : short_mve_one8;
    /* the tables, then the job (the quads' offsets end where it begins), then the block */
    int32_t tab[EF_SHORT_MVE_TAB_BYTES / 4 + sizeof(short_mve_job) / 4];
    short_mve_job tmpl;
    tmpl.step = sw * in->c;
    tmpl.step4 = 4 * tmpl.step;
    tmpl.lastoff = 16 * (nv - 1);
    tmpl.pk = (uint32_t)vctp8q((uint32_t)(k - 16 * (nv - 1)));
    for (int32_t oc = 0; oc < out->c;) {
        /* channel chunks inside a group (the group's input channels are those of oc), balanced */
        const int32_t left = opg - oc % opg;
        const int32_t parts = (left + cmax - 1) / cmax;
        const int32_t nc = EF_MIN(left, ((left + parts - 1) / parts + 3) & ~3);
        const int32_t nq = (nc + 3) >> 2;
        const int32_t ne = 4 * nq;
        const int32_t sps = wide ? ne : ps; /* the stores' pixel stride */
        const int8_t *in_g = input + oc / opg * k;
        int32_t *w = tab;
        int8_t *f = (int8_t *)(tab + 7 * ne);
        int32_t *b = tab + 7 * ne + 4 * nv * ne;
        uint8_t *o = (uint8_t *)(b + (nv > 1 ? 7 * ne : 0));
        short_mve_job *jp = (short_mve_job *)(void *)(o + 16 * nq);
        int8_t *tmp = wide ? (int8_t *)(jp + 1) : 0;
        short_mve_tab(w, f, o, params, quant, filter, bias, k, nv, oc, nc, ne, run_px >= 4 ? sps : 0);
        *jp = tmpl;
        jp->adv = 4 * sps;
        jp->w = w;
        jp->f = f;
        jp->b = b;
        jp->o = o;
        jp->nq = nq;
        if (run_px < 4) {
            jp->step = 0; /* pixel by pixel: 4 lanes of the same pixel (offsets without the pixel term) */
        }
        for (int32_t r = 0; r < runs; ++r) {
            const int32_t bi = r / (flat ? 1 : out->h);
            const int32_t oy = flat ? 0 : r - bi * out->h;
            const int8_t *p = in_g + ((bi * in->h + oy * sh) * in->w) * in->c;
            int8_t *d = output + r * run_px * ps + oc;
            if (run_px < 4) {
                for (int32_t i = 0; i < run_px; ++i) {
                    short_mve_go(jp, run, p + i * tmpl.step, 1, d + i * ps, ps, tmp, nc, ne);
                }
                continue;
            }
            for (int32_t g = 0; g < run_px >> 2; g += gmax) {
                short_mve_go(jp, run, p + 4 * g * tmpl.step, EF_MIN(gmax, (run_px >> 2) - g), d + 4 * g * ps, ps, tmp,
                             nc, ne);
            }
            if (run_px & 3) { /* the last 4 pixels again */
                short_mve_go(jp, run, p + (run_px - 4) * tmpl.step, 1, d + (run_px - 4) * ps, ps, tmp, nc, ne);
            }
        }
        oc += nc;
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
        /* the Helium path's preconditions (as the DSP path's, any K <= 48); everything else goes on */
        if (params != 0 && quant != 0 && quant->multiplier != 0 && quant->shift != 0 && input != 0 &&
            filter != 0 && output != 0 && ef_dims_valid(in) && ef_dims_valid(filter_dims) && ef_dims_valid(out) &&
            filter_dims->c >= 1 && filter_dims->c <= 48 &&
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
