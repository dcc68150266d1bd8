/*
 * Internal helpers shared by the kernels: TFLite's fixed-point requantization, written once.
 * Not part of the public API.
 */
#ifndef EF_NN_INTERNAL_H
#define EF_NN_INTERNAL_H

#include <stdint.h>

#include "ef_nn.h"
#include "ef_nn_target.h"

#define EF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define EF_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Q31 x Q31 -> Q31 with rounding; saturates the single overflow case (MIN * MIN).
 * gemmlowp writes this as (ab + (ab >= 0 ? 2^30 : 1 - 2^30)) / 2^31 with C division truncating
 * toward zero; for every product that equals floor((ab + 2^30) / 2^31) (for ab < 0 the
 * truncation of a negative value is its ceiling, and ceil((ab + 1 - 2^30) / 2^31) =
 * floor((ab + 2^30) / 2^31)), i.e. one SMLAL and a 64-bit arithmetic shift (gcc: arithmetic). */
static inline int32_t ef_sat_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* Arithmetic right shift rounding half away from zero (gemmlowp's RoundingDivideByPOT);
 * exponent in [0, 31]. */
static inline int32_t ef_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((1u << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0);
    /* >> on a negative int32 is arithmetic on every compiler we target (gcc documents it). */
    return (x >> exponent) + (remainder > threshold);
}

/* MultiplyByQuantizedMultiplier for any multiplier (negative ones included, the saturating
 * INT32_MIN * INT32_MIN product too): the two gemmlowp helpers above fused in one path. Out of
 * line: ef_requantize only calls it for negative multipliers, which TFLite never produces. */
__attribute__((noinline, cold, unused)) static int32_t ef_requantize_any(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = left - shift;
    const int32_t a = (int32_t)((uint32_t)x << left);
    int32_t t;
    if (__builtin_expect(a == INT32_MIN, 0) && multiplier == INT32_MIN) {
        t = INT32_MAX;
    } else {
        t = (int32_t)(((int64_t)a * (int64_t)multiplier + ((int64_t)1 << 30)) >> 31);
    }
    const int32_t mask = (int32_t)((1u << right) - 1u);
    const int32_t threshold = (mask >> 1) + (int32_t)((uint32_t)t >> 31);
    return (t >> right) + ((t & mask) > threshold);
}

/* TFLite's MultiplyByQuantizedMultiplier (double rounding), shift > 0: left shift; bit-exact with
 * ef_requantize_any for every int32 x, multiplier and shift in [-31, 30]. For multiplier >= 0:
 *   - shift < 0 (right shift r = -shift >= 1): gemmlowp computes t = floor((xm + 2^30) / 2^31),
 *     then (t + 2^(r-1) - [t < 0]) >> r. The two floors fold into one,
 *     (xm + 2^30 + (2^(r-1) - [t < 0]) * 2^31) >> (31 + r), i.e. one SMLAL onto a 64-bit constant
 *     and an arithmetic shift of its high word by r - 1. [t < 0] may be replaced by [x < 0]: they
 *     differ only when t == 0, where both give 0. The sum stays below 2^63 (|xm| < 2^62), so no
 *     intermediate overflows (adding 2^(r-1) to t in 32 bits would, at the extremes).
 *   - shift >= 0: no second rounding, t of the wrapped x << shift (SMULL, ADDS/ADC, two shifts).
 * The saturating product (INT32_MIN * INT32_MIN) needs a negative multiplier: out of line. About
 * 10 instructions per value on Cortex-M4 (30 before). */
static inline int32_t ef_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t e = -1 - shift; /* r - 1 when shifting right */
    if (__builtin_expect((e | multiplier) >= 0, 1)) {
        /* shift in [-31, -1], multiplier >= 0: h = 2^(r-1) - [x < 0], constant h * 2^31 + 2^30 */
        const int32_t h = (int32_t)((1u << e) - ((uint32_t)x >> 31));
        const uint32_t lo = ((uint32_t)h << 31) | (1u << 30);
        const int64_t k = (int64_t)(((uint64_t)(uint32_t)(h >> 1) << 32) | lo);
        const int64_t n = k + (int64_t)x * multiplier;
        /* >> on negative values is arithmetic on every compiler we target (gcc documents it). */
        return (int32_t)(n >> 32) >> e;
    }
    if (multiplier >= 0) {
        const int32_t a = (int32_t)((uint32_t)x << shift);
        return (int32_t)(((int64_t)a * multiplier + (1 << 30)) >> 31);
    }
    return ef_requantize_any(x, multiplier, shift);
}

/* The same with per-channel constants, for loops over many accumulators of one channel (the
 * depthwise ring; the conv / FC epilogues could use it too): ef_requantize(acc, m, shift) +
 * output offset in 5 instructions (AND, RSBS, SBC, SMLAL, ASR) when ef_rq_chan_ok(m, shift):
 * ef_requantize's right-shift constant 2^30 + (2^(r-1) - [acc < 0]) * 2^31 with [acc < 0]
 * subtracted as a 64-bit borrow (its low word is 2^30 for r >= 2) and the offset z in [-128, 127]
 * added as z * 2^(31+r): for r <= 23 the sum stays inside int64 and its high word inside int32 for
 * every int32 acc (|acc * m| < 2^62, |z| * 2^(r-1) <= 2^29), so
 * floor((n + z * 2^(31+r)) / 2^(31+r)) = floor(n / 2^(31+r)) + z exactly. */
typedef struct {
    int32_t khi;  /* high word of 2^30 + 2^(30+r) + z * 2^(31+r) */
    int32_t mult;
    int32_t e;    /* r - 1 */
} ef_rq_chan;

static inline int ef_rq_chan_ok(int32_t multiplier, int32_t shift)
{
    return multiplier >= 0 && shift <= -2 && shift >= -23;
}

/* Precondition: ef_rq_chan_ok(multiplier, shift), out_off in [-128, 127]. */
static inline ef_rq_chan ef_rq_chan_of(int32_t multiplier, int32_t shift, int32_t out_off)
{
    const int32_t e = -1 - shift;
    const ef_rq_chan q = {(1 << (e - 1)) + out_off * (1 << e), multiplier, e};
    return q;
}

static inline int32_t ef_rq_chan_apply(int32_t acc, int32_t khi, int32_t mult, int32_t e)
{
    const int64_t k = (int64_t)(((uint64_t)(uint32_t)khi << 32) | 0x40000000u);
    const int64_t n = k - (int64_t)((uint32_t)acc & 0x80000000u) + (int64_t)acc * mult;
    /* >> on negative values is arithmetic on every compiler we target (gcc documents it). */
    return (int32_t)(n >> 32) >> e;
}

static inline int8_t ef_clamp_to_s8(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* Sanity checks shared by the argument validation of every kernel. */
static inline int ef_dims_valid(const ef_dims *d)
{
    return d != 0 && d->n > 0 && d->h > 0 && d->w > 0 && d->c > 0;
}

static inline int ef_activation_valid(const ef_activation *a)
{
    return a->min >= -128 && a->max <= 127 && a->min <= a->max;
}

static inline int ef_shift_valid(int32_t shift)
{
    return shift >= -31 && shift <= 30;
}

/* Output size consistent with TFLite's padding: the implied bottom/right padding
 * (out-1)*stride + k - in - pad must be at most pad + 1 (SAME splits odd totals that way) and
 * above -stride (VALID leaves fewer than `stride` rows unused). */
static inline int ef_out_size_ok(int32_t in, int32_t k, int32_t stride, int32_t pad, int32_t out)
{
    if (out <= 0 || stride <= 0 || k <= 0 || pad < 0 || pad >= k) {
        return 0;
    }
    const int32_t after = (out - 1) * stride + k - in - pad;
    return after > -stride && after <= pad + 1;
}

/*
 * Dot products: the inner loops of conv and FC. Three interchangeable implementations, all exact
 * int32 sums (so bit-exact with each other whatever the order):
 *   - MVE (Helium, Cortex-M55): 8 or 16 lanes with tail predication, VMLADAVA;
 *   - DSP (Cortex-M4/M7/M33): SMLAD on pairs of sign-extended halfwords (SXTB16/SXTAB16);
 *   - portable C99.
 * The path is chosen at compile time by ef_nn_target.h (EF_NN_USE_MVE / EF_NN_USE_DSP).
 */

#if defined(EF_NN_USE_MVE)
/* ef_requantize on 4 lanes (bit-exact with it): VQRDMULH is gemmlowp's
 * SaturatingRoundingDoublingHighMul (floor((2ab + 2^31) / 2^32), MIN*MIN saturating), and
 * RoundingDivideByPOT is VRSHL by a negative amount (ties up) after subtracting 1 from negative
 * values (the AND with the negative shift keeps x's sign bit only when there is a right shift),
 * which turns ties up into ties away from zero; VQADD keeps INT32_MIN (same result). The left
 * shift wraps like the scalar `(uint32_t)x << left`. */
static inline int32x4_t ef_requantize_x4(int32x4_t x, int32x4_t mult, int32x4_t shift)
{
    const int32x4_t zero = vdupq_n_s32(0);
    const int32x4_t right = vminq_s32(shift, zero);
    x = vshlq_s32(x, vmaxq_s32(shift, zero));
    x = vqrdmulhq_s32(x, mult);
    x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right), 31));
    return vrshlq_s32(x, right);
}

/* Requantize 4 accumulators of channels c..c+3 (per-channel multiplier/shift), add the output
 * zero point, clamp to the activation range and store the active lanes as int8. */
static inline void ef_store_requantized_x4(int8_t *dst, int32x4_t acc, const int32_t *mult, const int32_t *shift,
                                           int32_t out_off, int32_t act_min, int32_t act_max, mve_pred16_t p)
{
    acc = ef_requantize_x4(acc, vldrwq_z_s32(mult, p), vldrwq_z_s32(shift, p));
    acc = vaddq_n_s32(acc, out_off);
    acc = vmaxq_s32(acc, vdupq_n_s32(act_min));
    acc = vminq_s32(acc, vdupq_n_s32(act_max));
    vstrbq_p_s32(dst, acc, p);
}
#endif

#if defined(EF_NN_USE_DSP)
/* Unaligned 32-bit load (memcpy compiles to a single LDR on cores that allow unaligned access). */
static inline uint32_t ef_read_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Rotate and halfword packing in plain C: GCC emits ROR/PKHBT/PKHTB for these idioms (its
 * arm_acle.h has no __ror/__pkhbt). */
static inline uint32_t ef_ror8(uint32_t x)
{
    return (x >> 8) | (x << 24);
}

/* SXTB16 / SXTAB16 of the input rotated by 8 bits in one instruction (GCC does not fold the
 * rotation into the extend on its own). */
static inline uint32_t ef_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

static inline uint32_t ef_sxtab16_ror8(uint32_t acc, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}

/* acc += SMLAD(x, y) with the accumulator tied to one register: GCC otherwise rotates several
 * accumulators through extra MOVs every iteration (seen in every multi-accumulator loop). */
static inline void ef_smlad_acc(uint32_t *acc, uint32_t x, uint32_t y)
{
    __asm__("smlad %0, %1, %2, %0" : "+r"(*acc) : "r"(x), "r"(y));
}

/* low half of lo, low half of hi in the top half */
static inline uint32_t ef_pack_lo(uint32_t lo, uint32_t hi)
{
    return (lo & 0xFFFFu) | (hi << 16);
}

/* high half of lo in the bottom half, high half of hi on top */
static inline uint32_t ef_pack_hi(uint32_t lo, uint32_t hi)
{
    return (hi & 0xFFFF0000u) | (lo >> 16);
}
#endif

/* sum(a[i] * b[i]), a int16 (an im2col column, offset already added), b int8 (filter). */
static inline int32_t ef_dot_s16_s8(const int16_t *a, const int8_t *b, int32_t n)
{
    int32_t acc = 0;
    int32_t i = 0;
#if defined(EF_NN_USE_MVE)
    for (; i < n; i += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)(n - i));
        const int16x8_t va = vldrhq_z_s16(a + i, p);
        const int16x8_t vb = vldrbq_z_s16(b + i, p);
        acc = vmladavaq_p_s16(acc, va, vb, p);
    }
#elif defined(EF_NN_USE_DSP)
    for (; i + 4 <= n; i += 4) {
        const uint32_t w = ef_read_u32(b + i);
        const uint32_t a01 = ef_read_u32(a + i);
        const uint32_t a23 = ef_read_u32(a + i + 2);
        /* pair (a0, a2) with bytes 0 and 2 of w, (a1, a3) with bytes 1 and 3 */
        const uint32_t a02 = ef_pack_lo(a01, a23);
        const uint32_t a13 = ef_pack_hi(a01, a23);
        acc = (int32_t)__smlad(a02, __sxtb16(w), (uint32_t)acc);
        acc = (int32_t)__smlad(a13, ef_sxtb16_ror8(w), (uint32_t)acc);
    }
#endif
    for (; i < n; ++i) {
        acc += (int32_t)a[i] * (int32_t)b[i];
    }
    return acc;
}

/* Two dot products of one int16 column with two int8 filters (shared column loads). */
static inline void ef_dot2_s16_s8(const int16_t *a, const int8_t *b0, const int8_t *b1, int32_t n,
                                  int32_t *r0, int32_t *r1)
{
    int32_t acc0 = 0;
    int32_t acc1 = 0;
    int32_t i = 0;
#if defined(EF_NN_USE_MVE)
    for (; i < n; i += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)(n - i));
        const int16x8_t va = vldrhq_z_s16(a + i, p);
        acc0 = vmladavaq_p_s16(acc0, va, vldrbq_z_s16(b0 + i, p), p);
        acc1 = vmladavaq_p_s16(acc1, va, vldrbq_z_s16(b1 + i, p), p);
    }
#elif defined(EF_NN_USE_DSP)
    uint32_t s0 = 0;
    uint32_t s1 = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t a01 = ef_read_u32(a + i);
        const uint32_t a23 = ef_read_u32(a + i + 2);
        const uint32_t a02 = ef_pack_lo(a01, a23);
        const uint32_t a13 = ef_pack_hi(a01, a23);
        const uint32_t w0 = ef_read_u32(b0 + i);
        const uint32_t w1 = ef_read_u32(b1 + i);
        ef_smlad_acc(&s0, a02, __sxtb16(w0));
        ef_smlad_acc(&s0, a13, ef_sxtb16_ror8(w0));
        ef_smlad_acc(&s1, a02, __sxtb16(w1));
        ef_smlad_acc(&s1, a13, ef_sxtb16_ror8(w1));
    }
    acc0 = (int32_t)s0;
    acc1 = (int32_t)s1;
#endif
    for (; i < n; ++i) {
        acc0 += (int32_t)a[i] * (int32_t)b0[i];
        acc1 += (int32_t)a[i] * (int32_t)b1[i];
    }
    *r0 = acc0;
    *r1 = acc1;
}

/* sum((a[i] + a_off) * b[i]), a and b int8, a_off in [-127, 128]. */
static inline int32_t ef_dot_s8_s8_offset(const int8_t *a, int32_t a_off, const int8_t *b, int32_t n)
{
    int32_t acc = 0;
    int32_t i = 0;
#if defined(EF_NN_USE_MVE)
    int32_t bsum = 0;
    for (; i < n; i += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - i));
        const int8x16_t va = vldrbq_z_s8(a + i, p);
        const int8x16_t vb = vldrbq_z_s8(b + i, p);
        acc = vmladavaq_p_s8(acc, va, vb, p);
        bsum = vaddvaq_p_s8(bsum, vb, p);
    }
    return acc + a_off * bsum;
#else
#if defined(EF_NN_USE_DSP)
    /* (a + off) fits a halfword, so SXTAB16 widens and adds the offset in one step. */
    const uint32_t off2 = ((uint32_t)(uint16_t)a_off << 16) | (uint16_t)a_off;
    for (; i + 4 <= n; i += 4) {
        const uint32_t va = ef_read_u32(a + i);
        const uint32_t vb = ef_read_u32(b + i);
        acc = (int32_t)__smlad(__sxtab16(off2, va), __sxtb16(vb), (uint32_t)acc);
        acc = (int32_t)__smlad(ef_sxtab16_ror8(off2, va), ef_sxtb16_ror8(vb), (uint32_t)acc);
    }
#endif
    for (; i < n; ++i) {
        acc += ((int32_t)a[i] + a_off) * (int32_t)b[i];
    }
    return acc;
#endif
}

/* Two dot products sharing the input vector a: r0 = sum((a + a_off) * b0), r1 = ... b1. */
static inline void ef_dot2_s8_s8_offset(const int8_t *a, int32_t a_off, const int8_t *b0, const int8_t *b1,
                                        int32_t n, int32_t *r0, int32_t *r1)
{
    int32_t acc0 = 0;
    int32_t acc1 = 0;
    int32_t i = 0;
#if defined(EF_NN_USE_MVE)
    int32_t bsum0 = 0;
    int32_t bsum1 = 0;
    for (; i < n; i += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - i));
        const int8x16_t va = vldrbq_z_s8(a + i, p);
        const int8x16_t vb0 = vldrbq_z_s8(b0 + i, p);
        const int8x16_t vb1 = vldrbq_z_s8(b1 + i, p);
        acc0 = vmladavaq_p_s8(acc0, va, vb0, p);
        acc1 = vmladavaq_p_s8(acc1, va, vb1, p);
        bsum0 = vaddvaq_p_s8(bsum0, vb0, p);
        bsum1 = vaddvaq_p_s8(bsum1, vb1, p);
    }
    *r0 = acc0 + a_off * bsum0;
    *r1 = acc1 + a_off * bsum1;
    return;
#else
#if defined(EF_NN_USE_DSP)
    const uint32_t off2 = ((uint32_t)(uint16_t)a_off << 16) | (uint16_t)a_off;
    uint32_t s0 = 0;
    uint32_t s1 = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t va = ef_read_u32(a + i);
        const uint32_t a02 = __sxtab16(off2, va);
        const uint32_t a13 = ef_sxtab16_ror8(off2, va);
        const uint32_t w0 = ef_read_u32(b0 + i);
        const uint32_t w1 = ef_read_u32(b1 + i);
        ef_smlad_acc(&s0, a02, __sxtb16(w0));
        ef_smlad_acc(&s0, a13, ef_sxtb16_ror8(w0));
        ef_smlad_acc(&s1, a02, __sxtb16(w1));
        ef_smlad_acc(&s1, a13, ef_sxtb16_ror8(w1));
    }
    acc0 = (int32_t)s0;
    acc1 = (int32_t)s1;
#endif
    for (; i < n; ++i) {
        const int32_t x = (int32_t)a[i] + a_off;
        acc0 += x * (int32_t)b0[i];
        acc1 += x * (int32_t)b1[i];
    }
    *r0 = acc0;
    *r1 = acc1;
#endif
}

#if defined(EF_NN_USE_DSP)
/* Four dot products sharing the widened input (n % 4 == 0): r[k] = sum((a + a_off) * bk). */
static inline void ef_dot4_s8_s8_offset(const int8_t *a, int32_t a_off, const int8_t *b0, const int8_t *b1,
                                        const int8_t *b2, const int8_t *b3, int32_t n, int32_t r[4])
{
    const uint32_t off2 = ((uint32_t)(uint16_t)a_off << 16) | (uint16_t)a_off;
    uint32_t s0 = 0;
    uint32_t s1 = 0;
    uint32_t s2 = 0;
    uint32_t s3 = 0;
    for (int32_t i = 0; i < n; i += 4) {
        const uint32_t va = ef_read_u32(a + i);
        const uint32_t a02 = __sxtab16(off2, va);
        const uint32_t a13 = ef_sxtab16_ror8(off2, va);
        uint32_t w = ef_read_u32(b0 + i);
        ef_smlad_acc(&s0, a02, __sxtb16(w));
        ef_smlad_acc(&s0, a13, ef_sxtb16_ror8(w));
        w = ef_read_u32(b1 + i);
        ef_smlad_acc(&s1, a02, __sxtb16(w));
        ef_smlad_acc(&s1, a13, ef_sxtb16_ror8(w));
        w = ef_read_u32(b2 + i);
        ef_smlad_acc(&s2, a02, __sxtb16(w));
        ef_smlad_acc(&s2, a13, ef_sxtb16_ror8(w));
        w = ef_read_u32(b3 + i);
        ef_smlad_acc(&s3, a02, __sxtb16(w));
        ef_smlad_acc(&s3, a13, ef_sxtb16_ror8(w));
    }
    r[0] = (int32_t)s0;
    r[1] = (int32_t)s1;
    r[2] = (int32_t)s2;
    r[3] = (int32_t)s3;
}
#endif

#endif /* EF_NN_INTERNAL_H */
