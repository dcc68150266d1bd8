"""Semantic checks of a decoded TFLite model: everything the later stages rely on.

:func:`edgefact.export.tflite_model.load_tflite` decodes the flatbuffer, then calls
:func:`check_model` so that the IR, memory planner, generator and references only ever see a
model whose indices are in range, whose tensors have positive bounded dims, whose graph is a
DAG in execution order (every consumed tensor produced earlier, a model input, a constant or a
variable), whose operators have the inputs, outputs and builtin options they need with shapes
that agree with the operator's semantics (checked only where cheap and unambiguous). Every
problem is a :class:`MalformedModelError` naming the tensor or operator and what is wrong.

The checks are deliberately no stricter than TFLite itself for files its converter writes: they
reject what a converter never produces (a zero stride, a filter with more input channels than
the input, an output shape the padding formula cannot give).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from edgefact.errors import MalformedModelError

if TYPE_CHECKING:
    from edgefact.export.tflite_model import Operator, Tensor, TFLiteModel

#: Largest dimension and rank accepted (TFLite kernels go up to rank 6; reshape up to 8).
MAX_DIM = 1 << 24
MAX_RANK = 8
#: Largest element count of one tensor (C kernels index with int32).
MAX_ELEMENTS = (1 << 31) - 1

#: Builtin options each operator carries when present; a different options table is corruption.
OPTIONS_TYPE: dict[str, str] = {
    "CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions", "L2_POOL_2D": "Pool2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions", "SOFTMAX": "SoftmaxOptions",
    "CONCATENATION": "ConcatenationOptions", "ADD": "AddOptions", "MUL": "MulOptions",
    "SUB": "SubOptions", "RESHAPE": "ReshapeOptions", "MEAN": "ReducerOptions", "PAD": "PadOptions",
    "QUANTIZE": "QuantizeOptions", "DEQUANTIZE": "DequantizeOptions",
}
#: Operators whose options hold values without a usable default (strides, padding, window, axis).
OPTIONS_REQUIRED = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D",
                              "L2_POOL_2D", "CONCATENATION"})
_BINARY_OPS = frozenset({"ADD", "MUL", "SUB", "DIV", "FLOOR_DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM",
                         "PRELU"})
_SAME_SHAPE_OPS = frozenset({"SOFTMAX", "QUANTIZE", "DEQUANTIZE", "RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC",
                             "TANH", "HARD_SWISH", "LEAKY_RELU", "ABS"})
#: Leading inputs each operator needs (never omitted with -1): the generator's operators and
#: the ones it folds at generation time.
MIN_INPUTS: dict[str, int] = {
    "CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "AVERAGE_POOL_2D": 1,
    "MAX_POOL_2D": 1, "L2_POOL_2D": 1, "RESHAPE": 1, "SQUEEZE": 1, "EXPAND_DIMS": 2,
    "PAD": 2, "MEAN": 2, "CONCATENATION": 1, "SHAPE": 1, "STRIDED_SLICE": 4, "PACK": 1, "UNPACK": 1,
    "GATHER": 2, "CAST": 1, "FILL": 2, "RANGE": 3, "SPACE_TO_BATCH_ND": 3, "BATCH_TO_SPACE_ND": 3,
    **{name: 2 for name in _BINARY_OPS}, **{name: 1 for name in _SAME_SHAPE_OPS},
}
#: Operators that write no tensor: their effect is on resource variables or runs a subgraph.
NO_OUTPUT_OPS = frozenset({"ASSIGN_VARIABLE", "CALL_ONCE"})
# Option fields that must be in 1..MAX_DIM.
_POSITIVE_OPTIONS = ("stride_h", "stride_w", "filter_height", "filter_width", "dilation_h_factor",
                     "dilation_w_factor")
_ENUM_OPTIONS = ("padding", "fused_activation_function")
_ZP_RANGE = {"INT8": (-128, 127), "UINT8": (0, 255), "INT16": (-32768, 32767)}


def _fail(what: str, why: str) -> MalformedModelError:
    return MalformedModelError(f"malformed TFLite model: {what}: {why}; re-export the model "
                               "(the file is corrupted or was written by a broken tool)")


def tensor_label(index: int, name: str) -> str:
    return f"tensor {index} '{name[:80]}'"


def check_shape(label: str, shape: Sequence[int]) -> None:
    """Rank <= MAX_RANK, every dim in 1..MAX_DIM, element count <= MAX_ELEMENTS."""
    if len(shape) > MAX_RANK:
        raise _fail(label, f"rank {len(shape)} (at most {MAX_RANK} supported)")
    for d in shape:
        if not 1 <= d <= MAX_DIM:
            raise _fail(label, f"shape {list(shape)} has dimension {d} (each must be 1..{MAX_DIM})")
    if math.prod(shape) > MAX_ELEMENTS:
        raise _fail(label, f"shape {list(shape)} has {math.prod(shape)} elements (at most {MAX_ELEMENTS})")


def check_quantization(label: str, shape: Sequence[int], type_name: str, scales: Any, zero_points: Any,
                       quantized_dimension: int) -> None:
    """Finite non-negative scales, one per channel of the quantized dimension, zero points in range."""
    for s in scales:
        if not math.isfinite(float(s)) or float(s) < 0:
            raise _fail(label, f"quantization scale {float(s)!r} (scales must be finite and >= 0)")
    if len(scales) > 1:
        if not 0 <= quantized_dimension < len(shape):
            raise _fail(label, f"quantized dimension {quantized_dimension} outside its rank {len(shape)}")
        if shape[quantized_dimension] != len(scales):
            raise _fail(label, f"{len(scales)} per-channel scales but dimension {quantized_dimension} of "
                               f"shape {list(shape)} has {shape[quantized_dimension]} channels")
    lo, hi = _ZP_RANGE.get(type_name, (-(1 << 31), (1 << 31) - 1))
    for z in zero_points:
        if not lo <= int(z) <= hi:
            raise _fail(label, f"zero point {int(z)} outside the {type_name} range [{lo}, {hi}]")


def _op_label(op: Operator) -> str:
    return f"operator {op.index} ({op.name})"


def _check_options(op: Operator) -> None:
    want = OPTIONS_TYPE.get(op.name)
    if op.options_type is not None and want is not None and op.options_type != want:
        raise _fail(_op_label(op), f"carries {op.options_type} instead of {want}")
    if op.name in OPTIONS_REQUIRED and op.options_type is None:
        raise _fail(_op_label(op), f"has no builtin options ({want}: strides, padding, ...)")
    for key in _ENUM_OPTIONS:
        if key in op.options and not isinstance(op.options[key], str):
            raise _fail(_op_label(op), f"option {key} has the unknown value {op.options[key]!r}")
    for key in _POSITIVE_OPTIONS:
        if key in op.options and not 1 <= int(op.options[key]) <= MAX_DIM:
            raise _fail(_op_label(op), f"option {key} = {op.options[key]} (must be 1..{MAX_DIM})")
    if "depth_multiplier" in op.options and not 0 <= int(op.options["depth_multiplier"]) <= MAX_DIM:
        raise _fail(_op_label(op), f"option depth_multiplier = {op.options['depth_multiplier']}")


def _out_size(op: Operator, size: int, k: int, stride: int, dilation: int, padding: str) -> int:
    eff = (k - 1) * dilation + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    if padding == "VALID":
        return (size - eff + stride) // stride
    raise _fail(_op_label(op), f"padding {padding} (expected SAME or VALID)")


def _check_window(op: Operator, inp: Tensor, out: Tensor, kh: int, kw: int) -> None:
    o = op.options
    sh, sw = int(o["stride_h"]), int(o["stride_w"])
    dh, dw = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
    oh = _out_size(op, inp.shape[1], kh, sh, dh, o["padding"])
    ow = _out_size(op, inp.shape[2], kw, sw, dw, o["padding"])
    if oh < 1 or ow < 1:
        raise _fail(_op_label(op), f"a {kh}x{kw} window does not fit the input {list(inp.shape)} "
                                   f"with {o['padding']} padding")
    if (out.shape[1], out.shape[2]) != (oh, ow):
        raise _fail(_op_label(op), f"output {list(out.shape)} but input {list(inp.shape)}, window {kh}x{kw}, "
                                   f"stride {sh}x{sw}, {o['padding']} padding give {oh}x{ow}")
    if out.shape[0] != inp.shape[0]:
        raise _fail(_op_label(op), f"output batch {out.shape[0]} differs from the input batch {inp.shape[0]}")


def _rank(op: Operator, t: Tensor, rank: int, role: str) -> None:
    if len(t.shape) != rank:
        raise _fail(_op_label(op), f"{role} {tensor_label(t.index, t.name)} has shape {list(t.shape)}, "
                                   f"expected rank {rank}")


def _check_bias(op: Operator, tensors: list[Tensor], channels: int) -> None:
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bias = tensors[op.inputs[2]]
        if bias.size != channels:
            raise _fail(_op_label(op), f"bias {tensor_label(bias.index, bias.name)} has {bias.size} values "
                                       f"for {channels} output channels")


def dynamic_beyond_batch(t: Tensor) -> bool:
    """A tensor whose shape TFLite computes at run time in more than the batch dimension: the
    converter stores placeholder 1s in its shape (e.g. the output of a flatten written as
    ``reshape(x, [shape(x)[0], -1])`` in a model with a dynamic batch)."""
    sig = t.shape_signature
    return sig is not None and any(d < 0 for d in sig[1:])


def _check_op_shapes(op: Operator, tensors: list[Tensor]) -> None:
    """Shape agreement for the operators the generator supports (cheap rules only)."""
    ins = [tensors[i] if i >= 0 else None for i in op.inputs]
    out = tensors[op.outputs[0]]
    x = ins[0] if ins else None
    if any(t is not None and dynamic_beyond_batch(t) for t in (*ins, out)):
        return  # stored shapes are placeholders: the lowering infers them (edgefact.export.lowering)
    if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        assert x is not None and ins[1] is not None  # MIN_INPUTS
        filt = ins[1]
        for t, role in ((x, "input"), (filt, "filter"), (out, "output")):
            _rank(op, t, 4, role)
        if op.name == "CONV_2D":
            if x.shape[3] % filt.shape[3] != 0:
                raise _fail(_op_label(op), f"filter {list(filt.shape)} does not divide the input channels "
                                           f"{x.shape[3]} into groups")
            channels = filt.shape[0]
        else:
            if filt.shape[0] != 1:
                raise _fail(_op_label(op), f"depthwise filter {list(filt.shape)} must have shape [1, h, w, c]")
            channels = filt.shape[3]
            if channels % x.shape[3] != 0:
                raise _fail(_op_label(op), f"depthwise filter channels {channels} are not a multiple of the "
                                           f"input channels {x.shape[3]}")
        if out.shape[3] != channels:
            raise _fail(_op_label(op), f"output channels {out.shape[3]} but the filter gives {channels}")
        _check_bias(op, tensors, channels)
        _check_window(op, x, out, filt.shape[1], filt.shape[2])
    elif op.name in ("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"):
        assert x is not None
        _rank(op, x, 4, "input")
        _rank(op, out, 4, "output")
        if out.shape[3] != x.shape[3]:
            raise _fail(_op_label(op), f"output channels {out.shape[3]} differ from the input's {x.shape[3]}")
        _check_window(op, x, out, int(op.options["filter_height"]), int(op.options["filter_width"]))
    elif op.name == "FULLY_CONNECTED":
        assert x is not None and ins[1] is not None
        filt = ins[1]
        _rank(op, filt, 2, "weights")
        if x.size % filt.shape[1] != 0:
            raise _fail(_op_label(op), f"input {list(x.shape)} does not split into rows of {filt.shape[1]} "
                                       f"(weights {list(filt.shape)})")
        if not out.shape or out.shape[-1] != filt.shape[0]:
            raise _fail(_op_label(op), f"output {list(out.shape)} but the weights {list(filt.shape)} give "
                                       f"{filt.shape[0]} units")
        _check_bias(op, tensors, filt.shape[0])
    elif op.name in _BINARY_OPS:
        a, b = ins[0], ins[1]
        assert a is not None and b is not None
        want = _broadcast(op, a.shape, b.shape)
        if tuple(out.shape) != want:
            raise _fail(_op_label(op), f"output {list(out.shape)} but inputs {list(a.shape)} and "
                                       f"{list(b.shape)} broadcast to {list(want)}")
    elif op.name in _SAME_SHAPE_OPS:
        assert x is not None
        if tuple(out.shape) != tuple(x.shape):
            raise _fail(_op_label(op), f"output {list(out.shape)} differs from the input {list(x.shape)}")
        if op.name == "SOFTMAX" and not x.shape:
            raise _fail(_op_label(op), "input has rank 0 (softmax runs over the last dimension)")
    elif op.name == "MEAN":
        assert x is not None and ins[1] is not None
        _check_mean(op, x, ins[1], out)
    elif op.name == "PAD":
        assert x is not None and ins[1] is not None
        _check_pad(op, x, ins[1], out)
    elif op.name == "STRIDED_SLICE":
        _check_strided_slice(op, [t for t in ins[1:4] if t is not None])
    elif op.name == "PACK":
        _check_pack(op, [t for t in ins if t is not None], out)
    elif op.name == "RESHAPE":
        assert x is not None
        if out.size != x.size:
            raise _fail(_op_label(op), f"reshapes {x.size} elements {list(x.shape)} into {out.size} "
                                       f"{list(out.shape)}")
    elif op.name == "CONCATENATION":
        _check_concat(op, [t for t in ins if t is not None], out)


def _int_values(op: Operator, t: Tensor, role: str) -> list[int] | None:
    """The values of a constant integer tensor (None if not constant)."""
    if t.data is None:
        return None
    if t.type_name not in ("INT32", "INT64"):
        raise _fail(_op_label(op), f"{role} {tensor_label(t.index, t.name)} has type {t.type_name}, "
                                   "expected INT32 or INT64")
    return [int(v) for v in t.data.reshape(-1)]


def _check_mean(op: Operator, x: Tensor, axes_t: Tensor, out: Tensor) -> None:
    rank = len(x.shape)
    if rank == 0:
        raise _fail(_op_label(op), "input has rank 0 (nothing to reduce)")
    if len(out.shape) > rank:
        raise _fail(_op_label(op), f"output {list(out.shape)} has a higher rank than the input {list(x.shape)}")
    axes = _int_values(op, axes_t, "axis tensor")
    for a in axes or []:
        if not -rank <= a < rank:
            raise _fail(_op_label(op), f"axis {a} outside the input rank {rank}")


def _check_pad(op: Operator, x: Tensor, pads_t: Tensor, out: Tensor) -> None:
    rank = len(x.shape)
    if len(out.shape) != rank:
        raise _fail(_op_label(op), f"output {list(out.shape)} and input {list(x.shape)} differ in rank")
    pads = _int_values(op, pads_t, "paddings tensor")
    if pads is None:
        return
    if tuple(pads_t.shape) != (rank, 2):
        raise _fail(_op_label(op), f"paddings have shape {list(pads_t.shape)}, expected [{rank}, 2]")
    for d in range(rank):
        before, after = pads[2 * d], pads[2 * d + 1]
        if not (0 <= before <= MAX_DIM and 0 <= after <= MAX_DIM) or x.shape[d] + before + after != out.shape[d]:
            raise _fail(_op_label(op), f"paddings {pads} take the input {list(x.shape)} to something other than "
                                       f"the output {list(out.shape)}")


def _check_strided_slice(op: Operator, specs: list[Tensor]) -> None:
    """begin, end and strides: 1-D vectors of one length; constant strides non-zero."""
    for t, role in zip(specs, ("begin", "end", "strides"), strict=True):
        if len(t.shape) != 1 or t.shape[0] != specs[0].shape[0]:
            raise _fail(_op_label(op), f"{role} {tensor_label(t.index, t.name)} has shape {list(t.shape)}; begin, "
                                       "end and strides must be vectors of one length")
    strides = _int_values(op, specs[2], "strides tensor")
    if strides is not None and 0 in strides:
        raise _fail(_op_label(op), f"strides {strides} hold a 0")


def _check_pack(op: Operator, ins: list[Tensor], out: Tensor) -> None:
    """Inputs of one shape S; output S with len(inputs) inserted at ``axis``."""
    shape = tuple(ins[0].shape)
    if any(tuple(t.shape) != shape for t in ins):
        raise _fail(_op_label(op), f"inputs of different shapes {[list(t.shape) for t in ins]}")
    axis = int(op.options.get("axis", 0))
    if not -(len(shape) + 1) <= axis <= len(shape):
        raise _fail(_op_label(op), f"axis {axis} outside the output rank {len(shape) + 1}")
    axis %= len(shape) + 1
    want = (*shape[:axis], len(ins), *shape[axis:])
    if tuple(out.shape) != want:
        raise _fail(_op_label(op), f"output {list(out.shape)} but packing {len(ins)} x {list(shape)} gives {list(want)}")


def _broadcast(op: Operator, a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    res = []
    for da, db in zip(pa, pb, strict=True):
        if da != db and 1 not in (da, db):
            raise _fail(_op_label(op), f"inputs {list(a)} and {list(b)} do not broadcast")
        res.append(max(da, db))
    return tuple(res)


def _check_concat(op: Operator, ins: list[Tensor], out: Tensor) -> None:
    rank = len(out.shape)
    axis = int(op.options.get("axis", 0))
    if not -rank <= axis < rank:
        raise _fail(_op_label(op), f"axis {axis} outside the output rank {rank}")
    axis %= rank
    total = 0
    for t in ins:
        if len(t.shape) != rank or any(t.shape[d] != out.shape[d] for d in range(rank) if d != axis):
            raise _fail(_op_label(op), f"input {list(t.shape)} does not fit the output {list(out.shape)} "
                                       f"along axis {axis}")
        total += t.shape[axis]
    if total != out.shape[axis]:
        raise _fail(_op_label(op), f"inputs add up to {total} along axis {axis}, output has {out.shape[axis]}")


def check_model(model: TFLiteModel) -> None:
    """Graph-level checks (see the module docstring); raises MalformedModelError."""
    tensors = model.tensors
    if not model.operators:
        raise _fail("main subgraph", "has no operators")
    if not model.inputs:
        raise _fail("main subgraph", "has no inputs")
    if not model.outputs:
        raise _fail("main subgraph", "has no outputs")
    for what, idx in (("input", model.inputs), ("output", model.outputs)):
        seen: set[int] = set()
        for i in idx:
            if i in seen:
                raise _fail(f"model {what} {tensor_label(i, tensors[i].name)}", "is listed twice")
            seen.add(i)
    available: set[int] = set()
    for i in model.inputs:
        t = tensors[i]
        if t.is_constant:
            raise _fail(f"model input {tensor_label(i, t.name)}", "is a constant")
        if not t.shape:
            raise _fail(f"model input {tensor_label(i, t.name)}", "has rank 0 (a scalar input is not supported)")
        available.add(i)
    available |= {t.index for t in tensors if t.is_constant or t.is_variable}
    produced: set[int] = set()
    for op in model.operators:
        label = _op_label(op)
        if not op.outputs and op.name not in NO_OUTPUT_OPS:
            raise _fail(label, "has no output")
        need = MIN_INPUTS.get(op.name, 0)
        if len(op.inputs) < need or any(i < 0 for i in op.inputs[:need]):
            raise _fail(label, f"has inputs {list(op.inputs)}; {op.name} needs {need} (none omitted)")
        for i in op.inputs:
            if i >= 0 and i not in available:
                why = ("is produced by a later operator (the graph has a cycle or is not in execution order)"
                       if any(i in o.outputs for o in model.operators[op.index:]) else
                       "is neither a model input, a constant nor produced by an operator")
                raise _fail(label, f"input {tensor_label(i, tensors[i].name)} {why}")
        for i in op.outputs:
            t = tensors[i]
            if i in produced or i in model.inputs or t.is_constant:
                kind = ("already produced by an earlier operator" if i in produced
                        else "a model input" if i in model.inputs else "a constant")
                raise _fail(label, f"output {tensor_label(i, t.name)} is {kind}")
            produced.add(i)
        _check_options(op)
        if op.outputs:
            _check_op_shapes(op, tensors)
        available.update(op.outputs)
    for i in model.outputs:
        if i not in produced:
            raise _fail(f"model output {tensor_label(i, tensors[i].name)}", "is not produced by any operator")
