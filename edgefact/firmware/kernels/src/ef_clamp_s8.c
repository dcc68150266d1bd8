/* Standalone RELU/RELU6 when input and output share quantization: a clamp in place. */
#include "internal/ef_nn_internal.h"

ef_status ef_clamp_s8(const ef_activation *act, int8_t *data, int32_t size)
{
    if (act == 0 || data == 0) {
        return EF_ERR_NULL;
    }
    if (size < 0) {
        return EF_ERR_DIMS;
    }
    if (!ef_activation_valid(act)) {
        return EF_ERR_PARAM;
    }
    for (int32_t i = 0; i < size; ++i) {
        data[i] = ef_clamp_to_s8(data[i], act->min, act->max);
    }
    return EF_OK;
}
