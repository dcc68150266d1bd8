/*
 * Helium and DSP helpers of the pooling and MEAN kernels (internal): sums of one block of 16
 * channels (Helium, tail-predicated for the last block of a channel count that is not a multiple
 * of 16) or of 4 channels (DSP, one word per tap) over a window of taps, the channels contiguous
 * in each tap (NHWC).
 */
#ifndef EF_MVE_POOL_H
#define EF_MVE_POOL_H

#include "ef_nn_internal.h"

#if defined(EF_NN_USE_MVE)

/* Sums of channels 0..cnt-1 (16 when full) over rows x cols taps starting at src (tap (r, c) at
 * src + r * row_step + c * col_step), 4 channels per int32 lane vector. */
typedef struct {
    int32x4_t s[4];
} ef_mve_sum16;

static inline __attribute__((always_inline)) ef_mve_sum16 ef_mve_window_sum16(const int8_t *src, int32_t rows,
                                                                              int32_t cols, int32_t row_step,
                                                                              int32_t col_step, int32_t cnt,
                                                                              const int full)
{
    ef_mve_sum16 r;
    for (int k = 0; k < 4; ++k) {
        r.s[k] = vdupq_n_s32(0);
    }
    const mve_pred16_t p0 = vctp32q((uint32_t)EF_MAX(cnt, 0));
    const mve_pred16_t p1 = vctp32q((uint32_t)EF_MAX(cnt - 4, 0));
    const mve_pred16_t p2 = vctp32q((uint32_t)EF_MAX(cnt - 8, 0));
    const mve_pred16_t p3 = vctp32q((uint32_t)EF_MAX(cnt - 12, 0));
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *q = src + y * row_step;
        for (int32_t x = 0; x < cols; ++x) {
            if (full) {
                r.s[0] = vaddq_s32(r.s[0], vldrbq_s32(q));
                r.s[1] = vaddq_s32(r.s[1], vldrbq_s32(q + 4));
                r.s[2] = vaddq_s32(r.s[2], vldrbq_s32(q + 8));
                r.s[3] = vaddq_s32(r.s[3], vldrbq_s32(q + 12));
            } else {
                r.s[0] = vaddq_s32(r.s[0], vldrbq_z_s32(q, p0));
                r.s[1] = vaddq_s32(r.s[1], vldrbq_z_s32(q + 4, p1));
                r.s[2] = vaddq_s32(r.s[2], vldrbq_z_s32(q + 8, p2));
                r.s[3] = vaddq_s32(r.s[3], vldrbq_z_s32(q + 12, p3));
            }
            q += col_step;
        }
    }
    return r;
}

/* Store lanes of v for channels base..base+3 of a block with cnt valid channels (all when full). */
static inline __attribute__((always_inline)) void ef_mve_store4(int8_t *dst, int32x4_t v, int32_t base, int32_t cnt,
                                                               const int full)
{
    if (full) {
        vstrbq_s32(dst + base, v);
    } else if (cnt > base) {
        vstrbq_p_s32(dst + base, v, vctp32q((uint32_t)(cnt - base)));
    }
}

#endif /* EF_NN_USE_MVE */

#if defined(EF_NN_USE_DSP)
/* Sums of 4 channels (one unaligned word per tap) over rows x cols taps starting at src:
 * SXTAB16 adds channels (0, 2) and (1, 3) of each word as halfword pairs (3 instructions per tap
 * of 4 channels with the load), widened into s[0..3] every 256 taps (256 x -128 still fits an
 * int16). */
static inline void ef_dsp_block_sum4(const int8_t *q, int32_t rows, int32_t cols, int32_t row_step,
                                     int32_t col_step, int32_t s[4])
{
    uint32_t a02 = 0;
    uint32_t a13 = 0;
    for (int32_t y = 0; y < rows; ++y) {
        const int8_t *t = q + y * row_step;
        int32_t x = cols;
        for (; x >= 2; x -= 2) { /* two taps per pass: the loop end once per 6 instructions */
            const uint32_t w0 = ef_read_u32(t);
            const uint32_t w1 = ef_read_u32(t + col_step);
            a02 = __sxtab16(__sxtab16(a02, w0), w1);
            a13 = ef_sxtab16_ror8(ef_sxtab16_ror8(a13, w0), w1);
            t += 2 * col_step;
        }
        if (x) {
            const uint32_t w = ef_read_u32(t);
            a02 = __sxtab16(a02, w);
            a13 = ef_sxtab16_ror8(a13, w);
        }
    }
    s[0] += (int16_t)a02;
    s[2] += (int32_t)a02 >> 16;
    s[1] += (int16_t)a13;
    s[3] += (int32_t)a13 >> 16;
}

static inline void ef_dsp_window_sum4(const int8_t *src, int32_t rows, int32_t cols, int32_t row_step,
                                      int32_t col_step, int32_t s[4])
{
    s[0] = s[1] = s[2] = s[3] = 0;
    if (rows * cols <= 256) { /* the small windows: one widening */
        ef_dsp_block_sum4(src, rows, cols, row_step, col_step, s);
        return;
    }
    for (int32_t y = 0; y < rows; ++y) {
        for (int32_t x0 = 0; x0 < cols; x0 += 256) {
            ef_dsp_block_sum4(src + y * row_step + x0 * col_step, 1, EF_MIN(256, cols - x0), row_step, col_step, s);
        }
    }
}
#endif /* EF_NN_USE_DSP */

#endif /* EF_MVE_POOL_H */
