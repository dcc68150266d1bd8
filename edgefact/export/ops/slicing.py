"""Data movement as strided views: STRIDED_SLICE, SPLIT, SPLIT_V, UNPACK, TRANSPOSE, DEPTH_TO_SPACE
and SPACE_TO_DEPTH of int8 activations, all run by one kernel (``ef_strided_copy_s8``).

Each of these operators only moves bytes: output element ``i`` is input element ``f(i)`` with
``f`` affine in the output's (possibly finer) index. The entries compute ``f`` by applying the
operator with NumPy to the array of input element numbers (``np.arange(size)``), so TFLite's
index semantics (negative begin / end / strides and the masks of STRIDED_SLICE, SPLIT_V's -1
size, the DEPTH_TO_SPACE channel order) are NumPy's own, then :func:`strided_view` reads the
extents, strides and offset off that array, checks them against every element, and merges the
dimensions that are contiguous in both tensors (an innermost stride of 1 becomes a row memcpy).
Like TFLite Micro, the values are copied unchanged, so the input and output quantization must
be equal (the converter always makes them so).

Constant-input STRIDED_SLICE / UNPACK (shape arithmetic) never reach these entries: they are
folded at generation time (:mod:`edgefact.export.ops.folding`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export.ir import Layer, prod
from edgefact.export.ops.base import CStruct, Emission, EmitContext, LowerContext, OpDef
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator

#: EF_COPY_MAX_DIMS of ef_nn_types.h
MAX_DIMS = 6
KERNEL = "ef_strided_copy_s8"


@dataclass(frozen=True)
class StridedCopyParams(CStruct):
    """ef_strided_copy_params (extent / stride padded to MAX_DIMS with 1 / 0)."""

    C_TYPE: ClassVar[str] = "ef_strided_copy_params"
    ndims: int
    extent: tuple[int, ...]
    stride: tuple[int, ...]
    offset: int


def strided_view(index: np.ndarray) -> StridedCopyParams:
    """The view ``index`` (input element numbers in output order, any shape) describes, with
    size-1 dimensions dropped and contiguous neighbours merged. Raises EdgefactError when the
    array is not affine in its index or needs more than MAX_DIMS dimensions."""
    index = np.asarray(index, dtype=np.int64)
    if index.size == 0:
        raise EdgefactError("an empty view (an output with no elements)")
    a = index.reshape([d for d in index.shape if d != 1] or [1])
    offset = int(a.flat[0])
    extent = [int(d) for d in a.shape]
    stride = [int(a[(0,) * k + (1,) + (0,) * (a.ndim - k - 1)]) - offset if d > 1 else 0
              for k, d in enumerate(extent)]
    expect = np.full(a.shape, offset, dtype=np.int64)
    for k, (d, s) in enumerate(zip(extent, stride, strict=True)):
        expect += (np.arange(d, dtype=np.int64) * s).reshape([d if j == k else 1 for j in range(a.ndim)])
    if not np.array_equal(expect, a):
        raise EdgefactError("generator bug: the operator's element map is not a strided view")
    ext, st = [extent[-1]], [stride[-1]]
    for d, s in zip(reversed(extent[:-1]), reversed(stride[:-1]), strict=True):
        if s == st[0] * ext[0]:  # contiguous with the dimension inside it: one longer dimension
            ext[0] *= d
        else:
            ext.insert(0, d)
            st.insert(0, s)
    if len(ext) > MAX_DIMS:
        raise EdgefactError(f"a view of {len(ext)} dimensions after merging; ef_strided_copy_s8 takes at most "
                            f"{MAX_DIMS}")
    n = len(ext)
    return StridedCopyParams(n, tuple(ext) + (1,) * (MAX_DIMS - n), tuple(st) + (0,) * (MAX_DIMS - n), offset)


def strided_slice_index(x: np.ndarray, begin: np.ndarray, end: np.ndarray, strides: np.ndarray,
                        options: dict) -> np.ndarray:
    """``x`` sliced as TFLite's STRIDED_SLICE with these constant operands and options."""
    bm, em = int(options.get("begin_mask", 0)), int(options.get("end_mask", 0))
    ell, new = int(options.get("ellipsis_mask", 0)), int(options.get("new_axis_mask", 0))
    shrink = int(options.get("shrink_axis_mask", 0))
    offset = bool(options.get("offset", False))
    index: list[object] = []
    for i in range(len(begin)):
        bit = 1 << i
        if ell & bit:
            index.append(Ellipsis)
        elif new & bit:
            index.append(np.newaxis)
        else:
            b, e, s = int(begin[i]), int(end[i]), int(strides[i])
            if s == 0:
                raise EdgefactError(f"stride 0 on axis {i}")
            if offset:
                e = b + e
            index.append(b if shrink & bit else slice(None if bm & bit else b, None if em & bit else e, s))
    return x[tuple(index)]


def _elements(ctx: LowerContext, idx: int) -> np.ndarray:
    """The input element numbers of tensor ``idx`` in its shape."""
    shape = ctx.tensors[idx].shape
    return np.arange(prod(shape), dtype=np.int64).reshape(shape)


@dataclass(frozen=True)
class ViewArgs:
    params: StridedCopyParams
    input_size: int


class _View(OpDef):
    """An operator whose every output is a strided view of its (first) input."""

    kernel_names = (KERNEL,)
    constraints = "int8, constant operands, input and output quantization equal (values are copied)"
    data_input: ClassVar[int] = 0  # position of the activation input among op.inputs

    def views(self, ctx: LowerContext, op: Operator, x: np.ndarray) -> list[np.ndarray]:
        """Input element numbers of each output (NumPy's result of the operator on ``x``)."""
        raise NotImplementedError

    def detail(self, op: Operator) -> str:
        return ""

    def layer(self, ctx: LowerContext, op: Operator, output: int, part: int | None, view: np.ndarray) -> Layer:
        src = op.inputs[self.data_input]
        layer = ctx.base(op, KERNEL, [src]) if part is None else ctx.base_for(op, KERNEL, [src], output, part)
        ctx.require_int8(op, layer)
        inp, out = ctx.tensors[src], ctx.tensors[output]
        if (inp.scale, inp.zero_point) != (out.scale, out.zero_point):
            raise ctx.fail(op, f"output '{out.name}' has another quantization than the input; {op.name} copies "
                               "values, so they must be equal")
        if view.size != prod(out.shape):
            raise ctx.fail(op, f"computes {view.size} elements ({list(view.shape)}) for output '{out.name}' "
                               f"declared {list(out.shape)}")
        try:
            params = strided_view(view)
        except EdgefactError as exc:
            raise ctx.fail(op, str(exc)) from exc
        layer.args = ViewArgs(params, prod(inp.shape))
        layer.describe = self.detail(op)
        return layer

    def lower(self, ctx: LowerContext, op: Operator) -> Layer | list[Layer]:
        src = op.inputs[self.data_input]
        ctx.activation_tensor(src, op)
        try:
            views = self.views(ctx, op, _elements(ctx, src))
        except (EdgefactError, ValueError, IndexError) as exc:
            raise ctx.fail(op, f"cannot be evaluated on its input {list(ctx.tensors[src].shape)}: {exc}") from None
        if len(views) != len(op.outputs):
            raise ctx.fail(op, f"{len(op.outputs)} outputs, the operator gives {len(views)}")
        if not self.multi_output:
            return self.layer(ctx, op, op.outputs[0], None, views[0])
        return [self.layer(ctx, op, t, k, v) for k, (t, v) in enumerate(zip(op.outputs, views, strict=True))]

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: ViewArgs = layer.args
        em.check_size(layer, layer.output, a.params.extent)
        em.check_size(layer, layer.inputs[0], (a.input_size,))
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        return Emission(decls=a.params.c_define(f"{layer.sym}_params"),
                        calls=[f"st = {KERNEL}(&{layer.sym}_params, {x}, {a.input_size}, {y});"])


def _const(ctx: LowerContext, op: Operator, pos: int, what: str) -> np.ndarray:
    t = ctx.const(op, pos, what)
    if t is None or t.data is None:
        raise ctx.fail(op, f"the {what} must be a constant")
    return np.asarray(t.data).reshape(-1).astype(np.int64)


@register
class StridedSlice(_View):
    name = "STRIDED_SLICE"
    constraints = ("int8 computed input; constant begin / end / strides (negative ones too), begin, end, "
                   "shrink, new-axis and ellipsis masks; quantization unchanged")

    def views(self, ctx: LowerContext, op: Operator, x: np.ndarray) -> list[np.ndarray]:
        b, e, s = (_const(ctx, op, k, w) for k, w in ((1, "begin"), (2, "end"), (3, "strides")))
        return [strided_slice_index(x, b, e, s, op.options)]

    def detail(self, op: Operator) -> str:
        return "strided slice"


@register
class Split(_View):
    name = "SPLIT"
    multi_output = True
    data_input = 1
    constraints = "int8, constant axis, equal parts along any axis; quantization unchanged"

    def views(self, ctx: LowerContext, op: Operator, x: np.ndarray) -> list[np.ndarray]:
        axis = int(_const(ctx, op, 0, "axis")[0]) % x.ndim
        n = int(op.options.get("num_splits", len(op.outputs)))
        return list(np.split(x, n, axis=axis))


@register
class SplitV(_View):
    name = "SPLIT_V"
    multi_output = True
    constraints = "int8, constant sizes (one may be -1) and axis, any axis; quantization unchanged"

    def views(self, ctx: LowerContext, op: Operator, x: np.ndarray) -> list[np.ndarray]:
        sizes = [int(v) for v in _const(ctx, op, 1, "size_splits")]
        axis = int(_const(ctx, op, 2, "axis")[0]) % x.ndim
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
        if any(s < 0 for s in sizes) or sum(sizes) != x.shape[axis]:
            raise EdgefactError(f"sizes {sizes} do not add up to {x.shape[axis]} along axis {axis}")
        return list(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


@register
class Unpack(_View):
    name = "UNPACK"
    multi_output = True
    constraints = "int8 computed input, any axis; quantization unchanged"

    def views(self, ctx: LowerContext, op: Operator, x: np.ndarray) -> list[np.ndarray]:
        axis = int(op.options.get("axis", 0)) % x.ndim
        return [np.take(x, i, axis=axis) for i in range(x.shape[axis])]


@register
class Transpose(_View):
    name = "TRANSPOSE"
    constraints = "int8, constant permutation of up to 6 dims; quantization unchanged"

    def views(self, ctx: LowerContext, op: Operator, x: np.ndarray) -> list[np.ndarray]:
        perm = [int(p) for p in _const(ctx, op, 1, "permutation")]
        return [np.transpose(x, perm)]


def _block(op: Operator) -> int:
    b = int(op.options.get("block_size", 0))
    if b < 1:
        raise EdgefactError(f"block size {b}")
    return b


@register
class DepthToSpace(_View):
    name = "DEPTH_TO_SPACE"
    constraints = "int8 4-D NHWC, any block size (TFLite's DCR channel order); quantization unchanged"

    def views(self, ctx: LowerContext, op: Operator, x: np.ndarray) -> list[np.ndarray]:
        b = _block(op)
        n, h, w, c = x.shape
        # in[n, h, w, (i * b + j) * C' + c'] -> out[n, h * b + i, w * b + j, c']
        return [x.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)]

    def detail(self, op: Operator) -> str:
        return f"block {op.options.get('block_size')}"


@register
class SpaceToDepth(_View):
    name = "SPACE_TO_DEPTH"
    constraints = "int8 4-D NHWC, any block size dividing H and W; quantization unchanged"

    def views(self, ctx: LowerContext, op: Operator, x: np.ndarray) -> list[np.ndarray]:
        b = _block(op)
        n, h, w, c = x.shape
        if h % b or w % b:
            raise EdgefactError(f"block size {b} does not divide {h}x{w}")
        # in[n, h * b + i, w * b + j, c] -> out[n, h, w, (i * b + j) * C + c]
        return [x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)]

    def detail(self, op: Operator) -> str:
        return f"block {op.options.get('block_size')}"
