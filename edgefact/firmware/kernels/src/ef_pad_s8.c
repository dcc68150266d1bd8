/* PAD of a 4-D NHWC tensor with a constant value. */
#include "internal/ef_nn_internal.h"

ef_status ef_pad_s8(const ef_pad_params *params,
                    const ef_dims *input_dims, const int8_t *input,
                    const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    const ef_dims *in = input_dims;
    const ef_dims *o = output_dims;
    const ef_dims *bf = &params->before;
    const ef_dims *af = &params->after;
    if (!ef_dims_valid(in) || !ef_dims_valid(o)) {
        return EF_ERR_DIMS;
    }
    if (bf->n < 0 || bf->h < 0 || bf->w < 0 || bf->c < 0 || af->n < 0 || af->h < 0 || af->w < 0 ||
        af->c < 0) {
        return EF_ERR_PARAM;
    }
    if (o->n != in->n + bf->n + af->n || o->h != in->h + bf->h + af->h ||
        o->w != in->w + bf->w + af->w || o->c != in->c + bf->c + af->c) {
        return EF_ERR_DIMS;
    }
    const int8_t pv = params->pad_value;
    for (int32_t n = 0; n < o->n; ++n) {
        const int32_t in_n = n - bf->n;
        for (int32_t h = 0; h < o->h; ++h) {
            const int32_t in_h = h - bf->h;
            for (int32_t w = 0; w < o->w; ++w) {
                const int32_t in_w = w - bf->w;
                const int inside = in_n >= 0 && in_n < in->n && in_h >= 0 && in_h < in->h &&
                                   in_w >= 0 && in_w < in->w;
                if (!inside) {
                    for (int32_t c = 0; c < o->c; ++c) {
                        output[c] = pv;
                    }
                } else {
                    const int8_t *src = input + ((in_n * in->h + in_h) * in->w + in_w) * in->c;
                    int32_t c = 0;
                    for (; c < bf->c; ++c) {
                        output[c] = pv;
                    }
                    for (int32_t k = 0; k < in->c; ++k) {
                        output[c++] = src[k];
                    }
                    for (; c < o->c; ++c) {
                        output[c] = pv;
                    }
                }
                output += o->c;
            }
        }
    }
    return EF_OK;
}
