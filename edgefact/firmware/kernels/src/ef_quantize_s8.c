/* Model boundary: QUANTIZE float -> int8, DEQUANTIZE int8 -> float, QUANTIZE int8 -> int8. */
#include "internal/ef_nn_internal.h"

/* round(v) half away from zero for |v| < 2^24, without libm (firmware links no -lm):
 * v - trunc(v) is exact, so comparing it with 0.5 decides exactly as roundf does. */
static inline int32_t ef_round_half_away(float v)
{
    const int32_t t = (int32_t)v;
    const float frac = v - (float)t;
    if (frac >= 0.5f) {
        return t + 1;
    }
    if (frac <= -0.5f) {
        return t - 1;
    }
    return t;
}

ef_status ef_quantize_f32_s8(const float *input, int8_t *output, int32_t size,
                             float scale, int32_t zero_point)
{
    if (input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (size < 0) {
        return EF_ERR_DIMS;
    }
    if (!(scale > 0.0f) || zero_point < -128 || zero_point > 127) {
        return EF_ERR_PARAM;
    }
    for (int32_t i = 0; i < size; ++i) {
        /* float division (not a multiply by 1/scale) and round half away from zero, as TFLite. */
        const float q = input[i] / scale;
        int32_t v;
        if (q != q) { /* NaN */
            v = zero_point;
        } else if (q >= 256.0f) {
            v = 127;
        } else if (q <= -257.0f) {
            v = -128;
        } else {
            v = ef_round_half_away(q) + zero_point;
        }
        output[i] = ef_clamp_to_s8(v, -128, 127);
    }
    return EF_OK;
}

ef_status ef_dequantize_s8_f32(const int8_t *input, float *output, int32_t size,
                               float scale, int32_t zero_point)
{
    if (input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (size < 0) {
        return EF_ERR_DIMS;
    }
    /* TFLite multiplies in double and converts to float. A float times an integer below 2^9 is
     * exact in double, so that equals the correctly rounded float product: no double maths
     * needed on single-precision FPUs. */
    for (int32_t i = 0; i < size; ++i) {
        output[i] = scale * (float)(input[i] - zero_point);
    }
    return EF_OK;
}

ef_status ef_requantize_s8(const ef_requantize_params *params, const int8_t *input,
                           int8_t *output, int32_t size)
{
    if (params == 0 || input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (size < 0) {
        return EF_ERR_DIMS;
    }
    if (!ef_shift_valid(params->shift)) {
        return EF_ERR_PARAM;
    }
#if defined(EF_NN_USE_MVE)
    /* 4 lanes per step through the vector requantization (tail-predicated) */
    const int32x4_t vm = vdupq_n_s32(params->multiplier);
    const int32x4_t vs = vdupq_n_s32(params->shift);
    for (int32_t i = 0; i < size; i += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(size - i));
        int32x4_t v = vaddq_n_s32(vldrbq_z_s32(input + i, p), params->input_offset);
        v = vaddq_n_s32(ef_requantize_x4(v, vm, vs), params->output_offset);
        v = vminq_s32(vmaxq_s32(v, vdupq_n_s32(-128)), vdupq_n_s32(127));
        vstrbq_p_s32(output + i, v, p);
    }
    return EF_OK;
#endif
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v = ef_requantize(input[i] + params->input_offset, params->multiplier, params->shift) +
                          params->output_offset;
        output[i] = ef_clamp_to_s8(v, -128, 127);
    }
    return EF_OK;
}
