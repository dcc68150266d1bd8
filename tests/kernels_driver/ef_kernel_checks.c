/*
 * Unit checks of the kernel API, a firmware application (ef_app.h) built for the host and for
 * the emulated cores by tests/kernel_checks.py, which writes ef_kernel_checks_data.h and reads
 * the log:
 *
 *  - argument validation: kernels called with inconsistent arguments log their status as metric
 *    "status_<check>" (the test compares it with the documented one);
 *  - requantization on values the generated code of a TFLite model cannot reach: ef_requantize_s8
 *    for chosen multipliers / shifts / offsets (negative and tiny multipliers, shifts -31 and 30,
 *    the saturating INT32_MIN product) over every int8 value; the depthwise 3x3 and per-channel
 *    fully-connected kernels on chosen int32 accumulators; ef_quantize_f32_s8 on ties, huge
 *    values and NaN; ef_dequantize_s8_f32. Each logs the CRC-32 of its outputs as checksum
 *    "<case>" and, with EF_CHECKS_LOG_OUTPUTS=1, the output bytes under the same name.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ef_app.h"
#include "ef_log.h"
#include "ef_nn.h"

#include "ef_kernel_checks_data.h"

#ifndef EF_CHECKS_LOG_OUTPUTS
#define EF_CHECKS_LOG_OUTPUTS 0
#endif

/* ---- argument validation ------------------------------------------------------------------ */

static const int8_t chk_in[1 * 5 * 5 * 4];
static const int8_t chk_filter[4 * 5 * 5 * 4];
static const int32_t chk_mult[4] = {1 << 30, 1 << 30, 1 << 30, 1 << 30};
static const int32_t chk_shift[4] = {0, 0, 0, 0};
static int8_t chk_out[1 * 5 * 5 * 4];
static int32_t chk_scratch[128]; /* int32: 4-byte aligned; ef_conv_2x2_s8 takes 368 bytes */

static void log_status(const char *name, ef_status st)
{
    ef_log_begin("metric");
    ef_log_str("name", name);
    ef_log_int("value", (int64_t)st);
    ef_log_end();
}

/* A 3x3 VALID convolution 5x5x2 -> 3x3x4 (ef_conv_s8), with one argument broken per check. */
static ef_status conv(const ef_conv_params *p, int32_t out_h, const ef_context *ctx)
{
    const ef_per_channel_quant q = {chk_mult, chk_shift};
    const ef_dims in = {1, 5, 5, 2}, f = {4, 3, 3, 2}, out = {1, out_h, 3, 4};
    return ef_conv_s8(p, &q, &in, chk_in, &f, chk_filter, NULL, &out, chk_out, ctx);
}

static void check_arguments(void)
{
    const ef_conv_params ok = {0, 0, {1, 1}, {0, 0}, {1, 1}, {-128, 127}};
    ef_conv_params bad_act = ok;
    bad_act.activation.min = 10;
    bad_act.activation.max = -10;
    const ef_dims in = {1, 5, 5, 2}, f = {4, 3, 3, 2};
    const int32_t need = ef_conv_s8_get_buffer_size(&in, &f);
    const ef_context ctx = {chk_scratch, need};
    const ef_context small = {chk_scratch, need - 1};
    const ef_context no_buf = {NULL, need};
    const ef_context misaligned = {(int8_t *)chk_scratch + 1, need};

    log_status("status_conv_ok", conv(&ok, 3, &ctx));
    log_status("status_conv_bad_dims", conv(&ok, 5, &ctx)); /* output height impossible */
    log_status("status_conv_bad_activation", conv(&bad_act, 3, &ctx));
    log_status("status_conv_no_scratch", conv(&ok, 3, NULL));
    log_status("status_conv_null_scratch_buf", conv(&ok, 3, &no_buf));
    log_status("status_conv_small_scratch", conv(&ok, 3, &small));
    log_status("status_conv_misaligned_scratch", conv(&ok, 3, &misaligned));

    /* the DSP table conv (fast requantization, 4 channels: its DSP path on the DSP cores,
     * ef_conv_s8 elsewhere): the same scratch errors on every build */
    {
        static const int32_t fast_shift[4] = {-2, -2, -2, -2};
        const ef_per_channel_quant fq = {chk_mult, fast_shift};
        const ef_dims in4 = {1, 5, 5, 4}, f4 = {4, 3, 3, 4}, out4 = {1, 3, 3, 4};
        const int32_t need4 = ef_conv_2x2_s8_get_buffer_size(&in4, &f4);
        const ef_context ctx4 = {chk_scratch, need4};
        const ef_context small4 = {chk_scratch, ef_conv_s8_get_buffer_size(&in4, &f4) - 1};
        const ef_context misaligned4 = {(int8_t *)chk_scratch + 1, need4};
        log_status("status_conv_2x2_ok",
                   ef_conv_2x2_s8(&ok, &fq, &in4, chk_in, &f4, chk_filter, NULL, &out4, chk_out, &ctx4));
        log_status("status_conv_2x2_no_scratch",
                   ef_conv_2x2_s8(&ok, &fq, &in4, chk_in, &f4, chk_filter, NULL, &out4, chk_out, NULL));
        log_status("status_conv_2x2_small_scratch",
                   ef_conv_2x2_s8(&ok, &fq, &in4, chk_in, &f4, chk_filter, NULL, &out4, chk_out, &small4));
        log_status("status_conv_2x2_misaligned_scratch",
                   ef_conv_2x2_s8(&ok, &fq, &in4, chk_in, &f4, chk_filter, NULL, &out4, chk_out, &misaligned4));
    }

    /* its dilated entry: a 2x2 filter at dilation 2 (a 3x3 extent) over the same input */
    {
        static const int32_t fast_shift[4] = {-2, -2, -2, -2};
        const ef_per_channel_quant fq = {chk_mult, fast_shift};
        const ef_conv_params dil = {0, 0, {1, 1}, {0, 0}, {2, 2}, {-128, 127}};
        ef_conv_params dil0 = dil;
        dil0.dilation.h = 0;
        const ef_dims in4 = {1, 5, 5, 4}, f4 = {4, 2, 2, 4}, out4 = {1, 3, 3, 4};
        const int32_t need4 = ef_conv_2x2_s8_get_buffer_size(&in4, &f4);
        const ef_context ctx4 = {chk_scratch, need4};
        const ef_context small4 = {chk_scratch, ef_conv_s8_get_buffer_size(&in4, &f4) - 1};
        log_status("status_conv_2x2_dilated_ok",
                   ef_conv_2x2_dilated_s8(&dil, &fq, &in4, chk_in, &f4, chk_filter, NULL, &out4, chk_out, &ctx4));
        log_status("status_conv_2x2_dilated_small_scratch",
                   ef_conv_2x2_dilated_s8(&dil, &fq, &in4, chk_in, &f4, chk_filter, NULL, &out4, chk_out, &small4));
        log_status("status_conv_2x2_dilated_zero_dilation",
                   ef_conv_2x2_dilated_s8(&dil0, &fq, &in4, chk_in, &f4, chk_filter, NULL, &out4, chk_out, &ctx4));
        log_status("status_conv_2x2_undilated_entry_dilated",
                   ef_conv_2x2_s8(&dil, &fq, &in4, chk_in, &f4, chk_filter, NULL, &out4, chk_out, &ctx4));
    }

    /* specialised kernels outside their preconditions */
    const ef_per_channel_quant q = {chk_mult, chk_shift};
    const ef_dims out = {1, 3, 3, 4};
    log_status("status_conv_1x1_on_3x3",
               ef_conv_1x1_s8(&ok, &q, &in, chk_in, &f, chk_filter, NULL, &out, chk_out));
    const ef_dw_conv_params dw = {0, 0, 1, {1, 1}, {0, 0}, {1, 1}, {-128, 127}};
    const ef_dims dw_in = {1, 5, 5, 4}, dw_f5 = {1, 5, 5, 4}, dw_out5 = {1, 1, 1, 4};
    log_status("status_dw_3x3_on_5x5",
               ef_depthwise_conv_3x3_s8(&dw, &q, &dw_in, chk_in, &dw_f5, chk_filter, NULL, &dw_out5, chk_out));
    log_status("status_dw_5x5_generic_ok",
               ef_depthwise_conv_s8(&dw, &q, &dw_in, chk_in, &dw_f5, chk_filter, NULL, &dw_out5, chk_out));
    log_status("status_dw_px_on_5x5",
               ef_depthwise_conv_3x3_px_s8(&dw, &q, &dw_in, chk_in, &dw_f5, chk_filter, NULL, &dw_out5, chk_out));
    /* its multiplier entry: ch_mult 4 (one input channel, 4 outputs) runs there and not in the
     * multiplier-1 entry; ch_mult 2 and 1 are refused */
    {
        const ef_dw_conv_params dw4 = {0, 0, 4, {1, 1}, {0, 0}, {1, 1}, {-128, 127}};
        const ef_dw_conv_params dw2 = {0, 0, 2, {1, 1}, {0, 0}, {1, 1}, {-128, 127}};
        const ef_dims in1 = {1, 3, 3, 1}, in2 = {1, 3, 3, 2}, f3 = {1, 3, 3, 4}, o4 = {1, 1, 1, 4};
        const ef_dims in4 = {1, 3, 3, 4};
        log_status("status_dw_px_mult4_ok",
                   ef_depthwise_conv_3x3_px_mult_s8(&dw4, &q, &in1, chk_in, &f3, chk_filter, NULL, &o4, chk_out));
        log_status("status_dw_px_mult2",
                   ef_depthwise_conv_3x3_px_mult_s8(&dw2, &q, &in2, chk_in, &f3, chk_filter, NULL, &o4, chk_out));
        log_status("status_dw_px_mult1",
                   ef_depthwise_conv_3x3_px_mult_s8(&dw, &q, &in4, chk_in, &f3, chk_filter, NULL, &o4, chk_out));
        log_status("status_dw_px_on_mult4",
                   ef_depthwise_conv_3x3_px_s8(&dw4, &q, &in1, chk_in, &f3, chk_filter, NULL, &o4, chk_out));
        /* the any-multiplier entry: ch_mult 2 and 4 run, 1 is refused, a 5x5 filter too */
        const ef_dims f5 = {1, 5, 5, 4}, in52 = {1, 5, 5, 2};
        log_status("status_dw_px_any_mult2_ok",
                   ef_depthwise_conv_3x3_px_mult_any_s8(&dw2, &q, &in2, chk_in, &f3, chk_filter, NULL, &o4, chk_out));
        log_status("status_dw_px_any_mult4_ok",
                   ef_depthwise_conv_3x3_px_mult_any_s8(&dw4, &q, &in1, chk_in, &f3, chk_filter, NULL, &o4, chk_out));
        log_status("status_dw_px_any_mult1",
                   ef_depthwise_conv_3x3_px_mult_any_s8(&dw, &q, &in4, chk_in, &f3, chk_filter, NULL, &o4, chk_out));
        log_status("status_dw_px_any_5x5",
                   ef_depthwise_conv_3x3_px_mult_any_s8(&dw2, &q, &in52, chk_in, &f5, chk_filter, NULL, &o4, chk_out));
    }
    /* the dilated pixel entry: a zero-inserted 5x5 (dilation 2) and a 3x7 (1 x 3) run; an even
     * filter, a multiplier and stride 2 are refused */
    {
        const ef_dw_conv_params dws2 = {0, 0, 1, {2, 2}, {0, 0}, {1, 1}, {-128, 127}};
        const ef_dw_conv_params dw4 = {0, 0, 4, {1, 1}, {0, 0}, {1, 1}, {-128, 127}};
        const ef_dims in5 = {1, 5, 5, 4}, f5 = {1, 5, 5, 4}, o1 = {1, 1, 1, 4};
        const ef_dims in37 = {1, 3, 7, 4}, f37 = {1, 3, 7, 4}, f4 = {1, 4, 4, 4}, o2 = {1, 2, 2, 4};
        const ef_dims in1 = {1, 5, 5, 1}, f5m = {1, 5, 5, 4};
        log_status("status_dw_px_dil_5x5_ok",
                   ef_depthwise_conv_3x3_px_dilated_s8(&dw, &q, &in5, chk_in, &f5, chk_filter, NULL, &o1, chk_out));
        log_status("status_dw_px_dil_3x7_ok",
                   ef_depthwise_conv_3x3_px_dilated_s8(&dw, &q, &in37, chk_in, &f37, chk_filter, NULL, &o1, chk_out));
        log_status("status_dw_px_dil_even",
                   ef_depthwise_conv_3x3_px_dilated_s8(&dw, &q, &in5, chk_in, &f4, chk_filter, NULL, &o2, chk_out));
        log_status("status_dw_px_dil_mult4",
                   ef_depthwise_conv_3x3_px_dilated_s8(&dw4, &q, &in1, chk_in, &f5m, chk_filter, NULL, &o1, chk_out));
        log_status("status_dw_px_dil_s2",
                   ef_depthwise_conv_3x3_px_dilated_s8(&dws2, &q, &in5, chk_in, &f5, chk_filter, NULL, &o1, chk_out));
        /* the dilated dot entry: 4 output pixels at dilation 2 run; one pixel, odd channels, a
         * multiplier are refused */
        const ef_dw_conv_params dwp2 = {0, 0, 1, {1, 1}, {2, 2}, {1, 1}, {-128, 127}};
        const ef_dims in22 = {1, 2, 2, 4}, o22 = {1, 2, 2, 4}, in22odd = {1, 2, 2, 3}, f5odd = {1, 5, 5, 3};
        const ef_dims o22odd = {1, 2, 2, 3};
        static const int32_t right_shift[4] = {-2, -2, -2, -2}; /* the entry takes right shifts only */
        const ef_per_channel_quant rq = {chk_mult, right_shift};
        log_status("status_dw_dot_dil_ok",
                   ef_depthwise_conv_3x3_dot_dilated_s8(&dwp2, &rq, &in22, chk_in, &f5, chk_filter, NULL, &o22,
                                                        chk_out));
        log_status("status_dw_dot_dil_1px",
                   ef_depthwise_conv_3x3_dot_dilated_s8(&dw, &rq, &in5, chk_in, &f5, chk_filter, NULL, &o1, chk_out));
        log_status("status_dw_dot_dil_odd",
                   ef_depthwise_conv_3x3_dot_dilated_s8(&dwp2, &rq, &in22odd, chk_in, &f5odd, chk_filter, NULL,
                                                        &o22odd, chk_out));
        log_status("status_dw_dot_dil_mult4",
                   ef_depthwise_conv_3x3_dot_dilated_s8(&dw4, &rq, &in1, chk_in, &f5m, chk_filter, NULL, &o1, chk_out));
        /* the undilated dot entries: multiplier 1 and > 1 each refuse the other's */
        const ef_dw_conv_params dwm2 = {0, 0, 2, {1, 1}, {1, 1}, {1, 1}, {-128, 127}};
        const ef_dw_conv_params dwm1 = {0, 0, 1, {1, 1}, {1, 1}, {1, 1}, {-128, 127}};
        const ef_dims d_in2 = {1, 2, 2, 2}, d_f4 = {1, 3, 3, 4}, d_o4 = {1, 2, 2, 4}, d_f2 = {1, 3, 3, 2};
        const ef_dims d_o2 = {1, 2, 2, 2};
        log_status("status_dw_dot_m1_ok",
                   ef_depthwise_conv_3x3_dot_s8(&dwm1, &rq, &d_in2, chk_in, &d_f2, chk_filter, NULL, &d_o2, chk_out));
        log_status("status_dw_dot_on_m2",
                   ef_depthwise_conv_3x3_dot_s8(&dwm2, &rq, &d_in2, chk_in, &d_f4, chk_filter, NULL, &d_o4, chk_out));
        log_status("status_dw_dot_mult_m2_ok",
                   ef_depthwise_conv_3x3_dot_mult_s8(&dwm2, &rq, &d_in2, chk_in, &d_f4, chk_filter, NULL, &d_o4,
                                                     chk_out));
        log_status("status_dw_dot_mult_on_m1",
                   ef_depthwise_conv_3x3_dot_mult_s8(&dwm1, &rq, &d_in2, chk_in, &d_f2, chk_filter, NULL, &d_o2,
                                                     chk_out));
    }

    /* ARG_MAX / ARG_MIN: extents, index width, pointers; int16 requantization: the shift range */
    const ef_arg_max_params am_ok = {5, 4, 5, 8}, am_width = {5, 4, 5, 2}, am_dims = {5, 0, 5, 4};
    log_status("status_arg_max_ok", ef_arg_max_s8(&am_ok, chk_in, chk_scratch));
    log_status("status_arg_max_bad_width", ef_arg_max_s8(&am_width, chk_in, chk_scratch));
    log_status("status_arg_min_bad_dims", ef_arg_min_s8(&am_dims, chk_in, chk_scratch));
    log_status("status_arg_max_null_input", ef_arg_max_s8(&am_ok, NULL, chk_scratch));
    const ef_requantize_params rq_bad = {0, 0, 1 << 30, 31};
    log_status("status_requantize_s8_s16_bad_shift",
               ef_requantize_s8_s16(&rq_bad, chk_in, (int16_t *)(void *)chk_scratch, 8));
    log_status("status_requantize_s16_s8_negative_size",
               ef_requantize_s16_s8(&rq_bad, (const int16_t *)(const void *)chk_scratch, chk_out, -1));
}

/* ---- requantization on chosen values ------------------------------------------------------ */

static int8_t rq_out[EF_CHK_ROWS][EF_CHK_RQ_LEN];
static int8_t acc_out[EF_CHK_ROWS][EF_CHK_ACC_CH];
static int8_t qf_out[EF_CHK_QF_LEN];
static float dq_out[EF_CHK_DQ_LEN];

static void log_case(const char *name, ef_status st, const void *out, size_t n)
{
    if (st != EF_OK) {
        log_status(name, st);
        return;
    }
    ef_log_checksum(name, ef_crc32(out, n));
#if EF_CHECKS_LOG_OUTPUTS
    ef_log_output_i8(name, (const int8_t *)out, n);
#endif
}

static float float_of(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static void check_requantization(void)
{
    for (int k = 0; k < EF_CHK_RQ_NUM; ++k) {
        ef_status st = EF_OK;
        for (int r = 0; r < EF_CHK_ROWS && st == EF_OK; ++r) {
            st = ef_requantize_s8(&ef_chk_rq_params[k], ef_chk_rq_input[r], rq_out[r], EF_CHK_RQ_LEN);
        }
        log_case(ef_chk_rq_names[k], st, rq_out, sizeof rq_out);
    }

    const ef_per_channel_quant q = {ef_chk_acc_mult, ef_chk_acc_shift};
    ef_status st = EF_OK;
    for (int r = 0; r < EF_CHK_ROWS && st == EF_OK; ++r) {
        st = ef_depthwise_conv_3x3_s8(&ef_chk_dw_params, &q, &ef_chk_dw_input_dims, ef_chk_dw_input[r],
                                      &ef_chk_dw_filter_dims, ef_chk_dw_filter, ef_chk_acc_bias,
                                      &ef_chk_dw_output_dims, acc_out[r]);
    }
    log_case("xrqacc_dw", st, acc_out, sizeof acc_out);
    /* the same through the pixel kernel (a 1x1 map: its scalar loop, every shift kind) */
    st = EF_OK;
    for (int r = 0; r < EF_CHK_ROWS && st == EF_OK; ++r) {
        st = ef_depthwise_conv_3x3_px_s8(&ef_chk_dw_params, &q, &ef_chk_dw_input_dims, ef_chk_dw_input[r],
                                         &ef_chk_dw_filter_dims, ef_chk_dw_filter, ef_chk_acc_bias,
                                         &ef_chk_dw_output_dims, acc_out[r]);
    }
    log_case("xrqacc_dwp", st, acc_out, sizeof acc_out);
    st = EF_OK;
    for (int r = 0; r < EF_CHK_ROWS && st == EF_OK; ++r) {
        st = ef_fully_connected_per_channel_s8(&ef_chk_fc_params, &q, &ef_chk_fc_input_dims, ef_chk_fc_input[r],
                                               &ef_chk_fc_filter_dims, ef_chk_fc_filter, ef_chk_acc_bias,
                                               &ef_chk_fc_output_dims, acc_out[r]);
    }
    log_case("xrqacc_fc", st, acc_out, sizeof acc_out);
    /* the same products as a 1x1 convolution of one input channel (Helium: the short-column path
     * with its requantization of any shift) */
    st = EF_OK;
    for (int r = 0; r < EF_CHK_ROWS && st == EF_OK; ++r) {
        st = ef_conv_1x1_s8(&ef_chk_conv_params, &q, &ef_chk_fc_input_dims, ef_chk_fc_input[r], &ef_chk_fc_filter_dims,
                            ef_chk_fc_filter, ef_chk_acc_bias, &ef_chk_fc_output_dims, acc_out[r]);
    }
    log_case("xrqacc_conv", st, acc_out, sizeof acc_out);

    /* MAX_POOL_2D rows of in-bounds 2x2 windows (max_row_2x2): 20 channels (Helium: a block and a
     * predicated tail; DSP: 5 words) with a narrower activation (the clamp), and 32 channels (two
     * blocks) over the full range, on a fixed pseudo-random input */
    {
        static int8_t mp_in[6 * 10 * 32];
        static int8_t mp_out[3 * 5 * 32];
        for (int i = 0; i < (int)sizeof mp_in; ++i) {
            mp_in[i] = (int8_t)((i * 37 + (i >> 5) * 11) & 0xFF);
        }
        const ef_pool_params narrow = {{2, 2}, {0, 0}, {2, 2}, {-20, 50}};
        const ef_pool_params full = {{2, 2}, {0, 0}, {2, 2}, {-128, 127}};
        const ef_dims in20 = {1, 6, 10, 20}, out20 = {1, 3, 5, 20}, in32 = {1, 6, 10, 32}, out32 = {1, 3, 5, 32};
        st = ef_maxpool_s8(&narrow, &in20, mp_in, &out20, mp_out);
        log_case("xmaxpool_c20_act", st, mp_out, 3 * 5 * 20);
        st = ef_maxpool_s8(&full, &in32, mp_in, &out32, mp_out);
        log_case("xmaxpool_c32", st, mp_out, 3 * 5 * 32);
    }

    static float qf_in[EF_CHK_QF_LEN];
    for (int i = 0; i < EF_CHK_QF_LEN; ++i) {
        qf_in[i] = float_of(ef_chk_qf_input_bits[i]);
    }
    st = ef_quantize_f32_s8(qf_in, qf_out, EF_CHK_QF_LEN, float_of(EF_CHK_QF_SCALE_BITS), EF_CHK_QF_ZERO_POINT);
    log_case("xquantize", st, qf_out, sizeof qf_out);
    for (int k = 0; k < EF_CHK_DQ_NUM; ++k) {
        st = ef_dequantize_s8_f32(ef_chk_dq_input, dq_out, EF_CHK_DQ_LEN, float_of(ef_chk_dq_scale_bits[k]),
                                  EF_CHK_DQ_ZERO_POINT);
        log_case(ef_chk_dq_names[k], st, dq_out, sizeof dq_out);
    }
}

int ef_app_setup(void)
{
    return 0;
}

int ef_app_run(void)
{
    return 0;
}

void ef_app_report(void)
{
    check_arguments();
    check_requantization();
}
