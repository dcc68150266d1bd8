/* SUB: both inputs shifted left by `left_shift`, rescaled to a common scale, subtracted and
 * rescaled to the output scale (TFLite's int8 SUB), with NumPy broadcasting over 4-D shapes (a
 * repeated operand rescaled once per row); Helium runs equal shapes four lanes at a time. */
#include "internal/ef_broadcast.h"

static inline int32_t sub_pre1(const ef_add_params *p, int32_t a)
{
    return ef_requantize((a + p->input1_offset) * (1 << p->left_shift), p->input1_multiplier, p->input1_shift);
}

static inline int32_t sub_pre2(const ef_add_params *p, int32_t b)
{
    return ef_requantize((b + p->input2_offset) * (1 << p->left_shift), p->input2_multiplier, p->input2_shift);
}

static inline int8_t sub_post(const ef_add_params *p, int32_t sa, int32_t sb)
{
    const int32_t r = ef_requantize(sa - sb, p->output_multiplier, p->output_shift) + p->output_offset;
    return ef_clamp_to_s8(r, p->activation.min, p->activation.max);
}

EF_BROADCAST_BINARY(sub_rows, ef_add_params, sub_pre1, sub_pre2, sub_post)

#if defined(EF_NN_USE_MVE)
/* Equal shapes, four elements per step (tail-predicated) through the 4-lane requantization, as
 * ef_add_s8's Helium body: (x + offset) << left_shift cannot overflow (|x + offset| <= 255,
 * left_shift <= 22), so the wrapping VSHL equals the scalar multiply. */
static void sub_mve(const ef_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output,
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
        int32x4_t r = vaddq_n_s32(ef_requantize_x4(vsubq_s32(a, b), mo, so), p->output_offset);
        r = vminq_s32(vmaxq_s32(r, lo), hi);
        vstrbq_p_s32(output + i, r, pr);
    }
}
#endif

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
#if defined(EF_NN_USE_MVE)
    if (ef_same_dims(input1_dims, output_dims) && ef_same_dims(input2_dims, output_dims)) {
        const ef_dims *o = output_dims;
        sub_mve(&p, input1, input2, output, o->n * o->h * o->w * o->c);
        return EF_OK;
    }
#endif
    sub_rows(&p, output_dims, s1, input1, s2, input2, output);
    return EF_OK;
}
