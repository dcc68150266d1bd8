/* DEPTHWISE_CONV_2D 3x3, any depth multiplier, as one 9-tap dot product per output (Helium):
 * ef_depthwise_conv_3x3_dot_s8 (multiplier 1) and ef_depthwise_conv_3x3_dot_mult_s8 (> 1; separate
 * entries, so a multiplier-1 firmware links no multiplier body), the generator's choice on
 * Cortex-M55 where it applies (dot_ok; it
 * is faster than the 3x3 kernel's window on every such MLPerf / zoo layer, most on small maps and
 * at stride 2). Its own function, so that a firmware using it links none of the 3x3 kernel's
 * Helium code; on the other cores it is ef_depthwise_conv_3x3_s8 (depth multiplier 1) or
 * ef_depthwise_conv_3x3_mult_s8 (> 1), whose preconditions these include. */
#include "internal/ef_dw_check.h"

#define DOT_WP_MAX 62  /* 8-bit tap offsets: (2 wp + 2) * 2 <= 255 */

/* Every one of the n channels' shifts a right shift (the requantization's VRSHL rounding fix-up). */
static int dot_right_shifts(const ef_per_channel_quant *quant, int32_t n)
{
    for (int32_t c = 0; c < n; ++c) {
        if (quant->shift[c] >= 0) {
            return 0;
        }
    }
    return 1;
}

/* Where the Helium body takes the layer (the generator's test mirrors it: conv.py
 * _dw3x3_dot_applies): equal strides 1 or 2, any depth multiplier, an even input channel count
 * (channel pairs, halfword gathers), wp = (out_w - 1) * stride + 3 <= DOT_WP_MAX window columns,
 * 16-bit gather offsets (the fill's, (wx - 1) C for the wx = min(in_w, wp - pad) input pixels of a
 * window row; the weights', 7 OC), at least 4 output pixels, every shift a right shift. */
static int dot_ok(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                  const ef_dims *out)
{
    const int32_t s = params->stride.h;
    const int32_t wp = (out->w - 1) * s + 3;
    const int32_t wx = in->w < wp - params->padding.w ? in->w : wp - params->padding.w;
    if (s != params->stride.w || (s != 1 && s != 2) || params->ch_mult < 1 || (in->c & 1) != 0 ||
        wp > DOT_WP_MAX || (wx - 1) * in->c > 65535 || 7 * out->c > 65535 || out->h * out->w < 4) {
        return 0;
    }
    return dot_right_shifts(quant, out->c);
}

#define DOT_DIL_MAX 8   /* the largest dilation of ef_depthwise_conv_3x3_dot_dilated_s8 */
#define DOT_WIN 2048   /* window bytes: rows x wp entries x 2 channels */

/* Where ef_depthwise_conv_3x3_dot_dilated_s8's Helium body takes a dilated layer (the generator's
 * test mirrors it: conv.py _dw_dot_dilated_applies): the zero-inserted filter of a 3x3 dilated by
 * (dh, dw) <= DOT_DIL_MAX, stride 1, multiplier 1, padding <= the dilation, an even channel count,
 * a window whose residues stored one after the other keep a row pitch wp = dw ceil((out_w - 1 +
 * 2 dw + 1) / dw) <= DOT_WP_MAX and hold at least 3 dh rows, 16-bit filter offsets for taps 0..7
 * (the largest, tap 7's, (2 dh (2 dw + 1) + dw) OC), 16-bit fill offsets (the 8-pixel gather's
 * 7 dw C; a residue's last pixel's (n - 1) dw C, n = ceil(min(in_w, wp0 - pad) / dw) its most input
 * pixels), at least 4 output pixels, every shift a right shift. */
static int dot_dil_ok(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                      const ef_dims *filter_dims, const ef_dims *out)
{
    const int32_t FH = filter_dims->h;
    const int32_t FW = filter_dims->w;
    if (FH < 3 || FW < 3 || (FH & 1) == 0 || (FW & 1) == 0) {
        return 0;
    }
    const int32_t dh = (FH - 1) / 2;
    const int32_t dw = (FW - 1) / 2;
    const int32_t wp0 = out->w - 1 + 2 * dw + 1;
    const int32_t wp = dw * ((wp0 + dw - 1) / dw);
    const int32_t wx = in->w < wp0 - params->padding.w ? in->w : wp0 - params->padding.w;
    const int32_t n = (wx + dw - 1) / dw; /* the most input pixels of a residue's window row */
    if (params->stride.h != 1 || params->stride.w != 1 || params->ch_mult != 1 || (in->c & 1) != 0 ||
        dh > DOT_DIL_MAX || dw > DOT_DIL_MAX || params->padding.h > dh || params->padding.w > dw ||
        wp > DOT_WP_MAX || DOT_WIN / (2 * wp) / dh < 3 || ((FH - 1) * FW + dw) * out->c > 65535 ||
        7 * dw * in->c > 65535 || (n - 1) * dw * in->c > 65535 || out->h * out->w < 4) {
        return 0;
    }
    return dot_right_shifts(quant, out->c);
}

#if defined(EF_NN_USE_MVE)
/*
 * Helium body. The input is copied, one channel pair at a time, into a window of int8 pairs
 * (entry (row, col) at bytes 2 * (row * wp + col) + {0, 1}: the raw input, the input zero point in
 * the padding, so (x + in_off) * w = x * w + in_off * w and in_off * sum(w) goes into the bias),
 * a strip of output rows at a time: per input row of the strip one VLDRH.U16 gather of 8 pixels
 * (both channels) at the row's pixel step and one contiguous VSTRH per 8 pixels. Then per output
 * its 9 taps are one 16-lane VLDRB.U8 gather (8-bit offsets from the output's first tap: the
 * window's row pitch 2 * wp <= 124 bytes) and one VMLADAV.S8 against the channel's weights (taps
 * 0..7 in the even lanes, tap 8 in lane 1, the other lanes 0); four outputs per step: the four
 * taps' addresses one LDM from a table of the strip's output pixels (any map shape, no row
 * boundaries), the four sums moved into one vector (2 VMOV), the bias added, requantized with VSHR
 * + VQRDMLAH (the rounding fix-up) + VRSHL as the 3x3 window path, offset, clamped and scattered
 * (VSTRB.32 at the output pixel step): 21 instructions per 36 MACs. The strip's last step takes the
 * last four outputs (overlapping the previous step: the same values stored again). With a depth
 * multiplier M the window of a channel pair serves the 2 M output channels that read it (output
 * channel i M + j reads input channel i): one window fill per 2 M channels' strips.
 */
#define DOT_TAB 512    /* output pixels per strip */

/* One step: four outputs from the table's next four tap addresses, stored at dst (+ so). */
#define DOT_STEP \
    "ldm %[tab]!, {%[b0], %[b1], %[b2], %[b3]}\n\t" \
    "vldrb.u8 %q[x], [%[b0], %q[qt]]\n\t" \
    "vmladav.s8 %[b0], %q[x], %q[qw]\n\t" \
    "vldrb.u8 %q[x], [%[b1], %q[qt]]\n\t" \
    "vmladav.s8 %[b1], %q[x], %q[qw]\n\t" \
    "vldrb.u8 %q[x], [%[b2], %q[qt]]\n\t" \
    "vmladav.s8 %[b2], %q[x], %q[qw]\n\t" \
    "vldrb.u8 %q[x], [%[b3], %q[qt]]\n\t" \
    "vmladav.s8 %[b3], %q[x], %q[qw]\n\t" \
    "vmov %q[acc][2], %q[acc][0], %[b0], %[b2]\n\t" \
    "vmov %q[acc][3], %q[acc][1], %[b1], %[b3]\n\t" \
    "vadd.i32 %q[acc], %q[acc], %[bias]\n\t" \
    "vshr.s32 %q[x], %q[acc], #31\n\t" \
    "vqrdmlah.s32 %q[x], %q[acc], %[m]\n\t" \
    "vrshl.s32 %q[x], %[rec]\n\t" \
    "vadd.i32 %q[x], %q[x], %[zp]\n\t" \
    "vmax.s32 %q[x], %q[x], %q[lo]\n\t" \
    "vmin.s32 %q[x], %q[x], %q[hi]\n\t" \
    "vstrb.32 %q[x], [%[dst], %q[so]]\n\t"

/* A channel's constants: the weights (taps 0..7 in the even lanes, tap 8 in lane 1), the bias with
 * in_off * sum(w), multiplier, shift. */
typedef struct {
    int8_t w[16];
    int32_t bias;
    int32_t m;
    int32_t e;
    int32_t pad;
} dot_rec;

/* The layer's: activation bounds, the output steps of a step's lanes, output offset, step. */
typedef struct {
    int32_t lo[4];
    int32_t hi[4];
    uint32_t so[4];
    int32_t zp;
    int32_t step;
} dot_layer;

/* One channel's outputs of a strip: n1 steps advancing dst by the step, then the table's dst
 * correction (the last step's overlap) and the last step, or (marker 1: n % 4 == 1) the last output
 * alone (13 instructions instead of a whole step's 23). */
static inline __attribute__((always_inline)) void dot_run(const uint32_t *tab, int8_t *dst, int32_t n1, uint8x16_t qt,
                                                          const dot_rec *rec, const dot_layer *kl)
{
    /* VMLADAV writes even registers only; LDM wants them ascending */
    register uint32_t b0 __asm__("r0");
    register uint32_t b1 __asm__("r2");
    register uint32_t b2 __asm__("r4");
    register uint32_t b3 __asm__("r6");
    register int32_t n __asm__("lr") = n1;
    int32x4_t x, acc, qw, lo, hi, so;
    int32_t bias, m, zp;
    __asm__ volatile("vldrw.u32 %q[qw], [%[rec]]\n\t"
                     "ldrd %[bias], %[m], [%[rec], #16]\n\t"
                     "ldr %[rec], [%[rec], #24]\n\t" /* rec: the shift from here on */
                     "vldrw.u32 %q[lo], [%[kl]]\n\t"
                     "vldrw.u32 %q[hi], [%[kl], #16]\n\t"
                     "vldrw.u32 %q[so], [%[kl], #32]\n\t"
                     "ldrd %[zp], %[kl], [%[kl], #48]\n\t" /* kl: the step */
                     "wls lr, lr, 2f\n"
                     "1:\n\t"
                     DOT_STEP
                     "add %[dst], %[dst], %[kl]\n\t"
                     "le lr, 1b\n"
                     "2:\n\t"
                     "ldr %[b0], [%[tab]], #4\n\t" /* the dst correction (<= 0), or 1: one output left */
                     "cmp %[b0], #1\n\t"
                     "beq 3f\n\t"
                     "add %[dst], %[dst], %[b0]\n\t"
                     DOT_STEP
                     "b 4f\n"
                     "3:\n\t" /* one output left (n % 4 == 1): its address is the table's next entry */
                     "ldr %[b0], [%[tab]]\n\t"
                     "vldrb.u8 %q[x], [%[b0], %q[qt]]\n\t"
                     "vmladav.s8 %[b0], %q[x], %q[qw]\n\t"
                     "vdup.32 %q[acc], %[b0]\n\t"
                     "vadd.i32 %q[acc], %q[acc], %[bias]\n\t"
                     "vshr.s32 %q[x], %q[acc], #31\n\t"
                     "vqrdmlah.s32 %q[x], %q[acc], %[m]\n\t"
                     "vrshl.s32 %q[x], %[rec]\n\t"
                     "vadd.i32 %q[x], %q[x], %[zp]\n\t"
                     "vmax.s32 %q[x], %q[x], %q[lo]\n\t"
                     "vmin.s32 %q[x], %q[x], %q[hi]\n\t"
                     "vmov.32 %[b0], %q[x][0]\n\t"
                     "strb %[b0], [%[dst]]\n"
                     "4:\n\t"
                     : [b0] "=&r"(b0), [b1] "=&r"(b1), [b2] "=&r"(b2), [b3] "=&r"(b3), [x] "=&w"(x),
                       [acc] "=&w"(acc), [qw] "=&w"(qw), [lo] "=&w"(lo), [hi] "=&w"(hi), [so] "=&w"(so),
                       [bias] "=&r"(bias), [m] "=&r"(m), [zp] "=&r"(zp), [tab] "+&r"(tab), [dst] "+&r"(dst),
                       [n] "+&r"(n), [rec] "+&r"(rec), [kl] "+&r"(kl)
                     : [qt] "w"(qt)
                     : "cc", "memory");
}

/* dot_fill's rows of 17..56 pixels: N gathers 8 pixels apart, then the last 8 (overlapping) */
#define DOT_FILL_ROWS(N) \
    do { \
        const int8_t *sp_; \
        uint16_t *dp_; \
        __asm__ volatile("wls lr, %[rows], 2f\n" \
                         "1:\n\t" \
                         "mov %[s], %[src]\n\t" \
                         "mov %[d], %[w]\n\t" \
                         ".rept " N "\n\t" \
                         "vldrh.u16 %q[x], [%[s], %q[g]]\n\t" \
                         "add %[s], %[s], %[c8]\n\t" \
                         "vstrh.16 %q[x], [%[d]], #16\n\t" \
                         ".endr\n\t" \
                         "vldrh.u16 %q[x], [%[src], %q[g1]]\n\t" \
                         "vstrh.16 %q[x], [%[wl]]\n\t" \
                         "add %[src], %[src], %[rs]\n\t" \
                         "add %[w], %[w], %[ws]\n\t" \
                         "add %[wl], %[wl], %[ws]\n\t" \
                         "le lr, 1b\n" \
                         "2:\n\t" \
                         : [x] "=&w"(x), [s] "=&r"(sp_), [d] "=&r"(dp_), [src] "+&r"(src), [w] "+&r"(w), \
                           [wl] "+&r"(wl) \
                         : [rows] "r"(rows), [rs] "r"(rstep), [ws] "r"(2 * wp), [c8] "r"(8 * C), [g] "w"(goff), \
                           [g1] "w"(g1) \
                         : "memory", "lr"); \
    } while (0)

/* rows window rows of one channel pair: wx pixels from src (rows rstep bytes apart, pixels C)
 * into the window rows from w (wp entries apart). */
static void dot_fill(uint16_t *w, const int8_t *src, int32_t rows, int32_t wx, int32_t wp, int32_t rstep,
                     int32_t C, uint16x8_t goff)
{
    uint16x8_t x, y;
    if (((uintptr_t)src & 1) != 0) { /* an odd input address (a model input at an odd offset) */
        for (int32_t r = 0; r < rows; ++r) {
            for (int32_t i = 0; i < wx; ++i) {
                w[i] = (uint16_t)((uint8_t)src[i * C] | ((uint32_t)(uint8_t)src[i * C + 1] << 8));
            }
            src += rstep;
            w += wp;
        }
        return;
    }
    if (wx < 8) { /* one predicated gather per row */
        const mve_pred16_t p = vctp16q((uint32_t)wx);
        __asm__ volatile("wls lr, %[rows], 2f\n"
                         "1:\n\t"
                         "vpstt\n\t"
                         "vldrht.u16 %q[x], [%[src], %q[g]]\n\t"
                         "vstrht.16 %q[x], [%[w]]\n\t"
                         "add %[src], %[src], %[rs]\n\t"
                         "add %[w], %[w], %[ws]\n\t"
                         "le lr, 1b\n"
                         "2:\n\t"
                         : [x] "=&w"(x), [src] "+&r"(src), [w] "+&r"(w)
                         : [rows] "r"(rows), [rs] "r"(rstep), [ws] "r"(2 * wp), [g] "w"(goff), [p] "Up"(p)
                         : "memory", "lr");
        return;
    }
    if (wx <= 16) { /* two gathers per row, at 0 and wx - 8 (overlapping below 16) */
        const uint16x8_t g1 = vaddq_n_u16(goff, (uint16_t)((wx - 8) * C));
        uint16_t *w1 = w + wx - 8;
        __asm__ volatile("wls lr, %[rows], 2f\n"
                         "1:\n\t"
                         "vldrh.u16 %q[x], [%[src], %q[g]]\n\t"
                         "vldrh.u16 %q[y], [%[src], %q[g1]]\n\t"
                         "vstrh.16 %q[x], [%[w]]\n\t"
                         "vstrh.16 %q[y], [%[w1]]\n\t"
                         "add %[src], %[src], %[rs]\n\t"
                         "add %[w], %[w], %[ws]\n\t"
                         "add %[w1], %[w1], %[ws]\n\t"
                         "le lr, 1b\n"
                         "2:\n\t"
                         : [x] "=&w"(x), [y] "=&w"(y), [src] "+&r"(src), [w] "+&r"(w), [w1] "+&r"(w1)
                         : [rows] "r"(rows), [rs] "r"(rstep), [ws] "r"(2 * wp), [g] "w"(goff), [g1] "w"(g1)
                         : "memory", "lr");
        return;
    }
    const int32_t last = wx - 8;
    if (wx <= 56) { /* (wx - 1) / 8 gathers 8 pixels apart, the last at wx - 8 */
        const uint16x8_t g1 = vaddq_n_u16(goff, (uint16_t)(last * C));
        uint16_t *wl = w + last;
        switch ((wx - 1) / 8) {
        case 2:
            DOT_FILL_ROWS("2");
            return;
        case 3:
            DOT_FILL_ROWS("3");
            return;
        case 4:
            DOT_FILL_ROWS("4");
            return;
        case 5:
            DOT_FILL_ROWS("5");
            return;
        default:
            DOT_FILL_ROWS("6");
            return;
        }
    }
    for (int32_t r = 0; r < rows; ++r) {
        for (int32_t i = 0; i < last; i += 8) {
            vst1q_u16(w + i, vldrhq_gather_offset_u16((const uint16_t *)(const void *)(src + i * C), goff));
        }
        vst1q_u16(w + last, vldrhq_gather_offset_u16((const uint16_t *)(const void *)(src + last * C), goff));
        src += rstep;
        w += wp;
    }
}

/* A table's end, after the n1 steps' addresses (every output's address in raster order, n of them,
 * at tab): the dst correction (<= 0: the last step overlaps the one before) and the last four
 * outputs' addresses (read before they are overwritten); one output left (n % 4 == 1): the marker
 * 1 and that output's address (dot_run computes it alone). */
static void dot_table_tail(uint32_t *tab, int32_t n, int32_t n1, int32_t OC)
{
    if ((n & 3) == 1) {
        tab[4 * n1 + 1] = tab[4 * n1];
        tab[4 * n1] = 1u;
        return;
    }
    const uint32x4_t last = vld1q_u32(tab + n - 4);
    tab[4 * n1] = (uint32_t)((n - 4 - 4 * n1) * OC);
    vst1q_u32(tab + 4 * n1 + 1, last);
}

/* The strip's table (th output rows): steps of four tap addresses, then its end (dot_table_tail);
 * returns the steps before the last. */
static int32_t dot_table(uint32_t *tab, const uint16_t *win, int32_t th, int32_t OW, int32_t s, int32_t wp,
                         int32_t OC)
{
    const int32_t n = th * OW;
    const int32_t n1 = (n + 3) / 4 - 1;
    /* every output's address in raster order, a row at a time by 4 (VSTRW, VADD: the stores past a
     * row's end are overwritten by the next row's, the last row's land in the table's slack) */
    const uint32_t st = 2u * (uint32_t)s; /* bytes between neighbouring outputs' first taps */
    const uint32x4_t lane = vmulq_n_u32(vidupq_n_u32(0, 1), st);
    uint32_t *t = tab;
    for (int32_t oy = 0; oy < th; ++oy, t += OW) {
        uint32x4_t v = vaddq_n_u32(lane, (uint32_t)(uintptr_t)(win + oy * s * wp));
        for (int32_t i = 0; i < OW; i += 4) {
            vst1q_u32(t + i, v);
            v = vaddq_n_u32(v, 4u * st);
        }
    }
    dot_table_tail(tab, n, n1, OC);
    return n1;
}

/* The 2 M output channels of input channel pair (c, c + 1) over a strip: per multiplier index j,
 * both channels' records (weights gathered OC apart, the bias with in_off * sum(w)), then their
 * outputs. */
static inline __attribute__((always_inline)) void dot_pair(const uint32_t *tab, int8_t *dst0, int32_t n1,
                                                           uint8x16_t qt0, uint8x16_t qt1, dot_rec *rec,
                                                           const dot_layer *kl, const int8_t *filter,
                                                           uint16x8_t foff, int32_t f8,
                                                           const int32_t *bias, const ef_per_channel_quant *quant,
                                                           int32_t in_off, int32_t c, int32_t M)
{
    const int8x16_t zero8 = vdupq_n_s8(0);
    for (int32_t j = 0; j < M; ++j) { /* output j of channel c and of channel c + 1 */
        for (int32_t h = 0; h < 2; ++h) {
            const int32_t oc = (c + h) * M + j;
            const int8_t *f = filter + oc;
            int8x16_t qw = vmovnbq_s16(zero8, vldrbq_gather_offset_s16(f, foff));
            qw = vsetq_lane_s8(f[f8], qw, 1);
            vst1q_s8(rec[h].w, qw);
            rec[h].bias = (bias != 0 ? bias[oc] : 0) + in_off * vaddvq_s8(qw);
            rec[h].m = quant->multiplier[oc];
            rec[h].e = quant->shift[oc];
        }
        dot_run(tab, dst0 + c * M + j, n1, qt0, &rec[0], kl);
        dot_run(tab, dst0 + (c + 1) * M + j, n1, qt1, &rec[1], kl);
    }
}

/* A dilated layer's window (dh, dw > 1, stride 1): its rows and columns stored one residue of the
 * dilation after the other (window row j at row (j % dh) Rh + j / dh, column i at (i % dw) Wr + i / dw),
 * so a window's 9 real taps are 3 x 3 neighbours there, as in an undilated layer's window, and the
 * same tap offsets, gathers and loop serve it; the fill copies each residue's pixels with the
 * dilation's pixel step (dot_dil_at: the stored row / column of window row / column j). */
typedef struct {
    int32_t rh;          /* stored rows per row residue */
    int32_t wr;          /* stored columns per column residue */
    int32_t col_dst[DOT_DIL_MAX]; /* per column residue: the first stored column of an input pixel */
    int32_t col_src[DOT_DIL_MAX]; /* its input column */
    int32_t col_n[DOT_DIL_MAX];   /* input pixels of that residue in the window */
} dot_dil;

static inline int32_t dot_dil_at(int32_t j, int32_t d, int32_t per)
{
    return (j % d) * per + j / d;
}

/* The strip's table for a dilated window: as dot_table, at the stored positions of each output's
 * first tap (window row oy, column ox: stride 1). */
static int32_t dot_table_dil(uint32_t *tab, const uint16_t *win, int32_t th, int32_t OW, int32_t wp, int32_t OC,
                             int32_t dh, int32_t dw, const dot_dil *dd)
{
    const int32_t n = th * OW;
    const int32_t n1 = (n + 3) / 4 - 1;
    /* the stored column of each output's first tap (bytes), once; then per row its base plus
     * those, 4 at a time as in dot_table */
    uint32_t col[DOT_WP_MAX + 4] __attribute__((aligned(8)));
    for (int32_t ox = 0; ox < OW + 3; ++ox) {
        col[ox] = ox < OW ? 2u * (uint32_t)dot_dil_at(ox, dw, dd->wr) : 0u;
    }
    uint32_t *t = tab;
    for (int32_t oy = 0; oy < th; ++oy, t += OW) {
        const uint32_t base = (uint32_t)(uintptr_t)(win + dot_dil_at(oy, dh, dd->rh) * wp);
        for (int32_t i = 0; i < OW; i += 4) {
            vst1q_u32(t + i, vaddq_n_u32(vld1q_u32(col + i), base));
        }
    }
    dot_table_tail(tab, n, n1, OC);
    return n1;
}

/* The Helium body, for a depth multiplier M (instantiated with M = 1, as a constant, and with any M:
 * the multiplier loop costs the multiplier-1 layers spills otherwise) and a dilation (dh, dw) of the
 * 3x3 taps (1, 1 as constants but in ef_depthwise_conv_3x3_dot_dilated_s8: stride 1, its filter
 * the zero-inserted (2 dh + 1) x (2 dw + 1) one, the window stored residue by residue, dot_dil). */
static inline __attribute__((always_inline)) void dot_mve_at(
    const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in, const int8_t *input,
    const int8_t *filter, const int32_t *bias, const ef_dims *out, int8_t *output, const int32_t M,
    const int32_t dh, const int32_t dw)
{
    const int dil = dh > 1 || dw > 1;
    const int32_t s = params->stride.h;
    const int32_t pt = params->padding.h;
    const int32_t pl = params->padding.w;
    const int32_t H = in->h, W = in->w, C = in->c;
    const int32_t OH = out->h, OW = out->w, OC = out->c;
    const int32_t wp0 = (OW - 1) * s + 2 * dw + 1; /* window columns: col j is input x = j - pl */
    const int32_t wr = (wp0 + dw - 1) / dw;        /* dilated: stored columns per residue */
    const int32_t wp = dil ? dw * wr : wp0;        /* the stored row pitch */
    const int32_t wx = W < wp - pl ? W : wp - pl; /* input pixels per window row */
    const int32_t rows_max = DOT_WIN / (2 * wp);
    int32_t toh = dil ? dh * (rows_max / dh) - 2 * dh : (rows_max - 3) / s + 1;
    if (toh > DOT_TAB / OW) {
        toh = DOT_TAB / OW;
    }
    const int32_t nstrips = (OH + toh - 1) / toh;
    toh = (OH + nstrips - 1) / nstrips; /* strips of equal height but the last */
    const int32_t tih_max = (toh - 1) * s + 2 * dh + 1;
    dot_dil dd;
    dd.rh = (tih_max + dh - 1) / dh;
    dd.wr = wr;
    const int32_t rows_stored = dil ? dh * dd.rh : tih_max;
    uint16_t win[DOT_WIN / 2] __attribute__((aligned(16)));
    uint32_t tab[DOT_TAB + 8] __attribute__((aligned(8)));
    dot_rec rec[2] __attribute__((aligned(16)));
    dot_layer kl __attribute__((aligned(16)));
    const int32_t in_off = params->input_offset;
    const uint16x8_t zpv = vdupq_n_u16((uint16_t)(((uint32_t)(uint8_t)(int8_t)-in_off) * 0x101u));
    /* tap t = 3 ky + kx at byte 2 (ky wp + kx): taps 0..7 in the even lanes, tap 8 in lane 1; its
     * weight at filter byte (ky dh (2 dw + 1) + kx dw) OC */
    uint8_t to[16] __attribute__((aligned(16))) = {0};
    uint16_t fo[8] __attribute__((aligned(16)));
    for (int32_t ky = 0, t = 0; ky < 3; ++ky) {
        for (int32_t kx = 0; kx < 3; ++kx, t += 2) {
            to[t < 16 ? t : 1] = (uint8_t)(2 * (ky * wp + kx));
            if (dil && t < 16) {
                fo[t / 2] = (uint16_t)((ky * dh * (2 * dw + 1) + kx * dw) * OC);
            }
        }
    }
    const uint16x8_t foff = dil ? vld1q_u16(fo) : vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)OC);
    const int32_t f8 = dil ? (2 * dh * (2 * dw + 1) + 2 * dw) * OC : 8 * OC;
    const uint8x16_t qt0 = vld1q_u8(to);
    const uint8x16_t qt1 = vaddq_n_u8(qt0, 1);
    const uint16x8_t goff = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)(C * dw)); /* input pixels */
    if (dil) {
        for (int32_t rx = 0; rx < dw; ++rx) { /* window columns rx + dw t inside the input */
            const int32_t t0 = rx >= pl ? 0 : (pl - rx + dw - 1) / dw;
            const int32_t lim = W + pl < wp0 ? W + pl : wp0;
            const int32_t t1 = lim > rx ? (lim - rx + dw - 1) / dw : 0;
            dd.col_dst[rx] = rx * wr + t0;
            dd.col_src[rx] = rx + dw * t0 - pl;
            dd.col_n[rx] = t1 - t0;
        }
    }
    vst1q_s32(kl.lo, vdupq_n_s32(params->activation.min));
    vst1q_s32(kl.hi, vdupq_n_s32(params->activation.max));
    vst1q_u32(kl.so, vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)OC));
    kl.zp = params->output_offset;
    kl.step = 4 * OC;
    int32_t tab_th = 0; /* the strip height the table holds */
    int32_t n1 = 0;
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * H * W * C;
        int8_t *obase = output + b * OH * OW * OC;
        for (int32_t i = 0; i < rows_stored * wp; i += 8) {
            vst1q_u16(win + i, zpv);
        }
        for (int32_t oy0 = 0; oy0 < OH; oy0 += toh) {
            const int32_t th = OH - oy0 < toh ? OH - oy0 : toh;
            if (th != tab_th) {
                n1 = dil ? dot_table_dil(tab, win, th, OW, wp, OC, dh, dw, &dd) : dot_table(tab, win, th, OW, s, wp, OC);
                tab_th = th;
            }
            const int32_t tih = (th - 1) * s + 2 * dh + 1;
            const int32_t iy0 = oy0 * s - pt;
            /* window rows outside the input: the zero point (earlier strips left input there) */
            const int32_t r0 = iy0 < 0 ? -iy0 : 0;
            const int32_t r1 = H - iy0 < tih ? H - iy0 : tih;
            for (int32_t r = r1; r < tih; ++r) {
                uint16_t *row = win + (dil ? dot_dil_at(r, dh, dd.rh) : r) * wp;
                for (int32_t j = 0; j < wp; j += 8) {
                    vstrhq_p_u16(row + j, zpv, vctp16q((uint32_t)(wp - j)));
                }
            }
            int8_t *dst0 = obase + oy0 * OW * OC;
            const int8_t *src0 = img + (iy0 + r0) * W * C;
            for (int32_t c = 0; c < C; c += 2) {
                if (dil) {
                    for (int32_t ry = 0; ry < dh; ++ry) { /* window rows r0 + ry + dh k inside the input */
                        const int32_t j0 = r0 + ry;
                        if (j0 >= r1) {
                            continue;
                        }
                        uint16_t *wrow = win + dot_dil_at(j0, dh, dd.rh) * wp;
                        const int8_t *srow = src0 + ry * W * C + c;
                        for (int32_t rx = 0; rx < dw; ++rx) {
                            if (dd.col_n[rx] > 0) {
                                dot_fill(wrow + dd.col_dst[rx], srow + dd.col_src[rx] * C, (r1 - j0 + dh - 1) / dh,
                                         dd.col_n[rx], wp, dh * W * C, dw * C, goff);
                            }
                        }
                    }
                } else {
                    dot_fill(win + r0 * wp + pl, src0 + c, r1 - r0, wx, wp, W * C, C, goff);
                }
                dot_pair(tab, dst0, n1, qt0, qt1, rec, &kl, filter, foff, f8, bias, quant, in_off, c, M);
            }
        }
    }
}

static void dot_mve(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                    const int8_t *input, const int8_t *filter, const int32_t *bias, const ef_dims *out,
                    int8_t *output)
{
    dot_mve_at(params, quant, in, input, filter, bias, out, output, 1, 1, 1);
}

static void dot_mve_mult(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                         const int8_t *input, const int8_t *filter, const int32_t *bias, const ef_dims *out,
                         int8_t *output)
{
    dot_mve_at(params, quant, in, input, filter, bias, out, output, params->ch_mult, 1, 1);
}

static void dot_mve_dil(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                        const int8_t *input, const int8_t *filter, const int32_t *bias, const ef_dims *out,
                        int8_t *output, int32_t dh, int32_t dw)
{
    dot_mve_at(params, quant, in, input, filter, bias, out, output, 1, dh, dw);
}
#endif

/* The two undilated entries' checks: mult 0 multiplier 1, 1 a multiplier > 1. */
static inline __attribute__((always_inline)) ef_status dot_entry_check(const ef_dw_conv_params *params,
                                                                       const ef_per_channel_quant *quant,
                                                                       const ef_dims *input_dims, const int8_t *input,
                                                                       const ef_dims *filter_dims,
                                                                       const int8_t *filter,
                                                                       const ef_dims *output_dims,
                                                                       const int8_t *output, const int mult)
{
    const ef_status st = ef_dw_check(params, quant, input_dims, input, filter_dims, filter,
                                     output_dims, output);
    if (st != EF_OK) {
        return st;
    }
    if (filter_dims->h != 3 || filter_dims->w != 3 || params->padding.h > 1 || params->padding.w > 1 ||
        (mult ? params->ch_mult < 2 : params->ch_mult != 1) || !dot_ok(params, quant, input_dims, output_dims)) {
        return EF_ERR_UNSUPPORTED;
    }
    return EF_OK;
}

/* Multiplier 1 (a firmware calling only this links none of the multiplier body). */
ef_status ef_depthwise_conv_3x3_dot_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                       const ef_dims *input_dims, const int8_t *input,
                                       const ef_dims *filter_dims, const int8_t *filter,
                                       const int32_t *bias,
                                       const ef_dims *output_dims, int8_t *output)
{
    const ef_status st = dot_entry_check(params, quant, input_dims, input, filter_dims, filter, output_dims, output, 0);
    if (st != EF_OK) {
        return st;
    }
#if defined(EF_NN_USE_MVE)
    dot_mve(params, quant, input_dims, input, filter, bias, output_dims, output);
    return EF_OK;
#else
    return ef_depthwise_conv_3x3_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims,
                                    output);
#endif
}

/* A depth multiplier > 1: a channel pair's window serves its 2 M output channels. */
ef_status ef_depthwise_conv_3x3_dot_mult_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                            const ef_dims *input_dims, const int8_t *input,
                                            const ef_dims *filter_dims, const int8_t *filter,
                                            const int32_t *bias,
                                            const ef_dims *output_dims, int8_t *output)
{
    const ef_status st = dot_entry_check(params, quant, input_dims, input, filter_dims, filter, output_dims, output, 1);
    if (st != EF_OK) {
        return st;
    }
#if defined(EF_NN_USE_MVE)
    dot_mve_mult(params, quant, input_dims, input, filter, bias, output_dims, output);
    return EF_OK;
#else
    return ef_depthwise_conv_3x3_mult_s8(params, quant, input_dims, input, filter_dims, filter, bias,
                                         output_dims, output);
#endif
}

/* Dilated: the dot kernel on a window stored residue by residue (dot_dil), falling back to
 * ef_depthwise_conv_3x3_dilated_s8 on the other cores. */
ef_status ef_depthwise_conv_3x3_dot_dilated_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                               const ef_dims *input_dims, const int8_t *input,
                                               const ef_dims *filter_dims, const int8_t *filter,
                                               const int32_t *bias,
                                               const ef_dims *output_dims, int8_t *output)
{
    const ef_status st = ef_dw_check(params, quant, input_dims, input, filter_dims, filter,
                                     output_dims, output);
    if (st != EF_OK) {
        return st;
    }
    if (!dot_dil_ok(params, quant, input_dims, filter_dims, output_dims)) {
        return EF_ERR_UNSUPPORTED;
    }
#if defined(EF_NN_USE_MVE)
    dot_mve_dil(params, quant, input_dims, input, filter, bias, output_dims, output, (filter_dims->h - 1) / 2,
                (filter_dims->w - 1) / 2);
    return EF_OK;
#else
    return ef_depthwise_conv_3x3_dilated_s8(params, quant, input_dims, input, filter_dims, filter, bias,
                                            output_dims, output);
#endif
}
