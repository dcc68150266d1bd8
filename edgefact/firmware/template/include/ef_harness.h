/*
 * ef_harness.h - internals shared by the template's harness files (not for applications).
 */
#ifndef EF_HARNESS_H
#define EF_HARNESS_H

#include <stdint.h>

void ef_profile_calibrate(void);
void ef_profile_reset(void);
uint64_t ef_profile_overhead(void);
uint32_t ef_profile_bad_id(void);
const char *ef_profile_name(unsigned id);

#endif /* EF_HARNESS_H */
