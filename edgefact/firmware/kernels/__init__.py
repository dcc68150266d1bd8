"""The edgefact int8 kernel library (C99): where its sources are and how much scratch it needs.

The C API is ``include/ef_nn.h``; the semantics are documented in ``docs/kernels.md``.
"""

from __future__ import annotations

from pathlib import Path

from edgefact.errors import EdgefactError

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


def buffer_size(op: str, *, kernel_h: int = 1, kernel_w: int = 1, filter_c: int = 1,
                input_c: int = 1) -> int:
    """Scratch bytes a kernel needs, the Python mirror of ``ef_<op>_s8_get_buffer_size``.

    Only CONV_2D takes scratch: two int16 columns (kh*kw*filter_c values each; the DSP path
    computes two output pixels per pass, the other paths use the first), except for the ungrouped 1x1 case (a plain matrix product, no scratch;
    TFLite never pads a 1x1 convolution). Every other op needs none.
    """
    name = op.upper()
    if name == "CONV_2D":
        if kernel_h == 1 and kernel_w == 1 and filter_c == input_c:
            return 0
        return 4 * kernel_h * kernel_w * filter_c
    if name in KNOWN_OPS:
        return 0
    raise EdgefactError(f"unknown op {op!r} for buffer_size; known: {', '.join(sorted(KNOWN_OPS | {'CONV_2D'}))}")


KNOWN_OPS = frozenset({
    "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "MUL",
    "MEAN", "PAD", "RESHAPE", "CONCATENATION", "SOFTMAX", "QUANTIZE", "DEQUANTIZE",
})


def kernel_headers() -> list[Path]:
    """Every header of the library (public and ``internal/``), for build-cache keys."""
    return sorted(kernel_include_dir().rglob("*.h"))
