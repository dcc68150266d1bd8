/*
 * edgefact int8 kernel library: public API.
 *
 * One function per operator, ef_<op>_s8(), bit-exact with the TFLite Micro reference kernels
 * (int8, per-channel symmetric weights, TFLite's double-rounding requantization).
 * Parameter structs and conventions: ef_nn_types.h and docs/kernels.md.
 *
 * Kernels that need scratch memory expose ef_<op>_s8_get_buffer_size(); the size depends only
 * on the shapes (never on the target), so a code generator can compute it ahead of time
 * (edgefact.firmware.kernels.buffer_size() is the Python mirror).
 */
#ifndef EF_NN_H
#define EF_NN_H

#include <stdint.h>

#include "ef_nn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EF_NN_VERSION_MAJOR 1
#define EF_NN_VERSION_MINOR 0

/* ---- convolution ------------------------------------------------------------------------ */

/** CONV_2D (any kernel size, stride, SAME/VALID via padding, grouped when
 *  filter_dims->c < input_dims->c). filter: [out_c, kh, kw, in_c / groups]; bias: out_c int32
 *  or NULL; output: [n, out_h, out_w, out_c]. Dispatches to ef_conv_1x1_s8 when it applies. */
ef_status ef_conv_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                     const ef_dims *input_dims, const int8_t *input,
                     const ef_dims *filter_dims, const int8_t *filter,
                     const int32_t *bias,
                     const ef_dims *output_dims, int8_t *output,
                     void *scratch);
/** Scratch bytes for ef_conv_s8: 0 for an ungrouped 1x1 filter, else two int16 columns of
 *  kh * kw * filter c values each (4 * kh * kw * filter c; the DSP path fills both). The scratch pointer must be 4-byte aligned
 *  (EF_ERR_PARAM otherwise). */
int32_t ef_conv_s8_get_buffer_size(const ef_dims *input_dims, const ef_dims *filter_dims);

/** Pointwise 1x1 CONV_2D (any stride, no padding, not grouped): a matrix product
 *  [n*out_h*out_w, in_c] x [in_c, out_c]. No scratch. */
ef_status ef_conv_1x1_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                         const ef_dims *input_dims, const int8_t *input,
                         const ef_dims *filter_dims, const int8_t *filter,
                         const int32_t *bias,
                         const ef_dims *output_dims, int8_t *output);

/** DEPTHWISE_CONV_2D. filter: [1, kh, kw, in_c * ch_mult]; output c = in_c * ch_mult.
 *  Dispatches to ef_depthwise_conv_3x3_s8 when it applies. No scratch. */
ef_status ef_depthwise_conv_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                               const ef_dims *input_dims, const int8_t *input,
                               const ef_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias,
                               const ef_dims *output_dims, int8_t *output);

/** 3x3 depthwise, ch_mult 1, padding <= 1 (the common case), same arguments. */
ef_status ef_depthwise_conv_3x3_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                   const ef_dims *input_dims, const int8_t *input,
                                   const ef_dims *filter_dims, const int8_t *filter,
                                   const int32_t *bias,
                                   const ef_dims *output_dims, int8_t *output);

/* ---- fully connected -------------------------------------------------------------------- */

/** FULLY_CONNECTED, per-tensor quantization. input: [batches, depth] given as
 *  input_dims {n = batches, c = depth} (h = w = 1); filter_dims {n = units, c = depth};
 *  output_dims {n = batches, c = units}. bias: units int32 or NULL. */
ef_status ef_fully_connected_s8(const ef_fc_params *params, const ef_per_tensor_quant *quant,
                                const ef_dims *input_dims, const int8_t *input,
                                const ef_dims *filter_dims, const int8_t *filter,
                                const int32_t *bias,
                                const ef_dims *output_dims, int8_t *output);

/** FULLY_CONNECTED with per-unit (per-channel) quantization. */
ef_status ef_fully_connected_per_channel_s8(const ef_fc_params *params,
                                            const ef_per_channel_quant *quant,
                                            const ef_dims *input_dims, const int8_t *input,
                                            const ef_dims *filter_dims, const int8_t *filter,
                                            const int32_t *bias,
                                            const ef_dims *output_dims, int8_t *output);

/* ---- pooling ---------------------------------------------------------------------------- */

/** AVERAGE_POOL_2D: mean over the in-bounds window, rounded half away from zero. */
ef_status ef_avgpool_s8(const ef_pool_params *params,
                        const ef_dims *input_dims, const int8_t *input,
                        const ef_dims *output_dims, int8_t *output);

/** MAX_POOL_2D. */
ef_status ef_maxpool_s8(const ef_pool_params *params,
                        const ef_dims *input_dims, const int8_t *input,
                        const ef_dims *output_dims, int8_t *output);

/** MEAN over H and W: output [n, 1, 1, c] (or [n, c]). */
ef_status ef_mean_hw_s8(const ef_mean_params *params,
                        const ef_dims *input_dims, const int8_t *input,
                        const ef_dims *output_dims, int8_t *output);

/* ---- element-wise ----------------------------------------------------------------------- */

/** ADD of two tensors of `size` elements (same shape). In place is allowed
 *  (output == input1 or input2). */
ef_status ef_add_s8(const ef_add_params *params, const int8_t *input1, const int8_t *input2,
                    int8_t *output, int32_t size);

/** ADD with NumPy-style broadcasting over 4-D NHWC shapes (a dim of 1 broadcasts). */
ef_status ef_add_broadcast_s8(const ef_add_params *params,
                              const ef_dims *input1_dims, const int8_t *input1,
                              const ef_dims *input2_dims, const int8_t *input2,
                              const ef_dims *output_dims, int8_t *output);

/** MUL of two tensors of `size` elements (same shape); in place allowed. */
ef_status ef_mul_s8(const ef_mul_params *params, const int8_t *input1, const int8_t *input2,
                    int8_t *output, int32_t size);

/** MUL with broadcasting over 4-D NHWC shapes. */
ef_status ef_mul_broadcast_s8(const ef_mul_params *params,
                              const ef_dims *input1_dims, const int8_t *input1,
                              const ef_dims *input2_dims, const int8_t *input2,
                              const ef_dims *output_dims, int8_t *output);

/** Clamp in place to [act->min, act->max] (a standalone RELU/RELU6 with unchanged
 *  quantization). */
ef_status ef_clamp_s8(const ef_activation *act, int8_t *data, int32_t size);

/* ---- data movement ---------------------------------------------------------------------- */

/** CONCATENATION along the innermost (channel) axis. `outer` = product of all dims before the
 *  channel axis; output has `outer` rows of sum(inputs[i].channels) values. */
ef_status ef_concat_c_s8(const ef_concat_input *inputs, int32_t num_inputs, int32_t outer,
                         int32_t output_offset, int8_t *output);

/** PAD of a 4-D NHWC tensor with a constant. output_dims = input_dims + before + after. */
ef_status ef_pad_s8(const ef_pad_params *params,
                    const ef_dims *input_dims, const int8_t *input,
                    const ef_dims *output_dims, int8_t *output);

/* RESHAPE has no kernel: the generator aliases the output to the input buffer. */

/* ---- softmax ---------------------------------------------------------------------------- */

/** SOFTMAX over rows of `depth` values (`rows` rows), int8 in, int8 out (scale 1/256,
 *  zero point -128), TFLite's fixed-point reference algorithm. */
ef_status ef_softmax_s8(const ef_softmax_params *params, const int8_t *input,
                        int32_t rows, int32_t depth, int8_t *output);

/* ---- model boundary --------------------------------------------------------------------- */

/** QUANTIZE float -> int8: round_half_away(x / scale) + zero_point, saturated. */
ef_status ef_quantize_f32_s8(const float *input, int8_t *output, int32_t size,
                             float scale, int32_t zero_point);

/** DEQUANTIZE int8 -> float: (float)((double)scale * (x - zero_point)). */
ef_status ef_dequantize_s8_f32(const int8_t *input, float *output, int32_t size,
                               float scale, int32_t zero_point);

/** QUANTIZE int8 -> int8 (requantize to another scale / zero point). */
ef_status ef_requantize_s8(const ef_requantize_params *params, const int8_t *input,
                           int8_t *output, int32_t size);

/* ---- packed (clustered) weights ---------------------------------------------------------- */

/** Packed weight tensor seen as [outer, channels, inner], channels = the quantized axis
 *  (CONV_2D/FULLY_CONNECTED: outer 1; DEPTHWISE_CONV_2D [1, kh, kw, C]: outer kh*kw, inner 1).
 *  Layout: edgefact.export.packing and docs/packing.md. */
typedef struct {
    int32_t outer;     /**< product of the dims before the channel axis */
    int32_t channels;  /**< size of the channel axis */
    int32_t inner;     /**< product of the dims after it */
    int32_t bits;      /**< index width: 1, 2 or 4 */
    int32_t num_luts;  /**< 1 (one table for the tensor) or `channels` (one per channel) */
} ef_unpack_params;

/** Expand `bits`-wide indices into int8 weights through tables of 2^bits int8 values each:
 *  output[i] = luts[lut_of(channel(i)) * 2^bits + index(i)], outer*channels*inner values. */
ef_status ef_unpack_s8(const ef_unpack_params *params, const uint8_t *packed, const int8_t *luts,
                       int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* EF_NN_H */
