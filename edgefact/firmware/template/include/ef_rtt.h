/*
 * ef_rtt.h - an RTT-compatible up-buffer (log channel EF_LOG_RTT=1), readable by a debug probe
 * while the core runs (pyOCD, a GDB server, J-Link tools).
 *
 * Layout (what host tools look for): a control block named _SEGGER_RTT that starts with the id
 * string "SEGGER RTT" (16 bytes, NUL padded), then the number of up and down buffers, then one
 * descriptor per buffer: name, buffer address, size, write offset, read offset, flags. The target
 * only moves the write offset of an up buffer, the host only its read offset; one byte always
 * stays free so that "write == read" means empty. Flags bits 0-1: 0 drop a write that does not fit
 * whole, 1 write what fits, 2 wait until the host has made room. The firmware starts in mode
 * EF_RTT_MODE (default 0, so a board without a reader never stalls); a reader switches the mode to
 * 2 when it attaches so that no record is lost.
 */
#ifndef EF_RTT_H
#define EF_RTT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef EF_RTT_BUF_SIZE
#define EF_RTT_BUF_SIZE 2048
#endif
#ifndef EF_RTT_MODE
#define EF_RTT_MODE 0
#endif

#define EF_RTT_MODE_SKIP 0u
#define EF_RTT_MODE_TRIM 1u
#define EF_RTT_MODE_BLOCK 2u
#define EF_RTT_MODE_MASK 3u

typedef struct {
    const char *name;
    char *buf;
    uint32_t size;
    volatile uint32_t wr; /* written by the target */
    volatile uint32_t rd; /* written by the host */
    volatile uint32_t flags;
} ef_rtt_ring_t;

typedef struct {
    volatile char id[16];
    int32_t max_up;
    int32_t max_down;
    ef_rtt_ring_t up[1];
    ef_rtt_ring_t down[1];
} ef_rtt_cb_t;

void ef_rtt_init(void);
/* Append n bytes to up buffer 0; returns the number of bytes written (mode dependent). */
size_t ef_rtt_write(const char *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* EF_RTT_H */
