"""ARG_MAX and ARG_MIN of an int8 tensor along one axis (``ef_arg_max_s8`` / ``ef_arg_min_s8``).

TFLite's ArgMinMax: the axis is a constant (negative counts from the end), the output drops it and
holds int32 or int64 indices as the operator's ``output_type`` says, the first index on a tie
(a strict comparison). The kernel sees the input as [outer, axis, inner]; the index tensor is
usually the model output (a classifier's class), the one place an int32 / int64 tensor may be
(``tensor_types``): no other entry takes one.

TFLite Micro's kernel writes int32 indices only (it refuses int64 at run time); int64 outputs
follow TFLite's definition and are checked against LiteRT's reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.export.ir import Layer, prod
from edgefact.export.ops.base import CStruct, Emission, EmitContext, LowerContext, OpDef
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator

_INDEX_BYTES = {"INT32": 4, "INT64": 8}


@dataclass(frozen=True)
class ArgMaxParams(CStruct):
    """ef_arg_max_params."""

    C_TYPE: ClassVar[str] = "ef_arg_max_params"
    outer: int
    axis_size: int
    inner: int
    output_bytes: int


class _ArgExtreme(OpDef):
    """ARG_MAX / ARG_MIN: one kernel call over the [outer, axis, inner] view."""

    tensor_types = ("INT32", "INT64")
    constraints = ("int8 input of rank <= 4, any constant axis (negative too), int32 or int64 indices "
                   "(TFLM runs int32 only); no other operator may read the indices (a model output)")
    kernel: ClassVar[str]

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, self.kernel, [op.inputs[0]])
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        if inp.type_name != "INT8":
            raise ctx.fail(op, f"input '{inp.name}' is {inp.type_name}; {op.name} is supported on int8 tensors")
        if out.type_name not in _INDEX_BYTES:
            raise ctx.fail(op, f"output '{out.name}' is {out.type_name}; {op.name} writes int32 or int64 indices")
        axis_t = ctx.const(op, 1, "axis")
        if axis_t is None or axis_t.data is None or np.asarray(axis_t.data).size != 1:
            raise ctx.fail(op, "the axis must be one constant value")
        rank = len(inp.shape)
        axis = int(np.asarray(axis_t.data).reshape(-1)[0])
        if not -rank <= axis < rank or rank > 4:
            raise ctx.fail(op, f"axis {axis} of a rank-{rank} input; edgefact takes -{rank} <= axis < {rank}, "
                               "rank <= 4")
        axis %= rank
        want = tuple(d for i, d in enumerate(inp.shape) if i != axis)
        if prod(want) != prod(out.shape):
            raise ctx.fail(op, f"output shape {list(out.shape)} is not the input {list(inp.shape)} without "
                               f"axis {axis}")
        layer.args = ArgMaxParams(prod(inp.shape[:axis]), int(inp.shape[axis]), prod(inp.shape[axis + 1:]),
                                  _INDEX_BYTES[out.type_name])
        layer.describe = f"axis {axis}, {out.type_name.lower()} indices"
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        p: ArgMaxParams = layer.args
        em.check_size(layer, layer.inputs[0], layer.input_shapes[0])
        em.check_size(layer, layer.output, layer.output_shape)
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        return Emission(decls=p.c_define(f"{layer.sym}_params"),
                        calls=[f"st = {layer.kernel}(&{layer.sym}_params, {x}, {y});"])


@register
class ArgMax(_ArgExtreme):
    name = "ARG_MAX"
    kernel = "ef_arg_max_s8"
    kernel_names = ("ef_arg_max_s8",)


@register
class ArgMin(_ArgExtreme):
    name = "ARG_MIN"
    kernel = "ef_arg_min_s8"
    kernel_names = ("ef_arg_min_s8",)
