/* PRELU: x + input_offset >= 0 is rescaled to the output, a negative value is multiplied by
 * alpha + alpha_offset first (TFLite's int8 PRELU); alpha broadcasts against the input (per
 * channel, per pixel or any NumPy pattern over 4-D shapes). */
#include "internal/ef_broadcast.h"

static inline int32_t prelu_pre_input(const ef_prelu_params *p, int32_t x)
{
    return p->input_offset + x;
}

static inline int32_t prelu_pre_alpha(const ef_prelu_params *p, int32_t alpha)
{
    return p->alpha_offset + alpha;
}

static inline int8_t prelu_post(const ef_prelu_params *p, int32_t v, int32_t alpha)
{
    int32_t r;
    if (v >= 0) {
        r = ef_requantize(v, p->positive_multiplier, p->positive_shift);
    } else {
        r = ef_requantize(v * alpha, p->negative_multiplier, p->negative_shift);
    }
    return ef_clamp_to_s8(r + p->output_offset, -128, 127);
}

EF_BROADCAST_BINARY(prelu_rows, ef_prelu_params, prelu_pre_input, prelu_pre_alpha, prelu_post)

ef_status ef_prelu_s8(const ef_prelu_params *params, const ef_dims *input_dims, const int8_t *input,
                      const ef_dims *alpha_dims, const int8_t *alpha, const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || input == 0 || alpha == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    int32_t s1[4];
    int32_t s2[4];
    if (!ef_broadcast_check(input_dims, alpha_dims, output_dims, s1, s2)) {
        return EF_ERR_DIMS;
    }
    const ef_prelu_params p = *params;
    if (!ef_shift_valid(p.positive_shift) || !ef_shift_valid(p.negative_shift)) {
        return EF_ERR_PARAM;
    }
    prelu_rows(&p, output_dims, s1, input, s2, alpha, output);
    return EF_OK;
}
