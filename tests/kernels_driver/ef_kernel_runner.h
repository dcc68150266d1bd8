/*
 * Zero-copy runner of one kernel test case (a blob written by tests/kernels_harness.py) over
 * its samples. Shared by the host driver (ef_kernel_driver.c) and the firmware test app
 * (ef_kernel_app.c), so host and emulated cores execute the very same calls.
 */
#ifndef EF_KERNEL_RUNNER_H
#define EF_KERNEL_RUNNER_H

#include <stdint.h>

/* Called once per sample with that sample's output bytes. */
typedef void (*ef_emit_fn)(void *ctx, const void *data, uint32_t bytes);

/* Returns 0 on success, a negative ef_status when a kernel rejects its arguments (then
 * *failed_sample is set), or 100 + n for a malformed blob / too small buffers. */
int ef_run_case(const uint32_t *blob, uint32_t words, void *out, uint32_t out_cap, void *scratch,
                uint32_t scratch_cap, ef_emit_fn emit, void *ctx, int32_t *failed_sample);

#endif
