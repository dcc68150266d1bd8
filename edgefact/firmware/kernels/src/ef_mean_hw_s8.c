/* MEAN over H and W (TFLite's integer path for 4-D inputs reduced over axes 1 and 2):
 * sum of (x - zp_in), rescaled by s_in/s_out, divided by H*W rounding half away from zero. */
#include "ef_nn_internal.h"

ef_status ef_mean_hw_s8(const ef_mean_params *params,
                        const ef_dims *input_dims, const int8_t *input,
                        const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (!ef_dims_valid(input_dims) || !ef_dims_valid(output_dims) ||
        output_dims->n != input_dims->n || output_dims->c != input_dims->c ||
        output_dims->h != 1 || output_dims->w != 1) {
        return EF_ERR_DIMS;
    }
    if (!ef_activation_valid(&params->activation) || !ef_shift_valid(params->shift)) {
        return EF_ERR_PARAM;
    }
    const ef_dims *in = input_dims;
    const int32_t count = in->h * in->w;
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * count * in->c;
        for (int32_t c = 0; c < in->c; ++c) {
            int32_t acc = 0;
            for (int32_t i = 0; i < count; ++i) {
                acc += img[i * in->c + c] + params->input_offset;
            }
            acc = ef_requantize(acc, params->multiplier, params->shift);
            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
            acc += params->output_offset;
            output[b * in->c + c] = ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
        }
    }
    return EF_OK;
}
