/* DEPTHWISE_CONV_2D, generic: any kernel size, stride, padding and depth multiplier. One body on
 * every target (the fast 3x3 case is ef_depthwise_conv_3x3_s8, which the generator calls). */
#include "internal/ef_dw_check.h"

#if defined(EF_NN_USE_MVE)
/*
 * Helium body: 8 output channels per block as int16 lanes. Per in-bounds tap, the 8 input values
 * (consecutive channels with multiplier 1, else a VLDRB gather of channel oc / mult) plus the
 * offset times the 8 filter values, VMULLB / VMULLT into even / odd int32 accumulators (|x + off|
 * <= 255, |w| <= 128: the products are exact). The block's biases and parameters are read
 * de-interleaved (VLD2), requantized 4 lanes at a time and re-interleaved by VMOVNB / VMOVNT into
 * one narrowing store. A channel tail goes through zero-padded copies of its parameters.
 */
static inline __attribute__((always_inline)) void dw_block(const ef_dw_conv_params *params, const int8_t *px,
                                                          int32_t in_c, const int8_t *pw, int32_t out_c,
                                                          int32_t rows, int32_t cols, int32_t row_step_x,
                                                          int32_t row_step_w, uint16x8_t idx, int32_t mult,
                                                          const int32_t *bias, const int32_t *qm, const int32_t *qs,
                                                          int8_t *dst, int32_t cnt, const int full, const int gather)
{
    const mve_pred16_t p = vctp16q((uint32_t)cnt);
    const int16_t off = (int16_t)params->input_offset;
    (void)mult;
    int32x4_t ae = vdupq_n_s32(0);
    int32x4_t ao = vdupq_n_s32(0);
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *x = px + y * row_step_x;
        const int8_t *w = pw + y * row_step_w;
        for (int32_t t = 0; t < cols; ++t) {
            int16x8_t vx;
            if (!gather) {
                vx = full ? vldrbq_s16(x) : vldrbq_z_s16(x, p);
            } else {
                vx = full ? vldrbq_gather_offset_s16(x, idx) : vldrbq_gather_offset_z_s16(x, idx, p);
            }
            vx = vaddq_n_s16(vx, off);
            const int16x8_t vw = full ? vldrbq_s16(w) : vldrbq_z_s16(w, p);
            ae = vaddq_s32(ae, vmullbq_int_s16(vx, vw));
            ao = vaddq_s32(ao, vmulltq_int_s16(vx, vw));
            x += in_c;
            w += out_c;
        }
    }
    int32_t pb[8];
    int32_t pm[8];
    int32_t ps[8];
    if (!full) { /* zero-padded copies, so VLD2 reads 8 of each */
        for (int32_t k = 0; k < 8; ++k) {
            pb[k] = k < cnt && bias != 0 ? bias[k] : 0;
            pm[k] = k < cnt ? qm[k] : 0;
            ps[k] = k < cnt ? qs[k] : 0;
        }
        bias = pb;
        qm = pm;
        qs = ps;
    }
    if (bias != 0) {
        const int32x4x2_t vb = vld2q_s32(bias);
        ae = vaddq_s32(ae, vb.val[0]);
        ao = vaddq_s32(ao, vb.val[1]);
    }
    const int32x4x2_t vm = vld2q_s32(qm);
    const int32x4x2_t vs = vld2q_s32(qs);
    const int32x4_t lo = vdupq_n_s32(params->activation.min);
    const int32x4_t hi = vdupq_n_s32(params->activation.max);
    ae = ef_requantize_x4(ae, vm.val[0], vs.val[0]);
    ao = ef_requantize_x4(ao, vm.val[1], vs.val[1]);
    ae = vminq_s32(vmaxq_s32(vaddq_n_s32(ae, params->output_offset), lo), hi);
    ao = vminq_s32(vmaxq_s32(vaddq_n_s32(ao, params->output_offset), lo), hi);
    int16x8_t r = vdupq_n_s16(0);
    r = vmovnbq_s32(r, ae);
    r = vmovntq_s32(r, ao);
    if (full) {
        vstrbq_s16(dst, r);
    } else {
        vstrbq_p_s16(dst, r, p);
    }
}

/* floor(v / mult) by a multiply-high, exact for v * mult < 2^16 (checked by the caller). */
static inline uint16x8_t dw_channel_index(int32_t oc0, uint16_t recip)
{
    return vmulhq_u16(vidupq_n_u16((uint32_t)oc0, 1), vdupq_n_u16(recip));
}
#endif

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
#if defined(EF_NN_USE_MVE)
    if (mult == 1 || (int64_t)out->c * mult < 65536) {
        /* ceil(2^16 / mult): exact floor(v / mult) for v < out->c, v * mult < 2^16 */
        const uint16_t recip = mult == 1 ? 0 : (uint16_t)((65535u / (uint32_t)mult) + 1u);
        for (int32_t b = 0; b < in->n; ++b) {
            for (int32_t oy = 0; oy < out->h; ++oy) {
                const int32_t iy0 = oy * params->stride.h - params->padding.h;
                const int32_t ky0 = EF_MAX(0, -iy0);
                const int32_t ky1 = EF_MIN(kh, in->h - iy0);
                for (int32_t ox = 0; ox < out->w; ++ox) {
                    const int32_t ix0 = ox * params->stride.w - params->padding.w;
                    const int32_t kx0 = EF_MAX(0, -ix0);
                    const int32_t kx1 = EF_MIN(kw, in->w - ix0);
                    const int8_t *px = input + ((b * in->h + iy0 + ky0) * in->w + ix0 + kx0) * in->c;
                    const int8_t *pw = filter + (ky0 * kw + kx0) * out->c;
                    /* gather: whether the input channels are gathered (multiplier > 1) */
#define EF_DW_BLOCK(cnt_, full_, gather_)                                                                       \
    dw_block(params, (gather_) ? px : px + oc0, in->c, pw + oc0, out->c, ky1 - ky0, kx1 - kx0, in->w * in->c,    \
             kw * out->c, (gather_) ? dw_channel_index(oc0, recip) : vdupq_n_u16(0), mult,                      \
             bias != 0 ? bias + oc0 : 0, quant->multiplier + oc0, quant->shift + oc0, dst + oc0, (cnt_), (full_), \
             (gather_))
                    int32_t oc0 = 0;
                    if (mult == 1) {
                        for (; oc0 + 8 <= out->c; oc0 += 8) {
                            EF_DW_BLOCK(8, 1, 0);
                        }
                        if (oc0 < out->c) {
                            EF_DW_BLOCK(out->c - oc0, 0, 0);
                        }
                    } else {
                        for (; oc0 + 8 <= out->c; oc0 += 8) {
                            EF_DW_BLOCK(8, 1, 1);
                        }
                        if (oc0 < out->c) {
                            EF_DW_BLOCK(out->c - oc0, 0, 1);
                        }
                    }
#undef EF_DW_BLOCK
                    dst += out->c;
                }
            }
        }
        return EF_OK;
    }
#endif
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
