/* FULLY_CONNECTED, per-tensor and per-channel requantization. */
#include "internal/ef_nn_internal.h"

static ef_status fc_check(const ef_fc_params *params, const ef_dims *in, const int8_t *input,
                          const ef_dims *fd, const int8_t *filter, const ef_dims *out,
                          const int8_t *output)
{
    if (params == 0 || input == 0 || filter == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (!ef_dims_valid(in) || !ef_dims_valid(fd) || !ef_dims_valid(out)) {
        return EF_ERR_DIMS;
    }
    const int32_t depth = fd->h * fd->w * fd->c;
    const int32_t batches = out->n * out->h * out->w;
    if (in->n * in->h * in->w * in->c != batches * depth || out->c != fd->n) {
        return EF_ERR_DIMS;
    }
    if (!ef_activation_valid(&params->activation)) {
        return EF_ERR_PARAM;
    }
    return EF_OK;
}

static inline int8_t fc_output(const ef_fc_params *params, int32_t acc, const int32_t *bias, int32_t u,
                               int32_t mult, int32_t shift)
{
    if (bias != 0) {
        acc += bias[u];
    }
    acc = ef_requantize(acc, mult, shift) + params->output_offset;
    return ef_clamp_to_s8(acc, params->activation.min, params->activation.max);
}
/* (fc_run works on a local copy of the params: int8 stores may alias the caller's struct.) */

/* Shared loop; `mult`/`shift` advance by `qstep` (0: per tensor, 1: per channel). */
static void fc_run(const ef_fc_params *params_in, const int32_t *mult, const int32_t *shift,
                   int32_t qstep, const int8_t *input, const ef_dims *fd, const int8_t *filter,
                   const int32_t *bias, const ef_dims *out, int8_t *output)
{
    const ef_fc_params local = *params_in;
    const ef_fc_params *params = &local;
    const int32_t depth = fd->h * fd->w * fd->c;
    const int32_t units = out->c;
    const int32_t batches = out->n * out->h * out->w;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = input + b * depth;
        int32_t u = 0;
        if (params->filter_offset == 0) {
            /* two units per pass share the widened input (DSP/MVE dot2) */
            for (; u + 1 < units; u += 2) {
                int32_t acc0;
                int32_t acc1;
                ef_dot2_s8_s8_offset(x, params->input_offset, filter + u * depth, filter + (u + 1) * depth, depth,
                                     &acc0, &acc1);
                output[u] = fc_output(params, acc0, bias, u, mult[u * qstep], shift[u * qstep]);
                output[u + 1] = fc_output(params, acc1, bias, u + 1, mult[(u + 1) * qstep], shift[(u + 1) * qstep]);
            }
        }
        for (; u < units; ++u) {
            const int8_t *f = filter + u * depth;
            int32_t acc;
            if (params->filter_offset == 0) {
                acc = ef_dot_s8_s8_offset(x, params->input_offset, f, depth);
            } else {
                acc = 0;
                for (int32_t i = 0; i < depth; ++i) {
                    acc += (x[i] + params->input_offset) * (f[i] + params->filter_offset);
                }
            }
            output[u] = fc_output(params, acc, bias, u, mult[u * qstep], shift[u * qstep]);
        }
        output += units;
    }
}

ef_status ef_fully_connected_s8(const ef_fc_params *params, const ef_per_tensor_quant *quant,
                                const ef_dims *input_dims, const int8_t *input,
                                const ef_dims *filter_dims, const int8_t *filter,
                                const int32_t *bias,
                                const ef_dims *output_dims, int8_t *output)
{
    if (quant == 0) {
        return EF_ERR_NULL;
    }
    const ef_status st = fc_check(params, input_dims, input, filter_dims, filter, output_dims, output);
    if (st != EF_OK) {
        return st;
    }
    if (!ef_shift_valid(quant->shift)) {
        return EF_ERR_PARAM;
    }
    fc_run(params, &quant->multiplier, &quant->shift, 0, input, filter_dims, filter, bias,
           output_dims, output);
    return EF_OK;
}

ef_status ef_fully_connected_per_channel_s8(const ef_fc_params *params,
                                            const ef_per_channel_quant *quant,
                                            const ef_dims *input_dims, const int8_t *input,
                                            const ef_dims *filter_dims, const int8_t *filter,
                                            const int32_t *bias,
                                            const ef_dims *output_dims, int8_t *output)
{
    if (quant == 0 || quant->multiplier == 0 || quant->shift == 0) {
        return EF_ERR_NULL;
    }
    const ef_status st = fc_check(params, input_dims, input, filter_dims, filter, output_dims, output);
    if (st != EF_OK) {
        return st;
    }
    for (int32_t u = 0; u < output_dims->c; ++u) {
        if (!ef_shift_valid(quant->shift[u])) {
            return EF_ERR_PARAM;
        }
    }
    fc_run(params, quant->multiplier, quant->shift, 1, input, filter_dims, filter, bias,
           output_dims, output);
    return EF_OK;
}
