/*
 * Host check of the scalar requantization helpers (include/internal/ef_nn_internal.h):
 *
 *   ef_requant_check IN.bin OUT.bin
 *
 * IN.bin: int32 triples (x, multiplier, shift), little endian. OUT.bin: per triple two int32,
 * ef_requantize (the fast path used by every kernel) and ef_requantize_any (the general one).
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
    while (fread(t, sizeof t[0], 3, fi) == 3) {
        const int32_t r[2] = {ef_requantize(t[0], t[1], t[2]), ef_requantize_any(t[0], t[1], t[2])};
        if (fwrite(r, sizeof r[0], 2, fo) != 2) {
            fprintf(stderr, "ef_requant_check: write failed\n");
            return 2;
        }
    }
    return fclose(fo) == 0 && fclose(fi) == 0 ? 0 : 2;
}
