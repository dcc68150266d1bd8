"""Reference inference: the oracles our generated C is tested against.

Two interpreters run a full-integer .tflite on the host:

* **TFLM** (:mod:`.tflm`, ``tflite_micro.runtime``): the TensorFlow Lite Micro host interpreter,
  i.e. the same reference kernels that run on a microcontroller. The firmware is bit-exact
  against this one. :mod:`.arena` measures its tensor arena.
* **LiteRT reference** (:mod:`.litert`, ``ai_edge_litert`` with ``OpResolverType.BUILTIN_REF``):
  TensorFlow Lite's portable reference kernels (no XNNPACK, no optimized kernels).

They agree on almost everything; :func:`compare_oracles` (:mod:`.diff`) reports where they do
not, down to the operator where a difference first appears (docs/reference-oracles.md).
:mod:`.modelio` holds the model's I/O description, quantization and the input convention shared
by every runner. Real inputs from a data set are :mod:`edgefact.pipeline.samples`.

This package's namespace is the public API; the submodules are the implementation. The public
functions run the interpreters in a child process (:mod:`.contained`), so a crash inside TFLM or
LiteRT becomes an :class:`OracleCrashError` instead of killing edgefact.
"""

from typing import Any

import numpy as np

from edgefact.export.reference import arena as _arena
from edgefact.export.reference import diff as _diff
from edgefact.export.reference import litert as _litert
from edgefact.export.reference import tflm as _tflm
from edgefact.export.reference.arena import TflmArena
from edgefact.export.reference.contained import OracleCrashError, OracleRunError, call
from edgefact.export.reference.diff import OracleDiff, TensorDiff
from edgefact.export.reference.modelio import (
    InputsLike,
    ModelIO,
    ModelLike,
    TensorIO,
    load_model_bytes,
    model_io_quant,
    normalize_inputs,
)


def run_tflm(model: ModelLike, inputs: InputsLike, arena_size: int | None = None) -> list[np.ndarray]:
    """TFLM on every sample (:func:`.tflm.run_tflm`), in the contained worker process."""
    return call("TFLM", _tflm.run_tflm, model, inputs, arena_size)


def run_litert_ref(model: ModelLike, inputs: InputsLike) -> list[np.ndarray]:
    """LiteRT's reference kernels on every sample (:func:`.litert.run_litert_ref`), contained."""
    return call("LiteRT", _litert.run_litert_ref, model, inputs)


def tflm_arena(model: ModelLike, find_minimal: bool = False) -> TflmArena:
    """TFLM's tensor arena (:func:`.arena.tflm_arena`), contained."""
    return call("TFLM", _arena.tflm_arena, model, find_minimal)


def tflm_arena_bytes(model: ModelLike) -> int:
    """TFLM's "Arena allocation total" (:func:`.arena.tflm_arena_bytes`), contained."""
    return call("TFLM", _arena.tflm_arena_bytes, model)


def compare_oracles(model: ModelLike, inputs: InputsLike, **kwargs: Any) -> OracleDiff:
    """Where TFLM and LiteRT differ (:func:`.diff.compare_oracles`), contained."""
    return call("TFLM/LiteRT", _diff.compare_oracles, model, inputs, **kwargs)


__all__ = [
    "OracleCrashError",
    "OracleRunError",
    "InputsLike",
    "ModelIO",
    "ModelLike",
    "OracleDiff",
    "TensorDiff",
    "TensorIO",
    "TflmArena",
    "compare_oracles",
    "load_model_bytes",
    "model_io_quant",
    "normalize_inputs",
    "run_litert_ref",
    "run_tflm",
    "tflm_arena",
    "tflm_arena_bytes",
]
