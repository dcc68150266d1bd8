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
#if defined(EF_NN_USE_MVE)
/* Units whose sums are kept on the stack before one vector requantization pass (a multiple of 3
 * and of 4). */
#define EF_FC_MVE_CHUNK 48

/* r[k] = sum(x * fk) + off * sum(fk), k < 3, over n bytes: one asm loop of 1 input + 3 filter loads,
 * 3 VMLADAVA and 3 VADDVA per 16 bytes (48 MACs), the n % 16 tail as one VPST block of zeroing
 * loads. VMLADAVA / VADDVA accumulate into even registers only. */
static inline __attribute__((always_inline)) void fc_dot3(const int8_t *x, const int8_t *f0, const int8_t *f1,
                                                         const int8_t *f2, int32_t n, int32_t off, int32_t r[3])
{
    register int32_t a0 __asm__("r0") = 0;
    register int32_t a1 __asm__("r2") = 0;
    register int32_t a2 __asm__("r4") = 0;
    register int32_t s0 __asm__("r6") = 0;
    register int32_t s1 __asm__("r8") = 0;
    register int32_t s2 __asm__("r10") = 0;
    register int32_t cnt __asm__("lr") = n >> 4;
    const int32_t rem = n & 15;
    __asm__ volatile("wls    lr, lr, 2f\n\t"
                     "1:\n\t"
                     "vldrb.u8 q0, [%[x]], #16\n\t"
                     "vldrb.u8 q1, [%[f0]], #16\n\t"
                     "vldrb.u8 q2, [%[f1]], #16\n\t"
                     "vldrb.u8 q3, [%[f2]], #16\n\t"
                     "vmladava.s8 %[a0], q0, q1\n\t"
                     "vaddva.s8 %[s0], q1\n\t"
                     "vmladava.s8 %[a1], q0, q2\n\t"
                     "vaddva.s8 %[s1], q2\n\t"
                     "vmladava.s8 %[a2], q0, q3\n\t"
                     "vaddva.s8 %[s2], q3\n\t"
                     "le     lr, 1b\n\t"
                     "2:\n\t"
                     : [x] "+r"(x), [f0] "+r"(f0), [f1] "+r"(f1), [f2] "+r"(f2), [a0] "+r"(a0), [a1] "+r"(a1),
                       [a2] "+r"(a2), [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), "+r"(cnt)
                     :
                     : "q0", "q1", "q2", "q3", "memory");
    if (rem != 0) {
        __asm__ volatile("vctp.8 %[r]\n\t"
                         "vpstttt\n\t"
                         "vldrbt.u8 q0, [%[x]]\n\t"
                         "vldrbt.u8 q1, [%[f0]]\n\t"
                         "vldrbt.u8 q2, [%[f1]]\n\t"
                         "vldrbt.u8 q3, [%[f2]]\n\t"
                         "vmladava.s8 %[a0], q0, q1\n\t"
                         "vaddva.s8 %[s0], q1\n\t"
                         "vmladava.s8 %[a1], q0, q2\n\t"
                         "vaddva.s8 %[s1], q2\n\t"
                         "vmladava.s8 %[a2], q0, q3\n\t"
                         "vaddva.s8 %[s2], q3\n\t"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [s0] "+r"(s0), [s1] "+r"(s1),
                           [s2] "+r"(s2)
                         : [x] "r"(x), [f0] "r"(f0), [f1] "r"(f1), [f2] "r"(f2), [r] "r"(rem)
                         : "q0", "q1", "q2", "q3", "memory");
    }
    r[0] = a0 + off * s0;
    r[1] = a1 + off * s1;
    r[2] = a2 + off * s2;
}

/* r[k] = sum(x * fk), k < 4 (input offset 0: the generator folds it into the bias): 1 input + 4
 * filter loads and 4 VMLADAVA per 16 bytes (64 MACs). */
static inline __attribute__((always_inline)) void fc_dot4(const int8_t *x, const int8_t *f0, const int8_t *f1,
                                                         const int8_t *f2, const int8_t *f3, int32_t n, int32_t r[4])
{
    register int32_t a0 __asm__("r0") = 0;
    register int32_t a1 __asm__("r2") = 0;
    register int32_t a2 __asm__("r4") = 0;
    register int32_t a3 __asm__("r6") = 0;
    register int32_t cnt __asm__("lr") = n >> 4;
    const int32_t rem = n & 15;
    __asm__ volatile("wls    lr, lr, 2f\n\t"
                     "1:\n\t"
                     "vldrb.u8 q0, [%[x]], #16\n\t"
                     "vldrb.u8 q1, [%[f0]], #16\n\t"
                     "vldrb.u8 q2, [%[f1]], #16\n\t"
                     "vldrb.u8 q3, [%[f2]], #16\n\t"
                     "vldrb.u8 q4, [%[f3]], #16\n\t"
                     "vmladava.s8 %[a0], q0, q1\n\t"
                     "vmladava.s8 %[a1], q0, q2\n\t"
                     "vmladava.s8 %[a2], q0, q3\n\t"
                     "vmladava.s8 %[a3], q0, q4\n\t"
                     "le     lr, 1b\n\t"
                     "2:\n\t"
                     : [x] "+r"(x), [f0] "+r"(f0), [f1] "+r"(f1), [f2] "+r"(f2), [f3] "+r"(f3), [a0] "+r"(a0),
                       [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), "+r"(cnt)
                     :
                     : "q0", "q1", "q2", "q3", "q4", "memory");
    if (rem != 0) {
        __asm__ volatile("vctp.8 %[r]\n\t"
                         "vpstttt\n\t"
                         "vldrbt.u8 q0, [%[x]]\n\t"
                         "vldrbt.u8 q1, [%[f0]]\n\t"
                         "vldrbt.u8 q2, [%[f1]]\n\t"
                         "vldrbt.u8 q3, [%[f2]]\n\t"
                         "vpst\n\t"
                         "vldrbt.u8 q4, [%[f3]]\n\t"
                         "vmladava.s8 %[a0], q0, q1\n\t"
                         "vmladava.s8 %[a1], q0, q2\n\t"
                         "vmladava.s8 %[a2], q0, q3\n\t"
                         "vmladava.s8 %[a3], q0, q4\n\t"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3)
                         : [x] "r"(x), [f0] "r"(f0), [f1] "r"(f1), [f2] "r"(f2), [f3] "r"(f3), [r] "r"(rem)
                         : "q0", "q1", "q2", "q3", "q4", "memory");
    }
    r[0] = a0;
    r[1] = a1;
    r[2] = a2;
    r[3] = a3;
}

/* MVE body of fc_run (filter_offset == 0): the sums of EF_FC_MVE_CHUNK units, three per pass
 * (the last pass repeats its last filter when fewer are left), then bias, requantization (per
 * tensor when qstep == 0) and clamp four units per vector. */
static void fc_run_mve(const ef_fc_params *params, const int32_t *mult, const int32_t *shift, int32_t qstep,
                       const int8_t *input, int32_t depth, const int8_t *filter, const int32_t *bias,
                       int32_t units, int32_t batches, int8_t *output)
{
    int32_t acc[EF_FC_MVE_CHUNK + 4];
    const int32_t off = params->input_offset;
    const int32x4_t lo = vdupq_n_s32(params->activation.min);
    const int32x4_t hi = vdupq_n_s32(params->activation.max);
    const int32_t out_off = params->output_offset;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = input + b * depth;
        for (int32_t u0 = 0; u0 < units; u0 += EF_FC_MVE_CHUNK) {
            const int32_t n = EF_MIN(EF_FC_MVE_CHUNK, units - u0);
            if (off == 0) {
                int32_t k = 0;
                const int8_t *f0 = filter + u0 * depth;
                for (; k + 4 <= n; k += 4) {
                    fc_dot4(x, f0, f0 + depth, f0 + 2 * depth, f0 + 3 * depth, depth, acc + k);
                    f0 += 4 * depth;
                }
                if (k < n) { /* 1-3 units left: the last one repeated */
                    const int8_t *f1 = k + 1 < n ? f0 + depth : f0;
                    const int8_t *f2 = k + 2 < n ? f0 + 2 * depth : f1;
                    fc_dot4(x, f0, f1, f2, f2, depth, acc + k);
                }
            } else {
                for (int32_t k = 0; k < n; k += 3) {
                    const int8_t *f0 = filter + (u0 + k) * depth;
                    const int8_t *f1 = k + 1 < n ? f0 + depth : f0;
                    const int8_t *f2 = k + 2 < n ? f0 + 2 * depth : f1;
                    fc_dot3(x, f0, f1, f2, depth, off, acc + k);
                }
            }
            if (bias != 0) { /* acc has room up to a multiple of 4 */
                for (int32_t k = 0; k < n; k += 4) {
                    const mve_pred16_t p = vctp32q((uint32_t)(n - k));
                    vstrwq_s32(acc + k, vaddq_s32(vldrwq_s32(acc + k), vldrwq_z_s32(bias + u0 + k, p)));
                }
            }
            int32_t k = 0;
            if (qstep == 0) {
                const int32x4_t vm = vdupq_n_s32(mult[0]);
                const int32x4_t vs = vdupq_n_s32(shift[0]);
                for (; k + 4 <= n; k += 4) {
                    int32x4_t v = ef_requantize_x4(vldrwq_s32(acc + k), vm, vs);
                    vstrbq_s32(output + u0 + k, vminq_s32(vmaxq_s32(vaddq_n_s32(v, out_off), lo), hi));
                }
            }
            for (; k < n; k += 4) {
                const mve_pred16_t p = vctp32q((uint32_t)(n - k));
                const int32x4_t vm = qstep ? vldrwq_z_s32(mult + u0 + k, p) : vdupq_n_s32(mult[0]);
                const int32x4_t vs = qstep ? vldrwq_z_s32(shift + u0 + k, p) : vdupq_n_s32(shift[0]);
                int32x4_t v = ef_requantize_x4(vldrwq_s32(acc + k), vm, vs);
                v = vminq_s32(vmaxq_s32(vaddq_n_s32(v, out_off), lo), hi);
                vstrbq_p_s32(output + u0 + k, v, p);
            }
        }
        output += units;
    }
}
#endif

/* (fc_run works on a local copy of the params: int8 stores may alias the caller's struct.) */

/* Shared loop; `mult`/`shift` advance by `qstep` (0: per tensor, 1: per channel). */
#if defined(EF_NN_USE_DSP)
/* Four units x 4 inputs (16 MACs), input offset 0 (the generator folds it into the bias): the
 * input word widened once (SXTB16), each filter word loaded and widened per unit, 8 SMLAD. Units
 * k and k + 2 are addressed as [f0], [f0 + depth], [f2], [f2 + depth], so the loop needs 13
 * registers; all are fixed (not r7, the Thumb frame pointer) because GCC's allocator does not
 * reliably find 13 free ones around the asm. 23 instructions per 16 MACs plus 2 per 8 inputs. */
#define EF_FC_DSP_UNIT(acc, load)                                                                  \
    "ldr.w    r2, " load "\n\t"                                                                    \
    "sxtb16   r3, r2\n\t"                                                                      \
    "smlad    " acc ", r0, r3, " acc "\n\t"                                                    \
    "sxtb16   r2, r2, ror #8\n\t"                                                              \
    "smlad    " acc ", r1, r2, " acc "\n\t"
#define EF_FC_DSP_GROUP                                                                            \
    "ldr.w    r1, [%[x]], #4\n\t"                                                              \
    "sxtb16   r0, r1\n\t"                                                                      \
    "sxtb16   r1, r1, ror #8\n\t" EF_FC_DSP_UNIT("%[a1]", "[%[f0], %[d]]")                         \
        EF_FC_DSP_UNIT("%[a0]", "[%[f0]], #4") EF_FC_DSP_UNIT("%[a3]", "[%[f2], %[d]]")            \
            EF_FC_DSP_UNIT("%[a2]", "[%[f2]], #4")

/* r[k] += sum(x * fk) over depth (a multiple of 4, >= 4) for the units at f, f + depth,
 * f + 2 depth, f + 3 depth. */
static inline __attribute__((always_inline)) void fc_dot4_dsp(const int8_t *px, const int8_t *f, int32_t depth,
                                                              int32_t r[4])
{
#if !defined(__OPTIMIZE__)
    /* -O0 has no 13 registers to give the asm: plain C */
    for (int32_t k = 0; k < 4; ++k) {
        r[k] += ef_dot_s8_s8_offset(px, 0, f + k * depth, depth);
    }
#else
    register uint32_t a0 __asm__("r4") = (uint32_t)r[0];
    register uint32_t a1 __asm__("r5") = (uint32_t)r[1];
    register uint32_t a2 __asm__("r6") = (uint32_t)r[2];
    register uint32_t a3 __asm__("r8") = (uint32_t)r[3];
    register const int8_t *x __asm__("r9") = px;
    register const int8_t *f0 __asm__("r10") = f;
    register const int8_t *f2 __asm__("r11") = f + 2 * depth;
    register int32_t d __asm__("r12") = depth;
    register uint32_t n __asm__("lr") = (uint32_t)depth >> 2;
    __asm__ volatile("lsrs     %[n], %[n], #1\n\t"
                     "bcc      1f\n\t" EF_FC_DSP_GROUP "beq      2f\n\t" /* Z still from the LSRS */
                     "1:\n\t" EF_FC_DSP_GROUP EF_FC_DSP_GROUP "subs     %[n], %[n], #1\n\t"
                     "bne      1b\n\t"
                     "2:\n\t"
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [f0] "+r"(f0),
                       [f2] "+r"(f2), [n] "+r"(n)
                     : [d] "r"(d)
                     : "r0", "r1", "r2", "r3", "cc", "memory");
    r[0] = (int32_t)a0;
    r[1] = (int32_t)a1;
    r[2] = (int32_t)a2;
    r[3] = (int32_t)a3;
#endif
}

/* DSP body of fc_run (filter and input offsets 0, depth % 4 == 0): four units per pass with the
 * biases as the accumulators' start; per-tensor requantization on ef_requantize's fast path
 * (m >= 0, shift <= -1) with its per-layer terms hoisted and one SSAT when the activation is the
 * full range, else fc_output; the last 1-3 units through the one-unit dot product. */
static void fc_run_dsp(const ef_fc_params *params, const int32_t *mult, const int32_t *shift, int32_t qstep,
                       const int8_t *input, int32_t depth, const int8_t *filter, const int32_t *bias,
                       int32_t units, int32_t batches, int8_t *output)
{
    const int fast = qstep == 0 && mult[0] >= 0 && shift[0] <= -1 && params->activation.min == -128 &&
                     params->activation.max == 127;
    const int32_t m = mult[0];
    const int32_t e = -1 - shift[0];
    const uint32_t pe = fast ? 1u << e : 0u;
    const int32_t zo = params->output_offset;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = input + b * depth;
        int32_t u = 0;
        for (; u + 3 < units; u += 4) {
            int32_t acc[4] = {0, 0, 0, 0};
            if (bias != 0) {
                acc[0] = bias[u];
                acc[1] = bias[u + 1];
                acc[2] = bias[u + 2];
                acc[3] = bias[u + 3];
            }
            fc_dot4_dsp(x, filter + u * depth, depth, acc);
            if (fast) {
                for (int32_t k = 0; k < 4; ++k) {
                    const int32_t h = (int32_t)(pe - ((uint32_t)acc[k] >> 31));
                    const uint32_t lo = ((uint32_t)h << 31) | (1u << 30);
                    const int64_t kk = (int64_t)(((uint64_t)(uint32_t)(h >> 1) << 32) | lo);
                    const int32_t v = (int32_t)((kk + (int64_t)acc[k] * m) >> 32) >> e;
                    output[u + k] = (int8_t)__ssat(v + zo, 8);
                }
            } else {
                for (int32_t k = 0; k < 4; ++k) {
                    output[u + k] = fc_output(params, acc[k], 0, u + k, mult[(u + k) * qstep], shift[(u + k) * qstep]);
                }
            }
        }
        for (; u < units; ++u) {
            const int32_t acc = ef_dot_s8_s8_offset(x, 0, filter + u * depth, depth);
            output[u] = fc_output(params, acc, bias, u, mult[u * qstep], shift[u * qstep]);
        }
        output += units;
    }
}
#endif

static void fc_run(const ef_fc_params *params_in, const int32_t *mult, const int32_t *shift,
                   int32_t qstep, const int8_t *input, const ef_dims *fd, const int8_t *filter,
                   const int32_t *bias, const ef_dims *out, int8_t *output)
{
    const ef_fc_params local = *params_in;
    const ef_fc_params *params = &local;
    const int32_t depth = fd->h * fd->w * fd->c;
    const int32_t units = out->c;
    const int32_t batches = out->n * out->h * out->w;
#if defined(EF_NN_USE_MVE)
    if (params->filter_offset == 0) {
        fc_run_mve(params, mult, shift, qstep, input, depth, filter, bias, units, batches, output);
        return;
    }
#endif
#if defined(EF_NN_USE_DSP)
    if (params->filter_offset == 0 && params->input_offset == 0 && (depth & 3) == 0) {
        fc_run_dsp(params, mult, shift, qstep, input, depth, filter, bias, units, batches, output);
        return;
    }
#endif
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

/* ---- ef_fully_connected_il4_s8: weights interleaved in blocks of 4 units (ef_nn.h) ---------- */

#if defined(EF_NN_USE_DSP)
/* One group of 4 inputs x 4 units: LDR of the input word, LDM of one weight word per unit, 10
 * SXTB16, 8 SMLAD (20 instructions per 16 MACs). x r0, weights r1, accumulators r4-r7. */
#define EF_FC_IL4_GROUP                             \
    "ldr.w    r9, [r0], #4\n\t"                     \
    "ldmia.w  r1!, {r10, r11, r12, lr}\n\t"         \
    "sxtb16   r8, r9\n\t"                           \
    "sxtb16   r9, r9, ror #8\n\t"                   \
    "sxtb16   r3, r10\n\t"                          \
    "smlad    r4, r8, r3, r4\n\t"                   \
    "sxtb16   r10, r10, ror #8\n\t"                 \
    "smlad    r4, r9, r10, r4\n\t"                  \
    "sxtb16   r3, r11\n\t"                          \
    "smlad    r5, r8, r3, r5\n\t"                   \
    "sxtb16   r11, r11, ror #8\n\t"                 \
    "smlad    r5, r9, r11, r5\n\t"                  \
    "sxtb16   r3, r12\n\t"                          \
    "smlad    r6, r8, r3, r6\n\t"                   \
    "sxtb16   r12, r12, ror #8\n\t"                 \
    "smlad    r6, r9, r12, r6\n\t"                  \
    "sxtb16   r3, lr\n\t"                           \
    "smlad    r7, r8, r3, r7\n\t"                   \
    "sxtb16   lr, lr, ror #8\n\t"                   \
    "smlad    r7, r9, lr, r7\n\t"

/* acc[k] += sum(x * w(unit 4b + k)) over depth (a multiple of 4, >= 4) for the block at f: 14
 * registers, so a function of its own (naked: no compiler frame around the asm). */
__attribute__((naked, noinline)) static void fc_dot4_il4(const int8_t *x, const int8_t *f, int32_t depth,
                                                        int32_t *acc)
{
    (void)x;
    (void)f;
    (void)depth;
    (void)acc;
    __asm__ volatile(
        "push     {r4-r11, lr}\n\t"
        "push     {r3}\n\t"
        "ldmia    r3, {r4, r5, r6, r7}\n\t"
        "lsr      r2, r2, #2\n\t"
        "lsrs     r2, r2, #1\n\t" /* pairs of groups; C: an odd group first */
        "bcc      1f\n\t"
        EF_FC_IL4_GROUP
        "beq      2f\n\t" /* Z still from the LSRS */
        "1:\n\t"
        EF_FC_IL4_GROUP
        EF_FC_IL4_GROUP
        "subs     r2, r2, #1\n\t"
        "bne      1b\n\t"
        "2:\n\t"
        "pop      {r3}\n\t"
        "stmia    r3, {r4, r5, r6, r7}\n\t"
        "pop      {r4-r11, pc}\n\t");
}
#endif

/* Portable block dot product in the interleaved layout (also the DSP body with an input offset). */
static void fc_dot4_il4_c(const int8_t *x, int32_t off, const int8_t *f, int32_t depth, int32_t *acc)
{
    for (int32_t g = 0; g < depth; g += 4, f += 16) {
        for (int32_t k = 0; k < 4; ++k) {
            int32_t s = 0;
            for (int32_t t = 0; t < 4; ++t) {
                s += (x[g + t] + off) * f[4 * k + t];
            }
            acc[k] += s;
        }
    }
}

ef_status ef_fully_connected_il4_s8(const ef_fc_params *params, const ef_per_tensor_quant *quant,
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
    const ef_dims *fd = filter_dims;
    const int32_t depth = fd->h * fd->w * fd->c;
    if ((depth & 3) != 0 || params->filter_offset != 0) {
        return EF_ERR_UNSUPPORTED;
    }
    const ef_fc_params local = *params;
    const int32_t units = output_dims->c;
    const int32_t batches = output_dims->n * output_dims->h * output_dims->w;
    const int32_t nb = units >> 2;
    const int32_t off = local.input_offset;
    const int32_t m = quant->multiplier;
    const int32_t sh = quant->shift;
#if defined(EF_NN_USE_DSP)
    /* ef_requantize's fast path with the per-layer terms hoisted and one SSAT (full-range
     * activation), as fc_run_dsp */
    const int fast = m >= 0 && sh <= -1 && local.activation.min == -128 && local.activation.max == 127;
    const int32_t e = -1 - sh;
    const uint32_t pe = fast ? 1u << e : 0u;
#endif
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *x = input + b * depth;
        for (int32_t j = 0; j < nb; ++j) {
            int32_t acc[4] = {0, 0, 0, 0};
            if (bias != 0) {
                acc[0] = bias[4 * j];
                acc[1] = bias[4 * j + 1];
                acc[2] = bias[4 * j + 2];
                acc[3] = bias[4 * j + 3];
            }
            const int8_t *f = filter + 4 * j * depth;
#if defined(EF_NN_USE_DSP)
            if (off == 0 && ((uintptr_t)f & 3u) == 0) { /* LDM needs word-aligned weights */
                fc_dot4_il4(x, f, depth, acc);
            } else {
                fc_dot4_il4_c(x, off, f, depth, acc);
            }
            if (fast) {
                for (int32_t k = 0; k < 4; ++k) {
                    const int32_t h = (int32_t)(pe - ((uint32_t)acc[k] >> 31));
                    const uint32_t lo = ((uint32_t)h << 31) | (1u << 30);
                    const int64_t kk = (int64_t)(((uint64_t)(uint32_t)(h >> 1) << 32) | lo);
                    const int32_t v = (int32_t)((kk + (int64_t)acc[k] * m) >> 32) >> e;
                    output[4 * j + k] = (int8_t)__ssat(v + local.output_offset, 8);
                }
                continue;
            }
#else
            fc_dot4_il4_c(x, off, f, depth, acc);
#endif
            for (int32_t k = 0; k < 4; ++k) {
                output[4 * j + k] = fc_output(&local, acc[k], 0, 4 * j + k, m, sh);
            }
        }
        for (int32_t u = 4 * nb; u < units; ++u) {
            const int32_t acc = ef_dot_s8_s8_offset(x, off, filter + u * depth, depth);
            output[u] = fc_output(&local, acc, bias, u, m, sh);
        }
        output += units;
    }
    return EF_OK;
}
