/*
 * ef_main.c - the benchmark harness: hello, setup, warm-up, timed runs, regions, report, stack,
 * end status, exit. Record formats: docs/log-protocol.md.
 */
#include <stdint.h>

#include "ef_app.h"
#include "ef_harness.h"
#include "ef_log.h"
#include "ef_platform.h"
#include "ef_profile.h"
#include "ef_stack.h"
#include "ef_timer.h"

#ifndef EF_BUILD_ID
#define EF_BUILD_ID "unknown"
#endif
#ifndef EF_TARGET_NAME
#define EF_TARGET_NAME "unknown"
#endif
#ifndef EF_CORE_NAME
#define EF_CORE_NAME EF_TARGET_NAME
#endif

#define EF_TOTAL_SLOT EF_MAX_REGIONS

static void ef_end(int status)
{
    ef_log_begin("end");
    ef_log_int("status", status);
    ef_log_end();
    ef_exit(status);
}

int main(void)
{
    ef_platform_init();
    ef_profile_calibrate();

    ef_log_begin("hello");
    ef_log_int("v", 1);
    ef_log_str("build", EF_BUILD_ID);
    ef_log_str("target", EF_TARGET_NAME);
    ef_log_str("core", EF_CORE_NAME);
    ef_log_str("unit", EF_UNIT);
    ef_log_int("warmup", EF_BENCH_WARMUP);
    ef_log_int("runs", EF_BENCH_RUNS);
    ef_log_uint("overhead", ef_profile_overhead());
#ifdef EF_CPU_CLOCK_HZ
    ef_log_uint("clock_hz", EF_CPU_CLOCK_HZ); /* the core clock of a real-part build */
#endif
    ef_log_end();

    int rc = ef_app_setup();
    if (rc != 0) {
        ef_log_begin("msg");
        ef_log_str("text", "ef_app_setup failed");
        ef_log_int("rc", rc);
        ef_log_end();
        ef_end(EF_STATUS_SETUP_ERROR);
        return EF_STATUS_SETUP_ERROR;
    }
    for (int i = 0; i < EF_BENCH_WARMUP; ++i) {
        rc = ef_app_run();
        if (rc != 0) {
            break;
        }
    }
    for (int r = 0; rc == 0 && r < EF_BENCH_RUNS; ++r) {
        ef_profile_reset();
        EF_PROFILE_BEGIN(EF_TOTAL_SLOT, "total");
        rc = ef_app_run();
        EF_PROFILE_END(EF_TOTAL_SLOT);
        ef_log_begin("total");
        ef_log_int("run", r);
        ef_log_uint("count", ef_profile_count(EF_TOTAL_SLOT));
        ef_log_end();
    }
    if (rc != 0) {
        ef_log_begin("msg");
        ef_log_str("text", "ef_app_run failed");
        ef_log_int("rc", rc);
        ef_log_end();
        ef_end(EF_STATUS_APP_ERROR);
        return EF_STATUS_APP_ERROR;
    }
    /* the regions of the last timed run */
    for (unsigned id = 0; id < EF_MAX_REGIONS; ++id) {
        if (ef_profile_calls(id) == 0u) {
            continue;
        }
        ef_log_begin("region");
        ef_log_uint("id", id);
        ef_log_str("name", ef_profile_name(id) ? ef_profile_name(id) : "?");
        ef_log_uint("count", ef_profile_count(id));
        ef_log_uint("calls", ef_profile_calls(id));
        ef_log_end();
    }
    if (ef_profile_bad_id() != 0xFFFFFFFFu) {
        ef_log_begin("msg");
        ef_log_str("text", "EF_PROFILE id out of range (0..EF_MAX_REGIONS-1); raise EF_MAX_REGIONS");
        ef_log_uint("id", ef_profile_bad_id());
        ef_log_end();
        ef_end(EF_STATUS_APP_ERROR);
        return EF_STATUS_APP_ERROR;
    }
    ef_app_report();
    ef_log_begin("stack");
    ef_log_uint("peak", ef_stack_peak());
    ef_log_uint("size", ef_stack_size());
    ef_log_end();
    ef_end(EF_STATUS_OK);
    return EF_STATUS_OK;
}
