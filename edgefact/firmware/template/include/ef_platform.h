/*
 * ef_platform.h - low-level output and exit of the firmware template (internal).
 */
#ifndef EF_PLATFORM_H
#define EF_PLATFORM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void ef_platform_init(void);                    /* UART, timer */
void ef_platform_puts(const char *s); /* NUL-terminated text to every enabled channel */

#ifdef __cplusplus
}
#endif
#endif /* EF_PLATFORM_H */
