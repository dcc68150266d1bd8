"""The LiteRT oracle: ``ai_edge_litert`` with ``OpResolverType.BUILTIN_REF``.

TensorFlow Lite's portable reference kernels (no XNNPACK, no optimized kernels). They differ
from TFLM only in FULLY_CONNECTED rounding (docs/reference-oracles.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgefact.errors import MalformedModelError, UnsupportedOpError
from edgefact.export.reference.modelio import InputsLike, ModelLike, op_names, prepare_run, sample_shape
from edgefact.export.tflite_model import TFLiteModel


def make_litert(data: bytes, m: TFLiteModel, preserve_all: bool = False) -> Any:
    """A LiteRT interpreter on the reference kernels, tensors allocated."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interp = Interpreter(
            model_content=data,
            experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
            experimental_preserve_all_tensors=preserve_all,
            num_threads=1,
        )
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        msg = str(exc)
        if "op" in msg.lower() and ("registration" in msg.lower() or "not supported" in msg.lower()):
            raise UnsupportedOpError(
                f"LiteRT reference kernels cannot run this model: {msg.strip()}; operators: "
                f"{', '.join(op_names(m))}"
            ) from None
        raise MalformedModelError(
            f"LiteRT rejected the model: {msg.strip()}; re-export the .tflite file"
        ) from None
    return interp


def run_litert_ref(model: ModelLike, inputs: InputsLike) -> list[np.ndarray]:
    """Run every sample through LiteRT with the reference op resolver (BUILTIN_REF)."""
    run = prepare_run(model, inputs)
    interp = make_litert(run.data, run.model)
    outs = run.empty_outputs()
    for i in range(run.n):
        for b, t in zip(run.batches, run.io.inputs, strict=True):
            interp.set_tensor(t.index, b[i].reshape(t.shape))
        interp.invoke()
        for k, t in enumerate(run.io.outputs):
            outs[k][i] = interp.get_tensor(t.index).reshape(sample_shape(t.shape))
    return outs
