/* DEPTHWISE_CONV_2D, generic: any kernel size, stride, padding and depth multiplier. One body on
 * every target (the fast 3x3 case is ef_depthwise_conv_3x3_s8, which the generator calls). */
#include "internal/ef_dw_check.h"

ef_status ef_depthwise_conv_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                               const ef_dims *input_dims, const int8_t *input,
                               const ef_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias,
                               const ef_dims *output_dims, int8_t *output)
{
    const ef_status st = ef_dw_check(params, quant, input_dims, input, filter_dims, filter,
                                     output_dims, output);
    if (st != EF_OK) {
        return st;
    }
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    const int32_t kh = filter_dims->h;
    const int32_t kw = filter_dims->w;
    const int32_t mult = params->ch_mult;
    const int32_t in_off = params->input_offset;

    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy0 = oy * params->stride.h - params->padding.h;
            const int32_t ky_begin = EF_MAX(0, -iy0);
            const int32_t ky_end = EF_MIN(kh, in->h - iy0);
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t ix0 = ox * params->stride.w - params->padding.w;
                const int32_t kx_begin = EF_MAX(0, -ix0);
                const int32_t kx_end = EF_MIN(kw, in->w - ix0);
                for (int32_t ic = 0; ic < in->c; ++ic) {
                    for (int32_t m = 0; m < mult; ++m) {
                        const int32_t oc = ic * mult + m;
                        int32_t acc = 0;
                        for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
                            const int8_t *src = input + ((b * in->h + iy0 + ky) * in->w + ix0 + kx_begin) * in->c + ic;
                            const int8_t *f = filter + (ky * kw + kx_begin) * out->c + oc;
                            for (int32_t kx = 0; kx < kx_end - kx_begin; ++kx) {
                                acc += (src[kx * in->c] + in_off) * f[kx * out->c];
                            }
                        }
                        if (bias != 0) {
                            acc += bias[oc];
                        }
                        acc = ef_requantize(acc, quant->multiplier[oc], quant->shift[oc]) +
                              params->output_offset;
                        dst[oc] = ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
                    }
                }
                dst += out->c;
            }
        }
    }
    return EF_OK;
}
