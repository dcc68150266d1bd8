/* CONCATENATION along the innermost axis, copying or requantizing each input. */
#include "internal/ef_nn_internal.h"

ef_status ef_concat_c_s8(const ef_concat_input *inputs, int32_t num_inputs, int32_t outer,
                         int32_t output_offset, int8_t *output)
{
    if (inputs == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (num_inputs <= 0 || outer <= 0) {
        return EF_ERR_DIMS;
    }
    int32_t total = 0;
    for (int32_t i = 0; i < num_inputs; ++i) {
        if (inputs[i].data == 0) {
            return EF_ERR_NULL;
        }
        if (inputs[i].channels <= 0) {
            return EF_ERR_DIMS;
        }
        if (inputs[i].requantize && !ef_shift_valid(inputs[i].shift)) {
            return EF_ERR_PARAM;
        }
        total += inputs[i].channels;
    }
    for (int32_t r = 0; r < outer; ++r) {
        int8_t *dst = output + r * total;
        for (int32_t i = 0; i < num_inputs; ++i) {
            const ef_concat_input *in = &inputs[i];
            const int8_t *src = in->data + r * in->channels;
            if (!in->requantize) {
                for (int32_t c = 0; c < in->channels; ++c) {
                    dst[c] = src[c];
                }
            } else {
                for (int32_t c = 0; c < in->channels; ++c) {
                    const int32_t v = ef_requantize(src[c] + in->input_offset, in->multiplier, in->shift) +
                                      output_offset;
                    dst[c] = ef_clamp_to_s8(v, -128, 127);
                }
            }
            dst += in->channels;
        }
    }
    return EF_OK;
}
