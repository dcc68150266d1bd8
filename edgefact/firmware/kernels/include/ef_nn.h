/*
 * edgefact int8 kernel library: public API.
 *
 * One function per operator, ef_<op>_s8(), bit-exact with the TFLite Micro reference kernels
 * (int8, per-channel symmetric weights, TFLite's double-rounding requantization).
 * Parameter structs and conventions: ef_nn_types.h and docs/kernels.md.
 *
 * Kernels that need scratch memory take a `const ef_context *` and expose
 * ef_<kernel>_get_buffer_size(); the size depends only on the shapes (never on the target), so a
 * code generator can compute it ahead of time. Every function returns an ef_status (ef_nn_types.h).
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

/* ---- convolution ------------------------------------------------------------------------ *
 * CONV_2D has a generic kernel (ef_conv_s8, every shape) and a specialised one (ef_conv_1x1_s8);
 * DEPTHWISE_CONV_2D likewise (ef_depthwise_conv_s8, ef_depthwise_conv_3x3_s8). Nothing dispatches
 * at run time: the code generator calls the specialised kernel when its preconditions hold, and a
 * specialised kernel called outside them returns EF_ERR_UNSUPPORTED. */

/** @brief CONV_2D, generic: any kernel size and stride, SAME/VALID via padding, grouped when
 *         filter_dims->c < input_dims->c (groups = input c / filter c). Dilated: ef_conv_dilated_s8.
 *  @param params      offsets, stride, top/left padding, dilation (must be {1, 1}), activation
 *  @param quant       per-output-channel multiplier/shift arrays (out_c values each, shifts in
 *                     [-31, 30])
 *  @param input_dims  input shape [n, h, w, in_c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [out_c, kh, kw, in_c / groups]
 *  @param filter      filter tensor (int8)
 *  @param bias        out_c int32 values, or NULL (no bias)
 *  @param output_dims output shape [n, out_h, out_w, out_c] (out_c a multiple of groups)
 *  @param output      output tensor (int8, NHWC)
 *  @param ctx         scratch: at least ef_conv_s8_get_buffer_size(input_dims, filter_dims) bytes,
 *                     4-byte aligned
 *  @return EF_OK; EF_ERR_NULL (a required pointer, ctx or ctx->buf NULL); EF_ERR_DIMS (shapes
 *          inconsistent, channels not divisible by the groups); EF_ERR_PARAM (activation or
 *          shift out of range); EF_ERR_UNSUPPORTED (dilation != 1); EF_ERR_SCRATCH (ctx->size
 *          too small or ctx->buf misaligned). */
ef_status ef_conv_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                     const ef_dims *input_dims, const int8_t *input,
                     const ef_dims *filter_dims, const int8_t *filter,
                     const int32_t *bias,
                     const ef_dims *output_dims, int8_t *output,
                     const ef_context *ctx);

/** @brief CONV_2D with dilation (>= 1: the kh x kw taps dilation apart in the input): ef_conv_s8's
 *         bodies, whose columns gather the real taps only (src/ef_conv_s8.c); a kernel of its own
 *         so that only firmware with a dilated layer links the dilated window builders. Arguments,
 *         scratch (ef_conv_s8_get_buffer_size) and results as ef_conv_s8, except dilation: any
 *         >= 1 (EF_ERR_PARAM below 1 or over the input size plus the kernel's). */
ef_status ef_conv_dilated_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                             const ef_dims *input_dims, const int8_t *input,
                             const ef_dims *filter_dims, const int8_t *filter,
                             const int32_t *bias,
                             const ef_dims *output_dims, int8_t *output,
                             const ef_context *ctx);

/** @brief Scratch bytes ef_conv_s8 needs: two int16 im2col columns of kh * kw * filter c values
 *         (4 * kh * kw * filter c; the DSP body fills both, the MVE body uses them as two int8
 *         columns, the portable body uses the first). Depends on the shapes only, never on the
 *         target.
 *  @param input_dims  input shape, as passed to ef_conv_s8
 *  @param filter_dims filter shape, as passed to ef_conv_s8
 *  @return the size in bytes (0 when a pointer is NULL). */
int32_t ef_conv_s8_get_buffer_size(const ef_dims *input_dims, const ef_dims *filter_dims);

/** @brief Pointwise CONV_2D: a matrix product [n * out_h * out_w, in_c] x [in_c, out_c]. No
 *         scratch (the DSP body keeps two columns of at most 64 values on the stack, 256 B).
 *
 *  Preconditions (EF_ERR_UNSUPPORTED otherwise): filter 1x1, not grouped (filter c == input c),
 *  padding {0, 0}, dilation {1, 1}. Any stride.
 *  @param params      as ef_conv_s8 (padding must be {0, 0})
 *  @param quant       per-output-channel multiplier/shift arrays (out_c values each)
 *  @param input_dims  input shape [n, h, w, in_c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [out_c, 1, 1, in_c]
 *  @param filter      filter tensor (int8)
 *  @param bias        out_c int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, out_c]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (preconditions). */
ef_status ef_conv_1x1_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                         const ef_dims *input_dims, const int8_t *input,
                         const ef_dims *filter_dims, const int8_t *filter,
                         const int32_t *bias,
                         const ef_dims *output_dims, int8_t *output);

/** @brief CONV_2D, 1x1 without padding and with 4-20 (a multiple of 4) input channels (per group
 *         when grouped: filter_dims->c < input_dims->c): on the DSP cores the filters are widened
 *         once per call into a table beside the requantization constants and each pixel's input
 *         once (src/ef_conv_1x1_short_s8.c); on Helium (any 1-48 channels per group, every
 *         channel on the fast requantization) 4 pixels x 4 output channels per step, 16 bytes of
 *         each pixel at a time in q registers against stack tables of the filters, biases and
 *         requantization constants; other shapes and builds run ef_conv_1x1_s8 (grouped:
 *         ef_conv_s8 on a stack scratch, filter c <= 64, else EF_ERR_UNSUPPORTED). Arguments and
 *         results as ef_conv_1x1_s8. */
ef_status ef_conv_1x1_short_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                               const ef_dims *input_dims, const int8_t *input,
                               const ef_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias,
                               const ef_dims *output_dims, int8_t *output);

/** @brief CONV_2D, 1x1 without padding, 4-64 (a multiple of 4) input channels per group (grouped
 *         too: filter c = input c / groups), every channel on the fast requantization
 *         (multiplier >= 0, -23 <= shift <= -2): on the DSP cores 2 output pixels x 2 output
 *         channels per step against the filters widened once per call into a stack table
 *         (src/ef_conv_1x1_2x2_s8.c; other shapes: EF_ERR_UNSUPPORTED); the portable and Helium
 *         builds run ef_conv_1x1_s8 (grouped: ef_conv_1x1_short_s8). Arguments and results as
 *         ef_conv_1x1_s8. */
ef_status ef_conv_1x1_2x2_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                             const ef_dims *input_dims, const int8_t *input,
                             const ef_dims *filter_dims, const int8_t *filter,
                             const int32_t *bias,
                             const ef_dims *output_dims, int8_t *output);

/** @brief CONV_2D with a window (any kernel size, stride, padding; grouped too) whose per-group
 *         depth kh * kw * filter c is at most 288, filter c a multiple of 4, dilation {1, 1},
 *         every channel on the fast requantization (multiplier >= 0, -23 <= shift <= -2): on the
 *         DSP cores 2 output pixels x 2 output channels per step against the filters widened once
 *         per call into a table in the scratch, each pixel pair's windows widened into a stack
 *         column (src/ef_conv_2x2_s8.c; the short windows factorization makes: k x 1, 1 x k,
 *         grouped); other shapes and builds run ef_conv_s8. Arguments and results as ef_conv_s8.
 *  @param ctx scratch: at least ef_conv_2x2_s8_get_buffer_size(input_dims, filter_dims) bytes,
 *             4-byte aligned (EF_ERR_NULL / EF_ERR_SCRATCH otherwise) */
ef_status ef_conv_2x2_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                         const ef_dims *input_dims, const int8_t *input,
                         const ef_dims *filter_dims, const int8_t *filter,
                         const int32_t *bias,
                         const ef_dims *output_dims, int8_t *output,
                         const ef_context *ctx);

/** @brief ef_conv_2x2_s8 for a dilated CONV_2D (dilation >= 1: the kh x kw taps dilation apart in
 *         the input; the window depth limits apply to the real taps): the same DSP body, its
 *         pixel pairs' columns gathering the real taps only; other shapes and builds run
 *         ef_conv_dilated_s8. A kernel of its own so that only firmware with a dilated layer links
 *         ef_conv_dilated_s8. Arguments and results as ef_conv_dilated_s8.
 *  @param ctx scratch: at least ef_conv_2x2_s8_get_buffer_size(input_dims, filter_dims) bytes,
 *             4-byte aligned (EF_ERR_NULL / EF_ERR_SCRATCH otherwise) */
ef_status ef_conv_2x2_dilated_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                                 const ef_dims *input_dims, const int8_t *input,
                                 const ef_dims *filter_dims, const int8_t *filter,
                                 const int32_t *bias,
                                 const ef_dims *output_dims, int8_t *output,
                                 const ef_context *ctx);

/** @brief Scratch bytes ef_conv_2x2_s8 needs: the widened-filter table of one group's output
 *         channel pairs (kh * kw * filter c + 10 words per pair, at most 8 KB of pairs), or
 *         ef_conv_s8_get_buffer_size (its fallback's) when larger. Depends on the shapes only.
 *  @param input_dims  input shape, as passed to ef_conv_2x2_s8
 *  @param filter_dims filter shape, as passed to ef_conv_2x2_s8
 *  @return the size in bytes (0 when a pointer is NULL). */
int32_t ef_conv_2x2_s8_get_buffer_size(const ef_dims *input_dims, const ef_dims *filter_dims);

/** @brief CONV_2D first layer: 3x3 filter, 1-4 input channels, ungrouped, dilation {1, 1}, every
 *         channel on the fast requantization (multiplier >= 0, -23 <= shift <= -2): on the DSP
 *         cores the filters are widened once per call into a stack table and each window is read
 *         in place, on Helium each block of pixels' windows is copied once into a stack block of
 *         columns that every output channel streams 4 pixels at a time (src/ef_conv_first_s8.c);
 *         other shapes and builds run ef_conv_s8 (ctx is its
 *         scratch). Arguments and results as ef_conv_s8. */
ef_status ef_conv_first_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                           const ef_dims *input_dims, const int8_t *input,
                           const ef_dims *filter_dims, const int8_t *filter,
                           const int32_t *bias,
                           const ef_dims *output_dims, int8_t *output,
                           const ef_context *ctx);

/** @brief CONV_2D first layer with one input channel (3x3 filter, ungrouped, dilation {1, 1}),
 *         Helium (Cortex-M55): 4 output pixels of a row gathered once from a zero-point-padded
 *         strip of the 3 input rows, every output channel streamed past them (one VMLADAV per
 *         output, the bias folded into the gathered vectors' spare lanes, 4 channels packed into
 *         one word per pixel; src/ef_conv_first_c1_s8.c). Output rows up to (255 - 3 stride) / 4
 *         strip bytes, the fast requantization (multiplier >= 0, -23 <= shift <= -2); other
 *         shapes and builds run ef_conv_s8 (ctx is its scratch). Arguments and results as
 *         ef_conv_s8. */
ef_status ef_conv_first_c1_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                              const ef_dims *input_dims, const int8_t *input,
                              const ef_dims *filter_dims, const int8_t *filter,
                              const int32_t *bias,
                              const ef_dims *output_dims, int8_t *output,
                              const ef_context *ctx);

/** @brief CONV_2D first layer with 1 or 2 input channels: 3x3 filter, ungrouped, dilation {1, 1},
 *         any stride and padding, on a per-channel table the generator lays out
 *         (edgefact/export/ops/conv_first.py: the filter taps doubled as int16 pairs in the pixel
 *         words' order, the doubled bias, the multiplier, the output offset folded into a
 *         rounding constant, the shift; src/ef_conv_first_c12_s8.c). The generator emits it only
 *         where every channel is on the fast requantization (multiplier >= 0, -23 <= shift <= -2)
 *         and |2 * accumulator| < 2^30 for every input. DSP cores: one pixel's window widened
 *         once (SXTAB16), every channel's entry streamed past it (LDM, SMLAD, a 3-instruction
 *         requantization, SSAT); other builds: the same arithmetic in C. No scratch.
 *  @param params      offsets (input offset -127..128), stride, top/left padding, dilation, activation
 *  @param input_dims  input shape [n, h, w, 1 or 2]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [out_c, 3, 3, in_c]
 *  @param table       out_c entries of 9 (1 channel) or 13 (2 channels) int32 words
 *  @param output_dims output shape [n, out_h, out_w, out_c]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM (activation, input offset);
 *          EF_ERR_UNSUPPORTED (not 3x3, other channel counts, dilation). */
ef_status ef_conv_first_c12_s8(const ef_conv_params *params, const ef_dims *input_dims, const int8_t *input,
                               const ef_dims *filter_dims, const int32_t *table,
                               const ef_dims *output_dims, int8_t *output);

/** @brief DEPTHWISE_CONV_2D, generic: any kernel size, stride, padding and depth multiplier.
 *         Output channel oc = ic * ch_mult + m. No scratch.
 *  @param params      offsets, depth multiplier, stride, top/left padding, dilation ({1, 1}),
 *                     activation
 *  @param quant       per-output-channel multiplier/shift arrays (out_c values each)
 *  @param input_dims  input shape [n, h, w, in_c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [1, kh, kw, in_c * ch_mult]
 *  @param filter      filter tensor (int8)
 *  @param bias        out_c int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, in_c * ch_mult]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (dilation != 1). */
ef_status ef_depthwise_conv_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                               const ef_dims *input_dims, const int8_t *input,
                               const ef_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias,
                               const ef_dims *output_dims, int8_t *output);

/** @brief DEPTHWISE_CONV_2D with a 3x3 filter, the MobileNet-style layer: the 9 taps unrolled in
 *         the interior. No scratch.
 *
 *  Preconditions (EF_ERR_UNSUPPORTED otherwise): filter 3x3, top/left padding <= 1 (SAME or
 *  VALID), dilation {1, 1}, any stride with ch_mult 1; ch_mult > 1 only with equal strides 1 and
 *  >= 5 output rows and columns or 2 and >= 3, a line step <= 2184 bytes and every shift < 0
 *  (ef_depthwise_conv_3x3_mult_s8 takes any multiplier).
 *  @param params      as ef_depthwise_conv_s8
 *  @param quant       per-channel multiplier/shift arrays (c values each)
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [1, 3, 3, c]
 *  @param filter      filter tensor (int8)
 *  @param bias        c int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, c]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (preconditions). */
ef_status ef_depthwise_conv_3x3_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                   const ef_dims *input_dims, const int8_t *input,
                                   const ef_dims *filter_dims, const int8_t *filter,
                                   const int32_t *bias,
                                   const ef_dims *output_dims, int8_t *output);

/** @brief DEPTHWISE_CONV_2D with a 3x3 filter and any depth multiplier, each output one 9-tap dot
 *         product (Helium): the generator's choice on Cortex-M55 where its Helium body applies.
 *         No scratch (stack: a 2 KB window and a 2 KB table).
 *
 *  Helium: strips of output rows; per channel pair the strip's input rows copied into a window of
 *  int8 pairs with the zero point in the padding, then per output one 16-lane gather of its 9 taps
 *  and one VMLADAV.S8, four outputs requantized together (src/ef_depthwise_conv_3x3_dot_s8.c); a
 *  channel pair's window serves all its output channels. This entry takes depth multiplier 1
 *  (ef_depthwise_conv_3x3_dot_mult_s8 the others: a firmware calling only this one links no
 *  multiplier body). On the other cores this is ef_depthwise_conv_3x3_s8.
 *  Preconditions (EF_ERR_UNSUPPORTED otherwise, on every core): filter 3x3, top/left padding <= 1,
 *  dilation {1, 1}, ch_mult 1, equal strides 1 or 2, an even input channel count,
 *  (out_w - 1) * stride + 3 <= 62, out_h * out_w >= 4, every shift < 0.
 *  @param params      as ef_depthwise_conv_s8
 *  @param quant       per-output-channel multiplier/shift arrays (c * ch_mult values each)
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [1, 3, 3, c * ch_mult]
 *  @param filter      filter tensor (int8)
 *  @param bias        c * ch_mult int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, c * ch_mult]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (preconditions). */
ef_status ef_depthwise_conv_3x3_dot_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                       const ef_dims *input_dims, const int8_t *input,
                                       const ef_dims *filter_dims, const int8_t *filter,
                                       const int32_t *bias,
                                       const ef_dims *output_dims, int8_t *output);

/** @brief ef_depthwise_conv_3x3_dot_s8 for a depth multiplier > 1 (Helium): a channel pair's
 *         window serves its 2 * ch_mult output channels (output channel i * ch_mult + j reads
 *         input channel i). No scratch (stack: a 2 KB window and a 2 KB table).
 *
 *  On the other cores this is ef_depthwise_conv_3x3_mult_s8.
 *  Preconditions (EF_ERR_UNSUPPORTED otherwise, on every core): those of
 *  ef_depthwise_conv_3x3_dot_s8 with ch_mult >= 2 instead of 1.
 *  @param params      as ef_depthwise_conv_s8
 *  @param quant       per-output-channel multiplier/shift arrays (c * ch_mult values each)
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [1, 3, 3, c * ch_mult]
 *  @param filter      filter tensor (int8)
 *  @param bias        c * ch_mult int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, c * ch_mult]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (preconditions). */
ef_status ef_depthwise_conv_3x3_dot_mult_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                            const ef_dims *input_dims, const int8_t *input,
                                            const ef_dims *filter_dims, const int8_t *filter,
                                            const int32_t *bias,
                                            const ef_dims *output_dims, int8_t *output);

/** @brief DEPTHWISE_CONV_2D of a dilated 3x3 filter, each output one 9-tap dot product (Helium):
 *         the generator's choice on Cortex-M55 where its Helium body applies. No scratch (stack:
 *         a 2 KB window and a 2 KB table).
 *
 *  ef_depthwise_conv_3x3_dot_s8's body on a window whose rows and columns are stored one residue
 *  of the dilation after the other, so that an output's 9 real taps are 3 x 3 neighbours there (the
 *  same gathers, tap offsets and loop as the undilated layer); the fill copies each residue's
 *  pixels dilation apart. The filter is the zero-inserted (2 dh + 1) x (2 dw + 1) one; only its 3x3
 *  real taps are read. On the other cores this is ef_depthwise_conv_3x3_dilated_s8.
 *  Preconditions (EF_ERR_UNSUPPORTED otherwise, on every core): filter h and w odd and >= 3
 *  (dilation (h - 1) / 2, (w - 1) / 2 <= 8), stride {1, 1}, ch_mult 1, padding <= the dilation, an
 *  even channel count, a stored window row of dw * ceil((out_w + 2 dw) / dw) <= 62 pixels and at
 *  least 3 dh rows, out_h * out_w >= 4, every shift < 0.
 *  @param params      as ef_depthwise_conv_s8 (its dilation field is not read: the filter holds it)
 *  @param quant       per-channel multiplier/shift arrays (c values each)
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [1, 2 dh + 1, 2 dw + 1, c]
 *  @param filter      filter tensor (int8)
 *  @param bias        c int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, c]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (preconditions). */
ef_status ef_depthwise_conv_3x3_dot_dilated_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                               const ef_dims *input_dims, const int8_t *input,
                                               const ef_dims *filter_dims, const int8_t *filter,
                                               const int32_t *bias,
                                               const ef_dims *output_dims, int8_t *output);

/** @brief DEPTHWISE_CONV_2D with a 3x3 filter, depth multiplier 1, pixel by pixel. No scratch.
 *
 *  DSP (M4/M7/M33): channels in groups of 4 (the group's weights widened into halfword pairs, its
 *  bias with the input offset's term folded in and its requantization constants set once), each
 *  interior output pixel one asm step (per tap LDR, 2 SXTB16, LDRD, 4 SMLABB / SMLATT; the
 *  accumulators doubled and a 3-instruction requantization per channel, ADD / SMMLAR / ASR),
 *  border pixels over their in-bounds taps; nothing per line, so it is the generator's choice where
 *  the ring of ef_depthwise_conv_3x3_s8 is slow (stride 2, small maps). Channels of a group with a
 *  shift outside [-23, -2], a negative multiplier or a bias beyond +-(2^29 - 294,913), an input
 *  offset outside [-128, 128], and the last C % 4 channels, take the portable loop (the only body
 *  on other cores).
 *  Preconditions (EF_ERR_UNSUPPORTED otherwise): filter 3x3, ch_mult 1, dilation {1, 1}; any
 *  stride and padding.
 *  @param params      as ef_depthwise_conv_s8
 *  @param quant       per-channel multiplier/shift arrays (c values each)
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [1, 3, 3, c]
 *  @param filter      filter tensor (int8)
 *  @param bias        c int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, c]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (preconditions). */
ef_status ef_depthwise_conv_3x3_px_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                      const ef_dims *input_dims, const int8_t *input,
                                      const ef_dims *filter_dims, const int8_t *filter,
                                      const int32_t *bias,
                                      const ef_dims *output_dims, int8_t *output);

/** @brief DEPTHWISE_CONV_2D with a 3x3 filter and a depth multiplier that is a multiple of 4, pixel
 *  by pixel. No scratch.
 *
 *  ef_depthwise_conv_3x3_px_s8's plan for groups of 4 output channels that read one input channel
 *  (a dictionary factorization's atoms): DSP (M4/M7/M33) per window row the first two taps inside
 *  the input as one halfword pair of that input against each channel's weight pair (2 LDRSB,
 *  PKHBT, 2 LDRD, 4 SMLAD), a third tap one LDRSB against the (w_c0, w_c2) / (w_c1, w_c3) pairs
 *  (LDRD, 4 SMLABB / SMLABT): 15 instructions per 12 MACs; the output pixel step a word of the
 *  block; the requantization as in ef_depthwise_conv_3x3_px_s8. The generator's choice on those
 *  cores for such layers with padding <= 1 (the multiplier ring of ef_depthwise_conv_3x3_mult_s8
 *  widens each input line once per multiplier index). Groups off its fast path (as in
 *  ef_depthwise_conv_3x3_px_s8) take the portable loop (the only body on other cores).
 *  Preconditions (EF_ERR_UNSUPPORTED otherwise): filter 3x3, ch_mult a multiple of 4, dilation
 *  {1, 1}; any stride and padding.
 *  @param params      as ef_depthwise_conv_s8
 *  @param quant       per-channel multiplier/shift arrays (c * ch_mult values each)
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [1, 3, 3, c * ch_mult]
 *  @param filter      filter tensor (int8)
 *  @param bias        c * ch_mult int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, c * ch_mult]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (preconditions). */
ef_status ef_depthwise_conv_3x3_px_mult_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                           const ef_dims *input_dims, const int8_t *input,
                                           const ef_dims *filter_dims, const int8_t *filter,
                                           const int32_t *bias,
                                           const ef_dims *output_dims, int8_t *output);

/** @brief DEPTHWISE_CONV_2D with a 3x3 filter and any depth multiplier >= 2, pixel by pixel. No
 *  scratch.
 *
 *  ef_depthwise_conv_3x3_px_mult_s8's plan for a multiplier that is not a multiple of 4 (2, 3, 5,
 *  6, ...: a dictionary factorization's atom counts): a group of 4 output channels reads one input
 *  channel (ef_depthwise_conv_3x3_px_mult_s8's loops) or two neighbouring ones a, a + 1, split
 *  3 + 1, 2 + 2 or 1 + 3. DSP (M4/M7/M33), such a group per window row: the byte pairs (a, a + 1) of
 *  the first two taps (2 LDRH, PKHBT, 2 SXTB16) give both channels' halfword pairs, each output's
 *  SMLAD taking its input's (2 LDRD, 4 SMLAD), a third tap one LDRH and SXTB16 against the
 *  (w_c0, w_c2) / (w_c1, w_c3) pairs (LDRD, 4 SMLA<B|T><B|T>): 18 instructions per 12 MACs; the
 *  requantization as in ef_depthwise_conv_3x3_px_s8. The generator's choice on those cores for such
 *  layers with padding <= 1 where the quantization is on the fast path (the multiplier ring of
 *  ef_depthwise_conv_3x3_mult_s8 widens each input line once per multiplier index); its own entry,
 *  so a multiple-of-4 firmware links none of the split loops. Groups off the fast path take the
 *  portable loop (the only body on other cores).
 *  Preconditions (EF_ERR_UNSUPPORTED otherwise): filter 3x3, ch_mult >= 2, dilation {1, 1}; any
 *  stride and padding.
 *  @param params      as ef_depthwise_conv_s8
 *  @param quant       per-channel multiplier/shift arrays (c * ch_mult values each)
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [1, 3, 3, c * ch_mult]
 *  @param filter      filter tensor (int8)
 *  @param bias        c * ch_mult int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, c * ch_mult]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (preconditions). */
ef_status ef_depthwise_conv_3x3_px_mult_any_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                               const ef_dims *input_dims, const int8_t *input,
                                               const ef_dims *filter_dims, const int8_t *filter,
                                               const int32_t *bias,
                                               const ef_dims *output_dims, int8_t *output);

/** @brief DEPTHWISE_CONV_2D of a dilated 3x3 filter (stride 1, depth multiplier 1), pixel by
 *  pixel, phase by phase. No scratch.
 *
 *  The filter is the zero-inserted (2 dh + 1) x (2 dw + 1) one of a 3x3 filter dilated by
 *  (dh, dw) (the generator's form of a dilated depthwise layer); only its 3x3 real taps are read,
 *  so the others must be zero for TFLite's result. The outputs (ry + dh j, rx + dw i) of each phase
 *  (ry, rx) read one residue lattice of the input, on which they are a 3x3 stride-1 layer:
 *  ef_depthwise_conv_3x3_px_s8's DSP plan and asm loops run each phase with the lattice's pixel
 *  and row steps (the same 110 instructions per interior pixel and 4 channels as the undilated
 *  layer). The generator's choice on M4/M7/M33 where the phases are short (the ring of
 *  ef_depthwise_conv_3x3_dilated_s8 pays its line set-up per phase). Groups off the fast path (as
 *  in ef_depthwise_conv_3x3_px_s8) take the portable loop (the only body on other cores).
 *  Preconditions (EF_ERR_UNSUPPORTED otherwise): filter h and w odd and >= 3, ch_mult 1,
 *  stride {1, 1}; any padding.
 *  @param params      as ef_depthwise_conv_s8 (its dilation field is not read: the filter holds it)
 *  @param quant       per-channel multiplier/shift arrays (c values each)
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [1, 2 dh + 1, 2 dw + 1, c]
 *  @param filter      filter tensor (int8)
 *  @param bias        c int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, c]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (preconditions). */
ef_status ef_depthwise_conv_3x3_px_dilated_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                              const ef_dims *input_dims, const int8_t *input,
                                              const ef_dims *filter_dims, const int8_t *filter,
                                              const int32_t *bias,
                                              const ef_dims *output_dims, int8_t *output);

/** @brief DEPTHWISE_CONV_2D with a 3x3 filter and a depth multiplier (any ch_mult). No scratch.
 *
 *  DSP (M4/M7/M33): the 3x3 kernel's ring, each input channel pair copied once per multiplier
 *  index, where its lines fit (along the input rows, the columns when out_h > out_w: stride 1 or 2,
 *  (outputs - 1) * stride + 5 <= 56 and entries + padding <= 56); Helium: the 3x3 kernel's window
 *  where it applies (see ef_depthwise_conv_3x3_s8); elsewhere the portable 9-tap loop.
 *  Preconditions (EF_ERR_UNSUPPORTED otherwise): filter 3x3, top/left padding <= 1, dilation
 *  {1, 1}.
 *  @param params      as ef_depthwise_conv_s8
 *  @param quant       per-channel multiplier/shift arrays (out c values each)
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [1, 3, 3, c * ch_mult]
 *  @param filter      filter tensor (int8)
 *  @param bias        out c int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, c * ch_mult]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (preconditions). */
ef_status ef_depthwise_conv_3x3_mult_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                        const ef_dims *input_dims, const int8_t *input,
                                        const ef_dims *filter_dims, const int8_t *filter,
                                        const int32_t *bias,
                                        const ef_dims *output_dims, int8_t *output);

/** @brief DEPTHWISE_CONV_2D with a 3x3 filter dilated by (dh, dw), stride 1, in its zero-inserted
 *         form (a (2 dh + 1) x (2 dw + 1) filter, as the generic kernel takes it). No scratch.
 *
 *  Only the 9 taps at rows 0, dh, 2 dh and columns 0, dw, 2 dw are read (the others must be zero
 *  for the result to be the zero-inserted filter's). Each of the dh x dw output phases is a 3x3
 *  layer on the input sub-lattice it reads, run by the fast 3x3 paths (DSP ring, Helium window)
 *  with the lattice's steps; where a phase does not fit them (DSP: a phase line of more than 52
 *  outputs or 56 entries with padding; Helium: fewer than 5 phase output lines, a phase line step
 *  over 2184 bytes or a shift >= 0), the portable loop.
 *  Preconditions (EF_ERR_UNSUPPORTED otherwise): filter sides odd and >= 3, stride {1, 1},
 *  top/left padding <= the dilation, dilation {1, 1} in params (it is in the filter); any ch_mult.
 *  @param params      as ef_depthwise_conv_s8
 *  @param quant       per-channel multiplier/shift arrays (out c values each)
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [1, 2 dh + 1, 2 dw + 1, c * ch_mult]
 *  @param filter      filter tensor (int8)
 *  @param bias        out c int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, c * ch_mult]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (preconditions). */
ef_status ef_depthwise_conv_3x3_dilated_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                           const ef_dims *input_dims, const int8_t *input,
                                           const ef_dims *filter_dims, const int8_t *filter,
                                           const int32_t *bias,
                                           const ef_dims *output_dims, int8_t *output);

/** @brief DEPTHWISE_CONV_2D with a one-line kernel, 1 x k or k x 1 (2 <= k <= 7). No scratch.
 *
 *  DSP (M4/M7/M33): input channels in pairs, each input line the kernel runs along copied once as
 *  int16 between zero padding entries, four outputs of a line per step from aligned words and the
 *  channel's weight pairs held in registers, the 5-instruction per-channel requantization; where a
 *  line does not fit (stride along it other than 1 or 2, more than 128 entries with the padding or
 *  stride * outputs + k + 6 > 128) and on other cores, the portable loop.
 *  Preconditions (EF_ERR_UNSUPPORTED otherwise): filter_dims h == 1 or w == 1, 2 <= k <= 7.
 *  @param params      as ef_depthwise_conv_s8 (any stride, padding, ch_mult)
 *  @param quant       per-channel multiplier/shift arrays (out c values each)
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [1, k, 1, c * ch_mult] or [1, 1, k, c * ch_mult]
 *  @param filter      filter tensor (int8)
 *  @param bias        out c int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, c * ch_mult]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (preconditions). */
ef_status ef_depthwise_conv_line_s8(const ef_dw_conv_params *params, const ef_per_channel_quant *quant,
                                    const ef_dims *input_dims, const int8_t *input,
                                    const ef_dims *filter_dims, const int8_t *filter,
                                    const int32_t *bias,
                                    const ef_dims *output_dims, int8_t *output);


/** @brief A shift layer: DEPTHWISE_CONV_2D (depth multiplier 1) whose kernels have at most one
 *         non-zero tap each, as copies and table look-ups (0 MACs).
 *
 *  The channels form runs (EF_SHIFT_RUN_FIELDS int16 each: c0, n, tap, table, border) of
 *  consecutive channels sharing a tap and a table, in channel order. For channel c of run r:
 *  output[b, oy, ox, c] = T_r((uint8_t)input[b, iy, ix, c]) with iy = oy * stride.h -
 *  padding.h + (tap >> 8), ix = ox * stride.w - padding.w + (tap & 0xFF), where T_r is the
 *  identity (table -1, a copy) or luts[table * 256 + byte]; the run's border value where (iy,
 *  ix) falls outside the input or the tap is -1 (an all-zero kernel). The generator folds the
 *  tap weight, the bias, the requantization and the activation of each channel into its table,
 *  so the result is bit-exact with the depthwise convolution. Helium gathers the interior
 *  (every channel's tap inside the input): channel c of output pixel (oy, ox) reads input +
 *  ((oy * stride.h) * w + ox * stride.w) * c_total + offset_base + offsets[c] (a channel
 *  without a tap reads its own pixel through a constant table) and, when num_tables > 0,
 *  looks it up in table tables[c] (an identity table for the channels of a copy run). No scratch.
 *  @param params      stride, padding (top/left), filter size (kh, kw), table and run counts
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param runs        num_runs x EF_SHIFT_RUN_FIELDS values (see above)
 *  @param taps        c values: each channel's run tap ((ky << 8) | kx, -1: none); Helium
 *                     computes from them which channels of a border pixel read the input
 *  @param offsets     c values: the interior gather offsets (see above)
 *  @param tables      c values: the channel's table index (read when num_tables > 0)
 *  @param luts        256 int8 values per table, indexed by the input byte (NULL if num_tables is 0)
 *  @param output_dims output shape [n, out_h, out_w, c]
 *  @param output      output tensor (int8, NHWC; must not overlap the input)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (shapes inconsistent with the stride and padding);
 *          EF_ERR_PARAM (stride, padding, filter size, table or run count, runs not covering the
 *          channels in order, a tap, table index or border value out of range). */
ef_status ef_shift_s8(const ef_shift_params *params, const ef_dims *input_dims, const int8_t *input,
                      const int16_t *runs, const int16_t *taps, const uint16_t *offsets, const uint8_t *tables,
                      const int8_t *luts, const ef_dims *output_dims, int8_t *output);

/** @brief A two-tap shift layer (SAL2): DEPTHWISE_CONV_2D (depth multiplier 1) whose kernels have
 *         at most two non-zero taps each, as 2 multiplies per output (bit-exact with the
 *         depthwise convolution).
 *
 *  output[b, oy, ox, c] = clamp(MBQM(bias[c] + sum_j (input[b, iy_j, ix_j, c] + input_offset) *
 *  weights[2c + j], multiplier[c], shift[c]) + output_offset) over the taps j in {0, 1} of channel
 *  c with iy_j = oy * stride.h - padding.h + (taps[2c + j] >> 8), ix_j = ox * stride.w -
 *  padding.w + (taps[2c + j] & 0xFF) inside the input (a tap in the padding, a tap -1 or a zero
 *  weight contributes nothing). Channel by channel over the rectangles where each tap is inside
 *  or outside the input, the constant terms folded per rectangle. No scratch.
 *  @param params      offsets, stride, padding (top/left), filter size (kh, kw), activation
 *  @param quant       per-channel requantization (c values each)
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param taps        2c values: each channel's two taps ((ky << 8) | kx, -1: none)
 *  @param weights     2c values: the taps' int8 weights
 *  @param bias        c int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, c]
 *  @param output      output tensor (int8, NHWC; must not overlap the input)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (shapes inconsistent with the stride and padding);
 *          EF_ERR_PARAM (stride, padding, filter size, offsets, activation, a shift or a tap out
 *          of range). */
ef_status ef_shift2_s8(const ef_shift2_params *params, const ef_per_channel_quant *quant, const ef_dims *input_dims,
                       const int8_t *input, const int16_t *taps, const int8_t *weights, const int32_t *bias,
                       const ef_dims *output_dims, int8_t *output);

/** @brief TRANSPOSE_CONV (TFLite Micro's int8 arithmetic: the int32 sum over every input pixel
 *         and tap that lands on an output element, plus the bias, requantized per output
 *         channel). Computed output by output (the taps whose (out + padding - tap) is a
 *         multiple of the stride), so it needs no int32 scratch of the output's size.
 *  @param params      input/output offsets, stride, padding (TFLite computes it as for a
 *                     convolution from the output size to the input size: top / left),
 *                     dilation (must be {1, 1}), activation
 *  @param quant       per-output-channel multiplier/shift arrays (out_c values each, shifts in
 *                     [-31, 30])
 *  @param input_dims  input shape [n, h, w, in_c]
 *  @param input       input tensor (int8, NHWC)
 *  @param filter_dims filter shape [out_c, kh, kw, in_c]
 *  @param filter      filter tensor (int8, symmetric)
 *  @param bias        out_c int32 values, or NULL
 *  @param output_dims output shape [n, out_h, out_w, out_c]
 *  @param output      output tensor (int8, NHWC; must not overlap the input)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (shapes inconsistent); EF_ERR_PARAM (stride < 1,
 *          negative padding, activation or shift out of range); EF_ERR_UNSUPPORTED
 *          (dilation != 1, filter larger than 16 x 16). */
ef_status ef_transpose_conv_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                               const ef_dims *input_dims, const int8_t *input,
                               const ef_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias,
                               const ef_dims *output_dims, int8_t *output);

/* ---- fully connected -------------------------------------------------------------------- */

/** @brief FULLY_CONNECTED with per-tensor quantization.
 *  @param params      input/filter/output offsets and activation
 *  @param quant       one multiplier/shift (shift in [-31, 30])
 *  @param input_dims  {n = batches, h = 1, w = 1, c = depth}
 *  @param input       input [batches, depth] (int8)
 *  @param filter_dims {n = units, h = 1, w = 1, c = depth}
 *  @param filter      weights [units, depth] (int8)
 *  @param bias        units int32 values, or NULL
 *  @param output_dims {n = batches, h = 1, w = 1, c = units}
 *  @param output      output [batches, units] (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM. */
ef_status ef_fully_connected_s8(const ef_fc_params *params, const ef_per_tensor_quant *quant,
                                const ef_dims *input_dims, const int8_t *input,
                                const ef_dims *filter_dims, const int8_t *filter,
                                const int32_t *bias,
                                const ef_dims *output_dims, int8_t *output);

/** @brief FULLY_CONNECTED with per-tensor quantization on weights the generator interleaved in
 *         blocks of 4 units (so one LDM fetches a word of each: the DSP loop is 20 instructions
 *         per 16 MACs against 23). Layout: for each block b < units / 4 and each group g <
 *         depth / 4, the 16 bytes at (b * depth + 4 * g) * 4 are weights 4g..4g+3 of units 4b,
 *         4b + 1, 4b + 2, 4b + 3 in turn; the last units % 4 units follow row-major. Same size as
 *         the [units, depth] array.
 *  @param params      input/output offsets and activation; filter offset 0
 *  @param quant       one multiplier/shift (shift in [-31, 30])
 *  @param input_dims  {n = batches, h = 1, w = 1, c = depth}
 *  @param input       input [batches, depth] (int8)
 *  @param filter_dims {n = units, h = 1, w = 1, c = depth}, depth % 4 == 0
 *  @param filter      weights in the layout above (int8)
 *  @param bias        units int32 values, or NULL
 *  @param output_dims {n = batches, h = 1, w = 1, c = units}
 *  @param output      output [batches, units] (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM; EF_ERR_UNSUPPORTED (depth % 4 != 0,
 *          filter offset != 0). */
ef_status ef_fully_connected_il4_s8(const ef_fc_params *params, const ef_per_tensor_quant *quant,
                                    const ef_dims *input_dims, const int8_t *input,
                                    const ef_dims *filter_dims, const int8_t *filter,
                                    const int32_t *bias,
                                    const ef_dims *output_dims, int8_t *output);

/** @brief FULLY_CONNECTED with per-unit (per-channel) quantization.
 *  @param params      input/filter/output offsets and activation
 *  @param quant       multiplier/shift arrays of `units` values each
 *  @param input_dims  {n = batches, h = 1, w = 1, c = depth}
 *  @param input       input [batches, depth] (int8)
 *  @param filter_dims {n = units, h = 1, w = 1, c = depth}
 *  @param filter      weights [units, depth] (int8)
 *  @param bias        units int32 values, or NULL
 *  @param output_dims {n = batches, h = 1, w = 1, c = units}
 *  @param output      output [batches, units] (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM. */
ef_status ef_fully_connected_per_channel_s8(const ef_fc_params *params,
                                            const ef_per_channel_quant *quant,
                                            const ef_dims *input_dims, const int8_t *input,
                                            const ef_dims *filter_dims, const int8_t *filter,
                                            const int32_t *bias,
                                            const ef_dims *output_dims, int8_t *output);

/** @brief BATCH_MATMUL, int8 (TFLite Micro's arithmetic: int32 sums of the offset-corrected
 *         products, one per-tensor requantization). The output is dense [batch..., M, N]; each
 *         operand is read through the strides of ef_batch_matmul_params (adj_x / adj_y and
 *         broadcast batches are strides, not copies); when both depth strides are 1 the dot
 *         products run contiguous (SMLAD / Helium).
 *  @param params      offsets, multiplier/shift, activation, M / K / N, strides, batches
 *  @param lhs         left operand (int8)
 *  @param lhs_size    lhs elements: every element read must lie in [0, lhs_size)
 *  @param rhs         right operand (int8)
 *  @param rhs_size    rhs elements, as lhs_size
 *  @param output      output (int8, prod(batch) * M * N elements; must not overlap the operands)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (an extent < 1 or a read outside an operand);
 *          EF_ERR_PARAM (activation or shift out of range). */
ef_status ef_batch_matmul_s8(const ef_batch_matmul_params *params, const int8_t *lhs, int32_t lhs_size,
                             const int8_t *rhs, int32_t rhs_size, int8_t *output);

/* ---- pooling ---------------------------------------------------------------------------- */

/** @brief AVERAGE_POOL_2D: mean over the in-bounds window, rounded half away from zero (input
 *         and output share scale and zero point).
 *  @param params      stride, top/left padding, filter size, activation
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param output_dims output shape [n, out_h, out_w, c]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM. */
ef_status ef_avgpool_s8(const ef_pool_params *params,
                        const ef_dims *input_dims, const int8_t *input,
                        const ef_dims *output_dims, int8_t *output);

/** @brief MAX_POOL_2D over the in-bounds window.
 *  @param params      stride, top/left padding, filter size, activation
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param output_dims output shape [n, out_h, out_w, c]
 *  @param output      output tensor (int8, NHWC)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM. */
ef_status ef_maxpool_s8(const ef_pool_params *params,
                        const ef_dims *input_dims, const int8_t *input,
                        const ef_dims *output_dims, int8_t *output);

/** @brief MEAN over H and W (TFLite Micro's arithmetic: the count folded into the multiplier).
 *  @param params      offsets, multiplier/shift of input scale / output scale, activation
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param output_dims output shape [n, 1, 1, c]
 *  @param output      output tensor (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM. */
ef_status ef_mean_hw_s8(const ef_mean_params *params,
                        const ef_dims *input_dims, const int8_t *input,
                        const ef_dims *output_dims, int8_t *output);

/** @brief MEAN over any axes of an int8 tensor (TFLite Micro's QuantizedMeanOrSum: int32 sums,
 *         the element count folded into the multiplier as ef_mean_hw_s8 does, k capped at 32).
 *         The generator describes the kept axes as the `outer` view (its extents are the output,
 *         row-major) and the reduced axes as the `inner` view (offset 0, relative to each output
 *         element's first input element), with contiguous dimensions merged; ef_mean_hw_s8 stays
 *         the kernel for H,W of a 4-D tensor.
 *  @param params      offsets, multiplier/shift of input scale / output scale, activation
 *  @param outer       kept axes: output extents, input strides, offset of output element 0
 *  @param inner       reduced axes: extents (count = their product) and input strides; offset 0
 *  @param input       input tensor (int8)
 *  @param input_size  input elements: every element read must lie in [0, input_size)
 *  @param output      output (int8, prod(outer extents) elements)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (a view's ndims or extents invalid, inner offset not
 *          0, or the views reach outside the input); EF_ERR_PARAM (activation, shift,
 *          multiplier). */
ef_status ef_reduce_mean_s8(const ef_mean_params *params, const ef_strided_copy_params *outer,
                            const ef_strided_copy_params *inner, const int8_t *input, int32_t input_size,
                            int8_t *output);

/* ---- element-wise ----------------------------------------------------------------------- */

/** @brief ADD of two tensors of the same shape. In place is allowed (output == input1 or
 *         input2).
 *  @param params  offsets, left shift, input/output multipliers and shifts, activation
 *  @param input1  first input (int8)
 *  @param input2  second input (int8)
 *  @param output  output (int8)
 *  @param size    number of elements
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (size < 0); EF_ERR_PARAM. */
ef_status ef_add_s8(const ef_add_params *params, const int8_t *input1, const int8_t *input2,
                    int8_t *output, int32_t size);

/** @brief ADD with NumPy-style broadcasting over 4-D NHWC shapes (a dim of 1 broadcasts).
 *  @param params      as ef_add_s8
 *  @param input1_dims shape of input1
 *  @param input1      first input (int8)
 *  @param input2_dims shape of input2
 *  @param input2      second input (int8)
 *  @param output_dims output shape (each dim the max of the inputs')
 *  @param output      output (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (shapes do not broadcast); EF_ERR_PARAM. */
ef_status ef_add_broadcast_s8(const ef_add_params *params,
                              const ef_dims *input1_dims, const int8_t *input1,
                              const ef_dims *input2_dims, const int8_t *input2,
                              const ef_dims *output_dims, int8_t *output);

/** @brief ADD / SUB of two tensors of the same shape through a 256-entry table of one operand's
 *         exact rescale (see ef_add_table_params); bit-exact with ef_add_s8 / ef_sub_s8 on the
 *         generator's table. In place is allowed (output == direct or tabled).
 *  @param params  direct operand's multiplier, output offset / multiplier / shift, activation
 *  @param table   256 int32 values indexed by the tabled operand's byte ((uint8_t)t); each
 *                 |table[i]| + 128 * |direct_multiplier| must stay below 2^29
 *  @param direct  the operand with the exact rescale (int8)
 *  @param tabled  the operand looked up in the table (int8)
 *  @param output  output (int8)
 *  @param size    number of elements
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (size < 0); EF_ERR_PARAM (activation, output
 *          multiplier < 0, |direct_multiplier| > 2^22, output shift outside -23..-1). */
ef_status ef_add_table_s8(const ef_add_table_params *params, const int32_t *table, const int8_t *direct,
                          const int8_t *tabled, int8_t *output, int32_t size);

/** @brief MUL of two tensors of the same shape; in place allowed.
 *  @param params  offsets, output multiplier/shift, activation
 *  @param input1  first input (int8)
 *  @param input2  second input (int8)
 *  @param output  output (int8)
 *  @param size    number of elements
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (size < 0); EF_ERR_PARAM. */
ef_status ef_mul_s8(const ef_mul_params *params, const int8_t *input1, const int8_t *input2,
                    int8_t *output, int32_t size);

/** @brief MUL with broadcasting over 4-D NHWC shapes; the output may overwrite an input of the
 *         output's shape (in place).
 *  @param params      as ef_mul_s8
 *  @param input1_dims shape of input1
 *  @param input1      first input (int8)
 *  @param input2_dims shape of input2
 *  @param input2      second input (int8)
 *  @param output_dims output shape
 *  @param output      output (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (shapes do not broadcast); EF_ERR_PARAM. */
ef_status ef_mul_broadcast_s8(const ef_mul_params *params,
                              const ef_dims *input1_dims, const int8_t *input1,
                              const ef_dims *input2_dims, const int8_t *input2,
                              const ef_dims *output_dims, int8_t *output);

/* SUB, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM and PRELU take the three shapes always: NumPy
 * broadcasting over 4-D NHWC shapes (a dim of 1 broadcasts), equal shapes as one flat loop. The
 * output may overwrite an input of the output's shape (in place). */

/** @brief SUB (TFLite's int8 arithmetic: ADD's rescaling, the second input subtracted).
 *  @param params      offsets, left shift (20), input/output multipliers and shifts (<= 0),
 *                     activation (edgefact.export.quant.sub_params)
 *  @param input1_dims shape of input1
 *  @param input1      first input (int8)
 *  @param input2_dims shape of input2
 *  @param input2      second input (int8), subtracted from the first
 *  @param output_dims output shape (each dim the max of the inputs')
 *  @param output      output (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (shapes do not broadcast); EF_ERR_PARAM. */
ef_status ef_sub_s8(const ef_add_params *params, const ef_dims *input1_dims, const int8_t *input1,
                    const ef_dims *input2_dims, const int8_t *input2, const ef_dims *output_dims, int8_t *output);

/** @brief SQUARED_DIFFERENCE (TFLite's int8 arithmetic): (a - b)^2 of the rescaled inputs,
 *         rescaled to the output.
 *  @param params      offsets, left shift (7, at most 7), input multipliers and shifts (<= 0),
 *                     output multiplier and shift (any sign), activation
 *                     (edgefact.export.quant.squared_difference_params)
 *  @param input1_dims shape of input1
 *  @param input1      first input (int8)
 *  @param input2_dims shape of input2
 *  @param input2      second input (int8)
 *  @param output_dims output shape
 *  @param output      output (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (shapes do not broadcast); EF_ERR_PARAM. */
ef_status ef_squared_difference_s8(const ef_add_params *params, const ef_dims *input1_dims, const int8_t *input1,
                                   const ef_dims *input2_dims, const int8_t *input2, const ef_dims *output_dims,
                                   int8_t *output);

/** @brief MAXIMUM of the raw int8 values (as TFLite: no rescaling).
 *  @param input1_dims shape of input1
 *  @param input1      first input (int8)
 *  @param input2_dims shape of input2
 *  @param input2      second input (int8)
 *  @param output_dims output shape
 *  @param output      output (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (shapes do not broadcast). */
ef_status ef_maximum_s8(const ef_dims *input1_dims, const int8_t *input1, const ef_dims *input2_dims,
                        const int8_t *input2, const ef_dims *output_dims, int8_t *output);

/** @brief MINIMUM of the raw int8 values (as TFLite: no rescaling).
 *  @param input1_dims shape of input1
 *  @param input1      first input (int8)
 *  @param input2_dims shape of input2
 *  @param input2      second input (int8)
 *  @param output_dims output shape
 *  @param output      output (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (shapes do not broadcast). */
ef_status ef_minimum_s8(const ef_dims *input1_dims, const int8_t *input1, const ef_dims *input2_dims,
                        const int8_t *input2, const ef_dims *output_dims, int8_t *output);

/** @brief PRELU with alpha broadcast against the input (TFLite's int8 arithmetic).
 *  @param params      offsets, positive and negative multipliers/shifts (shifts in [-31, 30];
 *                     edgefact.export.quant.prelu_params)
 *  @param input_dims  input shape
 *  @param input       input (int8)
 *  @param alpha_dims  alpha shape (broadcasts to the input's)
 *  @param alpha       alpha (int8, per-tensor quantized)
 *  @param output_dims output shape (= input shape)
 *  @param output      output (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (shapes do not broadcast); EF_ERR_PARAM. */
ef_status ef_prelu_s8(const ef_prelu_params *params, const ef_dims *input_dims, const int8_t *input,
                      const ef_dims *alpha_dims, const int8_t *alpha, const ef_dims *output_dims, int8_t *output);

/** @brief Clamp in place to [act->min, act->max] (a standalone RELU/RELU6 with unchanged
 *         quantization).
 *  @param act   clamp range (quantized)
 *  @param data  tensor, modified in place (int8)
 *  @param size  number of elements
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (size < 0); EF_ERR_PARAM (min > max). */
ef_status ef_clamp_s8(const ef_activation *act, int8_t *data, int32_t size);

/** @brief An int8 -> int8 operator whose output depends on the input value only (LOGISTIC, TANH,
 *         HARD_SWISH, LEAKY_RELU, ABS) as a table look-up: output[i] = table[(uint8_t)input[i]].
 *         The generator computes the table with TFLite Micro's integer algorithm
 *         (edgefact.export.quant_lut). In place allowed (output == input).
 *  @param table   256 int8 values indexed by the input byte
 *  @param input   input (int8)
 *  @param output  output (int8)
 *  @param size    number of elements
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (size < 0). */
ef_status ef_lut_s8(const int8_t *table, const int8_t *input, int8_t *output, int32_t size);

/* ---- data movement ---------------------------------------------------------------------- */

/** @brief CONCATENATION along the innermost (channel) axis: `outer` rows of
 *         sum(inputs[i].channels) values.
 *  @param inputs        the inputs, each copied or requantized (ef_concat_input)
 *  @param num_inputs    number of inputs
 *  @param outer         product of all dims before the channel axis
 *  @param output_offset output zero point (requantized inputs)
 *  @param output        output (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM (shift out of range). */
ef_status ef_concat_c_s8(const ef_concat_input *inputs, int32_t num_inputs, int32_t outer,
                         int32_t output_offset, int8_t *output);

/** @brief PAD of a 4-D NHWC tensor with a constant.
 *  @param params      amounts before/after each dim, pad value
 *  @param input_dims  input shape
 *  @param input       input tensor (int8)
 *  @param output_dims output shape = input_dims + before + after
 *  @param output      output tensor (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM (negative amounts). */
ef_status ef_pad_s8(const ef_pad_params *params,
                    const ef_dims *input_dims, const int8_t *input,
                    const ef_dims *output_dims, int8_t *output);

/** @brief A strided view of an int8 tensor copied out densely: STRIDED_SLICE (negative strides
 *         included), SPLIT / SPLIT_V / UNPACK (one call per output), TRANSPOSE, DEPTH_TO_SPACE
 *         and SPACE_TO_DEPTH, all as output[i] = input[offset + sum_k i_k * stride[k]]
 *         (ef_strided_copy_params). The generator merges dimensions that are contiguous in
 *         both tensors, so an innermost stride of 1 copies whole rows (memcpy).
 *  @param params      the view: extents, strides, offset
 *  @param input       input tensor (int8)
 *  @param input_size  elements of the input: every element the view reads must lie in
 *                     [0, input_size)
 *  @param output      output (int8, prod(extent) elements; must not overlap the input)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (ndims out of 1..EF_COPY_MAX_DIMS, an extent < 1, or
 *          the view reaches outside the input). */
ef_status ef_strided_copy_s8(const ef_strided_copy_params *params, const int8_t *input, int32_t input_size,
                             int8_t *output);

/** @brief RESIZE_NEAREST_NEIGHBOR of a 4-D NHWC tensor: output[n, y, x, :] =
 *         input[n, rows[y], cols[x], :]. The generator computes the source row and column of
 *         every output row and column with TFLite Micro's float arithmetic (align_corners,
 *         half_pixel_centers), so the kernel only copies channel vectors.
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param rows        output h source rows, each in [0, input h)
 *  @param cols        output w source columns, each in [0, input w)
 *  @param output_dims output shape [n, out_h, out_w, c]
 *  @param output      output tensor (int8, NHWC; must not overlap the input)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (n or c differ); EF_ERR_PARAM (a row or column out of
 *          range). */
ef_status ef_resize_nearest_s8(const ef_dims *input_dims, const int8_t *input, const int32_t *rows,
                               const int32_t *cols, const ef_dims *output_dims, int8_t *output);

/** @brief RESIZE_BILINEAR of a 4-D NHWC int8 tensor, TFLite Micro's integer arithmetic: scales
 *         and source positions in 1/1024 pixel (align_corners / half_pixel_centers as TFLite),
 *         the four neighbours weighted in 1/2^20 and the sum rounded half away from zero. Input
 *         and output share scale and zero point (raw values are interpolated).
 *  @param params      align_corners, half_pixel_centers
 *  @param input_dims  input shape [n, h, w, c]
 *  @param input       input tensor (int8, NHWC)
 *  @param output_dims output shape [n, out_h, out_w, c]
 *  @param output      output tensor (int8, NHWC; must not overlap the input)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (n or c differ); EF_ERR_PARAM (both options set). */
ef_status ef_resize_bilinear_s8(const ef_resize_params *params, const ef_dims *input_dims, const int8_t *input,
                                const ef_dims *output_dims, int8_t *output);

/* RESHAPE has no kernel: the generator aliases the output to the input buffer. */

/** @brief L2_NORMALIZATION over rows of `depth` values, int8 in, int8 out (scale 1/128, zero
 *         point 0), TFLite Micro's integer algorithm: the int32 sum of squares of the
 *         zero-point-corrected row, its inverse square root by gemmlowp's fixed-point
 *         Newton-Raphson (GetInvSqrtQuantizedMultiplierExp), each value requantized by it.
 *  @param input_offset  -input zero point
 *  @param input         input [rows, depth] (int8)
 *  @param rows          number of rows
 *  @param depth         values per row (at most 2^16, so the sum of squares fits int32)
 *  @param output        output [rows, depth] (int8; may equal input)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (rows or depth < 1, depth > 2^16); EF_ERR_PARAM
 *          (input_offset outside [-127, 128]). */
ef_status ef_l2_normalization_s8(int32_t input_offset, const int8_t *input, int32_t rows, int32_t depth,
                                 int8_t *output);

/* ---- softmax ---------------------------------------------------------------------------- */

/** @brief SOFTMAX over rows of `depth` values, int8 in, int8 out (scale 1/256, zero point
 *         -128), TFLite's fixed-point reference algorithm.
 *  @param params  input multiplier, left shift and diff_min (edgefact.export.quant)
 *  @param input   input [rows, depth] (int8)
 *  @param rows    number of rows
 *  @param depth   values per row
 *  @param output  output [rows, depth] (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (rows or depth <= 0); EF_ERR_PARAM. */
ef_status ef_softmax_s8(const ef_softmax_params *params, const int8_t *input,
                        int32_t rows, int32_t depth, int8_t *output);

/** @brief LOG_SOFTMAX over rows of `depth` values, int8 in, int8 out (scale 16/256, zero point
 *         127), TFLite's fixed-point reference algorithm: exp of the rescaled differences to the
 *         row maximum summed in Q12.19, its logarithm in Q5.26, each output the difference minus
 *         that logarithm (values below the representable range give -128).
 *  @param params  input multiplier / left shift, reverse scaling divisor / shift, diff_min
 *                 (edgefact.export.ops.normalize.log_softmax_params)
 *  @param input   input [rows, depth] (int8)
 *  @param rows    number of rows
 *  @param depth   values per row (at most 4096: the Q12 sum of exponentials)
 *  @param output  output [rows, depth] (int8; may equal input)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (rows or depth < 1, depth > 4096); EF_ERR_PARAM
 *          (a shift out of range). */
ef_status ef_log_softmax_s8(const ef_log_softmax_params *params, const int8_t *input, int32_t rows,
                            int32_t depth, int8_t *output);

/* ---- model boundary --------------------------------------------------------------------- */

/** @brief QUANTIZE float -> int8: round_half_away(x / scale) + zero_point, saturated.
 *  @param input       float values
 *  @param output      int8 values
 *  @param size        number of values
 *  @param scale       output scale (> 0)
 *  @param zero_point  output zero point, in [-128, 127]
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (size < 0); EF_ERR_PARAM (scale or zero point). */
ef_status ef_quantize_f32_s8(const float *input, int8_t *output, int32_t size,
                             float scale, int32_t zero_point);

/** @brief DEQUANTIZE int8 -> float: scale * (x - zero_point) in float.
 *  @param input       int8 values
 *  @param output      float values
 *  @param size        number of values
 *  @param scale       input scale
 *  @param zero_point  input zero point
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (size < 0). */
ef_status ef_dequantize_s8_f32(const int8_t *input, float *output, int32_t size,
                               float scale, int32_t zero_point);

/** @brief QUANTIZE int8 -> int8 (requantize to another scale / zero point).
 *  @param params  offsets and multiplier/shift of input scale / output scale
 *  @param input   int8 values
 *  @param output  int8 values (may equal input)
 *  @param size    number of values
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (size < 0); EF_ERR_PARAM (shift out of range). */
ef_status ef_requantize_s8(const ef_requantize_params *params, const int8_t *input,
                           int8_t *output, int32_t size);

/** @brief QUANTIZE int8 -> int16: saturate(MultiplyByQuantizedMultiplier(x - input zero point)
 *         + output zero point), as TFLite's Requantize.
 *  @param params  offsets and multiplier/shift of input scale / output scale
 *  @param input   int8 values
 *  @param output  int16 values
 *  @param size    number of elements
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (size < 0); EF_ERR_PARAM (shift out of range). */
ef_status ef_requantize_s8_s16(const ef_requantize_params *params, const int8_t *input, int16_t *output,
                               int32_t size);

/** @brief QUANTIZE int16 -> int8 (TFLite's Requantize, saturated to int8).
 *  @param params  offsets and multiplier/shift of input scale / output scale
 *  @param input   int16 values
 *  @param output  int8 values
 *  @param size    number of elements
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (size < 0); EF_ERR_PARAM (shift out of range). */
ef_status ef_requantize_s16_s8(const ef_requantize_params *params, const int16_t *input, int8_t *output,
                               int32_t size);

/** @brief QUANTIZE int16 -> int16 (TFLite's Requantize, saturated to int16).
 *  @param params  offsets and multiplier/shift of input scale / output scale
 *  @param input   int16 values
 *  @param output  int16 values (may equal input)
 *  @param size    number of elements
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (size < 0); EF_ERR_PARAM (shift out of range). */
ef_status ef_requantize_s16_s16(const ef_requantize_params *params, const int16_t *input, int16_t *output,
                                int32_t size);

/** @brief DEQUANTIZE int16 -> float: scale * (x - zero_point) in float (equal to TFLite's double
 *         product converted to float).
 *  @param input       int16 values
 *  @param output      float values
 *  @param size        number of elements
 *  @param scale       input scale
 *  @param zero_point  input zero point
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (size < 0). */
ef_status ef_dequantize_s16_f32(const int16_t *input, float *output, int32_t size, float scale,
                                int32_t zero_point);

/* ---- index reductions -------------------------------------------------------------------- */

/** @brief ARG_MAX int8: for each [outer, inner] position the index along the axis of the largest
 *         value, the first one on a tie (TFLite's strict comparison). Along the last axis
 *         (inner == 1) Helium takes 16 values per VMAXV, DSP 4 per SSUB8 + SEL (rows of >= 8),
 *         then the first index holding the extreme.
 *  @param params  outer / axis / inner extents and the index width (ef_arg_max_params)
 *  @param input   input (int8), [outer, axis_size, inner]
 *  @param output  outer * inner indices, int32_t or int64_t as params->output_bytes says
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (an extent < 1); EF_ERR_PARAM (output_bytes not 4 or 8). */
ef_status ef_arg_max_s8(const ef_arg_max_params *params, const int8_t *input, void *output);

/** @brief ARG_MIN int8: as ef_arg_max_s8 for the smallest value (first index on a tie).
 *  @param params  outer / axis / inner extents and the index width (ef_arg_max_params)
 *  @param input   input (int8), [outer, axis_size, inner]
 *  @param output  outer * inner indices, int32_t or int64_t as params->output_bytes says
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (an extent < 1); EF_ERR_PARAM (output_bytes not 4 or 8). */
ef_status ef_arg_min_s8(const ef_arg_max_params *params, const int8_t *input, void *output);

/* ---- stateful (streaming) operators ------------------------------------------------------ */

/** @brief SVDF, one step of a stream (TFLite Micro's integer SVDF, bit-exact): the state moves
 *         left by one value, every filter's newest value becomes the requantized feature dot
 *         product, and each unit's output is the requantized sum of bias and its `rank`
 *         filters' time dot products (no fused activation: TFLM's int8 path applies none).
 *  @param params          shapes, offsets and the two requantizations (ef_svdf_params)
 *  @param input           [batches, input_size] int8
 *  @param weights_feature [num_filters, input_size] int8
 *  @param weights_time    [num_filters, memory_size] int16
 *  @param bias            num_filters / rank int32 values, or NULL
 *  @param state           [batches, num_filters, memory_size] int16, read and updated in place;
 *                         keep it between calls (start: all zeros)
 *  @param output          [batches, num_filters / rank] int8
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (a size < 1, num_filters % rank != 0); EF_ERR_PARAM
 *          (shift or offset out of range). */
ef_status ef_svdf_s8(const ef_svdf_params *params, const int8_t *input, const int8_t *weights_feature,
                     const int16_t *weights_time, const int32_t *bias, int16_t *state, int8_t *output);

/** @brief SVDF with int8 weights_time and an int8 state of zero point params->state_offset
 *         (TFLM's int8 instance of the same kernel): as ef_svdf_s8, the feature value clamped to
 *         int8, then the state offset added and the sum stored modulo 256 (the TFLM edgefact
 *         checks against; see ef_svdf_s8.c), the offset subtracted from the state in the time
 *         dot product.
 *  @return as ef_svdf_s8; EF_ERR_PARAM also for a state offset outside [-128, 127]. */
ef_status ef_svdf_s8_s8(const ef_svdf_params *params, const int8_t *input, const int8_t *weights_feature,
                        const int8_t *weights_time, const int32_t *bias, int8_t *state, int8_t *output);

/** @brief UNIDIRECTIONAL_SEQUENCE_LSTM, every time step of the input in order (TensorFlow Lite
 *         Micro's integer LSTM, bit-exact): per step, the four gates from the input and the
 *         previous hidden state (int8 dot products requantized to Q3.12, sigmoid / tanh in
 *         Q0.15), the cell state updated in place, the new hidden state written to the output
 *         and kept. No peephole, projection, layer norm or CIFG (TFLM supports none).
 *  @param params            shapes, offsets and requantizations (ef_lstm_params)
 *  @param input             [batches, time_steps, input_size] int8 ([time_steps, batches, ...] if time_major)
 *  @param input_weights     [4][units][input_size] int8: forget, input, cell, output gate
 *  @param recurrent_weights [4][units][units] int8, the same order
 *  @param bias              [4][units] int32
 *  @param hidden_state      [batches, units] int8, read and updated; keep it between calls (start: the zero point)
 *  @param cell_state        [batches, units] int16, read and updated; keep it between calls (start: 0)
 *  @param output            like input with units values per step
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS (a size < 1); EF_ERR_PARAM (offset, clip or shift out of range). */
ef_status ef_lstm_s8(const ef_lstm_params *params, const int8_t *input, const int8_t *input_weights,
                     const int8_t *recurrent_weights, const int32_t *bias, int8_t *hidden_state,
                     int16_t *cell_state, int8_t *output);

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

/** @brief Expand `bits`-wide indices into int8 weights through tables of 2^bits int8 values
 *         each: output[i] = luts[lut_of(channel(i)) * 2^bits + index(i)], outer * channels *
 *         inner values.
 *  @param params  tensor geometry, index width and number of tables
 *  @param packed  the packed indices (docs/packing.md)
 *  @param luts    num_luts tables of 2^bits int8 values
 *  @param output  the expanded weights (int8)
 *  @return EF_OK; EF_ERR_NULL; EF_ERR_DIMS; EF_ERR_PARAM (bits not 1, 2 or 4, num_luts). */
ef_status ef_unpack_s8(const ef_unpack_params *params, const uint8_t *packed, const int8_t *luts,
                       int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* EF_NN_H */
