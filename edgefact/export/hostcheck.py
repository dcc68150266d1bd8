"""Run generated model C on the host for many inputs in one process (for bit-exactness checks).

A small driver (``ef_batch_main.c``, written next to the generated files) reads N inputs from a
binary file, calls ``ef_model_run`` on each and writes the N outputs to another file. This is
the fast path for checking hundreds of inputs against TFLM; the firmware path (template + log
records) is :mod:`edgefact.pipeline.deploy`.

Everything is compiled through the firmware's object cache (:mod:`edgefact.firmware.objcache`),
so the host library and binaries are rebuilt exactly when a source or any header they include
changes, like the firmware.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgefact import procs
from edgefact.errors import EdgefactError, MissingToolError
from edgefact.export.codegen import GeneratedModel
from edgefact.export.dtypes import np_dtype
from edgefact.firmware.kernels import kernel_include_dir, kernel_sources
from edgefact.firmware.objcache import ObjectCache, compiler_id, object_cache_dir
from edgefact.fsutil import atomic_write_text
from edgefact.hashing import digest, file_sha256

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

_CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror"]


@dataclass(frozen=True)
class KernelTree:
    """Where a kernel library's C sources and its ``-I`` folder are.

    :meth:`installed` is the package's library; :meth:`copy_to` makes a private copy (tests edit
    headers there, never in the shared tree other processes compile).
    """

    sources: tuple[Path, ...]
    include_dir: Path

    @classmethod
    def installed(cls) -> KernelTree:
        return cls(tuple(kernel_sources()), kernel_include_dir())

    def stamp(self) -> str:
        """A digest of every source and header (paths and contents): equal stamps mean an
        unchanged tree (the in-process memo of :func:`kernel_library`; hashing ~40 small files
        costs far less than asking the object cache about each)."""
        files = [*self.sources, *sorted(self.include_dir.rglob("*.h"))]
        return digest(x for p in files for x in (str(p).encode(), p.read_bytes()))

    def copy_to(self, dest: Path) -> KernelTree:
        """Copy the tree (the folder holding the sources and the include folder) below ``dest``."""
        root = Path(os.path.commonpath([self.include_dir, *self.sources]))
        shutil.copytree(root, dest, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        return KernelTree(tuple(dest / s.relative_to(root) for s in self.sources),
                          dest / self.include_dir.relative_to(root))


#: kernel libraries built in this process, by (compiler, flags, cache folder, tree stamp)
_LIBRARIES: dict[tuple[object, ...], Path] = {}


def _run(cmd: list[str], what: str) -> None:
    r = procs.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise EdgefactError(f"{what} for the host failed:\n{r.stderr[-4000:]}")


def _compile(cache: ObjectCache, cc: str, srcs: list[Path], flags: list[str], incs: list[Path],
             obj_dir: Path) -> list[Path]:
    """Compile through the shared object cache (whose keys follow every header in the depfile)."""
    obj_dir.mkdir(parents=True, exist_ok=True)
    objs = []
    for k, src in enumerate(srcs):
        obj = obj_dir / f"{k:02d}_{src.stem}.o"
        cache.compile(cc, src, flags, incs, obj, _run)
        objs.append(obj)
    return objs


def _objects_key(head: list[str], objs: list[Path]) -> str:
    return digest([*head, *(part for o in objs for part in (o.name, file_sha256(o)))])


def kernel_library(cc: str = "gcc", opt: str = "-O2", *, tree: KernelTree | None = None,
                   cache: ObjectCache | None = None, cache_dir: Path | None = None) -> Path:
    """The kernel library compiled for the host: a static archive named by its objects' content.

    Every source goes through the firmware's content-addressed object cache, which reuses an
    object only while each header gcc reported for it (public and ``internal/`` alike) is
    unchanged; the archive is then looked up by the hash of those objects, so an edited header
    can never leave a stale ``libefnn.a`` behind.
    """
    tree = tree or KernelTree.installed()
    root = cache_dir or CACHE_DIR
    stamp = (cc, opt, str(root), tree.stamp())
    known = _LIBRARIES.get(stamp) if cache is None else None  # a caller's own cache sees every lookup
    if known is not None and known.is_file():
        return known  # no source or header of the tree changed since it was built in this process
    cache = cache or ObjectCache(object_cache_dir(), compiler_id(cc))
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ef_kern_", dir=root) as tmp:
        objs = _compile(cache, cc, list(tree.sources), [*_CFLAGS, opt], [tree.include_dir], Path(tmp))
        lib = root / f"kernels-{_objects_key([cc, opt], objs)[:16]}" / "libefnn.a"
        if lib.is_file():
            _LIBRARIES[stamp] = lib
            return lib
        tmp_lib = Path(tmp) / "libefnn.a"
        r = procs.run(["ar", "rcs", str(tmp_lib), *map(str, objs)], capture_output=True, text=True)
        if r.returncode != 0:
            raise EdgefactError(f"ar failed: {r.stderr}; install binutils (sudo apt-get install binutils)")
        lib.parent.mkdir(parents=True, exist_ok=True)
        tmp_lib.replace(lib)
    _LIBRARIES[stamp] = lib
    return lib


def build_host_batch(gen: GeneratedModel, cc: str = "gcc", opt: str = "-O2", *,
                     tree: KernelTree | None = None) -> Path:
    """Compile the generated model, the kernel library and the batch driver; return the binary."""
    if shutil.which(cc) is None:
        raise MissingToolError(f"C compiler '{cc}' not found; install it: sudo apt-get install gcc")
    tree = tree or KernelTree.installed()
    cache = ObjectCache(object_cache_dir(), compiler_id(cc))
    out_dir = gen.files["model.c"].parent
    driver = out_dir / "ef_batch_main.c"
    if not driver.is_file() or driver.read_text() != _DRIVER:
        atomic_write_text(driver, _DRIVER)
    srcs = [gen.files["model.c"], gen.files["model_data.c"], driver]
    lib = kernel_library(cc, opt, tree=tree)
    objs = _compile(cache, cc, srcs, [*_CFLAGS, opt, "-DEF_MODEL_NO_PROFILE"], [out_dir, tree.include_dir],
                    out_dir / "host_obj")
    exe = out_dir / f"ef_batch_{_objects_key([cc, opt, file_sha256(lib)], objs)[:12]}"
    if exe.is_file():
        return exe
    tmp = Path(f"{exe}.{os.getpid()}.tmp")
    _run([cc, opt, *map(str, objs), str(lib), "-o", str(tmp), "-lm"], "linking the generated model")
    tmp.replace(exe)
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
    flat = [np.ascontiguousarray(a, dtype=np_dtype(tin.type_name)).reshape(n, -1) for a in arrays]
    for a, t in zip(flat, g.inputs, strict=True):
        if a.shape[1] != int(np.prod(g.tensors[t].shape)):
            raise EdgefactError(f"input '{g.tensors[t].name}' needs {int(np.prod(g.tensors[t].shape))} values "
                                f"per sample, got {a.shape[1]}")
    x = np.concatenate(flat, axis=1)
    exe = build_host_batch(gen)
    with tempfile.TemporaryDirectory(prefix="ef_batch_") as tmp:
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        fin.write_bytes(x.tobytes())
        r = procs.run([str(exe), str(fin), str(fout), str(n)], capture_output=True, text=True,
                      timeout=timeout_s)
        if r.returncode != 0:
            raise EdgefactError(f"generated model failed on the host: {r.stderr.strip()}")
        y = np.frombuffer(fout.read_bytes(), dtype=np_dtype(g.tensors[g.outputs[0]].type_name)).reshape(n, -1)
    outs = []
    off = 0
    for t in g.outputs:
        shape = g.tensors[t].shape
        size = int(np.prod(shape))
        outs.append(y[:, off:off + size].reshape((n, *shape[1:]) if shape and shape[0] == 1 else (n, *shape)))
        off += size
    return outs[0] if len(outs) == 1 else outs
