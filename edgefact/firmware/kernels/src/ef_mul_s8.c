/* MUL: (a + off1) * (b + off2) rescaled by s1*s2/s_out (TFLite's int8 MUL), equal shapes: one row
 * of the whole tensor through ef_mul_rows (internal/ef_mul_row.h: Helium 8 values per step, DSP 4
 * per step with SXTAB16 / SMULBB and the 5-instruction requantization, portable otherwise). */
#include "internal/ef_mul_row.h"

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
    if (size > 0) {
        ef_mul_rows(&p, input1, 0, p.input1_offset, input2, 0, p.input2_offset, 1, output, 1, size);
    }
    return EF_OK;
}

/* ef_mul_broadcast_s8: ef_mul_broadcast_s8.c */
