/* DEPTHWISE_CONV_2D specialised for 3x3 filters, depth multiplier 1, padding <= 1: the inner
 * loop runs over channels with the 9 taps unrolled, so the common MobileNet-style layer avoids
 * per-tap bounds checks in the interior. */
#include "internal/ef_dw_check.h"

#if defined(EF_NN_USE_DSP)
static inline int8_t dw_out(int32_t acc, const int32_t *bias, int32_t c, const int32_t *mult,
                            const int32_t *shift, int32_t out_off, int32_t act_min, int32_t act_max)
{
    if (bias != 0) {
        acc += bias[c];
    }
    acc = ef_requantize(acc, mult[c], shift[c]) + out_off;
    return ef_clamp_to_s8(acc, act_min, act_max);
}

/* Four channels per pass (C % 4 == 0): each tap loads 4 inputs and 4 weights as words,
 * SXTAB16/SXTB16 split them into halfword pairs, and SMLABB/SMLATT accumulate per channel.
 * Border pixels use the same loop over their in-bounds taps. */
static void dw3x3_dsp(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                      const int8_t *input, const int8_t *filter, const int32_t *bias, const ef_dims *out,
                      int8_t *output)
{
    const int32_t C = in->c;
    const int32_t row = in->w * C;
    const uint32_t off2 = ((uint32_t)(uint16_t)params->input_offset << 16) | (uint16_t)params->input_offset;
    const int32_t *qm = quant->multiplier;
    const int32_t *qs = quant->shift;
    const int32_t out_off = params->output_offset;
    const int32_t act_min = params->activation.min;
    const int32_t act_max = params->activation.max;
    const int32_t stride_h = params->stride.h;
    const int32_t stride_w = params->stride.w;
    const int32_t pad_h = params->padding.h;
    const int32_t pad_w = params->padding.w;
    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * in->h * row;
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy0 = oy * stride_h - pad_h;
            const int32_t ky0 = EF_MAX(0, -iy0);
            const int32_t ky1 = EF_MIN(3, in->h - iy0);
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t ix0 = ox * stride_w - pad_w;
                const int32_t kx0 = EF_MAX(0, -ix0);
                const int32_t kx1 = EF_MIN(3, in->w - ix0);
                for (int32_t c = 0; c < C; c += 4) {
                    int32_t a0 = 0;
                    int32_t a1 = 0;
                    int32_t a2 = 0;
                    int32_t a3 = 0;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *src = img + (iy0 + ky) * row + (ix0 + kx0) * C + c;
                        const int8_t *f = filter + (ky * 3 + kx0) * C + c;
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            const uint32_t x = ef_read_u32(src);
                            const uint32_t w = ef_read_u32(f);
                            const uint32_t x02 = __sxtab16(off2, x);
                            const uint32_t x13 = ef_sxtab16_ror8(off2, x);
                            const uint32_t w02 = __sxtb16(w);
                            const uint32_t w13 = ef_sxtb16_ror8(w);
                            a0 = __smlabb((int32_t)x02, (int32_t)w02, a0);
                            a2 = __smlatt((int32_t)x02, (int32_t)w02, a2);
                            a1 = __smlabb((int32_t)x13, (int32_t)w13, a1);
                            a3 = __smlatt((int32_t)x13, (int32_t)w13, a3);
                            src += C;
                            f += C;
                        }
                    }
                    dst[c] = dw_out(a0, bias, c, qm, qs, out_off, act_min, act_max);
                    dst[c + 1] = dw_out(a1, bias, c + 1, qm, qs, out_off, act_min, act_max);
                    dst[c + 2] = dw_out(a2, bias, c + 2, qm, qs, out_off, act_min, act_max);
                    dst[c + 3] = dw_out(a3, bias, c + 3, qm, qs, out_off, act_min, act_max);
                }
                dst += out->c;
            }
        }
    }
}
#endif

#if defined(EF_NN_USE_MVE)
/* MVE (Cortex-M55): eight channels per step as int16 lanes ((x + offset) fits 16 bits), the
 * products widened into even/odd int32 accumulators by VMULLB/VMULLT, multipliers and shifts
 * de-interleaved to match by VLD2, results re-interleaved by VMOVNB/VMOVNT into one narrowing
 * store; the last C % 8 channels four per int32x4 vector (tail-predicated): per tap one widening
 * byte load of inputs and of weights, the input offset, a VMUL and a VADD (MVE has no
 * vector-by-vector VMLA); the four results are requantized together (ef_store_requantized_x4). */
static void dw3x3_mve(const ef_dw_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                      const int8_t *input, const int8_t *filter, const int32_t *bias, const ef_dims *out,
                      int8_t *output)
{
    const int32_t C = in->c;
    const int32_t row = in->w * C;
    const int32_t in_off = params->input_offset;
    const int32_t *qm = quant->multiplier;
    const int32_t *qs = quant->shift;
    const int32_t out_off = params->output_offset;
    const int32_t act_min = params->activation.min;
    const int32_t act_max = params->activation.max;
    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * in->h * row;
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy0 = oy * params->stride.h - params->padding.h;
            const int32_t ky0 = EF_MAX(0, -iy0);
            const int32_t ky1 = EF_MIN(3, in->h - iy0);
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t ix0 = ox * params->stride.w - params->padding.w;
                const int32_t kx0 = EF_MAX(0, -ix0);
                const int32_t kx1 = EF_MIN(3, in->w - ix0);
                int32_t c = 0;
                for (; c + 8 <= C; c += 8) {
                    int32x4_t acc_e = vdupq_n_s32(0);
                    int32x4_t acc_o = vdupq_n_s32(0);
                    if (bias != 0) {
                        const int32x4x2_t bv = vld2q_s32(bias + c);
                        acc_e = bv.val[0];
                        acc_o = bv.val[1];
                    }
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *src = img + (iy0 + ky) * row + (ix0 + kx0) * C + c;
                        const int8_t *f = filter + (ky * 3 + kx0) * C + c;
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            const int16x8_t x = vaddq_n_s16(vldrbq_s16(src), (int16_t)in_off);
                            const int16x8_t w = vldrbq_s16(f);
                            acc_e = vaddq_s32(acc_e, vmullbq_int_s16(x, w));
                            acc_o = vaddq_s32(acc_o, vmulltq_int_s16(x, w));
                            src += C;
                            f += C;
                        }
                    }
                    const int32x4x2_t mv = vld2q_s32(qm + c);
                    const int32x4x2_t sv = vld2q_s32(qs + c);
                    acc_e = vaddq_n_s32(ef_requantize_x4(acc_e, mv.val[0], sv.val[0]), out_off);
                    acc_o = vaddq_n_s32(ef_requantize_x4(acc_o, mv.val[1], sv.val[1]), out_off);
                    acc_e = vminq_s32(vmaxq_s32(acc_e, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
                    acc_o = vminq_s32(vmaxq_s32(acc_o, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
                    vstrbq_s16(dst + c, vmovntq_s32(vmovnbq_s32(vdupq_n_s16(0), acc_e), acc_o));
                }
                for (; c < C; c += 4) {
                    const mve_pred16_t p = vctp32q((uint32_t)(C - c));
                    int32x4_t acc = bias != 0 ? vldrwq_z_s32(bias + c, p) : vdupq_n_s32(0);
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *src = img + (iy0 + ky) * row + (ix0 + kx0) * C + c;
                        const int8_t *f = filter + (ky * 3 + kx0) * C + c;
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            const int32x4_t x = vaddq_n_s32(vldrbq_z_s32(src, p), in_off);
                            acc = vaddq_s32(acc, vmulq_s32(x, vldrbq_z_s32(f, p)));
                            src += C;
                            f += C;
                        }
                    }
                    ef_store_requantized_x4(dst + c, acc, qm + c, qs + c, out_off, act_min, act_max, p);
                }
                dst += out->c;
            }
        }
    }
}
#endif

ef_status ef_depthwise_conv_3x3_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
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
    if (filter_dims->h != 3 || filter_dims->w != 3 || params->ch_mult != 1 ||
        params->padding.h > 1 || params->padding.w > 1) {
        return EF_ERR_UNSUPPORTED;
    }
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    const int32_t C = in->c;
#if defined(EF_NN_USE_MVE)
    dw3x3_mve(params, quant, in, input, filter, bias, out, output);
    return EF_OK;
#elif defined(EF_NN_USE_DSP)
    if ((C & 3) == 0) {
        dw3x3_dsp(params, quant, in, input, filter, bias, out, output);
        return EF_OK;
    }
#endif
    const int32_t row = in->w * C;
    const int32_t in_off = params->input_offset;

    int8_t *dst = output;
    for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = input + b * in->h * row;
        for (int32_t oy = 0; oy < out->h; ++oy) {
            const int32_t iy0 = oy * params->stride.h - params->padding.h;
            for (int32_t ox = 0; ox < out->w; ++ox) {
                const int32_t ix0 = ox * params->stride.w - params->padding.w;
                const int interior = iy0 >= 0 && iy0 + 3 <= in->h && ix0 >= 0 && ix0 + 3 <= in->w;
                const int32_t base_index = iy0 * row + ix0 * C; /* negative at the top/left border */
                if (interior) {
                    const int8_t *base = img + base_index;
                    for (int32_t c = 0; c < C; ++c) {
                        const int8_t *p = base + c;
                        const int8_t *f = filter + c;
                        int32_t acc = 0;
                        acc += (p[0] + in_off) * f[0];
                        acc += (p[C] + in_off) * f[C];
                        acc += (p[2 * C] + in_off) * f[2 * C];
                        acc += (p[row] + in_off) * f[3 * C];
                        acc += (p[row + C] + in_off) * f[4 * C];
                        acc += (p[row + 2 * C] + in_off) * f[5 * C];
                        acc += (p[2 * row] + in_off) * f[6 * C];
                        acc += (p[2 * row + C] + in_off) * f[7 * C];
                        acc += (p[2 * row + 2 * C] + in_off) * f[8 * C];
                        if (bias != 0) {
                            acc += bias[c];
                        }
                        acc = ef_requantize(acc, quant->multiplier[c], quant->shift[c]) + params->output_offset;
                        dst[c] = ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
                    }
                } else {
                    const int32_t ky_begin = EF_MAX(0, -iy0);
                    const int32_t ky_end = EF_MIN(3, in->h - iy0);
                    const int32_t kx_begin = EF_MAX(0, -ix0);
                    const int32_t kx_end = EF_MIN(3, in->w - ix0);
                    for (int32_t c = 0; c < C; ++c) {
                        int32_t acc = 0;
                        for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
                            for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
                                acc += (img[base_index + ky * row + kx * C + c] + in_off) * filter[(ky * 3 + kx) * C + c];
                            }
                        }
                        if (bias != 0) {
                            acc += bias[c];
                        }
                        acc = ef_requantize(acc, quant->multiplier[c], quant->shift[c]) + params->output_offset;
                        dst[c] = ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
                    }
                }
                dst += out->c;
            }
        }
    }
    return EF_OK;
}
