/* A strided view of an int8 tensor copied out densely: the one data-movement kernel behind
 * STRIDED_SLICE, SPLIT, SPLIT_V, UNPACK, TRANSPOSE, DEPTH_TO_SPACE and SPACE_TO_DEPTH (they
 * differ only in the view the generator computes). Before copying, the view is checked to stay
 * inside the input: the lowest and highest element it reads follow from the extents and the
 * signs of the strides. The innermost dimension is a memcpy when its stride is 1, else a loop
 * (unrolled by 4). */
#include <string.h>

#include "internal/ef_nn_internal.h"

/* Copies `n` elements at stride `s` (s != 1). */
static void ef_copy_strided_row(const int8_t *src, int32_t s, int8_t *dst, int32_t n)
{
    int32_t i = 0;
    int32_t p = 0;
    for (; i + 4 <= n; i += 4) {
        dst[i] = src[p];
        dst[i + 1] = src[p + s];
        dst[i + 2] = src[p + 2 * s];
        dst[i + 3] = src[p + 3 * s];
        p += 4 * s;
    }
    for (; i < n; ++i) {
        dst[i] = src[p];
        p += s;
    }
}

ef_status ef_strided_copy_s8(const ef_strided_copy_params *params, const int8_t *input, int32_t input_size,
                             int8_t *output)
{
    if (params == 0 || input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    const int32_t nd = params->ndims;
    if (nd < 1 || nd > EF_COPY_MAX_DIMS || input_size < 1) {
        return EF_ERR_DIMS;
    }
    int64_t lo = params->offset;
    int64_t hi = params->offset;
    for (int32_t k = 0; k < nd; ++k) {
        if (params->extent[k] < 1) {
            return EF_ERR_DIMS;
        }
        const int64_t span = (int64_t)(params->extent[k] - 1) * params->stride[k];
        if (span < 0) {
            lo += span;
        } else {
            hi += span;
        }
    }
    if (lo < 0 || hi >= input_size) {
        return EF_ERR_DIMS;
    }
    /* the outer dimensions as an odometer over idx[0 .. nd-2], the innermost as one row */
    int32_t idx[EF_COPY_MAX_DIMS] = {0};
    const int32_t row = params->extent[nd - 1];
    const int32_t s_in = params->stride[nd - 1];
    int32_t pos = params->offset; /* element index, so no pointer leaves the input */
    for (;;) {
        if (s_in == 1) {
            memcpy(output, input + pos, (size_t)row);
        } else {
            ef_copy_strided_row(input + pos, s_in, output, row);
        }
        output += row;
        int32_t k = nd - 2;
        for (; k >= 0; --k) {
            pos += params->stride[k];
            if (++idx[k] < params->extent[k]) {
                break;
            }
            pos -= params->extent[k] * params->stride[k];
            idx[k] = 0;
        }
        if (k < 0) {
            return EF_OK;
        }
    }
}
