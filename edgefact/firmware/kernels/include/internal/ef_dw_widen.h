/* Widening an input line of two depthwise channels into int16 lines (internal, DSP cores). */
#ifndef EF_DW_WIDEN_H
#define EF_DW_WIDEN_H

#include "ef_nn_internal.h"

#include <string.h>

#if defined(EF_NN_USE_DSP)
/* Input line src (NULL: outside the input, zeros) of channels c and c + 1 (two) into ra, rb at
 * entries [0, len), each with the input offset of off2's halves added: entry i at src + i * along.
 * Two entries per step as one SXTAB16 pair (lanes: channel c of entries i, i + 1 / channel c + 1).
 * Shared by the 3x3 ring (ef_depthwise_conv_3x3_s8.c) and the k x 1 lines
 * (ef_depthwise_conv_line_s8.c); always inlined, so each keeps its own specialised copy. */
static inline __attribute__((always_inline)) void ef_dw_widen_pair(int16_t *ra, int16_t *rb, const int8_t *src,
                                                                   int32_t len, int32_t along, uint32_t off2,
                                                                   int two)
{
    int32_t i = 0;
    if (src == 0) {
        for (; i < len; ++i) {
            ra[i] = 0;
            rb[i] = 0;
        }
        return;
    }
    if (two) {
        for (; i + 2 <= len; i += 2) {
            uint16_t h0;
            uint16_t h1;
            memcpy(&h0, src, 2);
            memcpy(&h1, src + along, 2);
            const uint32_t v = (uint32_t)h0 | ((uint32_t)h1 << 16);
            const uint32_t va = __sxtab16(off2, v);
            const uint32_t vb = ef_sxtab16_ror8(off2, v);
            memcpy(ra + i, &va, 4);
            memcpy(rb + i, &vb, 4);
            src += 2 * along;
        }
    }
    const int32_t in_off = (int16_t)off2;
    for (; i < len; ++i) {
        ra[i] = (int16_t)(src[0] + in_off);
        if (two) {
            rb[i] = (int16_t)(src[1] + in_off);
        }
        src += along;
    }
}
#endif

#endif
