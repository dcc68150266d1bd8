/* ADD: each input is shifted left by `left_shift`, rescaled to a common scale, summed and
 * rescaled to the output scale (TFLite's int8 ADD). */
#include "internal/ef_broadcast.h"

static inline int8_t add_one(const ef_add_params *p, int32_t a, int32_t b)
{
    const int32_t sa = ef_requantize((a + p->input1_offset) * (1 << p->left_shift),
                                     p->input1_multiplier, p->input1_shift);
    const int32_t sb = ef_requantize((b + p->input2_offset) * (1 << p->left_shift),
                                     p->input2_multiplier, p->input2_shift);
    const int32_t r = ef_requantize(sa + sb, p->output_multiplier, p->output_shift) + p->output_offset;
    return ef_clamp_to_s8(r, p->activation.min, p->activation.max);
}

#if defined(EF_NN_USE_MVE)
/* How an ADD operand is rescaled, (x + offset) << left_shift then MultiplyByQuantizedMultiplier:
 *  ADD_RQ_HALF  multiplier 2^30, shift 0 (the operand with the larger scale: TFLite's 0.5): the
 *               product is exactly (x + offset) << (left_shift - 1), no rounding;
 *  ADD_RQ_NOSH  shift 0: VQRDMULH only;
 *  ADD_RQ_SHR   shift < 0: VQRDMULH, minus 1 on negative lanes (ties up -> away from zero), VRSHL. */
enum { ADD_RQ_SHR = 0, ADD_RQ_NOSH = 1, ADD_RQ_HALF = 2 };

static inline int add_rq_kind(int32_t m, int32_t shift)
{
    return shift < 0 ? ADD_RQ_SHR : (shift == 0 && m == (1 << 30)) ? ADD_RQ_HALF : ADD_RQ_NOSH;
}

/* ef_requantize on 4 lanes for shift <= 0 (bit-exact with it; |x| < 2^30 here, so x - 1 cannot
 * wrap). */
static inline __attribute__((always_inline)) int32x4_t add_rq(int32x4_t x, int32_t m, int32_t shift, const int kind)
{
    x = vqrdmulhq_n_s32(x, m);
    if (kind == ADD_RQ_SHR) {
        x = vaddq_s32(x, vshrq_n_s32(x, 31));
        x = vrshlq_n_s32(x, shift);
    }
    return x;
}

/* (x + offset) << left_shift is one VMLAS, x * 2^l + offset * 2^l (|x + offset| <= 255, l <= 22: no
 * overflow); with ADD_RQ_HALF it is the whole operand, at l - 1 (left_shift >= 1). */
static inline __attribute__((always_inline)) int32x4_t add_operand(const int8_t *x, int32_t offset, int32_t l,
                                                                  int32_t m, int32_t shift, const int kind)
{
    const int32_t sh = kind == ADD_RQ_HALF ? l - 1 : l;
    const int32x4_t v = vmlasq_n_s32(vldrbq_s32(x), vdupq_n_s32(1 << sh), offset * (1 << sh));
    return kind == ADD_RQ_HALF ? v : add_rq(v, m, shift, kind);
}

/* Four elements per step, output shift < 0; k1 / k2: the operands' ADD_RQ_* (compile-time). */
static inline __attribute__((always_inline)) int32_t add_mve_steps(const ef_add_params *p, const int8_t *input1,
                                                                  const int8_t *input2, int8_t *output,
                                                                  int32_t size, const int k1, const int k2)
{
    const int32x4_t lo = vdupq_n_s32(p->activation.min);
    const int32x4_t hi = vdupq_n_s32(p->activation.max);
    const int32_t l = p->left_shift;
    int32_t i = 0;
    for (; i + 4 <= size; i += 4) {
        const int32x4_t a = add_operand(input1 + i, p->input1_offset, l, p->input1_multiplier, p->input1_shift, k1);
        const int32x4_t b = add_operand(input2 + i, p->input2_offset, l, p->input2_multiplier, p->input2_shift, k2);
        const int32x4_t r = vaddq_n_s32(add_rq(vaddq_s32(a, b), p->output_multiplier, p->output_shift, ADD_RQ_SHR),
                                        p->output_offset);
        vstrbq_s32(output + i, vminq_s32(vmaxq_s32(r, lo), hi));
    }
    return i;
}

/* The same arithmetic as add_one, 4 elements per step: the specialised steps above when the output
 * shift is negative (TFLite's case: 10-16 instructions per 4 elements), then the general 4-lane
 * requantization, tail-predicated, for the rest. */
static void add_mve(const ef_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output,
                    int32_t size)
{
    int32_t i = 0;
    if (p->output_shift < 0 && p->left_shift >= 1) {
        const int k1 = add_rq_kind(p->input1_multiplier, p->input1_shift);
        const int k2 = add_rq_kind(p->input2_multiplier, p->input2_shift);
        switch (k1 * 3 + k2) {
        case ADD_RQ_SHR * 3 + ADD_RQ_SHR: i = add_mve_steps(p, input1, input2, output, size, ADD_RQ_SHR, ADD_RQ_SHR); break;
        case ADD_RQ_SHR * 3 + ADD_RQ_HALF: i = add_mve_steps(p, input1, input2, output, size, ADD_RQ_SHR, ADD_RQ_HALF); break;
        case ADD_RQ_HALF * 3 + ADD_RQ_SHR: i = add_mve_steps(p, input1, input2, output, size, ADD_RQ_HALF, ADD_RQ_SHR); break;
        case ADD_RQ_SHR * 3 + ADD_RQ_NOSH: i = add_mve_steps(p, input1, input2, output, size, ADD_RQ_SHR, ADD_RQ_NOSH); break;
        case ADD_RQ_NOSH * 3 + ADD_RQ_SHR: i = add_mve_steps(p, input1, input2, output, size, ADD_RQ_NOSH, ADD_RQ_SHR); break;
        default: break; /* both unshifted (equal scales are HALF + HALF): the general loop */
        }
    }
    const int32x4_t left = vdupq_n_s32(p->left_shift);
    const int32x4_t m1 = vdupq_n_s32(p->input1_multiplier);
    const int32x4_t s1 = vdupq_n_s32(p->input1_shift);
    const int32x4_t m2 = vdupq_n_s32(p->input2_multiplier);
    const int32x4_t s2 = vdupq_n_s32(p->input2_shift);
    const int32x4_t mo = vdupq_n_s32(p->output_multiplier);
    const int32x4_t so = vdupq_n_s32(p->output_shift);
    const int32x4_t lo = vdupq_n_s32(p->activation.min);
    const int32x4_t hi = vdupq_n_s32(p->activation.max);
    for (; i < size; i += 4) {
        const mve_pred16_t pr = vctp32q((uint32_t)(size - i));
        int32x4_t a = vshlq_s32(vaddq_n_s32(vldrbq_z_s32(input1 + i, pr), p->input1_offset), left);
        int32x4_t b = vshlq_s32(vaddq_n_s32(vldrbq_z_s32(input2 + i, pr), p->input2_offset), left);
        a = ef_requantize_x4(a, m1, s1);
        b = ef_requantize_x4(b, m2, s2);
        int32x4_t r = vaddq_n_s32(ef_requantize_x4(vaddq_s32(a, b), mo, so), p->output_offset);
        r = vminq_s32(vmaxq_s32(r, lo), hi);
        vstrbq_p_s32(output + i, r, pr);
    }
}
#endif

#if defined(EF_NN_USE_DSP)
/* One input of the DSP ADD: MultiplyByQuantizedMultiplier((v + offset) << left_shift, m, shift)
 * in 32-bit arithmetic (TFLite ADD: |v + offset| <= 255, 9 <= left_shift <= 22, shift <= 0,
 * m >= 0). With x = v + offset, l = left_shift, r = -shift, the product x * 2^l * m and both
 * roundings fold into (ef_requantize's fast path, include/internal/ef_nn_internal.h)
 *   floor((x * m * 2^l + 2^30 + h * 2^31) / 2^(31 + r)),  h = 2^(r-1) - [x < 0],
 * and dividing by 2^l first, with m = mh * 2^(31-l) + ml (ml < 2^(31-l)):
 *   (x * mh + h + ((x * ml + 2^(30-l)) >> (31 - l))) >> r
 * (shift 0, e.g. a multiplier of exactly 0.5: no second rounding, h = 0).
 * where |x * mh| < 2^(l+8) <= 2^30 and |x * ml| < 2^(39-l) <= 2^30: no product leaves 32 bits.
 * Bit-exact with add_one. */
typedef struct {
    int32_t offset;
    int32_t mh;
    int32_t ml;
    int32_t round;  /* 2^(30 - l) */
    int32_t split;  /* 31 - l */
    int32_t half;   /* 2^(r - 1), 0 when r = 0 */
    int32_t smask;  /* -1 when r > 0: the [x < 0] term of h */
    int32_t r;
} add_input_dsp;

static inline add_input_dsp add_input_prep(int32_t offset, int32_t left_shift, int32_t m, int32_t shift)
{
    add_input_dsp q;
    q.offset = offset;
    q.split = 31 - left_shift;
    q.mh = m >> q.split;
    q.ml = m & (int32_t)((1u << q.split) - 1u);
    q.round = (int32_t)(1u << (q.split - 1));
    q.r = -shift;
    q.half = q.r > 0 ? (int32_t)(1u << (q.r - 1)) : 0;
    q.smask = q.r > 0 ? -1 : 0;
    return q;
}

static inline int32_t add_input(const add_input_dsp *q, int32_t v, const int l20)
{
    const int32_t x = v + q->offset;
    const int32_t lo = l20 ? (x * q->ml + (1 << 10)) >> 11 : (x * q->ml + q->round) >> q->split;
    return (x * q->mh + (q->half + ((x >> 31) & q->smask)) + lo) >> q->r;
}

/* The output requantization on ef_requantize's fast path (m >= 0, shift <= -1), e = -1 - shift,
 * pe = 2^e: bit-exact with it. */
static inline int32_t add_output(int32_t x, int32_t m, int32_t e, uint32_t pe)
{
    const int32_t h = (int32_t)(pe - ((uint32_t)x >> 31));
    const uint32_t lo = ((uint32_t)h << 31) | (1u << 30);
    const int64_t k = (int64_t)(((uint64_t)(uint32_t)(h >> 1) << 32) | lo);
    return (int32_t)((k + (int64_t)x * m) >> 32) >> e;
}

/* The input with the larger scale has multiplier 2^30 (0.5) and shift 0 in TFLite's ADD: its
 * rescale is exact, ((v + offset) << 20) * 2^30 rounded by 2^31 = (v + offset) << 19. */
static inline int add_input_is_half(int32_t left_shift, int32_t m, int32_t shift)
{
    return left_shift == 20 && m == (1 << 30) && shift == 0;
}

static inline __attribute__((always_inline)) int32_t add_in(const add_input_dsp *q, int32_t v, const int half,
                                                            const int l20)
{
    if (half) {
        return (int32_t)((uint32_t)(v + q->offset) << 19);
    }
    return add_input(q, v, l20);
}

static inline __attribute__((always_inline)) void add_dsp_body(const ef_add_params *p, const int8_t *input1,
                                                               const int8_t *input2, int8_t *output, int32_t size,
                                                               const int full, const int l20, const int half1,
                                                               const int half2)
{
    const add_input_dsp q1 = add_input_prep(p->input1_offset, p->left_shift, p->input1_multiplier, p->input1_shift);
    const add_input_dsp q2 = add_input_prep(p->input2_offset, p->left_shift, p->input2_multiplier, p->input2_shift);
    const int32_t mo = p->output_multiplier;
    const int32_t eo = -1 - p->output_shift;
    const uint32_t peo = 1u << eo;
    const int32_t zo = p->output_offset;
    const int32_t lo = p->activation.min;
    const int32_t hi = p->activation.max;
    for (int32_t i = 0; i < size; ++i) {
        const int32_t sum = add_in(&q1, input1[i], half1, l20) + add_in(&q2, input2[i], half2, l20);
        const int32_t r = add_output(sum, mo, eo, peo) + zo;
        output[i] = full ? (int8_t)__ssat(r, 8) : ef_clamp_to_s8(r, lo, hi);
    }
}

/* The DSP body applies to TFLite's int8 ADD parameters (left shift 20, right shifts); anything
 * else takes the portable loop. Returns 0 when it did not apply. */
static int add_dsp(const ef_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output, int32_t size)
{
    if (p->left_shift < 9 || p->input1_shift > 0 || p->input2_shift > 0 || p->output_shift > -1 ||
        p->input1_multiplier < 0 || p->input2_multiplier < 0 || p->output_multiplier < 0) {
        return 0;
    }
    const int h1 = add_input_is_half(p->left_shift, p->input1_multiplier, p->input1_shift);
    const int h2 = add_input_is_half(p->left_shift, p->input2_multiplier, p->input2_shift);
    /* TFLite's left shift is always 20, one input is the 0.5 one and most ADDs have no clamp:
     * those get constant shifts and one exact shift for that input */
    if (p->left_shift == 20 && p->activation.min == -128 && p->activation.max == 127 && (h1 || h2)) {
        if (h1 && h2) {
            add_dsp_body(p, input1, input2, output, size, 1, 1, 1, 1);
        } else if (h1) {
            add_dsp_body(p, input1, input2, output, size, 1, 1, 1, 0);
        } else {
            add_dsp_body(p, input1, input2, output, size, 1, 1, 0, 1);
        }
    } else {
        add_dsp_body(p, input1, input2, output, size, 0, 0, 0, 0);
    }
    return 1;
}
#endif

static int add_params_ok(const ef_add_params *p)
{
    return p->left_shift >= 0 && p->left_shift <= 22 && p->input1_shift <= 0 && p->input2_shift <= 0 &&
           p->output_shift <= 0 && ef_shift_valid(p->input1_shift) && ef_shift_valid(p->input2_shift) &&
           ef_shift_valid(p->output_shift) && ef_activation_valid(&p->activation);
}

ef_status ef_add_s8(const ef_add_params *params, const int8_t *input1, const int8_t *input2,
                    int8_t *output, int32_t size)
{
    if (params == 0 || input1 == 0 || input2 == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (size < 0) {
        return EF_ERR_DIMS;
    }
    if (!add_params_ok(params)) {
        return EF_ERR_PARAM;
    }
    /* a local copy: int8 stores may alias *params, which would force reloads every element */
    const ef_add_params p = *params;
#if defined(EF_NN_USE_MVE)
    add_mve(&p, input1, input2, output, size);
#else
#if defined(EF_NN_USE_DSP)
    if (add_dsp(&p, input1, input2, output, size)) {
        return EF_OK;
    }
#endif
    for (int32_t i = 0; i < size; ++i) {
        output[i] = add_one(&p, input1[i], input2[i]);
    }
#endif
    return EF_OK;
}

ef_status ef_add_broadcast_s8(const ef_add_params *params,
                              const ef_dims *input1_dims, const int8_t *input1,
                              const ef_dims *input2_dims, const int8_t *input2,
                              const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || input1 == 0 || input2 == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    int32_t s1[4];
    int32_t s2[4];
    if (!ef_dims_valid(input1_dims) || !ef_dims_valid(input2_dims) || !ef_dims_valid(output_dims) ||
        !ef_broadcast_strides(input1_dims, output_dims, s1) ||
        !ef_broadcast_strides(input2_dims, output_dims, s2)) {
        return EF_ERR_DIMS;
    }
    if (!add_params_ok(params)) {
        return EF_ERR_PARAM;
    }
    const ef_dims *o = output_dims;
    const ef_add_params p = *params;
    for (int32_t n = 0; n < o->n; ++n) {
        for (int32_t h = 0; h < o->h; ++h) {
            for (int32_t w = 0; w < o->w; ++w) {
                const int32_t b1 = n * s1[0] + h * s1[1] + w * s1[2];
                const int32_t b2 = n * s2[0] + h * s2[1] + w * s2[2];
                for (int32_t c = 0; c < o->c; ++c) {
                    *output++ = add_one(&p, input1[b1 + c * s1[3]], input2[b2 + c * s2[3]]);
                }
            }
        }
    }
    return EF_OK;
}

/* ---- ADD / SUB through the generator's table (ef_add_table_s8) ----------------------------
 * s = table[(uint8_t)t] + K * d is the exact sum of TFLite's two rescaled operands (|s| < 2^29),
 * so only the output's MultiplyByQuantizedMultiplier(s, m, -r) is left, r in 1..23, m >= 0. With
 * SaturatingRoundingDoublingHighMul(s, m) = floor((s m + 2^30) / 2^31) (= t; no saturation for
 * m >= 0) and RoundingDivideByPOT(t, r) = (t + 2^(r-1) - [t < 0]) >> r, the output is
 *   ((t - [s < 0] + 2^(r-1) + zo * 2^r) >> r
 * ([s < 0] and [t < 0] differ only where t = 0, where both give zo; |zo| * 2^r <= 2^30). */

#if defined(EF_NN_USE_MVE)
/* Four elements per step: VLDRB.U32 of the tabled bytes, a VLDRW gather of the table, VMLA by K
 * of the direct operand; u = t - [s < 0] + 2^(r-1) + zo * 2^r is C + (s >> 31) (VSHR, VADD) and
 * one VQRDMLAH onto it (it adds its accumulator before the high half, with the same rounding);
 * then floor(u / 2^r) saturated to int8 is VQSHL by 24 - r (saturating at int32 = at int8 << 24)
 * and VSHR #24: 11 instructions per 4 elements with the store and the loop end. A narrower
 * activation clamps afterwards (clamp(sat8(v)) = clamp(v)). */
static inline __attribute__((always_inline)) int32x4_t add_table_x4(const int32_t *table, uint32x4_t idx,
                                                                    int32x4_t d, int32_t k, int32_t m,
                                                                    int32x4_t c, int32_t up)
{
    const int32x4_t s = vmlaq_n_s32(vldrwq_gather_shifted_offset_s32(table, idx), d, k);
    const int32x4_t u = vqrdmlahq_n_s32(vaddq_s32(c, vshrq_n_s32(s, 31)), s, m);
    return vshrq_n_s32(vqshlq_r_s32(u, up), 24);
}

static inline __attribute__((always_inline)) void add_table_mve_body(const ef_add_table_params *p,
                                                                     const int32_t *table, const int8_t *direct,
                                                                     const int8_t *tabled, int8_t *output,
                                                                     int32_t size, const int full)
{
    const int32_t k = p->direct_multiplier;
    const int32_t m = p->output_multiplier;
    const int32_t r = -p->output_shift;
    const int32x4_t c = vdupq_n_s32((int32_t)((uint32_t)p->output_offset << r) + (1 << (r - 1)));
    const int32_t up = 24 - r;
    const int32x4_t lo = vdupq_n_s32(p->activation.min);
    const int32x4_t hi = vdupq_n_s32(p->activation.max);
    const uint8_t *tb = (const uint8_t *)tabled;
    for (int32_t n = size >> 2; n > 0; --n) {
        int32x4_t v = add_table_x4(table, vldrbq_u32(tb), vldrbq_s32(direct), k, m, c, up);
        if (!full) {
            v = vminq_s32(vmaxq_s32(v, lo), hi);
        }
        vstrbq_s32(output, v);
        tb += 4;
        direct += 4;
        output += 4;
    }
    if (size & 3) {
        const mve_pred16_t pr = vctp32q((uint32_t)(size & 3));
        const int32x4_t v = add_table_x4(table, vldrbq_z_u32(tb, pr), vldrbq_z_s32(direct, pr), k, m, c, up);
        vstrbq_p_s32(output, vminq_s32(vmaxq_s32(v, lo), hi), pr);
    }
}
#elif defined(EF_NN_USE_DSP)
/* SMMLAR(2s, m, C) = C + floor((s m + 2^30) / 2^31) = C + t (|2s| < 2^30), then - [s < 0] as one
 * ADD with ASR #31, one ASR by r, SSAT: 10 instructions per element with the loads and the store,
 * four elements per loop pass (post-indexed loads and store). */
static inline __attribute__((always_inline)) int8_t add_table_one(const int32_t *table, const uint8_t **tp,
                                                                  const int8_t **dp, int32_t k, int32_t m,
                                                                  int32_t c, int32_t r, int32_t lo, int32_t hi,
                                                                  const int full)
{
    const int32_t u = table[*(*tp)++];
    const int32_t s2 = (int32_t)((uint32_t)(u + k * *(*dp)++) << 1);
    int32_t x;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(x) : "r"(s2), "r"(m), "r"(c));
    const int32_t v = (x + (s2 >> 31)) >> r;
    return full ? (int8_t)__ssat(v, 8) : ef_clamp_to_s8(v, lo, hi);
}

static inline __attribute__((always_inline)) void add_table_dsp_body(const ef_add_table_params *p,
                                                                     const int32_t *table, const int8_t *direct,
                                                                     const int8_t *tabled, int8_t *output,
                                                                     int32_t size, const int full)
{
    const int32_t k = p->direct_multiplier;
    const int32_t m = p->output_multiplier;
    const int32_t r = -p->output_shift;
    const int32_t c = (int32_t)((uint32_t)p->output_offset << r) + (1 << (r - 1));
    const int32_t lo = p->activation.min;
    const int32_t hi = p->activation.max;
    const uint8_t *tp = (const uint8_t *)tabled;
    const int8_t *dp = direct;
    int8_t *op = output;
    for (int32_t n = size >> 2; n > 0; --n) {
        *op++ = add_table_one(table, &tp, &dp, k, m, c, r, lo, hi, full);
        *op++ = add_table_one(table, &tp, &dp, k, m, c, r, lo, hi, full);
        *op++ = add_table_one(table, &tp, &dp, k, m, c, r, lo, hi, full);
        *op++ = add_table_one(table, &tp, &dp, k, m, c, r, lo, hi, full);
    }
    for (int32_t n = size & 3; n > 0; --n) {
        *op++ = add_table_one(table, &tp, &dp, k, m, c, r, lo, hi, full);
    }
}
#endif

ef_status ef_add_table_s8(const ef_add_table_params *params, const int32_t *table, const int8_t *direct,
                          const int8_t *tabled, int8_t *output, int32_t size)
{
    if (params == 0 || table == 0 || direct == 0 || tabled == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    if (size < 0) {
        return EF_ERR_DIMS;
    }
    const ef_add_table_params p = *params; /* a local copy: int8 stores may alias *params */
    if (!ef_activation_valid(&p.activation) || p.output_multiplier < 0 || p.output_shift < -23 ||
        p.output_shift > -1 || p.direct_multiplier < -(1 << 22) || p.direct_multiplier > (1 << 22)) {
        return EF_ERR_PARAM;
    }
#if defined(EF_NN_USE_MVE)
    if (p.activation.min == -128 && p.activation.max == 127) {
        add_table_mve_body(&p, table, direct, tabled, output, size, 1);
    } else {
        add_table_mve_body(&p, table, direct, tabled, output, size, 0);
    }
#elif defined(EF_NN_USE_DSP)
    if (p.activation.min == -128 && p.activation.max == 127) {
        add_table_dsp_body(&p, table, direct, tabled, output, size, 1);
    } else {
        add_table_dsp_body(&p, table, direct, tabled, output, size, 0);
    }
#else
    const uint8_t *tb = (const uint8_t *)tabled;
    for (int32_t i = 0; i < size; ++i) {
        const int32_t s = table[tb[i]] + p.direct_multiplier * direct[i];
        const int32_t r = ef_requantize(s, p.output_multiplier, p.output_shift) + p.output_offset;
        output[i] = ef_clamp_to_s8(r, p.activation.min, p.activation.max);
    }
#endif
    return EF_OK;
}
