/* SQUARED_DIFFERENCE: both inputs shifted left by `left_shift` (7 for int8), rescaled to a common
 * scale and subtracted; the square is rescaled to the output (TFLite's int8 SQUARED_DIFFERENCE),
 * with NumPy broadcasting over 4-D shapes. */
#include "internal/ef_broadcast.h"

static inline int32_t sqdiff_pre1(const ef_add_params *p, int32_t a)
{
    return ef_requantize((a + p->input1_offset) * (1 << p->left_shift), p->input1_multiplier, p->input1_shift);
}

static inline int32_t sqdiff_pre2(const ef_add_params *p, int32_t b)
{
    return ef_requantize((b + p->input2_offset) * (1 << p->left_shift), p->input2_multiplier, p->input2_shift);
}

static inline int8_t sqdiff_post(const ef_add_params *p, int32_t sa, int32_t sb)
{
    const int32_t d = sa - sb; /* |d| <= 255 << 7: the square fits int32 */
    const int32_t r = ef_requantize(d * d, p->output_multiplier, p->output_shift) + p->output_offset;
    return ef_clamp_to_s8(r, p->activation.min, p->activation.max);
}

EF_BROADCAST_BINARY(sqdiff_rows, ef_add_params, sqdiff_pre1, sqdiff_pre2, sqdiff_post)

ef_status ef_squared_difference_s8(const ef_add_params *params, const ef_dims *input1_dims, const int8_t *input1,
                                   const ef_dims *input2_dims, const int8_t *input2, const ef_dims *output_dims,
                                   int8_t *output)
{
    if (params == 0 || input1 == 0 || input2 == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    int32_t s1[4];
    int32_t s2[4];
    if (!ef_broadcast_check(input1_dims, input2_dims, output_dims, s1, s2)) {
        return EF_ERR_DIMS;
    }
    const ef_add_params p = *params;
    if (p.left_shift < 0 || p.left_shift > 7 || p.input1_shift > 0 || p.input2_shift > 0 ||
        !ef_shift_valid(p.input1_shift) || !ef_shift_valid(p.input2_shift) || !ef_shift_valid(p.output_shift) ||
        !ef_activation_valid(&p.activation)) {
        return EF_ERR_PARAM;
    }
    sqdiff_rows(&p, output_dims, s1, input1, s2, input2, output);
    return EF_OK;
}
