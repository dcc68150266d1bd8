"""Run generated model C on the host for many inputs in one process (for bit-exactness checks).

A small driver (``ef_batch_main.c``, written next to the generated files) reads N inputs from a
binary file, calls ``ef_model_run`` on each and writes the N outputs to another file. This is
the fast path for checking hundreds of inputs against TFLM; the firmware path (template + log
records) is :mod:`edgefact.pipeline.deploy`.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edgefact.errors import EdgefactError, MissingToolError
from edgefact.export.codegen import GeneratedModel
from edgefact.fsutil import atomic_write_text

_DRIVER = r"""/* Batch driver for host checks: ef_batch IN_FILE OUT_FILE N */
#include <stdio.h>
#include <stdlib.h>

#include "model.h"

static ef_model_input_t in_buf[EF_MODEL_INPUT_SIZE];
static ef_model_output_t out_buf[EF_MODEL_OUTPUT_SIZE];

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s IN_FILE OUT_FILE N\n", argv[0]);
        return 2;
    }
    FILE *fi = fopen(argv[1], "rb");
    FILE *fo = fopen(argv[2], "wb");
    long n = strtol(argv[3], NULL, 10);
    if (fi == NULL || fo == NULL) {
        fprintf(stderr, "cannot open files\n");
        return 2;
    }
    for (long i = 0; i < n; ++i) {
        if (fread(in_buf, sizeof in_buf, 1, fi) != 1) {
            fprintf(stderr, "short input at sample %ld\n", i);
            return 2;
        }
        int rc = ef_model_run(in_buf, out_buf);
        if (rc != 0) {
            fprintf(stderr, "ef_model_run failed at layer position %d (sample %ld)\n", rc - 1, i);
            return 3;
        }
        fwrite(out_buf, sizeof out_buf, 1, fo);
    }
    fclose(fi);
    fclose(fo);
    return 0;
}
"""

CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "codegen"

_NP = {"INT8": np.int8, "FLOAT32": np.float32}


def kernel_library(cc: str = "gcc", opt: str = "-O2") -> Path:
    """The kernel library compiled once for the host (a static archive cached by content hash)."""
    from edgefact.firmware.kernels import kernel_include_dir, kernel_sources

    h = hashlib.sha256(f"{cc} {opt}".encode())
    for p in [*kernel_sources(), *sorted(kernel_include_dir().glob("*.h")),
              *sorted(kernel_sources()[0].parent.glob("*.h"))]:
        h.update(p.name.encode() + p.read_bytes())
    lib_dir = CACHE_DIR / f"kernels-{h.hexdigest()[:16]}"
    lib = lib_dir / "libefnn.a"
    if lib.is_file():
        return lib
    lib_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ef_kern_", dir=lib_dir) as tmp:
        objs = []
        for src in kernel_sources():
            obj = Path(tmp) / (src.stem + ".o")
            r = subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", opt, f"-I{kernel_include_dir()}",
                                "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
            if r.returncode != 0:
                raise EdgefactError(f"compiling the kernel library for the host failed:\n{r.stderr[-4000:]}")
            objs.append(str(obj))
        tmp_lib = Path(tmp) / "libefnn.a"
        r = subprocess.run(["ar", "rcs", str(tmp_lib), *objs], capture_output=True, text=True)
        if r.returncode != 0:
            raise EdgefactError(f"ar failed: {r.stderr}; install binutils (sudo apt-get install binutils)")
        tmp_lib.replace(lib)
    return lib


def build_host_batch(gen: GeneratedModel, cc: str = "gcc", opt: str = "-O2") -> Path:
    """Compile the generated model, the kernel library and the batch driver; return the binary."""
    from edgefact.firmware.kernels import kernel_include_dir

    if shutil.which(cc) is None:
        raise MissingToolError(f"C compiler '{cc}' not found; install it: sudo apt-get install gcc")
    out_dir = gen.files["model.c"].parent
    driver = out_dir / "ef_batch_main.c"
    atomic_write_text(driver, _DRIVER)
    srcs = [gen.files["model.c"], gen.files["model_data.c"], driver]
    lib = kernel_library(cc, opt)
    h = hashlib.sha256(opt.encode() + lib.read_bytes())
    for p in [*srcs, gen.files["model.h"], gen.files["model_data.h"]]:
        h.update(p.read_bytes())
    exe = out_dir / f"ef_batch_{h.hexdigest()[:12]}"
    if exe.is_file():
        return exe
    cmd = [cc, "-std=c99", "-Wall", "-Wextra", "-Werror", opt, "-DEF_MODEL_NO_PROFILE",
           f"-I{out_dir}", f"-I{kernel_include_dir()}", *map(str, srcs), str(lib), "-o", str(exe) + ".tmp", "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise EdgefactError(f"compiling the generated model for the host failed:\n{r.stderr[-4000:]}")
    Path(str(exe) + ".tmp").replace(exe)
    return exe


def run_host_batch(gen: GeneratedModel, inputs: np.ndarray | list[np.ndarray],
                   timeout_s: float = 300.0) -> np.ndarray | list[np.ndarray]:
    """Run N samples through the generated C in one process.

    ``inputs``: an (N, ...) array in the model's input dtype, or one such array per model input.
    Returns an (N, ...) array, or a list with one per model output for multi-output models.
    """
    g = gen.graph
    tin = g.tensors[g.inputs[0]]
    arrays = inputs if isinstance(inputs, list | tuple) else [inputs]
    if len(arrays) != len(g.inputs):
        raise EdgefactError(f"{len(arrays)} input arrays for a model with {len(g.inputs)} inputs")
    n = len(arrays[0])
    flat = [np.ascontiguousarray(a, dtype=_NP[tin.type_name]).reshape(n, -1) for a in arrays]
    for a, t in zip(flat, g.inputs, strict=True):
        if a.shape[1] != int(np.prod(g.tensors[t].shape)):
            raise EdgefactError(f"input '{g.tensors[t].name}' needs {int(np.prod(g.tensors[t].shape))} values "
                                f"per sample, got {a.shape[1]}")
    x = np.concatenate(flat, axis=1)
    exe = build_host_batch(gen)
    with tempfile.TemporaryDirectory(prefix="ef_batch_") as tmp:
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        fin.write_bytes(x.tobytes())
        r = subprocess.run([str(exe), str(fin), str(fout), str(n)], capture_output=True, text=True,
                           timeout=timeout_s)
        if r.returncode != 0:
            raise EdgefactError(f"generated model failed on the host: {r.stderr.strip()}")
        y = np.frombuffer(fout.read_bytes(), dtype=_NP[g.tensors[g.outputs[0]].type_name]).reshape(n, -1)
    outs = []
    off = 0
    for t in g.outputs:
        shape = g.tensors[t].shape
        size = int(np.prod(shape))
        outs.append(y[:, off:off + size].reshape((n, *shape[1:]) if shape and shape[0] == 1 else (n, *shape)))
        off += size
    return outs[0] if len(outs) == 1 else outs
