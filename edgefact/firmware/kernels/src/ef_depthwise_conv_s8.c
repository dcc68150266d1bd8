/* DEPTHWISE_CONV_2D, generic: any kernel size, stride, padding and depth multiplier; MVE, DSP and
 * portable bodies (the fast 3x3 case is ef_depthwise_conv_3x3_s8, which the generator calls). */
#include "internal/ef_dw_check.h"
#if defined(EF_NN_USE_DSP)
#include "internal/ef_conv_2px.h" /* ef_nn_clamp_s8 */
#endif

#if defined(EF_NN_USE_MVE)
/* A channel tail's bias, multipliers and shifts as zero-padded copies in pb / pm / ps, so VLD2
 * reads 8 of each; the pointers are redirected to them. */
static inline __attribute__((always_inline)) void dw_pad8(int32_t cnt, const int32_t **bias, const int32_t **qm,
                                                         const int32_t **qs, int32_t *pb, int32_t *pm, int32_t *ps)
{
    for (int32_t k = 0; k < 8; ++k) {
        pb[k] = k < cnt && *bias != 0 ? (*bias)[k] : 0;
        pm[k] = k < cnt ? (*qm)[k] : 0;
        ps[k] = k < cnt ? (*qs)[k] : 0;
    }
    *bias = pb;
    *qm = pm;
    *qs = ps;
}

/* Requantize, offset, clamp and store 8 lanes (even / odd accumulators); a channel tail (!full)
 * stores the lanes of predicate p only. */
static inline __attribute__((always_inline)) void dw_rq_store8(int32x4_t ae, int32x4_t ao, int32x4x2_t vm,
                                                              int32x4x2_t vs, int32_t out_off, int32_t lo,
                                                              int32_t hi, int8_t *dst, mve_pred16_t p, const int full)
{
    ae = ef_requantize_x4(ae, vm.val[0], vs.val[0]);
    ao = ef_requantize_x4(ao, vm.val[1], vs.val[1]);
    ae = vminq_s32(vmaxq_s32(vaddq_n_s32(ae, out_off), vdupq_n_s32(lo)), vdupq_n_s32(hi));
    ao = vminq_s32(vmaxq_s32(vaddq_n_s32(ao, out_off), vdupq_n_s32(lo)), vdupq_n_s32(hi));
    int16x8_t r = vdupq_n_s16(0);
    r = vmovnbq_s32(r, ae);
    r = vmovntq_s32(r, ao);
    if (full) {
        vstrbq_s16(dst, r);
    } else {
        vstrbq_p_s16(dst, r, p);
    }
}

/*
 * Helium body: 8 output channels per block as int16 lanes. Per in-bounds tap, the 8 input values
 * (consecutive channels with multiplier 1, else a VLDRB gather of channel oc / mult) plus the
 * offset times the 8 filter values, VMULLB / VMULLT into even / odd int32 accumulators (|x + off|
 * <= 255, |w| <= 128: the products are exact). The block's biases and parameters are read
 * de-interleaved (VLD2), requantized 4 lanes at a time and re-interleaved by VMOVNB / VMOVNT into
 * one narrowing store. A channel tail goes through zero-padded copies of its parameters.
 */
static inline __attribute__((always_inline)) void dw_block(const ef_dw_conv_params *params, const int8_t *px,
                                                          int32_t in_c, const int8_t *pw, int32_t out_c,
                                                          int32_t rows, int32_t cols, int32_t row_step_x,
                                                          int32_t row_step_w, uint16x8_t idx, int32_t mult,
                                                          const int32_t *bias, const int32_t *qm, const int32_t *qs,
                                                          int8_t *dst, int32_t cnt, const int full, const int gather)
{
    const mve_pred16_t p = vctp16q((uint32_t)cnt);
    const int16_t off = (int16_t)params->input_offset;
    (void)mult;
    int32x4_t ae = vdupq_n_s32(0);
    int32x4_t ao = vdupq_n_s32(0);
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *x = px + y * row_step_x;
        const int8_t *w = pw + y * row_step_w;
        for (int32_t t = 0; t < cols; ++t) {
            int16x8_t vx;
            if (!gather) {
                vx = full ? vldrbq_s16(x) : vldrbq_z_s16(x, p);
            } else {
                vx = full ? vldrbq_gather_offset_s16(x, idx) : vldrbq_gather_offset_z_s16(x, idx, p);
            }
            vx = vaddq_n_s16(vx, off);
            const int16x8_t vw = full ? vldrbq_s16(w) : vldrbq_z_s16(w, p);
            ae = vaddq_s32(ae, vmullbq_int_s16(vx, vw));
            ao = vaddq_s32(ao, vmulltq_int_s16(vx, vw));
            x += in_c;
            w += out_c;
        }
    }
    int32_t pb[8];
    int32_t pm[8];
    int32_t ps[8];
    if (!full) {
        dw_pad8(cnt, &bias, &qm, &qs, pb, pm, ps);
    }
    if (bias != 0) {
        const int32x4x2_t vb = vld2q_s32(bias);
        ae = vaddq_s32(ae, vb.val[0]);
        ao = vaddq_s32(ao, vb.val[1]);
    }
    dw_rq_store8(ae, ao, vld2q_s32(qm), vld2q_s32(qs), params->output_offset, params->activation.min,
                 params->activation.max, dst, p, full);
}

/*
 * Helium body for depth multiplier 1 over a list of taps (k x 1 / 1 x k, 5x5, dilated filters):
 * the layer's taps whose filter values are not all zero over the channels (a dilated filter's
 * zero-inserted taps drop out, exactly: they add nothing) as (input offset, filter offset) pairs
 * from the pixel's window origin, listed once per call; a border pixel filters that list to its
 * in-bounds taps once for all its channel blocks. Per tap and 8 channels: two widening loads, one
 * VADD of the offset, VMULLB / VMULLT and two VADD; the accumulators start at the bias.
 */
#define EF_DW_MVE_TAPS 32 /* listed taps (3 x 128 B + 2 x 128 B of stack) */

static inline __attribute__((always_inline)) void dw_tap_block(const int8_t *px, const int8_t *pw,
                                                              const int32_t *taps, const int32_t *tend, int16_t off,
                                                              const int32_t *bias, const int32_t *qm,
                                                              const int32_t *qs, int32_t out_off, int32_t lo,
                                                              int32_t hi, int8_t *dst, int32_t cnt, const int full)
{
    const mve_pred16_t p = vctp16q((uint32_t)cnt);
    int32_t pb[8];
    int32_t pm[8];
    int32_t ps[8];
    if (!full) {
        dw_pad8(cnt, &bias, &qm, &qs, pb, pm, ps);
    }
    int32x4_t ae = vdupq_n_s32(0);
    int32x4_t ao = vdupq_n_s32(0);
    if (bias != 0) {
        const int32x4x2_t vb = vld2q_s32(bias);
        ae = vb.val[0];
        ao = vb.val[1];
    }
    if (full) {
        /* GCC's allocation of this loop reloads two spilled values per tap (15 instructions): 11 here;
         * the widening loads need low base registers ("l") */
        const int32_t *tp = taps;
        int16x8_t vx;
        int16x8_t vw;
        int32x4_t t0;
        int32x4_t t1;
        uint32_t a;
        uint32_t b;
        __asm__ volatile("wls    lr, %[n], 2f\n\t"
                         "1:\n\t"
                         "ldrd   %[a], %[b], [%[tp]], #8\n\t"
                         "add    %[a], %[a], %[px]\n\t"
                         "add    %[b], %[b], %[pw]\n\t"
                         "vldrb.s16 %q[vx], [%[a]]\n\t"
                         "vldrb.s16 %q[vw], [%[b]]\n\t"
                         "vadd.i16 %q[vx], %q[vx], %[off]\n\t"
                         "vmullb.s16 %q[t0], %q[vx], %q[vw]\n\t"
                         "vmullt.s16 %q[t1], %q[vx], %q[vw]\n\t"
                         "vadd.i32 %q[ae], %q[ae], %q[t0]\n\t"
                         "vadd.i32 %q[ao], %q[ao], %q[t1]\n\t"
                         "le     lr, 1b\n\t"
                         "2:\n\t"
                         : [ae] "+w"(ae), [ao] "+w"(ao), [vx] "=&w"(vx), [vw] "=&w"(vw), [t0] "=&w"(t0),
                           [t1] "=&w"(t1), [a] "=&l"(a), [b] "=&l"(b), [tp] "+&r"(tp)
                         : [n] "r"((int32_t)(tend - taps) / 2), [px] "r"(px), [pw] "r"(pw), [off] "r"((int32_t)off)
                         : "lr", "memory");
        tend = taps; /* done */
    }
    for (const int32_t *tp = taps; tp != tend; tp += 2) {
        int16x8_t vx = full ? vldrbq_s16(px + tp[0]) : vldrbq_z_s16(px + tp[0], p);
        vx = vaddq_n_s16(vx, off);
        const int16x8_t vw = full ? vldrbq_s16(pw + tp[1]) : vldrbq_z_s16(pw + tp[1], p);
        ae = vaddq_s32(ae, vmullbq_int_s16(vx, vw));
        ao = vaddq_s32(ao, vmulltq_int_s16(vx, vw));
    }
    dw_rq_store8(ae, ao, vld2q_s32(qm), vld2q_s32(qs), out_off, lo, hi, dst, p, full);
}

/* Two interior pixels (px, px + step) of one full 8-channel block: each tap's filter values
 * loaded once for both (17 instructions per tap of 16 MACs), the block's constants once. */
static inline __attribute__((always_inline)) void dw_tap_block2(const int8_t *px, int32_t step, const int8_t *pw,
                                                               const int32_t *taps, int32_t n, int16_t off,
                                                               const int32_t *bias, const int32_t *qm,
                                                               const int32_t *qs, int32_t out_off, int32_t lo,
                                                               int32_t hi, int8_t *dst, int32_t dstep)
{
    int32x4_t ae = vdupq_n_s32(0);
    int32x4_t ao = vdupq_n_s32(0);
    if (bias != 0) {
        const int32x4x2_t vb = vld2q_s32(bias);
        ae = vb.val[0];
        ao = vb.val[1];
    }
    int32x4_t be = ae;
    int32x4_t bo = ao;
    const int32_t *tp = taps;
    int16x8_t vx;
    int16x8_t vw;
    int32x4_t t0;
    uint32_t a;
    uint32_t b;
    __asm__ volatile("wls    lr, %[n], 2f\n\t"
                     "1:\n\t"
                     "ldrd   %[a], %[b], [%[tp]], #8\n\t"
                     "add    %[a], %[a], %[px]\n\t"
                     "add    %[b], %[b], %[pw]\n\t"
                     "vldrb.s16 %q[vw], [%[b]]\n\t"
                     "vldrb.s16 %q[vx], [%[a]]\n\t"
                     "add    %[a], %[a], %[step]\n\t"
                     "vadd.i16 %q[vx], %q[vx], %[off]\n\t"
                     "vmullb.s16 %q[t0], %q[vx], %q[vw]\n\t"
                     "vadd.i32 %q[ae], %q[ae], %q[t0]\n\t"
                     "vmullt.s16 %q[t0], %q[vx], %q[vw]\n\t"
                     "vadd.i32 %q[ao], %q[ao], %q[t0]\n\t"
                     "vldrb.s16 %q[vx], [%[a]]\n\t"
                     "vadd.i16 %q[vx], %q[vx], %[off]\n\t"
                     "vmullb.s16 %q[t0], %q[vx], %q[vw]\n\t"
                     "vadd.i32 %q[be], %q[be], %q[t0]\n\t"
                     "vmullt.s16 %q[t0], %q[vx], %q[vw]\n\t"
                     "vadd.i32 %q[bo], %q[bo], %q[t0]\n\t"
                     "le     lr, 1b\n\t"
                     "2:\n\t"
                     : [ae] "+w"(ae), [ao] "+w"(ao), [be] "+w"(be), [bo] "+w"(bo), [vx] "=&w"(vx), [vw] "=&w"(vw),
                       [t0] "=&w"(t0), [a] "=&l"(a), [b] "=&l"(b), [tp] "+&r"(tp)
                     : [n] "r"(n), [px] "r"(px), [pw] "r"(pw), [off] "r"((int32_t)off), [step] "r"(step)
                     : "lr", "memory");
    const int32x4x2_t vm = vld2q_s32(qm);
    const int32x4x2_t vs = vld2q_s32(qs);
    dw_rq_store8(ae, ao, vm, vs, out_off, lo, hi, dst, 0, 1);
    dw_rq_store8(be, bo, vm, vs, out_off, lo, hi, dst + dstep, 0, 1);
}

/* Multiplier 1 through the tap list; returns 0 (nothing written) when more than EF_DW_MVE_TAPS
 * taps are non-zero. */
static int dw_mve_taps(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                       const int8_t *input, int32_t kh, int32_t kw, const int8_t *filter, const int32_t *bias,
                       const ef_dims *out, int8_t *output)
{
    const int32_t c = out->c;
    const int32_t row = in->w * c;
    int32_t taps[2 * EF_DW_MVE_TAPS]; /* (input offset, filter offset) from the window origin */
    int32_t tkyx[EF_DW_MVE_TAPS];     /* (ky << 16) | kx */
    int32_t nt = 0;
    for (int32_t t = 0; t < kh * kw; ++t) {
        const int8_t *f = filter + t * c;
        int any = 0;
        for (int32_t k = 0; k < c && !any; ++k) {
            any = f[k] != 0;
        }
        if (!any) {
            continue;
        }
        if (nt == EF_DW_MVE_TAPS) {
            return 0;
        }
        taps[2 * nt] = (t / kw) * row + (t % kw) * c;
        taps[2 * nt + 1] = t * c;
        tkyx[nt] = ((t / kw) << 16) | (t % kw);
        ++nt;
    }
    const int16_t off = (int16_t)params->input_offset;
    const int32_t out_off = params->output_offset;
    const int32_t lo = params->activation.min;
    const int32_t hi = params->activation.max;
    const int32_t c8 = c & ~7;
    int32_t btaps[2 * EF_DW_MVE_TAPS];
    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy0 = oy * params->stride.h - params->padding.h;
            const int32_t ky0 = EF_MAX(0, -iy0);
            const int32_t ky1 = EF_MIN(kh, in->h - iy0);
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t ix0 = ox * params->stride.w - params->padding.w;
                const int32_t kx0 = EF_MAX(0, -ix0);
                const int32_t kx1 = EF_MIN(kw, in->w - ix0);
                /* the window origin as an offset: only in-bounds taps are added to it */
                const int32_t base = ((b * in->h + iy0) * in->w + ix0) * c;
                const int32_t *tl = taps;
                const int32_t *te = taps + 2 * nt;
                const int8_t *px = input; /* border: the filtered offsets include the origin */
                if (ky0 != 0 || ky1 != kh || kx0 != 0 || kx1 != kw) {
                    int32_t *bt = btaps;
                    for (int32_t i = 0; i < nt; ++i) {
                        const int32_t ky = tkyx[i] >> 16;
                        const int32_t kx = tkyx[i] & 0xffff;
                        if (ky >= ky0 && ky < ky1 && kx >= kx0 && kx < kx1) {
                            bt[0] = base + taps[2 * i];
                            bt[1] = taps[2 * i + 1];
                            bt += 2;
                        }
                    }
                    tl = btaps;
                    te = bt;
                } else {
                    px = input + base; /* interior: the listed offsets from the origin directly */
                    if (ox + 1 < out->w && ix0 + params->stride.w + kw <= in->w) {
                        /* this and the next pixel inside: full blocks two pixels at a time */
                        const int32_t step = params->stride.w * c;
                        int32_t oc0 = 0;
                        for (; oc0 < c8; oc0 += 8) {
                            dw_tap_block2(px + oc0, step, filter + oc0, taps, nt, off, bias != 0 ? bias + oc0 : 0,
                                          quant->multiplier + oc0, quant->shift + oc0, out_off, lo, hi, dst + oc0, c);
                        }
                        if (oc0 < c) {
                            for (int32_t q = 0; q < 2; ++q) {
                                dw_tap_block(px + q * step + oc0, filter + oc0, tl, te, off,
                                             bias != 0 ? bias + oc0 : 0, quant->multiplier + oc0,
                                             quant->shift + oc0, out_off, lo, hi, dst + q * c + oc0, c - oc0, 0);
                            }
                        }
                        dst += 2 * c;
                        ++ox;
                        continue;
                    }
                }
                int32_t oc0 = 0;
                for (; oc0 < c8; oc0 += 8) {
                    dw_tap_block(px + oc0, filter + oc0, tl, te, off, bias != 0 ? bias + oc0 : 0,
                                 quant->multiplier + oc0, quant->shift + oc0, out_off, lo, hi, dst + oc0, 8, 1);
                }
                if (oc0 < c) {
                    dw_tap_block(px + oc0, filter + oc0, tl, te, off, bias != 0 ? bias + oc0 : 0,
                                 quant->multiplier + oc0, quant->shift + oc0, out_off, lo, hi, dst + oc0, c - oc0, 0);
                }
                dst += c;
            }
        }
    }
    return 1;
}

/* floor(v / mult) by a multiply-high, exact for v * mult < 2^16 (checked by the caller). */
static inline uint16x8_t dw_channel_index(int32_t oc0, uint16_t recip)
{
    return vmulhq_u16(vidupq_n_u16((uint32_t)oc0, 1), vdupq_n_u16(recip));
}
#endif

#if defined(EF_NN_USE_DSP)
/*
 * DSP body (Cortex-M4/M7/M33): 4 output channels per block, one int32 accumulator each, over the
 * in-bounds taps of the output pixel. Per tap one word of 4 filter values (SXTB16 twice: lanes
 * 0/2 and 1/3) and the block's inputs as two halfword pairs with the offset added (SXTAB16):
 * multiplier 1, 4 consecutive input channels (one word); multiplier 2, channels ic, ic + 1 (one
 * halfword ORed onto itself shifted by 8, so bytes 0 and 2 hold them); multiplier % 4 == 0, one
 * input value in both halves; any other, the 4 lanes' inputs (channel (oc0 + j) / mult, the block's
 * first or next input channel) packed by PKHBT with SADD16 of the offset. Then 4 SMLABB /
 * SMLATT. A tap whose 4 filter values are all zero is skipped (exactly: it adds nothing), which
 * removes the zero taps of a dilated filter. Channel tails (out c % 4) take a scalar loop of the
 * same structure.
 */
#define EF_DW_DSP_MULT_1 1
#define EF_DW_DSP_MULT_2 2
#define EF_DW_DSP_MULT_4N 4
#define EF_DW_DSP_MULT_ANY 3

/* The block's inputs as two halfword pairs (lanes 0/2, 1/3) plus the offset; p points at the
 * block's first input channel (oc0 / mult). */
typedef struct {
    int32_t r1, r2, r3; /* input channel of lane j minus that of lane 0 (0 or 1), general multipliers */
} dw_lane_rel;

static inline __attribute__((always_inline)) uint32_t dw_dsp_lanes(const int8_t *p, int32_t kind, uint32_t off2,
                                                                 int32_t in_off, dw_lane_rel rel, uint32_t *x13)
{
    if (kind == EF_DW_DSP_MULT_1) {
        const uint32_t x = ef_read_u32(p);
        *x13 = ef_sxtab16_ror8(off2, x);
        return __sxtab16(off2, x);
    }
    if (kind == EF_DW_DSP_MULT_2) {
        uint16_t h;
        memcpy(&h, p, 2);
        const uint32_t x = __sxtab16(off2, (uint32_t)h | ((uint32_t)h << 8));
        *x13 = x;
        return x;
    }
    if (kind == EF_DW_DSP_MULT_4N) {
        const int32_t v = *p + in_off;
        const uint32_t x = ef_pack_lo((uint32_t)v, (uint32_t)v);
        *x13 = x;
        return x;
    }
    /* any other multiplier: lane j reads input channel (oc0 + j) / mult, p[0] or p[1] (rel) */
    *x13 = __sadd16(ef_pack_lo((uint32_t)(int32_t)p[rel.r1], (uint32_t)(int32_t)p[rel.r3]), off2);
    return __sadd16(ef_pack_lo((uint32_t)(int32_t)p[0], (uint32_t)(int32_t)p[rel.r2]), off2);
}

/* The block's four outputs: per-channel requantization in 5 instructions (ef_rq_chan) when every
 * channel of the block allows it, else ef_requantize out of line. */
static __attribute__((noinline)) void dw_dsp_out_any(const int32_t *acc, const int32_t *qm, const int32_t *qs,
                                                     int32_t out_off, int32_t lo, int32_t hi, int8_t *dst)
{
    for (int32_t j = 0; j < 4; ++j) {
        dst[j] = ef_clamp_to_s8(ef_requantize(acc[j], qm[j], qs[j]) + out_off, lo, hi);
    }
}

static inline __attribute__((always_inline)) void dw_dsp_store4(int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                                                                int fast, const ef_rq_chan *rq, const int32_t *qm,
                                                                const int32_t *qs, int32_t out_off, int32_t lo,
                                                                int32_t hi, int8_t *dst)
{
    if (fast) { /* one SSAT each: a narrower activation is a pass over the output at the end */
        dst[0] = (int8_t)__ssat(ef_rq_chan_apply(a0, rq[0].khi, rq[0].mult, rq[0].e), 8);
        dst[1] = (int8_t)__ssat(ef_rq_chan_apply(a1, rq[1].khi, rq[1].mult, rq[1].e), 8);
        dst[2] = (int8_t)__ssat(ef_rq_chan_apply(a2, rq[2].khi, rq[2].mult, rq[2].e), 8);
        dst[3] = (int8_t)__ssat(ef_rq_chan_apply(a3, rq[3].khi, rq[3].mult, rq[3].e), 8);
    } else {
        const int32_t acc[4] = {a0, a1, a2, a3};
        dw_dsp_out_any(acc, qm, qs, out_off, lo, hi, dst);
    }
}

#define EF_DW_DSP_TAPS 64 /* taps of an interior pixel listed per channel block (2 x 256 B of stack) */

static inline __attribute__((always_inline)) void dw_dsp_body(const ef_dw_conv_params *params,
                                                              const ef_per_channel_quant *quant,
                                                              const ef_dims *in, const int8_t *input,
                                                              int32_t kh, int32_t kw, const int8_t *filter,
                                                              const int32_t *bias, const ef_dims *out,
                                                              int8_t *output, int32_t kind)
{
    const int32_t ic_n = in->c;
    const int32_t oc_n = out->c;
    const int32_t mult = params->ch_mult;
    const int32_t in_off = params->input_offset;
    const uint32_t off2 = ((uint32_t)(uint16_t)in_off << 16) | (uint16_t)in_off;
    const int32_t out_off = params->output_offset;
    const int32_t act_min = params->activation.min;
    const int32_t act_max = params->activation.max;
    const int32_t row = in->w * ic_n;
    const int32_t frow_step = kw * oc_n;
    const int32_t oc4 = oc_n & ~3;
    const int32_t *qm = quant->multiplier;
    const int32_t *qs = quant->shift;
    /* channel blocks outermost: the block's requantization constants and biases stay put */
    for (int32_t oc0 = 0; oc0 < oc4; oc0 += 4) {
        ef_rq_chan rq[4];
        int32_t b4[4];
        int fast = 1;
        for (int32_t j = 0; j < 4; ++j) {
            const int32_t oc = oc0 + j;
            fast = fast && ef_rq_chan_ok(qm[oc], qs[oc]);
            b4[j] = bias != 0 ? bias[oc] : 0;
        }
        for (int32_t j = 0; j < 4; ++j) {
            rq[j] = fast ? ef_rq_chan_of(qm[oc0 + j], qs[oc0 + j], out_off) : (ef_rq_chan){0, 0, 0};
        }
        /* an interior pixel's taps whose 4 filter values are not all zero: input and filter offsets */
        int32_t taps[2 * EF_DW_DSP_TAPS]; /* (input offset, filter offset) pairs */
        int32_t *tend = taps;
        const int listed = kh * kw <= EF_DW_DSP_TAPS;
        for (int32_t t = 0; listed && t < kh * kw; ++t) {
            if (ef_read_u32(filter + t * oc_n + oc0) != 0) {
                tend[0] = (t / kw) * row + (t % kw) * ic_n;
                tend[1] = t * oc_n;
                tend += 2;
            }
        }
        const int8_t *fblk = filter + oc0;
        const int32_t ic_blk = oc0 / mult; /* the block's first input channel */
        const dw_lane_rel rel = {(oc0 + 1) / mult - ic_blk, (oc0 + 2) / mult - ic_blk, (oc0 + 3) / mult - ic_blk};
        const int32_t span_step = params->stride.w * ic_n;
        const int32_t ox_lo = (params->padding.w + params->stride.w - 1) / params->stride.w;
        const int32_t lim = in->w - kw + params->padding.w;
        const int32_t ox_hi = lim >= 0 ? EF_MIN(out->w, lim / params->stride.w + 1) : 0;
        int8_t *dst = output + oc0;
        for (int32_t b = 0; b < in->n; ++b) {
            const int8_t *img = input + b * in->h * row;
            for (int32_t oy = 0; oy < out->h; ++oy) {
                const int32_t iy0 = oy * params->stride.h - params->padding.h;
                const int32_t ky0 = EF_MAX(0, -iy0);
                const int32_t nky_row = EF_MIN(kh, in->h - iy0) - ky0;
                const int row_inside = listed && ky0 == 0 && nky_row == kh;
                for (int32_t ox = 0; ox < out->w; ++ox) {
                    if (row_inside && ox == ox_lo && ox_lo < ox_hi) {
                        /* the row's interior span: every tap inside, the listed taps only */
                        const int8_t *sblk = img + iy0 * row + (ox * params->stride.w - params->padding.w) * ic_n +
                                             ic_blk;
                        for (; kind == EF_DW_DSP_MULT_1 && ox + 1 < ox_hi; ox += 2) {
                            /* two pixels per step: each tap's 4 filter values decoded once */
                            int32_t a0 = b4[0];
                            int32_t a1 = b4[1];
                            int32_t a2 = b4[2];
                            int32_t a3 = b4[3];
                            int32_t c0 = b4[0];
                            int32_t c1 = b4[1];
                            int32_t c2 = b4[2];
                            int32_t c3 = b4[3];
                            for (const int32_t *tp = taps; tp != tend; tp += 2) {
                                const uint32_t w = ef_read_u32(fblk + tp[1]);
                                const uint32_t w02 = __sxtb16(w);
                                const uint32_t w13 = ef_sxtb16_ror8(w);
                                const uint32_t x = ef_read_u32(sblk + tp[0]);
                                const uint32_t y = ef_read_u32(sblk + span_step + tp[0]);
                                const uint32_t x02 = __sxtab16(off2, x);
                                const uint32_t x13 = ef_sxtab16_ror8(off2, x);
                                a0 = __smlabb((int32_t)x02, (int32_t)w02, a0);
                                a2 = __smlatt((int32_t)x02, (int32_t)w02, a2);
                                a1 = __smlabb((int32_t)x13, (int32_t)w13, a1);
                                a3 = __smlatt((int32_t)x13, (int32_t)w13, a3);
                                const uint32_t y02 = __sxtab16(off2, y);
                                const uint32_t y13 = ef_sxtab16_ror8(off2, y);
                                c0 = __smlabb((int32_t)y02, (int32_t)w02, c0);
                                c2 = __smlatt((int32_t)y02, (int32_t)w02, c2);
                                c1 = __smlabb((int32_t)y13, (int32_t)w13, c1);
                                c3 = __smlatt((int32_t)y13, (int32_t)w13, c3);
                            }
                            dw_dsp_store4(a0, a1, a2, a3, fast, rq, qm + oc0, qs + oc0, out_off, act_min, act_max,
                                          dst);
                            dw_dsp_store4(c0, c1, c2, c3, fast, rq, qm + oc0, qs + oc0, out_off, act_min, act_max,
                                          dst + oc_n);
                            dst += 2 * oc_n;
                            sblk += 2 * span_step;
                        }
                        for (; ox < ox_hi; ++ox) {
                            int32_t a0 = b4[0];
                            int32_t a1 = b4[1];
                            int32_t a2 = b4[2];
                            int32_t a3 = b4[3];
                            for (const int32_t *tp = taps; tp != tend; tp += 2) {
                                const uint32_t w = ef_read_u32(fblk + tp[1]);
                                uint32_t x13;
                                const uint32_t x02 = dw_dsp_lanes(sblk + tp[0], kind, off2, in_off, rel, &x13);
                                const uint32_t w02 = __sxtb16(w);
                                const uint32_t w13 = ef_sxtb16_ror8(w);
                                a0 = __smlabb((int32_t)x02, (int32_t)w02, a0);
                                a2 = __smlatt((int32_t)x02, (int32_t)w02, a2);
                                a1 = __smlabb((int32_t)x13, (int32_t)w13, a1);
                                a3 = __smlatt((int32_t)x13, (int32_t)w13, a3);
                            }
                            dw_dsp_store4(a0, a1, a2, a3, fast, rq, qm + oc0, qs + oc0, out_off, act_min, act_max,
                                          dst);
                            dst += oc_n;
                            sblk += span_step;
                        }
                        if (ox == out->w) {
                            break;
                        }
                    }
                    const int32_t ix0 = ox * params->stride.w - params->padding.w;
                    const int32_t kx0 = EF_MAX(0, -ix0);
                    const int32_t nkx = EF_MIN(kw, in->w - ix0) - kx0;
                    int32_t nky = nky_row;
                    const int8_t *srow = img + (iy0 + ky0) * row + (ix0 + kx0) * ic_n;
                    const int8_t *frow = filter + (ky0 * kw + kx0) * oc_n + oc0;
                    int32_t a0 = b4[0];
                    int32_t a1 = b4[1];
                    int32_t a2 = b4[2];
                    int32_t a3 = b4[3];
                    if (listed && nky == kh && nkx == kw) {
                        const int8_t *sblk = srow + ic_blk;
                        for (const int32_t *tp = taps; tp != tend; tp += 2) {
                            const uint32_t w = ef_read_u32(fblk + tp[1]);
                            uint32_t x13;
                            const uint32_t x02 = dw_dsp_lanes(sblk + tp[0], kind, off2, in_off, rel, &x13);
                            const uint32_t w02 = __sxtb16(w);
                            const uint32_t w13 = ef_sxtb16_ror8(w);
                            a0 = __smlabb((int32_t)x02, (int32_t)w02, a0);
                            a2 = __smlatt((int32_t)x02, (int32_t)w02, a2);
                            a1 = __smlabb((int32_t)x13, (int32_t)w13, a1);
                            a3 = __smlatt((int32_t)x13, (int32_t)w13, a3);
                        }
                        nky = 0; /* done: skip the border loop */
                    }
                    for (int32_t ky = 0; ky < nky; ++ky) {
                        const int8_t *src = srow;
                        const int8_t *f = frow;
                        for (int32_t kx = 0; kx < nkx; ++kx) {
                            const uint32_t w = ef_read_u32(f);
                            if (w != 0) {
                                uint32_t x13;
                                const uint32_t x02 = dw_dsp_lanes(src + ic_blk, kind, off2, in_off, rel, &x13);
                                const uint32_t w02 = __sxtb16(w);
                                const uint32_t w13 = ef_sxtb16_ror8(w);
                                a0 = __smlabb((int32_t)x02, (int32_t)w02, a0);
                                a2 = __smlatt((int32_t)x02, (int32_t)w02, a2);
                                a1 = __smlabb((int32_t)x13, (int32_t)w13, a1);
                                a3 = __smlatt((int32_t)x13, (int32_t)w13, a3);
                            }
                            src += ic_n;
                            f += oc_n;
                        }
                        srow += row;
                        frow += frow_step;
                    }
                    dw_dsp_store4(a0, a1, a2, a3, fast, rq, qm + oc0, qs + oc0, out_off, act_min, act_max, dst);
                    dst += oc_n;
                }
            }
        }
    }
    /* channel tail: one channel at a time */
    for (int32_t oc = oc4; oc < oc_n; ++oc) {
        const int32_t ic = oc / mult;
        int8_t *dst = output + oc;
        for (int32_t b = 0; b < in->n; ++b) {
            const int8_t *img = input + b * in->h * row + ic;
            for (int32_t oy = 0; oy < out->h; ++oy) {
                const int32_t iy0 = oy * params->stride.h - params->padding.h;
                const int32_t ky0 = EF_MAX(0, -iy0);
                const int32_t nky = EF_MIN(kh, in->h - iy0) - ky0;
                for (int32_t ox = 0; ox < out->w; ++ox) {
                    const int32_t ix0 = ox * params->stride.w - params->padding.w;
                    const int32_t kx0 = EF_MAX(0, -ix0);
                    const int32_t nkx = EF_MIN(kw, in->w - ix0) - kx0;
                    const int8_t *srow = img + (iy0 + ky0) * row + (ix0 + kx0) * ic_n;
                    const int8_t *frow = filter + (ky0 * kw + kx0) * oc_n + oc;
                    int32_t acc = bias != 0 ? bias[oc] : 0;
                    for (int32_t ky = 0; ky < nky; ++ky) {
                        for (int32_t kx = 0; kx < nkx; ++kx) {
                            acc += (srow[kx * ic_n] + in_off) * frow[kx * oc_n];
                        }
                        srow += row;
                        frow += frow_step;
                    }
                    *dst = ef_clamp_to_s8(ef_requantize(acc, qm[oc], qs[oc]) + out_off, act_min, act_max);
                    dst += oc_n;
                }
            }
        }
    }
}

/* The DSP body, for every multiplier; returns 1 (it ran). */
static int dw_dsp(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                  const int8_t *input, const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                  const ef_dims *out, int8_t *output)
{
    const int32_t mult = params->ch_mult;
    const int32_t kh = filter_dims->h;
    const int32_t kw = filter_dims->w;
    if (mult == 1) {
        dw_dsp_body(params, quant, in, input, kh, kw, filter, bias, out, output, EF_DW_DSP_MULT_1);
    } else if (mult == 2) {
        dw_dsp_body(params, quant, in, input, kh, kw, filter, bias, out, output, EF_DW_DSP_MULT_2);
    } else if (mult % 4 == 0) {
        dw_dsp_body(params, quant, in, input, kh, kw, filter, bias, out, output, EF_DW_DSP_MULT_4N);
    } else {
        dw_dsp_body(params, quant, in, input, kh, kw, filter, bias, out, output, EF_DW_DSP_MULT_ANY);
    }
    if (params->activation.min != -128 || params->activation.max != 127) {
        ef_nn_clamp_s8(output, in->n * out->h * out->w * out->c, params->activation.min, params->activation.max);
    }
    return 1;
}
#endif

ef_status ef_depthwise_conv_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
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
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    const int32_t kh = filter_dims->h;
    const int32_t kw = filter_dims->w;
    const int32_t mult = params->ch_mult;
    const int32_t in_off = params->input_offset;

    int8_t *dst = output;
#if defined(EF_NN_USE_MVE)
    if (mult == 1 && dw_mve_taps(params, quant, in, input, kh, kw, filter, bias, out, output)) {
        return EF_OK;
    }
    if (mult == 1 || (int64_t)out->c * mult < 65536) {
        /* ceil(2^16 / mult): exact floor(v / mult) for v < out->c, v * mult < 2^16 */
        const uint16_t recip = mult == 1 ? 0 : (uint16_t)((65535u / (uint32_t)mult) + 1u);
        for (int32_t b = 0; b < in->n; ++b) {
            for (int32_t oy = 0; oy < out->h; ++oy) {
                const int32_t iy0 = oy * params->stride.h - params->padding.h;
                const int32_t ky0 = EF_MAX(0, -iy0);
                const int32_t ky1 = EF_MIN(kh, in->h - iy0);
                for (int32_t ox = 0; ox < out->w; ++ox) {
                    const int32_t ix0 = ox * params->stride.w - params->padding.w;
                    const int32_t kx0 = EF_MAX(0, -ix0);
                    const int32_t kx1 = EF_MIN(kw, in->w - ix0);
                    const int8_t *px = input + ((b * in->h + iy0 + ky0) * in->w + ix0 + kx0) * in->c;
                    const int8_t *pw = filter + (ky0 * kw + kx0) * out->c;
                    /* gather: whether the input channels are gathered (multiplier > 1) */
#define EF_DW_BLOCK(cnt_, full_, gather_)                                                                       \
    dw_block(params, (gather_) ? px : px + oc0, in->c, pw + oc0, out->c, ky1 - ky0, kx1 - kx0, in->w * in->c,    \
             kw * out->c, (gather_) ? dw_channel_index(oc0, recip) : vdupq_n_u16(0), mult,                      \
             bias != 0 ? bias + oc0 : 0, quant->multiplier + oc0, quant->shift + oc0, dst + oc0, (cnt_), (full_), \
             (gather_))
                    int32_t oc0 = 0;
                    if (mult == 1) {
                        for (; oc0 + 8 <= out->c; oc0 += 8) {
                            EF_DW_BLOCK(8, 1, 0);
                        }
                        if (oc0 < out->c) {
                            EF_DW_BLOCK(out->c - oc0, 0, 0);
                        }
                    } else {
                        for (; oc0 + 8 <= out->c; oc0 += 8) {
                            EF_DW_BLOCK(8, 1, 1);
                        }
                        if (oc0 < out->c) {
                            EF_DW_BLOCK(out->c - oc0, 0, 1);
                        }
                    }
#undef EF_DW_BLOCK
                    dst += out->c;
                }
            }
        }
        return EF_OK;
    }
#endif
#if defined(EF_NN_USE_DSP)
    if (dw_dsp(params, quant, in, input, filter_dims, filter, bias, out, output)) {
        return EF_OK;
    }
#endif
    for (int32_t b = 0; b < in->n; ++b) {
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy0 = oy * params->stride.h - params->padding.h;
            const int32_t ky_begin = EF_MAX(0, -iy0);
            const int32_t ky_end = EF_MIN(kh, in->h - iy0);
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t ix0 = ox * params->stride.w - params->padding.w;
                const int32_t kx_begin = EF_MAX(0, -ix0);
                const int32_t kx_end = EF_MIN(kw, in->w - ix0);
                for (int32_t ic = 0; ic < in->c; ++ic) {
                    for (int32_t m = 0; m < mult; ++m) {
                        const int32_t oc = ic * mult + m;
                        int32_t acc = 0;
                        for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
                            const int8_t *src = input + ((b * in->h + iy0 + ky) * in->w + ix0 + kx_begin) * in->c + ic;
                            const int8_t *f = filter + (ky * kw + kx_begin) * out->c + oc;
                            for (int32_t kx = 0; kx < kx_end - kx_begin; ++kx) {
                                acc += (src[kx * in->c] + in_off) * f[kx * out->c];
                            }
                        }
                        if (bias != 0) {
                            acc += bias[oc];
                        }
                        acc = ef_requantize(acc, quant->multiplier[oc], quant->shift[oc]) +
                              params->output_offset;
                        dst[oc] = ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
                    }
                }
                dst += out->c;
            }
        }
    }
    return EF_OK;
}
