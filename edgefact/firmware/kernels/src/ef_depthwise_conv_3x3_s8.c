/* DEPTHWISE_CONV_2D specialised for 3x3 filters, padding <= 1: ef_depthwise_conv_3x3_s8 (depth
 * multiplier 1, or > 1 where the Helium window applies), ef_depthwise_conv_3x3_mult_s8 (any depth
 * multiplier) and ef_depthwise_conv_3x3_dilated_s8 (a dilated 3x3, phase by phase); the portable
 * inner loop runs over channels with the 9 taps unrolled, so the common MobileNet-style layer
 * avoids per-tap bounds checks in the interior. */
#include "internal/ef_dw_check.h"
#include "internal/ef_dw_phase.h"
#include "internal/ef_dw_widen.h"

#include <string.h>

#if defined(EF_NN_USE_DSP) || defined(EF_NN_USE_MVE)
/* Shared by the DSP and MVE ring paths below: lines of one channel's input, copied once per
 * channel (pair) as int16 (x + input offset) into a ring of three lines with zero entries for the
 * padding, and the orientation of those lines. */
#define DW_RING_W 56 /* int16 entries per ring line: (outputs - 1) * stride + 5 and pad + input entries */

/* The geometry of the ring lines: normally the input rows (a line = one row, lines advance in
 * y); transposed (output wider in y than in x), the input columns, so that every line pass has the
 * longer output extent to amortise its set-up over (KWS: 25 x 5). */
typedef struct {
    int32_t len;        /* input entries along a line */
    int32_t lines;      /* input lines */
    int32_t in_along;   /* input step between entries of a line (bytes) */
    int32_t in_across;  /* input step between lines */
    int32_t out_len;    /* outputs along a line */
    int32_t out_lines;  /* output lines */
    int32_t out_along;  /* output step along a line */
    int32_t out_across; /* output step between output lines */
    int32_t s_across;   /* stride across lines */
    int32_t pad_along;
    int32_t pad_across;
} dw_geom;

static int dw_transposed(const ef_dims *out)
{
    return out->h > out->w;
}


static dw_geom dw_geom_of(const ef_dw_conv_params *params, const ef_dims *in, const ef_dims *out)
{
    const int32_t C = in->c;
    const int32_t OC = out->c; /* in->c * depth multiplier */
    if (dw_transposed(out)) {
        return (dw_geom){in->h, in->w, in->w * C, C, out->h, out->w, out->w * OC, OC, params->stride.w,
                         params->padding.h, params->padding.w};
    }
    return (dw_geom){in->w, in->h, C, in->w * C, out->w, out->h, OC, out->w * OC, params->stride.h,
                     params->padding.w, params->padding.h};
}

/* A phase (ry, rx) of a stride-1 layer dilated by (dh, dw) (ef_depthwise_conv_3x3_dilated_s8): its
 * outputs oy = ry + dh j, ox = rx + dw i read only the input rows ey + dh j' and columns ex + dw i',
 * so on that sub-lattice it is a 3x3 stride-1 layer with padding 0 or 1 (top / left padding <= the
 * dilation): the ring / window geometry with the lattice's steps, and the byte offsets of the
 * phase's first input and output pixel. No outputs: out_len or out_lines 0. */
typedef struct {
    dw_geom g;
    int transposed;
    int32_t in0;
    int32_t out0;
} dw_phase_t;

static dw_phase_t dw_phase(const ef_dw_conv_params *params, const ef_dims *in, const ef_dims *out, int32_t dh,
                           int32_t dw, int32_t ry, int32_t rx)
{
    int32_t y[4];
    int32_t x[4];
    ef_dw_phase_axis(ry, params->padding.h, dh, in->h, out->h, y);
    ef_dw_phase_axis(rx, params->padding.w, dw, in->w, out->w, x);
    const int32_t C = in->c;
    const int32_t OC = out->c;
    const int32_t xa = dw * C, ya = dh * in->w * C, oxa = dw * OC, oya = dh * out->w * OC;
    dw_phase_t p;
    p.transposed = y[3] > x[3];
    p.in0 = (y[0] * in->w + x[0]) * C;
    p.out0 = (ry * out->w + rx) * OC;
    if (p.transposed) {
        p.g = (dw_geom){y[1], x[1], ya, xa, y[3], x[3], oya, oxa, 1, y[2], x[2]};
    } else {
        p.g = (dw_geom){x[1], y[1], xa, ya, x[3], y[3], oxa, oya, 1, x[2], y[2]};
    }
    return p;
}
#endif

#if defined(EF_NN_USE_DSP)
/* The DSP ring path applies (any depth multiplier): stride 1 or 2 along the lines and a padded input
 * line fits a ring line. */
static inline __attribute__((always_inline)) int dw_ring_fits(const ef_dw_conv_params *params, const ef_dims *in,
                                                                const ef_dims *out)
{
    const int t = dw_transposed(out);
    const int32_t s = t ? params->stride.h : params->stride.w;
    const int32_t n_out = t ? out->h : out->w;
    const int32_t len = (t ? in->h : in->w) + (t ? params->padding.h : params->padding.w);
    return (s == 1 || s == 2) && (n_out - 1) * s + 5 <= DW_RING_W && len <= DW_RING_W;
}

static inline int8_t dw_out(int32_t acc, const int32_t *bias, int32_t c, const int32_t *mult,
                            const int32_t *shift, int32_t out_off, int32_t act_min, int32_t act_max)
{
    if (bias != 0) {
        acc += bias[c];
    }
    acc = ef_requantize(acc, mult[c], shift[c]) + out_off;
    return ef_clamp_to_s8(acc, act_min, act_max);
}

/* Four channels per pass (C % 4 == 0): each tap loads 4 inputs and 4 weights as words,
 * SXTAB16/SXTB16 split them into halfword pairs, and SMLABB/SMLATT accumulate per channel.
 * Border pixels use the same loop over their in-bounds taps. */
static void dw3x3_dsp(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                      const int8_t *input, const int8_t *filter, const int32_t *bias, const ef_dims *out,
                      int8_t *output)
{
    const int32_t C = in->c;
    const int32_t row = in->w * C;
    const uint32_t off2 = ((uint32_t)(uint16_t)params->input_offset << 16) | (uint16_t)params->input_offset;
    const int32_t *qm = quant->multiplier;
    const int32_t *qs = quant->shift;
    const int32_t out_off = params->output_offset;
    const int32_t act_min = params->activation.min;
    const int32_t act_max = params->activation.max;
    const int32_t stride_h = params->stride.h;
    const int32_t stride_w = params->stride.w;
    const int32_t pad_h = params->padding.h;
    const int32_t pad_w = params->padding.w;
    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * in->h * row;
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy0 = oy * stride_h - pad_h;
            const int32_t ky0 = EF_MAX(0, -iy0);
            const int32_t ky1 = EF_MIN(3, in->h - iy0);
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t ix0 = ox * stride_w - pad_w;
                const int32_t kx0 = EF_MAX(0, -ix0);
                const int32_t kx1 = EF_MIN(3, in->w - ix0);
                for (int32_t c = 0; c < C; c += 4) {
                    int32_t a0 = 0;
                    int32_t a1 = 0;
                    int32_t a2 = 0;
                    int32_t a3 = 0;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *src = img + (iy0 + ky) * row + (ix0 + kx0) * C + c;
                        const int8_t *f = filter + (ky * 3 + kx0) * C + c;
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            const uint32_t x = ef_read_u32(src);
                            const uint32_t w = ef_read_u32(f);
                            const uint32_t x02 = __sxtab16(off2, x);
                            const uint32_t x13 = ef_sxtab16_ror8(off2, x);
                            const uint32_t w02 = __sxtb16(w);
                            const uint32_t w13 = ef_sxtb16_ror8(w);
                            a0 = __smlabb((int32_t)x02, (int32_t)w02, a0);
                            a2 = __smlatt((int32_t)x02, (int32_t)w02, a2);
                            a1 = __smlabb((int32_t)x13, (int32_t)w13, a1);
                            a3 = __smlatt((int32_t)x13, (int32_t)w13, a3);
                            src += C;
                            f += C;
                        }
                    }
                    dst[c] = dw_out(a0, bias, c, qm, qs, out_off, act_min, act_max);
                    dst[c + 1] = dw_out(a1, bias, c + 1, qm, qs, out_off, act_min, act_max);
                    dst[c + 2] = dw_out(a2, bias, c + 2, qm, qs, out_off, act_min, act_max);
                    dst[c + 3] = dw_out(a3, bias, c + 3, qm, qs, out_off, act_min, act_max);
                }
                dst += out->c;
            }
        }
    }
}

/* Channels in pairs, rows through a ring (M4/M7/M33): for a pair of channels the input rows are
 * copied once into a ring of three rows per channel, as int16 (x + input offset) between zero
 * columns for the padding, so that two horizontally adjacent taps of one channel are one aligned
 * word. A 3-tap row of two neighbouring outputs then takes two loads and four MACs:
 *   out(o)   = SMLAD(x[j..j+1], (w0, w1)) + SMLABT(x[j+2..j+3], (w1, w2))
 *   out(o+1) = SMLATB(x[j..j+1], (w0, w1)) + SMLAD(x[j+2..j+3], (w1, w2))     (stride 1; stride 2
 * reads x[j+2] with SMLABB and x[j+3..j+4] with SMLAD). Rows outside the input are zero rows of the
 * ring and columns outside it zero columns, so borders run the same loop. The ring rows stay in
 * place: each output row picks the rotation of the per-channel weight pairs that matches the ring
 * slots. Requantization with per-channel constants (ef_rq_chan_apply: 5 instructions, and an SSAT). */

typedef struct {
    /* per ring rotation: the six weight pairs, then khi, mult, e, bias (dw_quad_s1 reads them) */
    uint32_t w[3][10];
    int32_t khi;      /* fast path: high word of 2^30 + 2^(30+r) + output_offset * 2^(31+r) */
    int32_t mult;
    int32_t e;        /* r - 1 */
    int32_t shift;
    int32_t bias;
    int32_t fast;
} dw_chan;

/* Weight pairs of output channel c, per kernel line ky: (w[ky][0], w[ky][1]) and (w[ky][1], w[ky][2]),
 * for the three rotations rot of the ring (ring row m holds kernel line (m + rot) % 3); along /
 * across: the filter's byte steps between the taps of a line and between lines (rows: out_c and
 * 3 out_c; transposed, the ring lines run along the input's columns: swapped; dilated: the
 * zero-inserted filter's steps between its real taps). */
static void dw_chan_setup(dw_chan *ch, int32_t c, const int8_t *filter, int32_t along, int32_t across,
                          const ef_per_channel_quant *quant, const int32_t *bias, int32_t out_off, int full_range)
{
    uint32_t p[6];
    for (int32_t ky = 0; ky < 3; ++ky) {
        const uint32_t t0 = (uint16_t)filter[ky * across + c];
        const uint32_t t1 = (uint16_t)filter[ky * across + along + c];
        const uint32_t t2 = (uint16_t)filter[ky * across + 2 * along + c];
        p[2 * ky] = t0 | (t1 << 16);
        p[2 * ky + 1] = t1 | (t2 << 16);
    }
    for (int32_t rot = 0; rot < 3; ++rot) {
        for (int32_t m = 0; m < 3; ++m) {
            ch->w[rot][2 * m] = p[2 * ((m + rot) % 3)];
            ch->w[rot][2 * m + 1] = p[2 * ((m + rot) % 3) + 1];
        }
    }
    ch->mult = quant->multiplier[c];
    ch->shift = quant->shift[c];
    ch->bias = bias != 0 ? bias[c] : 0;
    ch->fast = full_range && ef_rq_chan_ok(ch->mult, ch->shift);
    const ef_rq_chan q = ch->fast ? ef_rq_chan_of(ch->mult, ch->shift, out_off) : (ef_rq_chan){0, 0, 0};
    ch->e = q.e;
    ch->khi = q.khi;
    for (int32_t rot = 0; rot < 3; ++rot) {
        ch->w[rot][6] = (uint32_t)ch->khi;
        ch->w[rot][7] = (uint32_t)ch->mult;
        ch->w[rot][8] = (uint32_t)ch->e;
        ch->w[rot][9] = (uint32_t)ch->bias;
    }
}

/* Three taps of ring row p (kernel row weight pairs wa = (w0, w1), wb = (w1, w2)) into the
 * accumulators of the outputs reading from p[0] and p[stride]. */
#define DW_ROW2(p, m, wa, wb)                                                    \
    do {                                                                         \
        uint32_t x01;                                                            \
        uint32_t x23;                                                            \
        DW_READ2(x01, x23, p, m);                                                \
        a0 = __smlad(x01, (wa), a0);                                             \
        a0 = __smlabt((int32_t)x23, (int32_t)(wb), a0);                          \
        if (stride == 1) {                                                       \
            a1 = __smlatb((int32_t)x01, (int32_t)(wa), a1);                      \
            a1 = __smlad(x23, (wb), a1);                                         \
        } else {                                                                 \
            a1 = __smlabb((int32_t)x23, (int32_t)(wa), a1);                      \
            a1 = __smlad(ef_read_u32((p) + (m) * DW_RING_W + 3), (wb), a1);      \
        }                                                                        \
    } while (0)

/* Two adjacent words of ring line m at an even entry p (4-byte aligned): one LDRD with the line's
 * offset as its immediate (GCC neither merges the two loads nor folds the offset itself). */
#define DW_READ2(x01, x23, p, m)                                                              \
    __asm__("ldrd %0, %1, [%2, %3]"                                                           \
            : "=r"(x01), "=r"(x23)                                                            \
            : "r"(p), "n"((m) * DW_RING_W * 2), "m"(*(const int16_t(*)[3 * DW_RING_W])(p)))

/* Stride 1, four outputs: out(o..o+1) from x[j..j+3], out(o+2..o+3) from x[j+2..j+5]. */
#define DW_ROW4(p, m, wa, wb)                                                    \
    do {                                                                         \
        uint32_t x01;                                                            \
        uint32_t x23;                                                            \
        DW_READ2(x01, x23, p, m);                                                \
        const uint32_t x45 = ef_read_u32((p) + (m) * DW_RING_W + 4);             \
        a0 = __smlad(x01, (wa), a0);                                             \
        a0 = __smlabt((int32_t)x23, (int32_t)(wb), a0);                          \
        a1 = __smlatb((int32_t)x01, (int32_t)(wa), a1);                          \
        a1 = __smlad(x23, (wb), a1);                                             \
        a2 = __smlad(x23, (wa), a2);                                             \
        a2 = __smlabt((int32_t)x45, (int32_t)(wb), a2);                          \
        a3 = __smlatb((int32_t)x23, (int32_t)(wa), a3);                          \
        a3 = __smlad(x45, (wb), a3);                                             \
    } while (0)

/* The fast stride-1 four-output step (DW_ROW4 and ef_rq_chan_apply + SSAT) in one asm block: GCC's
 * allocation of the C version spills a dozen values per step (84 instructions per 4 outputs, 74
 * here: three lines of LDRD + LDR + LDRD (weights) + 8 MACs, then per output AND, RSBS, SBC, SMLAL,
 * ASR, SSAT, STRB, ADD). k: the channel's w[rot] (pairs, khi, mult, e, bias); the outputs go to
 * dst, dst + C, ... and dst advances by 4 C. */
#define DW_Q_ROW(m)                                                      \
    "ldrd   %[x0], %[x1], [%[p], #" #m "*112]\n\t"                       \
    "ldr    %[x2], [%[p], #" #m "*112+8]\n\t"                            \
    "ldrd   %[wa], %[wb], [%[k], #" #m "*8]\n\t"                         \
    "smlad  %[a0], %[x0], %[wa], %[a0]\n\t"                              \
    "smlabt %[a0], %[x1], %[wb], %[a0]\n\t"                              \
    "smlatb %[a1], %[x0], %[wa], %[a1]\n\t"                              \
    "smlad  %[a1], %[x1], %[wb], %[a1]\n\t"                              \
    "smlad  %[a2], %[x1], %[wa], %[a2]\n\t"                              \
    "smlabt %[a2], %[x2], %[wb], %[a2]\n\t"                              \
    "smlatb %[a3], %[x1], %[wa], %[a3]\n\t"                              \
    "smlad  %[a3], %[x2], %[wb], %[a3]\n\t"
#define DW_Q_OUT(a)                                                      \
    "and    %[x0], %[" #a "], #0x80000000\n\t"                           \
    "rsbs   %[x0], %[x0], #0x40000000\n\t"                               \
    "sbc    %[x1], %[x2], #0\n\t"                                        \
    "smlal  %[x0], %[x1], %[" #a "], %[wa]\n\t"                          \
    "asr    %[x1], %[x1], %[wb]\n\t"                                     \
    "ssat   %[x1], #8, %[x1]\n\t"                                        \
    "strb   %[x1], [%[dst]]\n\t"                                         \
    "add    %[dst], %[dst], %[C]\n\t"

#if DW_RING_W != 56
#error "DW_Q_ROW assumes ring lines of 56 entries (112 bytes)"
#endif

static inline int8_t *dw_quad_s1(const int16_t *p, int8_t *dst, int32_t C, const uint32_t *k)
{
    uint32_t a0, a1, a2, a3, x0, x1, x2, wa, wb;
    __asm__ volatile("ldr    %[a0], [%[k], #36]\n\t"
                     "mov    %[a1], %[a0]\n\t"
                     "mov    %[a2], %[a0]\n\t"
                     "mov    %[a3], %[a0]\n\t"
                     DW_Q_ROW(0) DW_Q_ROW(1) DW_Q_ROW(2)
                     "ldr    %[x2], [%[k], #24]\n\t"
                     "ldrd   %[wa], %[wb], [%[k], #28]\n\t"
                     DW_Q_OUT(a0) DW_Q_OUT(a1) DW_Q_OUT(a2) DW_Q_OUT(a3)
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x0] "=&r"(x0),
                       [x1] "=&r"(x1), [x2] "=&r"(x2), [wa] "=&r"(wa), [wb] "=&r"(wb), [dst] "+&r"(dst)
                     : [p] "r"(p), [k] "r"(k), [C] "r"(C)
                     : "memory", "cc");
    return dst;
}

static inline int8_t dw_ring_out(int32_t acc, int fast, int32_t khi, int32_t mult, int32_t e, int32_t shift,
                                 int32_t out_off, int32_t lo, int32_t hi)
{
    if (fast) {
        return (int8_t)__ssat(ef_rq_chan_apply(acc, khi, mult, e), 8);
    }
    return ef_clamp_to_s8(ef_requantize(acc, mult, shift) + out_off, lo, hi);
}

/* One output row of one channel from ring rows p, p + DW_RING_W, p + 2 * DW_RING_W. */
static inline __attribute__((always_inline)) void dw_row(const int16_t *p, const uint32_t *w, int32_t ow,
                                                         const int32_t stride, int8_t *dst, int32_t C,
                                                         const dw_chan *ch, const int fast, int32_t out_off,
                                                         int32_t lo, int32_t hi)
{
    const int32_t khi = ch->khi, mult = ch->mult, e = ch->e, shift = ch->shift, bias = ch->bias;
    const uint32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5];
    if (stride == 1 && fast) {
        const int16_t *end4 = p + (ow & ~3);
        for (; p < end4; p += 4) {
            dst = dw_quad_s1(p, dst, C, w);
        }
    } else if (stride == 1) {
        /* four outputs per pass: entries j..j+5 as three words per line, 8 MACs per line */
        const int16_t *end4 = p + (ow & ~3);
        for (; p < end4; p += 4) {
            int32_t a0 = bias;
            int32_t a1 = bias;
            int32_t a2 = bias;
            int32_t a3 = bias;
            DW_ROW4(p, 0, w0, w1);
            DW_ROW4(p, 1, w2, w3);
            DW_ROW4(p, 2, w4, w5);
            dst[0] = dw_ring_out(a0, fast, khi, mult, e, shift, out_off, lo, hi);
            dst[C] = dw_ring_out(a1, fast, khi, mult, e, shift, out_off, lo, hi);
            dst += 2 * C;
            dst[0] = dw_ring_out(a2, fast, khi, mult, e, shift, out_off, lo, hi);
            dst[C] = dw_ring_out(a3, fast, khi, mult, e, shift, out_off, lo, hi);
            dst += 2 * C;
        }
    }
    const int16_t *end = p + ((ow & ~1) - (stride == 1 ? (ow & ~3) : 0)) * stride;
    for (; p < end; p += 2 * stride) {
        int32_t a0 = bias;
        int32_t a1 = bias;
        DW_ROW2(p, 0, w0, w1);
        DW_ROW2(p, 1, w2, w3);
        DW_ROW2(p, 2, w4, w5);
        dst[0] = dw_ring_out(a0, fast, khi, mult, e, shift, out_off, lo, hi);
        dst[C] = dw_ring_out(a1, fast, khi, mult, e, shift, out_off, lo, hi);
        dst += 2 * C;
    }
    if (ow & 1) {
        int32_t a0 = bias;
        uint32_t x01;
        uint32_t x23;
        DW_READ2(x01, x23, p, 0);
        a0 = __smlad(x01, w0, a0);
        a0 = __smlabt((int32_t)x23, (int32_t)w1, a0);
        DW_READ2(x01, x23, p, 1);
        a0 = __smlad(x01, w2, a0);
        a0 = __smlabt((int32_t)x23, (int32_t)w3, a0);
        DW_READ2(x01, x23, p, 2);
        a0 = __smlad(x01, w4, a0);
        a0 = __smlabt((int32_t)x23, (int32_t)w5, a0);
        dst[0] = dw_ring_out(a0, fast, khi, mult, e, shift, out_off, lo, hi);
    }
}

/* Every output line of input channels c, c + 1 (c alone when !two) into output channels obase and
 * obase + mult, stride along the line fixed. (GCC's register allocation of this loop is on an edge:
 * a run-time mult costs ~1% on the multiplier-1 layers, so ef_depthwise_conv_3x3_s8 passes a
 * literal 1 and the multipliers have their own instance, ef_depthwise_conv_3x3_mult_s8.) */
static inline __attribute__((always_inline)) void dw_pair(int16_t ring[2][3 * DW_RING_W], const dw_chan ch[2], int two,
                                                          const int8_t *img, int8_t *obase, const dw_geom *g,
                                                          const ef_dw_conv_params *params, const int32_t stride,
                                                          const int32_t mult)
{
    const int32_t out_off = params->output_offset;
    const int32_t lo = params->activation.min;
    const int32_t hi = params->activation.max;
    const uint32_t off2 = ((uint32_t)(uint16_t)params->input_offset << 16) | (uint16_t)params->input_offset;
    int32_t next = -g->pad_across;
    int32_t first = (3 - g->pad_across) % 3; /* ring line of input line iy0: (iy0 + 3) % 3 */
    int32_t slot = first;                     /* ring line of input line next */
    for (int32_t oy = 0; oy < g->out_lines; ++oy) {
        const int32_t iy0 = oy * g->s_across - g->pad_across;
        for (; next <= iy0 + 2; ++next) {
            const int8_t *src = next >= 0 && next < g->lines ? img + next * g->in_across : 0;
            ef_dw_widen_pair(ring[0] + slot * DW_RING_W + g->pad_along, ring[1] + slot * DW_RING_W + g->pad_along,
                             src, g->len, g->in_along, off2, two);
            slot = slot == 2 ? 0 : slot + 1;
        }
        /* ring line m holds input line iy0 + k with (iy0 + k + 3) % 3 == m */
        const int32_t rot = first == 0 ? 0 : 3 - first;
        first += g->s_across;
        while (first >= 3) {
            first -= 3;
        }
        int8_t *dst = obase + oy * g->out_across;
        for (int32_t k = 0; k <= two; ++k) {
            if (ch[k].fast) {
                dw_row(ring[k], ch[k].w[rot], g->out_len, stride, dst + k * mult, g->out_along, &ch[k], 1, out_off, lo,
                       hi);
            } else {
                dw_row(ring[k], ch[k].w[rot], g->out_len, stride, dst + k * mult, g->out_along, &ch[k], 0, out_off, lo,
                       hi);
            }
        }
    }
}

/* One image (or one dilation phase of it, see dw_phase) of geometry g through the ring: multiplier
 * 1, input channels in pairs; else one output channel ic * mult + m per pass (the ring refilled for
 * each: its copy is about a tenth of a channel's instructions). fa / fx: the filter's steps between
 * the taps of a line and between lines. */
static void dw_ring_image(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const dw_geom *gp,
                          int32_t stride, const int8_t *img, int8_t *obase, const int8_t *filter, int32_t fa,
                          int32_t fx, const int32_t *bias, int32_t C, int16_t ring[2][3 * DW_RING_W])
{
    const int full = params->activation.min == -128 && params->activation.max == 127;
    const int32_t mult = params->ch_mult;
    const dw_geom g = *gp;
    const int32_t npass = mult == 1 ? (C + 1) >> 1 : C * mult;
    for (int32_t i = 0; i < npass; ++i) {
        const int32_t c = mult == 1 ? 2 * i : i / mult;
        const int32_t oc = mult == 1 ? c : i;
        const int two = mult == 1 && c + 1 < C;
        dw_chan ch[2];
        dw_chan_setup(&ch[0], oc, filter, fa, fx, quant, bias, params->output_offset, full);
        if (two) {
            dw_chan_setup(&ch[1], oc + 1, filter, fa, fx, quant, bias, params->output_offset, full);
        }
        if (stride == 1) {
            dw_pair(ring, ch, two, img + c, obase + oc, &g, params, 1, 1);
        } else {
            dw_pair(ring, ch, two, img + c, obase + oc, &g, params, 2, 1);
        }
    }
}

/* The same for a depth multiplier: input channels in pairs, output channels c * mult + m and
 * (c + 1) * mult + m per pass, the ring refilled for each m. */
static void dw_ring_image_mult(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const dw_geom *gp,
                               int32_t stride, const int8_t *img, int8_t *obase, const int8_t *filter, int32_t fa,
                               int32_t fx, const int32_t *bias, int32_t C, int16_t ring[2][3 * DW_RING_W])
{
    const int full = params->activation.min == -128 && params->activation.max == 127;
    const int32_t mult = params->ch_mult;
    const dw_geom g = *gp;
    for (int32_t c = 0; c < C; c += 2) {
        const int two = c + 1 < C;
        for (int32_t m = 0; m < mult; ++m) {
            dw_chan ch[2];
            dw_chan_setup(&ch[0], c * mult + m, filter, fa, fx, quant, bias, params->output_offset, full);
            if (two) {
                dw_chan_setup(&ch[1], (c + 1) * mult + m, filter, fa, fx, quant, bias, params->output_offset, full);
            }
            if (stride == 1) {
                dw_pair(ring, ch, two, img + c, obase + c * mult + m, &g, params, 1, mult);
            } else {
                dw_pair(ring, ch, two, img + c, obase + c * mult + m, &g, params, 2, mult);
            }
        }
    }
}

static void dw3x3_dsp_ring(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                           const int8_t *input, const int8_t *filter, const int32_t *bias, const ef_dims *out,
                           int8_t *output)
{
    int16_t ring[2][3 * DW_RING_W] __attribute__((aligned(4)));
    memset(ring, 0, sizeof ring);
    const int32_t C = in->c;
    const int32_t OC = out->c;
    const int t = dw_transposed(out);
    const dw_geom g = dw_geom_of(params, in, out);
    const int32_t stride = t ? params->stride.h : params->stride.w;
    for (int32_t b = 0; b < in->n; ++b) {
        dw_ring_image(params, quant, &g, stride, input + b * in->h * in->w * C, output + b * out->h * out->w * OC,
                      filter, t ? 3 * OC : OC, t ? OC : 3 * OC, bias, C, ring);
    }
}
#endif

#if defined(EF_NN_USE_MVE)
/* MVE (Cortex-M55): eight channels per step as int16 lanes ((x + offset) fits 16 bits), the
 * products widened into even/odd int32 accumulators by VMULLB/VMULLT, multipliers and shifts
 * de-interleaved to match by VLD2, results re-interleaved by VMOVNB/VMOVNT into one narrowing
 * store; the last C % 8 channels four per int32x4 vector (tail-predicated): per tap one widening
 * byte load of inputs and of weights, the input offset, a VMUL and a VADD (MVE has no
 * vector-by-vector VMLA); the four results are requantized together (ef_store_requantized_x4). */
static void dw3x3_mve(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                      const int8_t *input, const int8_t *filter, const int32_t *bias, const ef_dims *out,
                      int8_t *output)
{
    const int32_t C = in->c;
    const int32_t row = in->w * C;
    const int32_t in_off = params->input_offset;
    const int32_t *qm = quant->multiplier;
    const int32_t *qs = quant->shift;
    const int32_t out_off = params->output_offset;
    const int32_t act_min = params->activation.min;
    const int32_t act_max = params->activation.max;
    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * in->h * row;
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy0 = oy * params->stride.h - params->padding.h;
            const int32_t ky0 = EF_MAX(0, -iy0);
            const int32_t ky1 = EF_MIN(3, in->h - iy0);
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t ix0 = ox * params->stride.w - params->padding.w;
                const int32_t kx0 = EF_MAX(0, -ix0);
                const int32_t kx1 = EF_MIN(3, in->w - ix0);
                int32_t c = 0;
                for (; c + 8 <= C; c += 8) {
                    int32x4_t acc_e = vdupq_n_s32(0);
                    int32x4_t acc_o = vdupq_n_s32(0);
                    if (bias != 0) {
                        const int32x4x2_t bv = vld2q_s32(bias + c);
                        acc_e = bv.val[0];
                        acc_o = bv.val[1];
                    }
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *src = img + (iy0 + ky) * row + (ix0 + kx0) * C + c;
                        const int8_t *f = filter + (ky * 3 + kx0) * C + c;
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            const int16x8_t x = vaddq_n_s16(vldrbq_s16(src), (int16_t)in_off);
                            const int16x8_t w = vldrbq_s16(f);
                            acc_e = vaddq_s32(acc_e, vmullbq_int_s16(x, w));
                            acc_o = vaddq_s32(acc_o, vmulltq_int_s16(x, w));
                            src += C;
                            f += C;
                        }
                    }
                    const int32x4x2_t mv = vld2q_s32(qm + c);
                    const int32x4x2_t sv = vld2q_s32(qs + c);
                    acc_e = vaddq_n_s32(ef_requantize_x4(acc_e, mv.val[0], sv.val[0]), out_off);
                    acc_o = vaddq_n_s32(ef_requantize_x4(acc_o, mv.val[1], sv.val[1]), out_off);
                    acc_e = vminq_s32(vmaxq_s32(acc_e, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
                    acc_o = vminq_s32(vmaxq_s32(acc_o, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
                    vstrbq_s16(dst + c, vmovntq_s32(vmovnbq_s32(vdupq_n_s16(0), acc_e), acc_o));
                }
                for (; c < C; c += 4) {
                    const mve_pred16_t p = vctp32q((uint32_t)(C - c));
                    int32x4_t acc = bias != 0 ? vldrwq_z_s32(bias + c, p) : vdupq_n_s32(0);
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *src = img + (iy0 + ky) * row + (ix0 + kx0) * C + c;
                        const int8_t *f = filter + (ky * 3 + kx0) * C + c;
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            const int32x4_t x = vaddq_n_s32(vldrbq_z_s32(src, p), in_off);
                            acc = vaddq_s32(acc, vmulq_s32(x, vldrbq_z_s32(f, p)));
                            src += C;
                            f += C;
                        }
                    }
                    ef_store_requantized_x4(dst + c, acc, qm + c, qs + c, out_off, act_min, act_max, p);
                }
                dst += out->c;
            }
        }
    }
}
/* MVE window path (stride 1, at least 5 output lines): one channel at a time, five output lines
 * at once. The 7 input lines they read are gathered into a window of int16 (x + input offset)
 * lines with zero entries for the padding (VLDRB.S16 gather at the line's input step, VADD,
 * VSTRH); lines longer than DW_SEG outputs run in segments. A column step computes 4 outputs of
 * each of the 5 lines (int32x4 accumulators): per tap and input line one widening VLDRH.S32 shared
 * by the up to 3 output lines that read it, and one VMLA by the scalar weight per output line (the
 * first tap of a line is a VMLAS: x * w00 + bias, so no accumulator set-up); weights are stored
 * tap-column-major so each of the 3 tap columns is one LDRD + LDR. 21 loads and 45 multiplies for
 * 180 MACs; then per vector VSHR + VQRDMLAH (the TFLite rounding fix-up folded into the
 * multiply: (acc >> 31) + SRDHM(acc, m)), VRSHL by the (negative) shift, the output offset, the
 * clamp and a VSTRB.32 scatter: 118 instructions per 180 MACs with the tail-predicated loop
 * (DLSTP/LETP, the last column's missing outputs masked). */
#define DW_WL 32  /* int16 entries per window line (64 bytes: the asm's offsets assume it) */
#define DW_SEG 28 /* outputs per segment: DW_SEG + 2 entries fit a window line */
#define DW_SEG2 15 /* stride 2: DW_SEG2 + 1 even entries fit half a window line */

/* k: the channel's constants (int32): [0..7] w(1,0), w(2,0), w(0,1), w(1,1), w(2,1), w(0,2), w(1,2),
 * w(2,2) (w(line, tap along); w(0,0) is the vector w00), [8] bias, [9] output offset, [10] act min,
 * [11] act max, [12] output step between lines, [13] 4 * output step along a line. q: window line 3. */
/* 117 instructions with the LETP */
#define DW_WIN_STEP \
    "ldrd %[wa], %[wb], [%[kp]]\n\t" \
    "ldr %[t], [%[kp], #32]\n\t" \
    "vldrh.s32 %q[a0], [%[q], #-192]\n\t" \
    "vmlas.s32 %q[a0], %q[w00], %[t]\n\t" \
    "vldrh.s32 %q[a1], [%[q], #-128]\n\t" \
    "vmla.s32 %q[a0], %q[a1], %[wa]\n\t" \
    "vmlas.s32 %q[a1], %q[w00], %[t]\n\t" \
    "vldrh.s32 %q[a2], [%[q], #-64]\n\t" \
    "vmla.s32 %q[a0], %q[a2], %[wb]\n\t" \
    "vmla.s32 %q[a1], %q[a2], %[wa]\n\t" \
    "vmlas.s32 %q[a2], %q[w00], %[t]\n\t" \
    "vldrh.s32 %q[a3], [%[q]], #8\n\t" \
    "vmla.s32 %q[a1], %q[a3], %[wb]\n\t" \
    "vmla.s32 %q[a2], %q[a3], %[wa]\n\t" \
    "vmlas.s32 %q[a3], %q[w00], %[t]\n\t" \
    "vldrh.s32 %q[a4], [%[q], #56]\n\t" \
    "vmla.s32 %q[a2], %q[a4], %[wb]\n\t" \
    "vmla.s32 %q[a3], %q[a4], %[wa]\n\t" \
    "vmlas.s32 %q[a4], %q[w00], %[t]\n\t" \
    "vldrh.s32 %q[x], [%[q], #120]\n\t" \
    "vmla.s32 %q[a3], %q[x], %[wb]\n\t" \
    "vmla.s32 %q[a4], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #184]\n\t" \
    "vmla.s32 %q[a4], %q[x], %[wb]\n\t" \
    "ldrd %[wa], %[wb], [%[kp], #8]\n\t" \
    "ldr %[wc], [%[kp], #16]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-198]\n\t" \
    "vmla.s32 %q[a0], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-134]\n\t" \
    "vmla.s32 %q[a0], %q[x], %[wb]\n\t" \
    "vmla.s32 %q[a1], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-70]\n\t" \
    "vmla.s32 %q[a0], %q[x], %[wc]\n\t" \
    "vmla.s32 %q[a1], %q[x], %[wb]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-6]\n\t" \
    "vmla.s32 %q[a1], %q[x], %[wc]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wb]\n\t" \
    "vmla.s32 %q[a3], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #58]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wc]\n\t" \
    "vmla.s32 %q[a3], %q[x], %[wb]\n\t" \
    "vmla.s32 %q[a4], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #122]\n\t" \
    "vmla.s32 %q[a3], %q[x], %[wc]\n\t" \
    "vmla.s32 %q[a4], %q[x], %[wb]\n\t" \
    "vldrh.s32 %q[x], [%[q], #186]\n\t" \
    "vmla.s32 %q[a4], %q[x], %[wc]\n\t" \
    "ldrd %[wa], %[wb], [%[kp], #20]\n\t" \
    "ldr %[wc], [%[kp], #28]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-196]\n\t" \
    "vmla.s32 %q[a0], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-132]\n\t" \
    "vmla.s32 %q[a0], %q[x], %[wb]\n\t" \
    "vmla.s32 %q[a1], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-68]\n\t" \
    "vmla.s32 %q[a0], %q[x], %[wc]\n\t" \
    "vmla.s32 %q[a1], %q[x], %[wb]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-4]\n\t" \
    "vmla.s32 %q[a1], %q[x], %[wc]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wb]\n\t" \
    "vmla.s32 %q[a3], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #60]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wc]\n\t" \
    "vmla.s32 %q[a3], %q[x], %[wb]\n\t" \
    "vmla.s32 %q[a4], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #124]\n\t" \
    "vmla.s32 %q[a3], %q[x], %[wc]\n\t" \
    "vmla.s32 %q[a4], %q[x], %[wb]\n\t" \
    "vldrh.s32 %q[x], [%[q], #188]\n\t" \
    "vmla.s32 %q[a4], %q[x], %[wc]\n\t" \
    "vshr.s32 %q[x], %q[a0], #31\n\t" \
    "vqrdmlah.s32 %q[x], %q[a0], %[m]\n\t" \
    "vshr.s32 %q[a0], %q[a1], #31\n\t" \
    "vqrdmlah.s32 %q[a0], %q[a1], %[m]\n\t" \
    "vshr.s32 %q[a1], %q[a2], #31\n\t" \
    "vqrdmlah.s32 %q[a1], %q[a2], %[m]\n\t" \
    "vshr.s32 %q[a2], %q[a3], #31\n\t" \
    "vqrdmlah.s32 %q[a2], %q[a3], %[m]\n\t" \
    "vshr.s32 %q[a3], %q[a4], #31\n\t" \
    "vqrdmlah.s32 %q[a3], %q[a4], %[m]\n\t" \
    "ldrd %[wb], %[wc], [%[kp], #40]\n\t" \
    "vrshl.s32 %q[x], %[e]\n\t" \
    "vadd.i32 %q[x], %q[x], %[zp]\n\t" \
    "vrshl.s32 %q[a0], %[e]\n\t" \
    "vadd.i32 %q[a0], %q[a0], %[zp]\n\t" \
    "vrshl.s32 %q[a1], %[e]\n\t" \
    "vadd.i32 %q[a1], %q[a1], %[zp]\n\t" \
    "vrshl.s32 %q[a2], %[e]\n\t" \
    "vadd.i32 %q[a2], %q[a2], %[zp]\n\t" \
    "vrshl.s32 %q[a3], %[e]\n\t" \
    "vadd.i32 %q[a3], %q[a3], %[zp]\n\t" \
    "vdup.32 %q[a4], %[wb]\n\t" \
    "vmax.s32 %q[x], %q[x], %q[a4]\n\t" \
    "vmax.s32 %q[a0], %q[a0], %q[a4]\n\t" \
    "vmax.s32 %q[a1], %q[a1], %q[a4]\n\t" \
    "vmax.s32 %q[a2], %q[a2], %q[a4]\n\t" \
    "vmax.s32 %q[a3], %q[a3], %q[a4]\n\t" \
    "vdup.32 %q[a4], %[wc]\n\t" \
    "vmin.s32 %q[x], %q[x], %q[a4]\n\t" \
    "vmin.s32 %q[a0], %q[a0], %q[a4]\n\t" \
    "vmin.s32 %q[a1], %q[a1], %q[a4]\n\t" \
    "vmin.s32 %q[a2], %q[a2], %q[a4]\n\t" \
    "vmin.s32 %q[a3], %q[a3], %q[a4]\n\t" \
    "ldrd %[wa], %[wb], [%[kp], #48]\n\t" \
    "vstrb.32 %q[x], [%[dst], %q[so]]\n\t" \
    "add %[t], %[dst], %[wa]\n\t" \
    "vstrb.32 %q[a0], [%[t], %q[so]]\n\t" \
    "add %[t], %[t], %[wa]\n\t" \
    "vstrb.32 %q[a1], [%[t], %q[so]]\n\t" \
    "add %[t], %[t], %[wa]\n\t" \
    "vstrb.32 %q[a2], [%[t], %q[so]]\n\t" \
    "add %[t], %[t], %[wa]\n\t" \
    "vstrb.32 %q[a3], [%[t], %q[so]]\n\t" \
    "add %[dst], %[dst], %[wb]\n\t"

/* 83 instructions with the LETP */
#define DW_WIN_STEP_S2 \
    "ldrd %[wa], %[wb], [%[kp]]\n\t" \
    "ldr %[t], [%[kp], #32]\n\t" \
    "vldrh.s32 %q[a0], [%[q], #-192]\n\t" \
    "vmlas.s32 %q[a0], %q[w00], %[t]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-128]\n\t" \
    "vmla.s32 %q[a0], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[a1], [%[q], #-64]\n\t" \
    "vmla.s32 %q[a0], %q[a1], %[wb]\n\t" \
    "vmlas.s32 %q[a1], %q[w00], %[t]\n\t" \
    "vldrh.s32 %q[x], [%[q]], #8\n\t" \
    "vmla.s32 %q[a1], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[a2], [%[q], #56]\n\t" \
    "vmla.s32 %q[a1], %q[a2], %[wb]\n\t" \
    "vmlas.s32 %q[a2], %q[w00], %[t]\n\t" \
    "vldrh.s32 %q[x], [%[q], #120]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #184]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wb]\n\t" \
    "ldrd %[wa], %[wb], [%[kp], #8]\n\t" \
    "ldr %[wc], [%[kp], #16]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-168]\n\t" \
    "vmla.s32 %q[a0], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-104]\n\t" \
    "vmla.s32 %q[a0], %q[x], %[wb]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-40]\n\t" \
    "vmla.s32 %q[a0], %q[x], %[wc]\n\t" \
    "vmla.s32 %q[a1], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #24]\n\t" \
    "vmla.s32 %q[a1], %q[x], %[wb]\n\t" \
    "vldrh.s32 %q[x], [%[q], #88]\n\t" \
    "vmla.s32 %q[a1], %q[x], %[wc]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #152]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wb]\n\t" \
    "vldrh.s32 %q[x], [%[q], #216]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wc]\n\t" \
    "ldrd %[wa], %[wb], [%[kp], #20]\n\t" \
    "ldr %[wc], [%[kp], #28]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-198]\n\t" \
    "vmla.s32 %q[a0], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-134]\n\t" \
    "vmla.s32 %q[a0], %q[x], %[wb]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-70]\n\t" \
    "vmla.s32 %q[a0], %q[x], %[wc]\n\t" \
    "vmla.s32 %q[a1], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #-6]\n\t" \
    "vmla.s32 %q[a1], %q[x], %[wb]\n\t" \
    "vldrh.s32 %q[x], [%[q], #58]\n\t" \
    "vmla.s32 %q[a1], %q[x], %[wc]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wa]\n\t" \
    "vldrh.s32 %q[x], [%[q], #122]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wb]\n\t" \
    "vldrh.s32 %q[x], [%[q], #186]\n\t" \
    "vmla.s32 %q[a2], %q[x], %[wc]\n\t" \
    "vshr.s32 %q[x], %q[a0], #31\n\t" \
    "vqrdmlah.s32 %q[x], %q[a0], %[m]\n\t" \
    "vshr.s32 %q[a0], %q[a1], #31\n\t" \
    "vqrdmlah.s32 %q[a0], %q[a1], %[m]\n\t" \
    "vshr.s32 %q[a1], %q[a2], #31\n\t" \
    "vqrdmlah.s32 %q[a1], %q[a2], %[m]\n\t" \
    "ldrd %[wb], %[wc], [%[kp], #40]\n\t" \
    "vrshl.s32 %q[x], %[e]\n\t" \
    "vadd.i32 %q[x], %q[x], %[zp]\n\t" \
    "vrshl.s32 %q[a0], %[e]\n\t" \
    "vadd.i32 %q[a0], %q[a0], %[zp]\n\t" \
    "vrshl.s32 %q[a1], %[e]\n\t" \
    "vadd.i32 %q[a1], %q[a1], %[zp]\n\t" \
    "vdup.32 %q[a2], %[wb]\n\t" \
    "vmax.s32 %q[x], %q[x], %q[a2]\n\t" \
    "vmax.s32 %q[a0], %q[a0], %q[a2]\n\t" \
    "vmax.s32 %q[a1], %q[a1], %q[a2]\n\t" \
    "vdup.32 %q[a2], %[wc]\n\t" \
    "vmin.s32 %q[x], %q[x], %q[a2]\n\t" \
    "vmin.s32 %q[a0], %q[a0], %q[a2]\n\t" \
    "vmin.s32 %q[a1], %q[a1], %q[a2]\n\t" \
    "ldrd %[wa], %[wb], [%[kp], #48]\n\t" \
    "vstrb.32 %q[x], [%[dst], %q[so]]\n\t" \
    "add %[t], %[dst], %[wa]\n\t" \
    "vstrb.32 %q[a0], [%[t], %q[so]]\n\t" \
    "add %[t], %[t], %[wa]\n\t" \
    "vstrb.32 %q[a1], [%[t], %q[so]]\n\t" \
    "add %[dst], %[dst], %[wb]\n\t"

static inline __attribute__((always_inline)) void dw_win_cols(const int16_t *q, int8_t *dst, const int32_t *k, int32_t m, int32_t e, int32_t zp,
                               int32_t n, int32x4_t w00, uint32x4_t so)
{
    int32x4_t a0, a1, a2, a3, a4, x;
    uint32_t wa, wb, wc, t;
    /* q: a low register (the widening VLDRH.S32 takes no other base) */
    __asm__ volatile("dlstp.32 lr, %[n]\n"
                     "1:\n\t"
                     DW_WIN_STEP
                     "letp lr, 1b\n\t"
                     : [a0] "=&w"(a0), [a1] "=&w"(a1), [a2] "=&w"(a2), [a3] "=&w"(a3), [a4] "=&w"(a4),
                       [x] "=&w"(x), [wa] "=&r"(wa), [wb] "=&r"(wb), [wc] "=&r"(wc), [t] "=&r"(t), [q] "+&l"(q),
                       [dst] "+&r"(dst)
                     : [kp] "r"(k), [m] "r"(m), [e] "r"(e), [zp] "r"(zp), [n] "r"(n), [w00] "w"(w00), [so] "w"(so)
                     : "memory", "lr");
}

/* Stride 2: three output lines per column step from the same 7-line window (lines de-interleaved
 * into even and odd entries: the taps of output o are even[o], odd[o], even[o + 1]). */
static inline __attribute__((always_inline)) void dw_win_cols_s2(const int16_t *q, int8_t *dst, const int32_t *k, int32_t m, int32_t e, int32_t zp,
                               int32_t n, int32x4_t w00, uint32x4_t so)
{
    int32x4_t a0, a1, a2, x;
    uint32_t wa, wb, wc, t;
    __asm__ volatile("dlstp.32 lr, %[n]\n"
                     "1:\n\t"
                     DW_WIN_STEP_S2
                     "letp lr, 1b\n\t"
                     : [a0] "=&w"(a0), [a1] "=&w"(a1), [a2] "=&w"(a2), [x] "=&w"(x), [wa] "=&r"(wa), [wb] "=&r"(wb), [wc] "=&r"(wc), [t] "=&r"(t), [q] "+&l"(q),
                       [dst] "+&r"(dst)
                     : [kp] "r"(k), [m] "r"(m), [e] "r"(e), [zp] "r"(zp), [n] "r"(n), [w00] "w"(w00), [so] "w"(so)
                     : "memory", "lr");
}

/* A segment of 4j + 1 outputs: the last output of the 5 lines (instead of a column step with 1 of
 * 4 lanes in use) as two vectors across the lines, out lines 0..3 and 1..4 (lines 1..3 computed
 * twice, stored twice with the same values): per tap column 4 gathers of window lines (offsets
 * 0, 1, 2, 3 lines apart, + 0..3 lines: go bytes 96..159) shared by both, 18 VMLA, requantized as
 * in the step, scattered to the lines' outputs (go bytes 160..175: 0, 1, 2, 3 output lines apart):
 * 66 instructions. w: window line 0 at the output's first tap. */
static inline __attribute__((always_inline)) void dw_win_last(const int16_t *w, int8_t *dst, const int32_t *k, int32_t w00, int32_t m, int32_t e,
                               int32_t zp, const void *go)
{
    int32x4_t a, b, x, q0, q1, q2, q3;
    int32_t wa, wb, wc;
    __asm__ volatile(
                     "vldrw.u32 %q[q0], [%[go], #96]\n\t"
                     "vldrw.u32 %q[q1], [%[go], #112]\n\t"
                     "vldrw.u32 %q[q2], [%[go], #128]\n\t"
                     "vldrw.u32 %q[q3], [%[go], #144]\n\t"
                     "ldr %[wa], [%[k], #32]\n\t"
                     "vdup.32 %q[a], %[wa]\n\t"
                     "vdup.32 %q[b], %[wa]\n\t"
                     "ldrd %[wa], %[wb], [%[k]]\n\t"
                     "vldrh.s32 %q[x], [%[w], %q[q0]]\n\t"
                     "vmla.s32 %q[a], %q[x], %[w00]\n\t"
                     "vldrh.s32 %q[x], [%[w], %q[q1]]\n\t"
                     "vmla.s32 %q[a], %q[x], %[wa]\n\t"
                     "vmla.s32 %q[b], %q[x], %[w00]\n\t"
                     "vldrh.s32 %q[x], [%[w], %q[q2]]\n\t"
                     "vmla.s32 %q[a], %q[x], %[wb]\n\t"
                     "vmla.s32 %q[b], %q[x], %[wa]\n\t"
                     "vldrh.s32 %q[x], [%[w], %q[q3]]\n\t"
                     "vmla.s32 %q[b], %q[x], %[wb]\n\t"
                     "ldrd %[wa], %[wb], [%[k], #8]\n\t"
                     "ldr %[wc], [%[k], #16]\n\t"
                     "add %[w], %[w], #2\n\t"
                     "vldrh.s32 %q[x], [%[w], %q[q0]]\n\t"
                     "vmla.s32 %q[a], %q[x], %[wa]\n\t"
                     "vldrh.s32 %q[x], [%[w], %q[q1]]\n\t"
                     "vmla.s32 %q[a], %q[x], %[wb]\n\t"
                     "vmla.s32 %q[b], %q[x], %[wa]\n\t"
                     "vldrh.s32 %q[x], [%[w], %q[q2]]\n\t"
                     "vmla.s32 %q[a], %q[x], %[wc]\n\t"
                     "vmla.s32 %q[b], %q[x], %[wb]\n\t"
                     "vldrh.s32 %q[x], [%[w], %q[q3]]\n\t"
                     "vmla.s32 %q[b], %q[x], %[wc]\n\t"
                     "ldrd %[wa], %[wb], [%[k], #20]\n\t"
                     "ldr %[wc], [%[k], #28]\n\t"
                     "add %[w], %[w], #2\n\t"
                     "vldrh.s32 %q[x], [%[w], %q[q0]]\n\t"
                     "vmla.s32 %q[a], %q[x], %[wa]\n\t"
                     "vldrh.s32 %q[x], [%[w], %q[q1]]\n\t"
                     "vmla.s32 %q[a], %q[x], %[wb]\n\t"
                     "vmla.s32 %q[b], %q[x], %[wa]\n\t"
                     "vldrh.s32 %q[x], [%[w], %q[q2]]\n\t"
                     "vmla.s32 %q[a], %q[x], %[wc]\n\t"
                     "vmla.s32 %q[b], %q[x], %[wb]\n\t"
                     "vldrh.s32 %q[x], [%[w], %q[q3]]\n\t"
                     "vmla.s32 %q[b], %q[x], %[wc]\n\t"
                     "vshr.s32 %q[x], %q[a], #31\n\t"
                     "vqrdmlah.s32 %q[x], %q[a], %[m]\n\t"
                     "vshr.s32 %q[a], %q[b], #31\n\t"
                     "vqrdmlah.s32 %q[a], %q[b], %[m]\n\t"
                     "vrshl.s32 %q[x], %[e]\n\t"
                     "vrshl.s32 %q[a], %[e]\n\t"
                     "vadd.i32 %q[x], %q[x], %[zp]\n\t"
                     "vadd.i32 %q[a], %q[a], %[zp]\n\t"
                     "ldrd %[wa], %[wb], [%[k], #40]\n\t"
                     "vdup.32 %q[b], %[wa]\n\t"
                     "vmax.s32 %q[x], %q[x], %q[b]\n\t"
                     "vmax.s32 %q[a], %q[a], %q[b]\n\t"
                     "vdup.32 %q[b], %[wb]\n\t"
                     "vmin.s32 %q[x], %q[x], %q[b]\n\t"
                     "vmin.s32 %q[a], %q[a], %q[b]\n\t"
                     "vldrw.u32 %q[b], [%[go], #160]\n\t"
                     "ldr %[wa], [%[k], #48]\n\t"
                     "vstrb.32 %q[x], [%[dst], %q[b]]\n\t"
                     "add %[dst], %[dst], %[wa]\n\t"
                     "vstrb.32 %q[a], [%[dst], %q[b]]\n\t"
                     : [a] "=&w"(a), [b] "=&w"(b), [x] "=&w"(x), [q0] "=&w"(q0), [q1] "=&w"(q1), [q2] "=&w"(q2),
                       [q3] "=&w"(q3), [wa] "=&r"(wa), [wb] "=&r"(wb), [wc] "=&r"(wc), [w] "+&l"(w), [dst] "+&r"(dst)
                     : [k] "r"(k), [w00] "r"(w00), [m] "r"(m), [e] "r"(e), [zp] "r"(zp), [go] "r"(go)
                     : "memory");
}

/* One channel's window lines and constants. The lines: nl window lines from r from nl input lines
 * from src (a line apart by across), four gathers of 8 entries per line (stride 1: at entries
 * min(8 v, count - 8) of the line's count >= 8 inputs, the last ones overlapping the earlier;
 * stride 2: two for the even and two for the odd entries), stored through four pointers that
 * advance a window line per line. The constants: k[0..7] by two gathers of the filter (f: the
 * channel's w(0,0)), k[8] = bias + in_off * (sum of the 9 weights); returns w(0,0). go (bytes):
 * 0..63 the 4 gathers' offsets (u16 x 8 each), 64..95 the filter gathers' (u32 x 4 each), 176..191
 * the 4 gathers' store pointers in the first window line, 192 in_off. */
static inline int32_t dw_win_prep(const int8_t *src, int32_t nl, int32_t across, const void *go, const int8_t *f,
                                  int32_t *k, int32_t bias)
{
    int16_t *r;
    int16x8_t x, g0, g1, g2, g3;
    int32_t r1, r3; /* the store pointers 1 and 3, then the bias sum and in_off */
    /* the store pointer 2, then w(0,0) and the weights' sum: VADDVA needs an even register */
    register int32_t r2 __asm__("r12");
    __asm__ volatile("vldrh.u16 %q[g0], [%[go]]\n\t"
                     "vldrh.u16 %q[g1], [%[go], #16]\n\t"
                     "vldrh.u16 %q[g2], [%[go], #32]\n\t"
                     "vldrh.u16 %q[g3], [%[go], #48]\n\t"
                     "ldrd %[r], %[r1], [%[go], #176]\n\t"
                     "ldrd %[r2], %[r3], [%[go], #184]\n\t"
                     "dls lr, %[nl]\n"
                     "1:\n\t"
                     "vldrb.s16 %q[x], [%[src], %q[g0]]\n\t"
                     "vstrh.16 %q[x], [%[r]], #64\n\t"
                     "vldrb.s16 %q[x], [%[src], %q[g1]]\n\t"
                     "vstrh.16 %q[x], [%[r1]], #64\n\t"
                     "vldrb.s16 %q[x], [%[src], %q[g2]]\n\t"
                     "vstrh.16 %q[x], [%[r2]], #64\n\t"
                     "vldrb.s16 %q[x], [%[src], %q[g3]]\n\t"
                     "vstrh.16 %q[x], [%[r3]], #64\n\t"
                     "add %[src], %[src], %[across]\n\t"
                     "le lr, 1b\n\t"
                     "vldrw.u32 %q[g0], [%[go], #64]\n\t"
                     "vldrw.u32 %q[g1], [%[go], #80]\n\t"
                     "vldrb.s32 %q[g2], [%[f], %q[g0]]\n\t"
                     "vldrb.s32 %q[g3], [%[f], %q[g1]]\n\t"
                     "vstrw.32 %q[g2], [%[k]]\n\t"
                     "vstrw.32 %q[g3], [%[k], #16]\n\t"
                     "vadd.i32 %q[g2], %q[g2], %q[g3]\n\t"
                     "ldrsb %[r2], [%[f]]\n\t"
                     "vaddva.s32 %[r2], %q[g2]\n\t"
                     "ldr %[r3], [%[go], #192]\n\t"
                     "mla %[r1], %[r2], %[r3], %[bias]\n\t"
                     "ldrsb %[r2], [%[f]]\n\t"
                     "str %[r1], [%[k], #32]\n\t"
                     : [x] "=&w"(x), [g0] "=&w"(g0), [g1] "=&w"(g1), [g2] "=&w"(g2), [g3] "=&w"(g3), [r1] "=&r"(r1),
                       [r2] "=&r"(r2), [r3] "=&r"(r3), [r] "=&r"(r), [src] "+&r"(src)
                     : [nl] "r"(nl), [across] "r"(across), [go] "r"(go), [f] "r"(f), [k] "r"(k), [bias] "r"(bias)
                     : "memory", "lr");
    return r2;
}

/* One image (or one dilation phase of it, see dw_phase) of geometry g through the window; fa / fl:
 * the filter's steps between kernel lines and between the taps of a line (bytes). */
static inline __attribute__((always_inline)) void dw_win_image(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const dw_geom *gp,
                         const int8_t *img, int8_t *obase, const int8_t *filter, uint32_t fa, uint32_t fl,
                         const int32_t *bias, int32_t OC, int32_t mult)
{
    const int s2 = params->stride.h == 2;
    int16_t win[7 * DW_WL] __attribute__((aligned(8)));
    int32_t k[14] __attribute__((aligned(8)));
    uint16_t go[100] __attribute__((aligned(8)));
    int32_t *gw = (int32_t *)(go + 88); /* go bytes 176..195 */
    int32_t woff[4] = {0, 0, 0, 0};     /* the gathers' window entries */
    const int32_t rl = s2 ? 3 : 5;             /* output lines per step */
    const int32_t seg = s2 ? DW_SEG2 : DW_SEG; /* outputs per segment */
    const dw_geom g = *gp;
    const uint32x4_t fo1 = {fa, 2 * fa, fl, fl + fa}; /* k[0..3] */
    const uint32x4_t fo2 = {fl + 2 * fa, 2 * fl, 2 * fl + fa, 2 * fl + 2 * fa};
    const int32_t step = g.in_along;
    /* stride 2: a gather takes every other input entry (one parity) */
    const uint16x8_t goff = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)((1 + s2) * step));
    const uint32x4_t so = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)g.out_along);
    const int32_t in_off = params->input_offset;
    /* the window holds the raw input and the padding the input zero point (-in_off), so that
     * (x + in_off) * w = x * w + in_off * w everywhere: in_off * sum(w) goes into the bias */
    const int16x8_t zp = vdupq_n_s16((int16_t)-in_off);
    k[9] = params->output_offset;
    k[10] = params->activation.min;
    k[11] = params->activation.max;
    k[12] = g.out_across;
    k[13] = 4 * g.out_along;
    vst1q_u32((uint32_t *)(go + 32), fo1);
    vst1q_u32((uint32_t *)(go + 40), fo2);
    for (int32_t i = 0; i < 4; ++i) {
        vst1q_u32((uint32_t *)(go + 48 + 8 * i), vmulq_n_u32(vidupq_n_u32((uint32_t)i, 1), 2 * DW_WL));
    }
    vst1q_u32((uint32_t *)(go + 80), vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)g.out_across));
    gw[4] = in_off;
    {
        /* segments of equal length (up to seg outputs), so that none is short */
        const int32_t nseg = (g.out_len + seg - 1) / seg;
        const int32_t slen = (g.out_len + nseg - 1) / nseg;
        for (int32_t o0 = 0; o0 < g.out_len; o0 += slen) {
            const int32_t n = g.out_len - o0 < slen ? g.out_len - o0 : slen;
            /* window entry j (stride 2: entries j / 2 and DW_WL / 2 + j / 2 for even and odd j) is
             * input entry i0 + j of its line, [ja, jb) of them inside the input */
            const int32_t i0 = (1 + s2) * o0 - g.pad_along;
            const int32_t ne = s2 ? 2 * n + 1 : n + 2;
            const int32_t ja = i0 < 0 ? -i0 : 0;
            const int32_t jb = g.len - i0 < ne ? g.len - i0 : ne;
            /* the gathered runs: stride 1 one of cnt entries from ja; stride 2 the even entries
             * (ce from ea) and the odd ones (co from oa) */
            const int32_t ea = (ja + 1) >> 1, ce = ((jb + 1) >> 1) - ea;
            const int32_t oa = ja >> 1, co = (jb >> 1) - oa;
            const int32_t cnt = jb - ja;
            const int fast = s2 ? ce >= 8 && co >= 8 : cnt >= 8;
            const int32_t j0 = s2 ? (2 * ea < 2 * oa + 1 ? 2 * ea : 2 * oa + 1) : ja; /* first entry read */
            for (int32_t v = 0; v < 4 && fast; ++v) {
                int32_t e; /* the gather's first input entry (from i0) and window entry */
                int32_t wpos;
                if (!s2) {
                    const int32_t p = 8 * v < cnt - 8 ? 8 * v : cnt - 8;
                    e = ja + p;
                    wpos = e;
                } else if (v < 2) {
                    const int32_t p = 8 * v < ce - 8 ? 8 * v : ce - 8;
                    e = 2 * (ea + p);
                    wpos = ea + p;
                } else {
                    const int32_t p = 8 * (v - 2) < co - 8 ? 8 * (v - 2) : co - 8;
                    e = 2 * (oa + p) + 1;
                    wpos = DW_WL / 2 + oa + p;
                }
                vst1q_u16(go + 8 * v, vaddq_n_u16(goff, (uint16_t)((e - j0) * step)));
                woff[v] = wpos;
            }
            const int32_t n4 = !s2 && (n & 3) == 1 ? n - 1 : n; /* outputs of the column steps */
            for (int32_t gy = 0;; gy += rl) {
                const int32_t oy = gy + rl <= g.out_lines ? gy : g.out_lines - rl;
                /* padding entries and lines outside the input are the same for every channel:
                 * written once; the lines inside the input are consecutive, l0 .. l1 - 1 */
                int32_t l0 = 7;
                int32_t l1 = 0;
                for (int32_t l = 0; l < 7; ++l) {
                    const int32_t iy = (1 + s2) * oy - g.pad_across + l;
                    for (int32_t j = 0; j < DW_WL; j += 8) {
                        vst1q_s16(win + l * DW_WL + j, zp);
                    }
                    if (iy >= 0 && iy < g.lines) {
                        l0 = l < l0 ? l : l0;
                        l1 = l + 1;
                    }
                }
                const int8_t *lsrc = img + ((1 + s2) * oy - g.pad_across + l0) * g.in_across + (i0 + j0) * step;
                int16_t *lwin = win + l0 * DW_WL;
                for (int32_t v = 0; v < 4; ++v) {
                    gw[v] = (int32_t)(uintptr_t)(lwin + woff[v]);
                }
                int8_t *dst0 = obase + oy * g.out_across + o0 * g.out_along;
                int8_t *dlast = dst0 + n4 * g.out_along; /* the 4j + 1 segment's last outputs */
                const int32_t *qm = quant->multiplier;
                const int32_t *qs = quant->shift;
                /* output channel c reads input channel ic = c / mult: its window is filled for
                 * the first of its mult output channels */
                for (int32_t c = 0; c < OC; ++c) {
                    const int32_t ic = c / mult;
                    const int first = c - ic * mult == 0;
                    const int8_t *f = filter + c;
                    const int32_t bc = bias != 0 ? bias[c] : 0;
                    int32_t w00;
                    if (fast && first) {
                        w00 = dw_win_prep(lsrc + ic, l1 - l0, g.in_across, go, f, k, bc);
                    } else {
                        /* short runs: predicated gathers (stride 1: one run; stride 2: even, odd) */
                        for (int32_t l = l0; l < l1 && !fast && first; ++l) {
                            const int8_t *src = img + ((1 + s2) * oy - g.pad_across + l) * g.in_across + ic;
                            int16_t *r = win + l * DW_WL;
                            for (int32_t part = 0; part <= s2; ++part) {
                                const int32_t e = s2 ? 2 * (part ? oa : ea) + part : ja;
                                const int32_t nr = s2 ? (part ? co : ce) : cnt;
                                int16_t *rr = r + (s2 ? part * (DW_WL / 2) + (part ? oa : ea) : ja);
                                for (int32_t j = 0; j < nr; j += 8) {
                                    const mve_pred16_t p = vctp16q((uint32_t)(nr - j));
                                    vstrhq_p_s16(rr + j,
                                                 vldrbq_gather_offset_z_s16(src + (i0 + e + (1 + s2) * j) * step, goff, p),
                                                 p);
                                }
                            }
                        }
                        const int32x4_t wv1 = vldrbq_gather_offset_s32(f, fo1);
                        const int32x4_t wv2 = vldrbq_gather_offset_s32(f, fo2);
                        vst1q_s32(k, wv1);
                        vst1q_s32(k + 4, wv2);
                        w00 = f[0];
                        k[8] = bc + in_off * (w00 + vaddvq_s32(vaddq_s32(wv1, wv2)));
                    }
                    const int32_t m = qm[c];
                    const int32_t e = qs[c];
                    if (s2) {
                        dw_win_cols_s2(win + 3 * DW_WL, dst0 + c, k, m, e, k[9], n, vdupq_n_s32(w00), so);
                        continue;
                    }
                    if (n4 > 0) {
                        dw_win_cols(win + 3 * DW_WL, dst0 + c, k, m, e, k[9], n4, vdupq_n_s32(w00), so);
                    }
                    if (n4 < n) {
                        dw_win_last(win + n4, dlast + c, k, w00, m, e, k[9], go);
                    }
                }
                if (gy + rl >= g.out_lines) {
                    break;
                }
            }
        }
    }
}

static void dw3x3_mve_win(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                          const int8_t *input, const int8_t *filter, const int32_t *bias, const ef_dims *out,
                          int8_t *output)
{
    const int t = dw_transposed(out);
    const dw_geom g = dw_geom_of(params, in, out);
    const int32_t OC = out->c; /* in->c * depth multiplier */
    for (int32_t b = 0; b < in->n; ++b) {
        dw_win_image(params, quant, &g, input + b * in->h * in->w * in->c, output + b * out->h * out->w * OC, filter,
                     (uint32_t)(t ? OC : 3 * OC), (uint32_t)(t ? 3 * OC : OC), bias, OC, params->ch_mult);
    }
}
#endif

/* Any 3x3 layer, any stride and depth multiplier, dilated by (dh, dw) (fy / fx: the filter's steps
 * between its real taps): the 9 taps with per-tap bounds; the fallback of the fast paths. */
static __attribute__((noinline, optimize("Os"))) void dw3x3_any(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                      const int8_t *input, const int8_t *filter, int32_t dh, int32_t dw, int32_t fy, int32_t fx,
                      const int32_t *bias, const ef_dims *out, int8_t *output)
{
    const int32_t C = in->c;
    const int32_t OC = out->c;
    const int32_t mult = params->ch_mult;
    const int32_t row = in->w * C;
    const int32_t in_off = params->input_offset;
    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * in->h * row;
        for (int32_t oy = 0; oy < out->h; ++oy) {
            for (int32_t ox = 0; ox < out->w; ++ox) {
                for (int32_t oc = 0; oc < OC; ++oc) {
                    int32_t acc = bias != 0 ? bias[oc] : 0;
                    for (int32_t ky = 0; ky < 3; ++ky) {
                        const int32_t iy = oy * params->stride.h - params->padding.h + ky * dh;
                        for (int32_t kx = 0; kx < 3 && iy >= 0 && iy < in->h; ++kx) {
                            const int32_t ix = ox * params->stride.w - params->padding.w + kx * dw;
                            if (ix >= 0 && ix < in->w) {
                                acc += (img[iy * row + ix * C + oc / mult] + in_off) * filter[ky * fy + kx * fx + oc];
                            }
                        }
                    }
                    acc = ef_requantize(acc, quant->multiplier[oc], quant->shift[oc]) + params->output_offset;
                    dst[oc] = ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
                }
                dst += OC;
            }
        }
    }
}

/* the longest line step whose gather offsets (up to 30 steps in a segment) stay below 2^16 */
#define DW_MULT_MAX_STEP (65535 / 30)

/* Where the Helium window path applies, and so where a depth multiplier > 1 is supported (on every
 * core alike): equal strides 1 with >= 5 output lines or 2 with >= 3, a line step <= 2184 bytes
 * (a segment of DW_SEG + 2 or 2 * DW_SEG2 + 1 window entries spans up to 30 steps, within its
 * 16-bit offsets), every shift a right shift (the step's rounding fix-up). */
static int dw_mult_ok(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                      const ef_dims *out)
{
    const int32_t s = params->stride.h;
    const int32_t lines = out->h < out->w ? out->h : out->w;
    const int32_t step = out->h > out->w ? in->w * in->c : in->c;
    if (s != params->stride.w || (s != 1 && s != 2) || lines < (s == 1 ? 5 : 3) || step > DW_MULT_MAX_STEP) {
        return 0;
    }
    for (int32_t c = 0; c < out->c; ++c) {
        if (quant->shift[c] >= 0) {
            return 0;
        }
    }
    return 1;
}

ef_status ef_depthwise_conv_3x3_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
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
    if (filter_dims->h != 3 || filter_dims->w != 3 || params->padding.h > 1 || params->padding.w > 1 ||
        (params->ch_mult != 1 && !dw_mult_ok(params, quant, input_dims, output_dims))) {
        return EF_ERR_UNSUPPORTED;
    }
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    const int32_t C = in->c;
    const int32_t mult = params->ch_mult;
#if defined(EF_NN_USE_MVE)
    if (dw_mult_ok(params, quant, in, out)) { /* the window path; every depth multiplier > 1 */
        dw3x3_mve_win(params, quant, in, input, filter, bias, out, output);
    } else {
        dw3x3_mve(params, quant, in, input, filter, bias, out, output);
    }
    return EF_OK;
#elif defined(EF_NN_USE_DSP)
    if (dw_ring_fits(params, in, out)) { /* every depth multiplier */
        dw3x3_dsp_ring(params, quant, in, input, filter, bias, out, output);
        return EF_OK;
    }
    if (mult == 1 && (C & 3) == 0) {
        dw3x3_dsp(params, quant, in, input, filter, bias, out, output);
        return EF_OK;
    }
#endif
    /* portable: output channel oc reads input channel oc / mult */
    const int32_t OC = out->c;
    const int32_t row = in->w * C;
    const int32_t in_off = params->input_offset;

    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * in->h * row;
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy0 = oy * params->stride.h - params->padding.h;
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t ix0 = ox * params->stride.w - params->padding.w;
                const int interior = iy0 >= 0 && iy0 + 3 <= in->h && ix0 >= 0 && ix0 + 3 <= in->w;
                const int32_t base_index = iy0 * row + ix0 * C; /* negative at the top/left border */
                if (interior) {
                    const int8_t *base = img + base_index;
                    for (int32_t oc = 0; oc < OC; ++oc) {
                        const int8_t *p = base + oc / mult;
                        const int8_t *f = filter + oc;
                        int32_t acc = 0;
                        acc += (p[0] + in_off) * f[0];
                        acc += (p[C] + in_off) * f[OC];
                        acc += (p[2 * C] + in_off) * f[2 * OC];
                        acc += (p[row] + in_off) * f[3 * OC];
                        acc += (p[row + C] + in_off) * f[4 * OC];
                        acc += (p[row + 2 * C] + in_off) * f[5 * OC];
                        acc += (p[2 * row] + in_off) * f[6 * OC];
                        acc += (p[2 * row + C] + in_off) * f[7 * OC];
                        acc += (p[2 * row + 2 * C] + in_off) * f[8 * OC];
                        if (bias != 0) {
                            acc += bias[oc];
                        }
                        acc = ef_requantize(acc, quant->multiplier[oc], quant->shift[oc]) + params->output_offset;
                        dst[oc] = ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
                    }
                } else {
                    const int32_t ky_begin = EF_MAX(0, -iy0);
                    const int32_t ky_end = EF_MIN(3, in->h - iy0);
                    const int32_t kx_begin = EF_MAX(0, -ix0);
                    const int32_t kx_end = EF_MIN(3, in->w - ix0);
                    for (int32_t oc = 0; oc < OC; ++oc) {
                        const int32_t ic = oc / mult;
                        int32_t acc = 0;
                        for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
                            for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
                                acc += (img[base_index + ky * row + kx * C + ic] + in_off) *
                                       filter[(ky * 3 + kx) * OC + oc];
                            }
                        }
                        if (bias != 0) {
                            acc += bias[oc];
                        }
                        acc = ef_requantize(acc, quant->multiplier[oc], quant->shift[oc]) + params->output_offset;
                        dst[oc] = ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
                    }
                }
                dst += out->c;
            }
        }
    }
    return EF_OK;
}

/* Dilated 3x3 (stride 1), phase by phase: each phase of the output is the fast 3x3 path's layer on
 * the sub-lattice of the input it reads (see dw_phase), with the lattice's input, output and
 * filter steps; exact, the zero-inserted taps are never read. Fast where every phase fits the DSP
 * ring / the Helium window, else the portable loop over the 9 taps. */
ef_status ef_depthwise_conv_3x3_dilated_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
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
    const int32_t FH = filter_dims->h;
    const int32_t FW = filter_dims->w;
    const int32_t dh = (FH - 1) / 2;
    const int32_t dw = (FW - 1) / 2;
    if (FH < 3 || FW < 3 || (FH & 1) == 0 || (FW & 1) == 0 || params->stride.h != 1 || params->stride.w != 1 ||
        params->padding.h > dh || params->padding.w > dw) {
        return EF_ERR_UNSUPPORTED;
    }
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    const int32_t OC = out->c;
    const int32_t fy = dh * FW * OC; /* filter steps between the real taps */
    const int32_t fx = dw * OC;
#if defined(EF_NN_USE_MVE) || defined(EF_NN_USE_DSP)
    int fits = 1;
    for (int32_t ry = 0; ry < dh && fits; ++ry) {
        for (int32_t rx = 0; rx < dw && fits; ++rx) {
            const dw_phase_t ph = dw_phase(params, in, out, dh, dw, ry, rx);
            if (ph.g.out_len == 0 || ph.g.out_lines == 0) {
                continue;
            }
#if defined(EF_NN_USE_MVE)
            /* the window's 5 output lines; gather offsets of 30 steps within 16 bits */
            fits = ph.g.out_lines >= 5 && ph.g.in_along <= 2184;
#else
            fits = ph.g.out_len + 4 <= DW_RING_W && ph.g.len + ph.g.pad_along <= DW_RING_W;
#endif
        }
    }
#if defined(EF_NN_USE_MVE)
    for (int32_t c = 0; c < OC && fits; ++c) {
        fits = quant->shift[c] < 0; /* the window's rounding fix-up */
    }
#else
    int16_t ring[2][3 * DW_RING_W] __attribute__((aligned(4)));
#endif
    for (int32_t b = 0; b < in->n && fits; ++b) {
        const int8_t *img = input + b * in->h * in->w * in->c;
        int8_t *obase = output + b * out->h * out->w * OC;
        for (int32_t ry = 0; ry < dh; ++ry) {
            for (int32_t rx = 0; rx < dw; ++rx) {
                const dw_phase_t ph = dw_phase(params, in, out, dh, dw, ry, rx);
                if (ph.g.out_len == 0 || ph.g.out_lines == 0) {
                    continue;
                }
                const int t = ph.transposed;
#if defined(EF_NN_USE_MVE)
                dw_win_image(params, quant, &ph.g, img + ph.in0, obase + ph.out0, filter, (uint32_t)(t ? fx : fy),
                             (uint32_t)(t ? fy : fx), bias, OC, params->ch_mult);
#else
                memset(ring, 0, sizeof ring); /* the phases' paddings and lengths differ */
                dw_ring_image(params, quant, &ph.g, 1, img + ph.in0, obase + ph.out0, filter, t ? fy : fx,
                              t ? fx : fy, bias, in->c, ring);
#endif
            }
        }
    }
    if (fits) {
        return EF_OK;
    }
#endif
    dw3x3_any(params, quant, in, input, filter, dh, dw, fy, fx, bias, out, output);
    return EF_OK;
}

/* 3x3 with a depth multiplier: the DSP ring with each input channel pair refilled per multiplier
 * index (dw_ring_image_mult); the Helium window where it applies; else the portable 9-tap loop. */
ef_status ef_depthwise_conv_3x3_mult_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
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
    if (filter_dims->h != 3 || filter_dims->w != 3 || params->padding.h > 1 || params->padding.w > 1) {
        return EF_ERR_UNSUPPORTED;
    }
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    const int32_t OC = out->c;
#if defined(EF_NN_USE_MVE)
    if (dw_mult_ok(params, quant, in, out)) {
        dw3x3_mve_win(params, quant, in, input, filter, bias, out, output);
        return EF_OK;
    }
#elif defined(EF_NN_USE_DSP)
    if (dw_ring_fits(params, in, out)) {
        int16_t ring[2][3 * DW_RING_W] __attribute__((aligned(4)));
        memset(ring, 0, sizeof ring);
        const int t = dw_transposed(out);
        const dw_geom g = dw_geom_of(params, in, out);
        for (int32_t b = 0; b < in->n; ++b) {
            dw_ring_image_mult(params, quant, &g, t ? params->stride.h : params->stride.w,
                               input + b * in->h * in->w * in->c, output + b * out->h * out->w * OC, filter,
                               t ? 3 * OC : OC, t ? OC : 3 * OC, bias, in->c, ring);
        }
        return EF_OK;
    }
#endif
    dw3x3_any(params, quant, in, input, filter, 1, 1, 3 * OC, OC, bias, out, output);
    return EF_OK;
}
