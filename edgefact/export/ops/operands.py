"""The two operands of a binary element-wise layer (ADD, MUL, SUB, SQUARED_DIFFERENCE, MAXIMUM,
MINIMUM, PRELU): NumPy broadcasting and constant operands, shared by their registry entries.

Shapes are broadcast as NumPy does (right-aligned, a dim of 1 repeats), of any rank: before the
call the generator merges adjacent dims that broadcast the same way in both inputs (and drops
dims of 1), so the kernel sees at most 4 dims and rows as long as possible -- equal shapes become
one flat row, the squeeze-and-excitation scale [1,H,W,C] x [1,1,1,C] becomes [H*W, C] x [1, C].
A constant operand (a scale vector, a threshold, PReLU's alpha) is emitted as a const array; at
least one operand must be computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgefact.export.ir import Layer, scale_zp
from edgefact.export.ops.base import Dims, Emission, EmitContext, LowerContext, dims_decl
from edgefact.export.tflite_model import Operator


def collapse(s1: tuple[int, ...], s2: tuple[int, ...], out: tuple[int, ...]) -> tuple[Dims, Dims, Dims] | None:
    """The 4-D kernel view of a broadcast ``s1`` x ``s2`` -> ``out`` (None when it needs more than
    4 dims even after merging): adjacent dims are merged while each input is either full on both or
    broadcast on both, and dims of 1 dropped."""
    r = len(out)
    a = (1,) * (r - len(s1)) + tuple(s1)
    b = (1,) * (r - len(s2)) + tuple(s2)
    groups: list[list[int]] = []  # [out, a, b] extents
    kinds: list[tuple[bool, bool]] = []
    for o, x, y in zip(out, a, b, strict=True):
        if o == 1:
            continue
        kind = (x == o, y == o)
        if kinds and kinds[-1] == kind:
            g = groups[-1]
            g[0], g[1], g[2] = g[0] * o, g[1] * x, g[2] * y
        else:
            groups.append([o, x, y])
            kinds.append(kind)
    if len(groups) > 4:
        return None
    groups = [[1, 1, 1]] * (4 - len(groups)) + groups
    return (Dims(*(g[1] for g in groups)), Dims(*(g[2] for g in groups)), Dims(*(g[0] for g in groups)))


@dataclass(frozen=True)
class Operands:
    """The two inputs of a binary layer as the kernel sees them."""

    dims: tuple[Dims, Dims, Dims]  # merged 4-D shapes of input1, input2 and the output
    const: tuple[np.ndarray | None, np.ndarray | None]  # int8 data of a constant input
    quant: tuple[tuple[float, int], tuple[float, int]]  # (scale, zero point) of each input

    @property
    def broadcast(self) -> bool:
        return not (self.dims[0] == self.dims[1] == self.dims[2])


def lower_operands(ctx: LowerContext, op: Operator, kernel: str, what: str = "operand") -> tuple[Layer, Operands]:
    """The layer (inputs: the computed operands only) and its :class:`Operands`; the inputs that
    have the output's shape may be overwritten by the output."""
    ids = op.inputs[:2]
    ts = [ctx.model.tensors[i] for i in ids]
    if all(t.is_constant for t in ts):
        raise ctx.fail(op, "both operands are constants (a constant expression the generator does not fold)")
    layer = ctx.base(op, kernel, [i for i, t in zip(ids, ts, strict=True) if not t.is_constant])
    ctx.require_int8(op, layer)
    shapes: list[tuple[int, ...]] = []
    qs: list[tuple[float, int]] = []
    consts: list[np.ndarray | None] = []
    for k, (i, t) in enumerate(zip(ids, ts, strict=True)):
        role = f"input{k + 1}"
        if t.is_constant:
            if t.type_name != "INT8" or t.quantization is None or t.data is None:
                raise ctx.fail(op, f"constant {what} '{t.name}' is {t.type_name}"
                                   f"{'' if t.quantization else ' without quantization'}; int8 is supported")
            data = np.asarray(t.data, dtype=np.int8)
            consts.append(data)
            shapes.append(tuple(t.shape))
            qs.append(scale_zp(t))
            layer.consts[role] = data
            layer.const_names[role] = t.name
            layer.weight_bytes += int(data.nbytes)
        else:
            info = ctx.tensors[i]
            consts.append(None)
            shapes.append(tuple(info.shape))
            qs.append((info.scale, info.zero_point))
    out = tuple(ctx.tensors[layer.output].shape)
    try:
        if tuple(np.broadcast_shapes(shapes[0], shapes[1])) != out:
            raise ValueError(out)
    except ValueError:
        raise ctx.fail(op, f"shapes {list(shapes[0])} and {list(shapes[1])} do not broadcast to the output "
                           f"{list(out)}") from None
    dims = collapse(shapes[0], shapes[1], out)
    if dims is None:
        raise ctx.fail(op, f"broadcasting {list(shapes[0])} x {list(shapes[1])} needs more than 4 dims after "
                           "merging; edgefact supports up to 4")
    ops_ = Operands(dims, (consts[0], consts[1]), (qs[0], qs[1]))
    computed = [k for k in (0, 1) if consts[k] is None]
    layer.inplace_ok = tuple(p for p, k in enumerate(computed) if dims[k] == dims[2])
    layer.describe = ", ".join((["broadcast"] if ops_.broadcast else [])
                               + [f"constant input{k + 1}" for k in (0, 1) if consts[k] is not None])
    return layer, ops_


def operand_ptrs(layer: Layer, em: EmitContext, o: Operands, what: str = "constant operand") -> tuple[str, str]:
    """C expressions of both inputs: arena/caller pointers, or the const arrays of constants."""
    computed = iter(layer.inputs)
    ptrs = []
    for k in (0, 1):
        c = o.const[k]
        if c is None:
            ptrs.append(em.ptr(next(computed), False))
        else:
            ptrs.append(em.const_array(layer, f"input{k + 1}", c, "int8_t", what))
    return ptrs[0], ptrs[1]


def dims_ptrs(e: Emission, layer: Layer, o: Operands) -> tuple[str, str, str]:
    return (dims_decl(e, layer, "input1_dims", o.dims[0]), dims_decl(e, layer, "input2_dims", o.dims[1]),
            dims_decl(e, layer, "output_dims", o.dims[2]))
