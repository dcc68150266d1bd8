"""Read a ``.tflite`` flatbuffer into plain Python objects.

Decoding uses the flatbuffer object API generated from TFLite's schema and shipped with
tflite-micro (``schema_py_generated``); nothing here parses the binary format by hand. This module
adds what the generated classes do not do: it validates the file (identifier, indices, string and
buffer bounds, UTF-8, dims, quantization), turns every decoding failure into
:class:`MalformedModelError`, resolves operator names (including the ``deprecated_builtin_code``
field of old files), decodes builtin options into a dict with snake_case keys and enum names, and
gives constant buffers as typed, shaped numpy arrays. The graph-level checks (acyclic, options
present, shapes agreeing with each operator) live in :mod:`edgefact.export.tflite_checks`.

``load_tflite`` lets no exception other than :class:`MalformedModelError` escape: an unexpected
failure while reading (a reader bug) is reported as one too, with its type named; the fuzz tests
call :func:`_load` directly so such a failure still shows up as a test failure.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgefact.errors import MalformedModelError
from edgefact.export import tflite_checks as checks

_FILE_IDENTIFIER = b"TFL3"

# TFLite TensorType name -> numpy dtype (types the code generator may meet; others keep None).
_NUMPY_DTYPES: dict[str, Any] = {
    "FLOAT32": np.float32,
    "FLOAT16": np.float16,
    "FLOAT64": np.float64,
    "INT8": np.int8,
    "UINT8": np.uint8,
    "INT16": np.int16,
    "UINT16": np.uint16,
    "INT32": np.int32,
    "UINT32": np.uint32,
    "INT64": np.int64,
    "UINT64": np.uint64,
    "BOOL": np.bool_,
}


def _schema() -> Any:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


def _enum_names(enum_cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


def _snake(name: str) -> str:
    """Object-API field name -> the schema's snake_case name (``dilationHFactor`` -> ``dilation_h_factor``)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", lambda m: "_" + m.group(0), name).lower()


@dataclass(frozen=True)
class Quantization:
    """Affine quantization: ``real = scale * (q - zero_point)``, per tensor or per channel."""

    scales: np.ndarray  # float32, length 1 (per tensor) or number of channels
    zero_points: np.ndarray  # int64, same length as scales
    quantized_dimension: int

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    type_name: str  # TFLite TensorType name, e.g. "INT8"
    buffer: int  # index into TFLiteModel.buffers (0 = no data)
    quantization: Quantization | None
    data: np.ndarray | None = None  # constant contents, typed and shaped, or None
    is_variable: bool = False
    shape_signature: tuple[int, ...] | None = None

    @property
    def dtype(self) -> np.dtype | None:
        t = _NUMPY_DTYPES.get(self.type_name)
        return np.dtype(t) if t is not None else None

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        dt = self.dtype
        if dt is None:
            raise MalformedModelError(f"tensor {self.index} '{self.name}' has type {self.type_name}, "
                                      "whose size is unknown to edgefact")
        return self.size * dt.itemsize


@dataclass
class Operator:
    index: int
    name: str  # builtin op name ("CONV_2D") or "CUSTOM"
    inputs: tuple[int, ...]  # tensor indices; -1 marks an omitted optional input
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    custom_code: str | None = None
    options_type: str | None = None  # BuiltinOptions table name, e.g. "Conv2DOptions"; None if absent


@dataclass
class TFLiteModel:
    tensors: list[Tensor]
    operators: list[Operator]  # execution order of the main subgraph
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    buffers: list[np.ndarray | None]  # raw bytes (uint8) of every buffer
    version: int
    description: str
    subgraph_count: int
    sha256: str
    model_bytes: bytes = field(repr=False, default=b"")

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def op_names(self) -> list[str]:
        return [op.name for op in self.operators]


def _read_bytes(path_or_bytes: str | os.PathLike[str] | bytes | bytearray | memoryview) -> bytes:
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        return bytes(path_or_bytes)
    path = Path(path_or_bytes)
    if not path.is_file():
        raise MalformedModelError(f"model file not found: {path} (give the path of a .tflite file)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MalformedModelError(f"cannot read model file {path}: {exc.strerror or exc}") from None


class _StrictBytes(bytes):
    """The file bytes as the flatbuffer decoder sees them: slicing past either end raises.

    The flatbuffers runtime reads strings with ``bytes(buf[start:start + length])``, which silently
    cuts a string whose length prefix runs past the end of the file (and wraps a negative start);
    here that is an error, turned into :class:`MalformedModelError` by the decode step. Every other
    read goes through ``struct.unpack_from`` / ``numpy.frombuffer``, which already raise.
    """

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            start, stop = key.start or 0, len(self) if key.stop is None else key.stop
            if start < 0 or stop > len(self) or stop < start:
                raise IndexError(f"byte range {start}..{stop} outside the {len(self)}-byte file")
        return super().__getitem__(key)


def _text(what: str, value: Any, default: str = "") -> str:
    """A flatbuffer string field as text; invalid UTF-8 is a malformed model."""
    if value is None:
        return default
    if isinstance(value, str):
        return value
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedModelError(f"malformed TFLite model: {what} is not valid UTF-8 ({exc.reason} at byte "
                                  f"{exc.start}: {bytes(value)[:40]!r}); re-export the model") from None


def _check_header(buf: bytes) -> None:
    if len(buf) < 8:
        raise MalformedModelError(f"not a TFLite model: only {len(buf)} bytes (a .tflite file starts "
                                  "with a 4-byte offset and the identifier 'TFL3'); re-export the model")
    if buf[4:8] != _FILE_IDENTIFIER:
        raise MalformedModelError(f"not a TFLite model: file identifier is {buf[4:8]!r}, expected "
                                  f"{_FILE_IDENTIFIER!r}; check the file is a .tflite flatbuffer")
    root = int.from_bytes(buf[0:4], "little")
    if root < 8 or root + 4 > len(buf):
        raise MalformedModelError(f"truncated or corrupted TFLite model: root table offset {root} "
                                  f"outside the {len(buf)}-byte file; re-export or re-copy the model")


def _decode_options(opts: Any, s: Any) -> dict[str, Any]:
    if opts is None:
        return {}
    padding = _enum_names(s.Padding)
    act = _enum_names(s.ActivationFunctionType)
    out: dict[str, Any] = {}
    for key, value in vars(opts).items():
        k = _snake(key)
        if k == "padding":
            value = padding.get(value, value)
        elif k == "fused_activation_function":
            value = act.get(value, value)
        elif isinstance(value, np.ndarray):
            value = [int(v) for v in value]
        out[k] = value
    return out


def _buffer_bytes(b: Any, buf: bytes, index: int, root: int) -> np.ndarray | None:
    if b is None:
        return None
    if b.data is not None and len(b.data) > 0:
        return np.asarray(b.data, dtype=np.uint8)
    # Models over 2 GB keep buffer data after the flatbuffer, addressed by offset/size (offset 1 is
    # the writer's placeholder for "no data").
    if b.offset and b.offset > 1:
        start, size = int(b.offset), int(b.size)
        if start <= root + 4:
            raise MalformedModelError(f"malformed TFLite model: buffer {index} data at byte {start} lies in "
                                      f"the file header (the flatbuffer's root table is at byte {root}); "
                                      "the file is corrupted, re-export the model")
        if start + size > len(buf):
            raise MalformedModelError(f"truncated TFLite model: buffer {index} ends at byte {start + size} but "
                                      f"the file has {len(buf)} bytes; re-export or re-copy the model")
        return np.frombuffer(buf, dtype=np.uint8, count=size, offset=start)
    return None


def load_tflite(path_or_bytes: str | os.PathLike[str] | bytes | bytearray | memoryview) -> TFLiteModel:
    """Read and validate a TFLite model (path or bytes); main subgraph only.

    Raises :class:`MalformedModelError` (and nothing else) for anything that is not a complete,
    consistent TFLite flatbuffer the later stages can rely on.
    """
    buf = _read_bytes(path_or_bytes)
    try:
        return _load(buf)
    except MalformedModelError:
        raise
    except Exception as exc:  # a reader bug must still end in one clear line for the user
        raise MalformedModelError(f"corrupted TFLite model: the reader failed on it ({type(exc).__name__}: "
                                  f"{exc}); re-export the model, and report this file to edgefact") from exc


def _decode(buf: bytes) -> Any:
    _check_header(buf)
    try:
        return _schema().ModelT.InitFromPackedBuf(_StrictBytes(buf), 0)
    except Exception as exc:  # any decoding failure means the bytes are not a valid model
        raise MalformedModelError(f"truncated or corrupted TFLite model ({type(exc).__name__}: {exc}); "
                                  "re-export or re-copy the .tflite file") from None


def _tensor(i: int, t: Any, buffers: list[np.ndarray | None], type_names: dict[int, str],
            intermediate: bool = False) -> Tensor:
    name = _text(f"tensor {i} name", t.name, f"t{i}")
    label = checks.tensor_label(i, name)
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
    if not (intermediate and 0 in shape):  # the converter writes an LSTM's intermediates as shape [0]
        checks.check_shape(label, shape)
    if t.type not in type_names:
        raise MalformedModelError(f"malformed TFLite model: {label} has type number {t.type}, not a TFLite "
                                  "tensor type; re-export the model")
    type_name = type_names[t.type]
    q = None
    qp = t.quantization
    if qp is not None and qp.scale is not None and len(qp.scale) > 0:
        scales = np.asarray(qp.scale, dtype=np.float32)
        zps = np.asarray(qp.zeroPoint if qp.zeroPoint is not None else np.zeros(len(scales)), dtype=np.int64)
        if len(zps) == 1 and len(scales) > 1:
            zps = np.full(len(scales), zps[0], dtype=np.int64)
        if len(zps) != len(scales):
            raise MalformedModelError(f"{label}: {len(scales)} scales but {len(zps)} "
                                      "zero points; re-export the model")
        checks.check_quantization(label, shape, type_name, scales, zps, int(qp.quantizedDimension))
        q = Quantization(scales, zps, int(qp.quantizedDimension))
    if not 0 <= t.buffer < max(len(buffers), 1):
        raise MalformedModelError(f"{label} refers to buffer {t.buffer} but the model has "
                                  f"{len(buffers)} buffers; the file is corrupted")
    signature = None
    if t.shapeSignature is not None:
        signature = tuple(int(d) for d in t.shapeSignature)
        if len(signature) != len(shape) or any(d != s and d != -1 for d, s in zip(signature, shape, strict=True)):
            raise MalformedModelError(f"malformed TFLite model: {label} has shape signature {list(signature)} "
                                      f"that does not match its shape {list(shape)}; re-export the model")
    tensor = Tensor(index=i, name=name, shape=shape, type_name=type_name, buffer=int(t.buffer),
                    quantization=q, is_variable=bool(t.isVariable), shape_signature=signature)
    raw = buffers[t.buffer] if buffers else None
    if raw is not None and t.buffer != 0:
        dt = tensor.dtype
        if dt is None:
            tensor.data = raw
        else:
            want = tensor.size * dt.itemsize
            if len(raw) != want:
                raise MalformedModelError(f"{label} {list(shape)} {type_name} needs {want} "
                                          f"bytes but its buffer {t.buffer} holds {len(raw)}; "
                                          "the file is corrupted")
            tensor.data = raw.view(dt).reshape(shape)
    return tensor


def load_subgraph(model: TFLiteModel, index: int) -> TFLiteModel:
    """Subgraph ``index`` of a loaded model (e.g. the initialisation subgraph a CALL_ONCE runs), as
    a :class:`TFLiteModel` of its own: its tensors and operators, indices checked; the graph-level
    checks are the main subgraph's only (an initialisation subgraph has no inputs or outputs)."""
    if not 0 <= index < model.subgraph_count:
        raise MalformedModelError(f"subgraph {index} does not exist: the model has {model.subgraph_count}; "
                                  "the file is corrupted")
    return _load(model.model_bytes, index)


def _load(buf: bytes, subgraph: int = 0) -> TFLiteModel:
    """Decode and validate ``buf``; a reader bug shows as its own exception type (fuzz tests)."""
    m = _decode(buf)
    s = _schema()
    if not m.subgraphs:
        raise MalformedModelError("TFLite model has no subgraph; re-export the model")
    root = int.from_bytes(buf[0:4], "little")
    buffers = [_buffer_bytes(b, buf, i, root) for i, b in enumerate(m.buffers or [])]

    type_names = _enum_names(s.TensorType)
    op_names = _enum_names(s.BuiltinOperator)
    options_names = _enum_names(s.BuiltinOptions)
    sg = m.subgraphs[subgraph]
    if sg is None:
        raise MalformedModelError("TFLite model's main subgraph is empty; re-export the model")
    # Tensors only an operator's `intermediates` name (the quantization of an LSTM's internal
    # values): no operator reads or writes them, and the converter gives them the shape [0].
    used = {int(v) for op in (sg.operators or []) for v in [*(op.inputs if op.inputs is not None else []),
                                                              *(op.outputs if op.outputs is not None else [])]}
    used |= {int(v) for v in [*(sg.inputs if sg.inputs is not None else []),
                               *(sg.outputs if sg.outputs is not None else [])]}
    bookkeeping = {int(v) for op in (sg.operators or []) if op.intermediates is not None
                   for v in op.intermediates} - used
    tensors = [_tensor(i, t, buffers, type_names, i in bookkeeping) for i, t in enumerate(sg.tensors or [])]
    n_t = len(tensors)

    def _check_indices(what: str, idx: Any, allow_missing: bool = False) -> tuple[int, ...]:
        out = tuple(int(v) for v in (idx if idx is not None else []))
        for v in out:
            if not (0 <= v < n_t or (allow_missing and v == -1)):
                raise MalformedModelError(f"{what} refers to tensor {v} but the subgraph has {n_t} tensors; "
                                          "the file is corrupted")
        return out

    codes = m.operatorCodes or []
    operators: list[Operator] = []
    for i, op in enumerate(sg.operators or []):
        if not 0 <= op.opcodeIndex < len(codes):
            raise MalformedModelError(f"operator {i} uses opcode {op.opcodeIndex} but the model has "
                                      f"{len(codes)} operator codes; the file is corrupted")
        code = codes[op.opcodeIndex]
        # Files written before builtin_code existed only fill deprecated_builtin_code (an int8);
        # newer writers fill both and put 127 (placeholder) in the deprecated field for codes >= 127.
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        name = op_names.get(builtin, f"BUILTIN_{builtin}")
        custom = _text(f"operator {i} ({name}) custom code", code.customCode) if code.customCode is not None \
            else None
        opt_type = int(op.builtinOptionsType)
        if opt_type != 0 and opt_type not in options_names:
            raise MalformedModelError(f"malformed TFLite model: operator {i} ({name}) has builtin options of "
                                      f"unknown type {opt_type}; re-export the model")
        operators.append(Operator(
            index=i, name=name,
            inputs=_check_indices(f"operator {i} ({name}) input", op.inputs, allow_missing=True),
            outputs=_check_indices(f"operator {i} ({name}) output", op.outputs),
            options=_decode_options(op.builtinOptions, s),
            version=int(code.version), custom_code=custom,
            options_type=options_names[opt_type] if opt_type and op.builtinOptions is not None else None))

    model = TFLiteModel(
        tensors=tensors, operators=operators,
        inputs=_check_indices("subgraph input", sg.inputs),
        outputs=_check_indices("subgraph output", sg.outputs),
        buffers=buffers, version=int(m.version),
        description=_text("model description", m.description),
        subgraph_count=len(m.subgraphs), sha256=hashlib.sha256(buf).hexdigest(), model_bytes=buf)
    if subgraph == 0:
        checks.check_model(model)
    return model
