"""Reference inference: the oracles our generated C is tested against.

Two interpreters run a full-integer .tflite on the host:

* **TFLM** (``tflite_micro.runtime``): the TensorFlow Lite Micro host interpreter, i.e. the same
  reference kernels that run on a microcontroller. The firmware is bit-exact against this one.
* **LiteRT reference** (``ai_edge_litert`` with ``OpResolverType.BUILTIN_REF``): TensorFlow Lite's
  portable reference kernels (no XNNPACK, no optimized kernels).

They agree on almost everything; :func:`compare_oracles` reports where they do not, down to the
operator where a difference first appears (see docs/reference-oracles.md for why).

Input convention (all runners): for a model input of shape ``(1, *S)`` pass an array of shape
``(N, *S)`` (N samples; the model's batch axis carries the sample index), or a list of such
arrays, one per model input, for multi-input models. For a single-input model a list of
per-sample arrays is also accepted. Outputs come back the same way: one array ``(N, *S_out)``
per model output. A model whose leading dimension is not 1 gets a new leading sample axis.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError, MalformedModelError, UnsupportedOpError
from edgefact.export.tflite_model import TFLiteModel, load_tflite

ModelLike = bytes | bytearray | memoryview | str | os.PathLike[str]
InputsLike = np.ndarray | Sequence[np.ndarray]

# --------------------------------------------------------------------------------------------
# Model bytes, validation and I/O description
# --------------------------------------------------------------------------------------------


def load_model_bytes(model: ModelLike) -> bytes:
    """Return the model's bytes from bytes or a path, with a clear error for a missing file."""
    if isinstance(model, bytes | bytearray | memoryview):
        return bytes(model)
    path = Path(model)
    if not path.is_file():
        raise EdgefactError(f"model file not found: {path} (give the path of an existing .tflite file)")
    return path.read_bytes()


def _parse(data: bytes) -> TFLiteModel:
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


def _op_names(model: TFLiteModel) -> list[str]:
    return [f"CUSTOM:{op.custom_code}" if op.name == "CUSTOM" else op.name for op in model.operators]


def model_io_quant(model: ModelLike) -> ModelIO:
    """Input/output shapes, dtypes, scales and zero points, and the operator list of a model."""
    return _io_from(_parse(load_model_bytes(model)))


# --------------------------------------------------------------------------------------------
# Input normalisation
# --------------------------------------------------------------------------------------------


def _sample_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Per-sample shape in the batched form: the batch axis of a batch-1 model carries samples."""
    return shape[1:] if len(shape) >= 1 and shape[0] == 1 else shape


def _to_batch(arr: np.ndarray, tio: TensorIO) -> np.ndarray:
    ss = _sample_shape(tio.shape)
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


# --------------------------------------------------------------------------------------------
# C-level output capture (TFLM prints with fprintf/printf, not through Python's sys.stderr)
# --------------------------------------------------------------------------------------------


class _Captured:
    text: str = ""


def _c_fflush() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def capture_c_output() -> Iterator[_Captured]:
    """Redirect file descriptors 1 and 2 into a temporary file; ``.text`` holds it afterwards."""
    result = _Captured()
    sys.stdout.flush()
    sys.stderr.flush()
    _c_fflush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        try:
            for fd in (1, 2):
                os.dup2(tmp.fileno(), fd)
            yield result
        finally:
            _c_fflush()
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, s in saved.items():
                os.dup2(s, fd)
                os.close(s)
            tmp.seek(0)
            result.text = tmp.read().decode("utf-8", errors="replace")


# --------------------------------------------------------------------------------------------
# TFLM
# --------------------------------------------------------------------------------------------


def _tensor_bytes(model: TFLiteModel) -> int:
    return sum(max(t.size, 1) * 8 for t in model.tensors)  # 8: upper bound on the element size


def _default_arena(data: bytes, model: TFLiteModel) -> int:
    """An arena that is certainly large enough (the interpreter only uses what it needs)."""
    return len(data) + _tensor_bytes(model) + (1 << 20)


def _make_tflm(
    data: bytes, model: TFLiteModel, arena_size: int | None = None, preserve_all: bool = False
) -> Any:
    from tflite_micro import runtime

    cfg = (
        runtime.InterpreterConfig.kPreserveAllTensors
        if preserve_all
        else runtime.InterpreterConfig.kAllocationRecording
    )
    size = arena_size if arena_size is not None else _default_arena(data, model)
    with capture_c_output() as cap:
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
                f"operators: {', '.join(_op_names(model))}"
            )
        raise EdgefactError(f"TFLM could not prepare the model ({err}): {log or 'no log'}")
    return interp


def run_tflm(model: ModelLike, inputs: InputsLike, arena_size: int | None = None) -> list[np.ndarray]:
    """Run every sample through one TFLM host interpreter; one ``(N, ...)`` array per output."""
    data = load_model_bytes(model)
    m = _parse(data)
    io = _io_from(m)
    batches, n = normalize_inputs(io, inputs)
    interp = _make_tflm(data, m, arena_size)
    outs = [np.empty((n, *_sample_shape(t.shape)), t.dtype) for t in io.outputs]
    for i in range(n):
        for k, (b, t) in enumerate(zip(batches, io.inputs, strict=True)):
            interp.set_input(b[i].reshape(t.shape), k)
        interp.invoke()
        for k, t in enumerate(io.outputs):
            outs[k][i] = np.asarray(interp.get_output(k)).reshape(_sample_shape(t.shape))
    return outs


def _io_from(m: TFLiteModel) -> ModelIO:
    return ModelIO(
        inputs=tuple(_tensor_io(m, i) for i in m.inputs),
        outputs=tuple(_tensor_io(m, i) for i in m.outputs),
        ops=tuple(_op_names(m)),
    )


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
    m = _parse(data)
    io = _io_from(m)
    interp = _make_tflm(data, m)
    for k, t in enumerate(io.inputs):
        interp.set_input(np.zeros(t.shape, t.dtype), k)
    interp.invoke()
    with capture_c_output() as cap:
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
        _make_tflm(data, m, arena_size=size)
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


# --------------------------------------------------------------------------------------------
# LiteRT reference kernels
# --------------------------------------------------------------------------------------------


def _make_litert(data: bytes, m: TFLiteModel, preserve_all: bool = False) -> Any:
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
                f"{', '.join(_op_names(m))}"
            ) from None
        raise MalformedModelError(
            f"LiteRT rejected the model: {msg.strip()}; re-export the .tflite file"
        ) from None
    return interp


def run_litert_ref(model: ModelLike, inputs: InputsLike) -> list[np.ndarray]:
    """Run every sample through LiteRT with the reference op resolver (BUILTIN_REF)."""
    data = load_model_bytes(model)
    m = _parse(data)
    io = _io_from(m)
    batches, n = normalize_inputs(io, inputs)
    interp = _make_litert(data, m)
    outs = [np.empty((n, *_sample_shape(t.shape)), t.dtype) for t in io.outputs]
    for i in range(n):
        for b, t in zip(batches, io.inputs, strict=True):
            interp.set_tensor(t.index, b[i].reshape(t.shape))
        interp.invoke()
        for k, t in enumerate(io.outputs):
            outs[k][i] = interp.get_tensor(t.index).reshape(_sample_shape(t.shape))
    return outs


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------


@dataclass
class TensorDiff:
    """Differences on one tensor produced by an operator, over all samples."""

    tensor_index: int
    name: str
    op_index: int
    op_type: str
    n_elements: int  # per sample times samples
    n_differ: int
    max_abs_lsb: int
    samples_differ: int
    origin_samples: int = 0  # samples where this op's output differs although its inputs agreed

    @property
    def equal(self) -> bool:
        return self.n_differ == 0


@dataclass
class OracleDiff:
    """TFLM vs LiteRT reference on the same inputs."""

    n_samples: int
    outputs: list[TensorDiff]
    tensors: list[TensorDiff] = field(default_factory=list)  # every op output (if requested)
    # tensor index -> (TFLM values, LiteRT values), each (N, *shape), with keep_values=True
    values: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    @property
    def equal(self) -> bool:
        return all(d.equal for d in self.outputs) and all(d.equal for d in self.tensors)

    def origin_op_types(self) -> dict[str, int]:
        """Op type -> number of (op, sample) pairs where a difference first appears."""
        out: dict[str, int] = {}
        for d in self.tensors:
            if d.origin_samples:
                out[d.op_type] = out.get(d.op_type, 0) + d.origin_samples
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures for a report: how far LiteRT's reference is from TFLM on these inputs."""
        return {
            "reference": "tflm",
            "other": "litert-builtin-ref",
            "inputs": self.n_samples,
            "output_elements": sum(d.n_elements for d in self.outputs),
            "output_elements_differing": sum(d.n_differ for d in self.outputs),
            "max_abs_lsb": max((d.max_abs_lsb for d in self.outputs), default=0),
            "origin_ops": self.origin_op_types(),
        }

    def summary(self) -> str:
        lines = [f"{self.n_samples} samples"]
        for d in self.outputs:
            lines.append(
                f"output {d.name!r} (from {d.op_type}): {d.n_differ}/{d.n_elements} elements differ "
                f"in {d.samples_differ} samples, max {d.max_abs_lsb} LSB"
            )
        origins = self.origin_op_types()
        if origins:
            lines.append(
                "differences originate in: " + ", ".join(f"{k} x{v}" for k, v in sorted(origins.items()))
            )
        return "\n".join(lines)


def _producers(m: TFLiteModel) -> dict[int, tuple[int, str]]:
    names = _op_names(m)
    return {t: (op.index, names[op.index]) for op in m.operators for t in op.outputs}


def _diff(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    """(elements differing, max |a-b| in units of the integer type, samples differing)."""
    if np.issubdtype(a.dtype, np.floating):
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        differ = d > 0
        maxd = float(d.max()) if d.size else 0.0
        return int(differ.sum()), int(np.ceil(maxd)), int(differ.reshape(len(a), -1).any(axis=1).sum())
    d = np.abs(a.astype(np.int64) - b.astype(np.int64))
    differ = d > 0
    return int(differ.sum()), int(d.max()) if d.size else 0, int(differ.reshape(len(a), -1).any(axis=1).sum())


def compare_oracles(
    model: ModelLike, inputs: InputsLike, intermediates: bool = True, keep_values: bool = False
) -> OracleDiff:
    """Run TFLM and LiteRT-reference on the same inputs and report every difference.

    With ``intermediates`` both interpreters keep all tensors, every operator output is compared
    per sample, and an operator is marked as an *origin* of a difference in a sample when its
    output differs there while all its non-constant inputs were identical. ``keep_values`` also
    returns the compared tensors (and the model inputs) of both interpreters in ``values``.
    """
    data = load_model_bytes(model)
    m = _parse(data)
    io = _io_from(m)
    batches, n = normalize_inputs(io, inputs)
    prod = _producers(m)
    tflm = _make_tflm(data, m, preserve_all=intermediates)
    lite = _make_litert(data, m, preserve_all=intermediates)
    ops = m.operators
    op_out = [t for op in ops for t in op.outputs]
    watch = (
        sorted(set(op_out) | {t.index for t in io.outputs})
        if intermediates
        else [t.index for t in io.outputs]
    )
    if intermediates and keep_values:
        watch = sorted(set(watch) | {t.index for t in io.inputs})
    res_a: dict[int, list[np.ndarray]] = {t: [] for t in watch}
    res_b: dict[int, list[np.ndarray]] = {t: [] for t in watch}
    origin: dict[int, int] = {}
    for i in range(n):
        for k, (b, t) in enumerate(zip(batches, io.inputs, strict=True)):
            x = b[i].reshape(t.shape)
            tflm.set_input(x, k)
            lite.set_tensor(t.index, x)
        tflm.invoke()
        lite.invoke()
        sample_eq: dict[int, bool] = {}
        for tidx in watch:
            if intermediates:
                a = np.asarray(tflm.GetTensor(tidx, 0)["tensor_data"])
            else:
                a = np.asarray(tflm.get_output([t.index for t in io.outputs].index(tidx)))
            b2 = lite.get_tensor(tidx)
            a = a.reshape(b2.shape)
            res_a[tidx].append(a.copy())
            res_b[tidx].append(b2.copy())
            sample_eq[tidx] = bool(np.array_equal(a, b2))
        if intermediates:
            for op in ops:
                outs_ = list(op.outputs)
                if all(sample_eq.get(t, True) for t in outs_):
                    continue
                ins = [t for t in op.inputs if t >= 0]
                if all(sample_eq.get(t, True) for t in ins):
                    for t in outs_:
                        if not sample_eq.get(t, True):
                            origin[t] = origin.get(t, 0) + 1

    def make(tidx: int) -> TensorDiff:
        a = np.stack(res_a[tidx])
        b = np.stack(res_b[tidx])
        nd, mx, sd = _diff(a, b)
        op_i, op_t = prod.get(tidx, (-1, "INPUT"))
        return TensorDiff(tidx, m.tensor(tidx).name, op_i, op_t, int(a.size), nd, mx, sd, origin.get(tidx, 0))

    outputs = [make(t.index) for t in io.outputs]
    tensors = [make(t) for t in watch if t in prod] if intermediates else []
    values = {t: (np.stack(res_a[t]), np.stack(res_b[t])) for t in watch} if keep_values else {}
    return OracleDiff(n, outputs, tensors, values)


# --------------------------------------------------------------------------------------------
# Real inputs from a data set
# --------------------------------------------------------------------------------------------


def real_samples(
    model: ModelLike,
    dataset: Any,
    n: int = 200,
    split: str = "test",
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """The first ``n`` samples of a data set's split, as the model's input, and their labels.

    ``dataset`` is a name or path understood by ``edgefact.pipeline.data.load_dataset`` or a
    loaded ``Dataset``. Images (NCHW float in [0, 1]) are normalized with ``mean``/``std``
    (default: the data set's training statistics, which is what ``edgefact train`` uses; pass a
    checkpoint's values if they differ), moved to NHWC and quantized with the model's input scale
    and zero point (nearest, ties to even, saturating). Returns ``([x], labels)`` with ``x`` of
    shape ``(n, H, W, C)``: the input form every runner here accepts.
    """
    from edgefact.pipeline.data import Dataset, load_dataset, normalize

    ds = dataset if isinstance(dataset, Dataset) else load_dataset(str(dataset))
    if split not in ("train", "test"):
        raise EdgefactError(f"unknown split {split!r}; use 'train' or 'test'")
    x_all = ds.x_test if split == "test" else ds.x_train
    y_all = ds.y_test if split == "test" else ds.y_train
    io = model_io_quant(model)
    if len(io.inputs) != 1:
        raise EdgefactError(f"real inputs need a single-input model; this one has {len(io.inputs)} inputs")
    t = io.inputs[0]
    c, h, w = (int(d) for d in x_all.shape[1:])
    if t.shape != (1, h, w, c):
        raise EdgefactError(
            f"data set {ds.name!r} has {h}x{w}x{c} (HxWxC) samples but the model input is {list(t.shape)}; "
            "use the data set the model was trained on"
        )
    if n < 1 or n > len(x_all):
        raise EdgefactError(f"asked for {n} samples; the {split} split of {ds.name!r} has {len(x_all)}")
    x = normalize(x_all[:n], mean if mean is not None else ds.mean, std if std is not None else ds.std)
    x = np.ascontiguousarray(np.transpose(x, (0, 2, 3, 1)))
    x = t.quantize(x) if np.issubdtype(t.dtype, np.integer) else x.astype(t.dtype)
    return [x], np.asarray(y_all[:n])


def real_inputs_for(model: ModelLike, dataset: Any, n: int = 200, split: str = "test") -> list[np.ndarray]:
    """Real samples of ``dataset`` ready for :func:`run_tflm` and the firmware (see :func:`real_samples`)."""
    return real_samples(model, dataset, n, split)[0]
