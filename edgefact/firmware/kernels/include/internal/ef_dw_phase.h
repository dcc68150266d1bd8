/* The phases of a dilated stride-1 depthwise layer (internal): shared by the ring / window phases
 * of ef_depthwise_conv_3x3_dilated_s8 and the pixel phases of ef_depthwise_conv_3x3_px_dilated_s8. */
#ifndef EF_DW_PHASE_H
#define EF_DW_PHASE_H

#include "ef_nn_internal.h"

/* One axis of phase r (the outputs r, r + d, r + 2 d, ...; r < d the dilation) of a layer with
 * pad inputs of padding before the first: the outputs read the inputs of one residue, a lattice
 * of step d. v[0] its first input, v[1] its input count, v[2] its padding before the first (in
 * lattice steps), v[3] the phase's output count. */
static inline void ef_dw_phase_axis(int32_t r, int32_t pad, int32_t d, int32_t n_in, int32_t n_out, int32_t v[4])
{
    const int32_t a = r - pad;
    const int32_t q = a >= 0 ? a / d : -((d - 1 - a) / d); /* floor(a / d) */
    v[0] = a - q * d;                                      /* in [0, d) */
    v[1] = v[0] < n_in ? (n_in - v[0] + d - 1) / d : 0;
    v[2] = -q;
    v[3] = r < n_out ? (n_out - r + d - 1) / d : 0;
}

#endif /* EF_DW_PHASE_H */
