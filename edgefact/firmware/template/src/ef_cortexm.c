/*
 * ef_cortexm.c - output and exit on the emulated Cortex-M machines.
 *
 * Log text goes to every enabled channel: semihosting SYS_WRITE0 (EF_LOG_SEMIHOST) and the CMSDK
 * UART at EF_UART_BASE (EF_LOG_UART). A real-board port overrides the weak ef_board_init() and
 * ef_board_putc() and builds with EF_LOG_SEMIHOST=0 (a semihosting call without a debugger
 * attached would fault). EF_LOG_RTT=1 adds an RTT up-buffer a probe reads while the core runs
 * (ef_rtt.c).
 */
#include <stdint.h>

#include "ef_app.h"
#include "ef_platform.h"
#include "ef_rtt.h"
#include "ef_timer.h"

#ifndef EF_LOG_SEMIHOST
#define EF_LOG_SEMIHOST 1
#endif
#ifndef EF_LOG_UART
#define EF_LOG_UART 1
#endif
#ifndef EF_LOG_RTT
#define EF_LOG_RTT 0
#endif
#ifndef EF_EXIT_SEMIHOST
#define EF_EXIT_SEMIHOST EF_LOG_SEMIHOST
#endif

#define EF_SH_SYS_WRITE0 0x04
#define EF_SH_SYS_EXIT_EXTENDED 0x20
#define EF_SH_ADP_APPLICATION_EXIT 0x20026u

static inline uint32_t ef_semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

#if defined(EF_UART_BASE)
#define EF_UART_DATA (*(volatile uint32_t *)(EF_UART_BASE + 0x00u))
#define EF_UART_STATE (*(volatile uint32_t *)(EF_UART_BASE + 0x04u))
#define EF_UART_CTRL (*(volatile uint32_t *)(EF_UART_BASE + 0x08u))
#define EF_UART_BAUDDIV (*(volatile uint32_t *)(EF_UART_BASE + 0x10u))

__attribute__((weak)) void ef_board_init(void)
{
    EF_UART_BAUDDIV = 16u;
    EF_UART_CTRL = 1u; /* TX enable */
}

__attribute__((weak)) void ef_board_putc(char c)
{
    while (EF_UART_STATE & 1u) { /* TX buffer full */
    }
    EF_UART_DATA = (uint32_t)(unsigned char)c;
}
#else
__attribute__((weak)) void ef_board_init(void) {}
__attribute__((weak)) void ef_board_putc(char c) { (void)c; }
#endif

void ef_platform_init(void)
{
#if EF_LOG_RTT
    ef_rtt_init(); /* first, so a probe can find the control block as early as possible */
#endif
    ef_board_init();
    ef_timer_init();
}

void ef_platform_puts(const char *s)
{
#if EF_LOG_RTT
    size_t n = 0;
    while (s[n]) {
        ++n;
    }
    ef_rtt_write(s, n);
#endif
#if EF_LOG_SEMIHOST
    ef_semihost(EF_SH_SYS_WRITE0, s);
#endif
#if EF_LOG_UART
    for (const char *p = s; *p; ++p) {
        if (*p == '\n') {
            ef_board_putc('\r');
        }
        ef_board_putc(*p);
    }
#endif
}

void ef_exit(int status)
{
#if EF_EXIT_SEMIHOST
    static uint32_t block[2];
    block[0] = EF_SH_ADP_APPLICATION_EXIT;
    block[1] = (uint32_t)status;
    ef_semihost(EF_SH_SYS_EXIT_EXTENDED, block);
#else
    (void)status;
#endif
    for (;;) {
        __asm__ volatile("wfi");
    }
}
