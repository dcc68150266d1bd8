/*
 * Shift layer: a DEPTHWISE_CONV_2D whose kernels have at most one non-zero tap each (a hardened
 * shift attention layer), run as copies and table look-ups. The generator folds the tap's
 * weight, the bias and TFLite's requantization of each channel into a 256-entry table (indexed
 * by the input byte); where that table is the identity (a SAL whose input and output share
 * their quantization) the channel is a plain copy. Output channel c of pixel (oy, ox) is
 * table_c(input[oy * sh - ph + ky_c, ox * sw - pw + kx_c, c]), or the channel's border value
 * where that position is padding: 0 MACs, bit-exact by construction.
 *
 * The generator describes the channels as runs: consecutive channels with the same tap and
 * table (it orders the channels of a shift layer by tap, folding the order into the layers
 * around it, so a run holds every channel of one shift). A run is a rectangle copy: every
 * output pixel of its valid rectangle reads the same n consecutive bytes of one input pixel,
 * the rest of the output gets the run's border value. Scalar cores go run by run, row by row,
 * with copies specialised by the run's width (byte, halfword, word moves at the pixel stride).
 * Helium gathers interior pixels (every tap inside the input) through per-channel offsets, 8
 * channels per step (VLDRB gathers, a second gather for the table), and runs the frame of
 * border pixels run by run.
 */
#include <string.h>

#include "internal/ef_nn_internal.h"

typedef struct {
    const int8_t *in;  /* this batch's input */
    int8_t *out;       /* this batch's output */
    const uint8_t *luts;
    int32_t h, w, c, oh, ow, sh, sw, ph, pw;
} shift_geom;

/* Output positions o in [0, out) whose input position o * stride + off lies in [0, size): [*lo, *hi). */
static void valid_range(int32_t off, int32_t stride, int32_t size, int32_t out, int32_t *lo, int32_t *hi)
{
    int32_t a = off >= 0 ? 0 : (stride - 1 - off) / stride;
    int32_t b = size - 1 - off < 0 ? 0 : (size - 1 - off) / stride + 1;
    a = EF_MIN(a, out);
    b = EF_MIN(b, out);
    *lo = a;
    *hi = EF_MAX(a, b);
}

static inline uint32_t ld32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void st32(int8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static inline uint16_t ld16(const int8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline void st16(int8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

/* The copy, fill and look-up loops below work on a rectangle of `rows` x `cols` output pixels
 * of one run: n bytes per pixel, output pixels ds bytes apart and rows dr apart, input pixels ss
 * and rows sr apart. A pixel's n bytes move as words (halfwords below 4), the last one
 * overlapping the one before where n is not a multiple (every byte written is the run's own). */

static void fill_rect(int8_t *d, int32_t n, int32_t cols, int32_t rows, int32_t ds, int32_t dr, int8_t v)
{
    if (cols <= 0 || rows <= 0) {
        return;
    }
    const uint32_t w = 0x01010101u * (uint8_t)v;
    const int32_t end = cols * ds;
    const int32_t t = n >= 4 ? n - 4 : (n >= 2 ? n - 2 : 0);
    for (int32_t r = 0; r < rows; ++r, d += dr) {
        int8_t *dt = d + t;
        if (n == 1) {
            for (int32_t i = 0; i < end; i += ds) {
                d[i] = v;
            }
        } else if (n < 4) {
            for (int32_t i = 0; i < end; i += ds) {
                st16(d + i, (uint16_t)w);
                st16(dt + i, (uint16_t)w);
            }
        } else if (n <= 8) {
            for (int32_t i = 0; i < end; i += ds) {
                st32(d + i, w);
                st32(dt + i, w);
            }
        } else {
            for (int32_t i = 0; i < end; i += ds) {
                for (int32_t j = 0; j < t; j += 4) {
                    st32(d + i + j, w);
                }
                st32(dt + i, w);
            }
        }
    }
}

static void copy_rect(int8_t *d, const int8_t *s, int32_t n, int32_t cols, int32_t rows, int32_t ds, int32_t ss,
                      int32_t dr, int32_t sr)
{
    if (cols <= 0 || rows <= 0) {
        return;
    }
    const int32_t t = n >= 4 ? n - 4 : (n >= 2 ? n - 2 : 0);
    if (ss != ds) { /* stride > 1 */
        for (int32_t r = 0; r < rows; ++r, d += dr, s += sr) {
            int8_t *dp = d;
            const int8_t *sp = s;
            for (int32_t k = 0; k < cols; ++k, dp += ds, sp += ss) {
                if (n < 4) {
                    dp[0] = sp[0];
                    if (n > 1) {
                        st16(dp + t, ld16(sp + t));
                    }
                } else {
                    for (int32_t j = 0; j < t; j += 4) {
                        st32(dp + j, ld32(sp + j));
                    }
                    st32(dp + t, ld32(sp + t));
                }
            }
        }
        return;
    }
    const int32_t end = cols * ds;
    switch (n) {
    case 1:
        for (int32_t r = 0; r < rows; ++r, d += dr, s += sr) {
            int32_t i = 0;
            for (; i + ds < end; i += 2 * ds) {
                const int8_t a = s[i];
                const int8_t b = s[i + ds];
                d[i] = a;
                d[i + ds] = b;
            }
            if (i < end) {
                d[i] = s[i];
            }
        }
        return;
    case 2:
        for (int32_t r = 0; r < rows; ++r, d += dr, s += sr) {
            int32_t i = 0;
            for (; i + ds < end; i += 2 * ds) {
                const uint16_t a = ld16(s + i);
                const uint16_t b = ld16(s + i + ds);
                st16(d + i, a);
                st16(d + i + ds, b);
            }
            if (i < end) {
                st16(d + i, ld16(s + i));
            }
        }
        return;
    case 4:
        for (int32_t r = 0; r < rows; ++r, d += dr, s += sr) {
            int32_t i = 0;
            for (; i + ds < end; i += 2 * ds) {
                const uint32_t a = ld32(s + i);
                const uint32_t b = ld32(s + i + ds);
                st32(d + i, a);
                st32(d + i + ds, b);
            }
            if (i < end) {
                st32(d + i, ld32(s + i));
            }
        }
        return;
    case 3:
        for (int32_t r = 0; r < rows; ++r, d += dr, s += sr) {
            int8_t *dt = d + 1;
            const int8_t *st = s + 1;
            for (int32_t i = 0; i < end; i += ds) {
                const uint16_t a = ld16(s + i);
                const uint16_t b = ld16(st + i);
                st16(d + i, a);
                st16(dt + i, b);
            }
        }
        return;
    default:
        break;
    }
    if (n <= 8) {
        for (int32_t r = 0; r < rows; ++r, d += dr, s += sr) {
            int8_t *dt = d + t;
            const int8_t *st = s + t;
            for (int32_t i = 0; i < end; i += ds) {
                const uint32_t a = ld32(s + i);
                const uint32_t b = ld32(st + i);
                st32(d + i, a);
                st32(dt + i, b);
            }
        }
    } else if (n <= 12) {
        for (int32_t r = 0; r < rows; ++r, d += dr, s += sr) {
            int8_t *dt = d + t;
            const int8_t *st = s + t;
            for (int32_t i = 0; i < end; i += ds) {
                const uint32_t a = ld32(s + i);
                const uint32_t b = ld32(s + i + 4);
                const uint32_t c = ld32(st + i);
                st32(d + i, a);
                st32(d + i + 4, b);
                st32(dt + i, c);
            }
        }
    } else {
        for (int32_t r = 0; r < rows; ++r, d += dr, s += sr) {
            int8_t *dt = d + t;
            const int8_t *st = s + t;
            for (int32_t i = 0; i < end; i += ds) {
                for (int32_t j = 0; j < t; j += 4) {
                    st32(d + i + j, ld32(s + i + j));
                }
                st32(dt + i, ld32(st + i));
            }
        }
    }
}

/* As copy_rect, every byte through the table lut. */
static void lut_rect(int8_t *d, const int8_t *s, int32_t n, int32_t cols, int32_t rows, int32_t ds, int32_t ss,
                     int32_t dr, int32_t sr, const uint8_t *lut)
{
    for (int32_t r = 0; r < rows; ++r, d += dr, s += sr) {
        int8_t *dp = d;
        const int8_t *sp = s;
#if defined(EF_NN_USE_MVE)
        for (int32_t k = 0; k < cols; ++k, dp += ds, sp += ss) {
            for (int32_t j = 0; j < n; j += 16) {
                const mve_pred16_t q = vctp8q((uint32_t)(n - j));
                const uint8x16_t x = vldrbq_z_u8((const uint8_t *)sp + j, q);
                vstrbq_p_u8((uint8_t *)dp + j, vldrbq_gather_offset_z_u8(lut, x, q), q);
            }
        }
#else
        for (int32_t k = 0; k < cols; ++k, dp += ds, sp += ss) {
            for (int32_t j = 0; j < n; ++j) {
                dp[j] = (int8_t)lut[(uint8_t)sp[j]];
            }
        }
#endif
    }
}

/* Run `run` over the output rectangle [y0, y1) x [x0, x1): a copy (or look-up) where its tap
 * reads the input, its border value elsewhere. */
static void run_rect(const shift_geom *g, const int16_t *run, int32_t y0, int32_t y1, int32_t x0, int32_t x1)
{
    if (y0 >= y1 || x0 >= x1) {
        return;
    }
    const int32_t c0 = run[0];
    const int32_t n = run[1];
    const int32_t tap = run[2];
    const int32_t table = run[3];
    const int8_t border = (int8_t)run[4];
    const int32_t C = g->c;
    const int32_t ow = g->ow;
    int32_t vy0 = y0;
    int32_t vy1 = y0;
    int32_t vx0 = x0;
    int32_t vx1 = x0;
    const int8_t *s = g->in;
    if (tap >= 0) {
        const int32_t ky = tap >> 8;
        const int32_t kx = tap & 0xFF;
        valid_range(ky - g->ph, g->sh, g->h, g->oh, &vy0, &vy1);
        valid_range(kx - g->pw, g->sw, g->w, ow, &vx0, &vx1);
        vy0 = EF_MIN(EF_MAX(vy0, y0), y1);
        vy1 = EF_MAX(EF_MIN(vy1, y1), vy0);
        vx0 = EF_MIN(EF_MAX(vx0, x0), x1);
        vx1 = EF_MAX(EF_MIN(vx1, x1), vx0);
        if (vx0 == vx1) {
            vy1 = vy0;
        }
        if (vy0 < vy1) {
            s = g->in + ((vy0 * g->sh + ky - g->ph) * g->w + vx0 * g->sw + kx - g->pw) * C + c0;
        }
    }
    const int32_t dr = ow * C;
    int8_t *d = g->out + (y0 * ow + x0) * C + c0;
    fill_rect(d, n, x1 - x0, vy0 - y0, C, dr, border);
    int8_t *dv = d + (vy0 - y0) * dr;
    fill_rect(dv, n, vx0 - x0, vy1 - vy0, C, dr, border);
    fill_rect(dv + (vx1 - x0) * C, n, x1 - vx1, vy1 - vy0, C, dr, border);
    fill_rect(d + (vy1 - y0) * dr, n, x1 - x0, y1 - vy1, C, dr, border);
    if (vy0 < vy1) {
        const int32_t sr = g->sh * g->w * C;
        if (table < 0) {
            copy_rect(dv + (vx0 - x0) * C, s, n, vx1 - vx0, vy1 - vy0, C, g->sw * C, dr, sr);
        } else {
            lut_rect(dv + (vx0 - x0) * C, s, n, vx1 - vx0, vy1 - vy0, C, g->sw * C, dr, sr,
                     g->luts + table * 256);
        }
    }
}

#if defined(EF_NN_USE_MVE)
/* Helium frame limits: border rows / columns and channels for which the per-chunk predicates
 * fit on the stack (beyond them the frame runs run by run). */
#define SHIFT_MVE_EDGES 4
#define SHIFT_MVE_CHUNKS 16

/* Interior pixels of one output row, C % 8 == 0, identity or table 0: chunks (1..4) of 8
 * channels from channel 8 * first chunk, offsets kept in registers across the row. */
#define EF_SHIFT_ROW(BODY)                                                \
    for (int32_t k = count; k > 0; --k, s += sstep, d += C) {             \
        BODY                                                              \
    }
#define EF_SHIFT_CASES(G)                                                                            \
    switch (chunks) {                                                                                \
    case 1:                                                                                          \
        EF_SHIFT_ROW(vstrbq_u16(d, G(o0));)                                                          \
        return;                                                                                      \
    case 2:                                                                                          \
        EF_SHIFT_ROW(const uint16x8_t a = G(o0); const uint16x8_t b = G(o1); vstrbq_u16(d, a);       \
                     vstrbq_u16(d + 8, b);)                                                          \
        return;                                                                                      \
    case 3:                                                                                          \
        EF_SHIFT_ROW(const uint16x8_t a = G(o0); const uint16x8_t b = G(o1); const uint16x8_t e = G(o2); \
                     vstrbq_u16(d, a); vstrbq_u16(d + 8, b); vstrbq_u16(d + 16, e);)                 \
        return;                                                                                      \
    default:                                                                                         \
        EF_SHIFT_ROW(vstrbq_u16(d, G(o0)); vstrbq_u16(d + 8, G(o1)); vstrbq_u16(d + 16, G(o2));     \
                     vstrbq_u16(d + 24, G(o3));)                                                     \
        return;                                                                                      \
    }
#define EF_SHIFT_COPY(o) vldrbq_gather_offset_u16(s, o)
#define EF_SHIFT_LUT(o) vldrbq_gather_offset_u16(lut, vldrbq_gather_offset_u16(s, o))
static void interior_rows_fast(const int8_t *src, int32_t sstep, const uint16_t *offsets, const uint8_t *lut,
                               int32_t chunks, int32_t count, int32_t C, int8_t *dst)
{
    const uint8_t *s = (const uint8_t *)src;
    uint8_t *d = (uint8_t *)dst;
    if (lut == 0 && (chunks == 4 || chunks == 2)) { /* copies: a low-overhead loop of gathers and stores */
        if (chunks == 4) {
            __asm__ volatile("vldrh.u16 q4, [%[o]]\n"
                             "vldrh.u16 q5, [%[o], #16]\n"
                             "vldrh.u16 q6, [%[o], #32]\n"
                             "vldrh.u16 q7, [%[o], #48]\n"
                             "wls lr, %[n], 2f\n"
                             "1:\n"
                             "vldrb.u16 q0, [%[s], q4]\n"
                             "vldrb.u16 q1, [%[s], q5]\n"
                             "vldrb.u16 q2, [%[s], q6]\n"
                             "vldrb.u16 q3, [%[s], q7]\n"
                             "add %[s], %[s], %[ss]\n"
                             "vstrb.16 q0, [%[d]]\n"
                             "vstrb.16 q1, [%[d], #8]\n"
                             "vstrb.16 q2, [%[d], #16]\n"
                             "vstrb.16 q3, [%[d], #24]\n"
                             "add %[d], %[d], %[c]\n"
                             "le lr, 1b\n"
                             "2:\n"
                             : [s] "+r"(s), [d] "+r"(d)
                             : [o] "r"(offsets), [n] "r"(count), [ss] "r"(sstep), [c] "r"(C)
                             : "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "lr", "memory");
        } else {
            __asm__ volatile("vldrh.u16 q4, [%[o]]\n"
                             "vldrh.u16 q5, [%[o], #16]\n"
                             "wls lr, %[n], 2f\n"
                             "1:\n"
                             "vldrb.u16 q0, [%[s], q4]\n"
                             "vldrb.u16 q1, [%[s], q5]\n"
                             "add %[s], %[s], %[ss]\n"
                             "vstrb.16 q0, [%[d]]\n"
                             "vstrb.16 q1, [%[d], #8]\n"
                             "add %[d], %[d], %[c]\n"
                             "le lr, 1b\n"
                             "2:\n"
                             : [s] "+r"(s), [d] "+r"(d)
                             : [o] "r"(offsets), [n] "r"(count), [ss] "r"(sstep), [c] "r"(C)
                             : "q0", "q1", "q4", "q5", "lr", "memory");
        }
        return;
    }
    const uint16x8_t o0 = vldrhq_u16(offsets);
    const uint16x8_t o1 = chunks > 1 ? vldrhq_u16(offsets + 8) : o0;
    const uint16x8_t o2 = chunks > 2 ? vldrhq_u16(offsets + 16) : o0;
    const uint16x8_t o3 = chunks > 3 ? vldrhq_u16(offsets + 24) : o0;
    if (lut == 0) {
        EF_SHIFT_CASES(EF_SHIFT_COPY)
    } else {
        EF_SHIFT_CASES(EF_SHIFT_LUT)
    }
}
#undef EF_SHIFT_LUT
#undef EF_SHIFT_COPY
#undef EF_SHIFT_CASES
#undef EF_SHIFT_ROW

/* The frame of a copy layer with one border value, for a run of `count` pixels sharing one
 * predicate per chunk (an edge column over the middle rows, an edge row's middle): 4 (or 2)
 * chunks per pass with the offsets in registers and the predicates in core registers, 5
 * instructions per chunk. */
static void frame_copy4(const uint8_t *s, int32_t sstep, const uint16_t *offsets, const uint16_t *pp,
                        int32_t border, int32_t count, uint8_t *d, int32_t dstep)
{
    const uint32_t p0 = pp[0];
    const uint32_t p1 = pp[1];
    const uint32_t p2 = pp[2];
    const uint32_t p3 = pp[3];
    __asm__ volatile("vldrh.u16 q4, [%[o]]\n"
                     "vldrh.u16 q5, [%[o], #16]\n"
                     "vldrh.u16 q6, [%[o], #32]\n"
                     "vldrh.u16 q7, [%[o], #48]\n"
                     "ldr r8, %[bv]\n"
                     "vdup.16 q2, r8\n"
                     "wls lr, %[n], 2f\n"
                     "1:\n"
                     "vmsr p0, %[p0]\n"
                     "vpst\n"
                     "vldrbt.u16 q0, [%[s], q4]\n"
                     "vpsel q0, q0, q2\n"
                     "vstrb.16 q0, [%[d]]\n"
                     "vmsr p0, %[p1]\n"
                     "vpst\n"
                     "vldrbt.u16 q1, [%[s], q5]\n"
                     "vpsel q1, q1, q2\n"
                     "vstrb.16 q1, [%[d], #8]\n"
                     "vmsr p0, %[p2]\n"
                     "vpst\n"
                     "vldrbt.u16 q0, [%[s], q6]\n"
                     "vpsel q0, q0, q2\n"
                     "vstrb.16 q0, [%[d], #16]\n"
                     "vmsr p0, %[p3]\n"
                     "vpst\n"
                     "vldrbt.u16 q1, [%[s], q7]\n"
                     "vpsel q1, q1, q2\n"
                     "vstrb.16 q1, [%[d], #24]\n"
                     "ldr r8, %[ss]\n"
                     "add %[s], %[s], r8\n"
                     "ldr r8, %[ds]\n"
                     "add %[d], %[d], r8\n"
                     "le lr, 1b\n"
                     "2:\n"
                     : [s] "+r"(s), [d] "+r"(d)
                     : [o] "r"(offsets), [n] "r"(count), [p0] "r"(p0), [p1] "r"(p1), [p2] "r"(p2), [p3] "r"(p3),
                       [ss] "m"(sstep), [ds] "m"(dstep), [bv] "m"(border)
                     : "r8", "q0", "q1", "q2", "q4", "q5", "q6", "q7", "lr", "memory");
}

static void frame_copy2(const uint8_t *s, int32_t sstep, const uint16_t *offsets, const uint16_t *pp,
                        int32_t border, int32_t count, uint8_t *d, int32_t dstep)
{
    const uint32_t p0 = pp[0];
    const uint32_t p1 = pp[1];
    __asm__ volatile("vldrh.u16 q4, [%[o]]\n"
                     "vldrh.u16 q5, [%[o], #16]\n"
                     "ldr r8, %[bv]\n"
                     "vdup.16 q2, r8\n"
                     "wls lr, %[n], 2f\n"
                     "1:\n"
                     "vmsr p0, %[p0]\n"
                     "vpst\n"
                     "vldrbt.u16 q0, [%[s], q4]\n"
                     "vpsel q0, q0, q2\n"
                     "vstrb.16 q0, [%[d]]\n"
                     "vmsr p0, %[p1]\n"
                     "vpst\n"
                     "vldrbt.u16 q1, [%[s], q5]\n"
                     "vpsel q1, q1, q2\n"
                     "vstrb.16 q1, [%[d], #8]\n"
                     "ldr r8, %[ss]\n"
                     "add %[s], %[s], r8\n"
                     "ldr r8, %[ds]\n"
                     "add %[d], %[d], r8\n"
                     "le lr, 1b\n"
                     "2:\n"
                     : [s] "+r"(s), [d] "+r"(d)
                     : [o] "r"(offsets), [n] "r"(count), [p0] "r"(p0), [p1] "r"(p1), [ss] "m"(sstep),
                       [ds] "m"(dstep), [bv] "m"(border)
                     : "r8", "q0", "q1", "q2", "q4", "q5", "lr", "memory");
}

/* `count` pixels sstep input and dstep output bytes apart, Helium: 8 channels per gather
 * through the offsets from `src` (which may lie outside the input: lanes off the predicate are
 * not loaded), then the table (none: num_tables 0; table 0; per-channel tables); lanes off
 * pp[j] (validity per chunk, limited to the channels; NULL: all valid) take the border value
 * bord[c], which may be read up to the next multiple of 8 channels. */
static void pixels_mve(uintptr_t src, int32_t sstep, const uint16_t *offsets, const uint8_t *tables,
                       const uint8_t *lut, int32_t num_tables, const uint16_t *pp, const int8_t *bord, int8_t border,
                       int32_t C, int32_t count, int8_t *dst, int32_t dstep)
{
    if (num_tables == 0 && pp != 0 && bord == 0 && (C & 15) == 0 && count > 1) {
        for (int32_t c = 0; c < C; c += 32) { /* runs of pixels: the chunks' predicates in registers */
            if (C - c >= 32) {
                frame_copy4((const uint8_t *)src, sstep, offsets + c, pp + c / 8, (uint8_t)border, count,
                            (uint8_t *)dst + c, dstep);
            } else {
                frame_copy2((const uint8_t *)src, sstep, offsets + c, pp + c / 8, (uint8_t)border, count,
                            (uint8_t *)dst + c, dstep);
            }
        }
        return;
    }
    if (num_tables == 0 && pp != 0 && bord == 0 && (C & 7) == 0 && count > 0) {
        /* the frame of a copy layer with one border value: 8 instructions per chunk */
        const int32_t chunks = C / 8;
        const int32_t bv = (uint8_t)border;
        const uint8_t *s = (const uint8_t *)src;
        uint8_t *d = (uint8_t *)dst;
        int32_t n = count;
        __asm__ volatile("ldr r8, %[bv]\n"
                         "vdup.16 q2, r8\n"
                         "1:\n"
                         "mov r4, %[o]\n"
                         "mov r6, %[q]\n"
                         "mov r7, %[d]\n"
                         "ldr lr, %[k]\n"
                         "dls lr, lr\n"
                         "2:\n"
                         "ldrh r8, [r6], #2\n"
                         "vldrh.u16 q1, [r4], #16\n"
                         "vmsr p0, r8\n"
                         "vpst\n"
                         "vldrbt.u16 q3, [%[s], q1]\n"
                         "vpsel q3, q3, q2\n"
                         "vstrb.16 q3, [r7], #8\n"
                         "le lr, 2b\n"
                         "ldr r8, %[ss]\n"
                         "add %[s], %[s], r8\n"
                         "ldr r8, %[ds]\n"
                         "add %[d], %[d], r8\n"
                         "subs %[n], %[n], #1\n"
                         "bne 1b\n"
                         : [s] "+r"(s), [d] "+r"(d), [n] "+r"(n)
                         : [o] "r"(offsets), [q] "r"(pp), [k] "m"(chunks), [ss] "m"(sstep), [ds] "m"(dstep),
                           [bv] "m"(bv)
                         : "r4", "r6", "r7", "r8", "q1", "q2", "q3", "lr", "memory", "cc");
        return;
    }
    for (int32_t k = 0; k < count; ++k, src += (uintptr_t)sstep, dst += dstep) {
        const uint8_t *s = (const uint8_t *)src;
        uint8_t *d = (uint8_t *)dst;
        for (int32_t c = 0, j = 0; c < C; c += 8, ++j) {
            const mve_pred16_t t = vctp16q((uint32_t)(C - c));
            const mve_pred16_t p = pp != 0 ? (mve_pred16_t)pp[j] : t;
            uint16x8_t x = vldrbq_gather_offset_z_u16(s, vldrhq_z_u16(offsets + c, t), p);
            if (num_tables > 1) {
                x = vaddq_x_u16(x, vshlq_n_u16(vldrbq_z_u16(tables + c, t), 8), p);
            }
            if (num_tables > 0) {
                x = vldrbq_gather_offset_z_u16(lut, x, p);
            }
            if (pp != 0) {
                const uint16x8_t bv = bord != 0 ? vldrbq_u16((const uint8_t *)bord + c) : vdupq_n_u16((uint8_t)border);
                x = vpselq_u16(x, bv, p);
            }
            vstrbq_p_u16(d + c, x, t);
        }
    }
}

/* Per chunk of 8 channels, the predicate of the channels whose tap row (vertical) or column,
 * from taps[c] ((ky << 8) | kx, -1: none), reads inside [0, size) at input position tap + off. */
static void edge_preds(const int16_t *taps, int vertical, int32_t off, int32_t size, int32_t C, uint16_t *preds)
{
    const uint16x8_t sz = vdupq_n_u16((uint16_t)size);
    const int16x8_t lo = vdupq_n_s16(0xFF);
    int32_t c = 0;
    for (; c + 8 <= C; c += 8) {
        const int16x8_t tv = vldrhq_s16(taps + c);
        const int16x8_t k = vertical ? vshrq_n_s16(tv, 8) : vandq_s16(tv, lo);
        const uint16x8_t v = vreinterpretq_u16_s16(vaddq_n_s16(k, (int16_t)off));
        *preds++ = (uint16_t)vcmpgeq_m_n_s16(tv, 0, vcmphiq_u16(sz, v));
    }
    if (c < C) {
        const mve_pred16_t t = vctp16q((uint32_t)(C - c));
        const int16x8_t tv = vldrhq_z_s16(taps + c, t);
        const int16x8_t k = vertical ? vshrq_n_s16(tv, 8) : vandq_s16(tv, lo);
        const uint16x8_t v = vreinterpretq_u16_s16(vaddq_n_s16(k, (int16_t)off));
        *preds = (uint16_t)vcmpgeq_m_n_s16(tv, 0, vcmphiq_m_u16(sz, v, t));
    }
}
#endif

ef_status ef_shift_s8(const ef_shift_params *params, const ef_dims *input_dims, const int8_t *input,
                      const int16_t *runs, const int16_t *taps, const uint16_t *offsets, const uint8_t *tables,
                      const int8_t *luts, const ef_dims *output_dims, int8_t *output)
{
    if (params == 0 || input_dims == 0 || input == 0 || runs == 0 || taps == 0 || offsets == 0 || tables == 0 ||
        output_dims == 0 || output == 0 || (luts == 0 && params->num_tables > 0)) {
        return EF_ERR_NULL;
    }
    const ef_dims *in = input_dims;
    const ef_dims *out = output_dims;
    if (!ef_dims_valid(in) || !ef_dims_valid(out) || out->c != in->c || out->n != in->n) {
        return EF_ERR_DIMS;
    }
    const int32_t kh = params->filter.h;
    const int32_t kw = params->filter.w;
    const int32_t nt = params->num_tables;
    if (kh <= 0 || kw <= 0 || kw > 256 || params->stride.h <= 0 || params->stride.w <= 0 || params->padding.h < 0 ||
        params->padding.w < 0 || nt < 0 || nt > 256 || params->num_runs <= 0 || params->num_runs > in->c) {
        return EF_ERR_PARAM;
    }
    if (!ef_out_size_ok(in->h, kh, params->stride.h, params->padding.h, out->h) ||
        !ef_out_size_ok(in->w, kw, params->stride.w, params->padding.w, out->w)) {
        return EF_ERR_DIMS;
    }
    const int32_t C = in->c;
    /* the runs cover the channels in order; taps inside the window; tables exist */
    int32_t next = 0;
    int32_t ky_min = params->padding.h; /* a channel without a tap reads its base pixel in the interior */
    int32_t ky_max = params->padding.h;
    int32_t kx_min = params->padding.w;
    int32_t kx_max = params->padding.w;
    for (int32_t r = 0; r < params->num_runs; ++r) {
        const int16_t *run = runs + r * EF_SHIFT_RUN_FIELDS;
        const int32_t t = run[2];
        if (run[0] != next || run[1] <= 0 || t < -1 || (t >= 0 && ((t >> 8) >= kh || (t & 0xFF) >= kw)) ||
            run[3] < -1 || run[3] >= nt || run[4] < -128 || run[4] > 127) {
            return EF_ERR_PARAM;
        }
        next += run[1];
        if (t >= 0) {
            ky_min = EF_MIN(ky_min, t >> 8);
            ky_max = EF_MAX(ky_max, t >> 8);
            kx_min = EF_MIN(kx_min, t & 0xFF);
            kx_max = EF_MAX(kx_max, t & 0xFF);
        }
    }
    if (next != C) {
        return EF_ERR_PARAM;
    }
    for (int32_t c = 0; c < C && nt > 0; ++c) {
        if (tables[c] >= nt) {
            return EF_ERR_PARAM;
        }
    }
    shift_geom g = {input, output, (const uint8_t *)luts, in->h, in->w, C, out->h, out->w, params->stride.h,
                    params->stride.w, params->padding.h, params->padding.w};
#if defined(EF_NN_USE_MVE)
    /* interior: every channel's tap (and the base pixel) inside the input */
    int32_t y_lo;
    int32_t y_hi;
    int32_t x_lo;
    int32_t x_hi;
    valid_range(ky_min - params->padding.h, params->stride.h, in->h - (ky_max - ky_min), out->h, &y_lo, &y_hi);
    valid_range(kx_min - params->padding.w, params->stride.w, in->w - (kx_max - kx_min), out->w, &x_lo, &x_hi);
    if (x_lo == x_hi) {
        y_hi = y_lo;
    }
    const int32_t edge_rows = out->h - (y_hi - y_lo);
    const int32_t edge_cols = out->w - (x_hi - x_lo);
    const int32_t chunks = (C + 7) / 8;
    const int fast_frame = edge_rows <= SHIFT_MVE_EDGES && edge_cols <= SHIFT_MVE_EDGES &&
                           chunks <= SHIFT_MVE_CHUNKS;
    uint16_t rowp[SHIFT_MVE_EDGES * SHIFT_MVE_CHUNKS];
    uint16_t colp[SHIFT_MVE_EDGES * SHIFT_MVE_CHUNKS];
    uint16_t corner[SHIFT_MVE_CHUNKS];
    int8_t bord[SHIFT_MVE_CHUNKS * 8];
    const int8_t *bp = 0; /* per-channel border values, or none: every run has `border` */
    const int8_t border = (int8_t)runs[4];
    if (fast_frame) {
        for (int32_t r = 1; r < params->num_runs && bp == 0; ++r) {
            if (runs[r * EF_SHIFT_RUN_FIELDS + 4] != runs[4]) {
                bp = bord;
            }
        }
        for (int32_t r = 0; r < params->num_runs && bp != 0; ++r) {
            const int16_t *run = runs + r * EF_SHIFT_RUN_FIELDS;
            memset(bord + run[0], (uint8_t)run[4], (size_t)run[1]);
        }
        for (int32_t e = 0; e < edge_rows; ++e) {
            const int32_t oy = e < y_lo ? e : y_hi + (e - y_lo);
            edge_preds(taps, 1, oy * g.sh - g.ph, g.h, C, rowp + e * SHIFT_MVE_CHUNKS);
        }
        for (int32_t e = 0; e < edge_cols; ++e) {
            const int32_t ox = e < x_lo ? e : x_hi + (e - x_lo);
            edge_preds(taps, 0, ox * g.sw - g.pw, g.w, C, colp + e * SHIFT_MVE_CHUNKS);
        }
    }
    const int fast_interior = (nt <= 1) && (C % 8) == 0;
    const int32_t step = g.sw * C;
    for (int32_t b = 0; b < in->n; ++b) {
        g.in = input + b * in->h * in->w * C;
        g.out = output + b * out->h * out->w * C;
        uintptr_t src = (uintptr_t)g.in + (uintptr_t)(((y_lo * g.sh) * g.w + x_lo * g.sw) * C + params->offset_base);
        uintptr_t dst = (uintptr_t)g.out + (uintptr_t)((y_lo * g.ow + x_lo) * C);
        for (int32_t oy = y_lo; oy < y_hi; ++oy, src += (uintptr_t)(g.sh * g.w * C), dst += (uintptr_t)(g.ow * C)) {
            if (fast_interior) {
                for (int32_t c = 0; c < C; c += 32) {
                    interior_rows_fast((const int8_t *)src, step, offsets + c, nt ? g.luts : 0, EF_MIN(4, (C - c) / 8),
                                       x_hi - x_lo, C, (int8_t *)dst + c);
                }
            } else {
                pixels_mve(src, step, offsets, tables, g.luts, nt, 0, 0, 0, C, x_hi - x_lo, (int8_t *)dst, C);
            }
        }
        if (fast_frame) {
            const int32_t row_in = g.sh * g.w * C;
            const int32_t row_out = g.ow * C;
            const uintptr_t base = (uintptr_t)g.in + (uintptr_t)params->offset_base;
            for (int32_t e = 0; e < edge_cols; ++e) { /* edge columns over the middle rows */
                const int32_t ox = e < x_lo ? e : x_hi + (e - x_lo);
                pixels_mve(base + (uintptr_t)(y_lo * row_in + ox * step), row_in, offsets, tables, g.luts, nt,
                           colp + e * SHIFT_MVE_CHUNKS, bp, border, C, y_hi - y_lo, g.out + y_lo * row_out + ox * C,
                           row_out);
            }
            for (int32_t e = 0; e < edge_rows; ++e) { /* edge rows: the middle, then the corners */
                const int32_t oy = e < y_lo ? e : y_hi + (e - y_lo);
                const uint16_t *rp = rowp + e * SHIFT_MVE_CHUNKS;
                pixels_mve(base + (uintptr_t)(oy * row_in + x_lo * step), step, offsets, tables, g.luts, nt, rp, bp,
                           border, C, x_hi - x_lo, g.out + oy * row_out + x_lo * C, C);
                for (int32_t f = 0; f < edge_cols; ++f) {
                    const int32_t ox = f < x_lo ? f : x_hi + (f - x_lo);
                    const uint16_t *cp = colp + f * SHIFT_MVE_CHUNKS;
                    for (int32_t j = 0; j < chunks; ++j) {
                        corner[j] = (uint16_t)(cp[j] & rp[j]);
                    }
                    pixels_mve(base + (uintptr_t)(oy * row_in + ox * step), step, offsets, tables, g.luts, nt, corner,
                               bp, border, C, 1, g.out + oy * row_out + ox * C, C);
                }
            }
        } else {
            for (int32_t r = 0; r < params->num_runs; ++r) {
                const int16_t *run = runs + r * EF_SHIFT_RUN_FIELDS;
                run_rect(&g, run, 0, y_lo, 0, g.ow);
                run_rect(&g, run, y_lo, y_hi, 0, x_lo);
                run_rect(&g, run, y_lo, y_hi, x_hi, g.ow);
                run_rect(&g, run, y_hi, g.oh, 0, g.ow);
            }
        }
    }
#else
    (void)taps;
    (void)ky_min;
    (void)ky_max;
    (void)kx_min;
    (void)kx_max;
    for (int32_t b = 0; b < in->n; ++b) {
        g.in = input + b * in->h * in->w * C;
        g.out = output + b * out->h * out->w * C;
        for (int32_t r = 0; r < params->num_runs; ++r) {
            run_rect(&g, runs + r * EF_SHIFT_RUN_FIELDS, 0, g.oh, 0, g.ow);
        }
    }
#endif
    return EF_OK;
}
