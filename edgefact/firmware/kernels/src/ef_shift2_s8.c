/*
 * Two-tap shift layer (SAL2): a DEPTHWISE_CONV_2D (depth multiplier 1) whose kernels have at most
 * two non-zero taps each. Output channel c of pixel (oy, ox) is
 *
 *   clamp(MBQM(b_c + sum over its taps t inside the input of (x[iy_t, ix_t, c] + in_off) * w_t) + out_off)
 *
 * exactly what the depthwise convolution computes (a tap in the padding contributes nothing),
 * with 2 multiplies per output instead of kh * kw.
 *
 * Every output is start + x0 * w0 + x1 * w1 and one requantization, start = b_c + in_off * (the
 * weights of the taps inside the input): a tap in the padding gets weight 0 (or reads the zero
 * point, which contributes nothing). The interior is the set of output pixels where every
 * channel's taps read the input; the frame the rest.
 *   - DSP (M4/M7/M33), every channel on ef_rq_chan (right shifts 2..23): interior rows of >= 16
 *     outputs channel by channel (its constants in registers; stride 1, full int8 range: 2 LDRSB,
 *     2 MLA, ef_rq_chan_apply, SSAT, STRB: 12 instructions per output), else and in the frame
 *     pixel by pixel over per-channel records on the stack (one LDM, 14 instructions per output);
 *     the frame's records patched once per frame row (its middle), frame column and corner.
 *   - Helium (M55), every multiplier >= 0 and shift <= -1, no weight -128: long interior rows
 *     channel by channel (VLDRB gathers at the pixel stride, VMLAS / VMLA by the scalar weights,
 *     VSHR + VQRDMLAH + VRSHL, VSTRB scatter: 14 instructions per 4 outputs), else 8 channels per
 *     step as int16 lanes (the two products and their sum fit), deinterleaved constants for the
 *     even / odd int32 halves (35 instructions per 8 outputs; the frame with VPT / VCMP predicates
 *     per tap and VPSEL of the zero point: 50).
 *   - otherwise (portable, other requantizations): channel by channel over the interior, the
 *     middles of the frame rows and columns and the corners, each a rectangle on which every tap
 *     is inside or outside the input throughout.
 */
#include "internal/ef_nn_internal.h"

/* Output positions o in [0, out) whose input position o * stride + off lies in [0, size): [*lo, *hi). */
static void valid_range2(int32_t off, int32_t stride, int32_t size, int32_t out, int32_t *lo, int32_t *hi)
{
    int32_t a = off >= 0 ? 0 : (stride - 1 - off) / stride;
    int32_t b = size - 1 - off < 0 ? 0 : (size - 1 - off) / stride + 1;
    a = EF_MIN(a, out);
    b = EF_MIN(b, out);
    *lo = a;
    *hi = EF_MAX(a, b);
}

/* One channel's requantization. */
typedef struct {
    int32_t mult;
    int32_t shift;
    int32_t khi; /* ef_rq_chan constants when fast */
    int32_t e;
    int32_t fast;
    int32_t out_off;
    int32_t act_min;
    int32_t act_max;
} rq2;

static inline int8_t rq2_one(const rq2 *q, int32_t acc)
{
    int32_t v;
    if (q->fast) {
        v = ef_rq_chan_apply(acc, q->khi, q->mult, q->e);
    } else {
        v = ef_requantize(acc, q->mult, q->shift) + q->out_off;
    }
    return ef_clamp_to_s8(v, q->act_min, q->act_max);
}

/* rows x cols outputs d (ds apart, rows dr apart) = rq(start + p0 * w0 + p1 * w1), the inputs ss
 * apart, rows sr apart. */
typedef struct {
    int32_t ss, sr, ds, dr;
} strides2;

#if defined(EF_NN_USE_MVE)
__attribute__((noinline)) static void rect2(const rq2 *q, const int8_t *p0, const int8_t *p1, int32_t w0, int32_t w1,
                                            int32_t start, int32_t rows, int32_t cols, const strides2 *st, int8_t *d)
{
    const uint32x4_t oin = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)st->ss);
    const uint32x4_t oout = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)st->ds);
    const int32x4_t w0v = vdupq_n_s32(w0);
    const int32x4_t lo = vdupq_n_s32(q->act_min);
    const int32x4_t hi = vdupq_n_s32(q->act_max);
    const int32_t s4 = 4 * st->ss;
    const int32_t d4 = 4 * st->ds;
    const int fast = q->mult >= 0 && q->shift <= -1;
    const int32x4_t mv = vdupq_n_s32(q->mult);
    const int32x4_t sv = vdupq_n_s32(q->shift);
    for (int32_t r = 0; r < rows; ++r, p0 += st->sr, p1 += st->sr, d += st->dr) {
        const int8_t *a0 = p0;
        const int8_t *a1 = p1;
        int8_t *o = d;
#if defined(__OPTIMIZE__) /* -O0: too few registers for the asm operands */
        if (fast) {
            /* 14 instructions per 4 outputs; the second tap through the first's offsets + (a1 - a0) */
            const uint32x4_t oin1 = vaddq_n_u32(oin, (uint32_t)(a1 - a0));
            int32x4_t x;
            int32x4_t t;
            __asm__ volatile("wlstp.32 lr, %[n], 2f\n"
                             "1:\n\t"
                             "vldrb.s32 %q[x], [%[a], %q[o0]]\n\t"
                             "vldrb.s32 %q[t], [%[a], %q[o1]]\n\t"
                             "vmlas.s32 %q[x], %q[w0], %[st]\n\t"
                             "vmla.s32 %q[x], %q[t], %[w1]\n\t"
                             "vshr.s32 %q[t], %q[x], #31\n\t" /* TFLite's rounding fix-up: [acc < 0] */
                             "vqrdmlah.s32 %q[t], %q[x], %[m]\n\t"
                             "vrshl.s32 %q[t], %[sh]\n\t"
                             "vadd.i32 %q[t], %q[t], %[zp]\n\t"
                             "vmax.s32 %q[t], %q[t], %q[lo]\n\t"
                             "vmin.s32 %q[t], %q[t], %q[hi]\n\t"
                             "vstrb.32 %q[t], [%[d], %q[od]]\n\t"
                             "add %[a], %[a], %[s4]\n\t"
                             "add %[d], %[d], %[d4]\n\t"
                             "letp lr, 1b\n"
                             "2:\n"
                             : [x] "=&w"(x), [t] "=&w"(t), [a] "+&r"(a0), [d] "+&r"(o)
                             : [n] "r"(cols), [o0] "w"(oin), [o1] "w"(oin1), [w0] "w"(w0v), [st] "r"(start),
                               [w1] "r"(w1), [m] "r"(q->mult), [sh] "r"(q->shift), [zp] "r"(q->out_off),
                               [lo] "w"(lo), [hi] "w"(hi), [od] "w"(oout), [s4] "r"(s4), [d4] "r"(d4)
                             : "memory", "lr");
            (void)a1;
            continue;
        }
#endif
        if (fast) {
            for (int32_t k = cols; k > 0; k -= 4, a0 += s4, a1 += s4, o += d4) {
                const mve_pred16_t p = vctp32q((uint32_t)k);
                int32x4_t x = vldrbq_gather_offset_z_s32(a0, oin, p);
                const int32x4_t y = vldrbq_gather_offset_z_s32(a1, oin, p);
                x = vmlasq_n_s32(x, w0v, start);
                x = vmlaq_n_s32(x, y, w1);
                int32x4_t t = vqrdmlahq_n_s32(vshrq_n_s32(x, 31), x, q->mult); /* fix-up: [acc < 0] */
                t = vaddq_n_s32(vrshlq_n_s32(t, q->shift), q->out_off);
                vstrbq_scatter_offset_p_s32(o, oout, vminq_s32(vmaxq_s32(t, lo), hi), p);
            }
        } else {
            for (int32_t k = cols; k > 0; k -= 4, a0 += s4, a1 += s4, o += d4) {
                const mve_pred16_t p = vctp32q((uint32_t)k);
                int32x4_t x = vldrbq_gather_offset_z_s32(a0, oin, p);
                const int32x4_t y = vldrbq_gather_offset_z_s32(a1, oin, p);
                x = vmlasq_n_s32(x, w0v, start);
                x = vmlaq_n_s32(x, y, w1);
                int32x4_t t = vaddq_n_s32(ef_requantize_x4(x, mv, sv), q->out_off);
                t = vminq_s32(vmaxq_s32(t, lo), hi);
                vstrbq_scatter_offset_p_s32(o, oout, t, p);
            }
        }
    }
}
#else
/* The fast requantization with the activation min / max as a clamp (SSAT when it is the full
 * int8 range on the DSP cores). */
static inline __attribute__((always_inline)) void row_fast(const int8_t *a0, const int8_t *a1, int32_t w0,
                                                            int32_t w1, int32_t start, int32_t cols, int32_t ss,
                                                            int8_t *o, int32_t ds, int32_t khi, int32_t mult,
                                                            int32_t e, int32_t lo, int32_t hi, const int full)
{
    if (ss == ds) { /* stride 1: one index for both inputs and the output */
        const int32_t end = cols * ds;
        for (int32_t i = 0; i < end; i += ds) {
            const int32_t acc = start + (int32_t)a0[i] * w0 + (int32_t)a1[i] * w1;
            const int32_t v = ef_rq_chan_apply(acc, khi, mult, e);
#if defined(EF_NN_USE_DSP)
            o[i] = full ? (int8_t)__ssat(v, 8) : ef_clamp_to_s8(v, lo, hi);
#else
            (void)full;
            o[i] = ef_clamp_to_s8(v, lo, hi);
#endif
        }
        return;
    }
    for (int32_t k = 0; k < cols; ++k, a0 += ss, a1 += ss, o += ds) {
        const int32_t acc = start + (int32_t)a0[0] * w0 + (int32_t)a1[0] * w1;
        const int32_t v = ef_rq_chan_apply(acc, khi, mult, e);
#if defined(EF_NN_USE_DSP)
        o[0] = full ? (int8_t)__ssat(v, 8) : ef_clamp_to_s8(v, lo, hi);
#else
        o[0] = ef_clamp_to_s8(v, lo, hi);
#endif
    }
}

#if defined(EF_NN_USE_DSP)
/* Stride 1, full int8 range, fast requantization: rows of n outputs one index apart for both
 * inputs and the output (row ends e0, e1, ed, rows sr / dr apart; the index runs from -n * step
 * up to 0), two outputs per pass: LDRSB x2, MLA x2, AND, RSBS, SBC, SMLAL, ASR, SSAT, STRB and the
 * index step per output (12 instructions). */
__attribute__((noinline)) static void rows_dsp_full(const int8_t *e0, const int8_t *e1, int8_t *ed, int32_t n,
                                                     int32_t rows, const int32_t *k)
{
    const int32_t w0 = k[0];
    const int32_t w1 = k[1];
    const int32_t start = k[2];
    const int32_t khi = k[3];
    const int32_t mult = k[4];
    const int32_t e = k[5];
    const int32_t step = k[6];
    for (int32_t r = 0; r < rows; ++r, e0 += k[7], e1 += k[7], ed += k[8]) {
        int32_t i = -n * step;
        if (n & 1) {
            const int32_t acc = start + (int32_t)e0[i] * w0 + (int32_t)e1[i] * w1;
            ed[i] = (int8_t)__ssat(ef_rq_chan_apply(acc, khi, mult, e), 8);
            i += step;
        }
        while (i != 0) {
            const int32_t a = start + (int32_t)e0[i] * w0 + (int32_t)e1[i] * w1;
            ed[i] = (int8_t)__ssat(ef_rq_chan_apply(a, khi, mult, e), 8);
            i += step;
            const int32_t b = start + (int32_t)e0[i] * w0 + (int32_t)e1[i] * w1;
            ed[i] = (int8_t)__ssat(ef_rq_chan_apply(b, khi, mult, e), 8);
            i += step;
        }
    }
}
#endif

static void rect2(const rq2 *q, const int8_t *p0, const int8_t *p1, int32_t w0, int32_t w1, int32_t start,
                  int32_t rows, int32_t cols, const strides2 *st, int8_t *d)
{
#if defined(EF_NN_USE_DSP)
    if (q->fast && q->act_min == -128 && q->act_max == 127 && st->ss == st->ds) {
        const int32_t k[9] = {w0, w1, start, q->khi, q->mult, q->e, st->ds, st->sr, st->dr};
        const int32_t end = cols * st->ds;
        rows_dsp_full(p0 + end, p1 + end, d + end, cols, rows, k);
        return;
    }
#endif
    for (int32_t r = 0; r < rows; ++r, p0 += st->sr, p1 += st->sr, d += st->dr) {
        if (q->fast && q->act_min == -128 && q->act_max == 127) {
            row_fast(p0, p1, w0, w1, start, cols, st->ss, d, st->ds, q->khi, q->mult, q->e, -128, 127, 1);
        } else if (q->fast) {
            row_fast(p0, p1, w0, w1, start, cols, st->ss, d, st->ds, q->khi, q->mult, q->e, q->act_min, q->act_max,
                     0);
        } else {
            const int8_t *a0 = p0;
            const int8_t *a1 = p1;
            int8_t *o = d;
            for (int32_t k = 0; k < cols; ++k, a0 += st->ss, a1 += st->ss, o += st->ds) {
                *o = rq2_one(q, start + (int32_t)a0[0] * w0 + (int32_t)a1[0] * w1);
            }
        }
    }
}
#endif

#if defined(EF_NN_USE_MVE)
/* Helium, pixel by pixel: chunks of up to SH2_CHUNK channels, 8 channels per step as int16 lanes
 * (the two products and their sum fit: |x * w| <= 16256), the per-channel constants deinterleaved
 * once per chunk onto the stack for the even / odd int32 halves. */
#define SH2_CHUNK 32
#define SH2_STEPS (SH2_CHUNK / 8)

/* One step of 8 channels: its constants in load order (one pointer, immediate offsets). */
typedef struct {
    uint16_t off[2][8]; /* gather offsets from the pixel's window corner */
    int16_t w[2][8];
    int32_t start[2][4]; /* [0]: even channels, [1]: odd */
    int32_t mult[2][4];
    int32_t shift[2][4];
    int16_t ky[2][8];    /* the frame's tap positions */
    int16_t kx[2][8];
} sh2_step;

typedef struct {
    sh2_step s[SH2_STEPS];
} sh2_chunk;

/* Whether the pixel path applies: every multiplier >= 0 and shift <= -1 (the rounding fix-up
 * from the accumulator's sign), no weight -128 (so the two products' sum fits int16), the offsets
 * within 16 bits. */
static int sh2_mve_ok(const ef_per_channel_quant *quant, const int8_t *weights, int32_t C, int32_t W, int32_t kh,
                      int32_t kw)
{
    for (int32_t c = 0; c < C; ++c) {
        if (quant->multiplier[c] < 0 || quant->shift[c] > -1 || weights[2 * c] == -128 || weights[2 * c + 1] == -128) {
            return 0;
        }
    }
    return ((kh - 1) * W + kw - 1) * C + SH2_CHUNK < 0x10000;
}

static void sh2_fill(sh2_chunk *k, int32_t c0, int32_t n, int32_t C, int32_t W, int32_t ph, int32_t pw,
                     const int16_t *taps, const int8_t *weights, const int32_t *bias, const ef_per_channel_quant *quant,
                     int32_t in_off)
{
    for (int32_t i = 0; i < n; ++i) {
        const int32_t c = c0 + i;
        sh2_step *st = &k->s[i / 8];
        const int32_t l = i % 8;
        int32_t start = bias != 0 ? bias[c] : 0;
        for (int32_t j = 0; j < 2; ++j) {
            const int32_t t = taps[2 * c + j];
            const int on = t >= 0 && weights[2 * c + j] != 0;
            const int32_t ky = on ? t >> 8 : ph; /* none: the base pixel, inside, weight 0 */
            const int32_t kx = on ? t & 0xFF : pw;
            st->off[j][l] = (uint16_t)((ky * W + kx) * C + i);
            st->w[j][l] = (int16_t)(on ? weights[2 * c + j] : 0);
            st->ky[j][l] = (int16_t)ky;
            st->kx[j][l] = (int16_t)kx;
            start += in_off * st->w[j][l];
        }
        st->start[l & 1][l >> 1] = start;
        st->mult[l & 1][l >> 1] = quant->multiplier[c];
        st->shift[l & 1][l >> 1] = quant->shift[c];
    }
}

/* n channels of one frame pixel; s: the input address of its window's top-left corner plus the
 * chunk's first channel (may lie outside the input: lanes whose tap is outside are not loaded and
 * read the zero point, which contributes nothing); (iy0, ix0): that corner. */
static inline __attribute__((always_inline)) void sh2_frame(const sh2_step *k, const int8_t *s, int32_t n,
                                                            int8_t *d, int32_t iy0, int32_t ix0,
                                                            uint16x8_t hv, uint16x8_t wv, int16_t zp, int32_t out_off,
                                                            int16_t lo, int16_t hi)
{
    for (int32_t i = 0; i < n; i += 8, ++k, d += 8) {
        const mve_pred16_t t = vctp16q((uint32_t)(n - i));
        const uint16x8_t iya = vreinterpretq_u16_s16(vaddq_n_s16(vldrhq_s16(k->ky[0]), (int16_t)iy0));
        const uint16x8_t ixa = vreinterpretq_u16_s16(vaddq_n_s16(vldrhq_s16(k->kx[0]), (int16_t)ix0));
        const mve_pred16_t pa = vcmphiq_m_u16(wv, ixa, vcmphiq_m_u16(hv, iya, t));
        const int16x8_t x0 = vpselq_s16(vldrbq_gather_offset_z_s16(s, vldrhq_u16(k->off[0]), pa), vdupq_n_s16(zp), pa);
        const uint16x8_t iyb = vreinterpretq_u16_s16(vaddq_n_s16(vldrhq_s16(k->ky[1]), (int16_t)iy0));
        const uint16x8_t ixb = vreinterpretq_u16_s16(vaddq_n_s16(vldrhq_s16(k->kx[1]), (int16_t)ix0));
        const mve_pred16_t pb = vcmphiq_m_u16(wv, ixb, vcmphiq_m_u16(hv, iyb, t));
        const int16x8_t x1 = vpselq_s16(vldrbq_gather_offset_z_s16(s, vldrhq_u16(k->off[1]), pb), vdupq_n_s16(zp), pb);
        const int16x8_t sum = vaddq_s16(vmulq_s16(x0, vldrhq_s16(k->w[0])), vmulq_s16(x1, vldrhq_s16(k->w[1])));
        int32x4_t a = vaddq_s32(vmovlbq_s16(sum), vldrwq_s32(k->start[0]));
        int32x4_t b = vaddq_s32(vmovltq_s16(sum), vldrwq_s32(k->start[1]));
        a = vqaddq_s32(vqrdmulhq_s32(a, vldrwq_s32(k->mult[0])), vshrq_n_s32(a, 31));
        b = vqaddq_s32(vqrdmulhq_s32(b, vldrwq_s32(k->mult[1])), vshrq_n_s32(b, 31));
        a = vrshlq_s32(a, vldrwq_s32(k->shift[0]));
        b = vrshlq_s32(b, vldrwq_s32(k->shift[1]));
        int16x8_t v = vqmovntq_s32(vqmovnbq_s32(vuninitializedq_s16(), a), b);
        v = vminq_s16(vmaxq_s16(vqaddq_n_s16(v, (int16_t)out_off), vdupq_n_s16(lo)), vdupq_n_s16(hi));
        vstrbq_p_s16(d, v, t);
    }
}

/* Channel i of a pixel alone (the last of an odd count: the asm loops run an even number, as a
 * tail-predicated DLSTP.16 loop writes only the active bytes of each 32-bit lane). */
static void sh2_one(const sh2_step *k, const int8_t *s, int32_t i, int8_t *d, int frame, int32_t iy0, int32_t ix0,
                    int32_t H, int32_t W, int32_t zp, int32_t out_off, int32_t lo, int32_t hi)
{
    const sh2_step *st = k + i / 8;
    const int32_t l = i % 8;
    int32_t acc = st->start[l & 1][l >> 1];
    for (int32_t j = 0; j < 2; ++j) {
        const int in = !frame || ((uint32_t)(iy0 + st->ky[j][l]) < (uint32_t)H &&
                                  (uint32_t)(ix0 + st->kx[j][l]) < (uint32_t)W);
        acc += (in ? (int32_t)s[st->off[j][l]] : zp) * st->w[j][l];
    }
    const int32_t v = ef_requantize(acc, st->mult[l & 1][l >> 1], st->shift[l & 1][l >> 1]) + out_off;
    d[i] = ef_clamp_to_s8(v, lo, hi);
}

/* From the two taps' int16 values in q1 / q2: the products, the start values, the
 * requantization and the output offset, into q3 (int16 lanes). */
#define SH2_TAIL \
    "vldrh.u16 %q[q0], [%[k], #32]\n\t" \
    "vmul.i16 %q[q1], %q[q1], %q[q0]\n\t" \
    "vldrh.u16 %q[q0], [%[k], #48]\n\t" \
    "vmul.i16 %q[q2], %q[q2], %q[q0]\n\t" \
    "vadd.i16 %q[q1], %q[q1], %q[q2]\n\t" \
    "vmovlt.s16 %q[q2], %q[q1]\n\t" \
    "vmovlb.s16 %q[q1], %q[q1]\n\t" \
    "vldrw.u32 %q[q0], [%[k], #64]\n\t" \
    "vadd.i32 %q[q1], %q[q1], %q[q0]\n\t" \
    "vldrw.u32 %q[q0], [%[k], #80]\n\t" \
    "vadd.i32 %q[q2], %q[q2], %q[q0]\n\t" \
    "vldrw.u32 %q[q0], [%[k], #96]\n\t" \
    "vqrdmulh.s32 %q[q3], %q[q1], %q[q0]\n\t" \
    "vshr.s32 %q[q1], %q[q1], #31\n\t" \
    "vqadd.s32 %q[q1], %q[q3], %q[q1]\n\t" \
    "vldrw.u32 %q[q0], [%[k], #112]\n\t" \
    "vqrdmulh.s32 %q[q3], %q[q2], %q[q0]\n\t" \
    "vshr.s32 %q[q2], %q[q2], #31\n\t" \
    "vqadd.s32 %q[q2], %q[q3], %q[q2]\n\t" \
    "vldrw.u32 %q[q0], [%[k], #128]\n\t" \
    "vrshl.s32 %q[q1], %q[q1], %q[q0]\n\t" \
    "vldrw.u32 %q[q0], [%[k], #144]\n\t" \
    "vrshl.s32 %q[q2], %q[q2], %q[q0]\n\t" \
    "vqmovnb.s32 %q[q3], %q[q1]\n\t" \
    "vqmovnt.s32 %q[q3], %q[q2]\n\t" \
    "vqadd.s16 %q[q3], %q[q3], %[off]\n\t"

/* A frame pixel's n channels (n even), full int8 range: sh2_frame's work, per tap the predicate of the lanes
 * whose tap is inside (VPT + VCMP on the window corner plus the taps' positions), a predicated
 * gather and VPSEL of the zero point, the int8 saturation a VQMOVNB.S16 (50 instructions per step
 * of 8 channels). */
static inline __attribute__((always_inline)) void sh2_frame_full(const sh2_step *k, const int8_t *s, int32_t n,
                                                                 int8_t *d, int32_t iy0, int32_t ix0, uint16x8_t hv,
                                                                 uint16x8_t wv, int16x8_t zpv, int32_t out_off)
{
    int16x8_t q0;
    int16x8_t q1;
    int16x8_t q2;
    int16x8_t q3;
    __asm__ volatile("dlstp.16 lr, %[n]\n"
                     "1:\n\t"
                     "vldrh.u16 %q[q0], [%[k], #160]\n\t"
                     "vadd.i16 %q[q0], %q[q0], %[iy]\n\t"
                     "vldrh.u16 %q[q3], [%[k], #192]\n\t"
                     "vadd.i16 %q[q3], %q[q3], %[ix]\n\t"
                     "vpt.u16 hi, %q[hv], %q[q0]\n\t"
                     "vcmpt.u16 hi, %q[wv], %q[q3]\n\t"
                     "vldrh.u16 %q[q0], [%[k]]\n\t"
                     "vpst\n\t"
                     "vldrbt.s16 %q[q1], [%[s], %q[q0]]\n\t"
                     "vpsel %q[q1], %q[q1], %q[zp]\n\t"
                     "vldrh.u16 %q[q0], [%[k], #176]\n\t"
                     "vadd.i16 %q[q0], %q[q0], %[iy]\n\t"
                     "vldrh.u16 %q[q3], [%[k], #208]\n\t"
                     "vadd.i16 %q[q3], %q[q3], %[ix]\n\t"
                     "vpt.u16 hi, %q[hv], %q[q0]\n\t"
                     "vcmpt.u16 hi, %q[wv], %q[q3]\n\t"
                     "vldrh.u16 %q[q0], [%[k], #16]\n\t"
                     "vpst\n\t"
                     "vldrbt.s16 %q[q2], [%[s], %q[q0]]\n\t"
                     "vpsel %q[q2], %q[q2], %q[zp]\n\t"
                     SH2_TAIL
                     "vqmovnb.s16 %q[q3], %q[q3]\n\t"
                     "vstrb.16 %q[q3], [%[d]], #8\n\t"
                     "add %[k], %[k], %[rec]\n\t"
                     "letp lr, 1b\n"
                     : [q0] "=&w"(q0), [q1] "=&w"(q1), [q2] "=&w"(q2), [q3] "=&w"(q3), [k] "+&r"(k), [d] "+&l"(d)
                     : [n] "r"(n), [s] "r"(s), [iy] "r"(iy0), [ix] "r"(ix0), [hv] "w"(hv), [wv] "w"(wv),
                       [zp] "w"(zpv), [off] "r"(out_off), [rec] "r"((int32_t)sizeof(sh2_step))
                     : "memory", "lr");
}

/* The interior pixel's n channels (n even, every tap inside), 8 per step of a tail-predicated asm loop:
 * 35 instructions (2 gathers, 2 VMUL.I16 and a VADD for the two products, VMOVLB / VMOVLT, the
 * start values, per half VQRDMULH + VSHR + VQADD + VRSHL, VQMOVNB / VQMOVNT, the output offset,
 * the clamp, one VSTRB.16). */
static inline __attribute__((always_inline)) void sh2_inner(const sh2_step *k, const int8_t *s, int32_t n, int8_t *d,
                                                            int32_t out_off, int16x8_t lo, int16x8_t hi)
{
    int16x8_t q0;
    int16x8_t q1;
    int16x8_t q2;
    int16x8_t q3;
    __asm__ volatile("dlstp.16 lr, %[n]\n"
                     "1:\n\t"
                     "vldrh.u16 %q[q0], [%[k]]\n\t"
                     "vldrb.s16 %q[q1], [%[s], %q[q0]]\n\t"
                     "vldrh.u16 %q[q0], [%[k], #16]\n\t"
                     "vldrb.s16 %q[q2], [%[s], %q[q0]]\n\t"
                     SH2_TAIL
                     "vmax.s16 %q[q3], %q[q3], %q[lo]\n\t"
                     "vmin.s16 %q[q3], %q[q3], %q[hi]\n\t"
                     "vstrb.16 %q[q3], [%[d]], #8\n\t"
                     "add %[k], %[k], %[rec]\n\t"
                     "letp lr, 1b\n"
                     : [q0] "=&w"(q0), [q1] "=&w"(q1), [q2] "=&w"(q2), [q3] "=&w"(q3), [k] "+&r"(k), [d] "+&l"(d)
                     : [n] "r"(n), [s] "r"(s), [off] "r"(out_off), [lo] "w"(lo), [hi] "w"(hi),
                       [rec] "r"((int32_t)sizeof(sh2_step))
                     : "memory", "lr");
}
#endif

#if defined(EF_NN_USE_DSP)
/* DSP cores, pixel by pixel (short interior rows and the frame): chunks of up to SH2D_CHUNK
 * channels, each channel's constants one record (LDRD pairs), every channel on ef_rq_chan. */
#define SH2D_CHUNK 16

typedef struct {
    int32_t off0, off1; /* from the pixel's window corner */
    int32_t w0, w1;
    int32_t start, khi;
    int32_t mult, e;
} sh2d_rec; /* in LDM order */

typedef struct {
    int16_t ky0, kx0, ky1, kx1; /* the frame's tap positions */
} sh2d_pos;

static int sh2_dsp_ok(const ef_per_channel_quant *quant, int32_t C)
{
    for (int32_t c = 0; c < C; ++c) {
        if (!ef_rq_chan_ok(quant->multiplier[c], quant->shift[c])) {
            return 0;
        }
    }
    return 1;
}

static void sh2d_fill(sh2d_rec *k, sh2d_pos *pos, int32_t c0, int32_t n, int32_t C, int32_t W, int32_t ph, int32_t pw,
                      const int16_t *taps, const int8_t *weights, const int32_t *bias,
                      const ef_per_channel_quant *quant, int32_t in_off, int32_t out_off)
{
    for (int32_t i = 0; i < n; ++i) {
        const int32_t c = c0 + i;
        int32_t ky[2];
        int32_t kx[2];
        int32_t w[2];
        for (int32_t j = 0; j < 2; ++j) {
            const int32_t t = taps[2 * c + j];
            const int on = t >= 0 && weights[2 * c + j] != 0;
            ky[j] = on ? t >> 8 : ph; /* none: the base pixel, inside, weight 0 */
            kx[j] = on ? t & 0xFF : pw;
            w[j] = on ? weights[2 * c + j] : 0;
        }
        const ef_rq_chan q = ef_rq_chan_of(quant->multiplier[c], quant->shift[c], out_off);
        const sh2d_rec r = {(ky[0] * W + kx[0]) * C + i, (ky[1] * W + kx[1]) * C + i, w[0], w[1],
                            (bias != 0 ? bias[c] : 0) + in_off * (w[0] + w[1]), q.khi, q.mult, q.e};
        const sh2d_pos p = {(int16_t)ky[0], (int16_t)kx[0], (int16_t)ky[1], (int16_t)kx[1]};
        k[i] = r;
        pos[i] = p;
    }
}

/* The records of a frame row's middle (check_y), a frame column beside the interior (check_x) or
 * a corner (both) at window corner (iy0, ix0): a tap outside the input gets weight 0, its offset
 * the base pixel's (inside) and its term out of the start value. */
static void sh2d_patch(sh2d_rec *kf, const sh2d_rec *k, const sh2d_pos *p, int32_t n, int check_y, int32_t iy0,
                       int check_x, int32_t ix0, uint32_t H, uint32_t W, int32_t in_off, int32_t base_off)
{
    for (int32_t i = 0; i < n; ++i) {
        sh2d_rec r = k[i];
        const int v0 = (!check_y || (uint32_t)(iy0 + p[i].ky0) < H) && (!check_x || (uint32_t)(ix0 + p[i].kx0) < W);
        const int v1 = (!check_y || (uint32_t)(iy0 + p[i].ky1) < H) && (!check_x || (uint32_t)(ix0 + p[i].kx1) < W);
        if (!v0) {
            r.start -= in_off * r.w0;
            r.w0 = 0;
            r.off0 = base_off + i;
        }
        if (!v1) {
            r.start -= in_off * r.w1;
            r.w1 = 0;
            r.off1 = base_off + i;
        }
        kf[i] = r;
    }
}

/* n channels of one pixel whose records read inside the input. */
static inline __attribute__((always_inline)) void sh2d_inner_c(const sh2d_rec *k, const int8_t *s, int32_t n,
                                                               int8_t *d, const int full, int32_t lo, int32_t hi)
{
    for (int32_t i = 0; i < n; ++i, ++k) {
        const int32_t v = ef_rq_chan_apply(k->start + s[k->off0] * k->w0 + s[k->off1] * k->w1, k->khi, k->mult, k->e);
        d[i] = full ? (int8_t)__ssat(v, 8) : ef_clamp_to_s8(v, lo, hi);
    }
}

#if defined(__OPTIMIZE__)
/* n >= 1 channels of one interior pixel, full int8 range: per channel one LDM of its record, 2
 * LDRSB, 2 MLA, AND, RSBS, SBC, SMLAL, ASR, SSAT, STRB and the loop test (14 instructions). */
static inline __attribute__((always_inline)) void sh2d_inner_full(const sh2d_rec *k, const int8_t *s, int32_t n,
                                                                  int8_t *d)
{
    int8_t *const end = d + n;
    __asm__ volatile("1:\n\t"
                     "ldm %[k]!, {r4, r5, r6, r8, r9, r10, r11, r12}\n\t"
                     "ldrsb r4, [%[s], r4]\n\t"
                     "ldrsb r5, [%[s], r5]\n\t"
                     "mla r9, r4, r6, r9\n\t"
                     "mla r9, r5, r8, r9\n\t"
                     "and r4, r9, #0x80000000\n\t"
                     "rsbs r4, r4, #0x40000000\n\t"
                     "sbc r10, r10, #0\n\t"
                     "smlal r4, r10, r9, r11\n\t"
                     "asr r10, r10, r12\n\t"
                     "ssat r10, #8, r10\n\t"
                     "strb r10, [%[d]], #1\n\t"
                     "cmp %[d], %[e]\n\t"
                     "bne 1b\n"
                     : [k] "+&r"(k), [d] "+&r"(d)
                     : [s] "r"(s), [e] "r"(end)
                     : "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "memory", "cc");
}
#endif
#endif

/* One call's geometry. */
typedef struct {
    const int8_t *in; /* this batch's input */
    int8_t *out;      /* this batch's output */
    const int16_t *taps;
    const int8_t *weights;
    const int32_t *bias;
    int32_t H, W, C, ow, sh, sw, ph, pw, in_off;
} geom2;

/* Channel c over the rows x cols outputs from (oy, ox), `st` apart (a row of a frame, a column
 * of it with the strides swapped, the interior, a corner pixel): each tap is inside the input at
 * every one of them or at none (its weight then 0, reading the other tap or the base pixel). */
static void seg2(const geom2 *g, int32_t c, const rq2 *q, int32_t oy, int32_t ox, int32_t rows, int32_t cols,
                 const strides2 *st)
{
    const int32_t iy0 = oy * g->sh - g->ph;
    const int32_t ix0 = ox * g->sw - g->pw;
    const int8_t *base = g->in + ((oy * g->sh) * g->W + ox * g->sw) * g->C + c; /* inside for every output */
    const int8_t *p[2] = {base, base};
    int32_t w[2] = {0, 0};
    int32_t start = g->bias != 0 ? g->bias[c] : 0;
    for (int32_t j = 0; j < 2; ++j) {
        const int32_t t = g->taps[2 * c + j];
        const int32_t iy = iy0 + (t >> 8);
        const int32_t ix = ix0 + (t & 0xFF);
        if (t >= 0 && g->weights[2 * c + j] != 0 && (uint32_t)iy < (uint32_t)g->H && (uint32_t)ix < (uint32_t)g->W) {
            w[j] = g->weights[2 * c + j];
            start += g->in_off * w[j];
            p[j] = g->in + (iy * g->W + ix) * g->C + c;
        }
    }
    if (w[0] == 0) {
        p[0] = p[1];
    } else if (w[1] == 0) {
        p[1] = p[0];
    }
    int8_t *d = g->out + (oy * g->ow + ox) * g->C + c;
    if (rows == 1 && cols == 1) { /* a corner pixel */
        *d = rq2_one(q, start + (int32_t)*p[0] * w[0] + (int32_t)*p[1] * w[1]);
        return;
    }
    rect2(q, p[0], p[1], w[0], w[1], start, rows, cols, st, d);
}

ef_status ef_shift2_s8(const ef_shift2_params *params, const ef_per_channel_quant *quant, const ef_dims *input_dims,
                       const int8_t *input, const int16_t *taps, const int8_t *weights, const int32_t *bias,
                       const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || quant == 0 || quant->multiplier == 0 || quant->shift == 0 || input_dims == 0 || input == 0 ||
        taps == 0 || weights == 0 || output_dims == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    if (!ef_dims_valid(in) || !ef_dims_valid(out) || out->c != in->c || out->n != in->n) {
        return EF_ERR_DIMS;
    }
    const int32_t kh = params->filter.h;
    const int32_t kw = params->filter.w;
    if (kh <= 0 || kh > 127 || kw <= 0 || kw > 256 || params->stride.h <= 0 || params->stride.w <= 0 ||
        params->padding.h < 0 || params->padding.w < 0 || !ef_activation_valid(&params->activation) ||
        params->input_offset < -127 || params->input_offset > 128 || params->output_offset < -128 ||
        params->output_offset > 127) {
        return EF_ERR_PARAM;
    }
    if (!ef_out_size_ok(in->h, kh, params->stride.h, params->padding.h, out->h) ||
        !ef_out_size_ok(in->w, kw, params->stride.w, params->padding.w, out->w)) {
        return EF_ERR_DIMS;
    }
    const int32_t C = in->c;
    for (int32_t i = 0; i < 2 * C; ++i) {
        const int32_t t = taps[i];
        if (t < -1 || (t >= 0 && ((t >> 8) >= kh || (t & 0xFF) >= kw))) {
            return EF_ERR_PARAM;
        }
    }
    for (int32_t c = 0; c < C; ++c) {
        if (!ef_shift_valid(quant->shift[c])) {
            return EF_ERR_PARAM;
        }
    }
    const int32_t H = in->h;
    const int32_t W = in->w;
    const int32_t oh = out->h;
    const int32_t ow = out->w;
    const int32_t sh = params->stride.h;
    const int32_t sw = params->stride.w;
    const int32_t ph = params->padding.h;
    const int32_t pw = params->padding.w;
    /* interior: every channel's taps inside the input (a missing tap reads the base pixel) */
    int32_t ky_min = ph;
    int32_t ky_max = ph;
    int32_t kx_min = pw;
    int32_t kx_max = pw;
    for (int32_t i = 0; i < 2 * C; ++i) {
        const int32_t t = taps[i];
        if (t >= 0 && weights[i] != 0) {
            ky_min = EF_MIN(ky_min, t >> 8);
            ky_max = EF_MAX(ky_max, t >> 8);
            kx_min = EF_MIN(kx_min, t & 0xFF);
            kx_max = EF_MAX(kx_max, t & 0xFF);
        }
    }
    int32_t y_lo;
    int32_t y_hi;
    int32_t x_lo;
    int32_t x_hi;
    valid_range2(ky_min - ph, sh, H - (ky_max - ky_min), oh, &y_lo, &y_hi);
    valid_range2(kx_min - pw, sw, W - (kx_max - kx_min), ow, &x_lo, &x_hi);
    if (x_lo == x_hi) {
        y_hi = y_lo;
    }
    const strides2 st = {sw * C, sh * W * C, C, ow * C};
    const strides2 st_col = {sh * W * C, sw * C, ow * C, C}; /* a frame column as a row */
    geom2 g = {input, output, taps, weights, bias, H, W, C, ow, sh, sw, ph, pw, params->input_offset};
    const int32_t n_cols = x_hi - x_lo;
    const int32_t n_rows = y_hi - y_lo;
#if defined(EF_NN_USE_MVE)
    if (sh2_mve_ok(quant, weights, C, W, kh, kw) && H < 0x8000 && W < 0x8000) {
        sh2_chunk k;
        const int16_t lo = (int16_t)params->activation.min;
        const int16_t hi = (int16_t)params->activation.max;
        const int16x8_t lov = vdupq_n_s16(lo);
        const int16x8_t hiv = vdupq_n_s16(hi);
        const uint16x8_t hv = vdupq_n_u16((uint16_t)H);
        const uint16x8_t wv = vdupq_n_u16((uint16_t)W);
        const int16_t zp = (int16_t)-params->input_offset;
        const int16x8_t zpv = vdupq_n_s16(zp);
        const int full = lo == -128 && hi == 127;
        /* interior rows of >= 16 outputs: channel by channel (the asm loop, 3.5 instructions per
         * output); else every pixel through the channel steps */
        const int by_channel = n_rows > 0 && n_cols >= 16;
        for (int32_t bn = 0; bn < in->n && by_channel; ++bn) {
            g.in = input + bn * H * W * C;
            g.out = output + bn * oh * ow * C;
            for (int32_t c = 0; c < C; ++c) {
                const rq2 q = {quant->multiplier[c], quant->shift[c], 0, 0, 0, params->output_offset,
                               params->activation.min, params->activation.max};
                seg2(&g, c, &q, y_lo, x_lo, n_rows, n_cols, &st);
            }
        }
        for (int32_t c0 = 0; c0 < C; c0 += SH2_CHUNK) {
            const int32_t n = EF_MIN(SH2_CHUNK, C - c0);
            sh2_fill(&k, c0, n, C, W, ph, pw, taps, weights, bias, quant, params->input_offset);
            for (int32_t bn = 0; bn < in->n; ++bn) {
                const uintptr_t src = (uintptr_t)(input + bn * H * W * C + c0);
                int8_t *dst = output + bn * oh * ow * C + c0;
                for (int32_t oy = 0; oy < oh; ++oy) {
                    const int32_t iy0 = oy * sh - ph;
                    const int mid = oy >= y_lo && oy < y_hi;
                    for (int32_t ox = 0; ox < ow; ++ox, dst += C) {
                        const int32_t ix0 = ox * sw - pw;
                        const uintptr_t win = src + (uintptr_t)((iy0 * W + ix0) * C);
                        if (mid && ox >= x_lo && ox < x_hi) {
                            if (by_channel) {
                                dst += (x_hi - x_lo - 1) * C;
                                ox = x_hi - 1;
                                continue;
                            }
                            if (n > 1) {
                                sh2_inner(k.s, (const int8_t *)win, n & ~1, dst, params->output_offset, lov, hiv);
                            }
                            if (n & 1) {
                                sh2_one(k.s, (const int8_t *)win, n - 1, dst, 0, iy0, ix0, H, W, zp,
                                        params->output_offset, lo, hi);
                            }
                        } else {
                            if (full) {
                                if (n > 1) {
                                    sh2_frame_full(k.s, (const int8_t *)win, n & ~1, dst, iy0, ix0, hv, wv, zpv,
                                                   params->output_offset);
                                }
                                if (n & 1) {
                                    sh2_one(k.s, (const int8_t *)win, n - 1, dst, 1, iy0, ix0, H, W, zp,
                                            params->output_offset, lo, hi);
                                }
                            } else {
                                sh2_frame(k.s, (const int8_t *)win, n, dst, iy0, ix0, hv, wv, zp, params->output_offset,
                                          lo, hi);
                            }
                        }
                    }
                }
            }
        }
        return EF_OK;
    }
#endif
#if defined(EF_NN_USE_DSP)
    if (sh2_dsp_ok(quant, C)) {
        sh2d_rec k[SH2D_CHUNK];
        sh2d_pos pos[SH2D_CHUNK];
        sh2d_rec kf[SH2D_CHUNK]; /* the records patched for the frame */
        const int32_t lo = params->activation.min;
        const int32_t hi = params->activation.max;
        const int full = lo == -128 && hi == 127;
        /* interior rows of >= 16 outputs: channel by channel (12 instructions per output); else
         * every pixel through the channel records */
        const int by_channel = n_rows > 0 && n_cols >= 16;
        for (int32_t bn = 0; bn < in->n && by_channel; ++bn) {
            g.in = input + bn * H * W * C;
            g.out = output + bn * oh * ow * C;
            for (int32_t c = 0; c < C; ++c) {
                const ef_rq_chan rc = ef_rq_chan_of(quant->multiplier[c], quant->shift[c], params->output_offset);
                const rq2 q = {rc.mult, quant->shift[c], rc.khi, rc.e, 1, params->output_offset, lo, hi};
                seg2(&g, c, &q, y_lo, x_lo, n_rows, n_cols, &st);
            }
        }
        const int32_t base_off = (ph * W + pw) * C;
        for (int32_t c0 = 0; c0 < C; c0 += SH2D_CHUNK) {
            const int32_t n = EF_MIN(SH2D_CHUNK, C - c0);
            sh2d_fill(k, pos, c0, n, C, W, ph, pw, taps, weights, bias, quant, params->input_offset,
                      params->output_offset);
            for (int32_t bn = 0; bn < in->n; ++bn) {
                const uintptr_t src = (uintptr_t)(input + bn * H * W * C + c0);
                int8_t *const dst = output + bn * oh * ow * C + c0;
#define SH2D_S(oy, ox) (const int8_t *)(src + (uintptr_t)((((oy) * sh - ph) * W + (ox) * sw - pw) * C))
#define SH2D_D(oy, ox) (dst + ((oy) * ow + (ox)) * C)
#if defined(__OPTIMIZE__) /* -O0 keeps r7 as the frame pointer */
#define SH2D_PIXEL(kk, oy, ox) \
    do { \
        if (full) { \
            sh2d_inner_full(kk, SH2D_S(oy, ox), n, SH2D_D(oy, ox)); \
        } else { \
            sh2d_inner_c(kk, SH2D_S(oy, ox), n, SH2D_D(oy, ox), 0, lo, hi); \
        } \
    } while (0)
#else
#define SH2D_PIXEL(kk, oy, ox) sh2d_inner_c(kk, SH2D_S(oy, ox), n, SH2D_D(oy, ox), full, lo, hi)
#endif
                for (int32_t oy = y_lo; oy < y_hi && !by_channel; ++oy) { /* the interior */
                    for (int32_t ox = x_lo; ox < x_hi; ++ox) {
                        SH2D_PIXEL(k, oy, ox);
                    }
                }
                for (int32_t oy = 0; oy < oh; ++oy) { /* frame rows: the middle, then the corners */
                    if (oy == y_lo && n_rows > 0) {
                        oy = y_hi - 1;
                        continue;
                    }
                    sh2d_patch(kf, k, pos, n, 1, oy * sh - ph, 0, 0, (uint32_t)H, (uint32_t)W, params->input_offset,
                               base_off);
                    for (int32_t ox = x_lo; ox < x_hi; ++ox) {
                        SH2D_PIXEL(kf, oy, ox);
                    }
                    for (int32_t ox = 0; ox < ow; ++ox) {
                        if (ox == x_lo && n_cols > 0) {
                            ox = x_hi - 1;
                            continue;
                        }
                        sh2d_patch(kf, k, pos, n, 1, oy * sh - ph, 1, ox * sw - pw, (uint32_t)H, (uint32_t)W,
                                   params->input_offset, base_off);
                        SH2D_PIXEL(kf, oy, ox);
                    }
                }
                for (int32_t ox = 0; ox < ow && n_rows > 0; ++ox) { /* frame columns beside the interior */
                    if (ox == x_lo && n_cols > 0) {
                        ox = x_hi - 1;
                        continue;
                    }
                    sh2d_patch(kf, k, pos, n, 0, 0, 1, ox * sw - pw, (uint32_t)H, (uint32_t)W, params->input_offset,
                               base_off);
                    for (int32_t oy = y_lo; oy < y_hi; ++oy) {
                        SH2D_PIXEL(kf, oy, ox);
                    }
                }
#undef SH2D_PIXEL
#undef SH2D_S
#undef SH2D_D
            }
        }
        return EF_OK;
    }
#endif
    for (int32_t bn = 0; bn < in->n; ++bn) {
        g.in = input + bn * H * W * C;
        g.out = output + bn * oh * ow * C;
        for (int32_t c = 0; c < C; ++c) {
            rq2 q = {quant->multiplier[c], quant->shift[c], 0, 0, 0, params->output_offset, params->activation.min,
                     params->activation.max};
            if (ef_rq_chan_ok(q.mult, q.shift)) {
                const ef_rq_chan rc = ef_rq_chan_of(q.mult, q.shift, q.out_off);
                q.khi = rc.khi;
                q.e = rc.e;
                q.fast = 1;
            }
            if (n_rows > 0) {
                seg2(&g, c, &q, y_lo, x_lo, n_rows, n_cols, &st); /* the interior */
            }
            for (int32_t oy = 0; oy < oh; ++oy) { /* frame rows: the middle, then the corners */
                if (oy == y_lo && n_rows > 0) {
                    oy = y_hi - 1;
                    continue;
                }
                if (n_cols > 0) {
                    seg2(&g, c, &q, oy, x_lo, 1, n_cols, &st);
                }
                for (int32_t ox = 0; ox < ow; ++ox) {
                    if (ox == x_lo && n_cols > 0) {
                        ox = x_hi - 1;
                        continue;
                    }
                    seg2(&g, c, &q, oy, ox, 1, 1, &st);
                }
            }
            for (int32_t ox = 0; ox < ow && n_rows > 0; ++ox) { /* frame columns beside the interior */
                if (ox == x_lo && n_cols > 0) {
                    ox = x_hi - 1;
                    continue;
                }
                seg2(&g, c, &q, y_lo, ox, 1, n_rows, &st_col);
            }
        }
    }
    return EF_OK;
}
