/* 4-D broadcasting index helper for element-wise kernels (internal). */
#ifndef EF_BROADCAST_H
#define EF_BROADCAST_H

#include "ef_nn_internal.h"

/* Element strides of `d` as seen from an output of shape `out`: 0 along broadcast dims.
 * Returns 0 when `d` cannot broadcast to `out`. */
static inline int ef_broadcast_strides(const ef_dims *d, const ef_dims *out, int32_t s[4])
{
    const int32_t dims[4] = {d->n, d->h, d->w, d->c};
    const int32_t odims[4] = {out->n, out->h, out->w, out->c};
    int32_t stride = 1;
    for (int i = 3; i >= 0; --i) {
        if (dims[i] != odims[i] && dims[i] != 1) {
            return 0;
        }
        s[i] = dims[i] == 1 ? 0 : stride;
        stride *= dims[i];
    }
    return 1;
}

#endif /* EF_BROADCAST_H */
