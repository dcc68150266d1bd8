"""TFLM's arena use for a model: the figure our memory planner is compared with."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export.reference.modelio import ModelLike, io_of, load_model_bytes, parse_model
from edgefact.export.reference.tflm import make_tflm
from edgefact.export.tflite_model import TFLiteModel
from edgefact.stdio import capture_output


@dataclass(frozen=True)
class TflmArena:
    """TFLM's arena use for a model, as printed by its RecordingMicroAllocator (host build).

    ``total`` = ``head`` (the non-persistent area holding all activation tensors and scratch
    buffers, planned by TFLM's greedy planner) + ``tail`` (persistent: TfLiteEvalTensor structs,
    quantization data, per-op persistent buffers, node structs). ``minimal`` is the smallest
    ``arena_size`` with which the interpreter allocates (bisection), or None if not searched.
    The host build has 64-bit pointers, so ``tail`` is somewhat larger than on a Cortex-M; ``head``
    is the same on both.
    """

    total: int
    head: int
    tail: int
    minimal: int | None = None


def _parse_allocations(text: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in text.splitlines():
        for key in ("total", "head", "tail"):
            marker = f"Arena allocation {key} "
            if marker in line:
                with contextlib.suppress(ValueError):
                    found[key] = int(line.split(marker, 1)[1].split()[0])
    return found


def tflm_arena(model: ModelLike, find_minimal: bool = False) -> TflmArena:
    """Measure TFLM's arena for a model (one invoke on zero inputs, then ``print_allocations``)."""
    data = load_model_bytes(model)
    m = parse_model(data)
    io = io_of(m)
    interp = make_tflm(data, m)
    for k, t in enumerate(io.inputs):
        interp.set_input(np.zeros(t.shape, t.dtype), k)
    interp.invoke()
    with capture_output() as cap:
        interp.print_allocations()
    vals = _parse_allocations(cap.text)
    if "total" not in vals:
        raise EdgefactError(
            "could not read TFLM's arena size: print_allocations() printed no 'Arena allocation total' "
            f"line (got {cap.text[:200]!r}); check the tflite-micro version in requirements.lock"
        )
    minimal = _minimal_arena(data, m, vals["total"]) if find_minimal else None
    return TflmArena(vals["total"], vals.get("head", 0), vals.get("tail", 0), minimal)


def _allocates(data: bytes, m: TFLiteModel, size: int) -> bool:
    try:
        make_tflm(data, m, arena_size=size)
    except EdgefactError:
        return False
    return True


def _minimal_arena(data: bytes, m: TFLiteModel, total: int) -> int:
    hi = total
    step = 64
    while not _allocates(data, m, hi):  # alignment of the arena start can need a little more
        hi += step
        step *= 2
    lo = 0  # known failing
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _allocates(data, m, mid):
            hi = mid
        else:
            lo = mid
    return hi


def tflm_arena_bytes(model: ModelLike) -> int:
    """TFLM's total arena use ("Arena allocation total N bytes" of ``print_allocations``).

    This is the figure TFLM users size ``kTensorArenaSize`` from, and the one the memory planner
    is compared with. See :class:`TflmArena` for the head/tail split.
    """
    return tflm_arena(model).total
