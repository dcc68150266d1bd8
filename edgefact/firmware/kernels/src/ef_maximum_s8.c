/* MAXIMUM: the larger of the two raw int8 values, with NumPy broadcasting (the body shared with
 * MINIMUM: include/internal/ef_minmax.h). */
#include "internal/ef_minmax.h"

static inline int8_t maximum_one(const void *p, int32_t a, int32_t b)
{
    (void)p;
    return ef_minmax_one(a, b, 1);
}

EF_BROADCAST_BINARY(maximum_rows, void, ef_minmax_pre, ef_minmax_pre, maximum_one)

ef_status ef_maximum_s8(const ef_dims *input1_dims, const int8_t *input1, const ef_dims *input2_dims,
                        const int8_t *input2, const ef_dims *output_dims, int8_t *output)
{
    return ef_minmax_s8(input1_dims, input1, input2_dims, input2, output_dims, output, maximum_rows, 1);
}
