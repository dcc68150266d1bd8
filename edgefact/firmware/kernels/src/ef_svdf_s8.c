/*
 * SVDF, int8 input and output with an int16 activation state (TFLite Micro's integer SVDF).
 *
 * The state holds, per batch and filter, the last memory_size feature values (oldest first) and
 * persists between invocations (a variable tensor). One step, exactly as TFLM's reference:
 *   1. the whole state buffer moves left by one value (memmove: the oldest value of each filter
 *      drops out; the last slot of each filter is overwritten next);
 *   2. feature: state[b][f][memory_size - 1] = clamp_int16(state_offset +
 *      MultiplyByQuantizedMultiplier(sum_c wf[f][c] * (x[b][c] + input_offset), feature_q));
 *   3. time: per filter, sum_j wt[f][j] * (state[b][f][j] - state_offset);
 *   4. per unit u (rank filters each): output = clamp_int8(output_offset +
 *      MultiplyByQuantizedMultiplier(bias[u] + sum of its filters' time sums, time_q)).
 * TFLM's int8 path applies no fused activation, so neither does this kernel. The sums of step 3
 * are added into the unit accumulator directly (int32 additions, the same number as TFLM's
 * scratch buffers), so the kernel needs no scratch. The feature dot product uses the library's
 * offset dot (SXTAB16 + SMLAD on DSP cores, VMLADAV on Helium); the time dot product pairs int16
 * values per SMLAD (DSP) or eight lanes per VMLADAV (Helium).
 *
 * ef_svdf_s8_s8 is TFLM's other instance of the same template: int8 weights_time and an int8
 * state with a zero point, which step 3 subtracts. Step 2 is the TFLM edgefact checks against
 * (tflite-micro 0.dev20261023): the requantized value is clamped to int8 first and the zero point
 * added after, the sum stored modulo 256 (an int32 -> int8 narrowing; gcc documents it as
 * modulo). Later TFLM versions add the zero point before the clamp; for a zero point 0 (every
 * int16 state, symmetric int8 states) the two agree.
 */
#include <string.h>

#include "internal/ef_nn_internal.h"

/* sum_j a[j] * b[j] over n int16 pairs */
static int32_t ef_dot_s16_s16(const int16_t *a, const int16_t *b, int32_t n)
{
    int32_t acc = 0;
    int32_t j = 0;
#if defined(EF_NN_USE_MVE)
    for (; j < n; j += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)(n - j));
        acc = vmladavaq_p_s16(acc, vldrhq_z_s16(a + j, p), vldrhq_z_s16(b + j, p), p);
    }
    return acc;
#else
#if defined(EF_NN_USE_DSP)
    uint32_t uacc = 0;
    for (; j + 2 <= n; j += 2) {
        ef_smlad_acc(&uacc, ef_read_u32(a + j), ef_read_u32(b + j));
    }
    acc = (int32_t)uacc;
#endif
    for (; j < n; ++j) {
        acc += (int32_t)a[j] * (int32_t)b[j];
    }
    return acc;
#endif
}

static int32_t ef_sum_s16(const int16_t *a, int32_t n)
{
    int32_t s = 0;
    for (int32_t j = 0; j < n; ++j) {
        s += a[j];
    }
    return s;
}

static ef_status ef_svdf_check(const ef_svdf_params *params, int32_t state_min, int32_t state_max)
{
    const int32_t batches = params->batches, n_input = params->input_size, n_filter = params->num_filters;
    const int32_t n_memory = params->memory_size, rank = params->rank;
    if (batches < 1 || n_input < 1 || n_filter < 1 || n_memory < 1 || rank < 1 || n_filter % rank != 0) {
        return EF_ERR_DIMS;
    }
    if (!ef_shift_valid(params->feature_shift) || !ef_shift_valid(params->time_shift) ||
        params->input_offset < -127 || params->input_offset > 128 || params->output_offset < -128 ||
        params->output_offset > 127 || params->state_offset < state_min || params->state_offset > state_max) {
        return EF_ERR_PARAM;
    }
    return EF_OK;
}

/* step 4: one unit's output */
static int8_t ef_svdf_output(const ef_svdf_params *params, int32_t acc)
{
    const int32_t y = ef_requantize(acc, params->time_multiplier, params->time_shift) + params->output_offset;
    return (int8_t)(y < -128 ? -128 : y > 127 ? 127 : y);
}

ef_status ef_svdf_s8(const ef_svdf_params *params, const int8_t *input, const int8_t *weights_feature,
                     const int16_t *weights_time, const int32_t *bias, int16_t *state, int8_t *output)
{
    if (params == 0 || input == 0 || weights_feature == 0 || weights_time == 0 || state == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    const ef_status chk = ef_svdf_check(params, INT16_MIN, INT16_MAX);
    if (chk != EF_OK) {
        return chk;
    }
    const int32_t batches = params->batches, n_input = params->input_size, n_filter = params->num_filters;
    const int32_t n_memory = params->memory_size, rank = params->rank;
    const int32_t n_unit = n_filter / rank;
    const int32_t n_state = batches * n_filter * n_memory;

    /* 1. shift the state left by one value */
    memmove(state, state + 1, (size_t)(n_state - 1) * sizeof(int16_t));

    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = input + b * n_input;
        int16_t *s_b = state + b * n_filter * n_memory;
        /* 2. feature: the newest value of every filter */
        for (int32_t f = 0; f < n_filter; ++f) {
            int32_t v = ef_dot_s8_s8_offset(x, params->input_offset, weights_feature + f * n_input, n_input);
            v = ef_requantize(v, params->feature_multiplier, params->feature_shift) + params->state_offset;
            v = v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v;
            s_b[f * n_memory + n_memory - 1] = (int16_t)v;
        }
        /* 3 + 4. time, reduced over the rank, requantized per unit */
        const int16_t *wt = weights_time;
        for (int32_t u = 0; u < n_unit; ++u) {
            int32_t acc = bias != 0 ? bias[u] : 0;
            for (int32_t r = 0; r < rank; ++r) {
                const int16_t *s_f = s_b + (u * rank + r) * n_memory;
                acc += ef_dot_s16_s16(wt, s_f, n_memory);
                if (params->state_offset != 0) {
                    acc -= params->state_offset * ef_sum_s16(wt, n_memory);
                }
                wt += n_memory;
            }
            output[b * n_unit + u] = ef_svdf_output(params, acc);
        }
    }
    return EF_OK;
}

ef_status ef_svdf_s8_s8(const ef_svdf_params *params, const int8_t *input, const int8_t *weights_feature,
                        const int8_t *weights_time, const int32_t *bias, int8_t *state, int8_t *output)
{
    if (params == 0 || input == 0 || weights_feature == 0 || weights_time == 0 || state == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    /* the state offset is subtracted from int8 state values inside the offset dot: [-127, 128] */
    const ef_status chk = ef_svdf_check(params, -128, 127);
    if (chk != EF_OK) {
        return chk;
    }
    const int32_t batches = params->batches, n_input = params->input_size, n_filter = params->num_filters;
    const int32_t n_memory = params->memory_size, rank = params->rank;
    const int32_t n_unit = n_filter / rank;

    memmove(state, state + 1, (size_t)(batches * n_filter * n_memory - 1));
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = input + b * n_input;
        int8_t *s_b = state + b * n_filter * n_memory;
        for (int32_t f = 0; f < n_filter; ++f) {
            int32_t v = ef_dot_s8_s8_offset(x, params->input_offset, weights_feature + f * n_input, n_input);
            v = ef_requantize(v, params->feature_multiplier, params->feature_shift);
            v = (v < -128 ? -128 : v > 127 ? 127 : v) + params->state_offset;
            s_b[f * n_memory + n_memory - 1] = (int8_t)v; /* modulo 256, as TFLM's narrowing */
        }
        const int8_t *wt = weights_time;
        for (int32_t u = 0; u < n_unit; ++u) {
            int32_t acc = bias != 0 ? bias[u] : 0;
            for (int32_t r = 0; r < rank; ++r) {
                acc += ef_dot_s8_s8_offset(s_b + (u * rank + r) * n_memory, -params->state_offset, wt, n_memory);
                wt += n_memory;
            }
            output[b * n_unit + u] = ef_svdf_output(params, acc);
        }
    }
    return EF_OK;
}
