/*
 * ef_stack.h - stack measurement by painting.
 *
 * The start-up code paints the whole stack with EF_STACK_PAINT at reset; ef_stack_peak() scans for
 * the deepest word that changed. ef_stack_measure(fn) repaints below the caller's stack pointer,
 * calls fn and returns the bytes fn used below it (equal to -fstack-usage of fn and its callees).
 * On the host these return 0 (no painted stack).
 */
#ifndef EF_STACK_H
#define EF_STACK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EF_STACK_PAINT 0xA5A5A5A5u

uint32_t ef_stack_peak(void);   /* bytes used below the top of the stack since reset */
uint32_t ef_stack_size(void);   /* size of the stack region */
uint32_t ef_stack_measure(void (*fn)(void));

#ifdef __cplusplus
}
#endif
#endif /* EF_STACK_H */
