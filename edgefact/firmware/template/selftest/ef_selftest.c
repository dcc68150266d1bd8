/*
 * ef_selftest.c - the template's self-test application.
 *
 * EF_SELFTEST_MODE 0 (default): times ef_calib_loop() for 0, 1000 and EF_SELFTEST_N2 iterations
 *   (exact-count check; a large N2 spans a wrap of the 32-bit timer),
 *   an empty region (hook overhead check) and measures the stack of a known frame
 *   (ef_selftest_frame, compared with -fstack-usage by the tests).
 * EF_SELFTEST_MODE 1: a bus fault (load from an unmapped address) -> fault record, status 3.
 * EF_SELFTEST_MODE 2: hangs (the runner must time out).
 */
#include <stdint.h>

#include "ef_app.h"
#include "ef_log.h"
#include "ef_profile.h"
#include "ef_stack.h"

#ifndef EF_SELFTEST_MODE
#define EF_SELFTEST_MODE 0
#endif
#ifndef EF_SELFTEST_FRAME
#define EF_SELFTEST_FRAME 256
#endif
#ifndef EF_SELFTEST_BAD_ADDR
#define EF_SELFTEST_BAD_ADDR 0xF0000000u
#endif

uint32_t ef_calib_loop(uint32_t n);

static volatile uint32_t ef_n0 = 0u;
static volatile uint32_t ef_n1 = 1000u;
#ifndef EF_SELFTEST_N2
#define EF_SELFTEST_N2 100000u
#endif

static volatile uint32_t ef_n2 = EF_SELFTEST_N2;
static volatile uint32_t ef_sink;

void ef_selftest_frame(void);

/* A leaf with a fixed frame: the whole buffer is written, so painting sees all of it. */
__attribute__((noinline)) void ef_selftest_frame(void)
{
    volatile uint8_t buf[EF_SELFTEST_FRAME];
    for (uint32_t i = 0; i < EF_SELFTEST_FRAME; ++i) {
        buf[i] = (uint8_t)(i + 1u);
    }
    ef_sink = buf[EF_SELFTEST_FRAME / 2];
}

int ef_app_setup(void)
{
    return 0;
}

int ef_app_run(void)
{
#if EF_SELFTEST_MODE == 1
    ef_sink = *(volatile uint32_t *)(uintptr_t)EF_SELFTEST_BAD_ADDR;
#elif EF_SELFTEST_MODE == 2
    for (;;) {
        ef_sink = ef_sink + 1u;
    }
#endif
    EF_PROFILE_BEGIN(0, "loop_0");
    ef_calib_loop(ef_n0);
    EF_PROFILE_END(0);
    EF_PROFILE_BEGIN(1, "loop_1000");
    ef_calib_loop(ef_n1);
    EF_PROFILE_END(1);
    EF_PROFILE_BEGIN(2, "loop_n2");
    ef_calib_loop(ef_n2);
    EF_PROFILE_END(2);
    EF_PROFILE_BEGIN(3, "empty");
    EF_PROFILE_END(3);
    return 0;
}

void ef_app_report(void)
{
    ef_log_metric("loop_n1", (int64_t)ef_n1);
    ef_log_metric("loop_n2", (int64_t)ef_n2);
    ef_log_metric("frame_stack", (int64_t)ef_stack_measure(ef_selftest_frame));
}
