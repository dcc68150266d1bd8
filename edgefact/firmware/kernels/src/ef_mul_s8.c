/* MUL: (a + off1) * (b + off2) rescaled by s1*s2/s_out (TFLite's int8 MUL). */
#include "internal/ef_broadcast.h"

static inline int8_t mul_one(const ef_mul_params *p, int32_t a, int32_t b)
{
    const int32_t prod = (a + p->input1_offset) * (b + p->input2_offset);
    const int32_t r = ef_requantize(prod, p->output_multiplier, p->output_shift) + p->output_offset;
    return ef_clamp_to_s8(r, p->activation.min, p->activation.max);
}

static int mul_params_ok(const ef_mul_params *p)
{
    return ef_shift_valid(p->output_shift) && ef_activation_valid(&p->activation);
}

ef_status ef_mul_s8(const ef_mul_params *params, const int8_t *input1, const int8_t *input2,
                    int8_t *output, int32_t size)
{
    if (params == 0 || input1 == 0 || input2 == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (size < 0) {
        return EF_ERR_DIMS;
    }
    if (!mul_params_ok(params)) {
        return EF_ERR_PARAM;
    }
    /* a local copy: int8 stores may alias *params, which would force reloads every element */
    const ef_mul_params p = *params;
    for (int32_t i = 0; i < size; ++i) {
        output[i] = mul_one(&p, input1[i], input2[i]);
    }
    return EF_OK;
}

/* ef_mul_broadcast_s8: ef_mul_broadcast_s8.c */
