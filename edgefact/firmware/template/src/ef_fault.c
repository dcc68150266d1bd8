/*
 * ef_fault.c - fault reporting: one "fault" log record with the fault status registers and the
 * stacked PC/LR/xPSR, an "end" record, then exit with EF_STATUS_FAULT.
 */
#include <stdint.h>

#include "ef_app.h"
#include "ef_log.h"

#define EF_SCB_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

void ef_fault_report(const uint32_t *frame, uint32_t exc_return);

void ef_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    ef_log_begin("fault");
    ef_log_uint("exception", ipsr & 0x1FFu);
    ef_log_uint("cfsr", EF_SCB_REG(0xE000ED28u));
    ef_log_uint("hfsr", EF_SCB_REG(0xE000ED2Cu));
    ef_log_uint("mmfar", EF_SCB_REG(0xE000ED34u));
    ef_log_uint("bfar", EF_SCB_REG(0xE000ED38u));
#if defined(__ARM_FEATURE_CMSE)
    ef_log_uint("sfsr", EF_SCB_REG(0xE000EDE4u));
#endif
    ef_log_uint("pc", frame[6]);
    ef_log_uint("lr", frame[5]);
    ef_log_uint("xpsr", frame[7]);
    ef_log_uint("exc_return", exc_return);
    ef_log_end();
    ef_log_begin("end");
    ef_log_int("status", EF_STATUS_FAULT);
    ef_log_end();
    ef_exit(EF_STATUS_FAULT);
}
