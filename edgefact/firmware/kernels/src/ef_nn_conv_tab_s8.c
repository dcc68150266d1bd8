/* The widened-filter table of the DSP table engine (internal, include/internal/ef_conv_tab.h),
 * shared by ef_conv_1x1_2x2_s8 and ef_conv_2x2_s8. */
#include "internal/ef_conv_tab.h"

#if defined(EF_NN_USE_DSP)
/* A pair's 4 starting accumulators: A0, B0, A1, B1. */
static inline void tab_biases(uint32_t *tab, const int32_t *bias, int32_t oc)
{
    tab[0] = bias != 0 ? (uint32_t)bias[oc] : 0u;
    tab[1] = tab[0];
    tab[2] = bias != 0 ? (uint32_t)bias[oc + 1] : 0u;
    tab[3] = tab[2];
}

void ef_nn_conv_tab_build(uint32_t *tab, const int8_t *filter, int32_t k, const int32_t *bias, const int32_t *qm,
                          const int32_t *qs, int32_t oc, int32_t np, int32_t out_off)
{
    tab_biases(tab, bias, oc);
    tab += 4;
    for (int32_t j = 0; j < np; ++j, oc += 2) {
        const int8_t *f0 = filter + oc * k;
        const int8_t *f1 = f0 + k;
        for (int32_t i = 0; i < k; i += 4) {
            const uint32_t w0 = ef_read_u32(f0 + i);
            const uint32_t w1 = ef_read_u32(f1 + i);
            tab[0] = __sxtb16(w0);
            tab[1] = ef_sxtb16_ror8(w0);
            tab[2] = __sxtb16(w1);
            tab[3] = ef_sxtb16_ror8(w1);
            tab += 4;
        }
        for (int32_t c = 0; c < 2; ++c) {
            const int32_t e = -1 - qs[oc + c];
            tab[0] = (uint32_t)qm[oc + c];
            tab[1] = (1u << (e - 1)) + (uint32_t)out_off * (1u << e);
            tab[2] = (uint32_t)e;
            tab += 3;
        }
        if (j + 1 < np) {
            tab_biases(tab, bias, oc + 2);
            tab += 4;
        }
    }
    tab[-1] |= 0x80000000u; /* the last e1: the end of the chunk */
}
#else
typedef int ef_nn_conv_tab_unused; /* ISO C: a translation unit is not empty */
#endif
