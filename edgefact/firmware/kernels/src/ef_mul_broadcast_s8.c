/*
 * MUL with NumPy broadcasting over 4-D shapes: (a + off1) * (b + off2) rescaled by s1*s2/s_out
 * (TFLite's int8 MUL), row by row on the merged shapes the generator passes (ef_broadcast.h): the
 * squeeze-and-excitation scale [1,H,W,C] x [1,1,1,C] arrives as [H*W, C] x [1, C] rows, a scalar
 * constant as a repeated operand. Helium runs every row four lanes at a time through the vector
 * requantization (a repeated operand as a scalar multiply); elsewhere the portable row loop with
 * the repeated operand's offset added once per row. The output may overwrite an input of the
 * output's shape (each vector or element is read before the same positions are written).
 */
#include "internal/ef_broadcast.h"

static inline int32_t mul_pre1(const ef_mul_params *p, int32_t a)
{
    return a + p->input1_offset;
}

static inline int32_t mul_pre2(const ef_mul_params *p, int32_t b)
{
    return b + p->input2_offset;
}

static inline int8_t mul_post(const ef_mul_params *p, int32_t x, int32_t y)
{
    const int32_t r = ef_requantize(x * y, p->output_multiplier, p->output_shift) + p->output_offset;
    return ef_clamp_to_s8(r, p->activation.min, p->activation.max);
}

#if defined(EF_NN_USE_MVE)
/* One row of n outputs; sa / sb: the inputs' strides along the row (1, or 0 for a repeated value).
 * |(a + off1) * (b + off2)| <= 255 * 255, so the 32-bit lane products are exact. */
static void mul_row_mve(const ef_mul_params *p, const int8_t *a, int32_t sa, const int8_t *b, int32_t sb, int8_t *y,
                        int32_t n)
{
    const int32x4_t mo = vdupq_n_s32(p->output_multiplier);
    const int32x4_t so = vdupq_n_s32(p->output_shift);
    const int32x4_t lo = vdupq_n_s32(p->activation.min);
    const int32x4_t hi = vdupq_n_s32(p->activation.max);
    if (sa == 0 && sb == 0) {
        const int8_t v = mul_post(p, mul_pre1(p, a[0]), mul_pre2(p, b[0]));
        for (int32_t i = 0; i < n; ++i) {
            y[i] = v;
        }
        return;
    }
    const int8_t *vec = sa != 0 ? a : b;               /* a contiguous operand */
    const int32_t vec_off = sa != 0 ? p->input1_offset : p->input2_offset;
    const int32_t scalar = sa != 0 ? mul_pre2(p, b[0]) : mul_pre1(p, a[0]); /* the other, if repeated */
    for (int32_t i = 0; i < n; i += 4) {
        const mve_pred16_t pr = vctp32q((uint32_t)(n - i));
        const int32x4_t x = vaddq_n_s32(vldrbq_z_s32(vec + i, pr), vec_off);
        int32x4_t r;
        if (sa != 0 && sb != 0) {
            r = vmulq_s32(x, vaddq_n_s32(vldrbq_z_s32(b + i, pr), p->input2_offset));
        } else {
            r = vmulq_n_s32(x, scalar);
        }
        r = vaddq_n_s32(ef_requantize_x4(r, mo, so), p->output_offset);
        r = vminq_s32(vmaxq_s32(r, lo), hi);
        vstrbq_p_s32(y + i, r, pr);
    }
}

static void mul_rows_mve(const ef_mul_params *p, const ef_dims *out, const int32_t s1[4], const int8_t *x1,
                         const int32_t s2[4], const int8_t *x2, int8_t *y)
{
    for (int32_t n = 0; n < out->n; ++n) {
        for (int32_t h = 0; h < out->h; ++h) {
            for (int32_t w = 0; w < out->w; ++w) {
                mul_row_mve(p, x1 + n * s1[0] + h * s1[1] + w * s1[2], s1[3], x2 + n * s2[0] + h * s2[1] + w * s2[2],
                            s2[3], y, out->c);
                y += out->c;
            }
        }
    }
}
#else
EF_BROADCAST_BINARY(mul_rows, ef_mul_params, mul_pre1, mul_pre2, mul_post)
#endif

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
    if (!ef_broadcast_check(input1_dims, input2_dims, output_dims, s1, s2)) {
        return EF_ERR_DIMS;
    }
    /* a local copy: int8 stores may alias *params, which would force reloads every element */
    const ef_mul_params p = *params;
    if (!ef_shift_valid(p.output_shift) || !ef_activation_valid(&p.activation)) {
        return EF_ERR_PARAM;
    }
#if defined(EF_NN_USE_MVE)
    mul_rows_mve(&p, output_dims, s1, input1, s2, input2, output);
#else
    mul_rows(&p, output_dims, s1, input1, s2, input2, output);
#endif
    return EF_OK;
}
