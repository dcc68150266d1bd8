/* SUB: both inputs shifted left by `left_shift`, rescaled to a common scale, subtracted and
 * rescaled to the output scale (TFLite's int8 SUB), with NumPy broadcasting over 4-D shapes. */
#include "internal/ef_broadcast.h"

static inline int8_t sub_one(const ef_add_params *p, int32_t a, int32_t b)
{
    const int32_t sa = ef_requantize((a + p->input1_offset) * (1 << p->left_shift), p->input1_multiplier,
                                     p->input1_shift);
    const int32_t sb = ef_requantize((b + p->input2_offset) * (1 << p->left_shift), p->input2_multiplier,
                                     p->input2_shift);
    const int32_t r = ef_requantize(sa - sb, p->output_multiplier, p->output_shift) + p->output_offset;
    return ef_clamp_to_s8(r, p->activation.min, p->activation.max);
}

EF_BROADCAST_BINARY(sub_rows, ef_add_params, sub_one)

ef_status ef_sub_s8(const ef_add_params *params, const ef_dims *input1_dims, const int8_t *input1,
                    const ef_dims *input2_dims, const int8_t *input2, const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || input1 == 0 || input2 == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    int32_t s1[4];
    int32_t s2[4];
    if (!ef_broadcast_check(input1_dims, input2_dims, output_dims, s1, s2)) {
        return EF_ERR_DIMS;
    }
    const ef_add_params p = *params; /* a local copy: int8 stores may alias *params */
    if (p.left_shift < 0 || p.left_shift > 22 || p.input1_shift > 0 || p.input2_shift > 0 || p.output_shift > 0 ||
        !ef_shift_valid(p.input1_shift) || !ef_shift_valid(p.input2_shift) || !ef_shift_valid(p.output_shift) ||
        !ef_activation_valid(&p.activation)) {
        return EF_ERR_PARAM;
    }
    sub_rows(&p, output_dims, s1, input1, s2, input2, output);
    return EF_OK;
}
