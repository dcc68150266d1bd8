"""Read a ``.tflite`` flatbuffer into plain Python objects.

Decoding uses the flatbuffer object API generated from TFLite's schema and shipped with
tflite-micro (``schema_py_generated``); nothing here parses the binary format by hand. This module
adds what the generated classes do not do: it validates the file (identifier, indices, buffer
sizes), turns every decoding failure into :class:`MalformedModelError`, resolves operator names
(including the ``deprecated_builtin_code`` field of old files), decodes builtin options into a
dict with snake_case keys and enum names, and gives constant buffers as typed, shaped numpy
arrays.
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
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


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
    return path.read_bytes()


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


def _buffer_bytes(b: Any, buf: bytes, index: int) -> np.ndarray | None:
    if b is None:
        return None
    if b.data is not None and len(b.data) > 0:
        return np.asarray(b.data, dtype=np.uint8)
    # Models over 2 GB keep buffer data after the flatbuffer, addressed by offset/size.
    if b.offset and b.offset > 1:
        end = b.offset + b.size
        if end > len(buf):
            raise MalformedModelError(f"truncated TFLite model: buffer {index} ends at byte {end} but "
                                      f"the file has {len(buf)} bytes; re-export or re-copy the model")
        return np.frombuffer(buf, dtype=np.uint8, count=b.size, offset=b.offset)
    return None


def load_tflite(path_or_bytes: str | os.PathLike[str] | bytes | bytearray | memoryview) -> TFLiteModel:
    """Read and validate a TFLite model (path or bytes); main subgraph only.

    Raises :class:`MalformedModelError` for anything that is not a complete, consistent
    TFLite flatbuffer.
    """
    buf = _read_bytes(path_or_bytes)
    _check_header(buf)
    s = _schema()
    try:
        m = s.ModelT.InitFromPackedBuf(buf, 0)
    except Exception as exc:  # any decoding failure means the bytes are not a valid model
        raise MalformedModelError(f"truncated or corrupted TFLite model ({type(exc).__name__}: {exc}); "
                                  "re-export or re-copy the .tflite file") from None
    if not m.subgraphs:
        raise MalformedModelError("TFLite model has no subgraph; re-export the model")
    try:
        buffers = [_buffer_bytes(b, buf, i) for i, b in enumerate(m.buffers or [])]
    except MalformedModelError:
        raise
    except Exception as exc:
        raise MalformedModelError(f"corrupted TFLite buffer table ({exc}); re-export the model") from None

    type_names = _enum_names(s.TensorType)
    op_names = _enum_names(s.BuiltinOperator)
    sg = m.subgraphs[0]

    tensors: list[Tensor] = []
    for i, t in enumerate(sg.tensors or []):
        name = t.name.decode("utf-8", "replace") if isinstance(t.name, bytes) else (t.name or f"t{i}")
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
        type_name = type_names.get(t.type, f"TYPE_{t.type}")
        q = None
        qp = t.quantization
        if qp is not None and qp.scale is not None and len(qp.scale) > 0:
            scales = np.asarray(qp.scale, dtype=np.float32)
            zps = np.asarray(qp.zeroPoint if qp.zeroPoint is not None else np.zeros(len(scales)), dtype=np.int64)
            if len(zps) == 1 and len(scales) > 1:
                zps = np.full(len(scales), zps[0], dtype=np.int64)
            if len(zps) != len(scales):
                raise MalformedModelError(f"tensor {i} '{name}': {len(scales)} scales but {len(zps)} "
                                          "zero points; re-export the model")
            q = Quantization(scales, zps, int(qp.quantizedDimension))
        if not 0 <= t.buffer < max(len(buffers), 1):
            raise MalformedModelError(f"tensor {i} '{name}' refers to buffer {t.buffer} but the model has "
                                      f"{len(buffers)} buffers; the file is corrupted")
        tensor = Tensor(index=i, name=name, shape=shape, type_name=type_name, buffer=int(t.buffer),
                        quantization=q, is_variable=bool(t.isVariable),
                        shape_signature=tuple(int(d) for d in t.shapeSignature)
                        if t.shapeSignature is not None else None)
        raw = buffers[t.buffer] if buffers else None
        if raw is not None and t.buffer != 0:
            dt = tensor.dtype
            if dt is None:
                tensor.data = raw
            else:
                want = tensor.size * dt.itemsize
                if len(raw) != want:
                    raise MalformedModelError(f"tensor {i} '{name}' {list(shape)} {type_name} needs {want} "
                                              f"bytes but its buffer {t.buffer} holds {len(raw)}; "
                                              "the file is corrupted")
                tensor.data = raw.view(dt).reshape(shape)
        tensors.append(tensor)

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
        custom = code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode
        operators.append(Operator(
            index=i, name=name,
            inputs=_check_indices(f"operator {i} ({name}) input", op.inputs, allow_missing=True),
            outputs=_check_indices(f"operator {i} ({name}) output", op.outputs),
            options=_decode_options(op.builtinOptions, s),
            version=int(code.version), custom_code=custom))

    return TFLiteModel(
        tensors=tensors, operators=operators,
        inputs=_check_indices("subgraph input", sg.inputs),
        outputs=_check_indices("subgraph output", sg.outputs),
        buffers=buffers, version=int(m.version),
        description=m.description.decode("utf-8", "replace") if isinstance(m.description, bytes)
        else (m.description or ""),
        subgraph_count=len(m.subgraphs), sha256=hashlib.sha256(buf).hexdigest(), model_bytes=buf)
