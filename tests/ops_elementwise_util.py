"""Hand-built one-op int8 .tflite models with chosen scales and zero points (for the element-wise
operator tests): the converter picks quantization itself, so the extreme scales, zero points and
constant operands the tables and kernels must handle are written directly with the flatbuffer
object API (tflite-micro's schema), then run through the TFLM oracle like any model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class T:
    """A tensor of the model: shape, scale, zero point, and data when it is a constant."""

    shape: tuple[int, ...]
    scale: float
    zero_point: int
    data: np.ndarray | None = None


_OPTIONS = {
    "ADD": ("AddOptions", {"fusedActivationFunction": 0}),
    "SUB": ("SubOptions", {"fusedActivationFunction": 0}),
    "MUL": ("MulOptions", {"fusedActivationFunction": 0}),
    "LEAKY_RELU": ("LeakyReluOptions", {"alpha": 0.2}),
    "MAXIMUM": ("MaximumMinimumOptions", {}),
    "MINIMUM": ("MaximumMinimumOptions", {}),
    "SQUARED_DIFFERENCE": ("SquaredDifferenceOptions", {}),
    "HARD_SWISH": ("HardSwishOptions", {}),
    "ABS": ("AbsOptions", {}),
}

_ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


def one_op_model(op: str, inputs: list[T], output: T, **options: Any) -> bytes:
    """A model with one ``op``: computed inputs become model inputs (in order), constants
    buffers. ``options`` override the op's builtin options (``alpha=``, ``act="RELU"``)."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    m = s.ModelT()
    m.version = 3
    m.description = f"edgefact test: one {op}"
    empty = s.BufferT()
    empty.data = []
    m.buffers = [empty]
    code = s.OperatorCodeT()
    code.builtinCode = getattr(s.BuiltinOperator, op)
    code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    code.version = 1
    m.operatorCodes = [code]
    g = s.SubGraphT()
    g.tensors, g.inputs, g.outputs = [], [], []

    def add_tensor(t: T, name: str) -> int:
        tt = s.TensorT()
        tt.shape = list(t.shape)
        tt.type = s.TensorType.INT8
        tt.name = name
        q = s.QuantizationParametersT()
        q.scale = [float(np.float32(t.scale))]
        q.zeroPoint = [int(t.zero_point)]
        tt.quantization = q
        if t.data is not None:
            b = s.BufferT()
            b.data = list(np.ascontiguousarray(t.data, dtype=np.int8).reshape(t.shape).view(np.uint8).tobytes())
            m.buffers.append(b)
            tt.buffer = len(m.buffers) - 1
        else:
            tt.buffer = 0
        g.tensors.append(tt)
        return len(g.tensors) - 1

    ins = []
    for k, t in enumerate(inputs):
        idx = add_tensor(t, f"in{k}" if t.data is None else f"const{k}")
        ins.append(idx)
        if t.data is None:
            g.inputs.append(idx)
    out = add_tensor(output, "out")
    g.outputs = [out]
    o = s.OperatorT()
    o.opcodeIndex = 0
    o.inputs, o.outputs = ins, [out]
    if op in _OPTIONS:
        kind, defaults = _OPTIONS[op]
        opts = getattr(s, kind + "T")()
        vals = dict(defaults)
        if "act" in options:
            vals["fusedActivationFunction"] = _ACT[options.pop("act")]
        vals.update(options)
        for k, v in vals.items():
            setattr(opts, k, v)
        o.builtinOptionsType = getattr(s.BuiltinOptions, kind)
        o.builtinOptions = opts
    g.operators = [o]
    m.subgraphs = [g]
    b = flatbuffers.Builder(4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def all_bytes_input(n_rows: int = 1) -> np.ndarray:
    """(n_rows, 1, 256) int8: every int8 value once per row (rotated per row)."""
    base = np.arange(-128, 128, dtype=np.int16)
    return np.stack([np.roll(base, 37 * r) for r in range(n_rows)]).astype(np.int8).reshape(n_rows, 1, 256)
