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
 * Helium body (stride 1 along the line, every shift a right shift): one input channel at a time;
 * each input line it reads is gathered once (VLDRB.S16 at the line's input step, the input
 * offset added, VSTRH) into an int16 line between zero entries for the padding, then for each of
 * its output channels four outputs per step: per tap one widening VLDRH.S32 of the line at the
 * tap's entry and one VMLA by the scalar weight (the first a VMLAS with the bias), requantized with
 * VSHR + VQRDMLAH (the TFLite rounding fix-up folded into the multiply) + VRSHL, the output offset
 * and the clamp, and scattered (VSTRB.32 at the output step); the last step tail-predicated.
 * k = 3: 13 instructions per 12 MACs plus the gather (3 per 8 entries).
 */
#define DWL_MW 136 /* int16 entries per line */

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

static int dwl_mve_fits(const dwl_mgeom *g, int32_t k, const ef_per_channel_quant *quant, int32_t oc_n)
{
    if (g->s_along != 1 || g->pad_along + g->len > DWL_MW || ((g->out_len + 3) & ~3) + k > DWL_MW ||
        g->in_along > 9000) {
        return 0;
    }
    for (int32_t c = 0; c < oc_n; ++c) {
        if (quant->shift[c] >= 0) {
            return 0;
        }
    }
    return 1;
}

/* One output channel's constants: its k weights, bias, multiplier and shift. */
typedef struct {
    int32_t w[EF_DWL_KMAX];
    int32_t bias;
    int32_t m;
    int32_t sh;
} dwl_mc;

#define DWL_MM 4 /* output channels of one input channel per line pass */

/* Four outputs from entries x[0 .. k + 2]: the taps (w0: the first weight in every lane, w: all k,
 * b: the bias), the requantization (m, sh), the offset and clamp. */
static inline __attribute__((always_inline)) int32x4_t dwl_mve_quad(const int16_t *x, int32x4_t w0, const int32_t *w,
                                                                   int32_t b, int32_t m, int32_t sh, const int k,
                                                                   int32_t out_off, int32x4_t lo, int32x4_t hi)
{
    int32x4_t acc = vmlasq_n_s32(vldrhq_s32(x), w0, b);
    _Pragma("GCC unroll 8")
    for (int t = 1; t < k; ++t) {
        acc = vmlaq_n_s32(acc, vldrhq_s32(x + t), w[t]);
    }
    acc = vqrdmlahq_n_s32(vshrq_n_s32(acc, 31), acc, m);
    acc = vrshlq_n_s32(acc, sh);
    acc = vaddq_n_s32(acc, out_off);
    return vminq_s32(vmaxq_s32(acc, lo), hi);
}

/* The output lines of input channel ic's output channels ic * mult + m0 .. + nm - 1 (constants
 * q), k fixed: each input line gathered once for them. */
static inline __attribute__((always_inline)) void dwl_mve_lines(int16_t *line, const dwl_mgeom *g, const int8_t *src0,
                                                                int8_t *dst0, const dwl_mc *q, int32_t nm,
                                                                const int k, int16_t in_off, int32_t out_off,
                                                                int32_t act_lo, int32_t act_hi)
{
    const dwl_mgeom G = *g;
    const uint16x8_t goff = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)G.in_along);
    const uint32x4_t soff = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)G.out_along);
    const int32x4_t lo = vdupq_n_s32(act_lo);
    const int32x4_t hi = vdupq_n_s32(act_hi);
    int16_t *lp = line + G.pad_along;
    const int32_t n4 = G.out_len & ~3;
    for (int32_t l = 0; l < G.out_lines; ++l) {
        const int32_t il = l * G.s_across - G.pad_across;
        if (il >= 0 && il < G.lines) {
            const int8_t *src = src0 + il * G.in_across;
            int32_t i = 0;
            for (; i + 8 <= G.len; i += 8) {
                vst1q_s16(lp + i, vaddq_n_s16(vldrbq_gather_offset_s16(src + i * G.in_along, goff), in_off));
            }
            if (i < G.len) {
                const mve_pred16_t p = vctp16q((uint32_t)(G.len - i));
                vstrhq_p_s16(lp + i, vaddq_n_s16(vldrbq_gather_offset_z_s16(src + i * G.in_along, goff, p), in_off),
                             p);
            }
        } else {
            memset(lp, 0, (size_t)G.len * 2);
        }
        for (int32_t j = 0; j < nm; ++j) {
            int8_t *dst = dst0 + l * G.out_across + j;
            /* the constants in registers (the int8 stores could alias q) */
            int32_t w[EF_DWL_KMAX];
            _Pragma("GCC unroll 8")
            for (int t = 0; t < k; ++t) {
                w[t] = q[j].w[t];
            }
            const int32x4_t w0 = vdupq_n_s32(w[0]);
            const int32_t b = q[j].bias;
            const int32_t m = q[j].m;
            const int32_t sh = q[j].sh;
            const int32_t dstep = 4 * G.out_along;
            const int16_t *x = line;
            for (int32_t o = 0; o < n4; o += 4) {
                vstrbq_scatter_offset_s32(dst, soff, dwl_mve_quad(x, w0, w, b, m, sh, k, out_off, lo, hi));
                dst += dstep;
                x += 4;
            }
            if (n4 < G.out_len) {
                const mve_pred16_t p = vctp32q((uint32_t)(G.out_len - n4));
                vstrbq_scatter_offset_p_s32(dst, soff, dwl_mve_quad(x, w0, w, b, m, sh, k, out_off, lo, hi), p);
            }
        }
    }
}

#define DWL_MVE_FN(k_)                                                                                         \
    static void dwl_mve_lines_##k_(int16_t *line, const dwl_mgeom *g, const int8_t *src0, int8_t *dst0,        \
                                   const dwl_mc *q, int32_t nm, int16_t in_off, int32_t out_off, int32_t lo,   \
                                   int32_t hi)                                                                 \
    {                                                                                                          \
        dwl_mve_lines(line, g, src0, dst0, q, nm, (k_), in_off, out_off, lo, hi);                             \
    }
DWL_MVE_FN(2)
DWL_MVE_FN(3)
DWL_MVE_FN(4)
DWL_MVE_FN(5)
DWL_MVE_FN(6)
DWL_MVE_FN(7)
#undef DWL_MVE_FN

static void dwl_mve(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                    const int8_t *input, const int8_t *filter, int32_t k, const int32_t *bias, const ef_dims *out,
                    int8_t *output, const dwl_mgeom *g)
{
    int16_t line[DWL_MW] __attribute__((aligned(8)));
    memset(line, 0, sizeof line);
    const int32_t C = in->c;
    const int32_t OC = out->c;
    const int32_t mult = params->ch_mult;
    void (*const lines)(int16_t *, const dwl_mgeom *, const int8_t *, int8_t *, const dwl_mc *, int32_t, int16_t,
                        int32_t, int32_t, int32_t) =
        k == 2 ? dwl_mve_lines_2 : k == 3 ? dwl_mve_lines_3 : k == 4 ? dwl_mve_lines_4 :
        k == 5 ? dwl_mve_lines_5 : k == 6 ? dwl_mve_lines_6 : dwl_mve_lines_7;
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * in->h * in->w * C;
        int8_t *obase = output + b * out->h * out->w * OC;
        for (int32_t ic = 0; ic < C; ++ic) {
            for (int32_t m0 = 0; m0 < mult; m0 += DWL_MM) {
                const int32_t nm = mult - m0 < DWL_MM ? mult - m0 : DWL_MM;
                dwl_mc q[DWL_MM];
                for (int32_t j = 0; j < nm; ++j) {
                    const int32_t oc = ic * mult + m0 + j;
                    for (int32_t t = 0; t < EF_DWL_KMAX; ++t) {
                        q[j].w[t] = t < k ? filter[t * OC + oc] : 0;
                    }
                    q[j].bias = bias != 0 ? bias[oc] : 0;
                    q[j].m = quant->multiplier[oc];
                    q[j].sh = quant->shift[oc];
                }
                lines(line, g, img + ic, obase + ic * mult + m0, q, nm, (int16_t)params->input_offset,
                      params->output_offset, params->activation.min, params->activation.max);
            }
        }
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
    if (dwl_mve_fits(&mg, k, quant, out->c)) {
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
