"""Bit-exactness of a firmware run: its logged outputs against the TFLM interpreter on the host.

The application (:mod:`edgefact.pipeline.app`) logs, per model, a CRC-32 of the outputs of all
its embedded inputs and, optionally, the outputs themselves; TFLM on the same inputs gives the
reference. Outputs are compared as the firmware stores them: every model output of a sample back
to back, samples one after the other.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export.codegen import GeneratedModel
from edgefact.pipeline.app import np_type


def crc32_hex(data: bytes) -> str:
    return f"{zlib.crc32(data) & 0xFFFFFFFF:08x}"


def tflm_outputs(path: Path, gen: GeneratedModel, inputs: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """TFLM's outputs for ``inputs``, flat per sample (N, OUTPUT_SIZE) in the firmware's layout."""
    from edgefact.export.reference import run_tflm

    g = gen.graph
    dt = np_type(g.tensors[g.outputs[0]].type_name)
    refs = run_tflm(path, list(inputs) if isinstance(inputs, list | tuple) else inputs)
    n = len(refs[0])
    return np.concatenate([np.ascontiguousarray(r, dtype=dt).reshape(n, -1) for r in refs], axis=1)


def logged_output_bytes(result: Any, name: str = "outputs") -> bytes | None:
    """The raw bytes of the outputs the firmware logged under ``name``, or None."""
    outs = result.log.outputs().get(name) if callable(getattr(result.log, "outputs", None)) else None
    if outs is None:
        return None
    return np.asarray(outs, dtype=np.int64).astype(np.int8).tobytes()


def device_outputs(gen: GeneratedModel, n_inputs: int, result: Any) -> np.ndarray | None:
    """The outputs the firmware logged, shaped (N, *output shape without batch), or None."""
    raw = logged_output_bytes(result)
    if raw is None:
        return None
    g = gen.graph
    tout = g.tensors[g.outputs[0]]
    values = np.frombuffer(raw, dtype=np_type(tout.type_name))
    if len(g.outputs) > 1:
        return values.reshape(n_inputs, -1)  # outputs back to back per sample
    shape = [int(d) for d in tout.shape]
    if shape and shape[0] == 1:
        shape = shape[1:]
    return values.reshape(n_inputs, *shape)


def compare_with_tflm(path: Path, gen: GeneratedModel, inputs: np.ndarray | list[np.ndarray],
                      result: Any) -> dict[str, Any]:
    """Compare the firmware's logged outputs (or, failing that, its CRC) with TFLM's: the report's
    ``bitexact`` object."""
    ref = tflm_outputs(path, gen, inputs)
    n = len(ref)
    want_crc = crc32_hex(ref.tobytes())
    got_crc = result.log.checksums.get("outputs")
    raw = logged_output_bytes(result)
    mismatches = 0
    if raw is not None:
        got_arr = np.frombuffer(raw, dtype=ref.dtype)
        if got_arr.size != ref.size:
            raise EdgefactError(f"the firmware logged {got_arr.size} output values, expected {ref.size}")
        got_arr = got_arr.reshape(ref.shape)
        mismatches = int(np.sum(got_arr != ref))
    equal = got_crc is not None and got_crc.lower() == want_crc and mismatches == 0
    if got_crc is None:
        raise EdgefactError("the firmware log has no 'outputs' checksum record; the run was incomplete")
    if not equal and raw is None:
        mismatches = -1
    return {"reference": "tflm", "inputs": int(n), "equal": bool(equal), "mismatches": max(mismatches, 0),
            "checksum": got_crc, "reference_checksum": want_crc}
