/* MINIMUM: the smaller of the two raw int8 values (TFLite compares the quantized values as they
 * are; the converter gives both inputs and the output one quantization), with NumPy broadcasting
 * over 4-D shapes. Equal shapes run as one flat loop: 16 lanes per VMIN.S8 on Helium, four
 * per SSUB8/SEL on the DSP extension. */
#include <string.h>

#include "internal/ef_broadcast.h"

static inline int32_t minimum_pre(const void *p, int32_t x)
{
    (void)p;
    return x;
}

static inline int8_t minimum_one(const void *p, int32_t a, int32_t b)
{
    (void)p;
    return (int8_t)(a < b ? a : b);
}

EF_BROADCAST_BINARY(minimum_rows, void, minimum_pre, minimum_pre, minimum_one)

static void minimum_flat(const int8_t *x1, const int8_t *x2, int8_t *y, int32_t size)
{
    int32_t i = 0;
#if defined(EF_NN_USE_MVE)
    for (; i < size; i += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(size - i));
        vstrbq_p_s8(y + i, vminq_s8(vldrbq_z_s8(x1 + i, p), vldrbq_z_s8(x2 + i, p)), p);
    }
#else
#if defined(EF_NN_USE_DSP)
    for (; i + 4 <= size; i += 4) {
        uint32_t a;
        uint32_t b;
        memcpy(&a, x1 + i, 4);
        memcpy(&b, x2 + i, 4);
        (void)__ssub8(a, b); /* GE[k] = byte k of a >= byte k of b */
        const uint32_t r = __sel(b, a);
        memcpy(y + i, &r, 4);
    }
#endif
    for (; i < size; ++i) {
        y[i] = minimum_one(0, x1[i], x2[i]);
    }
#endif
}

ef_status ef_minimum_s8(const ef_dims *input1_dims, const int8_t *input1, const ef_dims *input2_dims,
                     const int8_t *input2, const ef_dims *output_dims, int8_t *output)
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
        minimum_flat(input1, input2, output, o->n * o->h * o->w * o->c);
    } else {
        minimum_rows(0, output_dims, s1, input1, s2, input2, output);
    }
    return EF_OK;
}
