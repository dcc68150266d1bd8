/* RESIZE_NEAREST_NEIGHBOR: every output pixel is one input pixel, chosen by the generator's row
 * and column tables (TFLite Micro picks them with float arithmetic; computing them ahead of time
 * keeps floats off the device and makes the kernel a copy of channel vectors). */
#include <string.h>

#include "internal/ef_nn_internal.h"

ef_status ef_resize_nearest_s8(const ef_dims *input_dims, const int8_t *input, const int32_t *rows,
                               const int32_t *cols, const ef_dims *output_dims, int8_t *output)
{
    if (input == 0 || rows == 0 || cols == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (!ef_dims_valid(input_dims) || !ef_dims_valid(output_dims) || input_dims->n != output_dims->n ||
        input_dims->c != output_dims->c) {
        return EF_ERR_DIMS;
    }
    const ef_dims *in = input_dims;
    const ef_dims *o = output_dims;
    for (int32_t y = 0; y < o->h; ++y) {
        if (rows[y] < 0 || rows[y] >= in->h) {
            return EF_ERR_PARAM;
        }
    }
    for (int32_t x = 0; x < o->w; ++x) {
        if (cols[x] < 0 || cols[x] >= in->w) {
            return EF_ERR_PARAM;
        }
    }
    const int32_t c = in->c;
    for (int32_t b = 0; b < o->n; ++b) {
        const int8_t *img = input + b * in->h * in->w * c;
        for (int32_t y = 0; y < o->h; ++y) {
            const int8_t *src_row = img + rows[y] * in->w * c;
            if (y > 0 && rows[y] == rows[y - 1]) {
                /* the same source row again: copy the output row just written */
                memcpy(output, output - o->w * c, (size_t)(o->w * c));
                output += o->w * c;
                continue;
            }
            for (int32_t x = 0; x < o->w; ++x) {
                memcpy(output, src_row + cols[x] * c, (size_t)c);
                output += c;
            }
        }
    }
    return EF_OK;
}
