/* PRELU: x + input_offset >= 0 is rescaled to the output, a negative value is multiplied by
 * alpha + alpha_offset first (TFLite's int8 PRELU); alpha broadcasts against the input (per
 * channel, per pixel or any NumPy pattern over 4-D shapes), row by row on the merged shapes;
 * Helium computes four lanes per step. */
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

#if defined(EF_NN_USE_MVE)
/* One row of n outputs, four lanes per step: both requantizations of each lane, the sign of the
 * offset input selecting one (VPSEL); alpha contiguous (sa = 1) or repeated (sa = 0). The input
 * is contiguous unless the whole row repeats one value (si = 0: the scalar path). */
static void prelu_row_mve(const ef_prelu_params *p, const int8_t *x, int32_t si, const int8_t *a, int32_t sa,
                          int8_t *y, int32_t n)
{
    if (si == 0) {
        for (int32_t i = 0; i < n; ++i) {
            y[i] = prelu_post(p, prelu_pre_input(p, x[0]), prelu_pre_alpha(p, a[sa != 0 ? i : 0]));
        }
        return;
    }
    const int32x4_t m1 = vdupq_n_s32(p->positive_multiplier);
    const int32x4_t s1 = vdupq_n_s32(p->positive_shift);
    const int32x4_t m2 = vdupq_n_s32(p->negative_multiplier);
    const int32x4_t s2 = vdupq_n_s32(p->negative_shift);
    const int32_t alpha0 = prelu_pre_alpha(p, a[0]);
    for (int32_t i = 0; i < n; i += 4) {
        const mve_pred16_t pr = vctp32q((uint32_t)(n - i));
        const int32x4_t v = vaddq_n_s32(vldrbq_z_s32(x + i, pr), p->input_offset);
        const int32x4_t va = sa != 0 ? vaddq_n_s32(vldrbq_z_s32(a + i, pr), p->alpha_offset) : vdupq_n_s32(alpha0);
        const int32x4_t pos = ef_requantize_x4(v, m1, s1);
        const int32x4_t neg = ef_requantize_x4(vmulq_s32(v, va), m2, s2);
        int32x4_t r = vpselq_s32(pos, neg, vcmpgeq_n_s32(v, 0));
        r = vaddq_n_s32(r, p->output_offset);
        r = vminq_s32(vmaxq_s32(r, vdupq_n_s32(-128)), vdupq_n_s32(127));
        vstrbq_p_s32(y + i, r, pr);
    }
}

static void prelu_rows(const ef_prelu_params *p, const ef_dims *out, const int32_t s1[4], const int8_t *x1,
                       const int32_t s2[4], const int8_t *x2, int8_t *y)
{
    for (int32_t n = 0; n < out->n; ++n) {
        for (int32_t h = 0; h < out->h; ++h) {
            for (int32_t w = 0; w < out->w; ++w) {
                prelu_row_mve(p, x1 + n * s1[0] + h * s1[1] + w * s1[2], s1[3],
                              x2 + n * s2[0] + h * s2[1] + w * s2[2], s2[3], y, out->c);
                y += out->c;
            }
        }
    }
}
#else
EF_BROADCAST_BINARY(prelu_rows, ef_prelu_params, prelu_pre_input, prelu_pre_alpha, prelu_post)
#endif

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
