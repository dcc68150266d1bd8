/* DEPTHWISE_CONV_2D with a one-line kernel (1 x k or k x 1, 2 <= k <= 7): the factorized layers'
 * k x 1 / 1 x k depthwise convolutions. DSP body (M4/M7/M33) and portable body. */
#include "internal/ef_dw_check.h"
#include "internal/ef_dw_widen.h"

#include <string.h>

#define EF_DWL_KMAX 7 /* taps along the line */

#if defined(EF_NN_USE_DSP)
#include "internal/ef_conv_2px.h" /* ef_nn_clamp_s8 */

/*
 * DSP body: input channels in pairs; each input line the kernel runs along (a row for 1 x k, a
 * column for k x 1) is copied once per channel pair into two int16 lines (x + input offset)
 * between zero entries for the padding, so that two adjacent taps of one channel are one aligned
 * word. With n = k / 2 + 1 weight pairs A_u = (w[2u], w[2u + 1]) and B_u = (w[2u - 1], w[2u])
 * (taps outside [0, k) zero), four neighbouring outputs o..o + 3 of a line (stride 1, o even) are
 *   out(o) = sum_u SMLAD(X[o/2 + u], A_u),      out(o + 1) = sum_u SMLAD(X[o/2 + u], B_u),
 *   out(o + 2) = sum_u SMLAD(X[o/2 + 1 + u], A_u), out(o + 3) = sum_u SMLAD(X[o/2 + 1 + u], B_u)
 * from the n + 1 words X[o/2 ..] (k = 3: LDRD + LDR and 8 SMLAD for 12 MACs; stride 2: every
 * output reads aligned words, A only); the weights of a channel stay in registers for the whole
 * line. Requantization with the per-channel constants (ef_rq_chan_apply: 5 instructions, SSAT);
 * a narrower activation is one ef_nn_clamp_s8 pass afterwards.
 */
#define DWL_W 128 /* int16 entries per line buffer */
#define DWL_N (EF_DWL_KMAX / 2 + 1) /* weight pairs */

typedef struct {
    uint32_t k3[8];   /* k <= 3 (dwl_quad3 reads it): A0, A1, B0, B1, bias, khi, mult, e */
    uint32_t a[DWL_N];
    uint32_t b[DWL_N];
    int32_t bias;
    int32_t khi;
    int32_t mult;
    int32_t e;
    int32_t shift;
    int fast;
} dwl_chan;

static void dwl_chan_setup(dwl_chan *ch, const int8_t *filter, int32_t k, int32_t oc, int32_t OC,
                           const ef_per_channel_quant *quant, const int32_t *bias, int32_t out_off)
{
    int32_t w[2 * DWL_N + 2]; /* w[t + 1] = tap t, zero outside [0, k) */
    for (int32_t t = 0; t < 2 * DWL_N + 2; ++t) {
        w[t] = t >= 1 && t <= k ? filter[(t - 1) * OC + oc] : 0;
    }
    for (int32_t u = 0; u < DWL_N; ++u) {
        ch->a[u] = (uint32_t)(uint16_t)w[2 * u + 1] | ((uint32_t)(uint16_t)w[2 * u + 2] << 16);
        ch->b[u] = (uint32_t)(uint16_t)w[2 * u] | ((uint32_t)(uint16_t)w[2 * u + 1] << 16);
    }
    ch->bias = bias != 0 ? bias[oc] : 0;
    ch->mult = quant->multiplier[oc];
    ch->shift = quant->shift[oc];
    ch->fast = ef_rq_chan_ok(ch->mult, ch->shift);
    const ef_rq_chan q = ch->fast ? ef_rq_chan_of(ch->mult, ch->shift, out_off) : (ef_rq_chan){0, 0, 0};
    ch->khi = q.khi;
    ch->e = q.e;
    const uint32_t k3[8] = {ch->a[0], ch->a[1], ch->b[0], ch->b[1], (uint32_t)ch->bias, (uint32_t)ch->khi,
                            (uint32_t)ch->mult, (uint32_t)ch->e};
    memcpy(ch->k3, k3, sizeof k3);
}

/* k <= 3, stride 1, fast requantization: four outputs from the words X0..X2 at p (8 SMLAD), then
 * per output AND, RSBS, SBC, SMLAL, ASR (ef_rq_chan_apply), SSAT, STRB, ADD: 47 instructions per 12
 * MACs (GCC's allocation of the C body spills). k: the channel's k3; dst advances by 4 steps. */
#define DWL_Q_OUT(a)                                                     \
    "and    %[x0], %[" #a "], #0x80000000\n\t"                           \
    "rsbs   %[x0], %[x0], #0x40000000\n\t"                               \
    "sbc    %[x1], %[x2], #0\n\t"                                        \
    "smlal  %[x0], %[x1], %[" #a "], %[wa]\n\t"                          \
    "asr    %[x1], %[x1], %[wb]\n\t"                                     \
    "ssat   %[x1], #8, %[x1]\n\t"                                        \
    "strb   %[x1], [%[dst]]\n\t"                                         \
    "add    %[dst], %[dst], %[step]\n\t"

static inline int8_t *dwl_quad3(const int16_t *p, int8_t *dst, int32_t step, const uint32_t *k)
{
    uint32_t a0, a1, a2, a3, x0, x1, x2, wa, wb;
    __asm__ volatile("ldr    %[a3], [%[k], #16]\n\t"
                     "ldrd   %[x0], %[x1], [%[p]]\n\t"
                     "ldr    %[x2], [%[p], #8]\n\t"
                     "ldrd   %[wa], %[wb], [%[k]]\n\t"
                     "smlad  %[a0], %[x0], %[wa], %[a3]\n\t"
                     "smlad  %[a2], %[x1], %[wa], %[a3]\n\t"
                     "smlad  %[a0], %[x1], %[wb], %[a0]\n\t"
                     "smlad  %[a2], %[x2], %[wb], %[a2]\n\t"
                     "ldrd   %[wa], %[wb], [%[k], #8]\n\t"
                     "smlad  %[a1], %[x0], %[wa], %[a3]\n\t"
                     "smlad  %[a3], %[x1], %[wa], %[a3]\n\t"
                     "smlad  %[a1], %[x1], %[wb], %[a1]\n\t"
                     "smlad  %[a3], %[x2], %[wb], %[a3]\n\t"
                     "ldr    %[x2], [%[k], #20]\n\t"
                     "ldrd   %[wa], %[wb], [%[k], #24]\n\t"
                     DWL_Q_OUT(a0) DWL_Q_OUT(a1) DWL_Q_OUT(a2) DWL_Q_OUT(a3)
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x0] "=&r"(x0),
                       [x1] "=&r"(x1), [x2] "=&r"(x2), [wa] "=&r"(wa), [wb] "=&r"(wb), [dst] "+&r"(dst)
                     : [p] "r"(p), [k] "r"(k), [step] "r"(step), "m"(*(const int16_t(*)[6])p)
                     : "memory", "cc");
    return dst;
}

static inline __attribute__((always_inline)) int8_t dwl_out(int32_t acc, const dwl_chan *ch, const int fast,
                                                            int32_t out_off, int32_t lo, int32_t hi)
{
    if (fast) {
        return (int8_t)__ssat(ef_rq_chan_apply(acc, ch->khi, ch->mult, ch->e), 8);
    }
    return ef_clamp_to_s8(ef_requantize(acc, ch->mult, ch->shift) + out_off, lo, hi);
}

/* The outputs of one line of one channel: x the line (entry 0 = the first output's first tap), n
 * weight pairs, stride s along the line, outputs dst, dst + step, ... */
static inline __attribute__((always_inline)) void dwl_line(const int16_t *x, int32_t n_out, const dwl_chan *ch,
                                                           const int n, const int s, const int fast, int8_t *dst,
                                                           int32_t step, int32_t out_off, int32_t lo, int32_t hi)
{
    const uint32_t *A = ch->a;
    const uint32_t *B = ch->b;
    const int32_t bias = ch->bias;
    int32_t o = 0;
    if (n == 2 && s == 1 && fast) {
        for (; o + 4 <= n_out; o += 4) {
            dst = dwl_quad3(x + o, dst, step, ch->k3);
        }
    }
    for (; o + 4 <= n_out; o += 4) {
        int32_t a0 = bias;
        int32_t a1 = bias;
        int32_t a2 = bias;
        int32_t a3 = bias;
        if (s == 1) {
            const int16_t *p = x + o;
            uint32_t X[DWL_N + 1];
            _Pragma("GCC unroll 8")
            for (int u = 0; u <= n; ++u) {
                X[u] = ef_read_u32(p + 2 * u);
            }
            _Pragma("GCC unroll 8")
            for (int u = 0; u < n; ++u) {
                a0 = (int32_t)__smlad(X[u], A[u], (uint32_t)a0);
                a1 = (int32_t)__smlad(X[u], B[u], (uint32_t)a1);
                a2 = (int32_t)__smlad(X[u + 1], A[u], (uint32_t)a2);
                a3 = (int32_t)__smlad(X[u + 1], B[u], (uint32_t)a3);
            }
        } else {
            const int16_t *p = x + 2 * o;
            uint32_t X[DWL_N + 3];
            _Pragma("GCC unroll 8")
            for (int u = 0; u < n + 3; ++u) {
                X[u] = ef_read_u32(p + 2 * u);
            }
            _Pragma("GCC unroll 8")
            for (int u = 0; u < n; ++u) {
                a0 = (int32_t)__smlad(X[u], A[u], (uint32_t)a0);
                a1 = (int32_t)__smlad(X[u + 1], A[u], (uint32_t)a1);
                a2 = (int32_t)__smlad(X[u + 2], A[u], (uint32_t)a2);
                a3 = (int32_t)__smlad(X[u + 3], A[u], (uint32_t)a3);
            }
        }
        dst[0] = dwl_out(a0, ch, fast, out_off, lo, hi);
        dst[step] = dwl_out(a1, ch, fast, out_off, lo, hi);
        dst += 2 * step;
        dst[0] = dwl_out(a2, ch, fast, out_off, lo, hi);
        dst[step] = dwl_out(a3, ch, fast, out_off, lo, hi);
        dst += 2 * step;
    }
    for (; o < n_out; ++o) {
        const int32_t j = o * s;
        const int16_t *p = x + (j & ~1);
        const uint32_t *W = (j & 1) ? B : A;
        int32_t acc = bias;
        _Pragma("GCC unroll 8")
        for (int u = 0; u < n; ++u) {
            acc = (int32_t)__smlad(ef_read_u32(p + 2 * u), W[u], (uint32_t)acc);
        }
        dst[0] = dwl_out(acc, ch, fast, out_off, lo, hi);
        dst += step;
    }
}

/* The same with the full requantization (any multiplier and shift), every weight pair. */
static __attribute__((noinline)) void dwl_line_slow(const int16_t *x, int32_t n_out, const dwl_chan *ch, int32_t s,
                                                    int8_t *dst, int32_t step, int32_t out_off, int32_t lo,
                                                    int32_t hi)
{
    if (s == 1) {
        dwl_line(x, n_out, ch, DWL_N, 1, 0, dst, step, out_off, lo, hi);
    } else {
        dwl_line(x, n_out, ch, DWL_N, 2, 0, dst, step, out_off, lo, hi);
    }
}

/* The layer's lines: along / across the kernel's line (input and output byte steps). */
typedef struct {
    int32_t len, lines, in_along, in_across, out_len, out_lines, out_along, out_across, s_along, s_across, pad_along,
        pad_across;
} dwl_geom;

static dwl_geom dwl_geom_of(const ef_dw_conv_params *params, const ef_dims *in, const ef_dims *out, int vertical)
{
    const int32_t C = in->c;
    const int32_t OC = out->c;
    if (vertical) { /* k x 1: lines along the input's columns */
        return (dwl_geom){in->h, in->w, in->w * C, C, out->h, out->w, out->w * OC, OC, params->stride.h,
                          params->stride.w, params->padding.h, params->padding.w};
    }
    return (dwl_geom){in->w, in->h, C, in->w * C, out->w, out->h, OC, out->w * OC, params->stride.w,
                      params->stride.h, params->padding.w, params->padding.h};
}

/* Whether the DSP body takes the layer: stride 1 or 2 along the line, a padded line and every
 * entry the outputs read (up to DWL_N + 3 words from an output's first) inside DWL_W. */
static int dwl_fits(const dwl_geom *g)
{
    const int32_t n = DWL_N; /* the most words any body reads */
    return (g->s_along == 1 || g->s_along == 2) && g->pad_along + g->len <= DWL_W &&
           g->s_along * g->out_len + 2 * n + 4 <= DWL_W;
}

/* Every output line of input channels c, c + 1 (c alone when !two) into output channels ch[0], ch[1]
 * (obase, obase + mult): n weight pairs and the stride along the lines fixed, so that each
 * instance's loop keeps its few values in registers. */
static inline __attribute__((always_inline)) void dwl_lines(int16_t buf[2][DWL_W], const dwl_chan ch[2], int two,
                                                            const int8_t *img, int8_t *obase, int32_t mult,
                                                            const dwl_geom *g, uint32_t off2, int32_t out_off,
                                                            int32_t lo, int32_t hi, const int n, const int s)
{
    const dwl_geom G = *g;
    int16_t *ra = buf[0] + G.pad_along;
    int16_t *rb = buf[1] + G.pad_along;
    for (int32_t l = 0; l < G.out_lines; ++l) {
        const int32_t il = l * G.s_across - G.pad_across;
        if (il >= 0 && il < G.lines) {
            ef_dw_widen_pair(ra, rb, img + il * G.in_across, G.len, G.in_along, off2, two);
        } else { /* a line outside the input: zeros (memset: the lines are long) */
            memset(ra, 0, (size_t)G.len * 2);
            memset(rb, 0, (size_t)G.len * 2);
        }
        int8_t *dst = obase + l * G.out_across;
        for (int q = 0; q <= two; ++q) {
            if (ch[q].fast) {
                dwl_line(buf[q], G.out_len, &ch[q], n, s, 1, dst + q * mult, G.out_along, out_off, lo, hi);
            } else { /* rare (a multiplier or shift outside ef_rq_chan_ok) */
                dwl_line_slow(buf[q], G.out_len, &ch[q], s, dst + q * mult, G.out_along, out_off, lo, hi);
            }
        }
    }
}

#define DWL_LINES_FN(n_, s_)                                                                                   \
    static void dwl_lines_##n_##_##s_(int16_t buf[2][DWL_W], const dwl_chan ch[2], int two, const int8_t *img, \
                                      int8_t *obase, int32_t mult, const dwl_geom *g, uint32_t off2,          \
                                      int32_t out_off, int32_t lo, int32_t hi)                                \
    {                                                                                                          \
        dwl_lines(buf, ch, two, img, obase, mult, g, off2, out_off, lo, hi, (n_), (s_));                     \
    }
DWL_LINES_FN(2, 1)
DWL_LINES_FN(3, 1)
DWL_LINES_FN(4, 1)
DWL_LINES_FN(2, 2)
DWL_LINES_FN(3, 2)
DWL_LINES_FN(4, 2)
#undef DWL_LINES_FN

static void dwl_dsp(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                    const int8_t *input, const int8_t *filter, int32_t k, const int32_t *bias, const ef_dims *out,
                    int8_t *output, const dwl_geom *g)
{
    int16_t buf[2][DWL_W] __attribute__((aligned(4)));
    memset(buf, 0, sizeof buf);
    const int32_t C = in->c;
    const int32_t OC = out->c;
    const int32_t mult = params->ch_mult;
    const int32_t out_off = params->output_offset;
    const int32_t lo = params->activation.min;
    const int32_t hi = params->activation.max;
    const int32_t n = k / 2 + 1;
    const uint32_t off2 = ((uint32_t)(uint16_t)params->input_offset << 16) | (uint16_t)params->input_offset;
    void (*const lines)(int16_t[2][DWL_W], const dwl_chan *, int, const int8_t *, int8_t *, int32_t,
                        const dwl_geom *, uint32_t, int32_t, int32_t, int32_t) =
        g->s_along == 1 ? (n == 2 ? dwl_lines_2_1 : n == 3 ? dwl_lines_3_1 : dwl_lines_4_1)
                        : (n == 2 ? dwl_lines_2_2 : n == 3 ? dwl_lines_3_2 : dwl_lines_4_2);
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * in->h * in->w * C;
        int8_t *obase = output + b * out->h * out->w * OC;
        for (int32_t c = 0; c < C; c += 2) {
            const int two = c + 1 < C;
            for (int32_t m = 0; m < mult; ++m) {
                dwl_chan ch[2];
                dwl_chan_setup(&ch[0], filter, k, c * mult + m, OC, quant, bias, out_off);
                if (two) {
                    dwl_chan_setup(&ch[1], filter, k, (c + 1) * mult + m, OC, quant, bias, out_off);
                }
                lines(buf, ch, two, img + c, obase + c * mult + m, mult, g, off2, out_off, lo, hi);
            }
        }
    }
    if (lo != -128 || hi != 127) {
        ef_nn_clamp_s8(output, in->n * out->h * out->w * OC, lo, hi);
    }
}
#endif

#if defined(EF_NN_USE_MVE)
/*
 * Helium body (every shift a right shift, no padding across the lines): one output channel at a
 * time over the whole map, its constants in registers (k weights, the bias with in_off * sum(w) of
 * the taps an output reads folded in, so the raw int8 inputs need no offset, m, shift); the lanes
 * are four neighbouring lines (for k x 1 four columns, for 1 x k four rows) and the outputs along
 * them are taken one at a time: per tap one VLDRB.S32 gather of the four lines' input entries
 * straight from the input (no widened copy of the lines), one VMLA by the scalar weight, then
 * VSHR + VQRDMLAH (the TFLite rounding fix-up folded into the multiply) + VRSHL, the offset, the
 * clamp and a VSTRB.32 scatter. At stride 1 along the lines (k <= 5, the input and the output
 * advancing by the same step, so the store is addressed from the gather pointer) the taps slide:
 * each output gathers one new vector, the others stay in registers from the previous outputs
 * (k = 3: 14 instructions per 4 outputs; k = 4, 5 only saturate to int8 and leave a narrower
 * activation to one pass afterwards, their window needing the bounds' registers). The outputs whose
 * taps leave the line (the padding) run over their in-bounds taps only, all lines of an output
 * position in one loop; a last group of fewer than 4 lines is tail-predicated.
 */
typedef struct {
    int32_t len, lines, in_along, in_across, out_len, out_lines, out_along, out_across, s_along, s_across, pad_along,
        pad_across;
} dwl_mgeom;

static dwl_mgeom dwl_mgeom_of(const ef_dw_conv_params *params, const ef_dims *in, const ef_dims *out, int vertical)
{
    const int32_t C = in->c;
    const int32_t OC = out->c;
    if (vertical) {
        return (dwl_mgeom){in->h, in->w, in->w * C, C, out->h, out->w, out->w * OC, OC, params->stride.h,
                           params->stride.w, params->padding.h, params->padding.w};
    }
    return (dwl_mgeom){in->w, in->h, C, in->w * C, out->w, out->h, OC, out->w * OC, params->stride.w,
                       params->stride.h, params->padding.w, params->padding.h};
}

static int dwl_mve_fits(const dwl_mgeom *g, const ef_per_channel_quant *quant, int32_t oc_n)
{
    if (g->pad_across != 0 || (g->out_lines - 1) * g->s_across >= g->lines) {
        return 0;
    }
    for (int32_t c = 0; c < oc_n; ++c) {
        if (quant->shift[c] >= 0) {
            return 0;
        }
    }
    return 1;
}

/* One output channel's run: n outputs, the input / output advancing by sin / sout per output, the
 * taps A bytes apart, lanes at goff / soff from the input / output pointers. */
typedef struct {
    int32_t w[EF_DWL_KMAX];
    int32_t b, m, sh, out_off, lo, hi;
    int32_t A, sin, sout;
} dwl_mk;

static inline __attribute__((always_inline)) int32x4_t dwl_mve_rq(int32x4_t acc, const dwl_mk *c, int32x4_t lo,
                                                                 int32x4_t hi)
{
    acc = vqrdmlahq_n_s32(vshrq_n_s32(acc, 31), acc, c->m);
    acc = vrshlq_n_s32(acc, c->sh);
    acc = vaddq_n_s32(acc, c->out_off);
    return vminq_s32(vmaxq_s32(acc, lo), hi);
}

/* Any tap count kk (weights w), predicated lanes p: the borders and a last partial line group. */
static __attribute__((noinline)) void dwl_mve_any(const int8_t *src, int8_t *dst, int32_t n, int32_t sin,
                                                  int32_t sout, const int32_t *w, int32_t kk, int32_t b,
                                                  const dwl_mk *c, uint32x4_t goff, uint32x4_t soff,
                                                  mve_pred16_t p)
{
    const int32x4_t lo = vdupq_n_s32(c->lo);
    const int32x4_t hi = vdupq_n_s32(c->hi);
    for (int32_t i = 0; i < n; ++i) {
        int32x4_t acc = vdupq_n_s32(b);
        for (int32_t t = 0; t < kk; ++t) {
            acc = vmlaq_n_s32(acc, vldrbq_gather_offset_z_s32(src + t * c->A, goff, p), w[t]);
        }
        vstrbq_scatter_offset_p_s32(dst, soff, dwl_mve_rq(acc, c, lo, hi), p);
        src += sin;
        dst += sout;
    }
}

/* ng line groups (gin / gout apart) of n outputs each, k fixed (the weights c->w, all in-bounds):
 * the interior of the full groups, or one border output position of every full group. */
static inline __attribute__((always_inline)) void dwl_mve_run(const int8_t *src, int8_t *dst, int32_t n, int32_t ng,
                                                              int32_t gin, int32_t gout, const dwl_mk *c,
                                                              uint32x4_t goff, uint32x4_t soff, const int k)
{
    /* the constants in registers (the int8 stores could alias c) */
    const int32x4_t lo = vdupq_n_s32(c->lo);
    const int32x4_t hi = vdupq_n_s32(c->hi);
    int32_t w[EF_DWL_KMAX];
    _Pragma("GCC unroll 8")
    for (int t = 0; t < k; ++t) {
        w[t] = c->w[t];
    }
    const int32_t b = c->b;
    const int32_t m = c->m;
    const int32_t sh = c->sh;
    const int32_t out_off = c->out_off;
    const int32_t A = c->A;
    const int32_t sin = c->sin;
    const int32_t sout = c->sout;
    if ((k == 2 || k == 3) && sin == A && sin == sout && gin == gout) {
        /* stride 1 along the lines, one pointer q at the newest tap's entries and the store addressed
         * from it: the taps slide, so each output gathers one new vector (the others are the
         * previous outputs' later taps; unrolled by k so that they stay in their registers) */
        const uint32x4_t so = vaddq_n_u32(soff, (uint32_t)((uintptr_t)dst - (uintptr_t)src - (uint32_t)((k - 1) * A)));
#define DWL_MVE_OUT(acc)                                                                 \
    do {                                                                                 \
        acc = vaddq_n_s32(acc, b);                                                       \
        acc = vrshlq_n_s32(vqrdmlahq_n_s32(vshrq_n_s32(acc, 31), acc, m), sh);           \
        acc = vminq_s32(vmaxq_s32(vaddq_n_s32(acc, out_off), lo), hi);                   \
        vstrbq_scatter_offset_s32((int8_t *)(uintptr_t)q, so, acc);                      \
        q += sin;                                                                        \
    } while (0)
        for (int32_t l = 0; l < ng; ++l) {
            const int8_t *q = src + l * gin + (k - 1) * A;
            if (k == 3) {
                int32x4_t xa = vldrbq_gather_offset_s32(q - 2 * A, goff);
                int32x4_t xb = vldrbq_gather_offset_s32(q - A, goff);
                int32x4_t xc;
                int32x4_t acc;
                int32_t i;
                for (int32_t j = n / 3; j > 0; --j) {
                    xc = vldrbq_gather_offset_s32(q, goff);
                    acc = vmlaq_n_s32(vmlaq_n_s32(vmulq_n_s32(xa, w[0]), xb, w[1]), xc, w[2]);
                    DWL_MVE_OUT(acc);
                    xa = vldrbq_gather_offset_s32(q, goff);
                    acc = vmlaq_n_s32(vmlaq_n_s32(vmulq_n_s32(xb, w[0]), xc, w[1]), xa, w[2]);
                    DWL_MVE_OUT(acc);
                    xb = vldrbq_gather_offset_s32(q, goff);
                    acc = vmlaq_n_s32(vmlaq_n_s32(vmulq_n_s32(xc, w[0]), xa, w[1]), xb, w[2]);
                    DWL_MVE_OUT(acc);
                }
                for (i = n / 3 * 3; i < n; ++i) {
                    xc = vldrbq_gather_offset_s32(q, goff);
                    acc = vmlaq_n_s32(vmlaq_n_s32(vmulq_n_s32(xa, w[0]), xb, w[1]), xc, w[2]);
                    DWL_MVE_OUT(acc);
                    xa = xb;
                    xb = xc;
                }
            } else {
                int32x4_t xa = vldrbq_gather_offset_s32(q - A, goff);
                int32x4_t xb;
                int32x4_t acc;
                for (int32_t j = n / 2; j > 0; --j) {
                    xb = vldrbq_gather_offset_s32(q, goff);
                    acc = vmlaq_n_s32(vmulq_n_s32(xa, w[0]), xb, w[1]);
                    DWL_MVE_OUT(acc);
                    xa = vldrbq_gather_offset_s32(q, goff);
                    acc = vmlaq_n_s32(vmulq_n_s32(xb, w[0]), xa, w[1]);
                    DWL_MVE_OUT(acc);
                }
                if (n & 1) {
                    xb = vldrbq_gather_offset_s32(q, goff);
                    acc = vmlaq_n_s32(vmulq_n_s32(xa, w[0]), xb, w[1]);
                    DWL_MVE_OUT(acc);
                }
            }
        }
#undef DWL_MVE_OUT
        return;
    }
    if ((k == 4 || k == 5) && sin == A && sin == sout && gin == gout) {
        /* the same sliding taps for k = 4, 5: the window takes the registers of the activation
         * bounds, so the outputs are only saturated to int8 here (VQSHL #24, VSHR #24) and a
         * narrower activation is one dwl_mve_clamp pass over the layer's output afterwards */
        const uint32x4_t so = vaddq_n_u32(soff, (uint32_t)((uintptr_t)dst - (uintptr_t)src - (uint32_t)((k - 1) * A)));
#define DWL_MVE_SAT(acc)                                                                 \
    do {                                                                                 \
        acc = vaddq_n_s32(acc, b);                                                       \
        acc = vrshlq_n_s32(vqrdmlahq_n_s32(vshrq_n_s32(acc, 31), acc, m), sh);           \
        acc = vshrq_n_s32(vqshlq_n_s32(vaddq_n_s32(acc, out_off), 24), 24);              \
        vstrbq_scatter_offset_s32((int8_t *)(uintptr_t)q, so, acc);                      \
        q += sin;                                                                        \
    } while (0)
#define DWL_T4(a, b_, c, d)                                                                              \
    do {                                                                                                 \
        d = vldrbq_gather_offset_s32(q, goff);                                                           \
        acc = vmlaq_n_s32(vmlaq_n_s32(vmlaq_n_s32(vmulq_n_s32(a, w[0]), b_, w[1]), c, w[2]), d, w[3]); \
        DWL_MVE_SAT(acc);                                                                                \
    } while (0)
#define DWL_T5(a, b_, c, d, e)                                                                          \
    do {                                                                                                \
        e = vldrbq_gather_offset_s32(q, goff);                                                          \
        acc = vmlaq_n_s32(vmlaq_n_s32(vmlaq_n_s32(vmlaq_n_s32(vmulq_n_s32(a, w[0]), b_, w[1]), c, w[2]), \
                                      d, w[3]),                                                         \
                          e, w[4]);                                                                     \
        DWL_MVE_SAT(acc);                                                                               \
    } while (0)
        for (int32_t l = 0; l < ng; ++l) {
            const int8_t *q = src + l * gin + (k - 1) * A;
            int32x4_t xa = vldrbq_gather_offset_s32(q - (k - 1) * A, goff);
            int32x4_t xb = vldrbq_gather_offset_s32(q - (k - 2) * A, goff);
            int32x4_t xc = vldrbq_gather_offset_s32(q - (k - 3) * A, goff);
            int32x4_t xd;
            int32x4_t xe;
            int32x4_t acc;
            if (k == 4) {
                for (int32_t j = n / 4; j > 0; --j) {
                    DWL_T4(xa, xb, xc, xd);
                    DWL_T4(xb, xc, xd, xa);
                    DWL_T4(xc, xd, xa, xb);
                    DWL_T4(xd, xa, xb, xc);
                }
                for (int32_t i = n / 4 * 4; i < n; ++i) {
                    DWL_T4(xa, xb, xc, xd);
                    xa = xb;
                    xb = xc;
                    xc = xd;
                }
            } else {
                xd = vldrbq_gather_offset_s32(q - A, goff);
                for (int32_t j = n / 5; j > 0; --j) {
                    DWL_T5(xa, xb, xc, xd, xe);
                    DWL_T5(xb, xc, xd, xe, xa);
                    DWL_T5(xc, xd, xe, xa, xb);
                    DWL_T5(xd, xe, xa, xb, xc);
                    DWL_T5(xe, xa, xb, xc, xd);
                }
                for (int32_t i = n / 5 * 5; i < n; ++i) {
                    DWL_T5(xa, xb, xc, xd, xe);
                    xa = xb;
                    xb = xc;
                    xc = xd;
                    xd = xe;
                }
            }
        }
#undef DWL_T5
#undef DWL_T4
#undef DWL_MVE_SAT
        return;
    }
    if (k <= 3 && sin == sout && gin == gout) { /* one pointer: per-tap lane offsets, the store from it */
        uint32x4_t go[EF_DWL_KMAX];
        _Pragma("GCC unroll 8")
        for (int t = 0; t < k; ++t) {
            go[t] = vaddq_n_u32(goff, (uint32_t)(t * A));
        }
        const uint32x4_t so = vaddq_n_u32(soff, (uint32_t)((uintptr_t)dst - (uintptr_t)src));
        for (int32_t l = 0; l < ng; ++l) {
            const int8_t *p = src + l * gin;
            for (int32_t i = 0; i < n; ++i) {
                int32x4_t acc = vmulq_n_s32(vldrbq_gather_offset_s32(p, go[0]), w[0]);
                _Pragma("GCC unroll 8")
                for (int t = 1; t < k; ++t) {
                    acc = vmlaq_n_s32(acc, vldrbq_gather_offset_s32(p, go[t]), w[t]);
                }
                acc = vaddq_n_s32(acc, b);
                acc = vrshlq_n_s32(vqrdmlahq_n_s32(vshrq_n_s32(acc, 31), acc, m), sh);
                acc = vminq_s32(vmaxq_s32(vaddq_n_s32(acc, out_off), lo), hi);
                vstrbq_scatter_offset_s32((int8_t *)(uintptr_t)p, so, acc);
                p += sin;
            }
        }
        return;
    }
    for (int32_t l = 0; l < ng; ++l) {
        const int8_t *p = src + l * gin;
        int8_t *d = dst + l * gout;
        for (int32_t i = 0; i < n; ++i) {
            int32x4_t acc = vmulq_n_s32(vldrbq_gather_offset_s32(p, goff), w[0]);
            _Pragma("GCC unroll 8")
            for (int t = 1; t < k; ++t) {
                acc = vmlaq_n_s32(acc, vldrbq_gather_offset_s32(p + t * A, goff), w[t]);
            }
            acc = vaddq_n_s32(acc, b);
            acc = vrshlq_n_s32(vqrdmlahq_n_s32(vshrq_n_s32(acc, 31), acc, m), sh);
            acc = vminq_s32(vmaxq_s32(vaddq_n_s32(acc, out_off), lo), hi);
            vstrbq_scatter_offset_s32(d, soff, acc);
            p += sin;
            d += sout;
        }
    }
}

typedef void (*dwl_mve_run_fn)(const int8_t *, int8_t *, int32_t, int32_t, int32_t, int32_t, const dwl_mk *,
                               uint32x4_t, uint32x4_t);

#define DWL_MVE_FN(k_)                                                                                          \
    static void dwl_mve_run_##k_(const int8_t *src, int8_t *dst, int32_t n, int32_t ng, int32_t gin,            \
                                 int32_t gout, const dwl_mk *c, uint32x4_t goff, uint32x4_t soff)               \
    {                                                                                                           \
        dwl_mve_run(src, dst, n, ng, gin, gout, c, goff, soff, (k_));                                           \
    }
DWL_MVE_FN(1)
DWL_MVE_FN(2)
DWL_MVE_FN(3)
DWL_MVE_FN(4)
DWL_MVE_FN(5)
DWL_MVE_FN(6)
DWL_MVE_FN(7)
#undef DWL_MVE_FN

static const dwl_mve_run_fn dwl_mve_runs[EF_DWL_KMAX + 1] = {0, dwl_mve_run_1, dwl_mve_run_2, dwl_mve_run_3,
                                                             dwl_mve_run_4, dwl_mve_run_5, dwl_mve_run_6,
                                                             dwl_mve_run_7};

/* The activation bounds over n outputs (after the k = 4, 5 sliding runs, which only saturate). */
static void dwl_mve_clamp(int8_t *y, int32_t n, int32_t lo, int32_t hi)
{
    const int8x16_t vlo = vdupq_n_s8((int8_t)lo);
    const int8x16_t vhi = vdupq_n_s8((int8_t)hi);
    for (int32_t i = 0; i < n; i += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - i));
        vstrbq_p_s8(y + i, vminq_s8(vmaxq_s8(vldrbq_z_s8(y + i, p), vlo), vhi), p);
    }
}

static void dwl_mve(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                    const int8_t *input, const int8_t *filter, int32_t k, const int32_t *bias, const ef_dims *out,
                    int8_t *output, const dwl_mgeom *g)
{
    const dwl_mgeom G = *g;
    const int32_t C = in->c;
    const int32_t OC = out->c;
    const int32_t mult = params->ch_mult;
    const int32_t in_off = params->input_offset;
    const int32_t gin = G.s_across * G.in_across; /* input step between neighbouring lines */
    const uint32x4_t goff = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)gin);
    const uint32x4_t soff = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)G.out_across);
    const int32_t S = G.s_along;
    /* outputs [o_lo, o_hi) read only taps inside the line */
    int32_t o_lo = (G.pad_along + S - 1) / S;
    int32_t o_hi = G.len - k + G.pad_along >= 0 ? (G.len - k + G.pad_along) / S + 1 : 0;
    o_lo = o_lo < G.out_len ? o_lo : G.out_len;
    o_hi = o_hi < G.out_len ? o_hi : G.out_len;
    o_hi = o_hi > o_lo ? o_hi : o_lo;
    const int32_t full = G.out_lines / 4;
    const mve_pred16_t all = vctp32q(4);
    const mve_pred16_t part = vctp32q((uint32_t)(G.out_lines - 4 * full));
    dwl_mk c;
    c.out_off = params->output_offset;
    c.lo = params->activation.min;
    c.hi = params->activation.max;
    c.A = G.in_along;
    c.sin = S * G.in_along;
    c.sout = G.out_along;
    for (int32_t bt = 0; bt < in->n; ++bt) {
        const int8_t *img = input + bt * in->h * in->w * C;
        int8_t *obase = output + bt * out->h * out->w * OC;
        for (int32_t oc = 0; oc < OC; ++oc) {
            const int8_t *src = img + oc / mult;
            int8_t *dst = obase + oc;
            int32_t sw = 0;
            for (int32_t t = 0; t < EF_DWL_KMAX; ++t) {
                c.w[t] = t < k ? filter[t * OC + oc] : 0;
                sw += c.w[t];
            }
            const int32_t b0 = bias != 0 ? bias[oc] : 0;
            c.b = b0 + in_off * sw;
            c.m = quant->multiplier[oc];
            c.sh = quant->shift[oc];
            /* the border outputs (all output positions when the last group is partial) */
            for (int32_t o = 0; o < G.out_len; ++o) {
                if (o == o_lo && part == 0) {
                    o = o_hi; /* the interior: below */
                    if (o >= G.out_len) {
                        break;
                    }
                }
                const int32_t e = o * S - G.pad_along; /* the output's first tap's entry */
                const int32_t t0 = e < 0 ? -e : 0;
                const int32_t t1 = e + k > G.len ? G.len - e : k;
                int32_t sb = 0;
                for (int32_t t = t0; t < t1; ++t) {
                    sb += c.w[t];
                }
                const int32_t bo = b0 + in_off * sb;
                const int8_t *s0 = src + (e + t0) * G.in_along;
                int8_t *d0 = dst + o * G.out_along;
                if ((o < o_lo || o >= o_hi) && full > 0 && t1 > t0) { /* every full group's output o */
                    dwl_mk cb = c;
                    for (int32_t t = t0; t < t1; ++t) {
                        cb.w[t - t0] = c.w[t];
                    }
                    cb.b = bo;
                    cb.sin = 4 * gin;
                    cb.sout = 4 * G.out_across;
                    dwl_mve_runs[t1 - t0](s0, d0, full, 1, 0, 0, &cb, goff, soff);
                } else if (full > 0 && (o < o_lo || o >= o_hi)) {
                    dwl_mve_any(s0, d0, full, 4 * gin, 4 * G.out_across, &c.w[t0], 0, bo, &c, goff, soff, all);
                }
                if (part != 0) { /* the last lines */
                    dwl_mve_any(s0 + full * 4 * gin, d0 + full * 4 * G.out_across, 1, 0, 0, &c.w[t0], t1 - t0, bo,
                                &c, goff, soff, part);
                }
            }
            if (o_hi > o_lo && full > 0) {
                dwl_mve_runs[k](src + (o_lo * S - G.pad_along) * G.in_along, dst + o_lo * G.out_along, o_hi - o_lo,
                                full, 4 * gin, 4 * G.out_across, &c, goff, soff);
            }
        }
    }
    if (k >= 4 && (c.lo != -128 || c.hi != 127)) { /* a 4- or 5-tap run may have saturated only */
        dwl_mve_clamp(output, in->n * out->h * out->w * OC, c.lo, c.hi);
    }
}
#endif

ef_status ef_depthwise_conv_line_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
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
    const int vertical = filter_dims->w == 1;
    const int32_t k = vertical ? filter_dims->h : filter_dims->w;
    if ((filter_dims->h != 1 && filter_dims->w != 1) || k < 2 || k > EF_DWL_KMAX) {
        return EF_ERR_UNSUPPORTED;
    }
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
#if defined(EF_NN_USE_DSP)
    const dwl_geom g = dwl_geom_of(params, in, out, vertical);
    if (dwl_fits(&g)) {
        dwl_dsp(params, quant, in, input, filter, k, bias, out, output, &g);
        return EF_OK;
    }
#endif
#if defined(EF_NN_USE_MVE)
    const dwl_mgeom mg = dwl_mgeom_of(params, in, out, vertical);
    if (dwl_mve_fits(&mg, quant, out->c)) {
        dwl_mve(params, quant, in, input, filter, k, bias, out, output, &mg);
        return EF_OK;
    }
#endif
    /* portable: tap t at (t, 0) (k x 1) or (0, t) (1 x k) */
    const int32_t C = in->c;
    const int32_t OC = out->c;
    const int32_t mult = params->ch_mult;
    const int32_t in_off = params->input_offset;
    const int32_t ty = vertical ? 1 : 0;
    const int32_t tx = vertical ? 0 : 1;
    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * in->h * in->w * C;
        for (int32_t oy = 0; oy < out->h; ++oy) {
            for (int32_t ox = 0; ox < out->w; ++ox) {
                for (int32_t oc = 0; oc < OC; ++oc) {
                    int32_t acc = bias != 0 ? bias[oc] : 0;
                    for (int32_t t = 0; t < k; ++t) {
                        const int32_t iy = oy * params->stride.h - params->padding.h + t * ty;
                        const int32_t ix = ox * params->stride.w - params->padding.w + t * tx;
                        if (iy >= 0 && iy < in->h && ix >= 0 && ix < in->w) {
                            acc += (img[(iy * in->w + ix) * C + oc / mult] + in_off) * filter[t * OC + oc];
                        }
                    }
                    acc = ef_requantize(acc, quant->multiplier[oc], quant->shift[oc]) + params->output_offset;
                    dst[oc] = ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
                }
                dst += OC;
            }
        }
    }
    return EF_OK;
}
