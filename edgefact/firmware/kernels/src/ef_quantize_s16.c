/* QUANTIZE / DEQUANTIZE with int16 tensors: int8 <-> int16 and int16 -> int16 requantization,
 * int16 -> float. TFLite's Requantize: MultiplyByQuantizedMultiplier(x - input zero point) plus
 * the output zero point, saturated to the output type (uint8 <-> int8 go through ef_lut_s8). */
#include "internal/ef_nn_internal.h"

static inline int32_t rq(const ef_requantize_params *p, int32_t x)
{
    return ef_requantize(x + p->input_offset, p->multiplier, p->shift) + p->output_offset;
}

static inline int16_t clamp_s16(int32_t v)
{
    return (int16_t)(v < -32768 ? -32768 : v > 32767 ? 32767 : v);
}

static ef_status check(const ef_requantize_params *params, const void *input, const void *output, int32_t size)
{
    if (params == 0 || input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (size < 0) {
        return EF_ERR_DIMS;
    }
    return ef_shift_valid(params->shift) ? EF_OK : EF_ERR_PARAM;
}

ef_status ef_requantize_s8_s16(const ef_requantize_params *params, const int8_t *input, int16_t *output,
                               int32_t size)
{
    const ef_status st = check(params, input, output, size);
    if (st != EF_OK) {
        return st;
    }
    for (int32_t i = 0; i < size; ++i) {
        output[i] = clamp_s16(rq(params, input[i]));
    }
    return EF_OK;
}

ef_status ef_requantize_s16_s8(const ef_requantize_params *params, const int16_t *input, int8_t *output,
                               int32_t size)
{
    const ef_status st = check(params, input, output, size);
    if (st != EF_OK) {
        return st;
    }
    for (int32_t i = 0; i < size; ++i) {
        output[i] = ef_clamp_to_s8(rq(params, input[i]), -128, 127);
    }
    return EF_OK;
}

ef_status ef_requantize_s16_s16(const ef_requantize_params *params, const int16_t *input, int16_t *output,
                                int32_t size)
{
    const ef_status st = check(params, input, output, size);
    if (st != EF_OK) {
        return st;
    }
    for (int32_t i = 0; i < size; ++i) {
        output[i] = clamp_s16(rq(params, input[i]));
    }
    return EF_OK;
}

ef_status ef_dequantize_s16_f32(const int16_t *input, float *output, int32_t size, float scale,
                                int32_t zero_point)
{
    if (input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (size < 0) {
        return EF_ERR_DIMS;
    }
    /* TFLite multiplies in double and converts to float; x - zero_point has at most 17 bits, so
     * the double product of a float scale is exact and equals the correctly rounded float one. */
    for (int32_t i = 0; i < size; ++i) {
        output[i] = scale * (float)(input[i] - zero_point);
    }
    return EF_OK;
}
