/* 4-D broadcasting helpers for the element-wise binary kernels (internal). */
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

/* Checks the three shapes and fills the strides of both inputs (0 on broadcast dims); 0 when a
 * shape is invalid or does not broadcast to the output. */
static inline int ef_broadcast_check(const ef_dims *d1, const ef_dims *d2, const ef_dims *out, int32_t s1[4],
                                     int32_t s2[4])
{
    return ef_dims_valid(d1) && ef_dims_valid(d2) && ef_dims_valid(out) && ef_broadcast_strides(d1, out, s1) &&
           ef_broadcast_strides(d2, out, s2);
}

/*
 * EF_BROADCAST_BINARY(name, P, PRE1, PRE2, POST) defines
 *     static void name(const P *p, const ef_dims *out, const int32_t s1[4], const int8_t *x1,
 *                      const int32_t s2[4], const int8_t *x2, int8_t *y)
 * which writes y[i] = POST(p, PRE1(p, a), PRE2(p, b)) over the output in order, a and b the
 * broadcast input values: PRE1 / PRE2 prepare one input value (offset, rescaling) and POST
 * combines two prepared values into the int8 output (all inline functions on int32 values).
 * The innermost dim runs as a row with each input contiguous (stride 1) or repeated (stride 0);
 * a repeated input is prepared once per row, so a per-channel or per-row operand (the
 * squeeze-and-excitation scale, PReLU's alpha) costs one preparation per row, not per element.
 * The generator merges shapes so that rows are as long as possible (equal shapes: one row).
 * Reads of a full-shape input precede the write of the same element, so the output may
 * overwrite such an input.
 */
#define EF_BROADCAST_BINARY(name, P, PRE1, PRE2, POST)                                                   \
    static void name(const P *p, const ef_dims *out, const int32_t s1[4], const int8_t *x1,             \
                     const int32_t s2[4], const int8_t *x2, int8_t *y)                                   \
    {                                                                                                    \
        const int32_t C = out->c;                                                                        \
        for (int32_t n = 0; n < out->n; ++n) {                                                           \
            for (int32_t h = 0; h < out->h; ++h) {                                                       \
                for (int32_t w = 0; w < out->w; ++w) {                                                   \
                    const int8_t *a = x1 + n * s1[0] + h * s1[1] + w * s1[2];                            \
                    const int8_t *b = x2 + n * s2[0] + h * s2[1] + w * s2[2];                            \
                    if (s1[3] != 0 && s2[3] != 0) {                                                      \
                        for (int32_t c = 0; c < C; ++c) {                                                \
                            y[c] = POST(p, PRE1(p, a[c]), PRE2(p, b[c]));                                \
                        }                                                                                \
                    } else if (s1[3] != 0) {                                                             \
                        const int32_t bv = PRE2(p, b[0]);                                                \
                        for (int32_t c = 0; c < C; ++c) {                                                \
                            y[c] = POST(p, PRE1(p, a[c]), bv);                                           \
                        }                                                                                \
                    } else if (s2[3] != 0) {                                                             \
                        const int32_t av = PRE1(p, a[0]);                                                \
                        for (int32_t c = 0; c < C; ++c) {                                                \
                            y[c] = POST(p, av, PRE2(p, b[c]));                                           \
                        }                                                                                \
                    } else {                                                                             \
                        const int8_t v = POST(p, PRE1(p, a[0]), PRE2(p, b[0]));                          \
                        for (int32_t c = 0; c < C; ++c) {                                                \
                            y[c] = v;                                                                    \
                        }                                                                                \
                    }                                                                                    \
                    y += C;                                                                              \
                }                                                                                        \
            }                                                                                            \
        }                                                                                                \
    }

/* A dims struct equal to another (the kernels take a flat path when all three shapes match). */
static inline int ef_same_dims(const ef_dims *a, const ef_dims *b)
{
    return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c;
}

#endif /* EF_BROADCAST_H */
