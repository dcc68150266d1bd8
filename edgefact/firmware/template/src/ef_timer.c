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

#if defined(EF_TIMER_DWT)
/* DWT CYCCNT is extended to 64 bits in software: a read that went backwards means one wrap (so it
 * must be read at least once per 2^32 cycles; every profiling hook reads it). */
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

#elif defined(EF_TIMER_CMSDK_DUALTIMER)
/* CMSDK dual timer, both halves free-running 32-bit down counters (LOAD +0, VALUE +4, CONTROL +8;
 * timer 2 at +0x20). Timer 1 counts every tick: exact low 32 bits. Timer 2 counts every 256th
 * tick: a coarse 40-bit time that says how many times timer 1 wrapped, however rarely we read. */
#define EF_T1(off) EF_REG(EF_TIMER_BASE + (off))
#define EF_T2(off) EF_REG(EF_TIMER_BASE + 0x20u + (off))
#define EF_DT_ENABLE (1u << 7)
#define EF_DT_32BIT (1u << 1)
#define EF_DT_PRESCALE_256 (2u << 2)

void ef_timer_init(void)
{
    EF_T1(0x08u) = 0u;
    EF_T2(0x08u) = 0u;
    EF_T1(0x00u) = 0xFFFFFFFFu;
    EF_T2(0x00u) = 0xFFFFFFFFu;
    EF_T2(0x08u) = EF_DT_ENABLE | EF_DT_32BIT | EF_DT_PRESCALE_256;
    EF_T1(0x08u) = EF_DT_ENABLE | EF_DT_32BIT;
}

uint64_t ef_timer_now(void)
{
    uint32_t fine = 0xFFFFFFFFu - EF_T1(0x04u);
    uint32_t coarse = 0xFFFFFFFFu - EF_T2(0x04u);
    uint64_t approx = (uint64_t)coarse << 8;
    /* the full count is the value == fine (mod 2^32) nearest to approx */
    int32_t delta = (int32_t)(fine - (uint32_t)approx);
    return approx + (uint64_t)(int64_t)delta;
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

#else
#error "select a timer: EF_TIMER_CMSDK_DUALTIMER, EF_TIMER_SSE300_COUNTER or EF_TIMER_DWT"
#endif

uint64_t ef_timer_to_count(uint64_t ticks)
{
    /* exact under icount: instructions = round(ticks * NUM / DEN) */
    return (ticks * EF_TICKS_NUM + EF_TICKS_DEN / 2u) / EF_TICKS_DEN;
}
