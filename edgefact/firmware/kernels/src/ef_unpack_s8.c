/* Expand clustered weights stored as small indices + int8 look-up tables into the int8 tensor.
 *
 * Layout (written by edgefact.export.packing): the tensor is [outer, channels, inner] with the
 * quantized (output-channel) axis in the middle; indices are `bits` wide, in flat element order,
 * little-endian inside each byte (element i at bit (i*bits) % 8 of byte (i*bits) / 8), with no
 * padding between channels. Channel c uses table luts[c << bits] (or luts[0] when num_luts == 1).
 *
 * Runs once per inference before the layer that reads the weights, so it is written for speed:
 * whole bytes at a time (4-bit: a word of eight indices per load, weights stored four per
 * word; 2- and 1-bit: four or eight elements per byte load), the table pointer
 * hoisted per channel, and a separate loop for inner == 1 (depthwise filters, whose channel
 * changes with every element). */
#include <string.h>

#include "ef_nn.h"

/* One index at bit position `pos`. */
static inline uint32_t ef_unpack_index(const uint8_t *packed, uint32_t pos, uint32_t mask)
{
    return ((uint32_t)packed[pos >> 3] >> (pos & 7u)) & mask;
}

/* n elements of one channel starting at bit `pos`; returns the bit position after them. */
static uint32_t ef_unpack_run(const uint8_t *packed, uint32_t pos, uint32_t bits, const int8_t *lut,
                              int8_t *out, int32_t n)
{
    const uint32_t mask = (1u << bits) - 1u;
    /* leading elements up to a byte boundary */
    while (n > 0 && (pos & 7u) != 0) {
        *out++ = lut[ef_unpack_index(packed, pos, mask)];
        pos += bits;
        --n;
    }
    if (n == 0) {
        return pos; /* the run ended before a byte boundary */
    }
    const uint8_t *src = packed + (pos >> 3);
    if (bits == 4u) {
        /* eight indices per word load, four weights per word store (unaligned word accesses
         * are fine on v7-M/v8-M and the host; memcpy compiles to single LDR/STR; the byte
         * order is little-endian, as on every Cortex-M target and the host) */
        for (; n >= 8; n -= 8) {
            uint32_t w;
            memcpy(&w, src, 4);
            src += 4;
            const uint32_t lo = (uint32_t)(uint8_t)lut[w & 15u] | ((uint32_t)(uint8_t)lut[(w >> 4) & 15u] << 8) |
                                ((uint32_t)(uint8_t)lut[(w >> 8) & 15u] << 16) |
                                ((uint32_t)(uint8_t)lut[(w >> 12) & 15u] << 24);
            const uint32_t hi = (uint32_t)(uint8_t)lut[(w >> 16) & 15u] |
                                ((uint32_t)(uint8_t)lut[(w >> 20) & 15u] << 8) |
                                ((uint32_t)(uint8_t)lut[(w >> 24) & 15u] << 16) |
                                ((uint32_t)(uint8_t)lut[w >> 28] << 24);
            memcpy(out, &lo, 4);
            memcpy(out + 4, &hi, 4);
            out += 8;
        }
        for (; n >= 4; n -= 4) {
            const uint32_t b0 = src[0];
            const uint32_t b1 = src[1];
            src += 2;
            out[0] = lut[b0 & 15u];
            out[1] = lut[b0 >> 4];
            out[2] = lut[b1 & 15u];
            out[3] = lut[b1 >> 4];
            out += 4;
        }
        if (n >= 2) {
            const uint32_t b0 = *src++;
            out[0] = lut[b0 & 15u];
            out[1] = lut[b0 >> 4];
            out += 2;
            n -= 2;
        }
    } else if (bits == 2u) {
        for (; n >= 4; n -= 4) {
            const uint32_t b0 = *src++;
            out[0] = lut[b0 & 3u];
            out[1] = lut[(b0 >> 2) & 3u];
            out[2] = lut[(b0 >> 4) & 3u];
            out[3] = lut[b0 >> 6];
            out += 4;
        }
    } else { /* bits == 1 */
        for (; n >= 8; n -= 8) {
            const uint32_t b0 = *src++;
            out[0] = lut[b0 & 1u];
            out[1] = lut[(b0 >> 1) & 1u];
            out[2] = lut[(b0 >> 2) & 1u];
            out[3] = lut[(b0 >> 3) & 1u];
            out[4] = lut[(b0 >> 4) & 1u];
            out[5] = lut[(b0 >> 5) & 1u];
            out[6] = lut[(b0 >> 6) & 1u];
            out[7] = lut[b0 >> 7];
            out += 8;
        }
    }
    pos = (uint32_t)(src - packed) << 3; /* byte aligned here */
    /* tail: fewer elements than one byte holds */
    for (; n > 0; --n) {
        *out++ = lut[ef_unpack_index(packed, pos, mask)];
        pos += bits;
    }
    return pos;
}

ef_status ef_unpack_s8(const ef_unpack_params *params, const uint8_t *packed, const int8_t *luts,
                       int8_t *output)
{
    if (params == 0 || packed == 0 || luts == 0 || output == 0) {
        return EF_ERR_NULL;
    }
    const int32_t outer = params->outer;
    const int32_t channels = params->channels;
    const int32_t inner = params->inner;
    if (outer <= 0 || channels <= 0 || inner <= 0) {
        return EF_ERR_DIMS;
    }
    const uint32_t bits = (uint32_t)params->bits;
    if (bits != 1u && bits != 2u && bits != 4u) {
        return EF_ERR_PARAM;
    }
    if (params->num_luts != 1 && params->num_luts != channels) {
        return EF_ERR_PARAM;
    }
    const int per_channel = params->num_luts > 1;

    if (per_channel && inner == 1) {
        /* channel changes with every element: [outer, channels] */
        const uint32_t mask = (1u << bits) - 1u;
        uint32_t pos = 0;
        for (int32_t o = 0; o < outer; ++o) {
            const int8_t *lut = luts;
            for (int32_t c = 0; c < channels; ++c) {
                *output++ = lut[ef_unpack_index(packed, pos, mask)];
                pos += bits;
                lut += (int32_t)1 << bits;
            }
        }
        return EF_OK;
    }
    if (!per_channel) {
        /* one table: the whole tensor is one run */
        (void)ef_unpack_run(packed, 0, bits, luts, output, outer * channels * inner);
        return EF_OK;
    }
    uint32_t pos = 0;
    for (int32_t o = 0; o < outer; ++o) {
        const int8_t *lut = luts;
        for (int32_t c = 0; c < channels; ++c) {
            pos = ef_unpack_run(packed, pos, bits, lut, output, inner);
            output += inner;
            lut += (int32_t)1 << bits;
        }
    }
    return EF_OK;
}
