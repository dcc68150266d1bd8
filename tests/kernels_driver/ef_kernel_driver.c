/*
 * Host test driver for the edgefact kernel library: runs one kernel over a batch of inputs.
 *
 *   ef_kernel_driver CASE.bin OUT.bin
 *
 * CASE.bin (little-endian int32 words unless noted), written by tests/kernels_harness.py:
 *   "EFKT" op nparams params[nparams]
 *   narrays { kind(0 s8, 1 s32, 2 f32) count data (padded to 4 bytes) }...
 *   nsamples ninputs { elems kind }... out_elems out_kind scratch_bytes
 *   then nsamples x (input 0 data, input 1 data, ...) each padded to 4 bytes
 * OUT.bin: nsamples x output data (unpadded). Exit status 3 with a message when a kernel
 * returns an error status, 2 on a malformed case file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ef_nn.h"

enum {
    OP_CONV = 1, OP_DW = 2, OP_FC = 3, OP_FC_PC = 4, OP_AVGPOOL = 5, OP_MAXPOOL = 6, OP_MEAN = 7,
    OP_ADD = 8, OP_ADD_BC = 9, OP_MUL = 10, OP_MUL_BC = 11, OP_CONCAT = 12, OP_PAD = 13,
    OP_SOFTMAX = 14, OP_QUANTIZE = 15, OP_DEQUANTIZE = 16, OP_REQUANT = 17, OP_CLAMP = 18,
    OP_CONV_1X1 = 19, OP_DW_3X3 = 20
};

#define MAX_ARRAYS 8
#define MAX_INPUTS 8

typedef struct {
    int32_t kind;
    int32_t count;
    void *data;
} array_t;

static FILE *g_in;

static void die(const char *msg)
{
    fprintf(stderr, "ef_kernel_driver: %s\n", msg);
    exit(2);
}

static int32_t rd32(void)
{
    int32_t v;
    if (fread(&v, 4, 1, g_in) != 1) {
        die("truncated case file");
    }
    return v;
}

static size_t elem_size(int32_t kind)
{
    return kind == 0 ? 1u : 4u;
}

static void *rd_data(int32_t kind, int32_t count)
{
    const size_t n = (size_t)count * elem_size(kind);
    const size_t padded = (n + 3u) & ~(size_t)3u;
    void *p = calloc(padded + 4u, 1);
    if (p == NULL) {
        die("out of memory");
    }
    if (padded > 0 && fread(p, 1, padded, g_in) != padded) {
        die("truncated data");
    }
    return p;
}

static ef_dims dims_at(const int32_t *p)
{
    ef_dims d = {p[0], p[1], p[2], p[3]};
    return d;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        die("usage: ef_kernel_driver CASE.bin OUT.bin");
    }
    g_in = fopen(argv[1], "rb");
    if (g_in == NULL) {
        die("cannot open case file");
    }
    if (rd32() != 0x544b4645) { /* "EFKT" */
        die("bad magic");
    }
    const int32_t op = rd32();
    const int32_t nparams = rd32();
    if (nparams < 0 || nparams > 4096) {
        die("bad parameter count");
    }
    int32_t *P = calloc((size_t)nparams + 1u, sizeof(int32_t));
    for (int32_t i = 0; i < nparams; ++i) {
        P[i] = rd32();
    }
    const int32_t narrays = rd32();
    if (narrays < 0 || narrays > MAX_ARRAYS) {
        die("bad array count");
    }
    array_t A[MAX_ARRAYS];
    memset(A, 0, sizeof(A));
    for (int32_t i = 0; i < narrays; ++i) {
        A[i].kind = rd32();
        A[i].count = rd32();
        A[i].data = rd_data(A[i].kind, A[i].count);
    }
    const int32_t nsamples = rd32();
    const int32_t ninputs = rd32();
    if (ninputs < 1 || ninputs > MAX_INPUTS || nsamples < 1) {
        die("bad input description");
    }
    int32_t in_elems[MAX_INPUTS];
    int32_t in_kind[MAX_INPUTS];
    for (int32_t i = 0; i < ninputs; ++i) {
        in_elems[i] = rd32();
        in_kind[i] = rd32();
    }
    const int32_t out_elems = rd32();
    const int32_t out_kind = rd32();
    const int32_t scratch_bytes = rd32();
    void *scratch = scratch_bytes > 0 ? calloc((size_t)scratch_bytes, 1) : NULL;
    void *out = calloc((size_t)out_elems * elem_size(out_kind) + 4u, 1);
    FILE *fo = fopen(argv[2], "wb");
    if (fo == NULL || out == NULL) {
        die("cannot open output");
    }

    const int8_t *s8[MAX_ARRAYS];
    const int32_t *s32[MAX_ARRAYS];
    for (int32_t i = 0; i < MAX_ARRAYS; ++i) {
        s8[i] = (const int8_t *)A[i].data;
        s32[i] = (A[i].count > 0) ? (const int32_t *)A[i].data : NULL;
    }

    for (int32_t s = 0; s < nsamples; ++s) {
        void *in[MAX_INPUTS];
        for (int32_t i = 0; i < ninputs; ++i) {
            in[i] = rd_data(in_kind[i], in_elems[i]);
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
            st = op == OP_CONV ? ef_conv_s8(&cp, &q, &di, x, &df, s8[0], s32[1], &dout, y, scratch)
                               : ef_conv_1x1_s8(&cp, &q, &di, x, &df, s8[0], s32[1], &dout, y);
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
                die("concat: more parts than inputs");
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
            die("unknown op");
        }
        if (st != EF_OK) {
            fprintf(stderr, "ef_kernel_driver: op %d sample %d: kernel returned status %d\n", (int)op, (int)s,
                    (int)st);
            return 3;
        }
        if (fwrite(out, elem_size(out_kind), (size_t)out_elems, fo) != (size_t)out_elems) {
            die("write failed");
        }
        for (int32_t i = 0; i < ninputs; ++i) {
            free(in[i]);
        }
    }
    fclose(fo);
    fclose(g_in);
    return 0;
}
