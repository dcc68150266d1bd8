"""Small int8 TFLite models built with the schema's object API (no TensorFlow), and edits of them.

``small_model()`` returns a ``ModelT`` of a complete int8 network the generator supports
(CONV_2D -> AVERAGE_POOL_2D -> RESHAPE -> FULLY_CONNECTED -> SOFTMAX); ``pack(model)`` serialises
any ``ModelT``; ``unpack(data)`` reads one back for editing. The reader tests and the fuzzers use
these to make precise malformed files (a negative dim, a cycle, missing options ...) and as a seed.
"""

from __future__ import annotations

from typing import Any

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s


def _quant(scales: list[float], zps: list[int], dim: int = 0) -> Any:
    q = s.QuantizationParametersT()
    q.scale = list(scales)
    q.zeroPoint = list(zps)
    q.quantizedDimension = dim
    return q


def _tensor(name: str, shape: list[int], ttype: int, buffer: int, q: Any | None) -> Any:
    t = s.TensorT()
    t.name = name.encode()
    t.shape = list(shape)
    t.type = ttype
    t.buffer = buffer
    t.quantization = q
    return t


def _buffer(data: np.ndarray | None) -> Any:
    b = s.BufferT()
    b.data = None if data is None else list(np.ascontiguousarray(data).view(np.uint8).reshape(-1))
    return b


def _opcode(code: int) -> Any:
    c = s.OperatorCodeT()
    c.builtinCode = code
    c.deprecatedBuiltinCode = min(code, 127)
    c.version = 1
    return c


def _op(opcode: int, inputs: list[int], outputs: list[int], opt_type: int, opts: Any | None) -> Any:
    o = s.OperatorT()
    o.opcodeIndex = opcode
    o.inputs = list(inputs)
    o.outputs = list(outputs)
    o.builtinOptionsType = opt_type
    o.builtinOptions = opts
    return o


def small_model(seed: int = 0) -> Any:
    """A 5-operator int8 model: [1,8,8,3] -> conv 3x3 (4 ch) -> avgpool 2x2 -> reshape -> FC 10 -> softmax."""
    rng = np.random.default_rng(seed)
    I8 = s.TensorType.INT8
    I32 = s.TensorType.INT32
    conv_w = rng.integers(-127, 128, (4, 3, 3, 3), dtype=np.int8)
    conv_b = rng.integers(-500, 500, 4, dtype=np.int32)
    fc_w = rng.integers(-127, 128, (10, 64), dtype=np.int8)
    fc_b = rng.integers(-500, 500, 10, dtype=np.int32)
    new_shape = np.array([1, 64], dtype=np.int32)
    buffers = [_buffer(None), _buffer(conv_w), _buffer(conv_b), _buffer(fc_w), _buffer(fc_b), _buffer(new_shape)]
    buffers += [_buffer(None) for _ in range(6)]
    tensors = [
        _tensor("input", [1, 8, 8, 3], I8, 6, _quant([0.02], [-3])),                       # 0
        _tensor("conv/w", [4, 3, 3, 3], I8, 1, _quant([0.01, 0.012, 0.009, 0.011], [0, 0, 0, 0])),  # 1
        _tensor("conv/b", [4], I32, 2, _quant([0.0002, 0.00024, 0.00018, 0.00022], [0, 0, 0, 0])),   # 2
        _tensor("conv/out", [1, 8, 8, 4], I8, 7, _quant([0.05], [-128])),                  # 3
        _tensor("pool/out", [1, 4, 4, 4], I8, 8, _quant([0.05], [-128])),                  # 4
        _tensor("reshape/shape", [2], I32, 5, None),                                       # 5
        _tensor("reshape/out", [1, 64], I8, 9, _quant([0.05], [-128])),                    # 6
        _tensor("fc/w", [10, 64], I8, 3, _quant([0.004], [0])),                            # 7
        _tensor("fc/b", [10], I32, 4, _quant([0.0002], [0])),                              # 8
        _tensor("fc/out", [1, 10], I8, 10, _quant([0.1], [4])),                            # 9
        _tensor("output", [1, 10], I8, 11, _quant([1.0 / 256], [-128])),                   # 10
    ]
    conv_opts = s.Conv2DOptionsT()
    conv_opts.padding = s.Padding.SAME
    conv_opts.strideW = conv_opts.strideH = 1
    conv_opts.fusedActivationFunction = s.ActivationFunctionType.RELU
    pool_opts = s.Pool2DOptionsT()
    pool_opts.padding = s.Padding.VALID
    pool_opts.strideW = pool_opts.strideH = 2
    pool_opts.filterWidth = pool_opts.filterHeight = 2
    reshape_opts = s.ReshapeOptionsT()
    reshape_opts.newShape = [1, 64]
    fc_opts = s.FullyConnectedOptionsT()
    sm_opts = s.SoftmaxOptionsT()
    sm_opts.beta = 1.0
    B = s.BuiltinOperator
    OPT = s.BuiltinOptions
    sg = s.SubGraphT()
    sg.tensors = tensors
    sg.inputs = [0]
    sg.outputs = [10]
    sg.operators = [
        _op(0, [0, 1, 2], [3], OPT.Conv2DOptions, conv_opts),
        _op(1, [3], [4], OPT.Pool2DOptions, pool_opts),
        _op(2, [4, 5], [6], OPT.ReshapeOptions, reshape_opts),
        _op(3, [6, 7, 8], [9], OPT.FullyConnectedOptions, fc_opts),
        _op(4, [9], [10], OPT.SoftmaxOptions, sm_opts),
    ]
    sg.name = b"main"
    m = s.ModelT()
    m.version = 3
    m.description = b"edgefact test model"
    m.operatorCodes = [_opcode(c) for c in (B.CONV_2D, B.AVERAGE_POOL_2D, B.RESHAPE, B.FULLY_CONNECTED,
                                            B.SOFTMAX)]
    m.subgraphs = [sg]
    m.buffers = buffers
    return m


def one_op_model(builtin: int, in_shape: list[int], out_shape: list[int], consts: list[np.ndarray] = (),
                 opt_type: int = 0, opts: Any | None = None, out_scale: float = 0.05, out_zp: int = -128) -> Any:
    """One int8 operator: input [in_shape] plus constant inputs ``consts`` (int32 -> INT32, int8
    -> INT8 with a scale), output [out_shape]."""
    I8 = s.TensorType.INT8
    buffers = [_buffer(None), _buffer(None), _buffer(None)]
    tensors = [_tensor("input", in_shape, I8, 1, _quant([0.05], [-128])),
               _tensor("output", out_shape, I8, 2, _quant([out_scale], [out_zp]))]
    for k, c in enumerate(consts):
        buffers.append(_buffer(c))
        ttype = s.TensorType.INT32 if c.dtype == np.int32 else s.TensorType.INT8
        tensors.append(_tensor(f"const{k}", list(c.shape), ttype, len(buffers) - 1,
                               _quant([0.01], [0]) if ttype == I8 else None))
    sg = s.SubGraphT()
    sg.tensors = tensors
    sg.inputs = [0]
    sg.outputs = [1]
    sg.operators = [_op(0, [0, *range(2, 2 + len(consts))], [1], opt_type, opts)]
    m = s.ModelT()
    m.version = 3
    m.operatorCodes = [_opcode(builtin)]
    m.subgraphs = [sg]
    m.buffers = buffers
    return m


def pack(model: Any) -> bytes:
    """Serialise a ``ModelT`` as a .tflite file (identifier TFL3)."""
    b = flatbuffers.Builder(4096)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def unpack(data: bytes) -> Any:
    """A ``ModelT`` of a .tflite file, for editing."""
    return s.ModelT.InitFromPackedBuf(bytearray(data), 0)


__all__ = ["one_op_model", "pack", "s", "small_model", "unpack"]
