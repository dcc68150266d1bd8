/*
 * ef_profile.c - named-region timing (ef_profile.h).
 *
 * ef_profile_calibrate() measures an empty BEGIN/END pair; that constant is subtracted from every
 * region call and from the per-run totals, so a region's count is what runs between the hooks
 * (exact under QEMU -icount).
 */
#include <stdint.h>

#include "ef_harness.h"
#include "ef_profile.h"
#include "ef_timer.h"

typedef struct {
    const char *name;
    uint64_t start;
    uint64_t count;
    uint32_t calls;
} ef_region_t;

/* slot EF_MAX_REGIONS is the calibration slot */
static ef_region_t ef_regions[EF_MAX_REGIONS + 1];
static uint64_t ef_overhead;
static uint32_t ef_bad_id = 0xFFFFFFFFu;

__attribute__((noinline)) void ef_profile_begin(unsigned id, const char *name)
{
    if (id > EF_MAX_REGIONS) {
        ef_bad_id = id;
        return;
    }
    ef_regions[id].name = name;
    ef_regions[id].start = ef_timer_now();
}

__attribute__((noinline)) void ef_profile_end(unsigned id)
{
    uint64_t now = ef_timer_now();
    if (id > EF_MAX_REGIONS) {
        ef_bad_id = id;
        return;
    }
    ef_region_t *r = &ef_regions[id];
    uint64_t c = ef_timer_to_count(now - r->start);
    r->count += c > ef_overhead ? c - ef_overhead : 0u;
    r->calls += 1u;
}

uint64_t ef_profile_count(unsigned id)
{
    return id <= EF_MAX_REGIONS ? ef_regions[id].count : 0u;
}

uint32_t ef_profile_calls(unsigned id)
{
    return id <= EF_MAX_REGIONS ? ef_regions[id].calls : 0u;
}

const char *ef_profile_name(unsigned id)
{
    return id <= EF_MAX_REGIONS ? ef_regions[id].name : (const char *)0;
}

uint32_t ef_profile_bad_id(void)
{
    return ef_bad_id;
}

uint64_t ef_profile_overhead(void)
{
    return ef_overhead;
}

void ef_profile_reset(void)
{
    for (unsigned i = 0; i <= EF_MAX_REGIONS; ++i) {
        ef_regions[i].count = 0u;
        ef_regions[i].calls = 0u;
    }
}

void ef_profile_calibrate(void)
{
    uint64_t best = UINT64_MAX;
    ef_overhead = 0u;
    for (int i = 0; i < 8; ++i) {
        ef_regions[EF_MAX_REGIONS].count = 0u;
        EF_PROFILE_BEGIN(EF_MAX_REGIONS, "calibration");
        EF_PROFILE_END(EF_MAX_REGIONS);
        if (ef_regions[EF_MAX_REGIONS].count < best) {
            best = ef_regions[EF_MAX_REGIONS].count;
        }
    }
    ef_overhead = best;
    ef_profile_reset();
}
