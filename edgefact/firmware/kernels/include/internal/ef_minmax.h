/*
 * MAXIMUM / MINIMUM (internal): the one body of ef_maximum_s8 and ef_minimum_s8. TFLite compares
 * the raw int8 values (the converter gives both inputs and the output one quantization); NumPy
 * broadcasting over 4-D shapes; equal shapes run as one flat loop: 16 lanes per VMAX.S8 / VMIN.S8
 * on Helium, four per SSUB8 + SEL on the DSP extension. `is_max` is a compile-time constant.
 */
#ifndef EF_MINMAX_H
#define EF_MINMAX_H

#include <string.h>

#include "ef_broadcast.h"

static inline int32_t ef_minmax_pre(const void *p, int32_t x)
{
    (void)p;
    return x;
}

static inline __attribute__((always_inline)) int8_t ef_minmax_one(int32_t a, int32_t b, const int is_max)
{
    return (int8_t)(is_max ? (a > b ? a : b) : (a < b ? a : b));
}

static inline __attribute__((always_inline)) void ef_minmax_flat(const int8_t *x1, const int8_t *x2, int8_t *y,
                                                                 int32_t size, const int is_max)
{
    int32_t i = 0;
#if defined(EF_NN_USE_MVE)
    for (; i < size; i += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(size - i));
        const int8x16_t a = vldrbq_z_s8(x1 + i, p);
        const int8x16_t b = vldrbq_z_s8(x2 + i, p);
        vstrbq_p_s8(y + i, is_max ? vmaxq_s8(a, b) : vminq_s8(a, b), p);
    }
#else
#if defined(EF_NN_USE_DSP)
    for (; i + 4 <= size; i += 4) {
        uint32_t a;
        uint32_t b;
        memcpy(&a, x1 + i, 4);
        memcpy(&b, x2 + i, 4);
        (void)__ssub8(a, b); /* GE[k] = byte k of a >= byte k of b */
        const uint32_t r = is_max ? __sel(a, b) : __sel(b, a);
        memcpy(y + i, &r, 4);
    }
#endif
    for (; i < size; ++i) {
        y[i] = ef_minmax_one(x1[i], x2[i], is_max);
    }
#endif
}

typedef void (*ef_minmax_rows_fn)(const void *p, const ef_dims *out, const int32_t s1[4], const int8_t *x1,
                                  const int32_t s2[4], const int8_t *x2, int8_t *y);

/* The whole kernel: checks, then the flat loop for equal shapes or `rows` (the operator's
 * EF_BROADCAST_BINARY loop) for broadcasting ones. */
static inline __attribute__((always_inline)) ef_status ef_minmax_s8(const ef_dims *input1_dims, const int8_t *input1,
                                                                    const ef_dims *input2_dims, const int8_t *input2,
                                                                    const ef_dims *output_dims, int8_t *output,
                                                                    ef_minmax_rows_fn rows, const int is_max)
{
    if (input1 == 0 || input2 == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    int32_t s1[4];
    int32_t s2[4];
    if (!ef_broadcast_check(input1_dims, input2_dims, output_dims, s1, s2)) {
        return EF_ERR_DIMS;
    }
    if (ef_same_dims(input1_dims, output_dims) && ef_same_dims(input2_dims, output_dims)) {
        const ef_dims *o = output_dims;
        ef_minmax_flat(input1, input2, output, o->n * o->h * o->w * o->c, is_max);
    } else {
        rows(0, output_dims, s1, input1, s2, input2, output);
    }
    return EF_OK;
}

#endif /* EF_MINMAX_H */
