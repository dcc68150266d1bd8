/*
 * The two-pixel convolution engine (internal), shared by ef_conv_s8 (any kernel, grouped) and
 * ef_conv_1x1_s8: src/ef_nn_conv_2px_s8.c, one function with a DSP body and an MVE body (no
 * portable body: the portable kernels loop over one pixel at a time). Arguments are checked by
 * the calling kernel.
 */
#ifndef EF_CONV_2PX_H
#define EF_CONV_2PX_H

#include "ef_nn_internal.h"

/* mult/shift are passed as plain pointers (not through the quant struct) so the int8 output
 * stores, which may alias anything, do not force reloads of the struct. */
static inline int8_t ef_conv_output(int32_t acc, const int32_t *bias, int32_t oc, const int32_t *mult,
                                    const int32_t *shift, int32_t out_off, int32_t act_min, int32_t act_max)
{
    if (bias != 0) {
        acc += bias[oc];
    }
    acc = ef_requantize(acc, mult[oc], shift[oc]) + out_off;
    return ef_clamp_to_s8(acc, act_min, act_max);
}

#if defined(EF_NN_USE_DSP) || defined(EF_NN_USE_MVE)
/* Two output pixels x two output channels per pass over im2col columns in `cols`:
 *  - DSP (filter depth % 4 == 0): two interleaved paired int16 columns, 4 * kh * kw * filter c
 *    bytes, 4-byte aligned (ef_conv_s8's scratch, or a stack buffer of ef_conv_1x1_s8);
 *  - MVE: two int8 columns (2 * kh * kw * filter c bytes), or NULL for an ungrouped 1x1 filter
 *    without padding (the input pixels are the columns, nothing is copied). */
void ef_nn_conv_2px_s8(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                       const int8_t *input, const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                       const ef_dims *out, int8_t *output, void *cols);
#endif

#if defined(EF_NN_USE_DSP)
/* Two output pixels x two output channels per pass over two interleaved paired columns
 * ([A02, A13, B02, B13] per group of 4 values): each filter word is sign-extended once for both
 * pixels and each column word is used by both channels, so 16 MACs cost 8 SMLAD, 4 extends and
 * 2 LDRD + 2 LDR (CMSIS-NN-style 2x2 blocking, written here from scratch). acc: [A0, A1, B0, B1]. */
/* The flat-column path (conv_dsp_flat in src/ef_conv_s8.c) writes the column as int16 and reads
 * it here as words: may_alias keeps that well defined under strict aliasing. */
typedef uint32_t ef_col_word __attribute__((may_alias));

static inline void ef_conv_dot_2px_2ch(const ef_col_word *col, const int8_t *f0, const int8_t *f1, int32_t n,
                                       int32_t acc[4])
{
    uint32_t a0 = 0;
    uint32_t a1 = 0;
    uint32_t b0 = 0;
    uint32_t b1 = 0;
    for (int32_t i = n >> 2; i > 0; --i) {
        const uint32_t ca02 = col[0];
        const uint32_t ca13 = col[1];
        const uint32_t cb02 = col[2];
        const uint32_t cb13 = col[3];
        col += 4;
        uint32_t w = ef_read_u32(f0);
        f0 += 4;
        uint32_t we = __sxtb16(w);
        ef_smlad_acc(&a0, ca02, we);
        ef_smlad_acc(&b0, cb02, we);
        we = ef_sxtb16_ror8(w);
        ef_smlad_acc(&a0, ca13, we);
        ef_smlad_acc(&b0, cb13, we);
        w = ef_read_u32(f1);
        f1 += 4;
        we = __sxtb16(w);
        ef_smlad_acc(&a1, ca02, we);
        ef_smlad_acc(&b1, cb02, we);
        we = ef_sxtb16_ror8(w);
        ef_smlad_acc(&a1, ca13, we);
        ef_smlad_acc(&b1, cb13, we);
    }
    acc[0] = (int32_t)a0;
    acc[1] = (int32_t)a1;
    acc[2] = (int32_t)b0;
    acc[3] = (int32_t)b1;
}

#endif

#endif /* EF_CONV_2PX_H */
