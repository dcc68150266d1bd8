/* CONV_2D with a window (any kernel size, stride and padding; grouped too) whose per-group depth
 * K = kh * kw * filter c is at most 288 with filter c a multiple of 4 and every channel on the
 * fast requantization (multiplier >= 0, -23 <= shift <= -2), on the DSP cores: 2 output pixels
 * x 2 output channels per step against the widened-filter table (include/internal/ef_conv_tab.h).
 * ef_conv_2x2_dilated_s8: the same for a dilated layer (the columns gather the real taps).
 *
 * The layers factorization makes are short: a 3x1 / 1x3 with 16 or 32 channels (K = 48 / 96), a
 * 5x1 / 1x5 with 32 (K = 160), a grouped 3x3 with 8 or 16 per group (K = 72 / 144), a Tucker
 * core (and the dense 3x3 over up to 32 channels, K = 288); ef_conv_s8's 2-pixel engine widens every filter word again per pixel pair (15 instructions per 16 MACs), here each filter is
 * widened once per call (10). The generator picks this kernel on Cortex-M4/M7/M33 for such layers
 * (`_conv_2x2_applies` / `_conv_2x2_dilated_applies` in edgefact/export/ops/conv.py); other shapes
 * and the portable and Helium builds run ef_conv_s8 / ef_conv_dilated_s8 (ctx is its scratch).
 */
#include "internal/ef_conv_tab.h"

/* deepest window this kernel takes: 72 groups of 4 in the unrolled loop */
#define EF_CONV_2X2_MAX_DEPTH 288
/* most table words the scratch holds (8 KB): K = 144 then fits 13 channel pairs per chunk, 288 6 */
#define EF_CONV_2X2_TAB_WORDS 2048

/* Channel pairs per table chunk: a group's pairs, at most what EF_CONV_2X2_TAB_WORDS holds. */
static int32_t conv_2x2_chunk_pairs(const ef_dims *in, const ef_dims *f)
{
    const int32_t k = f->h * f->w * f->c;
    const int32_t pairs = f->n / (in->c / f->c) / 2;
    return EF_MIN(pairs, EF_CONV_2X2_TAB_WORDS / (k + 10));
}

#if defined(EF_NN_USE_DSP)
/*
 * DSP body. Per group and chunk of output channel pairs (as many as the scratch holds, split
 * evenly: one chunk up to 8 KB of table), the filters are widened once into the scratch
 * (ef_nn_conv_tab_build); then per output pixel pair (raster
 * order, a pair may straddle two rows; an odd last pixel runs as the pair (P, P), storing its bytes
 * twice) both windows are widened into one stack column (ef_nn_fill_columns_2px, the 2-pixel
 * engine's: [A02, A13, B02, B13] per 4 values, out-of-bounds taps 0) and one asm call runs the
 * chunk (conv_2x2_pair: per channel pair the unrolled groups from K / 4 before the end, 4
 * requantizations and stores). An odd last channel of a group: ef_nn_dot_2px_1ch on the same
 * column, in C. A window repeats its widening once per chunk: K <= 48 fits 35 pairs in one chunk,
 * K = 144 13 pairs, K = 288 6.
 */
#define EF_CONV_2X2_MAX_GROUPS (EF_CONV_2X2_MAX_DEPTH / 4)

typedef struct {
    const uint32_t *col; /* the pixel pair's widened column */
    const uint32_t *tab; /* the chunk's table, at the first pair's biases */
    int8_t *dsta;        /* pixel A's output of the chunk's first channel */
    int8_t *dstb;        /* pixel B's */
    int32_t skip;        /* groups of the unrolled loop to skip: EF_CONV_2X2_MAX_GROUPS - K / 4 */
} conv_2x2_job;

/* One pixel pair through every channel pair of a chunk. Frame (16 bytes below the 9 saved
 * registers): col 0, entry 4, dsta 8, dstb 12 (EF_CONV_TAB_PAIRS's). */
__attribute__((naked, noinline)) static void conv_2x2_pair(const conv_2x2_job *job)
{
    (void)job;
    __asm__ volatile(
        "push     {r4-r11, lr}\n\t"
        "sub      sp, sp, #16\n\t"
        "ldmia    r0, {r1, r2, r3, r4, r5}\n\t" /* col, tab, dsta, dstb, skip */
        "adr.w    r11, 3f + 1\n\t"              /* + 1: Thumb state for the branches to it */
        "movs     r12, #40\n\t"                 /* bytes per group */
        "mla      r5, r5, r12, r11\n\t"
        "strd     r1, r5, [sp]\n\t"
        "strd     r3, r4, [sp, #8]\n\t"
        "mov      r12, r1\n\t"
        "mov      lr, r2\n\t"
        "ldmia    lr!, {r8, r9, r10, r11}\n\t"  /* the first pair's biases */
        "bx       r5\n\t"
        EF_CONV_TAB_PAIRS(EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4
                          EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4
                          EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4
                          EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4
                          EF_CONV_TAB_GROUPS4 EF_CONV_TAB_GROUPS4)
        "add      sp, sp, #16\n\t"
        "pop      {r4-r11, pc}\n\t");
}

/* The DSP body (dilated: the columns gather the real taps dilation apart), instantiated as
 * conv_2x2_dsp and conv_2x2_dsp_dil so that the undilated one calls the undilated fill only. */
static inline __attribute__((always_inline)) void conv_2x2_dsp_at(
    const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in, const int8_t *input,
    const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias, const ef_dims *out, int8_t *output,
    uint32_t *tab, const int dilated)
{
    const int32_t kh = filter_dims->h;
    const int32_t kw = filter_dims->w;
    const int32_t fc = filter_dims->c;
    const int32_t k = kh * kw * fc;
    const int32_t groups = in->c / fc;
    const int32_t opg = out->c / groups;
    const int32_t pairs = opg >> 1;
    const int32_t per_chunk = conv_2x2_chunk_pairs(in, filter_dims);
    const int32_t chunks = pairs > 0 ? (pairs + per_chunk - 1) / per_chunk : 1;
    const int32_t n_px = out->h * out->w;
    const int32_t ow = out->w;
    const int32_t sh = params->stride.h;
    const int32_t sw = params->stride.w;
    const int32_t ph = params->padding.h;
    const int32_t pw = params->padding.w;
    const int32_t *qm = quant->multiplier;
    const int32_t *qs = quant->shift;
    const int32_t out_off = params->output_offset;
    const uint32_t off2 = ((uint32_t)(uint16_t)params->input_offset << 16) | (uint16_t)params->input_offset;
    uint32_t col[EF_CONV_2X2_MAX_DEPTH];
    conv_2x2_job job;
    job.col = col;
    job.tab = tab;
    job.skip = EF_CONV_2X2_MAX_GROUPS - (k >> 2);
    for (int32_t b = 0; b < in->n; ++b) {
        int8_t *img = output + b * n_px * out->c;
        for (int32_t g = 0; g < groups; ++g) {
            for (int32_t i = 0; i < chunks; ++i) {
                const int32_t p0 = i * pairs / chunks;
                const int32_t np = (i + 1) * pairs / chunks - p0;
                const int32_t oc0 = g * opg + 2 * p0;
                const int32_t odd = (opg & 1) && i == chunks - 1 ? g * opg + opg - 1 : -1;
                if (np > 0) {
                    ef_nn_conv_tab_build(tab, filter, k, bias, qm, qs, oc0, np, out_off);
                }
                int32_t oya = 0;
                int32_t oxa = 0;
                for (int32_t p = 0; p < n_px; p += 2) {
                    const int has_b = p + 1 < n_px;
                    int32_t oyb = oya;
                    int32_t oxb = oxa;
                    if (has_b && ++oxb == ow) {
                        oxb = 0;
                        ++oyb;
                    }
                    if (dilated) {
                        ef_nn_fill_columns_2px_dil(col, input, in, b, oya * sh - ph, oxa * sw - pw, oyb * sh - ph,
                                                   oxb * sw - pw, kh, kw, g * fc, fc, off2, &params->dilation);
                    } else {
                        ef_nn_fill_columns_2px(col, input, in, b, oya * sh - ph, oxa * sw - pw, oyb * sh - ph,
                                               oxb * sw - pw, kh, kw, g * fc, fc, off2);
                    }
                    int8_t *dsta = img + p * out->c;
                    int8_t *dstb = has_b ? dsta + out->c : dsta;
                    if (np > 0) {
                        job.dsta = dsta + oc0;
                        job.dstb = dstb + oc0;
                        conv_2x2_pair(&job);
                    }
                    if (odd >= 0) {
                        int32_t acca;
                        int32_t accb;
                        ef_nn_dot_2px_1ch(col, filter + odd * k, k, &acca, &accb);
                        dsta[odd] = ef_nn_conv_output_any(acca, bias, odd, qm, qs, out_off, -128, 127);
                        dstb[odd] = ef_nn_conv_output_any(accb, bias, odd, qm, qs, out_off, -128, 127);
                    }
                    oya = oyb;
                    oxa = oxb + 1;
                    if (oxa == ow) {
                        oxa = 0;
                        ++oya;
                    }
                }
            }
        }
    }
}

static void conv_2x2_dsp(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                         const int8_t *input, const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                         const ef_dims *out, int8_t *output, uint32_t *tab)
{
    conv_2x2_dsp_at(params, quant, in, input, filter_dims, filter, bias, out, output, tab, 0);
}

static void conv_2x2_dsp_dil(const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *in,
                             const int8_t *input, const ef_dims *filter_dims, const int8_t *filter,
                             const int32_t *bias, const ef_dims *out, int8_t *output, uint32_t *tab)
{
    conv_2x2_dsp_at(params, quant, in, input, filter_dims, filter, bias, out, output, tab, 1);
}
#endif

int32_t ef_conv_2x2_s8_get_buffer_size(const ef_dims *input_dims, const ef_dims *filter_dims)
{
    const int32_t generic = ef_conv_s8_get_buffer_size(input_dims, filter_dims);
    if (generic == 0 || !ef_dims_valid(input_dims) || !ef_dims_valid(filter_dims) ||
        input_dims->c % filter_dims->c != 0) {
        return generic;
    }
    const int32_t k = filter_dims->h * filter_dims->w * filter_dims->c;
    const int32_t tab = 4 * conv_2x2_chunk_pairs(input_dims, filter_dims) * (k + 10);
    return EF_MAX(generic, tab);
}

/* ef_conv_2x2_s8 (dilated 0: dilation {1, 1}, else ef_conv_s8) and ef_conv_2x2_dilated_s8 (1: any
 * dilation, else ef_conv_dilated_s8), inlined into both so that only firmware with a dilated
 * layer links ef_conv_dilated_s8. */
static inline __attribute__((always_inline)) ef_status conv_2x2(
    const ef_conv_params *params, const ef_per_channel_quant *quant, const ef_dims *input_dims, const int8_t *input,
    const ef_dims *filter_dims, const int8_t *filter, const int32_t *bias, const ef_dims *output_dims,
    int8_t *output, const ef_context *ctx, const int dilated)
{
#if defined(EF_NN_USE_DSP)
    const ef_dims *in = input_dims;
    const ef_dims *f = filter_dims;
    const ef_dims *out = output_dims;
    /* the fast path's preconditions; everything else (and every argument error) goes to
     * ef_conv_s8 / ef_conv_dilated_s8, which check the arguments in full */
    if (params != 0 && quant != 0 && quant->multiplier != 0 && quant->shift != 0 && input != 0 && filter != 0 &&
        output != 0 && ef_dims_valid(in) && ef_dims_valid(f) && ef_dims_valid(out) && (f->c & 3) == 0 &&
        f->h * f->w * f->c <= EF_CONV_2X2_MAX_DEPTH && in->c % f->c == 0 && out->c % (in->c / f->c) == 0 &&
        f->n == out->c && out->n == in->n &&
        (dilated ? params->dilation.h >= 1 && params->dilation.w >= 1 && params->dilation.h <= in->h &&
                       params->dilation.w <= in->w
                 : params->dilation.h == 1 && params->dilation.w == 1) &&
        ef_out_size_ok(in->h, (f->h - 1) * params->dilation.h + 1, params->stride.h, params->padding.h, out->h) &&
        ef_out_size_ok(in->w, (f->w - 1) * params->dilation.w + 1, params->stride.w, params->padding.w, out->w) &&
        ef_activation_valid(&params->activation) && ef_conv_rq_fast(quant, out->c)) {
        if (ctx == 0 || ctx->buf == 0) {
            return EF_ERR_NULL;
        }
        if (ctx->size < ef_conv_2x2_s8_get_buffer_size(in, f) || ((uintptr_t)ctx->buf & 3u) != 0) {
            return EF_ERR_SCRATCH;
        }
        if (dilated) {
            conv_2x2_dsp_dil(params, quant, in, input, f, filter, bias, out, output, (uint32_t *)ctx->buf);
        } else {
            conv_2x2_dsp(params, quant, in, input, f, filter, bias, out, output, (uint32_t *)ctx->buf);
        }
        if (params->activation.min != -128 || params->activation.max != 127) {
            ef_nn_clamp_s8(output, in->n * out->h * out->w * out->c, params->activation.min, params->activation.max);
        }
        return EF_OK;
    }
#endif
    if (dilated) {
        return ef_conv_dilated_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output,
                                  ctx);
    }
    return ef_conv_s8(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, ctx);
}

ef_status ef_conv_2x2_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                         const ef_dims *input_dims, const int8_t *input,
                         const ef_dims *filter_dims, const int8_t *filter,
                         const int32_t *bias,
                         const ef_dims *output_dims, int8_t *output,
                         const ef_context *ctx)
{
    return conv_2x2(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, ctx, 0);
}

ef_status ef_conv_2x2_dilated_s8(const ef_conv_params *params, const ef_per_channel_quant *quant,
                                 const ef_dims *input_dims, const int8_t *input,
                                 const ef_dims *filter_dims, const int8_t *filter,
                                 const int32_t *bias,
                                 const ef_dims *output_dims, int8_t *output,
                                 const ef_context *ctx)
{
    return conv_2x2(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, ctx, 1);
}
