/* MEAN over H and W, TFLite Micro's integer path (the same for keep_dims true and false):
 * the count H*W is folded into the multiplier as floor((multiplier << k) / count) with
 * k = floor(log2(count)) (capped so the shift stays valid), then the zero-point-corrected sum
 * is requantized once. (Not sum/count then rescale: that rounds differently.) Helium sums 16
 * channels per block, the DSP extension 4 per word (SXTAB16 halfword pairs). */
#include "internal/ef_mve_pool.h"

ef_status ef_mean_hw_s8(const ef_mean_params *params,
                        const ef_dims *input_dims, const int8_t *input,
                        const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || input == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (!ef_dims_valid(input_dims) || !ef_dims_valid(output_dims) ||
        output_dims->n != input_dims->n || output_dims->c != input_dims->c ||
        output_dims->h != 1 || output_dims->w != 1) {
        return EF_ERR_DIMS;
    }
    if (!ef_activation_valid(&params->activation) || !ef_shift_valid(params->shift) ||
        params->multiplier < 0) {
        return EF_ERR_PARAM;
    }
    const ef_dims *in = input_dims;
    const int32_t count = in->h * in->w;
    int32_t k = 0;
    while (k < 30 && ((int64_t)1 << (k + 1)) <= count) {
        ++k;
    }
    k = EF_MIN(k, 31 + params->shift);
    const int32_t mult = (int32_t)(((int64_t)params->multiplier << k) / count);
    const int32_t shift = params->shift - k;
    const int32_t zp_term = params->input_offset * count;

#if defined(EF_NN_USE_MVE)
    /* 16 channels per block: the sums over the image (4 int32 lanes per vector), then the 4-lane
     * requantization; |sum| <= 128 * count, which the scalar path's int32 accumulator holds too */
    {
        const int32x4_t vm = vdupq_n_s32(mult);
        const int32x4_t vs = vdupq_n_s32(shift);
        const int32x4_t lo = vdupq_n_s32(params->activation.min);
        const int32x4_t hi = vdupq_n_s32(params->activation.max);
        for (int32_t b = 0; b < in->n; ++b) {
            const int8_t *img = input + b * count * in->c;
            for (int32_t c = 0; c < in->c; c += 16) {
                const int32_t cnt = EF_MIN(16, in->c - c);
                const ef_mve_sum16 r = cnt == 16 ? ef_mve_window_sum16(img + c, 1, count, 0, in->c, 16, 1)
                                                 : ef_mve_window_sum16(img + c, 1, count, 0, in->c, cnt, 0);
                for (int q = 0; q < 4; ++q) {
                    int32x4_t v = ef_requantize_x4(vaddq_n_s32(r.s[q], zp_term), vm, vs);
                    v = vminq_s32(vmaxq_s32(vaddq_n_s32(v, params->output_offset), lo), hi);
                    ef_mve_store4(output + b * in->c + c, v, 4 * q, cnt, 0);
                }
            }
        }
        return EF_OK;
    }
#endif
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * count * in->c;
        int32_t c = 0;
#if defined(EF_NN_USE_DSP)
        /* 4 channels per word: SXTAB16 halfword sums (ef_dsp_window_sum4), then the same
         * requantization per channel */
        for (; c + 4 <= in->c; c += 4) {
            int32_t s[4];
            ef_dsp_window_sum4(img + c, 1, count, 0, in->c, s);
            for (int q = 0; q < 4; ++q) {
                const int32_t acc = ef_requantize(s[q] + zp_term, mult, shift) + params->output_offset;
                output[b * in->c + c + q] = ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
            }
        }
#endif
        for (; c < in->c; ++c) {
            int32_t acc = 0;
            for (int32_t i = 0; i < count; ++i) {
                acc += img[i * in->c + c];
            }
            acc = ef_requantize(acc + zp_term, mult, shift) + params->output_offset;
            output[b * in->c + c] = ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
        }
    }
    return EF_OK;
}
