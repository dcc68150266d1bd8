/*
 * Internal helpers shared by the kernels: TFLite's fixed-point requantization, written once.
 * Not part of the public API.
 */
#ifndef EF_NN_INTERNAL_H
#define EF_NN_INTERNAL_H

#include <stdint.h>

#include "ef_nn.h"

#define EF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define EF_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Q31 x Q31 -> Q31 with rounding; saturates the single overflow case (MIN * MIN). */
static inline int32_t ef_sat_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30));
    /* C99 division truncates toward zero, which the rounding nudge above assumes. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* Arithmetic right shift rounding half away from zero. */
static inline int32_t ef_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    /* >> on a negative int32 is arithmetic on every compiler we target (gcc documents it). */
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite's MultiplyByQuantizedMultiplier (double rounding). shift > 0: left shift. */
static inline int32_t ef_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    return ef_rounding_divide_by_pot(ef_sat_rounding_doubling_high_mul(shifted, multiplier), right);
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
 * Dot products: the inner loops that DSP (SMLAD) or MVE paths replace. Plain C here; they are
 * exact int32 sums so any reordering is bit-exact.
 */
static inline int32_t ef_dot_s16_s8(const int16_t *a, const int8_t *b, int32_t n)
{
    int32_t acc = 0;
    for (int32_t i = 0; i < n; ++i) {
        acc += (int32_t)a[i] * (int32_t)b[i];
    }
    return acc;
}

/* sum((a[i] + a_off) * b[i]) computed as sum(a*b) + a_off * sum(b). */
static inline int32_t ef_dot_s8_s8_offset(const int8_t *a, int32_t a_off, const int8_t *b, int32_t n)
{
    int32_t acc = 0;
    int32_t bsum = 0;
    for (int32_t i = 0; i < n; ++i) {
        acc += (int32_t)a[i] * (int32_t)b[i];
        bsum += b[i];
    }
    return acc + a_off * bsum;
}

#endif /* EF_NN_INTERNAL_H */
