/*
 * Host test driver for the edgefact kernel library: runs one case blob over its samples.
 *
 *   ef_kernel_driver CASE.bin OUT.bin
 *
 * OUT.bin receives every sample's output back to back. Exit status 3 with a message naming the
 * status when a kernel rejects its arguments, 2 on a malformed case file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ef_kernel_runner.h"

static void emit_file(void *ctx, const void *data, uint32_t bytes)
{
    if (fwrite(data, 1, bytes, (FILE *)ctx) != bytes) {
        fprintf(stderr, "ef_kernel_driver: write failed\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: ef_kernel_driver CASE.bin OUT.bin\n");
        return 2;
    }
    FILE *fi = fopen(argv[1], "rb");
    if (fi == NULL || fseek(fi, 0, SEEK_END) != 0) {
        fprintf(stderr, "ef_kernel_driver: cannot read %s\n", argv[1]);
        return 2;
    }
    const long len = ftell(fi);
    rewind(fi);
    uint32_t *blob = malloc((size_t)len + 4u);
    if (blob == NULL || len < 0 || fread(blob, 1, (size_t)len, fi) != (size_t)len) {
        fprintf(stderr, "ef_kernel_driver: cannot read %s\n", argv[1]);
        return 2;
    }
    fclose(fi);
    const uint32_t cap = 1u << 24;
    void *out = calloc(cap, 1);
    void *scratch = calloc(cap, 1);
    FILE *fo = fopen(argv[2], "wb");
    if (out == NULL || scratch == NULL || fo == NULL) {
        fprintf(stderr, "ef_kernel_driver: cannot write %s\n", argv[2]);
        return 2;
    }
    int32_t failed = -1;
    const int rc = ef_run_case(blob, (uint32_t)len / 4u, out, cap, scratch, cap, emit_file, fo, &failed);
    fclose(fo);
    if (rc < 0) {
        fprintf(stderr, "ef_kernel_driver: sample %d: kernel returned status %d\n", (int)failed, rc);
        return 3;
    }
    if (rc != 0) {
        fprintf(stderr, "ef_kernel_driver: malformed case file (code %d)\n", rc);
        return 2;
    }
    return 0;
}
