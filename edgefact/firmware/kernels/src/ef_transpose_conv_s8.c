/* TRANSPOSE_CONV, int8, TFLite Micro's arithmetic. TFLM scatters every input pixel through the
 * filter into an int32 buffer of the output's size, then adds the bias and requantizes per
 * channel. The sums are the same integers in any order, so here each output pixel gathers them
 * instead: input row iy reaches output row oy through tap ky when oy + pad_h - ky = iy * stride_h.
 * The in-range taps of a row and of a column are listed once per output row / pixel, and each
 * (tap, input pixel) adds one channel dot product (SMLAD / Helium in ef_dot_s8_s8_offset), so the
 * kernel needs no scratch. Filters up to 16 x 16. */
#include "internal/ef_nn_internal.h"

/* The taps of one output coordinate: tap k and input coordinate i with o + pad - k = i * stride. */
static int32_t ef_tconv_taps(int32_t o, int32_t pad, int32_t stride, int32_t k_size, int32_t in_size,
                             int32_t *taps, int32_t *ins)
{
    int32_t n = 0;
    for (int32_t k = 0; k < k_size; ++k) {
        const int32_t t = o + pad - k;
        if (t < 0 || t % stride != 0 || t / stride >= in_size) {
            continue;
        }
        taps[n] = k;
        ins[n] = t / stride;
        ++n;
    }
    return n;
}

/* Largest filter height / width (the in-range taps of a row and a column live on the stack). */
#define EF_TCONV_MAX_TAPS 16

ef_status ef_transpose_conv_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                               const ef_dims *input_dims, const int8_t *input,
                               const ef_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias,
                               const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || quant == 0 || quant->multiplier == 0 || quant->shift == 0 || input == 0 ||
        filter == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    const ef_dims *in = input_dims;
    const ef_dims *f = filter_dims;
    const ef_dims *o = output_dims;
    if (!ef_dims_valid(in) || !ef_dims_valid(f) || !ef_dims_valid(o) || f->c != in->c || f->n != o->c ||
        o->n != in->n) {
        return EF_ERR_DIMS;
    }
    if (params->dilation.h != 1 || params->dilation.w != 1 || f->h > EF_TCONV_MAX_TAPS ||
        f->w > EF_TCONV_MAX_TAPS) {
        return EF_ERR_UNSUPPORTED;
    }
    if (params->stride.h < 1 || params->stride.w < 1 || params->padding.h < 0 || params->padding.w < 0 ||
        !ef_activation_valid(&params->activation)) {
        return EF_ERR_PARAM;
    }
    for (int32_t oc = 0; oc < o->c; ++oc) {
        if (!ef_shift_valid(quant->shift[oc])) {
            return EF_ERR_PARAM;
        }
    }
    const int32_t ic = in->c;
    const int32_t in_off = params->input_offset;
    const int32_t f_oc = f->h * f->w * ic; /* filter values per output channel */
    int32_t ty[EF_TCONV_MAX_TAPS], iy[EF_TCONV_MAX_TAPS], tx[EF_TCONV_MAX_TAPS], ix[EF_TCONV_MAX_TAPS];
    for (int32_t b = 0; b < o->n; ++b) {
        const int8_t *img = input + b * in->h * in->w * ic;
        for (int32_t oy = 0; oy < o->h; ++oy) {
            const int32_t ny = ef_tconv_taps(oy, params->padding.h, params->stride.h, f->h, in->h, ty, iy);
            for (int32_t ox = 0; ox < o->w; ++ox) {
                const int32_t nx = ef_tconv_taps(ox, params->padding.w, params->stride.w, f->w, in->w, tx, ix);
                for (int32_t oc = 0; oc < o->c; ++oc) {
                    int32_t acc = bias != 0 ? bias[oc] : 0;
                    const int8_t *fo = filter + oc * f_oc;
                    for (int32_t j = 0; j < ny; ++j) {
                        const int8_t *frow = fo + ty[j] * f->w * ic;
                        const int8_t *irow = img + iy[j] * in->w * ic;
                        for (int32_t i = 0; i < nx; ++i) {
                            acc += ef_dot_s8_s8_offset(irow + ix[i] * ic, in_off, frow + tx[i] * ic, ic);
                        }
                    }
                    acc = ef_requantize(acc, quant->multiplier[oc], quant->shift[oc]) + params->output_offset;
                    *output++ = ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
                }
            }
        }
    }
    return EF_OK;
}
