"""The edgefact int8 kernel library (C99): where its sources are and how much scratch it needs.

The C API is ``include/ef_nn.h``; the semantics are documented in ``docs/kernels.md``. Which
kernel runs an operator, and the scratch it needs, is the operator's registry entry's business
(:mod:`edgefact.export.ops`).
"""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent


def kernel_include_dir() -> Path:
    """Folder to pass as ``-I`` (holds ``ef_nn.h`` and ``ef_nn_types.h``; the kernels' private
    headers live in its ``internal/`` folder, so build caches that hash the include folders
    see changes to them too)."""
    return _ROOT / "include"


def kernel_sources() -> list[Path]:
    """All C sources of the library, sorted (compile them all; unused kernels are dropped by
    ``-ffunction-sections -Wl,--gc-sections`` or simply never referenced)."""
    return sorted((_ROOT / "src").glob("*.c"))


def kernel_headers() -> list[Path]:
    """Every header of the library (public and ``internal/``), for build-cache keys."""
    return sorted(kernel_include_dir().rglob("*.h"))


#: channels the fast kernel paths process per step, by core: the DSP bodies work on four output
#: channels (and pairs of input bytes), the Helium bodies on eight-lane and sixteen-lane vectors
_FAST_MULTIPLE = {"cortex-m4": 4, "cortex-m7": 4, "cortex-m33": 4, "cortex-m55": 8}


def fast_channel_multiple(core: str) -> int:
    """The channel multiple that keeps a layer on its core's fast path (1 when none matters, e.g.
    the host): hardware-aware factorization rounds ranks to it."""
    return _FAST_MULTIPLE.get(core, 1)

