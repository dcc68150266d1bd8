/*
 * MUL with NumPy broadcasting over 4-D shapes: (a + off1) * (b + off2) rescaled by s1*s2/s_out
 * (TFLite's int8 MUL), row by row on the merged shapes the generator passes (ef_broadcast.h): the
 * squeeze-and-excitation scale [1,H,W,C] x [1,1,1,C] arrives as [H*W, C] x [1, C] rows, a scalar
 * constant as a repeated operand. Helium and DSP run the rows through ef_mul_rows
 * (internal/ef_mul_row.h: 8 int16 lanes per step on Helium, 4 values per SXTAB16 / SMULBB step on
 * DSP, a repeated operand as the scalar factor); the portable body is the row loop of
 * ef_broadcast.h with the repeated operand's offset added once per row. The output may overwrite
 * an input of the output's shape (each vector or element is read before the same positions are
 * written).
 */
#include "internal/ef_broadcast.h"
#include "internal/ef_mul_row.h"

#if defined(EF_NN_USE_MVE) || defined(EF_NN_USE_DSP)
/* The output rows of each (n, h) through one ef_mul_rows call (its set-up once per w run, not
 * per row); a repeated operand becomes its scalar z (MUL commutes, so a repeated input1 swaps
 * the operands), both repeated: one value filled per row. */
static void mul_rows(const ef_mul_params *p, const ef_dims *out, const int32_t s1[4], const int8_t *x1,
                     const int32_t s2[4], const int8_t *x2, int8_t *y)
{
    const int32_t C = out->c;
    const int32_t W = out->w;
    for (int32_t n = 0; n < out->n; ++n) {
        for (int32_t h = 0; h < out->h; ++h) {
            const int8_t *a = x1 + n * s1[0] + h * s1[1];
            const int8_t *b = x2 + n * s2[0] + h * s2[1];
            if (s1[3] != 0) {
                ef_mul_rows(p, a, s1[2], p->input1_offset, b, s2[2], p->input2_offset, s2[3], y, W, C);
            } else if (s2[3] != 0) {
                ef_mul_rows(p, b, s2[2], p->input2_offset, a, s1[2], p->input1_offset, 0, y, W, C);
            } else {
                for (int32_t w = 0; w < W; ++w) {
                    const int8_t v = ef_mul_one(p, a[w * s1[2]] + p->input1_offset, b[w * s2[2]] + p->input2_offset);
                    for (int32_t c = 0; c < C; ++c) {
                        y[w * C + c] = v;
                    }
                }
            }
            y += W * C;
        }
    }
}
#else
static inline int32_t mul_pre1(const ef_mul_params *p, int32_t a)
{
    return a + p->input1_offset;
}

static inline int32_t mul_pre2(const ef_mul_params *p, int32_t b)
{
    return b + p->input2_offset;
}

EF_BROADCAST_BINARY(mul_rows, ef_mul_params, mul_pre1, mul_pre2, ef_mul_one)
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
    mul_rows(&p, output_dims, s1, input1, s2, input2, output);
    return EF_OK;
}
