"""Constant folding: operators whose result depends only on constants and static shapes are
evaluated at generation time and never reach the device.

Models converted with a dynamic batch dimension compute shapes at run time, e.g. the classifier
flatten of Keras' MobileNetV3 (``SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE``); with the static
shapes of a microcontroller model all of it is constant. Each rule below takes the operator, the
values of its inputs (None for a computed tensor) and the model, and returns the values of its
outputs, or None when it cannot fold (then the operator is lowered normally, or refused).

Integer arithmetic on int32 / int64 tensors (the shape computations) folds too; quantized int8
arithmetic never does here (its requantization belongs to the kernels).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edgefact.errors import UnsupportedOpError
from edgefact.export.tflite_model import Operator, TFLiteModel

Values = list[np.ndarray | None]
Rule = Callable[[Operator, Values, TFLiteModel], list[np.ndarray] | None]


def _out_dtype(model: TFLiteModel, op: Operator, k: int = 0) -> np.dtype:
    dt = model.tensors[op.outputs[k]].dtype
    if dt is None:
        raise UnsupportedOpError(f"operator {op.index} ({op.name}): output type "
                                 f"{model.tensors[op.outputs[k]].type_name} cannot be folded")
    return dt


def _all(vals: Values, n: int | None = None) -> list[np.ndarray] | None:
    use = vals if n is None else vals[:n]
    if any(v is None for v in use):
        return None
    return [np.asarray(v) for v in use if v is not None]


def _shape(op: Operator, vals: Values, m: TFLiteModel) -> list[np.ndarray]:
    return [np.asarray(m.tensors[op.inputs[0]].shape, dtype=_out_dtype(m, op))]


def _strided_slice(op: Operator, vals: Values, m: TFLiteModel) -> list[np.ndarray] | None:
    a = _all(vals, 4)
    if a is None:
        return None
    x, begin, end, strides = a
    o = op.options
    bm, em = int(o.get("begin_mask", 0)), int(o.get("end_mask", 0))
    ell, new, shrink = int(o.get("ellipsis_mask", 0)), int(o.get("new_axis_mask", 0)), int(o.get("shrink_axis_mask", 0))
    offset = bool(o.get("offset", False))
    index: list[object] = []
    for i in range(len(begin)):
        bit = 1 << i
        if ell & bit:
            index.append(Ellipsis)
            continue
        if new & bit:
            index.append(np.newaxis)
            continue
        b, e, s = int(begin[i]), int(end[i]), int(strides[i])
        if offset:
            e = b + e
        if shrink & bit:
            index.append(b)
            continue
        index.append(slice(None if bm & bit else b, None if em & bit else e, s))
    return [np.asarray(x[tuple(index)], dtype=_out_dtype(m, op))]


def _pack(op: Operator, vals: Values, m: TFLiteModel) -> list[np.ndarray] | None:
    a = _all(vals)
    if a is None:
        return None
    return [np.stack(a, axis=int(op.options.get("axis", 0))).astype(_out_dtype(m, op))]


def _unpack(op: Operator, vals: Values, m: TFLiteModel) -> list[np.ndarray] | None:
    a = _all(vals)
    if a is None:
        return None
    axis = int(op.options.get("axis", 0))
    parts = [np.take(a[0], i, axis=axis) for i in range(a[0].shape[axis])]
    return [p.astype(_out_dtype(m, op, k)) for k, p in enumerate(parts)]


def _gather(op: Operator, vals: Values, m: TFLiteModel) -> list[np.ndarray] | None:
    a = _all(vals, 2)
    if a is None:
        return None
    x, idx = a
    axis = int(op.options.get("axis", 0))
    if int(op.options.get("batch_dims", 0)) != 0:
        return None
    return [np.take(x, idx, axis=axis % x.ndim).astype(_out_dtype(m, op))]


def _cast(op: Operator, vals: Values, m: TFLiteModel) -> list[np.ndarray] | None:
    a = _all(vals, 1)
    return None if a is None else [a[0].astype(_out_dtype(m, op))]


def _fill(op: Operator, vals: Values, m: TFLiteModel) -> list[np.ndarray] | None:
    a = _all(vals, 2)
    return None if a is None else [np.full([int(d) for d in a[0]], a[1].reshape(()), dtype=_out_dtype(m, op))]


def _range(op: Operator, vals: Values, m: TFLiteModel) -> list[np.ndarray] | None:
    a = _all(vals, 3)
    if a is None:
        return None
    return [np.arange(a[0].reshape(()), a[1].reshape(()), a[2].reshape(()), dtype=_out_dtype(m, op))]


def _reshaped(op: Operator, vals: Values, m: TFLiteModel) -> list[np.ndarray] | None:
    """RESHAPE / SQUEEZE / EXPAND_DIMS of a constant: the output's static shape."""
    if vals[0] is None:
        return None
    return [np.asarray(vals[0]).reshape(m.tensors[op.outputs[0]].shape)]


def _concat(op: Operator, vals: Values, m: TFLiteModel) -> list[np.ndarray] | None:
    a = _all(vals)
    if a is None or not _is_int(m, op):
        return None
    return [np.concatenate(a, axis=int(op.options.get("axis", 0))).astype(_out_dtype(m, op))]


def _is_int(m: TFLiteModel, op: Operator) -> bool:
    """Integer tensors without quantization (shape arithmetic), never quantized int8."""
    t = m.tensors[op.outputs[0]]
    return t.type_name in ("INT32", "INT64") and t.quantization is None


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Rule:
    def rule(op: Operator, vals: Values, m: TFLiteModel) -> list[np.ndarray] | None:
        a = _all(vals, 2)
        if a is None or not _is_int(m, op) or op.options.get("fused_activation_function", "NONE") != "NONE":
            return None
        return [fn(a[0], a[1]).astype(_out_dtype(m, op))]

    return rule


#: op name -> rule; SHAPE folds from the static shape alone, the others from constant inputs
RULES: dict[str, Rule] = {
    "SHAPE": _shape,
    "STRIDED_SLICE": _strided_slice,
    "PACK": _pack,
    "UNPACK": _unpack,
    "GATHER": _gather,
    "CAST": _cast,
    "FILL": _fill,
    "RANGE": _range,
    "RESHAPE": _reshaped,
    "SQUEEZE": _reshaped,
    "EXPAND_DIMS": _reshaped,
    "CONCATENATION": _concat,
    "ADD": _binary(np.add),
    "SUB": _binary(np.subtract),
    "MUL": _binary(np.multiply),
    "FLOOR_DIV": _binary(np.floor_divide),
}

#: folded only: there is no kernel, so a computed input is refused with this reason
#: (STRIDED_SLICE and UNPACK of a computed tensor are real operators: ops/slicing.py)
FOLD_ONLY = {"SHAPE", "PACK", "GATHER", "CAST", "FILL", "RANGE"}


#: largest folded tensor (elements): shape arithmetic is small; anything bigger is a broken model
MAX_FOLDED_ELEMENTS = 1 << 20


def fold(op: Operator, values: Values, model: TFLiteModel) -> list[np.ndarray] | None:
    """Outputs of ``op`` when it folds, else None. A rule that cannot evaluate its operator
    (inconsistent shapes, an axis out of range) or gives values unlike the declared outputs
    raises UnsupportedOpError naming the operator."""
    rule = RULES.get(op.name)
    if rule is None:
        return None
    for t in op.outputs:
        if model.tensors[t].size > MAX_FOLDED_ELEMENTS:
            raise UnsupportedOpError(f"operator {op.index} ({op.name}): its output of {model.tensors[t].size} "
                                     "elements is too large to evaluate at generation time")
    try:
        outs = rule(op, values, model)
    except (ValueError, IndexError, TypeError, OverflowError, ZeroDivisionError, MemoryError) as exc:
        raise UnsupportedOpError(f"operator {op.index} ({op.name}) cannot be evaluated at generation time: "
                                 f"{exc}; check the model (its constant inputs disagree with the operator)") from None
    if outs is None:
        return None
    for t, v in zip(op.outputs, outs, strict=False):
        declared = model.tensors[t]
        dynamic = declared.shape_signature is not None and any(d < 0 for d in declared.shape_signature)
        if v.size > MAX_FOLDED_ELEMENTS or (not dynamic and tuple(v.shape) != tuple(declared.shape)):
            raise UnsupportedOpError(f"operator {op.index} ({op.name}) evaluates to shape {list(v.shape)} but its "
                                     f"output '{declared.name}' is declared {list(declared.shape)}")
    return outs
