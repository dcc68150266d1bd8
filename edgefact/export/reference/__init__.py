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

This package's namespace is the public API; the submodules are the implementation.
"""

from edgefact.export.reference.arena import TflmArena, tflm_arena, tflm_arena_bytes
from edgefact.export.reference.diff import OracleDiff, TensorDiff, compare_oracles
from edgefact.export.reference.litert import run_litert_ref
from edgefact.export.reference.modelio import (
    InputsLike,
    ModelIO,
    ModelLike,
    TensorIO,
    load_model_bytes,
    model_io_quant,
    normalize_inputs,
)
from edgefact.export.reference.tflm import run_tflm

__all__ = [
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
