/*
 * edgefact int8 kernel library: types shared by every kernel.
 *
 * Conventions (see docs/kernels.md):
 *  - Tensors are NHWC, int8, dense, row-major; dims are given in ef_dims {n, h, w, c}.
 *  - Offsets follow TFLite: an *input* offset is the NEGATED zero point of that input
 *    (added to every input value), an *output* offset is the output zero point.
 *  - Requantization multipliers/shifts are exactly those of TFLite's QuantizeMultiplier:
 *    multiplier is a Q31 value in [2^30, 2^31), shift > 0 means left shift
 *    (compute them with edgefact.export.quant).
 *  - Every kernel returns an ef_status; kernels never allocate memory. Kernels that need
 *    scratch memory have an ef_<kernel>_get_buffer_size() function (shapes only) and take a
 *    `const ef_context *` whose buffer is 4-byte aligned and at least that many bytes.
 */
#ifndef EF_NN_TYPES_H
#define EF_NN_TYPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Result of every kernel. */
typedef enum {
    EF_OK = 0,
    EF_ERR_NULL = -1,        /**< a required pointer is NULL */
    EF_ERR_DIMS = -2,        /**< dims are non-positive or inconsistent with each other */
    EF_ERR_PARAM = -3,       /**< a parameter is out of range (stride, shift, activation, ...) */
    EF_ERR_UNSUPPORTED = -4, /**< a valid but unsupported combination (e.g. dilation), or a
                                  specialised kernel called outside its preconditions */
    EF_ERR_SCRATCH = -5      /**< scratch (ef_context) smaller than the kernel's
                                  ef_<kernel>_get_buffer_size(), or not 4-byte aligned */
} ef_status;

/** Scratch memory handed to a kernel: `size` bytes at `buf` (4-byte aligned). The kernel checks
 *  size >= its ef_<kernel>_get_buffer_size() (EF_ERR_SCRATCH otherwise); buf NULL is
 *  EF_ERR_NULL. The contents are not preserved between calls. */
typedef struct {
    void *buf;
    int32_t size;
} ef_context;

/** 4-D tensor shape, NHWC. Vectors use {n = batches, h = 1, w = 1, c = length}. */
typedef struct {
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} ef_dims;

/** A (height, width) pair: strides, padding, dilation, pool filter size. */
typedef struct {
    int32_t h;
    int32_t w;
} ef_tile;

/** Clamp range of the output in the quantized domain (fused RELU/RELU6 or [-128, 127]). */
typedef struct {
    int32_t min;
    int32_t max;
} ef_activation;

/** One requantization multiplier (Q31) and shift (>0: left). */
typedef struct {
    int32_t multiplier;
    int32_t shift;
} ef_per_tensor_quant;

/** Per-output-channel requantization: arrays of length output channels. */
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
} ef_per_channel_quant;

/** CONV_2D. padding is the top/left padding TFLite computes (bottom/right follows from the
 *  output size). Grouped convolution when filter_dims->c < input_dims->c
 *  (groups = input c / filter c; output channels split evenly across groups). */
typedef struct {
    int32_t input_offset;   /**< -input zero point */
    int32_t output_offset;  /**< output zero point */
    ef_tile stride;
    ef_tile padding;
    ef_tile dilation;       /**< ef_conv_dilated_s8: any >= 1; the other conv kernels: {1, 1} */
    ef_activation activation;
} ef_conv_params;

/** DEPTHWISE_CONV_2D. Output channel oc = ic * ch_mult + m. */
typedef struct {
    int32_t input_offset;
    int32_t output_offset;
    int32_t ch_mult;        /**< depth multiplier */
    ef_tile stride;
    ef_tile padding;
    ef_tile dilation;       /**< must be {1, 1} for now */
    ef_activation activation;
} ef_dw_conv_params;

/** FULLY_CONNECTED. */
typedef struct {
    int32_t input_offset;   /**< -input zero point */
    int32_t filter_offset;  /**< -filter zero point (0 for TFLite int8 weights) */
    int32_t output_offset;  /**< output zero point */
    ef_activation activation;
} ef_fc_params;

/** A shift layer (ef_shift_s8): the geometry of the depthwise convolution it replaces. */
typedef struct {
    ef_tile stride;
    ef_tile padding;        /**< top / left */
    ef_tile filter;         /**< kernel height / width (the taps index this window) */
    int32_t num_tables;     /**< look-up tables (0..256); 0: every run is a copy, 1: every channel shares table 0 */
    int32_t offset_base;    /**< added to the interior pixel's input address before offsets[c] */
    int32_t num_runs;       /**< runs of consecutive channels with one tap and table (1..c) */
} ef_shift_params;

/** int16 fields per run of ef_shift_s8: first channel, channel count, tap ((ky << 8) | kx, -1:
 *  none), table (-1: a copy), border value (the output where the tap reads padding). */
#define EF_SHIFT_RUN_FIELDS 5

/** A two-tap shift layer (ef_shift2_s8): the depthwise convolution's parameters it needs. */
typedef struct {
    int32_t input_offset;   /**< -input zero point */
    int32_t output_offset;  /**< output zero point */
    ef_tile stride;
    ef_tile padding;        /**< top / left */
    ef_tile filter;         /**< kernel height (<= 127) / width (<= 256): the taps index this window */
    ef_activation activation;
} ef_shift2_params;

/** AVERAGE_POOL_2D / MAX_POOL_2D (input and output share scale and zero point, as in TFLite). */
typedef struct {
    ef_tile stride;
    ef_tile padding;
    ef_tile filter;
    ef_activation activation;
} ef_pool_params;

/** ADD: both inputs are rescaled to a common scale with `left_shift` bits of headroom
 *  (TFLite: left_shift = 20 for int8), summed, then rescaled to the output. */
typedef struct {
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t output_offset;
    int32_t left_shift;
    int32_t input1_multiplier;
    int32_t input1_shift;   /**< <= 0 */
    int32_t input2_multiplier;
    int32_t input2_shift;   /**< <= 0 */
    int32_t output_multiplier;
    int32_t output_shift;   /**< <= 0 */
    ef_activation activation;
} ef_add_params;

/** ADD / SUB of equal shapes through a table (ef_add_table_s8): the sum of TFLite's two rescaled
 *  operands is `table[(uint8_t)t] + direct_multiplier * d` for the int8 values t (tabled operand)
 *  and d (direct operand), then requantized once. The generator fills the table exactly: the
 *  tabled operand's `MultiplyByQuantizedMultiplier((t + offset) << left_shift, ...)` (negated for
 *  SUB's subtrahend) plus the direct operand's offset term; the direct operand is the one with
 *  multiplier 2^30, shift 0 (TFLite's larger-scale input), whose rescale is exactly
 *  `(d + offset) << (left_shift - 1)`. */
typedef struct {
    int32_t direct_multiplier; /**< +-2^(left_shift - 1) (minus: SUB's subtrahend) */
    int32_t output_offset;
    int32_t output_multiplier; /**< >= 0 */
    int32_t output_shift;      /**< -23..-1 */
    ef_activation activation;
} ef_add_table_params;

/** MUL. */
typedef struct {
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t output_offset;
    int32_t output_multiplier;
    int32_t output_shift;
    ef_activation activation;
} ef_mul_params;

/** PRELU: out = x >= 0 ? requant(x, positive) : requant(x * alpha, negative), where x and alpha
 *  are the offset-corrected input and alpha values (TFLite's PreluParams). */
typedef struct {
    int32_t input_offset;         /**< -input zero point */
    int32_t alpha_offset;         /**< -alpha zero point */
    int32_t output_offset;        /**< output zero point */
    int32_t positive_multiplier;  /**< QuantizeMultiplier(input_scale / output_scale) */
    int32_t positive_shift;
    int32_t negative_multiplier;  /**< QuantizeMultiplier(input_scale * alpha_scale / output_scale) */
    int32_t negative_shift;
} ef_prelu_params;

/** MEAN over H and W (keep_dims or not; the output is n x c either way). The kernel folds
 *  the element count H*W into the multiplier as TFLite Micro does. */
typedef struct {
    int32_t input_offset;   /**< -input zero point */
    int32_t output_offset;  /**< output zero point */
    int32_t multiplier;     /**< QuantizeMultiplier(input_scale / output_scale) */
    int32_t shift;
    ef_activation activation; /**< normally [-128, 127] */
} ef_mean_params;

/** SOFTMAX over the innermost dimension (int8 in, int8 out with scale 1/256, zp -128). */
typedef struct {
    int32_t input_multiplier;  /**< from PreprocessSoftmaxScaling(beta, input_scale, 5) */
    int32_t input_left_shift;
    int32_t diff_min;          /**< -CalculateInputRadius(5, input_left_shift) */
} ef_softmax_params;

/** One input of CONCATENATION along the channel axis. When `requantize` is 0 the values are
 *  copied unchanged (same scale and zero point as the output, TFLM's behaviour); otherwise
 *  out = clamp(MultiplyByQuantizedMultiplier(in + input_offset, multiplier, shift) + output_offset). */
typedef struct {
    const int8_t *data;
    int32_t channels;       /**< size of this input along the concatenation axis */
    int32_t requantize;
    int32_t input_offset;
    int32_t multiplier;
    int32_t shift;
} ef_concat_input;

/** PAD: amounts before/after each dimension (NHWC). */
typedef struct {
    ef_dims before;
    ef_dims after;
    int8_t pad_value;       /**< normally the input zero point */
} ef_pad_params;

/** QUANTIZE int8 -> int8 (requantize) parameters. */
typedef struct {
    int32_t input_offset;   /**< -input zero point */
    int32_t output_offset;  /**< output zero point */
    int32_t multiplier;     /**< QuantizeMultiplier(input_scale / output_scale) */
    int32_t shift;
} ef_requantize_params;

/** ARG_MAX / ARG_MIN int8: the input seen as [outer, axis_size, inner] (the reduced axis in the
 *  middle), the output as [outer, inner] indices. */
typedef struct {
    int32_t outer;         /**< product of the dims before the axis */
    int32_t axis_size;     /**< extent of the reduced axis (>= 1) */
    int32_t inner;         /**< product of the dims after the axis (1: the channel axis) */
    int32_t output_bytes;  /**< 4: int32_t indices, 8: int64_t */
} ef_arg_max_params;

/** Most dimensions of an ef_strided_copy_params view (after merging, see ef_strided_copy_s8). */
#define EF_COPY_MAX_DIMS 6

/** A strided view of an int8 tensor (STRIDED_SLICE, SPLIT, SPLIT_V, UNPACK, TRANSPOSE,
 *  DEPTH_TO_SPACE, SPACE_TO_DEPTH): output element (i0, ..., i[ndims-1]), row-major over
 *  `extent`, is input[offset + sum_k i_k * stride[k]]. Strides count elements and may be
 *  negative or zero; entries from ndims on are ignored. */
typedef struct {
    int32_t ndims;                      /**< 1..EF_COPY_MAX_DIMS */
    int32_t extent[EF_COPY_MAX_DIMS];   /**< output extents, outermost first (each >= 1) */
    int32_t stride[EF_COPY_MAX_DIMS];   /**< input step per output index step, in elements */
    int32_t offset;                     /**< input element of output element 0 */
} ef_strided_copy_params;

/** SVDF (int8 input/output, int16 activation state; TFLM's integer SVDF). The state is
 *  [batches, num_filters, memory_size] int16, oldest value first, kept between calls. */
typedef struct {
    int32_t batches;
    int32_t input_size;
    int32_t num_filters;        /**< rows of weights_feature and weights_time */
    int32_t memory_size;        /**< columns of weights_time: values kept per filter */
    int32_t rank;               /**< filters per output unit (num_filters % rank == 0) */
    int32_t input_offset;       /**< -input zero point */
    int32_t state_offset;       /**< the state's zero point (0 for TFLite's int16 states) */
    int32_t output_offset;      /**< output zero point */
    int32_t feature_multiplier; /**< input x weights_feature -> state: input scale x feature scale / state scale */
    int32_t feature_shift;
    int32_t time_multiplier;    /**< state x weights_time -> output: state scale x time scale / output scale */
    int32_t time_shift;
} ef_svdf_params;

/** UNIDIRECTIONAL_SEQUENCE_LSTM (int8 activations and weights, int16 cell state; TFLM's integer
 *  LSTM). Per-gate arrays are in the order forget, input, cell, output. The gates are Q3.12
 *  before and Q0.15 after their activation (TFLM's fixed gate scales). */
typedef struct {
    int32_t batches;
    int32_t time_steps;
    int32_t input_size;
    int32_t units;                    /**< hidden and cell state values per batch */
    int32_t time_major;               /**< 1: input and output [time, batch, *]; 0: [batch, time, *] */
    int32_t input_offset;             /**< -input zero point */
    int32_t hidden_zero_point;        /**< of the hidden state (= the output's) */
    int32_t cell_tanh_multiplier;     /**< tanh(cell): TFLite's int16 TANH input multiplier (0: 3 << shift) */
    int32_t cell_tanh_shift;          /**< and its right shift */
    int32_t cell_clip;                /**< quantized cell clip, 0: none */
    int32_t input_multiplier[4];      /**< input x input weights -> gate: s_in s_w / 2^-12 */
    int32_t input_shift[4];
    int32_t recurrent_multiplier[4];  /**< hidden x recurrent weights -> gate: s_hidden s_w / 2^-12 */
    int32_t recurrent_shift[4];
    int32_t forget_multiplier;        /**< forget gate x cell -> cell: 2^-15 */
    int32_t forget_shift;
    int32_t update_multiplier;        /**< input gate x cell gate -> cell: 2^-30 / s_cell */
    int32_t update_shift;
    int32_t hidden_multiplier;        /**< tanh(cell) x output gate -> hidden: 2^-30 / s_hidden */
    int32_t hidden_shift;
} ef_lstm_params;

/** RESIZE_BILINEAR options (TFLite's; both set is invalid in TFLite). */
typedef struct {
    int32_t align_corners;       /**< 1: corner pixels of input and output coincide */
    int32_t half_pixel_centers;  /**< 1: pixel centres at +0.5 (TF2's tf.image.resize) */
} ef_resize_params;

/** BATCH_MATMUL: out[b, m, n] = requant(sum_k (lhs[b, m, k] + lhs_offset) * (rhs[b, k, n] +
 *  rhs_offset)), per-tensor. Every operand is addressed by element strides, so adj_x / adj_y and
 *  broadcast batch dimensions (stride 0) need no copy. Up to 4 batch dimensions. */
typedef struct {
    int32_t lhs_offset;           /**< -lhs zero point */
    int32_t rhs_offset;           /**< -rhs zero point */
    int32_t output_offset;        /**< output zero point */
    int32_t multiplier;           /**< QuantizeMultiplier(lhs_scale * rhs_scale / output_scale) */
    int32_t shift;
    ef_activation activation;
    int32_t rows;                 /**< M */
    int32_t depth;                /**< K */
    int32_t cols;                 /**< N */
    int32_t lhs_row_stride;       /**< lhs step per m */
    int32_t lhs_depth_stride;     /**< lhs step per k */
    int32_t rhs_depth_stride;     /**< rhs step per k */
    int32_t rhs_col_stride;       /**< rhs step per n */
    int32_t batch[4];             /**< output batch extents, outermost first (unused: 1) */
    int32_t lhs_batch_stride[4];  /**< lhs step per batch index (0: broadcast) */
    int32_t rhs_batch_stride[4];  /**< rhs step per batch index (0: broadcast) */
} ef_batch_matmul_params;

/** LOG_SOFTMAX int8 (output scale 16/256, zero point 127, as TFLite requires). */
typedef struct {
    int32_t input_multiplier;            /**< PreprocessLogSoftmaxScalingExp(1, input_scale, 5) */
    int32_t input_left_shift;
    int32_t reverse_scaling_divisor;     /**< QuantizeMultiplierSmallerThanOneExp of the inverse */
    int32_t reverse_scaling_left_shift;  /**< <= 0 */
    int32_t diff_min;                    /**< -CalculateInputRadius(5, input_left_shift) */
} ef_log_softmax_params;

#ifdef __cplusplus
}
#endif

#endif /* EF_NN_TYPES_H */
