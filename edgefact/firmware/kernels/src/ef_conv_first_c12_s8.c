/* CONV_2D, first layers with 1 or 2 input channels (3x3 filter, ungrouped), on a table the generator lays out.
 *
 * The generator picks this kernel on Cortex-M4/M7/M33 for such layers (the zoo's 28x28x1 models:
 * the baseline cnn's 1 -> 16 at stride 1, dscnn / MobileNets' 1 -> 20 / 8 / 4 at stride 2), so
 * firmware without them (the MLPerf models) does not link it. A window of 9 * C bytes is too short
 * for ef_conv_s8's column engines (0.2 MAC per instruction at C = 1) and for ef_conv_first_s8's
 * stack table (built per call, 3-channel rows). Here the generator writes, per output channel, one
 * entry of int32 words (edgefact/export/ops/conv_first.py, `first_c12_table`):
 *
 *   C = 1, 9 words:  {2b, F0, F1, F2, F3, F4, m, K, e}
 *   C = 2, 13 words: {2b, F0, F1, F2, F3, F4, F5, F6, F7, F8, K, m, e}
 *
 * F are the filter taps doubled, as int16 pairs (low half first) in the order of the pixel words
 * below, b the bias, m the multiplier, e = -shift (2..23; bit 31 set on the last channel's entry:
 * ASR reads only the low byte of its shift register, and the channel loop's end test is a CMP), K
 * = 2^(e-1) + output_offset * 2^e. Per pixel the window is widened once into int16 pairs with the
 * input offset (SXTAB16), one row word per window row (C = 1 reads the byte right of each
 * window row too, which meets a zero tap; C = 2 reads exactly its 6 bytes per row):
 *
 *   C = 1: x0..x2 = (v[r][0], v[r][2]) for rows r = 0..2, x3 = (v[0][1], v[1][1]), x4 = (v[2][1], -)
 *   C = 2: per row r, with q0..q5 its bytes (tap t, channel c at 2t + c): (q0, q2), (q1, q3), (q4, q5)
 *
 * and every output channel streams past it in one asm loop: LDMs of its entry, 5 (9) SMLAD from the
 * doubled bias, then the requantization in 3 instructions: with the accumulator a = 2 * acc,
 *   ADD   t, K, a, ASR #31            (K - [acc < 0])
 *   SMMLAR t, a, m, t                 (t + floor((a * m + 2^31) / 2^32))
 *   ASR   t, t, e
 * which is ef_requantize's fast path (MultiplyByQuantizedMultiplier, TFLite's double rounding) plus
 * the output offset: doubling numerator and denominator of its floor((acc * m + 2^30 + (2^(e-1) -
 * [acc < 0]) * 2^31 + z * 2^(31+e)) / 2^(31+e)) leaves the low word 2^31 (SMMLAR's rounding) and
 * moves the sign term into the high word; the generator only picks the kernel where |2 * acc| < 2^30
 * for every input (bias and filter bounded), so no intermediate leaves int32. Then SSAT and STRB:
 * 12 instructions per output channel at C = 1 (18 MACs: 22), plus ~1 of loop (two channels per
 * pass). Border windows are copied into a local block with the input zero point outside the image
 * (every product with it is 0, as TFLM skips those taps); rows wholly outside point at a zero-point
 * row. A narrower activation than int8 is one clamp pass over the output. The portable / Helium
 * builds run the same table in C (bit-exact by the same arithmetic; the generator picks
 * ef_conv_first_s8 on Cortex-M55).
 */
#include "ef_nn.h"
#include "internal/ef_conv_2px.h"
#include "internal/ef_nn_internal.h"

/* words per output channel's entry */
#define EF_C12_WORDS(C) ((C) == 1 ? 9 : 13)
/* bytes of a border block row (C = 1: 3 taps and the byte read past them; C = 2: 6 bytes) */
#define EF_C12_ROW 8

#if defined(EF_NN_USE_DSP) && defined(__OPTIMIZE__)

/* bytes of a strip row (the padded window rows of a whole output row at the top / bottom border) */
#define EF_C12_STRIP 256

/* One output channel at C = 1: r0 the entry, x0..x4 in r8..r12, the output at lr (post-incremented).
 * 44 bytes (the entry address arithmetic relies on every copy having the same size). */
#define EF_C1_CHAN                                  \
    "ldmia    r0!, {r1, r2, r3, r4, r5, r6}\n\t"    \
    "smlad    r1, r8, r2, r1\n\t"                   \
    "smlad    r1, r9, r3, r1\n\t"                   \
    "smlad    r1, r10, r4, r1\n\t"                  \
    "smlad    r1, r11, r5, r1\n\t"                  \
    "smlad    r1, r12, r6, r1\n\t"                  \
    "ldmia    r0!, {r2, r3, r4}\n\t"                \
    "add.w    r5, r3, r1, asr #31\n\t"              \
    "smmlar   r5, r1, r2, r5\n\t"                   \
    "asr.w    r5, r5, r4\n\t"                       \
    "ssat     r5, #8, r5\n\t"                       \
    "strb.w   r5, [lr], #1\n\t"

/* n >= 1 pixels at C = 1 whose windows start at p, p + step, ... (rows rs bytes apart), all output
 * channels each, the outputs from dst on (contiguous). Per pixel: its 5 words (3 LDR, 6 SXTAB16,
 * PKHBT), then 4 channels per pass, the first pass entered at channel body `skip` (= (4 - oc % 4) % 4)
 * so that the last channel (its e negative) ends a pass. The state lives in a frame pushed on the
 * stack: tab, step, p (advanced per pixel), rs, the entry address, off2, the end of the outputs. */
static void c1_run(const int8_t *p, int32_t rs, int32_t step, int32_t n, uint32_t off2, const int32_t *tab,
                   int32_t skip, int32_t oc, int8_t *dst)
{
    register const int32_t *r0 __asm__("r0") = tab;
    register int32_t r1 __asm__("r1") = step;
    register const int8_t *r2 __asm__("r2") = p;
    register int32_t r3 __asm__("r3") = rs;
    register int32_t r4 __asm__("r4") = skip;
    register uint32_t r5 __asm__("r5") = off2;
    register int8_t *r6 __asm__("r6") = dst + n * oc;
    register uint32_t r8 __asm__("r8");
    register uint32_t r9 __asm__("r9");
    register uint32_t r10 __asm__("r10");
    register uint32_t r11 __asm__("r11");
    register uint32_t r12 __asm__("r12");
    register int8_t *lr __asm__("lr") = dst;
    __asm__ volatile(
        "adr.w    r8, 1f\n\t"
        "adr.w    r9, 2f\n\t"
        "sub      r9, r9, r8\n\t"
        "mla      r4, r4, r9, r8\n\t"
        "orr      r4, r4, #1\n\t"               /* Thumb state for BX */
        "push     {r0, r1, r2, r3, r4, r5, r6}\n"
        "0:\n\t"
        "ldmia    sp, {r0, r1, r2, r3, r4, r5}\n\t"
        "add      r1, r2, r1\n\t"
        "str      r1, [sp, #8]\n\t"             /* the next pixel's window */
        "ldr      r8, [r2]\n\t"
        "ldr      r9, [r2, r3]\n\t"
        "ldr      r10, [r2, r3, lsl #1]\n\t"
        "sxtab16  r12, r5, r10, ror #8\n\t"     /* x4 */
        "sxtab16  r11, r5, r9, ror #8\n\t"
        "sxtab16  r1, r5, r8, ror #8\n\t"
        "sxtab16  r8, r5, r8\n\t"               /* x0 */
        "sxtab16  r9, r5, r9\n\t"               /* x1 */
        "sxtab16  r10, r5, r10\n\t"             /* x2 */
        "pkhbt    r11, r1, r11, lsl #16\n\t"    /* x3 */
        "bx       r4\n"
        "1:\n\t" EF_C1_CHAN
        "2:\n\t" EF_C1_CHAN EF_C1_CHAN EF_C1_CHAN
        "cmp      r4, #0\n\t"
        "bge      1b\n\t"
        "ldr      r1, [sp, #24]\n\t"
        "cmp      lr, r1\n\t"
        "bne      0b\n\t"
        "add      sp, sp, #28\n\t"
        : "+&r"(r0), "+&r"(r1), "+&r"(r2), "+&r"(r3), "+&r"(r4), "+&r"(r5), "+&r"(r6), "=&r"(r8), "=&r"(r9),
          "=&r"(r10), "=&r"(r11), "=&r"(r12), "+&r"(lr)
        :
        : "cc", "memory");
}

/* One output channel at C = 2: x0..x7 in r4-r6, r8, r9, r11, r10, r12 (that order), x8 in the frame.
 * 78 bytes, every copy the same. */
#define EF_C2_CHAN                                  \
    "ldmia    r0!, {r1, r2, r3}\n\t"                \
    "smlad    r1, r4, r2, r1\n\t"                   \
    "smlad    r1, r5, r3, r1\n\t"                   \
    "ldmia    r0!, {r2, r3}\n\t"                    \
    "smlad    r1, r6, r2, r1\n\t"                   \
    "smlad    r1, r8, r3, r1\n\t"                   \
    "ldmia    r0!, {r2, r3}\n\t"                    \
    "smlad    r1, r9, r2, r1\n\t"                   \
    "smlad    r1, r11, r3, r1\n\t"                  \
    "ldmia    r0!, {r2, r3}\n\t"                    \
    "smlad    r1, r10, r2, r1\n\t"                  \
    "smlad    r1, r12, r3, r1\n\t"                  \
    "ldr.w    r3, [sp, #28]\n\t"                    \
    "ldr.w    r2, [r0], #4\n\t"                     \
    "smlad    r1, r3, r2, r1\n\t"                   \
    "ldmia    r0!, {r2, r3}\n\t"                    \
    "add.w    r2, r2, r1, asr #31\n\t"              \
    "smmlar   r1, r1, r3, r2\n\t"                   \
    "ldr.w    r2, [r0], #4\n\t"                     \
    "asr.w    r1, r1, r2\n\t"                       \
    "ssat     r1, #8, r1\n\t"                       \
    "strb.w   r1, [lr], #1\n\t"

/* c1_run at C = 2: per pixel its 9 words (row 2 first, so the input offset stays in r11 until the
 * last extend; 6 LDR / LDRH, 9 SXTAB16, 3 PKHBT, x8 stored in the frame), 4 channels per pass.
 * Frame: tab, p, rs, step, off2, the entry address, the end of the outputs, x8. */
static void c2_run(const int8_t *p, int32_t rs, int32_t step, int32_t n, uint32_t off2, const int32_t *tab,
                   int32_t skip, int32_t oc, int8_t *dst)
{
    register const int32_t *r0 __asm__("r0") = tab;
    register const int8_t *r1 __asm__("r1") = p;
    register int32_t r2 __asm__("r2") = rs;
    register int32_t r3 __asm__("r3") = step;
    register uint32_t r4 __asm__("r4") = off2;
    register uint32_t r5 __asm__("r5");
    register int8_t *r6 __asm__("r6") = dst + n * oc;
    register uint32_t r8 __asm__("r8");
    register int32_t r9 __asm__("r9") = skip;
    register uint32_t r10 __asm__("r10");
    register uint32_t r11 __asm__("r11");
    register uint32_t r12 __asm__("r12");
    register int8_t *lr __asm__("lr") = dst;
    __asm__ volatile(
        "adr.w    r5, 1f\n\t"
        "adr.w    r8, 2f\n\t"
        "sub      r8, r8, r5\n\t"
        "mla      r5, r9, r8, r5\n\t"
        "orr      r5, r5, #1\n\t"               /* Thumb state for BX */
        "push     {r0, r1, r2, r3, r4, r5, r6, r8}\n"
        "0:\n\t"
        "ldmia    sp, {r0, r1, r2, r3, r11}\n\t"
        "add      r3, r1, r3\n\t"
        "str      r3, [sp, #4]\n\t"             /* the next pixel's window */
        "add      r3, r1, r2, lsl #1\n\t"       /* row 2 */
        "add      r2, r1, r2\n\t"               /* row 1 */
        "ldr      r12, [r3]\n\t"
        "ldrh     r3, [r3, #4]\n\t"
        "pkhbt    r3, r3, r3, lsl #8\n\t"
        "sxtab16  r3, r11, r3\n\t"
        "str      r3, [sp, #28]\n\t"            /* x8: (q4, q5) of row 2 */
        "sxtab16  r10, r11, r12\n\t"            /* x6 */
        "sxtab16  r12, r11, r12, ror #8\n\t"    /* x7 */
        "ldr      r8, [r2]\n\t"
        "ldrh     r3, [r2, #4]\n\t"
        "sxtab16  r9, r11, r8, ror #8\n\t"      /* x4 */
        "sxtab16  r8, r11, r8\n\t"              /* x3 */
        "pkhbt    r3, r3, r3, lsl #8\n\t"
        "ldr      r4, [r1]\n\t"
        "ldrh     r6, [r1, #4]\n\t"
        "sxtab16  r5, r11, r4, ror #8\n\t"      /* x1 */
        "sxtab16  r4, r11, r4\n\t"              /* x0 */
        "pkhbt    r6, r6, r6, lsl #8\n\t"
        "sxtab16  r6, r11, r6\n\t"              /* x2 */
        "sxtab16  r11, r11, r3\n\t"             /* x5 */
        "ldr      r1, [sp, #20]\n\t"
        "bx       r1\n"
        "1:\n\t" EF_C2_CHAN
        "2:\n\t" EF_C2_CHAN EF_C2_CHAN EF_C2_CHAN
        "cmp      r2, #0\n\t"
        "bge      1b\n\t"
        "ldr      r1, [sp, #24]\n\t"
        "cmp      lr, r1\n\t"
        "bne      0b\n\t"
        "add      sp, sp, #32\n\t"
        : "+&r"(r0), "+&r"(r1), "+&r"(r2), "+&r"(r3), "+&r"(r4), "=&r"(r5), "+&r"(r6), "=&r"(r8), "+&r"(r9),
          "=&r"(r10), "=&r"(r11), "=&r"(r12), "+&r"(lr)
        :
        : "cc", "memory");
}

typedef void (*c12_run_fn)(const int8_t *p, int32_t rs, int32_t step, int32_t n, uint32_t off2, const int32_t *tab,
                           int32_t skip, int32_t oc, int8_t *dst);


/* The window rows iy .. iy + 2 of columns ix .. ix + cols - 1 (cols * C + 4 <= EF_C12_STRIP) into
 * rows of EF_C12_STRIP bytes at dst, the zero point outside the image: word stores of the zero point
 * (up to 3 bytes past the row, inside the strip) and unaligned word copies, the last one ending at
 * the row's end (no byte loops: GCC turns those into memset / memcpy calls). */
static void c12_fill(int8_t *dst, const int8_t *img, int32_t H, int32_t W, int32_t C, int32_t iy, int32_t ix,
                     int32_t cols, int8_t zp)
{
    const uint32_t zp4 = (uint32_t)(uint8_t)zp * 0x01010101u;
    const int32_t x0 = EF_MAX(ix, 0);
    const int32_t x1 = EF_MIN(ix + cols, W);
    const int32_t len = cols * C;
    const int32_t lead = (x0 - ix) * C;
    const int32_t n = (x1 - x0) * C;
    for (int32_t r = 0; r < 3; ++r, dst += EF_C12_STRIP) {
        const int32_t y = iy + r;
        for (int32_t i = 0; i < len; i += 4) {
            memcpy(dst + i, &zp4, 4);
        }
        if (y < 0 || y >= H || n <= 0) {
            continue;
        }
        const int8_t *src = img + (y * W + x0) * C;
        if (n < 4) {
            for (int32_t i = 0; i < n; ++i) {
                dst[lead + i] = src[i];
            }
            continue;
        }
        for (int32_t i = 0; i < n - 4; i += 4) {
            const uint32_t w = ef_read_u32(src + i);
            memcpy(dst + lead + i, &w, 4);
        }
        const uint32_t w = ef_read_u32(src + n - 4);
        memcpy(dst + lead + n - 4, &w, 4);
    }
}

/* One byte of a border window: the image's, or the zero point outside it. */
#define EF_C12_TAP(x, i) ((uint32_t)(x) < (uint32_t)W ? src[i] : zp)

/* One border window into the rows of blk (C = 1: 4 taps, the last one read past the window; C = 2:
 * 3 taps of 2 bytes), unrolled. */
static void c12_fill_block(int8_t *blk, const int8_t *img, int32_t H, int32_t W, int32_t C, int32_t iy,
                           int32_t ix, int8_t zp)
{
    for (int32_t r = 0; r < 3; ++r, blk += EF_C12_ROW) {
        const int32_t y = iy + r;
        if (y < 0 || y >= H) {
            const uint32_t zp4 = (uint32_t)(uint8_t)zp * 0x01010101u;
            memcpy(blk, &zp4, 4);
            memcpy(blk + 4, &zp4, 4);
            continue;
        }
        const int8_t *src = img + (y * W + ix) * C;
        if (C == 1) {
            blk[0] = EF_C12_TAP(ix, 0);
            blk[1] = EF_C12_TAP(ix + 1, 1);
            blk[2] = EF_C12_TAP(ix + 2, 2);
            blk[3] = EF_C12_TAP(ix + 3, 3);
        } else {
            blk[0] = EF_C12_TAP(ix, 0);
            blk[1] = EF_C12_TAP(ix, 1);
            blk[2] = EF_C12_TAP(ix + 1, 2);
            blk[3] = EF_C12_TAP(ix + 1, 3);
            blk[4] = EF_C12_TAP(ix + 2, 4);
            blk[5] = EF_C12_TAP(ix + 2, 5);
        }
    }
}

static void c12_dsp(const ef_conv_params *params, const ef_dims *in, const int8_t *input, const ef_dims *out,
                    int8_t *output, const int32_t *table)
{
    const int32_t C = in->c;
    const int32_t H = in->h;
    const int32_t W = in->w;
    const int32_t rs = W * C;
    const int32_t sh = params->stride.h;
    const int32_t sw = params->stride.w;
    const int32_t pt = params->padding.h;
    const int32_t pl = params->padding.w;
    const int32_t oc = out->c;
    const int32_t ow = out->w;
    const int32_t skip = (4 - oc % 4) % 4;
    const c12_run_fn run = C == 1 ? c1_run : c2_run;
    const int8_t zp = (int8_t)(-params->input_offset);
    const uint32_t off2 = ((uint32_t)(uint16_t)params->input_offset << 16) | (uint16_t)params->input_offset;
    /* interior columns [xlo, xhi): ix >= 0 and ix + 3 <= W; at C = 1 on the image's last row also
     * ix + 4 <= W (the word read past the window stays inside the image) */
    const int32_t xlo = EF_MIN(ow, (pl + sw - 1) / sw);
    const int32_t xhi = EF_MAX(xlo, W - 3 + pl >= 0 ? EF_MIN(ow, (W - 3 + pl) / sw + 1) : 0);
    const int32_t xhi_last = C == 1 ? EF_MAX(xlo, W - 4 + pl >= 0 ? EF_MIN(xhi, (W - 4 + pl) / sw + 1) : 0) : xhi;
    /* the columns of a whole row's windows (C = 1: one byte more for the word read past the last) */
    const int32_t strip_cols = (ow - 1) * sw + 3 + (C == 1 ? 1 : 0);
    const int strip_ok = strip_cols * C + 4 <= EF_C12_STRIP;
    int8_t strip[3 * EF_C12_STRIP];
    int8_t blk[3 * EF_C12_ROW];
    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * H * rs;
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy = oy * sh - pt;
            const int row_in = iy >= 0 && iy + 3 <= H;
            if (!row_in && strip_ok) { /* top / bottom: the row's padded windows, one run */
                c12_fill(strip, img, H, W, C, iy, -pl, strip_cols, zp);
                run(strip, EF_C12_STRIP, sw * C, ow, off2, table, skip, oc, dst);
                dst += ow * oc;
                continue;
            }
            const int32_t lo = row_in ? xlo : ow;
            const int32_t hi = row_in ? (iy + 3 == H ? xhi_last : xhi) : ow;
            for (int32_t ox = 0; ox < ow; ++ox) {
                if (ox == lo && hi > lo) { /* the interior run, read in place */
                    run(img + iy * rs + (ox * sw - pl) * C, rs, sw * C, hi - lo, off2, table, skip, oc, dst);
                    dst += (hi - lo) * oc;
                    ox = hi;
                    if (ox == ow) {
                        break;
                    }
                }
                /* a border window (left / right, or any where the strip does not fit) */
                c12_fill_block(blk, img, H, W, C, iy, ox * sw - pl, zp);
                run(blk, EF_C12_ROW, 0, 1, off2, table, skip, oc, dst);
                dst += oc;
            }
        }
    }
    if (params->activation.min > -128 || params->activation.max < 127) {
        ef_nn_clamp_s8(output, in->n * out->h * ow * oc, params->activation.min, params->activation.max);
    }
}

#else

/* The entry's filter value of tap (r, t), channel ch (the layout above). */
static int32_t c12_weight(const int32_t *e, int32_t C, int32_t r, int32_t t, int32_t ch)
{
    int32_t word;
    int32_t hi;
    if (C == 1) {
        if (t != 1) {
            word = 1 + r;
            hi = t == 2;
        } else {
            word = r < 2 ? 4 : 5;
            hi = r == 1;
        }
    } else {
        const int32_t k = 2 * t + ch;
        word = 1 + 3 * r + (k >= 4 ? 2 : (k & 1));
        hi = k >= 4 ? k == 5 : k >= 2;
    }
    const uint32_t w = (uint32_t)e[word];
    return (int32_t)(int16_t)(hi ? (w >> 16) : (w & 0xFFFFu));
}

/* The requantization above, in C: acc = 2 * the true sum, |acc| < 2^30. */
static int32_t c12_requantize(int32_t acc, int32_t m, int32_t k, int32_t e)
{
    const int32_t hi = (int32_t)(((int64_t)acc * m + ((int64_t)1 << 31)) >> 32);
    /* >> on negative values is arithmetic on every compiler we target (gcc documents it). */
    return (hi + k + (acc < 0 ? -1 : 0)) >> (e & 0xFF);
}

/* The portable body: the same table and arithmetic, one output at a time. */
static void c12_portable(const ef_conv_params *params, const ef_dims *in, const int8_t *input, const ef_dims *out,
                         int8_t *output, const int32_t *table)
{
    const int32_t C = in->c;
    const int32_t words = EF_C12_WORDS(C);
    const int32_t qm = C == 1 ? 6 : 11;
    const int32_t qk = C == 1 ? 7 : 10;
    const int32_t qe = words - 1;
    const int32_t in_off = params->input_offset;
    int32_t wv[18];
    for (int32_t b = 0; b < in->n; ++b) {
        for (int32_t oy = 0; oy < out->h; ++oy) {
            for (int32_t ox = 0; ox < out->w; ++ox) {
                int32_t v[18];
                for (int32_t r = 0; r < 3; ++r) {
                    for (int32_t t = 0; t < 3; ++t) {
                        const int32_t y = oy * params->stride.h - params->padding.h + r;
                        const int32_t x = ox * params->stride.w - params->padding.w + t;
                        const int inside = y >= 0 && y < in->h && x >= 0 && x < in->w;
                        for (int32_t ch = 0; ch < C; ++ch) {
                            v[(r * 3 + t) * C + ch] =
                                inside ? input[((b * in->h + y) * in->w + x) * C + ch] + in_off : 0;
                        }
                    }
                }
                int8_t *dst = output + ((b * out->h + oy) * out->w + ox) * out->c;
                for (int32_t oc = 0; oc < out->c; ++oc) {
                    const int32_t *e = table + oc * words;
                    int32_t acc = e[0];
                    for (int32_t r = 0; r < 3; ++r) {
                        for (int32_t t = 0; t < 3; ++t) {
                            for (int32_t ch = 0; ch < C; ++ch) {
                                wv[(r * 3 + t) * C + ch] = c12_weight(e, C, r, t, ch);
                            }
                        }
                    }
                    for (int32_t i = 0; i < 9 * C; ++i) {
                        acc += v[i] * wv[i];
                    }
                    const int32_t q = c12_requantize(acc, e[qm], e[qk], e[qe]);
                    dst[oc] = ef_clamp_to_s8(EF_MAX(EF_MIN(q, 127), -128), params->activation.min,
                                             params->activation.max);
                }
            }
        }
    }
}
#endif

ef_status ef_conv_first_c12_s8(const ef_conv_params *params, const ef_dims *input_dims, const int8_t *input,
                               const ef_dims *filter_dims, const int32_t *table,
                               const ef_dims *output_dims, int8_t *output)
{
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    if (params == 0 || input == 0 || table == 0 || output == 0 || in == 0 || filter_dims == 0 || out == 0) {
        return EF_ERR_NULL;
    }
    if (!ef_dims_valid(in) || !ef_dims_valid(filter_dims) || !ef_dims_valid(out) || out->n != in->n ||
        filter_dims->n != out->c) {
        return EF_ERR_DIMS;
    }
    if (filter_dims->h != 3 || filter_dims->w != 3 || filter_dims->c != in->c || in->c > 2 ||
        params->dilation.h != 1 || params->dilation.w != 1) {
        return EF_ERR_UNSUPPORTED;
    }
    if (!ef_out_size_ok(in->h, 3, params->stride.h, params->padding.h, out->h) ||
        !ef_out_size_ok(in->w, 3, params->stride.w, params->padding.w, out->w)) {
        return EF_ERR_DIMS;
    }
    if (!ef_activation_valid(&params->activation) || params->input_offset < -127 || params->input_offset > 128) {
        return EF_ERR_PARAM;
    }
#if defined(EF_NN_USE_DSP) && defined(__OPTIMIZE__)
    c12_dsp(params, in, input, out, output, table);
#else
    c12_portable(params, in, input, out, output, table);
#endif
    return EF_OK;
}
