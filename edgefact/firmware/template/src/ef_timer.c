/*
 * ef_timer.c - timer back-ends for the profiling hooks (see ef_timer.h).
 */
#include <stdint.h>

#include "ef_timer.h"

#ifndef EF_TICKS_NUM
#define EF_TICKS_NUM 1ull
#define EF_TICKS_DEN 1ull
#endif

#define EF_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* 32-bit counters are extended to 64 bits: a read that went backwards means one wrap. */
static uint32_t ef_last_lo;
static uint64_t ef_hi;

static inline uint64_t ef_extend32(uint32_t up)
{
    if (up < ef_last_lo) {
        ef_hi += 1ull << 32;
    }
    ef_last_lo = up;
    return ef_hi | up;
}

#if defined(EF_TIMER_CMSDK_DUALTIMER)
/* Timer 1 of the CMSDK dual timer: LOAD +0, VALUE +4, CONTROL +8 (enable bit 7, 32-bit bit 1,
 * free-running: periodic bit 6 clear, prescale /1). Counts down. */
void ef_timer_init(void)
{
    EF_REG(EF_TIMER_BASE + 0x08u) = 0u;
    EF_REG(EF_TIMER_BASE + 0x00u) = 0xFFFFFFFFu;
    EF_REG(EF_TIMER_BASE + 0x08u) = (1u << 7) | (1u << 1);
    ef_last_lo = 0u;
    ef_hi = 0u;
}

uint64_t ef_timer_now(void)
{
    return ef_extend32(0xFFFFFFFFu - EF_REG(EF_TIMER_BASE + 0x04u));
}

#elif defined(EF_TIMER_SSE300_COUNTER)
/* SSE-300 system counter: CNTCR (control frame +0) bit 0 enables; the read-only frame holds the
 * 64-bit CNTCV as two words. */
void ef_timer_init(void)
{
    EF_REG(EF_TIMER_CONTROL + 0x00u) |= 1u;
}

uint64_t ef_timer_now(void)
{
    uint32_t hi, lo, hi2;
    do {
        hi = EF_REG(EF_TIMER_BASE + 0x04u);
        lo = EF_REG(EF_TIMER_BASE + 0x00u);
        hi2 = EF_REG(EF_TIMER_BASE + 0x04u);
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

#elif defined(EF_TIMER_DWT)
/* DWT cycle counter of a real core: cycles (device). Reads zero under QEMU. */
#define EF_DEMCR 0xE000EDFCu
#define EF_DWT_CTRL 0xE0001000u
#define EF_DWT_CYCCNT 0xE0001004u
#define EF_DWT_LAR 0xE0001FB0u
void ef_timer_init(void)
{
    EF_REG(EF_DEMCR) |= 1u << 24; /* TRCENA */
    EF_REG(EF_DWT_LAR) = 0xC5ACCE55u; /* unlock (Cortex-M7) */
    EF_REG(EF_DWT_CYCCNT) = 0u;
    EF_REG(EF_DWT_CTRL) |= 1u;
    ef_last_lo = 0u;
    ef_hi = 0u;
}

uint64_t ef_timer_now(void)
{
    return ef_extend32(EF_REG(EF_DWT_CYCCNT));
}

#else
#error "select a timer: EF_TIMER_CMSDK_DUALTIMER, EF_TIMER_SSE300_COUNTER or EF_TIMER_DWT"
#endif

uint64_t ef_timer_to_count(uint64_t ticks)
{
    /* exact under icount: instructions = round(ticks * NUM / DEN) */
    return (ticks * EF_TICKS_NUM + EF_TICKS_DEN / 2u) / EF_TICKS_DEN;
}
