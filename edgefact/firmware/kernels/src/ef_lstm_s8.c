/*
 * UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights, int16 cell state and gates
 * (TensorFlow Lite Micro's integer LSTM, "8x8->16"): bit-exact with its reference kernel.
 *
 * One time step of one batch, as TFLM computes it:
 *   gate[g][u] = sat16(clamp16(MBQM(bias[g][u] + sum_k (x[k] + input_offset) * Wi[g][u][k], in_q[g]))
 *                    + clamp16(MBQM(sum_k (h[k] - hidden_zp) * Wr[g][u][k], rec_q[g])))
 *     a Q3.12 value (TFLM's fixed gate scale 2^-12; the recurrent product has no bias);
 *   forget, input, output gates: sigmoid16; the cell gate: tanh16 -- Q0.15 results;
 *   cell[u] = sat16(clamp16(MBQM(forget * cell[u], forget_q)) + clamp16(MBQM(input * cellgate, update_q))),
 *     clipped to [-cell_clip, cell_clip] when cell_clip > 0;
 *   hidden[u] = clamp8(MBQM(tanh16(cell[u]) * output, hidden_q) + hidden_zp), also the step's output.
 * MBQM is TFLite's MultiplyByQuantizedMultiplier (ef_requantize). Every operation after the two
 * dot products is per unit, and the gates read the old hidden state only, so the kernel computes
 * all four gates of a unit together, updates that unit's cell in place and writes the new hidden
 * value into the step's output row; the row becomes the hidden state after the last unit. No
 * scratch is needed (TFLM keeps four int16 gate buffers).
 *
 * sigmoid16 / tanh16 are TFLite's int16 LOGISTIC / TANH: a linear interpolation in a 256-entry
 * table of sigmoid at i / 24 in 0.16 fixed point (tanh(x) = 2 sigmoid(2x) - 1). The table below
 * holds the values TFLM's own int16 TANH produces at the inputs that land exactly on an entry
 * (tests/test_export_ops_stateful_lstm.py recovers them from the interpreter and compares).
 */
#include <string.h>

#include "internal/ef_nn_internal.h"

static const uint16_t ef_sigmoid_table_u16[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535,
};

static inline int32_t ef_clamp16(int32_t v)
{
    return v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v;
}

/* sigmoid of a Q3.12 value, Q0.15 (TFLite's int16 LOGISTIC at input scale 2^-12) */
static int16_t ef_sigmoid16(int32_t x)
{
    const int32_t v = 3 * x;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t i = a >> 9;
    uint32_t r = 0x7FFFu << 10;
    if (i < 255) {
        const uint32_t lo = ef_sigmoid_table_u16[i];
        r = (lo << 9) + (a & 0x1FFu) * (ef_sigmoid_table_u16[i + 1] - lo);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    return (int16_t)(uint16_t)(r >> 10);
}

/* tanh, Q0.15, of x * multiplier / 2^shift (rounded) in units of 1 / (3 * 4096): TFLite's int16
 * TANH with its input multiplier and shift (multiplier 0: 3 << shift, no shift) */
static int16_t ef_tanh16(int32_t x, int32_t multiplier, int32_t shift)
{
    if (multiplier == 0) {
        multiplier = 3 << shift;
        shift = 0;
    }
    const int32_t round = shift > 0 ? 1 << (shift - 1) : 0;
    const int32_t v = (x * multiplier + round) >> shift;
    const uint32_t a = (uint32_t)(v < 0 ? -v : v);
    const uint32_t i = a >> 8;
    int32_t r = (int32_t)(0xFFFFu << 8);
    if (i < 255) {
        const uint32_t lo = ef_sigmoid_table_u16[i];
        r = (int32_t)((lo << 8) + (a & 0xFFu) * (ef_sigmoid_table_u16[i + 1] - lo));
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

/* r[g] = sum_k (a[k] + a_off) * w[g * stride + k] for the four gates: the input is read once
 * (DSP: widened once per word for the four rows), the n % 4 tail by the scalar loop */
static inline void ef_lstm_dot4(const int8_t *a, int32_t a_off, const int8_t *w, int32_t stride, int32_t n,
                                int32_t r[4])
{
    int32_t i = 0;
#if defined(EF_NN_USE_DSP)
    i = n & ~3;
    ef_dot4_s8_s8_offset(a, a_off, w, w + stride, w + 2 * stride, w + 3 * stride, i, r);
#elif defined(EF_NN_USE_MVE)
#pragma GCC unroll 4
    for (int32_t g = 0; g < 4; ++g) {
        r[g] = ef_dot_s8_s8_offset(a, a_off, w + g * stride, n);
    }
    return;
#else
    r[0] = r[1] = r[2] = r[3] = 0;
#endif
    for (; i < n; ++i) {
        const int32_t v = (int32_t)a[i] + a_off;
        r[0] += v * w[i];
        r[1] += v * w[stride + i];
        r[2] += v * w[2 * stride + i];
        r[3] += v * w[3 * stride + i];
    }
}

static ef_status ef_lstm_check(const ef_lstm_params *p)
{
    if (p->batches < 1 || p->time_steps < 1 || p->input_size < 1 || p->units < 1) {
        return EF_ERR_DIMS;
    }
    int ok = p->input_offset >= -127 && p->input_offset <= 128 && p->hidden_zero_point >= -128 &&
             p->hidden_zero_point <= 127 && p->cell_clip >= 0 && p->cell_clip <= INT16_MAX &&
             p->cell_tanh_shift >= 0 && p->cell_tanh_shift <= 30 && ef_shift_valid(p->forget_shift) &&
             ef_shift_valid(p->update_shift) && ef_shift_valid(p->hidden_shift);
    for (int32_t g = 0; g < 4; ++g) {
        ok = ok && ef_shift_valid(p->input_shift[g]) && ef_shift_valid(p->recurrent_shift[g]);
    }
    return ok ? EF_OK : EF_ERR_PARAM;
}

/* one time step of one batch: x [input_size], y [units] (the new hidden state), h and c the state */
static void ef_lstm_step(const ef_lstm_params *p, const int8_t *x, const int8_t *wi, const int8_t *wr,
                         const int32_t *bias, int8_t *h, int16_t *c, int8_t *y)
{
    const int32_t n_in = p->input_size, n = p->units;
    int32_t gate[4];
    for (int32_t u = 0; u < n; ++u) {
        int32_t acc_in[4], acc_rec[4];
        ef_lstm_dot4(x, p->input_offset, wi + u * n_in, n * n_in, n_in, acc_in);
        ef_lstm_dot4(h, -p->hidden_zero_point, wr + u * n, n * n, n, acc_rec);
#pragma GCC unroll 4
        for (int32_t g = 0; g < 4; ++g) {
            const int32_t a = ef_clamp16(ef_requantize(acc_in[g] + bias[g * n + u], p->input_multiplier[g],
                                                       p->input_shift[g]));
            const int32_t r = ef_clamp16(ef_requantize(acc_rec[g], p->recurrent_multiplier[g], p->recurrent_shift[g]));
            gate[g] = ef_clamp16(a + r);
        }
        const int32_t f = ef_sigmoid16(gate[0]);
        const int32_t i = ef_sigmoid16(gate[1]);
        const int32_t g = ef_tanh16(gate[2], 0, 0);
        const int32_t o = ef_sigmoid16(gate[3]);
        int32_t cu = ef_clamp16(ef_requantize(f * c[u], p->forget_multiplier, p->forget_shift)) +
                     ef_clamp16(ef_requantize(i * g, p->update_multiplier, p->update_shift));
        cu = ef_clamp16(cu);
        if (p->cell_clip > 0) {
            cu = cu < -p->cell_clip ? -p->cell_clip : cu > p->cell_clip ? p->cell_clip : cu;
        }
        c[u] = (int16_t)cu;
        const int32_t t = ef_tanh16(cu, p->cell_tanh_multiplier, p->cell_tanh_shift);
        const int32_t v = ef_requantize(t * o, p->hidden_multiplier, p->hidden_shift) + p->hidden_zero_point;
        y[u] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
    }
    memcpy(h, y, (size_t)n);
}

ef_status ef_lstm_s8(const ef_lstm_params *params, const int8_t *input, const int8_t *input_weights,
                     const int8_t *recurrent_weights, const int32_t *bias, int8_t *hidden_state,
                     int16_t *cell_state, int8_t *output)
{
    if (params == 0 || input == 0 || input_weights == 0 || recurrent_weights == 0 || bias == 0 ||
        hidden_state == 0 || cell_state == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    const ef_status chk = ef_lstm_check(params);
    if (chk != EF_OK) {
        return chk;
    }
    const int32_t n_batch = params->batches, n_time = params->time_steps, n = params->units;
    for (int32_t b = 0; b < n_batch; ++b) {
        for (int32_t t = 0; t < n_time; ++t) {
            const int32_t row = params->time_major ? t * n_batch + b : b * n_time + t;
            ef_lstm_step(params, input + row * params->input_size, input_weights, recurrent_weights, bias,
                         hidden_state + b * n, cell_state + b * n, output + row * n);
        }
    }
    return EF_OK;
}
