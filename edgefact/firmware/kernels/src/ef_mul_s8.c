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

ef_status ef_mul_broadcast_s8(const ef_mul_params *params,
                              const ef_dims *input1_dims, const int8_t *input1,
                              const ef_dims *input2_dims, const int8_t *input2,
                              const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || input1 == 0 || input2 == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    int32_t s1[4];
    int32_t s2[4];
    if (!ef_dims_valid(input1_dims) || !ef_dims_valid(input2_dims) || !ef_dims_valid(output_dims) ||
        !ef_broadcast_strides(input1_dims, output_dims, s1) ||
        !ef_broadcast_strides(input2_dims, output_dims, s2)) {
        return EF_ERR_DIMS;
    }
    if (!mul_params_ok(params)) {
        return EF_ERR_PARAM;
    }
    const ef_dims *o = output_dims;
    const ef_mul_params p = *params;
    for (int32_t n = 0; n < o->n; ++n) {
        for (int32_t h = 0; h < o->h; ++h) {
            for (int32_t w = 0; w < o->w; ++w) {
                const int32_t b1 = n * s1[0] + h * s1[1] + w * s1[2];
                const int32_t b2 = n * s2[0] + h * s2[1] + w * s2[2];
                for (int32_t c = 0; c < o->c; ++c) {
                    *output++ = mul_one(&p, input1[b1 + c * s1[3]], input2[b2 + c * s2[3]]);
                }
            }
        }
    }
    return EF_OK;
}
