"""Fold a zero-point PAD into the convolution that reads it.

PyTorch's ``padding=1`` on a strided convolution reaches TFLite as ``PAD`` + a ``VALID``
convolution (onnx2tf writes explicit pads wherever TFLite's SAME would pad differently), and so
does the dilated form :func:`edgefact.export.ops.conv.fold_space_to_batch` rewrites. The PAD copies
the whole tensor into a larger buffer only for the convolution to read its border. A PAD whose
value is its tensor's zero point contributes ``(zp + input_offset) * w = 0`` to every product,
which is exactly what a padded convolution adds for a tap outside its input; so the PAD's H/W
amounts can become the convolution's own padding, bit-exactly, and the PAD and its buffer vanish.

Folded only where every condition holds: constant paddings on H and W alone; the pad value the
zero point (a PAD the generator wrote with another value, ``PAD_VALUE``, stays); the same
quantization in and out; the padded tensor read by that one convolution only (as its input) and
not a model output; and the combined padding inside what the kernels take (before < the
effective kernel size, after <= before + 1, as ``ef_out_size_ok`` checks). The convolution gets
the combined amounts as :data:`EXPLICIT_PADDING` in its options, which the conv lowering reads
through :func:`conv_padding`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edgefact.export.ir import compute_padding
from edgefact.export.ops.movement import PAD_VALUE
from edgefact.export.tflite_model import Operator, TFLiteModel

#: option key of a convolution whose PAD was folded: ((top, bottom), (left, right)) on its input
EXPLICIT_PADDING = "edgefact_explicit_padding"
CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def conv_padding(options: dict, axis: int, size: int, k: int, stride: int, dilation: int) -> tuple[int, int, int]:
    """(output size, before, after) of a convolution along H (axis 0) or W (axis 1): its folded
    explicit padding when it has one, else TFLite's SAME / VALID rule."""
    explicit = options.get(EXPLICIT_PADDING)
    if explicit is None:
        return compute_padding(size, k, stride, dilation, options["padding"])
    before, after = explicit[axis]
    eff = (k - 1) * dilation + 1
    return (size + before + after - eff) // stride + 1, before, after


def _kernels_take(size: int, eff: int, stride: int, before: int, out: int) -> bool:
    """The padding rule every conv kernel checks (``ef_out_size_ok`` in ef_nn_internal.h)."""
    after = (out - 1) * stride + eff - size - before
    return 0 <= before < eff and -stride < after <= before + 1


def _fold_amounts(pad: Operator, conv: Operator, model: TFLiteModel) -> tuple[tuple[int, int], ...] | None:
    """The convolution's combined ((top, bottom), (left, right)) padding on the PAD's input, or
    None when the pair must stay as it is (see the module docstring)."""
    if len(pad.inputs) < 2 or pad.inputs[1] < 0 or PAD_VALUE in pad.options:
        return None
    spec = model.tensors[pad.inputs[1]].data
    x, y = model.tensors[pad.inputs[0]], model.tensors[pad.outputs[0]]
    if spec is None or len(x.shape) != 4 or x.type_name != "INT8" or x.quantization is None:
        return None
    pads = np.asarray(spec, dtype=np.int64).reshape(-1, 2)
    if pads.shape != (4, 2) or np.any(pads < 0) or np.any(pads[0] != 0) or np.any(pads[3] != 0):
        return None
    qx, qy = x.quantization, y.quantization
    if (qy is None or not np.array_equal(qx.scales, qy.scales)
            or not np.array_equal(qx.zero_points, qy.zero_points)):
        return None
    o = conv.options
    filt = model.tensors[conv.inputs[1]]
    if len(filt.shape) != 4 or EXPLICIT_PADDING in o:
        return None
    kh, kw = int(filt.shape[1]), int(filt.shape[2])
    out: list[tuple[int, int]] = []
    for axis, (k, s, d) in enumerate(((kh, int(o["stride_h"]), int(o.get("dilation_h_factor", 1))),
                                      (kw, int(o["stride_w"]), int(o.get("dilation_w_factor", 1))))):
        size = int(x.shape[1 + axis])
        n_out, before, after = compute_padding(int(y.shape[1 + axis]), k, s, d, o["padding"])
        before, after = before + int(pads[1 + axis][0]), after + int(pads[1 + axis][1])
        if not _kernels_take(size, (k - 1) * d + 1, s, before, n_out):
            return None
        out.append((before, after))
    return out[0], out[1]


def fold_pads(model: TFLiteModel) -> tuple[TFLiteModel, list[Operator]]:
    """The model with every foldable PAD -> convolution pair made one convolution with explicit
    padding (the PAD dropped, the other operators and tensors unchanged), and the folded PADs."""
    readers: dict[int, list[Operator]] = {}
    for op in model.operators:
        for t in op.inputs:
            if t >= 0:
                readers.setdefault(t, []).append(op)
    outputs = set(model.outputs)
    replaced: dict[int, Operator] = {}  # id of a conv operator -> its rewritten form
    folded: list[Operator] = []
    for op in model.operators:
        if op.name != "PAD" or len(op.outputs) != 1 or op.outputs[0] in outputs:
            continue
        users = readers.get(op.outputs[0], [])
        if len(users) != 1 or users[0].name not in CONVS or users[0].inputs[0] != op.outputs[0]:
            continue
        if list(users[0].inputs[1:]).count(op.outputs[0]):
            continue
        conv = users[0]
        amounts = _fold_amounts(op, conv, model)
        if amounts is None:
            continue
        replaced[id(conv)] = dataclasses.replace(conv, inputs=(op.inputs[0], *conv.inputs[1:]),
                                                 options={**conv.options, EXPLICIT_PADDING: amounts})
        folded.append(op)
    if not folded:
        return model, []
    drop = {id(op) for op in folded}
    ops = [replaced.get(id(op), op) for op in model.operators if id(op) not in drop]
    return dataclasses.replace(model, operators=ops), folded
