/*
 * ef_profile.h - timing hooks around named regions.
 *
 *   EF_PROFILE_BEGIN(3, "conv_2d_3");
 *   ...
 *   EF_PROFILE_END(3);
 *
 * id is a constant in 0..EF_MAX_REGIONS-1, one per region. A region entered several times in a
 * run accumulates. Counts are in the unit of the build (see ef_timer.h): exact guest instructions
 * under QEMU -icount, DWT cycles on a real board, nanoseconds on the host. The fixed cost of the
 * hooks themselves is measured at start-up and subtracted. The template reports the counts of the
 * last timed run. Define EF_PROFILE_DISABLE to compile the hooks out.
 */
#ifndef EF_PROFILE_H
#define EF_PROFILE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef EF_MAX_REGIONS
#define EF_MAX_REGIONS 64
#endif

void ef_profile_begin(unsigned id, const char *name);
void ef_profile_end(unsigned id);

/* Counts of the current run (used by the harness and by tests). */
uint64_t ef_profile_count(unsigned id);
uint32_t ef_profile_calls(unsigned id);

#ifdef EF_PROFILE_DISABLE
#define EF_PROFILE_BEGIN(id, name) ((void)0)
#define EF_PROFILE_END(id) ((void)0)
#else
#define EF_PROFILE_BEGIN(id, name) ef_profile_begin((id), (name))
#define EF_PROFILE_END(id) ef_profile_end(id)
#endif

#ifdef __cplusplus
}
#endif
#endif /* EF_PROFILE_H */
