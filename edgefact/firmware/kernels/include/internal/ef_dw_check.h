/* Argument validation shared by the two depthwise kernels (internal). */
#ifndef EF_DW_CHECK_H
#define EF_DW_CHECK_H

#include "ef_nn_internal.h"

/* Always inlined: the depthwise kernels sharing a file (3x3, dilated 3x3) are linked one at a
 * time (function sections), so a shared out-of-line copy only adds a call. */
static inline __attribute__((always_inline)) ef_status ef_dw_check(const ef_dw_conv_params *params,
                                                                  const ef_per_channel_quant *quant,
                                                                  const ef_dims *in, const int8_t *input,
                                                                  const ef_dims *filter_dims, const int8_t *filter,
                                                                  const ef_dims *out, const int8_t *output)
{
    if (params == 0 || quant == 0 || quant->multiplier == 0 || quant->shift == 0 || input == 0 ||
        filter == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (!ef_dims_valid(in) || !ef_dims_valid(filter_dims) || !ef_dims_valid(out)) {
        return EF_ERR_DIMS;
    }
    if (params->ch_mult <= 0 || out->c != in->c * params->ch_mult || filter_dims->c != out->c ||
        filter_dims->n != 1 || out->n != in->n) {
        return EF_ERR_DIMS;
    }
    if (params->dilation.h != 1 || params->dilation.w != 1) {
        return EF_ERR_UNSUPPORTED;
    }
    if (!ef_out_size_ok(in->h, filter_dims->h, params->stride.h, params->padding.h, out->h) ||
        !ef_out_size_ok(in->w, filter_dims->w, params->stride.w, params->padding.w, out->w)) {
        return EF_ERR_DIMS;
    }
    if (!ef_activation_valid(&params->activation)) {
        return EF_ERR_PARAM;
    }
    for (int32_t oc = 0; oc < out->c; ++oc) {
        if (!ef_shift_valid(quant->shift[oc])) {
            return EF_ERR_PARAM;
        }
    }
    return EF_OK;
}

#endif /* EF_DW_CHECK_H */
