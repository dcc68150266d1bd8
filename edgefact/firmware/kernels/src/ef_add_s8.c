/* ADD: each input is shifted left by `left_shift`, rescaled to a common scale, summed and
 * rescaled to the output scale (TFLite's int8 ADD). */
#include "internal/ef_broadcast.h"

static inline int8_t add_one(const ef_add_params *p, int32_t a, int32_t b)
{
    const int32_t sa = ef_requantize((a + p->input1_offset) * (1 << p->left_shift),
                                     p->input1_multiplier, p->input1_shift);
    const int32_t sb = ef_requantize((b + p->input2_offset) * (1 << p->left_shift),
                                     p->input2_multiplier, p->input2_shift);
    const int32_t r = ef_requantize(sa + sb, p->output_multiplier, p->output_shift) + p->output_offset;
    return ef_clamp_to_s8(r, p->activation.min, p->activation.max);
}

#if defined(EF_NN_USE_MVE)
/* Four elements per step (tail-predicated), the same arithmetic as add_one through the 4-lane
 * requantization: (x + offset) << left_shift cannot overflow (|x + offset| <= 255, left_shift
 * <= 22), so the wrapping VSHL equals the scalar multiply by 1 << left_shift. */
static void add_mve(const ef_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output,
                    int32_t size)
{
    const int32x4_t left = vdupq_n_s32(p->left_shift);
    const int32x4_t m1 = vdupq_n_s32(p->input1_multiplier);
    const int32x4_t s1 = vdupq_n_s32(p->input1_shift);
    const int32x4_t m2 = vdupq_n_s32(p->input2_multiplier);
    const int32x4_t s2 = vdupq_n_s32(p->input2_shift);
    const int32x4_t mo = vdupq_n_s32(p->output_multiplier);
    const int32x4_t so = vdupq_n_s32(p->output_shift);
    const int32x4_t lo = vdupq_n_s32(p->activation.min);
    const int32x4_t hi = vdupq_n_s32(p->activation.max);
    for (int32_t i = 0; i < size; i += 4) {
        const mve_pred16_t pr = vctp32q((uint32_t)(size - i));
        int32x4_t a = vshlq_s32(vaddq_n_s32(vldrbq_z_s32(input1 + i, pr), p->input1_offset), left);
        int32x4_t b = vshlq_s32(vaddq_n_s32(vldrbq_z_s32(input2 + i, pr), p->input2_offset), left);
        a = ef_requantize_x4(a, m1, s1);
        b = ef_requantize_x4(b, m2, s2);
        int32x4_t r = vaddq_n_s32(ef_requantize_x4(vaddq_s32(a, b), mo, so), p->output_offset);
        r = vminq_s32(vmaxq_s32(r, lo), hi);
        vstrbq_p_s32(output + i, r, pr);
    }
}
#endif

static int add_params_ok(const ef_add_params *p)
{
    return p->left_shift >= 0 && p->left_shift <= 22 && p->input1_shift <= 0 && p->input2_shift <= 0 &&
           p->output_shift <= 0 && ef_shift_valid(p->input1_shift) && ef_shift_valid(p->input2_shift) &&
           ef_shift_valid(p->output_shift) && ef_activation_valid(&p->activation);
}

ef_status ef_add_s8(const ef_add_params *params, const int8_t *input1, const int8_t *input2,
                    int8_t *output, int32_t size)
{
    if (params == 0 || input1 == 0 || input2 == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (size < 0) {
        return EF_ERR_DIMS;
    }
    if (!add_params_ok(params)) {
        return EF_ERR_PARAM;
    }
    /* a local copy: int8 stores may alias *params, which would force reloads every element */
    const ef_add_params p = *params;
#if defined(EF_NN_USE_MVE)
    add_mve(&p, input1, input2, output, size);
#else
    for (int32_t i = 0; i < size; ++i) {
        output[i] = add_one(&p, input1[i], input2[i]);
    }
#endif
    return EF_OK;
}

ef_status ef_add_broadcast_s8(const ef_add_params *params,
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
    if (!add_params_ok(params)) {
        return EF_ERR_PARAM;
    }
    const ef_dims *o = output_dims;
    const ef_add_params p = *params;
    for (int32_t n = 0; n < o->n; ++n) {
        for (int32_t h = 0; h < o->h; ++h) {
            for (int32_t w = 0; w < o->w; ++w) {
                const int32_t b1 = n * s1[0] + h * s1[1] + w * s1[2];
                const int32_t b2 = n * s2[0] + h * s2[1] + w * s2[2];
                for (int32_t c = 0; c < o->c; ++c) {
                    *output++ = add_one(&p, input1[b1 + c * s1[3]], input2[b2 + c * s2[3]]);
                }
            }
        }
    }
    return EF_OK;
}
