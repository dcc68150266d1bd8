/*
 * Blob layout (int32 words):
 *   "EFKT" op nparams params[nparams]
 *   narrays { kind(0 s8, 1 s32, 2 f32) count data (padded to whole words) }...
 *   nsamples ninputs { elems kind }... out_elems out_kind scratch_bytes
 *   then nsamples x (input 0, input 1, ...) each padded to whole words.
 * The kernel gets scratch_bytes of scratch (an ef_context {scratch, scratch_bytes}; buf NULL when
 * scratch_bytes is 0), so a wrong size computed on the Python side fails the case.
 * OP_CONV_BUFFER_SIZE takes OP_CONV's parameters and emits ef_conv_s8_get_buffer_size() as one
 * int32 per sample (the Python scratch sizes are checked against it).
 */
#include "ef_kernel_runner.h"

#include <string.h>

#include "ef_nn.h"

enum {
    OP_CONV = 1, OP_DW = 2, OP_FC = 3, OP_FC_PC = 4, OP_AVGPOOL = 5, OP_MAXPOOL = 6, OP_MEAN = 7,
    OP_ADD = 8, OP_ADD_BC = 9, OP_MUL = 10, OP_MUL_BC = 11, OP_CONCAT = 12, OP_PAD = 13,
    OP_SOFTMAX = 14, OP_QUANTIZE = 15, OP_DEQUANTIZE = 16, OP_REQUANT = 17, OP_CLAMP = 18,
    OP_CONV_1X1 = 19, OP_DW_3X3 = 20, OP_CONV_BUFFER_SIZE = 21
};

#define MAX_ARRAYS 8
#define MAX_INPUTS 8

typedef struct {
    const uint32_t *p;
    const uint32_t *end;
    int bad;
} reader_t;

static int32_t rd(reader_t *r)
{
    if (r->p >= r->end) {
        r->bad = 1;
        return 0;
    }
    return (int32_t)*r->p++;
}

static uint32_t words_of(int32_t kind, int32_t count)
{
    const uint32_t bytes = (uint32_t)count * (kind == 0 ? 1u : 4u);
    return (bytes + 3u) / 4u;
}

static const void *skip(reader_t *r, int32_t kind, int32_t count)
{
    const uint32_t w = words_of(kind, count);
    const uint32_t *start = r->p;
    if (count < 0 || (uint32_t)(r->end - r->p) < w) {
        r->bad = 1;
        return 0;
    }
    r->p += w;
    return start;
}

static ef_dims dims_at(const int32_t *p)
{
    ef_dims d = {p[0], p[1], p[2], p[3]};
    return d;
}

int ef_run_case(const uint32_t *blob, uint32_t words, void *out, uint32_t out_cap, void *scratch,
                uint32_t scratch_cap, ef_emit_fn emit, void *ctx, int32_t *failed_sample)
{
    reader_t r = {blob, blob + words, 0};
    if (rd(&r) != 0x544b4645) { /* "EFKT" */
        return 101;
    }
    const int32_t op = rd(&r);
    const int32_t nparams = rd(&r);
    const int32_t *P = (const int32_t *)skip(&r, 1, nparams);
    const int32_t narrays = rd(&r);
    if (r.bad || narrays < 0 || narrays > MAX_ARRAYS) {
        return 102;
    }
    const void *arr[MAX_ARRAYS] = {0};
    int32_t arr_count[MAX_ARRAYS] = {0};
    for (int32_t i = 0; i < narrays; ++i) {
        const int32_t kind = rd(&r);
        arr_count[i] = rd(&r);
        arr[i] = skip(&r, kind, arr_count[i]);
    }
    const int32_t nsamples = rd(&r);
    const int32_t ninputs = rd(&r);
    if (r.bad || ninputs < 1 || ninputs > MAX_INPUTS || nsamples < 1) {
        return 103;
    }
    int32_t in_elems[MAX_INPUTS];
    int32_t in_kind[MAX_INPUTS];
    for (int32_t i = 0; i < ninputs; ++i) {
        in_elems[i] = rd(&r);
        in_kind[i] = rd(&r);
    }
    const int32_t out_elems = rd(&r);
    const int32_t out_kind = rd(&r);
    const int32_t scratch_bytes = rd(&r);
    const uint32_t out_bytes = (uint32_t)out_elems * (out_kind == 0 ? 1u : 4u);
    if (r.bad || out_elems < 0 || out_bytes > out_cap || scratch_bytes < 0 || (uint32_t)scratch_bytes > scratch_cap) {
        return 104;
    }
    const int8_t *s8[MAX_ARRAYS];
    const int32_t *s32[MAX_ARRAYS];
    for (int32_t i = 0; i < MAX_ARRAYS; ++i) {
        s8[i] = (const int8_t *)arr[i];
        s32[i] = arr_count[i] > 0 ? (const int32_t *)arr[i] : 0;
    }
    const ef_context scr = {scratch_bytes > 0 ? scratch : 0, scratch_bytes};

    for (int32_t s = 0; s < nsamples; ++s) {
        const void *in[MAX_INPUTS];
        for (int32_t i = 0; i < ninputs; ++i) {
            in[i] = skip(&r, in_kind[i], in_elems[i]);
        }
        if (r.bad) {
            return 105;
        }
        const int8_t *x = (const int8_t *)in[0];
        int8_t *y = (int8_t *)out;
        ef_status st = EF_ERR_UNSUPPORTED;
        switch (op) {
        case OP_CONV:
        case OP_CONV_1X1: {
            ef_dims di = dims_at(P), df = dims_at(P + 4), dout = dims_at(P + 8);
            ef_conv_params cp = {P[12], P[13], {P[14], P[15]}, {P[16], P[17]}, {1, 1}, {P[18], P[19]}};
            ef_per_channel_quant q = {s32[2], s32[3]};
            st = op == OP_CONV ? ef_conv_s8(&cp, &q, &di, x, &df, s8[0], s32[1], &dout, y, &scr)
                               : ef_conv_1x1_s8(&cp, &q, &di, x, &df, s8[0], s32[1], &dout, y);
            break;
        }
        case OP_CONV_BUFFER_SIZE: {
            if (nparams < 8 || out_kind != 1 || out_elems != 1) {
                return 108;
            }
            ef_dims di = dims_at(P), df = dims_at(P + 4);
            const int32_t size = ef_conv_s8_get_buffer_size(&di, &df);
            memcpy(y, &size, 4);
            st = EF_OK;
            break;
        }
        case OP_DW:
        case OP_DW_3X3: {
            ef_dims di = dims_at(P), df = dims_at(P + 4), dout = dims_at(P + 8);
            ef_dw_conv_params dp = {P[12], P[13], P[14], {P[15], P[16]}, {P[17], P[18]}, {1, 1}, {P[19], P[20]}};
            ef_per_channel_quant q = {s32[2], s32[3]};
            st = op == OP_DW ? ef_depthwise_conv_s8(&dp, &q, &di, x, &df, s8[0], s32[1], &dout, y)
                             : ef_depthwise_conv_3x3_s8(&dp, &q, &di, x, &df, s8[0], s32[1], &dout, y);
            break;
        }
        case OP_FC:
        case OP_FC_PC: {
            ef_dims di = dims_at(P), df = dims_at(P + 4), dout = dims_at(P + 8);
            ef_fc_params fp = {P[12], P[13], P[14], {P[15], P[16]}};
            if (op == OP_FC) {
                ef_per_tensor_quant q = {s32[2][0], s32[3][0]};
                st = ef_fully_connected_s8(&fp, &q, &di, x, &df, s8[0], s32[1], &dout, y);
            } else {
                ef_per_channel_quant q = {s32[2], s32[3]};
                st = ef_fully_connected_per_channel_s8(&fp, &q, &di, x, &df, s8[0], s32[1], &dout, y);
            }
            break;
        }
        case OP_AVGPOOL:
        case OP_MAXPOOL: {
            ef_dims di = dims_at(P), dout = dims_at(P + 4);
            ef_pool_params pp = {{P[8], P[9]}, {P[10], P[11]}, {P[12], P[13]}, {P[14], P[15]}};
            st = op == OP_AVGPOOL ? ef_avgpool_s8(&pp, &di, x, &dout, y) : ef_maxpool_s8(&pp, &di, x, &dout, y);
            break;
        }
        case OP_MEAN: {
            ef_dims di = dims_at(P), dout = dims_at(P + 4);
            ef_mean_params mp = {P[8], P[9], P[10], P[11], {P[12], P[13]}};
            st = ef_mean_hw_s8(&mp, &di, x, &dout, y);
            break;
        }
        case OP_ADD:
        case OP_ADD_BC: {
            const int32_t *q = P + 12;
            ef_add_params ap = {q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], {q[10], q[11]}};
            ef_dims d1 = dims_at(P), d2 = dims_at(P + 4), dout = dims_at(P + 8);
            st = op == OP_ADD ? ef_add_s8(&ap, x, (const int8_t *)in[1], y, out_elems)
                              : ef_add_broadcast_s8(&ap, &d1, x, &d2, (const int8_t *)in[1], &dout, y);
            break;
        }
        case OP_MUL:
        case OP_MUL_BC: {
            const int32_t *q = P + 12;
            ef_mul_params mp = {q[0], q[1], q[2], q[3], q[4], {q[5], q[6]}};
            ef_dims d1 = dims_at(P), d2 = dims_at(P + 4), dout = dims_at(P + 8);
            st = op == OP_MUL ? ef_mul_s8(&mp, x, (const int8_t *)in[1], y, out_elems)
                              : ef_mul_broadcast_s8(&mp, &d1, x, &d2, (const int8_t *)in[1], &dout, y);
            break;
        }
        case OP_CONCAT: {
            const int32_t n = P[0];
            ef_concat_input ci[MAX_INPUTS];
            if (n > ninputs) {
                return 106;
            }
            for (int32_t i = 0; i < n; ++i) {
                const int32_t *q = P + 3 + 5 * i;
                ef_concat_input c = {(const int8_t *)in[i], q[0], q[1], q[2], q[3], q[4]};
                ci[i] = c;
            }
            st = ef_concat_c_s8(ci, n, P[1], P[2], y);
            break;
        }
        case OP_PAD: {
            ef_dims di = dims_at(P), dout = dims_at(P + 4);
            ef_pad_params pp;
            pp.before = dims_at(P + 8);
            pp.after = dims_at(P + 12);
            pp.pad_value = (int8_t)P[16];
            st = ef_pad_s8(&pp, &di, x, &dout, y);
            break;
        }
        case OP_SOFTMAX: {
            ef_softmax_params sp = {P[2], P[3], P[4]};
            st = ef_softmax_s8(&sp, x, P[0], P[1], y);
            break;
        }
        case OP_QUANTIZE: {
            float scale;
            memcpy(&scale, &P[1], 4);
            st = ef_quantize_f32_s8((const float *)in[0], y, P[0], scale, P[2]);
            break;
        }
        case OP_DEQUANTIZE: {
            float scale;
            memcpy(&scale, &P[1], 4);
            st = ef_dequantize_s8_f32(x, (float *)out, P[0], scale, P[2]);
            break;
        }
        case OP_REQUANT: {
            ef_requantize_params rp = {P[1], P[2], P[3], P[4]};
            st = ef_requantize_s8(&rp, x, y, P[0]);
            break;
        }
        case OP_CLAMP: {
            ef_activation act = {P[1], P[2]};
            memcpy(y, x, (size_t)P[0]);
            st = ef_clamp_s8(&act, y, P[0]);
            break;
        }
        default:
            return 107;
        }
        if (st != EF_OK) {
            if (failed_sample != 0) {
                *failed_sample = s;
            }
            return (int)st;
        }
        emit(ctx, out, out_bytes);
    }
    return 0;
}
