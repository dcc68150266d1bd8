/*
 * ef_host.c - the template's platform layer for a native (host) build: stdout, exit(),
 * CLOCK_MONOTONIC nanoseconds. The stack is not painted on the host: the stack record reports 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ef_app.h"
#include "ef_platform.h"
#include "ef_stack.h"
#include "ef_timer.h"

void ef_timer_init(void) {}

uint64_t ef_timer_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ef_timer_to_count(uint64_t ticks)
{
    return ticks;
}

void ef_platform_init(void)
{
    ef_timer_init();
}

void ef_platform_puts(const char *s)
{
    fputs(s, stdout);
    fflush(stdout);
}

void ef_exit(int status)
{
    fflush(stdout);
    exit(status);
}

uint32_t ef_stack_peak(void)
{
    return 0u;
}

uint32_t ef_stack_size(void)
{
    return 0u;
}

uint32_t ef_stack_measure(void (*fn)(void))
{
    fn();
    return 0u;
}
