/*
 * ef_timer.h - the free-running timer behind the profiling hooks.
 *
 * One implementation is selected at build time:
 *   EF_TIMER_CMSDK_DUALTIMER  CMSDK dual timer (MPS2 AN386/AN500/AN505), 32-bit down counter
 *   EF_TIMER_SSE300_COUNTER   SSE-300 system counter (MPS3 AN547), 64-bit
 *   EF_TIMER_DWT              DWT CYCCNT on a real board: cycles (device)
 *   EF_TIMER_HOST             clock_gettime: ns (host)
 * Under QEMU -icount shift=10 the emulated timers advance exactly freq*1024/1e9 ticks per guest
 * instruction; ef_timer_to_count() turns ticks into instructions with the exact rational
 * EF_TICKS_NUM/EF_TICKS_DEN (instructions = round(ticks * NUM / DEN)), set by the build driver.
 * All back-ends return 64-bit ticks: the CMSDK back-end combines the exact 32-bit timer 1 with
 * timer 2 prescaled by 256 (no read-frequency requirement); DWT CYCCNT is extended in software and
 * must be read at least once per 2^32 cycles (every profiling hook reads it).
 */
#ifndef EF_TIMER_H
#define EF_TIMER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void ef_timer_init(void);
uint64_t ef_timer_now(void);               /* raw ticks, monotonic, 64-bit */
uint64_t ef_timer_to_count(uint64_t ticks); /* ticks -> unit of EF_UNIT */

#ifndef EF_UNIT
#define EF_UNIT "instructions (emulated)"
#endif

#ifdef __cplusplus
}
#endif
#endif /* EF_TIMER_H */
