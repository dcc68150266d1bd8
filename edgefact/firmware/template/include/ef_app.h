/*
 * ef_app.h - the contract between the firmware template and an application.
 *
 * The template owns main(): it starts the platform, prints the hello record, calls
 * ef_app_setup() once, ef_app_run() EF_BENCH_WARMUP times untimed and EF_BENCH_RUNS times timed,
 * then ef_app_report(), and exits with the run status. An application provides the three
 * functions below and may wrap regions of ef_app_run() in EF_PROFILE_BEGIN/END (ef_profile.h).
 */
#ifndef EF_APP_H
#define EF_APP_H

#ifdef __cplusplus
extern "C" {
#endif

/* Exit statuses of the firmware (also the semihosting / process exit code). */
#define EF_STATUS_OK 0          /* all runs returned 0 */
#define EF_STATUS_APP_ERROR 1   /* ef_app_run() returned non-zero */
#define EF_STATUS_SETUP_ERROR 2 /* ef_app_setup() returned non-zero */
#define EF_STATUS_FAULT 3       /* a CPU fault; a "fault" record precedes the exit */

#ifndef EF_BENCH_WARMUP
#define EF_BENCH_WARMUP 1
#endif
#ifndef EF_BENCH_RUNS
#define EF_BENCH_RUNS 1
#endif

/* Called once before the warm-up; return 0 on success. */
int ef_app_setup(void);
/* One inference (timed as a whole, plus its profiled regions); return 0 on success. */
int ef_app_run(void);
/* Called after the timed runs: emit checksums / outputs with the ef_log_* functions. */
void ef_app_report(void);

/* Terminate the firmware with a status (semihosting SYS_EXIT_EXTENDED, or exit() on host). */
void ef_exit(int status);

#ifdef __cplusplus
}
#endif
#endif /* EF_APP_H */
