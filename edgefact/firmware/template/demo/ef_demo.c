/*
 * ef_demo.c - the built-in demo application of `edgefact run`: a tiny int8 two-layer perceptron
 * (fully connected 64->32, ReLU, 32->10) on deterministic pseudo-random data, profiled per layer,
 * with a CRC-32 of the output and the output vector in the log.
 */
#include <stdint.h>

#include "ef_app.h"
#include "ef_log.h"
#include "ef_profile.h"

#define EF_DEMO_IN 64
#define EF_DEMO_HID 32
#define EF_DEMO_OUT 10

static int8_t ef_w1[EF_DEMO_HID][EF_DEMO_IN];
static int8_t ef_w2[EF_DEMO_OUT][EF_DEMO_HID];
static int8_t ef_x[EF_DEMO_IN];
static int8_t ef_h[EF_DEMO_HID];
static int8_t ef_y[EF_DEMO_OUT];

static uint32_t ef_lcg = 12345u;

static int8_t ef_rand_i8(void)
{
    ef_lcg = ef_lcg * 1664525u + 1013904223u;
    return (int8_t)(ef_lcg >> 24);
}

static int8_t ef_sat8(int32_t v)
{
    return (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
}

static void ef_fc(const int8_t *w, const int8_t *x, int8_t *y, int n_out, int n_in, int shift)
{
    for (int o = 0; o < n_out; ++o) {
        int32_t acc = 0;
        for (int i = 0; i < n_in; ++i) {
            acc += (int32_t)w[o * n_in + i] * (int32_t)x[i];
        }
        /* arithmetic shift with rounding, done on the magnitude to stay portable C99 */
        int32_t mag = acc < 0 ? -acc : acc;
        int32_t r = (mag + (1 << (shift - 1))) >> shift;
        y[o] = ef_sat8(acc < 0 ? -r : r);
    }
}

int ef_app_setup(void)
{
    for (int o = 0; o < EF_DEMO_HID; ++o) {
        for (int i = 0; i < EF_DEMO_IN; ++i) {
            ef_w1[o][i] = ef_rand_i8();
        }
    }
    for (int o = 0; o < EF_DEMO_OUT; ++o) {
        for (int i = 0; i < EF_DEMO_HID; ++i) {
            ef_w2[o][i] = ef_rand_i8();
        }
    }
    for (int i = 0; i < EF_DEMO_IN; ++i) {
        ef_x[i] = ef_rand_i8();
    }
    return 0;
}

int ef_app_run(void)
{
    EF_PROFILE_BEGIN(0, "fc1");
    ef_fc(&ef_w1[0][0], ef_x, ef_h, EF_DEMO_HID, EF_DEMO_IN, 10);
    EF_PROFILE_END(0);
    EF_PROFILE_BEGIN(1, "relu");
    for (int i = 0; i < EF_DEMO_HID; ++i) {
        ef_h[i] = ef_h[i] < 0 ? 0 : ef_h[i];
    }
    EF_PROFILE_END(1);
    EF_PROFILE_BEGIN(2, "fc2");
    ef_fc(&ef_w2[0][0], ef_h, ef_y, EF_DEMO_OUT, EF_DEMO_HID, 8);
    EF_PROFILE_END(2);
    return 0;
}

void ef_app_report(void)
{
    ef_log_checksum("output", ef_crc32(ef_y, sizeof ef_y));
    ef_log_output_i8("output", ef_y, EF_DEMO_OUT);
}
