/*
 * ef_stack.c - peak stack by painting (see ef_stack.h). The linker script provides __StackLimit
 * (lowest address) and __StackTop; ef_startup.S paints the whole stack at reset.
 */
#include <stdint.h>

#include "ef_stack.h"

extern uint32_t __StackLimit[];
extern uint32_t __StackTop[];

/* deepest use seen before a repaint by ef_stack_measure */
static uint32_t ef_stack_seen;

static uint32_t ef_scan(const uint32_t *top)
{
    const volatile uint32_t *p = __StackLimit;
    while (p < top && *p == EF_STACK_PAINT) {
        ++p;
    }
    return (uint32_t)((uintptr_t)top - (uintptr_t)p);
}

uint32_t ef_stack_peak(void)
{
    uint32_t now = ef_scan(__StackTop);
    return now > ef_stack_seen ? now : ef_stack_seen;
}

uint32_t ef_stack_size(void)
{
    return (uint32_t)((uintptr_t)__StackTop - (uintptr_t)__StackLimit);
}

uint32_t ef_stack_measure(void (*fn)(void))
{
    uint32_t *sp;
    ef_stack_seen = ef_stack_peak();
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    /* volatile stores: a memset call here would overwrite its own frame below SP */
    for (volatile uint32_t *p = __StackLimit; p < sp; ++p) {
        *p = EF_STACK_PAINT;
    }
    fn();
    return ef_scan(sp);
}
