/* CONV_2D with an ungrouped 1x1 filter: a matrix product, one input pixel per output pixel.
 *
 * Bodies, chosen at compile time (ef_nn_target.h):
 *  - MVE: the two-pixel engine (ef_nn_conv_2px_s8) reading the input pixels in place;
 *  - DSP: the two-pixel engine on two stack columns when depth % 4 == 0, depth <=
 *    EF_CONV_1X1_STACK_DEPTH and every channel is on the fast requantization (ef_conv_rq_fast),
 *    else the portable loop (its two-channel dot products use SMLAD: 26 instructions per 16 MACs,
 *    no worse than the former four-channel loop, which ran out of registers);
 *  - portable: two output channels per pass straight from the input pixel. */
#include "internal/ef_conv_2px.h"

/* largest depth whose two int16 columns go on the stack (DSP path; 2 KB). The generator sends the
 * DSP cores' 12-64-deep layers to ef_conv_1x1_2x2_s8; here the deeper ones (MobileNets' 96-512
 * channel layers) take the 2-pixel engine instead of the portable loop. */
#define EF_CONV_1X1_STACK_DEPTH 512

static inline int8_t output_value(int32_t acc, const int32_t *bias, int32_t oc, const int32_t *mult,
                                  const int32_t *shift, int32_t out_off, int32_t act_min, int32_t act_max)
{
    if (bias != 0) {
        acc += bias[oc];
    }
    acc = ef_requantize(acc, mult[oc], shift[oc]) + out_off;
    return ef_clamp_to_s8(acc, act_min, act_max);
}

/* Output channels go in pairs so both share each widened input word (DSP/MVE dot2). */
ef_status ef_conv_1x1_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                         const ef_dims *input_dims, const int8_t *input,
                         const ef_dims *filter_dims, const int8_t *filter,
                         const int32_t *bias,
                         const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || quant == 0 || quant->multiplier == 0 || quant->shift == 0 || input == 0 ||
        filter == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (!ef_dims_valid(input_dims) || !ef_dims_valid(filter_dims) || !ef_dims_valid(output_dims)) {
        return EF_ERR_DIMS;
    }
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    /* preconditions of this kernel (any other valid CONV_2D goes to ef_conv_s8) */
    if (filter_dims->h != 1 || filter_dims->w != 1 || filter_dims->c != in->c) {
        return EF_ERR_UNSUPPORTED;
    }
    if (filter_dims->n != out->c || out->n != in->n) {
        return EF_ERR_DIMS;
    }
    if (params->padding.h != 0 || params->padding.w != 0 || params->dilation.h != 1 ||
        params->dilation.w != 1) {
        return EF_ERR_UNSUPPORTED;
    }
    if (!ef_out_size_ok(in->h, 1, params->stride.h, 0, out->h) ||
        !ef_out_size_ok(in->w, 1, params->stride.w, 0, out->w)) {
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

#if defined(EF_NN_USE_MVE)
    ef_nn_conv_2px_s8(params, quant, in, input, filter_dims, filter, bias, out, output, 0);
    return EF_OK;
#elif defined(EF_NN_USE_DSP)
    /* Depths up to EF_CONV_1X1_STACK_DEPTH: two stack columns (2 pixels x that many int16 values)
     * let the 2-pixel x 2-channel engine run (~20 instructions per 16 MACs
     * against ~34 for four channels straight from the input, which runs out of registers). */
    if ((in->c & 3) == 0 && in->c <= EF_CONV_1X1_STACK_DEPTH && ef_conv_rq_fast(quant, out->c)) {
        uint32_t cols[EF_CONV_1X1_STACK_DEPTH];
        ef_nn_conv_2px_s8(params, quant, in, input, filter_dims, filter, bias, out, output, cols);
        return EF_OK;
    }
#endif
    const int32_t depth = in->c;
    const int32_t in_off = params->input_offset;
    const int32_t out_off = params->output_offset;
    const int32_t act_min = params->activation.min;
    const int32_t act_max = params->activation.max;
    const int32_t *qm = quant->multiplier;
    const int32_t *qs = quant->shift;
    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy = oy * params->stride.h;
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t ix = ox * params->stride.w;
                const int8_t *src = input + ((b * in->h + iy) * in->w + ix) * depth;
                int32_t oc = 0;
                for (; oc + 1 < out->c; oc += 2) {
                    int32_t acc0;
                    int32_t acc1;
                    ef_dot2_s8_s8_offset(src, in_off, filter + oc * depth, filter + (oc + 1) * depth, depth,
                                         &acc0, &acc1);
                    dst[oc] = output_value(acc0, bias, oc, qm, qs, out_off, act_min, act_max);
                    dst[oc + 1] = output_value(acc1, bias, oc + 1, qm, qs, out_off, act_min, act_max);
                }
                if (oc < out->c) {
                    const int32_t acc = ef_dot_s8_s8_offset(src, in_off, filter + oc * depth, depth);
                    dst[oc] = output_value(acc, bias, oc, qm, qs, out_off, act_min, act_max);
                }
                dst += out->c;
            }
        }
    }
    return EF_OK;
}
