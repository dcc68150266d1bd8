"""A model's inputs and outputs as the oracles see them: bytes, quantization, batched inputs.

Input convention (every oracle runner): for a model input of shape ``(1, *S)`` pass an array of
shape ``(N, *S)`` (N samples; the model's batch axis carries the sample index), or a list of such
arrays, one per model input, for multi-input models. For a single-input model a list of
per-sample arrays is also accepted. Outputs come back the same way: one array ``(N, *S_out)``
per model output. A model whose leading dimension is not 1 gets a new leading sample axis.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgefact.errors import EdgefactError, UnsupportedOpError
from edgefact.export.tflite_model import TFLiteModel, load_tflite

ModelLike = bytes | bytearray | memoryview | str | os.PathLike[str]
InputsLike = np.ndarray | Sequence[np.ndarray]


def load_model_bytes(model: ModelLike) -> bytes:
    """Return the model's bytes from bytes or a path, with a clear error for a missing file."""
    if isinstance(model, bytes | bytearray | memoryview):
        return bytes(model)
    path = Path(model)
    if not path.is_file():
        raise EdgefactError(f"model file not found: {path} (give the path of an existing .tflite file)")
    return path.read_bytes()


def parse_model(data: bytes) -> TFLiteModel:
    """Read and validate the model with the project's reader (MalformedModelError on bad bytes).

    The C++ interpreters do not all verify the flatbuffer; a truncated file could crash the
    process, so every model goes through the validating reader first.
    """
    return load_tflite(data)


_DTYPES: dict[str, type[np.generic]] = {
    "INT8": np.int8,
    "UINT8": np.uint8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FLOAT32": np.float32,
    "BOOL": np.bool_,
}


@dataclass(frozen=True)
class TensorIO:
    """One model input or output: what to feed or expect."""

    index: int  # tensor index in subgraph 0
    name: str
    shape: tuple[int, ...]
    dtype: type[np.generic]
    scale: float | None  # None for a non-quantized tensor
    zero_point: int | None

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Quantize real values to this tensor's integer type (nearest, ties to even; saturating)."""
        if self.scale is None or self.zero_point is None:
            raise EdgefactError(
                f"tensor {self.name!r} is not quantized; feed {np.dtype(self.dtype).name} values"
            )
        info = np.iinfo(self.dtype)
        q = np.round(np.asarray(x, np.float64) / self.scale) + self.zero_point
        return np.clip(q, info.min, info.max).astype(self.dtype)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        """Real values of quantized data (float32)."""
        if self.scale is None or self.zero_point is None:
            return np.asarray(q, np.float32)
        return ((np.asarray(q, np.int32) - self.zero_point) * self.scale).astype(np.float32)


@dataclass(frozen=True)
class ModelIO:
    """Inputs, outputs and operator list (execution order) of a model's main subgraph."""

    inputs: tuple[TensorIO, ...]
    outputs: tuple[TensorIO, ...]
    ops: tuple[str, ...]


def _tensor_io(model: TFLiteModel, tidx: int) -> TensorIO:
    t = model.tensor(tidx)
    dtype = _DTYPES.get(t.type_name)
    if dtype is None:
        raise UnsupportedOpError(
            f"model input/output tensor {tidx} ({t.name!r}) has type {t.type_name}; the oracles support "
            f"{', '.join(sorted(_DTYPES))}"
        )
    scale = zp = None
    if t.quantization is not None:
        scale = float(t.quantization.scales[0])
        zp = int(t.quantization.zero_points[0])
    return TensorIO(tidx, t.name, t.shape, dtype, scale, zp)


def op_names(model: TFLiteModel) -> list[str]:
    """Operator names in execution order, custom operators as ``CUSTOM:<code>``."""
    return [f"CUSTOM:{op.custom_code}" if op.name == "CUSTOM" else op.name for op in model.operators]


def io_of(m: TFLiteModel) -> ModelIO:
    """The :class:`ModelIO` of a parsed model."""
    return ModelIO(
        inputs=tuple(_tensor_io(m, i) for i in m.inputs),
        outputs=tuple(_tensor_io(m, i) for i in m.outputs),
        ops=tuple(op_names(m)),
    )


def model_io_quant(model: ModelLike) -> ModelIO:
    """Input/output shapes, dtypes, scales and zero points, and the operator list of a model."""
    return io_of(parse_model(load_model_bytes(model)))


def sample_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Per-sample shape in the batched form: the batch axis of a batch-1 model carries samples."""
    return shape[1:] if len(shape) >= 1 and shape[0] == 1 else shape


def _to_batch(arr: np.ndarray, tio: TensorIO) -> np.ndarray:
    ss = sample_shape(tio.shape)
    a = np.asarray(arr)
    if ss != tio.shape and (a.shape == tio.shape or a.shape[1:] == tio.shape):
        a = a.reshape((-1, *ss))  # one sample, or a stack of samples, with the model's batch axis
    elif a.shape == ss:  # one sample without a sample axis
        a = a.reshape((1, *ss))
    if a.shape[1:] != ss:
        raise EdgefactError(
            f"input {tio.name!r}: got an array of shape {tuple(np.asarray(arr).shape)}; expected "
            f"(N, {', '.join(map(str, ss))}) for N samples (model input shape {tio.shape})"
        )
    want = np.dtype(tio.dtype)
    if a.dtype != want:
        if np.issubdtype(want, np.integer) and np.issubdtype(a.dtype, np.integer):
            info = np.iinfo(want)
            if a.size and (a.min() < info.min or a.max() > info.max):
                raise EdgefactError(
                    f"input {tio.name!r}: values {a.min()}..{a.max()} do not fit {want.name}; "
                    f"quantize real inputs with scale {tio.scale} and zero point {tio.zero_point}"
                )
            a = a.astype(want)
        elif np.issubdtype(want, np.floating) and np.issubdtype(a.dtype, np.number):
            a = a.astype(want)
        else:
            raise EdgefactError(
                f"input {tio.name!r}: got {a.dtype.name} data, the model expects {want.name}; "
                f"quantize real inputs with scale {tio.scale} and zero point {tio.zero_point} "
                "(TensorIO.quantize)"
            )
    return np.ascontiguousarray(a)


def normalize_inputs(io: ModelIO, inputs: InputsLike) -> tuple[list[np.ndarray], int]:
    """Return one batched array ``(N, *S)`` per model input and the sample count N."""
    n_in = len(io.inputs)
    if isinstance(inputs, np.ndarray):
        parts: list[np.ndarray] = [inputs]
    else:
        parts = [np.asarray(x) for x in inputs]
    if n_in == 1 and len(parts) != 1:
        if not parts:
            raise EdgefactError("no input samples given; pass at least one input array")
        batches = [np.concatenate([_to_batch(p, io.inputs[0]) for p in parts], axis=0)]
    elif len(parts) != n_in:
        raise EdgefactError(
            f"the model has {n_in} inputs ({', '.join(t.name for t in io.inputs)}); got {len(parts)} "
            "arrays: pass a list with one (N, ...) array per model input"
        )
    else:
        batches = [_to_batch(p, t) for p, t in zip(parts, io.inputs, strict=True)]
    counts = {b.shape[0] for b in batches}
    if len(counts) != 1:
        raise EdgefactError(
            f"model inputs have different sample counts {sorted(counts)}; give each the same N"
        )
    n = counts.pop()
    if n == 0:
        raise EdgefactError("no input samples given; pass at least one input sample")
    return batches, n


@dataclass(frozen=True)
class PreparedRun:
    """A model read once for a run: its bytes, parsed form, I/O and batched inputs."""

    data: bytes
    model: TFLiteModel
    io: ModelIO
    batches: list[np.ndarray]
    n: int

    def empty_outputs(self) -> list[np.ndarray]:
        """One uninitialised ``(N, *S_out)`` array per model output."""
        return [np.empty((self.n, *sample_shape(t.shape)), t.dtype) for t in self.io.outputs]


def prepare_run(model: ModelLike, inputs: InputsLike) -> PreparedRun:
    """Read and validate ``model`` and bring ``inputs`` to the batched form of every runner."""
    data = load_model_bytes(model)
    m = parse_model(data)
    io = io_of(m)
    batches, n = normalize_inputs(io, inputs)
    return PreparedRun(data, m, io, batches, n)
