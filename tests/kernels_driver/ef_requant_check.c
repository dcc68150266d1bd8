/*
 * Host check of the scalar requantization helpers (include/internal/ef_nn_internal.h):
 *
 *   ef_requant_check IN.bin OUT.bin
 *
 * IN.bin: int32 triples (x, multiplier, shift), little endian. OUT.bin: per triple three int32,
 * ef_requantize (the fast path used by every kernel), ef_requantize_any (the general one) and,
 * where ef_rq_chan_ok holds, ef_rq_chan_apply minus the output offset it adds (offset of the
 * triple number i: i % 256 - 128), else ef_requantize again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal/ef_nn_internal.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: ef_requant_check IN.bin OUT.bin\n");
        return 2;
    }
    FILE *fi = fopen(argv[1], "rb");
    FILE *fo = fopen(argv[2], "wb");
    if (fi == NULL || fo == NULL) {
        fprintf(stderr, "ef_requant_check: cannot open the files\n");
        return 2;
    }
    int32_t t[3];
    for (uint32_t i = 0; fread(t, sizeof t[0], 3, fi) == 3; ++i) {
        const int32_t z = (int32_t)(i % 256u) - 128;
        int32_t fast = ef_requantize(t[0], t[1], t[2]);
        if (ef_rq_chan_ok(t[1], t[2])) {
            const ef_rq_chan q = ef_rq_chan_of(t[1], t[2], z);
            fast = ef_rq_chan_apply(t[0], q.khi, q.mult, q.e) - z;
        }
        const int32_t r[3] = {ef_requantize(t[0], t[1], t[2]), ef_requantize_any(t[0], t[1], t[2]), fast};
        if (fwrite(r, sizeof r[0], 3, fo) != 3) {
            fprintf(stderr, "ef_requant_check: write failed\n");
            return 2;
        }
    }
    return fclose(fo) == 0 && fclose(fi) == 0 ? 0 : 2;
}
