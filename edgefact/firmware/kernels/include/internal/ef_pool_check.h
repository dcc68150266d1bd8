/* Argument validation shared by the pooling kernels (internal). */
#ifndef EF_POOL_CHECK_H
#define EF_POOL_CHECK_H

#include "ef_nn_internal.h"

static inline ef_status ef_pool_check(const ef_pool_params *params, const ef_dims *in,
                                      const int8_t *input, const ef_dims *out, const int8_t *output)
{
    if (params == 0 || input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (!ef_dims_valid(in) || !ef_dims_valid(out) || in->n != out->n || in->c != out->c) {
        return EF_ERR_DIMS;
    }
    if (params->filter.h <= 0 || params->filter.w <= 0) {
        return EF_ERR_PARAM;
    }
    if (!ef_out_size_ok(in->h, params->filter.h, params->stride.h, params->padding.h, out->h) ||
        !ef_out_size_ok(in->w, params->filter.w, params->stride.w, params->padding.w, out->w)) {
        return EF_ERR_DIMS;
    }
    if (!ef_activation_valid(&params->activation)) {
        return EF_ERR_PARAM;
    }
    return EF_OK;
}

#endif /* EF_POOL_CHECK_H */
