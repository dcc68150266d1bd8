/*
 * Rows of TFLite's int8 MUL (internal): y[i] = clamp(MBQM((x[i] + xo) * (z + zo), m, shift) + yo)
 * with z = z[i] (a contiguous operand) or z[0] (a repeated one: the squeeze-and-excitation
 * scale of a pixel row is contiguous, a scalar constant repeated). ef_mul_rows runs `rows` rows
 * of n outputs (the operands' rows xs / zrs elements apart, the output dense) with its constants
 * set up once: ef_mul_s8 calls it for one row of the whole tensor, ef_mul_broadcast_s8 for the
 * w rows of each (n, h).
 *
 *   MVE: 8 values per step as int16 lanes: two widening VLDRB.S16 loads, the offsets added in
 *        int16 (|x + xo| <= 255), VMULLB / VMULLT into the even / odd int32 products (exact:
 *        |product| <= 255 * 255), each requantized like ef_requantize_x4 with the shift's
 *        direction fixed per call (left: VSHL + VQRDMULH; none: VQRDMULH; right: VQRDMULH, the
 *        ties-away fix-up and VRSHL), narrowed back into one int16x8 (VQMOVNB / VQMOVNT,
 *        saturating), the output offset added with saturation, clamped and stored with VSTRB.16;
 *        whole steps unpredicated, the last n % 8 values one predicated step.
 *   DSP: 4 values per step: a word of each operand, the offsets added by SXTAB16 into halfword
 *        pairs, SMULBB / SMULTT, the 5-instruction ef_rq_chan_apply requantization (output
 *        offset folded in; shift -2..-23, else the scalar ef_requantize), two SSAT16 on halfword
 *        pairs (PKHBT), the bytes packed into one word (UXTB16, ORR) and stored at once; a narrower
 *        activation as SSUB8 / SEL against the bounds in every byte.
 *   The portable loop otherwise (and for the DSP tail).
 * Every element is read before the same position is written, so y may equal x or z.
 */
#ifndef EF_MUL_ROW_H
#define EF_MUL_ROW_H

#include "ef_nn_internal.h"

static inline int8_t ef_mul_one(const ef_mul_params *p, int32_t xv, int32_t zv)
{
    const int32_t r = ef_requantize(xv * zv, p->output_multiplier, p->output_shift) + p->output_offset;
    return ef_clamp_to_s8(r, p->activation.min, p->activation.max);
}

#if defined(EF_NN_USE_MVE)
enum { EF_MUL_LEFT, EF_MUL_NONE, EF_MUL_RIGHT };

/* 8 products (x + xo) * z as even / odd int32 lanes, requantized, offset, clamped, narrowed */
__attribute__((always_inline)) static inline int16x8_t ef_mul_step_mve(int16x8_t xv, int16x8_t zv, int32_t m,
                                                                      int32_t left, int32_t right, int16_t yo,
                                                                      int16x8_t lo, int16x8_t hi, int mode)
{
    int32x4_t e = vmullbq_int_s16(xv, zv);
    int32x4_t o = vmulltq_int_s16(xv, zv);
    if (mode == EF_MUL_LEFT) {
        e = vshlq_r_s32(e, left);
        o = vshlq_r_s32(o, left);
    }
    e = vqrdmulhq_n_s32(e, m);
    o = vqrdmulhq_n_s32(o, m);
    if (mode == EF_MUL_RIGHT) {
        /* ties up (VRSHL) -> ties away from zero: minus 1 on negative values first */
        e = vrshlq_n_s32(vqaddq_s32(e, vshrq_n_s32(e, 31)), right);
        o = vrshlq_n_s32(vqaddq_s32(o, vshrq_n_s32(o, 31)), right);
    }
    /* both halves into a fresh register (the intrinsics tie the destination to an input, so GCC
     * adds a VMOV per step) */
    int16x8_t r;
    __asm__("vqmovnb.s32 %q0, %q1\n\tvqmovnt.s32 %q0, %q2" : "=&w"(r) : "w"(e), "w"(o));
    return vminq_s16(vmaxq_s16(vqaddq_n_s16(r, yo), lo), hi);
}

__attribute__((always_inline)) static inline void ef_mul_row_mve_mode(const ef_mul_params *p, const int8_t *x0,
                                                                    int32_t xs, int32_t xo, const int8_t *z0,
                                                                    int32_t zrs, int32_t zo, int32_t zstep,
                                                                    int8_t *y, int32_t rows, int32_t n, int mode)
{
    const int32_t m = p->output_multiplier;
    const int32_t left = p->output_shift > 0 ? p->output_shift : 0;
    const int32_t right = p->output_shift < 0 ? p->output_shift : 0; /* negative: VRSHL shifts right */
    const int16x8_t lo = vdupq_n_s16((int16_t)p->activation.min);
    const int16x8_t hi = vdupq_n_s16((int16_t)p->activation.max);
    const int16_t yo = (int16_t)p->output_offset;
    const int32_t zinc = zstep != 0 ? 8 : 0;
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *x = x0 + r * xs;
        const int8_t *z = z0 + r * zrs;
        const int16x8_t zs = vdupq_n_s16((int16_t)(z[0] + zo));
        for (int32_t k = n >> 3; k > 0; --k) {
            const int16x8_t xv = vaddq_n_s16(vldrbq_s16(x), (int16_t)xo);
            const int16x8_t zv = zstep != 0 ? vaddq_n_s16(vldrbq_s16(z), (int16_t)zo) : zs;
            vstrbq_s16(y, ef_mul_step_mve(xv, zv, m, left, right, yo, lo, hi, mode));
            x += 8;
            z += zinc;
            y += 8;
        }
        if ((n & 7) != 0) {
            const mve_pred16_t pr = vctp16q((uint32_t)(n & 7));
            const int16x8_t xv = vaddq_n_s16(vldrbq_z_s16(x, pr), (int16_t)xo);
            const int16x8_t zv = zstep != 0 ? vaddq_n_s16(vldrbq_z_s16(z, pr), (int16_t)zo) : zs;
            vstrbq_p_s16(y, ef_mul_step_mve(xv, zv, m, left, right, yo, lo, hi, mode), pr);
            y += n & 7;
        }
    }
}

static inline void ef_mul_rows(const ef_mul_params *p, const int8_t *x, int32_t xs, int32_t xo, const int8_t *z,
                               int32_t zrs, int32_t zo, int32_t zstep, int8_t *y, int32_t rows, int32_t n)
{
    /* the shift's direction and zstep as constants: one loop each, no test inside a step */
    const int mode = p->output_shift > 0 ? EF_MUL_LEFT : p->output_shift == 0 ? EF_MUL_NONE : EF_MUL_RIGHT;
    if (zstep != 0) {
        if (mode == EF_MUL_RIGHT) {
            ef_mul_row_mve_mode(p, x, xs, xo, z, zrs, zo, 1, y, rows, n, EF_MUL_RIGHT);
        } else if (mode == EF_MUL_NONE) {
            ef_mul_row_mve_mode(p, x, xs, xo, z, zrs, zo, 1, y, rows, n, EF_MUL_NONE);
        } else {
            ef_mul_row_mve_mode(p, x, xs, xo, z, zrs, zo, 1, y, rows, n, EF_MUL_LEFT);
        }
    } else {
        if (mode == EF_MUL_RIGHT) {
            ef_mul_row_mve_mode(p, x, xs, xo, z, zrs, zo, 0, y, rows, n, EF_MUL_RIGHT);
        } else if (mode == EF_MUL_NONE) {
            ef_mul_row_mve_mode(p, x, xs, xo, z, zrs, zo, 0, y, rows, n, EF_MUL_NONE);
        } else {
            ef_mul_row_mve_mode(p, x, xs, xo, z, zrs, zo, 0, y, rows, n, EF_MUL_LEFT);
        }
    }
}
#elif defined(EF_NN_USE_DSP)
/* SMULBB / SMULTT in C (GCC's arm_acle.h has neither; it emits them for these idioms) */
static inline int32_t ef_mul_bb(uint32_t a, uint32_t b)
{
    return (int32_t)(int16_t)a * (int32_t)(int16_t)b;
}

static inline int32_t ef_mul_tt(uint32_t a, uint32_t b)
{
    return ((int32_t)a >> 16) * ((int32_t)b >> 16);
}

/* PKHBT: lo's low halfword, hi's low halfword on top (GCC writes UXTH + ORR for the C idiom here) */
static inline uint32_t ef_mul_pkhbt(int32_t lo, int32_t hi)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}

/* narrow: the activation range is narrower than int8 (a clamp after the SSAT) */
__attribute__((always_inline)) static inline void ef_mul_row_dsp(const ef_mul_params *p, const int8_t *x0, int32_t xs,
                                                                int32_t xo, const int8_t *z0, int32_t zrs, int32_t zo,
                                                                int32_t zstep, int8_t *y0, int32_t rows, int32_t n,
                                                                int narrow)
{
    const ef_rq_chan q = ef_rq_chan_of(p->output_multiplier, p->output_shift, p->output_offset);
    const int32_t lo = p->activation.min;
    const int32_t hi = p->activation.max;
    const uint32_t xo2 = ((uint32_t)xo & 0xFFFFu) * 0x10001u;
    const uint32_t zo2 = ((uint32_t)zo & 0xFFFFu) * 0x10001u;
    const uint32_t lo4 = ((uint32_t)lo & 0xFFu) * 0x01010101u;
    const uint32_t hi4 = ((uint32_t)hi & 0xFFu) * 0x01010101u;
    for (int32_t r = 0; r < rows; ++r) {
        const int8_t *x = x0 + r * xs;
        const int8_t *z = z0 + r * zrs;
        int8_t *y = y0 + r * n;
        const uint32_t zs = ((uint32_t)(z[0] + zo) & 0xFFFFu) * 0x10001u;
        int32_t i = 0;
        for (; i + 4 <= n; i += 4) {
            const uint32_t xw = ef_read_u32(x + i);
            const uint32_t x02 = __sxtab16(xo2, xw);
            const uint32_t x13 = ef_sxtab16_ror8(xo2, xw);
            uint32_t z02 = zs;
            uint32_t z13 = zs;
            if (zstep != 0) {
                const uint32_t zw = ef_read_u32(z + i);
                z02 = __sxtab16(zo2, zw);
                z13 = ef_sxtab16_ror8(zo2, zw);
            }
            /* |requantized value| < 2^14 (|product| < 2^16, right shift >= 2): the four fit halfword
             * lanes, so SSAT16 saturates two at a time and UXTB16 / ORR pack the bytes */
            const int32_t v0 = ef_rq_chan_apply(ef_mul_bb(x02, z02), q.khi, q.mult, q.e);
            const int32_t v1 = ef_rq_chan_apply(ef_mul_bb(x13, z13), q.khi, q.mult, q.e);
            const int32_t v2 = ef_rq_chan_apply(ef_mul_tt(x02, z02), q.khi, q.mult, q.e);
            const int32_t v3 = ef_rq_chan_apply(ef_mul_tt(x13, z13), q.khi, q.mult, q.e);
            const uint32_t s02 = __uxtb16(__ssat16(ef_mul_pkhbt(v0, v2), 8));
            const uint32_t s13 = __uxtb16(__ssat16(ef_mul_pkhbt(v1, v3), 8));
            uint32_t out = s02 | (s13 << 8);
            if (narrow) {
                (void)__ssub8(out, lo4); /* GE per lane: out >= lo */
                out = __sel(out, lo4);
                (void)__ssub8(hi4, out); /* GE per lane: hi >= out */
                out = __sel(out, hi4);
            }
            memcpy(y + i, &out, 4);
        }
        const int32_t zc = z[0] + zo;
        for (; i < n; ++i) {
            const int32_t zv = zstep != 0 ? z[i] + zo : zc;
            const int32_t v = __ssat(ef_rq_chan_apply((x[i] + xo) * zv, q.khi, q.mult, q.e), 8);
            y[i] = (int8_t)EF_MIN(EF_MAX(v, lo), hi);
        }
    }
}

static inline void ef_mul_rows(const ef_mul_params *p, const int8_t *x, int32_t xs, int32_t xo, const int8_t *z,
                               int32_t zrs, int32_t zo, int32_t zstep, int8_t *y, int32_t rows, int32_t n)
{
    if (ef_rq_chan_ok(p->output_multiplier, p->output_shift)) {
        const int narrow = p->activation.min != -128 || p->activation.max != 127;
        if (zstep != 0) {
            if (narrow) {
                ef_mul_row_dsp(p, x, xs, xo, z, zrs, zo, 1, y, rows, n, 1);
            } else {
                ef_mul_row_dsp(p, x, xs, xo, z, zrs, zo, 1, y, rows, n, 0);
            }
        } else {
            if (narrow) {
                ef_mul_row_dsp(p, x, xs, xo, z, zrs, zo, 0, y, rows, n, 1);
            } else {
                ef_mul_row_dsp(p, x, xs, xo, z, zrs, zo, 0, y, rows, n, 0);
            }
        }
        return;
    }
    for (int32_t r = 0; r < rows; ++r, x += xs, z += zrs, y += n) {
        for (int32_t i = 0; i < n; ++i) {
            y[i] = ef_mul_one(p, x[i] + xo, (zstep != 0 ? z[i] : z[0]) + zo);
        }
    }
}
#else
static inline void ef_mul_rows(const ef_mul_params *p, const int8_t *x, int32_t xs, int32_t xo, const int8_t *z,
                               int32_t zrs, int32_t zo, int32_t zstep, int8_t *y, int32_t rows, int32_t n)
{
    for (int32_t r = 0; r < rows; ++r, x += xs, z += zrs, y += n) {
        if (zstep != 0) {
            for (int32_t i = 0; i < n; ++i) {
                y[i] = ef_mul_one(p, x[i] + xo, z[i] + zo);
            }
            continue;
        }
        const int32_t zv = z[0] + zo;
        for (int32_t i = 0; i < n; ++i) {
            y[i] = ef_mul_one(p, x[i] + xo, zv);
        }
    }
}
#endif

#endif /* EF_MUL_ROW_H */
