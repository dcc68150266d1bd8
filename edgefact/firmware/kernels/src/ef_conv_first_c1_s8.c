/* CONV_2D, first layers with one input channel (3x3 filter, ungrouped) on Helium (Cortex-M55).
 *
 * ef_conv_first_s8's Helium body copies every pixel's 9-byte window into a column block and streams
 * one output channel at a time past 4 columns (one VMLADAV per output, the column reloaded per
 * channel). Here 4 output pixels of a row are gathered once into 4 q registers and every output
 * channel of the chunk streams past them:
 *
 *  - per output row the 3 input rows it reads are copied into a stack strip of pitch P = (out_w - 1)
 *    * stride_w + 3 with the input zero point outside the image (every product with it is 0, as TFLM
 *    skips those taps), so no window needs bounds work; two more strip rows hold the constants 1 and
 *    127 (written once per call);
 *  - per 4 pixels 4 byte gathers (`VLDRB.U8 q, [strip, q]`, u8 offsets: lanes 0-8 the window, lanes
 *    9-15 the constant rows);
 *  - per output channel a 32-byte table entry built once per call (16 filter bytes: the 9 taps, then
 *    the folded bias b' = bias + in_off * sum(w) as b' = f9 + 127 * (f10 + ... + f15), so the gathers
 *    add it: |b'| up to ~97 K, the generator checks it and a layer out of reach runs ef_conv_s8); {b',
 *    m, out_off * 2^e + 2^(e - 1), 24 - e}): one VLDRB and one LDM, 4 VMLADAV, 2 VMOV into the 4
 *    pixels' vector, then ef_conv_first_s8's requantization (VSHR #31 + VADD of the offset/rounding
 *    term, VQRDMLAH by m, VQSHL by 24 - e: the int8 result saturated into the top byte);
 *  - with the output channels a multiple of 4 (and the output word-aligned) 4 channels' top bytes
 *    packed into one word per pixel by 3 VSRI and stored by one VSTRW scatter (the quad's entries in
 *    reverse order: the first channel computed lands in the word's top byte), else per channel VSHR
 *    #24 and a VSTRB scatter;
 *  - a row's last 1-3 pixels as a full group whose extra pixels land on the next rows' first ones
 *    (written again with them), at the end of the output into a local block, then copied; a narrower
 *    activation than int8 is one clamp pass over the output.
 *
 * Per 4 channels x 4 pixels (144 MACs) 53 instructions in the folded, word-stored loop. Other
 * shapes (more channels, rows too wide for the u8 offsets, a requantization off the fast path) and
 * the other builds run ef_conv_s8 (ctx is its scratch), so the results are that kernel's, bit-exact
 * with TFLM.
 */
#include "ef_nn.h"
#include "internal/ef_nn_internal.h"

#if defined(EF_NN_USE_MVE)

/* output channels per table chunk (32-byte entries) */
#define EF_C1_CHUNK 32
/* the largest strip pitch: the constant rows' offsets 4P + 3 * stride_w fit a byte */
#define EF_C1_PITCH 63
/* strip bytes: 5 rows and the reads of a row's partial last group past them */
#define EF_C1_STRIP (5 * EF_C1_PITCH + 64)

/* One output channel of the 4 pixels in c0..c3 (the bias folded into lanes 9-15): entry at tp
 * (post-incremented by 32), the requantized value (int8 in the top byte) in T. */
#define EF_C1_CH(T)                                   \
    "vldrb.u8 %q[f], [%[tp]], #16\n\t"                      \
    "ldmia    %[tp]!, {r1, r3, r5, r9}\n\t"                 \
    "vmladav.s8 r0, %q[c0], %q[f]\n\t"                      \
    "vmladav.s8 r2, %q[c1], %q[f]\n\t"                      \
    "vmladav.s8 r4, %q[c2], %q[f]\n\t"                      \
    "vmladav.s8 r8, %q[c3], %q[f]\n\t"                      \
    "vmov     %q[s][2], %q[s][0], r0, r4\n\t"               \
    "vmov     %q[s][3], %q[s][1], r2, r8\n\t"               \
    "vshr.s32 %q[" T "], %q[s], #31\n\t"                    \
    "vadd.i32 %q[" T "], %q[" T "], r5\n\t"                 \
    "vqrdmlah.s32 %q[" T "], %q[s], r3\n\t"                 \
    "vqshl.s32 %q[" T "], r9\n\t"
/* the 4 pixels' windows: offset vectors in the 64 bytes before the table, gathered from gb */
#define EF_C1_GATHER                                        \
    "vldrb.u8 %q[f], [%[tp], #-64]\n\t"                     \
    "vldrb.u8 %q[c0], [%[gb], %q[f]]\n\t"                   \
    "vldrb.u8 %q[f], [%[tp], #-48]\n\t"                     \
    "vldrb.u8 %q[c1], [%[gb], %q[f]]\n\t"                   \
    "vldrb.u8 %q[f], [%[tp], #-32]\n\t"                     \
    "vldrb.u8 %q[c2], [%[gb], %q[f]]\n\t"                   \
    "vldrb.u8 %q[f], [%[tp], #-16]\n\t"                     \
    "vldrb.u8 %q[c3], [%[gb], %q[f]]\n\t"
/* g groups of 4 pixels: per group the gathers, the channel loop (lr passes), then from the table's
 * trailer {32 * nc, gstep, dstep, passes}: the strip pointer advanced by gstep, the output by dstep,
 * the table pointer back to the first entry */
#define EF_C1_ROW(BODY)                                                                                        \
    __asm__ volatile("2:\n\t" EF_C1_GATHER "dls      lr, lr\n"                                                 \
                     "1:\n\t" BODY "le       lr, 1b\n\t"                                                       \
                     "ldm      %[tp], {r1, r2, r3, r4}\n\t"                                                    \
                     "add      %[gb], %[gb], r2\n\t"                                                           \
                     "add      %[d], %[d], r3\n\t"                                                             \
                     "sub      %[tp], %[tp], r1\n\t"                                                           \
                     "mov      lr, r4\n\t"                                                                     \
                     "subs     %[g], %[g], #1\n\t"                                                             \
                     "bne      2b\n\t"                                                                         \
                     : [tp] "+r"(tp), [d] "+r"(d), [gb] "+r"(gb), [g] "+r"(g), [n] "+r"(n), [c0] "=&w"(c0),    \
                       [c1] "=&w"(c1), [c2] "=&w"(c2), [c3] "=&w"(c3), [f] "=&w"(f), [s] "=&w"(s), [a] "=&w"(a)  \
                     : [o] "w"(offs)                                                                              \
                     : "r0", "r1", "r2", "r3", "r4", "r5", "r8", "r9", "memory")
/* per channel: VSHR #24 and a byte scatter */
#define EF_C1_BYTES                                                                                            \
    EF_C1_CH("f") "vshr.s32 %q[f], %q[f], #24\n\t"                                                       \
    "vstrb.32 %q[f], [%[d], %q[o]]\n\t"                                                                        \
    "add      %[d], %[d], #1\n\t"
/* per 4 channels: one word per pixel (3 VSRI) and a word scatter */
#define EF_C1_WORDS                                                                                            \
    EF_C1_CH("a") EF_C1_CH("f") "vsri.32  %q[a], %q[f], #8\n\t"                                                  \
    EF_C1_CH("f") "vsri.32  %q[a], %q[f], #16\n\t"                                                              \
    EF_C1_CH("f") "vsri.32  %q[a], %q[f], #24\n\t"                                                        \
    "vstrw.32 %q[a], [%[d], %q[o]]\n\t"                                                                        \
    "add      %[d], %[d], #4\n\t"

/* g >= 1 groups of 4 pixels, the first one's windows at gb, nc channels (entries at tab, the offset
 * vectors before them, the trailer after them: c1_mve) into d (pixels offs apart); words: 4
 * channels per word store (nc % 4 == 0). */
static __attribute__((noinline)) void c1_groups(const int8_t *gb, const int8_t *tab, int32_t nc,
                                              int8_t *d, uint32x4_t offs, int words, int32_t g)
{
    const int8_t *tp = tab;
    register int32_t n __asm__("lr") = words ? nc >> 2 : nc;
    int8x16_t c0, c1, c2, c3, f;
    int32x4_t s, a;
    if (words) {
        EF_C1_ROW(EF_C1_WORDS);
    } else {
        EF_C1_ROW(EF_C1_BYTES);
    }
    (void)c0;
    (void)c1;
    (void)c2;
    (void)c3;
    (void)f;
    (void)s;
    (void)a;
    (void)tp;
    (void)d;
    (void)gb;
    (void)g;
    (void)n;
}

/* b' as f9 + 127 * (f10 + ... + f15) into e[9..15] (the strip's constant rows: 1, then 127); 0 when
 * |b'| is out of reach */
static int c1_fold(int8_t *e, int32_t b)
{
    int32_t q = b / 127;
    e[9] = (int8_t)(b - 127 * q); /* |b - 127 q| <= 126 */
    for (int32_t i = 10; i < 16; ++i) {
        const int32_t v = EF_MIN(127, EF_MAX(-128, q));
        e[i] = (int8_t)v;
        q -= v;
    }
    return q == 0;
}

/* the entries of channels oc0 .. oc0 + nc - 1 (quads reversed when words); 0 if a bias is out of the
 * fold's reach */
static int c1_tab(int8_t *tab, const ef_conv_params *params, const ef_per_channel_quant *quant,
                  const int8_t *filter, const int32_t *bias, int32_t oc0, int32_t nc, int words)
{
    int folded = 1;
    for (int32_t j = 0; j < nc; ++j) {
        const int32_t ch = oc0 + (words ? (j & ~3) + 3 - (j & 3) : j);
        int8_t *e = tab + 32 * j;
        const int8x16_t fv = vldrbq_z_s8(filter + ch * 9, vctp8q(9));
        vstrbq_s8(e, fv);
        const int32_t sw = vaddvq_s8(fv);
        const int32_t sh = -quant->shift[ch];
        int32_t *q = (int32_t *)(void *)(e + 16);
        q[0] = (int32_t)((uint32_t)(bias != 0 ? bias[ch] : 0) + (uint32_t)params->input_offset * (uint32_t)sw);
        q[1] = quant->multiplier[ch];
        q[2] = params->output_offset * (1 << sh) + (1 << (sh - 1));
        q[3] = 24 - sh;
        folded &= c1_fold(e, q[0]);
    }
    return folded;
}

/* 0 (nothing meaningful written yet or to be rewritten) where a channel's bias cannot be folded */
static int c1_mve(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                   const int8_t *input, const int8_t *filter, const int32_t *bias, const ef_dims *out, int8_t *output)
{
    const int32_t sh = params->stride.h;
    const int32_t sw = params->stride.w;
    const int32_t W = in->w;
    const int32_t ow = out->w;
    const int32_t oc = out->c;
    const int32_t P = (ow - 1) * sw + 3;
    const int8_t zp = (int8_t)(-params->input_offset);
    const int words = (oc % 4) == 0 && ((uintptr_t)output & 3u) == 0;
    int32_t tab32[16 + EF_C1_CHUNK * 8 + 4]; /* the 4 offset vectors, the entries, the trailer */
    int8_t *tab = (int8_t *)tab32 + 64;
    int32_t strip32[(EF_C1_STRIP + 3) / 4];
    int8_t *strip = (int8_t *)strip32;
    int32_t tmp32[EF_C1_CHUNK];
    uint8_t go_f[64];
    for (int32_t j = 0; j < 4; ++j) {
        for (int32_t i = 0; i < 16; ++i) {
            const int32_t w = i < 9 ? (i / 3) * P + i % 3 : (i == 9 ? 3 * P : 4 * P);
            go_f[16 * j + i] = (uint8_t)(w + j * sw);
        }
    }
    for (int32_t i = 0; i < EF_C1_STRIP; i += 16) {
        vstrbq_p_s8(strip + i, vdupq_n_s8(zp), vctp8q((uint32_t)(EF_C1_STRIP - i)));
    }
    for (int32_t i = 0; i < P; i += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(P - i));
        vstrbq_p_s8(strip + 3 * P + i, vdupq_n_s8(1), p);
        vstrbq_p_s8(strip + 4 * P + i, vdupq_n_s8(127), p);
    }
    const int32_t pl = params->padding.w;
    /* strip columns [x0, x1) hold input columns [x0 - pl, x1 - pl) */
    const int32_t x0 = pl;
    const int32_t x1 = EF_MIN(P, pl + W);
    for (int32_t oc0 = 0; oc0 < oc; oc0 += EF_C1_CHUNK) {
        const int32_t nc = EF_MIN(EF_C1_CHUNK, oc - oc0);
        if (!c1_tab(tab, params, quant, filter, bias, oc0, nc, words)) {
            return 0;
        }
        const uint8_t *go = go_f;
        for (int32_t i = 0; i < 64; i += 16) {
            vstrbq_u8((uint8_t *)tab32 + i, vldrbq_u8(go + i));
        }
        int32_t *trailer = (int32_t *)(void *)(tab + 32 * nc);
        trailer[0] = 32 * nc;
        trailer[1] = 4 * sw;
        trailer[2] = 4 * oc - nc;
        trailer[3] = words ? nc >> 2 : nc;
        const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)oc);
        const uint32x4_t offs_t = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)nc);
        for (int32_t b = 0; b < in->n; ++b) {
            const int8_t *img = input + b * in->h * W;
            for (int32_t oy = 0; oy < out->h; ++oy) {
                const int32_t iy = oy * sh - params->padding.h;
                for (int32_t r = 0; r < 3; ++r) {
                    int8_t *row = strip + r * P;
                    const int32_t y = iy + r;
                    if (y >= 0 && y < in->h) {
                        const int8_t *src = img + y * W - pl;
                        int32_t x = x0;
                        for (; x + 16 <= x1; x += 16) {
                            vstrbq_s8(row + x, vldrbq_s8(src + x));
                        }
                        if (x < x1) {
                            const mve_pred16_t p = vctp8q((uint32_t)(x1 - x));
                            vstrbq_p_s8(row + x, vldrbq_z_s8(src + x, p), p);
                        }
                    } else {
                        for (int32_t x = x0; x < x1; x += 16) {
                            vstrbq_p_s8(row + x, vdupq_n_s8(zp), vctp8q((uint32_t)(x1 - x)));
                        }
                    }
                }
                int8_t *dst = output + ((b * out->h + oy) * ow) * oc + oc0;
                /* a partial last group runs into the next rows' first pixels (written again with
                 * them) where the output has that many left; else through the local block */
                const int32_t left = ((in->n - b) * out->h - oy - 1) * ow;
                const int32_t x = left >= ((ow + 3) & ~3) - ow ? (ow + 3) & ~3 : ow & ~3;
                if (x > 0) {
                    c1_groups(strip, tab, nc, dst, offs, words, x >> 2);
                }
                if (x < ow) {
                    int8_t *srcb = (int8_t *)tmp32;
                    c1_groups(strip + x * sw, tab, nc, srcb, offs_t, words, 1);
                    for (int32_t j = 0; x + j < ow; ++j) {
                        for (int32_t c = 0; c < nc; ++c) {
                            dst[(x + j) * oc + c] = srcb[j * nc + c];
                        }
                    }
                }
            }
        }
    }
    if (params->activation.min > -128 || params->activation.max < 127) {
        const int8x16_t lo = vdupq_n_s8((int8_t)params->activation.min);
        const int8x16_t hi = vdupq_n_s8((int8_t)params->activation.max);
        const int32_t n = in->n * out->h * ow * oc;
        for (int32_t i = 0; i < n; i += 16) {
            const mve_pred16_t p = vctp8q((uint32_t)(n - i));
            vstrbq_p_s8(output + i, vminq_s8(vmaxq_s8(vldrbq_z_s8(output + i, p), lo), hi), p);
        }
    }
    return 1;
}

/* multiplier >= 0, -23 <= shift <= -2 (ef_conv_first_s8's Helium requantization) */
static int c1_rq_fast(const ef_per_channel_quant *quant, int32_t channels)
{
    for (int32_t oc = 0; oc < channels; ++oc) {
        if (quant->multiplier[oc] < 0 || quant->shift[oc] > -2 || quant->shift[oc] < -23) {
            return 0;
        }
    }
    return 1;
}
#endif

ef_status ef_conv_first_c1_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                              const ef_dims *input_dims, const int8_t *input,
                              const ef_dims *filter_dims, const int8_t *filter,
                              const int32_t *bias,
                              const ef_dims *output_dims, int8_t *output,
                              const ef_context *ctx)
{
#if defined(EF_NN_USE_MVE)
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    /* the fast path's preconditions; everything else (and every argument error) goes to
     * ef_conv_s8, which checks the arguments in full */
    if (params != 0 && quant != 0 && quant->multiplier != 0 && quant->shift != 0 && input != 0 && filter != 0 &&
        output != 0 && ef_dims_valid(in) && ef_dims_valid(filter_dims) && ef_dims_valid(out) && in->c == 1 &&
        filter_dims->h == 3 && filter_dims->w == 3 && filter_dims->c == 1 && filter_dims->n == out->c &&
        out->n == in->n && params->dilation.h == 1 && params->dilation.w == 1 && params->stride.w <= 8 &&
        ef_out_size_ok(in->h, 3, params->stride.h, params->padding.h, out->h) &&
        ef_out_size_ok(in->w, 3, params->stride.w, params->padding.w, out->w) &&
        4 * ((out->w - 1) * params->stride.w + 3) + 3 * params->stride.w <= 255 &&
        ef_activation_valid(&params->activation) && params->input_offset >= -127 && params->input_offset <= 128 &&
        c1_rq_fast(quant, out->c)) {
        if (c1_mve(params, quant, in, input, filter, bias, out, output)) {
            return EF_OK;
        }
    }
#endif
    return ef_conv_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, ctx);
}
