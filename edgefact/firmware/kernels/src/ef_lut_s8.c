/*
 * Element-wise int8 -> int8 table look-up: output[i] = table[(uint8_t)input[i]].
 *
 * Every int8 operator whose output depends on the input value only (LOGISTIC, TANH, HARD_SWISH,
 * LEAKY_RELU, ABS) runs here: the generator computes the 256 outputs with an exact mirror of
 * TFLite Micro's integer algorithm (edgefact.export.quant_lut), so the kernel is bit-exact by
 * construction and costs a load, a look-up and a store per element. Helium gathers 16 values
 * per VLDRB (whole blocks unpredicated, the tail one predicated block); the DSP body looks up 8 values per step and writes them as two words.
 */
#include <string.h>

#include "internal/ef_nn_internal.h"

ef_status ef_lut_s8(const int8_t *table, const int8_t *input, int8_t *output, int32_t size)
{
    if (table == 0 || input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (size < 0) {
        return EF_ERR_DIMS;
    }
#if defined(EF_NN_USE_MVE)
    /* whole blocks of 16 unpredicated (load, gather, store, LE), the last size % 16 predicated */
    const uint8_t *x = (const uint8_t *)input;
    int8_t *y = output;
    for (int32_t k = size >> 4; k > 0; --k) {
        vstrbq_s8(y, vldrbq_gather_offset_s8(table, vldrbq_u8(x)));
        x += 16;
        y += 16;
    }
    if ((size & 15) != 0) {
        const mve_pred16_t p = vctp8q((uint32_t)(size & 15));
        vstrbq_p_s8(y, vldrbq_gather_offset_z_s8(table, vldrbq_z_u8(x, p), p), p);
    }
#else
    int32_t i = 0;
#if defined(EF_NN_USE_DSP)
    /* 8 values per step: each index a zero-extending LDRB (no field extraction), the 8 looked-up
     * bytes packed into two words and stored with one STR each */
    const uint8_t *t = (const uint8_t *)table;
    const uint8_t *x = (const uint8_t *)input;
    for (; i + 8 <= size; i += 8) {
        const uint32_t y0 = (uint32_t)t[x[i]] | ((uint32_t)t[x[i + 1]] << 8) | ((uint32_t)t[x[i + 2]] << 16) |
                            ((uint32_t)t[x[i + 3]] << 24);
        const uint32_t y1 = (uint32_t)t[x[i + 4]] | ((uint32_t)t[x[i + 5]] << 8) | ((uint32_t)t[x[i + 6]] << 16) |
                            ((uint32_t)t[x[i + 7]] << 24);
        memcpy(output + i, &y0, 4);
        memcpy(output + i + 4, &y1, 4);
    }
#endif
    for (; i < size; ++i) {
        output[i] = table[(uint8_t)input[i]];
    }
#endif
    return EF_OK;
}
