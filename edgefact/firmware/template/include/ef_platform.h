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
void ef_platform_write(const char *s, size_t n); /* one complete line (or text) to all channels */

#ifdef __cplusplus
}
#endif
#endif /* EF_PLATFORM_H */
