/* CONV_2D, generic: any kernel size and stride, SAME/VALID padding, grouped convolution. */
#include "ef_nn_internal.h"

int32_t ef_conv_s8_get_buffer_size(const ef_dims *input_dims, const ef_dims *filter_dims)
{
    if (input_dims == 0 || filter_dims == 0) {
        return 0;
    }
    if (filter_dims->h == 1 && filter_dims->w == 1 && filter_dims->c == input_dims->c) {
        return 0;
    }
    return (2 * filter_dims->h * filter_dims->w * filter_dims->c + 3) & ~3;
}

/* Fills `col` with the (input + offset) values under the window at (iy0, ix0) for one group;
 * taps outside the input are 0 so they add nothing, as in TFLite. */
static void fill_column(int16_t *col, const int8_t *input, const ef_dims *in, int32_t b,
                        int32_t iy0, int32_t ix0, int32_t kh, int32_t kw, int32_t c0, int32_t fc,
                        int32_t input_offset)
{
    int32_t k = 0;
    for (int32_t ky = 0; ky < kh; ++ky) {
        const int32_t iy = iy0 + ky;
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t ix = ix0 + kx;
            if (iy < 0 || iy >= in->h || ix < 0 || ix >= in->w) {
                for (int32_t ci = 0; ci < fc; ++ci) {
                    col[k++] = 0;
                }
            } else {
                const int8_t *src = input + (((b * in->h + iy) * in->w + ix) * in->c + c0);
                for (int32_t ci = 0; ci < fc; ++ci) {
                    col[k++] = (int16_t)(src[ci] + input_offset);
                }
            }
        }
    }
}

ef_status ef_conv_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                     const ef_dims *input_dims, const int8_t *input,
                     const ef_dims *filter_dims, const int8_t *filter,
                     const int32_t *bias,
                     const ef_dims *output_dims, int8_t *output,
                     void *scratch)
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
    const int32_t kh = filter_dims->h;
    const int32_t kw = filter_dims->w;
    const int32_t fc = filter_dims->c;
    if (in->c % fc != 0 || filter_dims->n != out->c || out->n != in->n) {
        return EF_ERR_DIMS;
    }
    const int32_t groups = in->c / fc;
    if (out->c % groups != 0) {
        return EF_ERR_DIMS;
    }
    if (params->dilation.h != 1 || params->dilation.w != 1) {
        return EF_ERR_UNSUPPORTED;
    }
    if (!ef_out_size_ok(in->h, kh, params->stride.h, params->padding.h, out->h) ||
        !ef_out_size_ok(in->w, kw, params->stride.w, params->padding.w, out->w)) {
        return EF_ERR_DIMS;
    }
    if (!ef_activation_valid(&params->activation)) {
        return EF_ERR_PARAM;
    }
    if (kh == 1 && kw == 1 && groups == 1 && params->padding.h == 0 && params->padding.w == 0) {
        return ef_conv_1x1_s8(params, quant, input_dims, input, filter_dims, filter, bias,
                              output_dims, output);
    }
    if (scratch == 0) {
        return EF_ERR_NULL;
    }
    for (int32_t oc = 0; oc < out->c; ++oc) {
        if (!ef_shift_valid(quant->shift[oc])) {
            return EF_ERR_PARAM;
        }
    }

    int16_t *col = (int16_t *)scratch;
    const int32_t col_len = kh * kw * fc;
    const int32_t oc_per_group = out->c / groups;
    const int32_t in_off = params->input_offset;
    const int32_t out_off = params->output_offset;
    const int32_t act_min = params->activation.min;
    const int32_t act_max = params->activation.max;
    int8_t *dst = output;

    for (int32_t b = 0; b < in->n; ++b) {
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy0 = oy * params->stride.h - params->padding.h;
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t ix0 = ox * params->stride.w - params->padding.w;
                for (int32_t g = 0; g < groups; ++g) {
                    fill_column(col, input, in, b, iy0, ix0, kh, kw, g * fc, fc, in_off);
                    const int32_t oc_end = (g + 1) * oc_per_group;
                    for (int32_t oc = g * oc_per_group; oc < oc_end; ++oc) {
                        int32_t acc = ef_dot_s16_s8(col, filter + oc * col_len, col_len);
                        if (bias != 0) {
                            acc += bias[oc];
                        }
                        acc = ef_requantize(acc, quant->multiplier[oc], quant->shift[oc]) + out_off;
                        dst[oc] = ef_clamp_to_s8(acc, act_min, act_max);
                    }
                }
                dst += out->c;
            }
        }
    }
    return EF_OK;
}
