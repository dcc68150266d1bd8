/*
 * ef_rtt.c - RTT-compatible up-buffer (see ef_rtt.h for the protocol). Compiled into every
 * Cortex-M build; only a build with EF_LOG_RTT=1 defines the control block and writes to it.
 */
#include "ef_rtt.h"

#if defined(EF_LOG_RTT) && EF_LOG_RTT

/* The name host tools look up in the ELF (and the id they scan RAM for). */
ef_rtt_cb_t _SEGGER_RTT __attribute__((aligned(4)));
static char ef_rtt_up_buf[EF_RTT_BUF_SIZE];
static char ef_rtt_down_buf[16];

static inline void ef_rtt_barrier(void)
{
    __asm__ volatile("dmb" ::: "memory");
}

void ef_rtt_init(void)
{
    /* The id is stored reversed so the complete string never appears in flash: a host scanning
     * memory for it finds only the initialised RAM copy, and it is written last. */
    static const char id_rev[] = "TTR REGGES";
    ef_rtt_cb_t *cb = &_SEGGER_RTT;
    for (unsigned i = 0; i < sizeof cb->id; ++i) {
        cb->id[i] = '\0';
    }
    cb->max_up = 1;
    cb->max_down = 1;
    cb->up[0].name = "edgefact";
    cb->up[0].buf = ef_rtt_up_buf;
    cb->up[0].size = EF_RTT_BUF_SIZE;
    cb->up[0].wr = 0u;
    cb->up[0].rd = 0u;
    cb->up[0].flags = EF_RTT_MODE;
    cb->down[0].name = "edgefact";
    cb->down[0].buf = ef_rtt_down_buf;
    cb->down[0].size = sizeof ef_rtt_down_buf;
    cb->down[0].wr = 0u;
    cb->down[0].rd = 0u;
    cb->down[0].flags = 0u;
    ef_rtt_barrier();
    for (int i = (int)sizeof id_rev - 2; i >= 0; --i) {
        cb->id[sizeof id_rev - 2 - (unsigned)i] = id_rev[i];
    }
    ef_rtt_barrier();
}

static uint32_t ef_rtt_free(const ef_rtt_ring_t *r, uint32_t wr)
{
    uint32_t rd = r->rd;
    return rd > wr ? rd - wr - 1u : r->size - wr + rd - 1u;
}

size_t ef_rtt_write(const char *data, size_t n)
{
    ef_rtt_ring_t *r = &_SEGGER_RTT.up[0];
    size_t done = 0;
    while (done < n) {
        uint32_t mode = r->flags & EF_RTT_MODE_MASK;
        uint32_t wr = r->wr;
        uint32_t room = ef_rtt_free(r, wr);
        if (mode == EF_RTT_MODE_SKIP && done == 0 && room < n) {
            return 0; /* all or nothing: a dropped record is missing, never cut */
        }
        if (room == 0u) {
            if (mode == EF_RTT_MODE_BLOCK) {
                continue; /* the host drains the buffer */
            }
            break;
        }
        size_t chunk = n - done;
        if (chunk > room) {
            chunk = room;
        }
        if (chunk > r->size - wr) {
            chunk = r->size - wr; /* up to the end of the ring, the rest from offset 0 */
        }
        for (size_t i = 0; i < chunk; ++i) {
            r->buf[wr + i] = data[done + i];
        }
        ef_rtt_barrier(); /* the bytes before the offset that publishes them */
        wr += (uint32_t)chunk;
        r->wr = wr == r->size ? 0u : wr;
        done += chunk;
    }
    return done;
}

#else
/* RTT not selected: nothing to emit (a translation unit must not be empty). */
typedef int ef_rtt_unused_t;
#endif
