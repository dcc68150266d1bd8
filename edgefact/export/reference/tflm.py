"""The TFLM oracle: TensorFlow Lite Micro's host interpreter (``tflite_micro.runtime``).

These are the reference kernels that run on a microcontroller; the generated C is bit-exact
against them. TFLM reports errors with ``printf`` from C++, so interpreter creation runs inside
:func:`edgefact.stdio.capture_output` and the log goes into the raised error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgefact.errors import EdgefactError, UnsupportedOpError
from edgefact.export.reference.modelio import InputsLike, ModelLike, op_names, prepare_run, sample_shape
from edgefact.export.tflite_model import TFLiteModel
from edgefact.stdio import capture_output


def _tensor_bytes(model: TFLiteModel) -> int:
    return sum(max(t.size, 1) * 8 for t in model.tensors)  # 8: upper bound on the element size


def default_arena(data: bytes, model: TFLiteModel) -> int:
    """An arena that is certainly large enough (the interpreter only uses what it needs)."""
    return len(data) + _tensor_bytes(model) + (1 << 20)


def make_tflm(
    data: bytes, model: TFLiteModel, arena_size: int | None = None, preserve_all: bool = False
) -> Any:
    """A TFLM interpreter for validated model bytes (UnsupportedOpError / EdgefactError with TFLM's log)."""
    from tflite_micro import runtime

    cfg = (
        runtime.InterpreterConfig.kPreserveAllTensors
        if preserve_all
        else runtime.InterpreterConfig.kAllocationRecording
    )
    size = arena_size if arena_size is not None else default_arena(data, model)
    with capture_output() as cap:
        try:
            interp = runtime.Interpreter.from_bytes(data, arena_size=size, intrepreter_config=cfg)
        except RuntimeError as exc:
            err: RuntimeError | None = exc
        else:
            err = None
    if err is not None:
        log = cap.text.strip()
        if "Didn't find op" in log or "Failed to get registration" in log:
            raise UnsupportedOpError(
                f"TFLM cannot run this model: {log.splitlines()[0] if log else err}; "
                f"operators: {', '.join(op_names(model))}"
            )
        raise EdgefactError(f"TFLM could not prepare the model ({err}): {log or 'no log'}")
    return interp


def run_tflm(model: ModelLike, inputs: InputsLike, arena_size: int | None = None) -> list[np.ndarray]:
    """Run every sample through one TFLM host interpreter; one ``(N, ...)`` array per output."""
    run = prepare_run(model, inputs)
    interp = make_tflm(run.data, run.model, arena_size)
    outs = run.empty_outputs()
    for i in range(run.n):
        for k, (b, t) in enumerate(zip(run.batches, run.io.inputs, strict=True)):
            interp.set_input(b[i].reshape(t.shape), k)
        interp.invoke()
        for k, t in enumerate(run.io.outputs):
            outs[k][i] = np.asarray(interp.get_output(k)).reshape(sample_shape(t.shape))
    return outs
