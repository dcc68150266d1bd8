"""CONV_2D and DEPTHWISE_CONV_2D.

MACs: CONV_2D = N*H_out*W_out*kh*kw*(C_in/groups)*C_out, DEPTHWISE = N*H_out*W_out*kh*kw*C*mult.

Kernels, chosen here from the shapes (the generated code calls them directly):
- ``ef_conv_1x1_s8``: ungrouped 1x1 without padding, a matrix product, no scratch;
- ``ef_conv_1x1_short_s8``: the same with 4-20 (a multiple of 4) input channels on Cortex-M4/M7/M33 (filters widened
  once per call into a table, ``_short_1x1_applies``; also a grouped 1x1 with 4-20 per group) and with any
  1-48 per group on Cortex-M55 (its Helium body: 4 pixels x 4 output channels per step, 16 bytes of each pixel
  at a time, one vector requantization per 4 outputs, ``_short_1x1_mve_applies``), an alternative elsewhere;
- ``ef_conv_1x1_2x2_s8``: an unpadded 1x1 with 12-64 (a multiple of 4) input channels per group on
  Cortex-M4/M7/M33 (2 pixels x 2 channels against filters widened into a stack table,
  ``_1x1_2x2_applies``), an alternative there from 4 input channels;
- ``ef_conv_first_s8``: an ungrouped 3x3 with 3 input channels on Cortex-M4/M7/M33 (windows read in place,
  ``_first_applies``), an alternative elsewhere and at 1, 2 or 4 channels;
- ``ef_conv_first_c12_s8``: an ungrouped 3x3 with 1 or 2 input channels on Cortex-M4/M7/M33, on a per-channel
  table laid out here (:mod:`.conv_first`, ``_first_c12_applies``), an alternative elsewhere;
- ``ef_conv_first_c1_s8``: such a layer with 1 input channel on Cortex-M55 (Helium: 4 pixels gathered once from
  a padded strip, every channel streamed past them, ``_first_c1_applies``), an alternative elsewhere;
- ``ef_conv_2x2_s8``: a windowed convolution (k x 1, 1 x k, grouped 3x3, ...) whose per-group depth kh*kw*c is at
  most 288 with c a multiple of 4, on Cortex-M4/M7/M33 (2 pixels x 2 channels against filters widened once into a
  stack table, ``_conv_2x2_applies``), an alternative elsewhere (it runs ``ef_conv_s8`` there);
- ``ef_conv_s8``: any other convolution (grouped included), two int16 im2col columns of scratch;
- ``ef_conv_dilated_s8``: a dilated CONV_2D (``ef_conv_s8``'s bodies on the real taps, same scratch);
- ``ef_conv_2x2_dilated_s8``: ``ef_conv_2x2_s8`` for a dilated CONV_2D (its columns gather the real taps), on
  Cortex-M4/M7/M33 where the window (``_conv_2x2_dilated_applies``) fits, an alternative elsewhere;
- ``ef_shift_s8``: depthwise with at most one non-zero tap per kernel (a shift, see below);
- ``ef_depthwise_conv_3x3_s8``: 3x3, depth multiplier 1, padding <= 1 before (a multiplier > 1
  on Cortex-M55 where its Helium window path takes it, ``_dw3x3_mult_applies``);
- ``ef_depthwise_conv_3x3_dot_s8`` / ``ef_depthwise_conv_3x3_dot_mult_s8``: a 3x3 depthwise layer (multiplier 1 /
  > 1) on Cortex-M55 where its Helium body takes it
  (each output one gathered 9-tap VMLADAV, ``_dw3x3_dot_applies``), an alternative elsewhere;
- ``ef_depthwise_conv_3x3_px_s8``: the 3x3 kernel's multiplier-1 layer pixel by pixel over 4-channel groups, on
  Cortex-M4/M7/M33 at stride 2 and where the ring's lines are short or few and ragged (``_dw3x3_px_faster``), an
  alternative elsewhere;
- ``ef_depthwise_conv_3x3_px_mult_s8``: the same for a depth multiplier that is a multiple of 4 (a group's 4
  outputs read one input), on Cortex-M4/M7/M33 with padding <= 1, an alternative elsewhere;
- ``ef_depthwise_conv_3x3_px_mult_any_s8``: the same for any other multiplier >= 2 (a group's 4 outputs read
  one input or two neighbouring ones), on Cortex-M4/M7/M33 with padding <= 1, an alternative elsewhere and
  for the multiples of 4;
- ``ef_depthwise_conv_3x3_dilated_s8``: a dilated 3x3 depthwise layer (the zero-inserted filter of
  ``_dw_dilation``), each output phase through the 3x3 kernel's DSP ring / Helium window where they fit
  (``_dw_dilated_fast``), an alternative elsewhere;
- ``ef_depthwise_conv_3x3_px_dilated_s8``: such a layer with multiplier 1, each phase through the pixel kernel's
  plan, on Cortex-M4/M7/M33 where its phases are short (``_dw_px_dilated_faster``), an alternative elsewhere;
- ``ef_depthwise_conv_3x3_dot_dilated_s8``: such a layer with multiplier 1 on Cortex-M55 where the dot kernel's
  window, stored residue by residue, holds it (``_dw_dot_dilated_applies``), an alternative elsewhere;
- ``ef_depthwise_conv_s8``: any other depthwise convolution.
The DSP / Helium / portable body of each kernel is chosen when the library is compiled for the
target (``EF_NN_USE_DSP`` / ``EF_NN_USE_MVE``).

A dilated CONV_2D keeps its kh x kw filter and passes the dilation to ``ef_conv_dilated_s8`` (its
columns gather only the real taps); a dilated depthwise convolution runs as the same convolution with zeros
between the filter taps (a (k-1)*d+1 filter: bit-exact, its kernels skip the zero taps); TFLite's SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND
form of a dilated convolution is recognised and folded into a zero-point PAD and one dilated
convolution (:func:`fold_space_to_batch`).

A DEPTHWISE_CONV_2D whose kernels have at most one non-zero tap each (a hardened shift layer)
runs on ``ef_shift_s8``, a table look-up per output value with 0 MACs (:mod:`.shift`); one with at
most two (some channel two, a SAL2) on ``ef_shift2_s8``, 2 multiplies per output (:mod:`.shift2`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.export import quant
from edgefact.export.ir import Layer, shape4
from edgefact.export.ops import conv_first
from edgefact.export.ops import shift as shift_op
from edgefact.export.ops import shift2 as shift2_op
from edgefact.export.ops.base import (
    CStruct,
    Dims,
    Emission,
    EmitContext,
    LowerContext,
    OpDef,
    c_value,
    weighted_operands,
)
from edgefact.export.ops.registry import register
from edgefact.export.pad_fold import EXPLICIT_PADDING, conv_padding
from edgefact.export.tflite_model import Operator, Tensor, TFLiteModel


@dataclass(frozen=True)
class ConvParams(CStruct):
    """ef_conv_params."""

    C_TYPE: ClassVar[str] = "ef_conv_params"
    input_offset: int
    output_offset: int
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    activation: tuple[int, int]


@dataclass(frozen=True)
class DwConvParams(CStruct):
    """ef_dw_conv_params."""

    C_TYPE: ClassVar[str] = "ef_dw_conv_params"
    input_offset: int
    output_offset: int
    ch_mult: int
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    activation: tuple[int, int]


@dataclass(frozen=True)
class ConvArgs:
    """Arguments of a (depthwise) convolution call."""

    params: ConvParams | DwConvParams
    input_dims: Dims
    filter_dims: Dims
    output_dims: Dims
    groups: int  # 1 for depthwise
    padding_after: tuple[int, int]


SHORT_1X1 = "ef_conv_1x1_short_s8"
_DSP_CORES = ("cortex-m4", "cortex-m7", "cortex-m33")


def _rq_fast(layer: Layer) -> bool:
    """Whether every output channel is on the kernels' fast requantization (multiplier >= 0,
    -23 <= shift <= -2; ``ef_conv_rq_fast`` in the C library), a precondition of the DSP / Helium
    table and short kernels."""
    m, s = layer.consts["multiplier"], layer.consts["shift"]
    return bool(np.all(m >= 0) and np.all(s <= -2) and np.all(s >= -23))


def _pointwise(a: ConvArgs) -> bool:
    """An unpadded 1x1 CONV_2D (``ef_conv_1x1_s8``'s layer when ungrouped)."""
    return ((a.filter_dims.h, a.filter_dims.w) == (1, 1) and a.params.padding == (0, 0)
            and a.padding_after == (0, 0))


def _short_1x1_applies(layer: Layer) -> bool:
    """Whether ``ef_conv_1x1_short_s8`` takes its DSP path (src/ef_conv_1x1_short_s8.c): an unpadded
    1x1 CONV_2D with 4, 8, 12, 16 or 20 input channels per group (grouped too: each group through
    the same loops, its slice of every pixel) and every channel on the fast requantization
    (multiplier >= 0, -23 <= shift <= -2, ``ef_conv_rq_fast``)."""
    a = layer.args
    if (not isinstance(a, ConvArgs) or not isinstance(a.params, ConvParams) or a.filter_dims.c not in (4, 8, 12, 16, 20)
            or not _pointwise(a)):
        return False
    return _rq_fast(layer)


#: deepest filter (input channels per group) ``ef_conv_1x1_short_s8``'s Helium body takes (its tables:
#: 3 vectors per pixel; with a fourth it beat ``ef_conv_1x1_s8`` at 64 too, kws_dscnn's 25x5x64 -> 64
#: 122,109 -> 83,878 instructions, but that firmware then links both kernels: flash 1.215x of the
#: pre-work firmware, over bench_mlperf's 1.15x)
SHORT_1X1_MVE_MAX_C = 48


def _short_1x1_mve_applies(layer: Layer) -> bool:
    """Whether ``ef_conv_1x1_short_s8`` takes its Helium path on Cortex-M55: an unpadded, undilated
    1x1 CONV_2D with 1-48 input channels per group (4 pixels x 4 output channels per step, 16 bytes
    of each pixel at a time) and every channel on the fast requantization (as
    ``_short_1x1_applies``)."""
    a = layer.args
    if (not isinstance(a, ConvArgs) or not isinstance(a.params, ConvParams)
            or not 1 <= a.filter_dims.c <= SHORT_1X1_MVE_MAX_C
            or not _pointwise(a) or a.params.dilation != (1, 1)):
        return False
    return _rq_fast(layer)


DSP_1X1 = "ef_conv_1x1_2x2_s8"
#: fewest input channels for which the generator picks ``ef_conv_1x1_2x2_s8`` over the short 1x1
#: (below it, the 4 requantizations and 9 instructions of bookkeeping per channel pair lose to the
#: short kernel's channel loop: zoo M4 4 -> 8 / 16 at 0.28-0.30 against 0.31-0.33, 8 -> 16 / 32 0.47-0.52
#: against 0.49-0.54; 12 -> 32 / 48 0.62-0.68 against 0.59-0.64)
DSP_1X1_MIN_C = 12
#: deepest per-group input ``ef_conv_1x1_2x2_s8`` takes (its stack table)
DSP_1X1_MAX_C = 64


def _1x1_2x2_applies(layer: Layer) -> bool:
    """Whether ``ef_conv_1x1_2x2_s8`` takes the layer (src/ef_conv_1x1_2x2_s8.c, DSP cores only): an
    unpadded 1x1 CONV_2D with 4-64 (a multiple of 4) input channels per group (grouped too: each
    group its slice of every pixel) and every channel on the fast requantization (as
    ``_short_1x1_applies``)."""
    a = layer.args
    if (not isinstance(a, ConvArgs) or not isinstance(a.params, ConvParams)
            or a.filter_dims.c % 4 != 0 or not 4 <= a.filter_dims.c <= DSP_1X1_MAX_C
            or not _pointwise(a) or a.params.dilation != (1, 1)):
        return False
    return _rq_fast(layer)


CONV_2X2 = "ef_conv_2x2_s8"
#: deepest per-group window ``ef_conv_2x2_s8`` takes (its unrolled loop: 72 groups of 4 values)
CONV_2X2_MAX_DEPTH = 288


def _conv_2x2_window(layer: Layer) -> bool:
    """Whether ``ef_conv_2x2_s8`` / ``ef_conv_2x2_dilated_s8`` take the layer on the DSP cores
    (src/ef_conv_2x2_s8.c), dilation aside: a CONV_2D with a window of kh*kw*c <= 288 real taps' values
    per group, c a multiple of 4, and every channel on the fast requantization (as
    ``_short_1x1_applies``). Unpadded 1x1 layers up to 64 channels per group are left to the 1x1
    kernels, which read the pixels in place (the DSP 1x1 table kernel stops at 64: deeper ones come
    here, ``ef_conv_1x1_s8``'s DSP loop widens every filter word per pixel pair)."""
    a = layer.args
    if (not isinstance(a, ConvArgs) or not isinstance(a.params, ConvParams) or a.filter_dims.c % 4 != 0
            or a.filter_dims.h * a.filter_dims.w * a.filter_dims.c > CONV_2X2_MAX_DEPTH):
        return False
    if _pointwise(a) and a.filter_dims.c <= DSP_1X1_MAX_C:
        return False
    return _rq_fast(layer)


def _conv_2x2_applies(layer: Layer) -> bool:
    """Whether ``ef_conv_2x2_s8`` takes the layer on the DSP cores: a ``_conv_2x2_window`` without dilation."""
    return _conv_2x2_window(layer) and layer.args.params.dilation == (1, 1)


def _conv_2x2_dilated_applies(layer: Layer) -> bool:
    """Whether ``ef_conv_2x2_dilated_s8`` takes the dilated layer on the DSP cores: a ``_conv_2x2_window``
    with a dilation (its columns gather the real taps, dilation apart)."""
    return _conv_2x2_window(layer) and layer.args.params.dilation != (1, 1)


FIRST = "ef_conv_first_s8"
FIRST_C12 = conv_first.KERNEL
FIRST_C1 = "ef_conv_first_c1_s8"
CONV_DILATED = "ef_conv_dilated_s8"
CONV_2X2_DIL = "ef_conv_2x2_dilated_s8"


def _first_c12_applies(layer: Layer) -> bool:
    """Whether ``ef_conv_first_c12_s8`` takes the layer (:func:`.conv_first.first_c12_applies`)."""
    a = layer.args
    return (isinstance(a, ConvArgs) and isinstance(a.params, ConvParams)
            and conv_first.first_c12_applies(a.filter_dims, a.groups, a.params.dilation,
                                             a.params.input_offset, layer.consts))


def _first_applies(layer: Layer) -> bool:
    """Whether ``ef_conv_first_s8`` takes its DSP path (src/ef_conv_first_s8.c): an ungrouped 3x3
    layer of ``ef_conv_s8`` with 1-4 input channels, no dilation and every channel on the fast
    requantization (as ``_short_1x1_applies``)."""
    a = layer.args
    if (not isinstance(a, ConvArgs) or not isinstance(a.params, ConvParams) or a.groups != 1
            or (a.filter_dims.h, a.filter_dims.w) != (3, 3) or not 1 <= a.filter_dims.c <= 4
            or a.params.dilation != (1, 1) or not -127 <= a.params.input_offset <= 128):
        return False
    return _rq_fast(layer)


def _first_c1_applies(layer: Layer) -> bool:
    """Whether ``ef_conv_first_c1_s8`` takes its Helium path: a ``_first_applies`` layer with 1 input
    channel whose padded strip row (P = (out_w - 1) * stride_w + 3 bytes) keeps the gathers' u8
    offsets in range (4P + 3 stride_w <= 255, stride_w <= 8) and whose biases with the input offset
    folded in, b' = bias + in_off * sum(w) = r + 127 q (q truncated), fit the gathers' spare lanes
    (-768 <= q <= 762)."""
    if not _first_applies(layer) or layer.args.filter_dims.c != 1:
        return False
    sw = layer.args.params.stride[1]
    if sw > 8 or 4 * ((layer.args.output_dims.w - 1) * sw + 3) + 3 * sw > 255:
        return False
    filt = np.asarray(layer.consts["filter"], dtype=np.int64).reshape(layer.args.filter_dims.n, -1)
    bias = np.asarray(layer.consts["bias"], dtype=np.int64) if "bias" in layer.consts else 0
    b = bias + layer.args.params.input_offset * filt.sum(axis=1)
    q = np.sign(b) * (np.abs(b) // 127)
    return bool(np.all((q >= -768) & (q <= 762)))


#: table words ``ef_conv_2x2_s8`` keeps in its scratch at most (EF_CONV_2X2_TAB_WORDS, 8 KB)
CONV_2X2_TAB_WORDS = 2048


def conv_scratch_bytes(kernel: str, filter_dims: Dims, in_c: int | None = None) -> int:
    """Scratch of ``ef_conv_s8``: two int16 columns of kh*kw*filter_c values (the DSP path
    computes two output pixels per pass; the other paths use the first); none for the 1x1 kernel.
    ``ef_conv_2x2_s8`` (``in_c``: the input channels, for the group count): the widened-filter
    table of one group's channel pairs, kh*kw*c + 10 words each, at most CONV_2X2_TAB_WORDS of
    whole pairs, when larger than that (as ``ef_conv_2x2_s8_get_buffer_size``)."""
    if kernel in ("ef_conv_1x1_s8", SHORT_1X1, DSP_1X1, FIRST_C12):
        return 0
    k = filter_dims.h * filter_dims.w * filter_dims.c
    generic = 4 * k
    if kernel not in (CONV_2X2, CONV_2X2_DIL):
        return generic
    if in_c is None:
        raise ValueError("ef_conv_2x2_s8's scratch depends on the input channels")
    pairs = filter_dims.n // (in_c // filter_dims.c) // 2
    return max(generic, 4 * min(pairs, CONV_2X2_TAB_WORDS // (k + 10)) * (k + 10))


def dilate_filter(filt: np.ndarray, dh: int, dw: int) -> np.ndarray:
    """[o, kh, kw, i] -> [o, (kh-1)*dh+1, (kw-1)*dw+1, i] with zeros between the taps: the same
    convolution without dilation (every product with a zero tap is 0, exactly)."""
    if (dh, dw) == (1, 1):
        return filt
    o, kh, kw, i = filt.shape
    out = np.zeros((o, (kh - 1) * dh + 1, (kw - 1) * dw + 1, i), dtype=filt.dtype)
    out[:, ::dh, ::dw, :] = filt
    return out


def fold_space_to_batch(model: TFLiteModel) -> tuple[TFLiteModel, list[tuple[int, int, int]]]:
    """Recognise SPACE_TO_BATCH_ND -> (DEPTHWISE_)CONV_2D -> BATCH_TO_SPACE_ND, the way older
    converters wrote a dilated convolution, and replace the three by a PAD and one dilated VALID
    convolution. The PAD keeps TFLite Micro's semantics exactly: its SPACE_TO_BATCH_ND pads with
    the value 0, not with the zero point, so the padded taps are not "skipped" as a padded
    convolution's would be. Returns the rewritten model (new operators and tensors appended; the
    operator indices of the others unchanged) and the (space_to_batch, conv, batch_to_space)
    indices folded."""
    consumers: dict[int, list[int]] = {}
    for k, op in enumerate(model.operators):
        for t in op.inputs:
            if t >= 0:
                consumers.setdefault(t, []).append(k)
    ops: list[Operator | list[Operator]] = list(model.operators)
    tensors = list(model.tensors)
    drop: set[int] = set()
    fused: list[tuple[int, int, int]] = []

    def const(t: int) -> np.ndarray | None:
        return model.tensors[t].data if t >= 0 else None

    for i, s2b in enumerate(model.operators):
        if s2b.name != "SPACE_TO_BATCH_ND" or len(s2b.inputs) < 3:
            continue
        block, pads = const(s2b.inputs[1]), const(s2b.inputs[2])
        users = consumers.get(s2b.outputs[0], [])
        if block is None or pads is None or len(users) != 1 or block.size != 2 or pads.size != 4:
            continue
        j = users[0]
        conv = model.operators[j]
        if conv.name not in ("CONV_2D", "DEPTHWISE_CONV_2D") or conv.inputs[0] != s2b.outputs[0]:
            continue
        users2 = consumers.get(conv.outputs[0], [])
        if len(users2) != 1 or model.operators[users2[0]].name != "BATCH_TO_SPACE_ND":
            continue
        k = users2[0]
        b2s = model.operators[k]
        block2, crops = const(b2s.inputs[1]), const(b2s.inputs[2]) if len(b2s.inputs) > 2 else None
        if block2 is None or crops is None or not np.array_equal(block, block2) or crops.size != 4:
            continue
        o = conv.options
        if (int(o.get("stride_h", 1)), int(o.get("stride_w", 1))) != (1, 1) or o.get("padding") != "VALID":
            continue
        p, cr = np.asarray(pads).reshape(2, 2), np.asarray(crops).reshape(2, 2)
        before, after = p[:, 0] - cr[:, 0], p[:, 1] - cr[:, 1]
        if np.any(before < 0) or np.any(after < 0):
            continue
        x = model.tensors[s2b.inputs[0]]
        n, h, w, c = x.shape
        padded = (n, h + int(before[0] + after[0]), w + int(before[1] + after[1]), c)
        pad_spec = np.array([[0, 0], [before[0], after[0]], [before[1], after[1]], [0, 0]], np.int32)
        pads_t = Tensor(len(tensors), f"{x.name}/dilation_paddings", (4, 2), "INT32", 0, None, pad_spec)
        mid = Tensor(len(tensors) + 1, f"{x.name}/dilation_padded", padded, x.type_name, 0, x.quantization)
        tensors += [pads_t, mid]
        pad_op = Operator(s2b.index, "PAD", (x.index, pads_t.index), (mid.index,), {},
                          options_type="PadOptions")
        options = dict(o, dilation_h_factor=int(block.reshape(-1)[0]), dilation_w_factor=int(block.reshape(-1)[1]))
        ops[j] = [pad_op, dataclasses.replace(conv, inputs=(mid.index, *conv.inputs[1:]), outputs=b2s.outputs,
                                              options=options)]
        drop |= {i, k}
        fused.append((s2b.index, conv.index, b2s.index))
    if not fused:
        return model, []
    flat: list[Operator] = []
    for n_, item in enumerate(ops):
        if n_ in drop:
            continue
        flat += item if isinstance(item, list) else [item]
    return dataclasses.replace(model, tensors=tensors, operators=flat), fused


def _dw3x3_applies(a: ConvArgs) -> bool:
    """The 3x3 depthwise kernel: depth multiplier 1, padding <= 1 before."""
    p = a.params
    return ((a.filter_dims.h, a.filter_dims.w) == (3, 3) and isinstance(p, DwConvParams) and p.ch_mult == 1
            and p.padding[0] <= 1 and p.padding[1] <= 1)


#: DW_MULT_MAX_STEP of ef_depthwise_conv_3x3_s8.c: a segment's 16-bit gather offsets span up to
#: 30 line steps (DW_SEG + 2 entries at stride 1, 2 * DW_SEG2 + 1 at stride 2)
DW_MULT_MAX_STEP = 65535 // 30


def _dw3x3_mult_applies(a: ConvArgs, shifts: np.ndarray) -> bool:
    """The 3x3 depthwise kernel with a depth multiplier > 1: where its Helium window path takes it
    (``dw_mult_ok`` in ef_depthwise_conv_3x3_s8.c): equal strides 1 with >= 5 output lines or 2
    with >= 3, a line step <= DW_MULT_MAX_STEP bytes, every shift a right shift."""
    p = a.params
    if not isinstance(p, DwConvParams) or p.ch_mult == 1 or (a.filter_dims.h, a.filter_dims.w) != (3, 3):
        return False
    if p.padding[0] > 1 or p.padding[1] > 1:
        return False
    s, i, o = p.stride[0], a.input_dims, a.output_dims
    step = i.w * i.c if o.h > o.w else i.c
    return (s == p.stride[1] and s in (1, 2) and min(o.h, o.w) >= (5 if s == 1 else 3) and step <= DW_MULT_MAX_STEP
            and bool(np.all(shifts < 0)))


def _dw_ring_fits(a: ConvArgs) -> bool:
    """Where the 3x3 kernel's DSP ring path applies (``dw_ring_fits`` in ef_depthwise_conv_3x3_s8.c):
    stride 1 or 2 along the ring lines (the input rows, the columns when the output is taller than
    wide), a padded line of at most 56 entries and at most 52 outputs along it (stride 2: 26)."""
    p, i, o = a.params, a.input_dims, a.output_dims
    t = o.h > o.w
    s = p.stride[0] if t else p.stride[1]
    n_out, length = (o.h, i.h + p.padding[0]) if t else (o.w, i.w + p.padding[1])
    return s in (1, 2) and (n_out - 1) * s + 5 <= 56 and length <= 56


DOT = "ef_depthwise_conv_3x3_dot_s8"
DOT_MULT = "ef_depthwise_conv_3x3_dot_mult_s8"
#: DOT_WP_MAX of ef_depthwise_conv_3x3_dot_s8.c: window columns whose 9 taps stay within 8-bit offsets
DOT_WP_MAX = 62
#: DOT_WIN of ef_depthwise_conv_3x3_dot_s8.c: the window's bytes
DOT_WIN = 2048


def _dw3x3_dot_applies(a: ConvArgs, shifts: np.ndarray) -> bool:
    """Where ``ef_depthwise_conv_3x3_dot_s8``'s Helium body takes the layer (``dot_ok``): a 3x3
    depthwise layer (any depth multiplier) with padding <= 1 before, equal strides 1 or 2, an even
    input channel count, wp = (out_w - 1) * stride + 3 <= DOT_WP_MAX window columns, 16-bit gather
    offsets (the fill's (wx - 1) C over a window row's wx = min(in_w, wp - pad) input pixels, the
    weights' 7 OC), at least 4 output pixels, every shift a right shift."""
    if not (_dw3x3_applies(a) or _dw3x3_mult(a)):
        return False
    p, i, o = a.params, a.input_dims, a.output_dims
    s = p.stride[0]
    wp = (o.w - 1) * s + 3
    wx = min(i.w, wp - p.padding[1])
    return (s == p.stride[1] and s in (1, 2) and i.c % 2 == 0 and wp <= DOT_WP_MAX
            and (wx - 1) * i.c <= 65535 and 7 * o.c <= 65535
            and o.h * o.w >= 4 and bool(np.all(shifts < 0)))


MULT = "ef_depthwise_conv_3x3_mult_s8"


def _dot_kernel(a: ConvArgs) -> str:
    """The dot kernel's entry for a layer in ``_dw3x3_dot_applies``: multiplier 1 or > 1 (separate
    entries, so a multiplier-1 firmware links no multiplier body: 1.7 KB on kws_dscnn)."""
    return DOT if a.params.ch_mult == 1 else DOT_MULT


def _dw3x3_mult(a: ConvArgs) -> bool:
    """``ef_depthwise_conv_3x3_mult_s8``'s precondition: 3x3, a depth multiplier > 1, padding <= 1
    before."""
    p = a.params
    return (isinstance(p, DwConvParams) and p.ch_mult > 1 and (a.filter_dims.h, a.filter_dims.w) == (3, 3)
            and p.padding[0] <= 1 and p.padding[1] <= 1)


DILATED = "ef_depthwise_conv_3x3_dilated_s8"


def _dw_dilation(layer: Layer) -> tuple[int, int] | None:
    """(dh, dw) when ``ef_depthwise_conv_3x3_dilated_s8`` takes the layer: a depthwise filter of
    (2 dh + 1) x (2 dw + 1) taps (not 3x3) that is zero off the 3x3 lattice (a zero-inserted dilated
    3x3: ``dilate_filter``), stride 1, top / left padding <= the dilation."""
    a = layer.args
    if not isinstance(a, ConvArgs) or not isinstance(a.params, DwConvParams) or "filter" not in layer.consts:
        return None
    fh, fw = a.filter_dims.h, a.filter_dims.w
    if fh < 3 or fw < 3 or fh % 2 == 0 or fw % 2 == 0 or (fh, fw) == (3, 3):
        return None
    dh, dw = (fh - 1) // 2, (fw - 1) // 2
    p = a.params
    if p.stride != (1, 1) or p.padding[0] > dh or p.padding[1] > dw:
        return None
    off = np.ones((fh, fw), dtype=bool)
    off[::dh, ::dw] = False
    return None if np.any(layer.consts["filter"][:, off, :] != 0) else (dh, dw)


def _dw_dilated_fast(layer: Layer, core: str) -> bool:
    """Whether every output phase of the dilated layer fits the 3x3 kernel's fast path on ``core``
    (``dw_phase`` and the fit test in ef_depthwise_conv_3x3_dilated_s8): the phase layer on the
    input sub-lattice, its lines along the longer output side; DSP: <= 52 outputs and <= 56 entries
    with the padding per line; Helium: >= 5 output lines, a line step <= 2184 bytes, shifts < 0."""
    d = _dw_dilation(layer)
    if d is None or core not in (*_DSP_CORES, "cortex-m55"):
        return False
    if core == "cortex-m55" and not bool(np.all(layer.consts["shift"] < 0)):
        return False
    a: ConvArgs = layer.args
    i, o, p = a.input_dims, a.output_dims, a.params

    def axis(r: int, pad: int, d_: int, n_in: int, n_out: int) -> tuple[int, int, int]:
        q = -1 if r - pad < 0 else 0
        e = r - pad - q * d_
        return ((n_in - e + d_ - 1) // d_ if e < n_in else 0), -q, ((n_out - r + d_ - 1) // d_ if r < n_out else 0)

    for ry in range(d[0]):
        for rx in range(d[1]):
            h, ph, oh = axis(ry, p.padding[0], d[0], i.h, o.h)
            w, pw, ow = axis(rx, p.padding[1], d[1], i.w, o.w)
            if oh == 0 or ow == 0:
                continue
            t = oh > ow
            length, pad, n_out, lines = (h, ph, oh, ow) if t else (w, pw, ow, oh)
            step = d[0] * i.w * i.c if t else d[1] * i.c
            if core == "cortex-m55" and (lines < 5 or step > 2184):
                return False
            if core != "cortex-m55" and (n_out + 4 > 56 or length + pad > 56):
                return False
    return True


PX_DIL = "ef_depthwise_conv_3x3_px_dilated_s8"


def _dw_px_dilated(layer: Layer) -> bool:
    """``ef_depthwise_conv_3x3_px_dilated_s8``'s precondition: a dilated 3x3 (``_dw_dilation``) with
    depth multiplier 1."""
    return _dw_dilation(layer) is not None and layer.args.params.ch_mult == 1


def _dw_px_dilated_faster(layer: Layer, core: str) -> bool:
    """Where the pixel kernel's phases beat the ring's (``_dw_dilated_fast``) on the DSP cores: every
    channel in its 4-channel groups on the asm loops (as ``_dw3x3_px_faster``) and the phases, the
    layer's outputs taken one residue in dh x dw at a time, short or few and ragged by the rule of
    ``_dw3x3_px_region`` (their longer side: out / dilation, rounded up), or the ring does not take the
    layer. Measured on the M4 (one-op 28x28x32 / 40x40x16 / 30x30x16 / 48x48x16, dilation 2 / 2 / 3 / 2,
    ring against pixel phases): 0.272 / 0.319 / 0.229 / 0.335 against 0.326 / 0.329 / 0.309 / 0.330
    MAC/instr."""
    if core not in _DSP_CORES or not _dw_px_dilated(layer):
        return False
    a: ConvArgs = layer.args
    if a.input_dims.c % 4 or not _px_quant_ok(layer.consts["multiplier"], layer.consts["shift"],
                                              layer.consts.get("bias")):
        return False
    dh, dw = _dw_dilation(layer)
    o = a.output_dims
    return not _dw_dilated_fast(layer, core) or _px_lines_short(-(-o.h // dh), -(-o.w // dw))


DOT_DIL = "ef_depthwise_conv_3x3_dot_dilated_s8"
#: DOT_DIL_MAX of ef_depthwise_conv_3x3_dot_s8.c: the largest dilation of its dilated entry
DOT_DIL_MAX = 8


def _dw_dot_dilated_applies(layer: Layer) -> bool:
    """Where ``ef_depthwise_conv_3x3_dot_dilated_s8``'s Helium body takes the layer (``dot_dil_ok``):
    a dilated 3x3 (``_dw_dilation``: stride 1, padding <= the dilation) by at most DOT_DIL_MAX,
    multiplier 1, an even channel count, a window row stored residue by residue of
    dw * ceil((out_w + 2 dw) / dw) <= DOT_WP_MAX pixels holding >= 3 dh rows in the 2 KB window,
    16-bit filter offsets (taps 0..7: tap 7's (2 dh (2 dw + 1) + dw) OC the largest) and fill
    offsets (the 8-pixel gather's 7 dw C; a residue's last pixel's (n - 1) dw C, n = ceil(min(in_w,
    wp0 - pad) / dw) its most input pixels), >= 4 output pixels, every shift a right shift."""
    d = _dw_dilation(layer)
    if d is None:
        return False
    a: ConvArgs = layer.args
    dh, dw = d
    i, o = a.input_dims, a.output_dims
    wp0 = o.w + 2 * dw
    wp = dw * -(-wp0 // dw)
    n = -(-min(i.w, wp0 - a.params.padding[1]) // dw)  # the most input pixels of a residue's row
    return (a.params.ch_mult == 1 and i.c % 2 == 0 and max(dh, dw) <= DOT_DIL_MAX and wp <= DOT_WP_MAX
            and DOT_WIN // (2 * wp) // dh >= 3 and (2 * dh * (2 * dw + 1) + dw) * o.c <= 65535
            and 7 * dw * i.c <= 65535 and (n - 1) * dw * i.c <= 65535
            and o.h * o.w >= 4 and bool(np.all(layer.consts["shift"] < 0)))


LINE = "ef_depthwise_conv_line_s8"
PX = "ef_depthwise_conv_3x3_px_s8"
PX_MULT = "ef_depthwise_conv_3x3_px_mult_s8"
PX_MULT_ANY = "ef_depthwise_conv_3x3_px_mult_any_s8"


def _dw3x3_px(a: ConvArgs) -> bool:
    """``ef_depthwise_conv_3x3_px_s8``'s precondition: 3x3, depth multiplier 1 (any stride, padding)."""
    return (isinstance(a.params, DwConvParams) and a.params.ch_mult == 1
            and (a.filter_dims.h, a.filter_dims.w) == (3, 3))


def _dw3x3_px_mult(a: ConvArgs) -> bool:
    """``ef_depthwise_conv_3x3_px_mult_s8``'s precondition: 3x3, a depth multiplier that is a
    multiple of 4 (any stride, padding)."""
    return (isinstance(a.params, DwConvParams) and a.params.ch_mult % 4 == 0
            and (a.filter_dims.h, a.filter_dims.w) == (3, 3))


def _dw3x3_px_mult_any(a: ConvArgs) -> bool:
    """``ef_depthwise_conv_3x3_px_mult_any_s8``'s precondition: 3x3, a depth multiplier >= 2 (any
    stride, padding)."""
    return (isinstance(a.params, DwConvParams) and a.params.ch_mult >= 2
            and (a.filter_dims.h, a.filter_dims.w) == (3, 3))


def _dw3x3_px_region(a: ConvArgs) -> bool:
    """The shapes ``_dw3x3_px_faster`` picks the pixel kernels for (quantization aside), where they
    are alternatives: padding <= 1, and a depth multiplier > 1 (``ef_depthwise_conv_3x3_px_mult_s8``
    for a multiple of 4: a group's 4 outputs read one input, 15 instructions per 3 taps x 4 channels
    against 24 at multiplier 1; ``ef_depthwise_conv_3x3_px_mult_any_s8`` otherwise: 18 where a group
    reads two inputs; the ring of ``ef_depthwise_conv_3x3_mult_s8`` widens each input line once per
    multiplier index), or
    multiplier 1 (``ef_depthwise_conv_3x3_px_s8``) with channels in 4-channel groups at stride 2 or
    at stride 1 where the ring's lines (the longer output extent) are short or few with a ragged
    end: shorter than 24, or not a multiple of its 4-output step on fewer than 8 lines."""
    p, o = a.params, a.output_dims
    if not (_dw3x3_px(a) or _dw3x3_px_mult_any(a)) or p.padding[0] > 1 or p.padding[1] > 1:
        return False
    if p.ch_mult != 1:
        return True
    if a.input_dims.c % 4:
        return False
    return p.stride == (2, 2) or (p.stride == (1, 1) and _px_lines_short(o.h, o.w))


def _px_lines_short(oh: int, ow: int) -> bool:
    """The stride-1 ring/pixel rule on an oh x ow output (a layer's, or a dilated layer's phase):
    the ring's lines (the longer extent) are shorter than 24, or not a multiple of its 4-output step
    on fewer than 8 lines."""
    line, lines = max(oh, ow), min(oh, ow)
    return line < 24 or (line % 4 != 0 and lines < 8)


def _px_kernel(a: ConvArgs) -> str:
    """The pixel kernel of a layer in ``_dw3x3_px_region`` (separate entries, so that a firmware
    links only the loops its multipliers need)."""
    m = a.params.ch_mult
    return PX if m == 1 else PX_MULT if m % 4 == 0 else PX_MULT_ANY


#: the largest |bias| the pixel kernels' asm loops take (``DWP_BIAS_MAX`` in
#: ef_depthwise_conv_3x3_px_s8.c: |2 * accumulator| < 2^30 for any input); a group with a larger
#: one runs their scalar loop
DWP_BIAS_MAX = (1 << 29) - 2 * 128 * 9 * 128 - 1


def _dw3x3_px_faster(a: ConvArgs, multipliers: np.ndarray, shifts: np.ndarray,
                     bias: np.ndarray | None = None) -> bool:
    """Where the pixel kernels' DSP body beats the 3x3 kernel's ring (measured on the M4 with
    one-op 16-channel layers and ``scripts/bench_mlperf``): every channel in its 4-channel groups on
    their asm loops (``ef_rq_chan_ok``: multiplier >= 0, shift in [-23, -2]; |bias| <=
    ``DWP_BIAS_MAX``), padding <= 1, and a depth multiplier > 1, or stride 2
    (the ring widens 4 inputs per output: 0.20-0.23 against 0.32 MAC/instr), or stride 1 where the
    ring's line set-up or ragged line ends weigh (7x7 0.18 / 16x16 0.296 / 20x20 0.319 against
    0.29 / 0.325 / 0.328; KWS's 25 x 5 0.302 and 26 x 6 0.306 against 0.319 / 0.315; the ring
    stays ahead on 24x24 0.335, 28 x 7 0.323, 29x29 0.346, 40 x 6 0.343, 48 x 8 0.361 against
    0.330 / 0.319 / 0.331 / 0.322 / 0.326)."""
    return _dw3x3_px_region(a) and _px_quant_ok(multipliers, shifts, bias)


def _px_quant_ok(multipliers: np.ndarray, shifts: np.ndarray, bias: np.ndarray | None) -> bool:
    """Every channel on the pixel kernels' asm loops (``dwp_group_of``): ``ef_rq_chan_ok``
    (multiplier >= 0, shift in [-23, -2]) and |bias| <= ``DWP_BIAS_MAX``."""
    return (bool(np.all(multipliers >= 0)) and bool(np.all((shifts <= -2) & (shifts >= -23)))
            and (bias is None or bool(np.all(np.abs(np.asarray(bias, np.int64)) <= DWP_BIAS_MAX))))




def _dw_line(a: ConvArgs) -> bool:
    """``ef_depthwise_conv_line_s8``'s precondition: a 1 x k or k x 1 depthwise filter, 2 <= k <= 7."""
    f = a.filter_dims
    return isinstance(a.params, DwConvParams) and (f.h == 1 or f.w == 1) and 2 <= max(f.h, f.w) <= 7


def _dw_line_fast(a: ConvArgs) -> bool:
    """Where its DSP body runs (``dwl_fits`` in ef_depthwise_conv_line_s8.c): along the kernel's line
    (the rows for 1 x k, the columns for k x 1) stride 1 or 2, padding + entries <= 128 and
    stride * outputs + 12 <= 128."""
    if not _dw_line(a):
        return False
    p, i, o = a.params, a.input_dims, a.output_dims
    vertical = a.filter_dims.w == 1
    s, pad, length, n_out = ((p.stride[0], p.padding[0], i.h, o.h) if vertical
                             else (p.stride[1], p.padding[1], i.w, o.w))
    return s in (1, 2) and pad + length <= 128 and s * n_out + 12 <= 128


def _dw_line_fast_mve(a: ConvArgs, shifts: np.ndarray) -> bool:
    """Where its Helium body runs (``dwl_mve_fits``): no padding across the kernel's lines (always
    so for a 1 x k / k x 1 filter) and every shift a right shift; any stride and line length (the
    lanes are four neighbouring lines, the taps gathered straight from the input)."""
    if not _dw_line(a):
        return False
    p = a.params
    pad_across = p.padding[1] if a.filter_dims.w == 1 else p.padding[0]
    return pad_across == 0 and bool(np.all(shifts < 0))


class _ConvBase(OpDef):
    depthwise: ClassVar[bool] = False

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        layer = ctx.base(op, "", [op.inputs[0]])
        ctx.require_int8(op, layer)
        filt = ctx.const(op, 1, "filter")
        bias = ctx.const(op, 2, "bias")
        if filt is None:
            raise ctx.fail(op, "no filter tensor")
        inp, out = ctx.tensors[op.inputs[0]], ctx.tensors[layer.output]
        n, h, w, c = shape4(inp.shape)
        o = op.options
        dh, dw = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
        if dh < 1 or dw < 1:
            raise ctx.fail(op, f"dilation {dh}x{dw}; dilation factors must be >= 1")
        sh, sw = int(o["stride_h"]), int(o["stride_w"])
        fo, kh, kw, fi = filt.shape
        if (dh, dw) != (1, 1) and ((kh - 1) * dh + 1 > 2 * h + kh or (kw - 1) * dw + 1 > 2 * w + kw):
            raise ctx.fail(op, f"dilation {dh}x{dw} of a {kh}x{kw} filter spans more than twice the {h}x{w} input; "
                               "every output would read padding only")
        # depthwise: zero taps between the real ones (bit-exact); CONV_2D keeps its real taps and
        # passes the dilation to ef_conv_s8 (a 1x1 filter's dilation changes nothing: dropped)
        filt_data = dilate_filter(filt.data, dh, dw) if self.depthwise else filt.data
        conv_dil = (dh, dw) if not self.depthwise and (kh, kw) != (1, 1) else (1, 1)
        kh_e, kw_e = int(filt_data.shape[1]), int(filt_data.shape[2])
        _, ohh, oww, oc = shape4(out.shape)
        oh, pt, pb = conv_padding(o, 0, h, kh, sh, dh)  # a folded PAD's amounts, else SAME / VALID
        ow, pl, pr = conv_padding(o, 1, w, kw, sw, dw)
        if (ohh, oww) != (oh, ow):
            raise ctx.fail(op, f"output {out.shape} disagrees with the computed {oh}x{ow}")
        act = ctx.act(op, ctx.model.tensors[out.index])
        fused = o.get("fused_activation_function", "NONE").lower()
        if self.depthwise:
            mult = int(o.get("depth_multiplier", 1)) or oc // c
            if oc != c * mult or fi != oc:
                raise ctx.fail(op, f"depthwise filter {filt.shape} does not match input channels {c}")
            params: ConvParams | DwConvParams = DwConvParams(-inp.zero_point, out.zero_point, oc // c, (sh, sw),
                                                             (pt, pl), (1, 1), act)
            groups = 1
            layer.macs = oh * ow * kh * kw * oc * n
            describe = f"{kh}x{kw} dw x{oc // c}"
            layer.kernel = "ef_depthwise_conv_s8"
        else:
            if c % fi != 0 or oc % (c // fi) != 0:
                raise ctx.fail(op, f"filter {filt.shape} does not divide input channels {c} into groups")
            groups = c // fi
            params = ConvParams(-inp.zero_point, out.zero_point, (sh, sw), (pt, pl), conv_dil, act)
            layer.macs = n * oh * ow * kh * kw * fi * oc
            describe = f"{kh}x{kw}" + (f" groups={groups}" if groups > 1 else "")
            pointwise = (kh, kw) == (1, 1) and groups == 1 and (pt, pl, pb, pr) == (0, 0, 0, 0)
            layer.kernel = "ef_conv_1x1_s8" if pointwise else CONV_DILATED if conv_dil != (1, 1) else "ef_conv_s8"
        if (dh, dw) != (1, 1):
            describe += f" dilation {dh}x{dw}" + (f" (as a {kh_e}x{kw_e} filter)" if self.depthwise else "")
        args = ConvArgs(params, Dims.of(inp.shape), Dims.of(tuple(filt_data.shape)), Dims.of(out.shape), groups,
                        (pb, pr))
        layer.args = args
        if self.depthwise and _dw3x3_applies(args):
            layer.kernel = "ef_depthwise_conv_3x3_s8"
        pad_text = f"pad {pt}/{pb}/{pl}/{pr} (PAD folded)" if EXPLICIT_PADDING in o else o["padding"]
        layer.describe = f"{describe} s{sh} {pad_text} {fused}"
        fq = filt.quantization
        if fq is None or filt.type_name != "INT8":
            raise ctx.fail(op, f"filter '{filt.name}' must be int8 with quantization parameters")
        if np.any(fq.zero_points != 0):
            raise ctx.fail(op, "filter zero points must be 0 (symmetric int8 weights)")
        m, s = quant.per_channel_multipliers(inp.scale, fq.scales, out.scale, oc)
        layer.consts["filter"] = filt_data
        layer.const_names["filter"] = filt.name
        if bias is not None:
            if bias.type_name != "INT32":
                raise ctx.fail(op, f"bias '{bias.name}' is {bias.type_name}; int32 biases are supported")
            layer.consts["bias"] = bias.data
            layer.const_names["bias"] = bias.name
        layer.consts["multiplier"] = np.asarray(m, dtype=np.int32)
        layer.consts["shift"] = np.asarray(s, dtype=np.int32)
        if (self.depthwise and ctx.target is not None and ctx.target.core == "cortex-m55"
                and _dw3x3_mult_applies(args, layer.consts["shift"])):
            layer.kernel = "ef_depthwise_conv_3x3_s8"  # the generic kernel's Helium body is ~4x slower
        if (self.depthwise and ctx.target is not None and ctx.target.core == "cortex-m55"
                and layer.kernel in ("ef_depthwise_conv_3x3_s8", "ef_depthwise_conv_s8")
                and _dw3x3_dot_applies(args, layer.consts["shift"])):
            layer.kernel = _dot_kernel(args)  # one gather + VMLADAV per output: no window lines to fill per channel
        if (self.depthwise and ctx.target is not None and ctx.target.core in _DSP_CORES and _dw3x3_mult(args)
                and _dw_ring_fits(args)):
            layer.kernel = MULT  # the ring refilled per multiplier index: the multiplier-1 rate (generic: half)
        if (self.depthwise and layer.kernel == "ef_depthwise_conv_s8" and ctx.target is not None
                and _dw_dilated_fast(layer, ctx.target.core)):
            layer.kernel = DILATED  # each phase through the 3x3 paths; the generic kernel: ~2.5x slower
        if (self.depthwise and layer.kernel in (DILATED, "ef_depthwise_conv_s8") and ctx.target is not None
                and _dw_px_dilated_faster(layer, ctx.target.core)):
            layer.kernel = PX_DIL  # the phases pixel by pixel: no per-line ring set-up on their short lines
        if (self.depthwise and layer.kernel in (DILATED, "ef_depthwise_conv_s8") and ctx.target is not None
                and ctx.target.core == "cortex-m55" and _dw_dot_dilated_applies(layer)):
            layer.kernel = DOT_DIL  # the dot kernel on a window stored residue by residue: the 3x3 taps adjacent
        if (self.depthwise and layer.kernel == "ef_depthwise_conv_s8" and ctx.target is not None
                and ((ctx.target.core in _DSP_CORES and _dw_line_fast(args))
                     or (ctx.target.core == "cortex-m55" and _dw_line_fast_mve(args, layer.consts["shift"])))):
            layer.kernel = LINE
        if ((layer.kernel in ("ef_depthwise_conv_3x3_s8", MULT)
             or (layer.kernel == "ef_depthwise_conv_s8" and self.depthwise and args.params.ch_mult != 1))
                and ctx.target is not None and ctx.target.core in _DSP_CORES
                and _dw3x3_px_faster(args, layer.consts["multiplier"], layer.consts["shift"],
                                     layer.consts.get("bias"))):
            layer.kernel = _px_kernel(args)  # pixel by pixel over 4-channel groups: no per-line set-up, stride 2 at the s1 rate
        if (layer.kernel in ("ef_conv_1x1_s8", "ef_conv_s8") and ctx.target is not None
                and ctx.target.core in _DSP_CORES and _short_1x1_applies(layer)):
            layer.kernel = SHORT_1X1  # grouped 1x1 too (ef_conv_s8's columns cost ~0.6-0.75x of it)
        if (layer.kernel in ("ef_conv_1x1_s8", "ef_conv_s8") and ctx.target is not None
                and ctx.target.core == "cortex-m55" and _short_1x1_mve_applies(layer)):
            layer.kernel = SHORT_1X1  # Helium: 4 pixels x 4 channels per step, K = 1-48
        if (layer.kernel in ("ef_conv_1x1_s8", SHORT_1X1, "ef_conv_s8") and ctx.target is not None
                and ctx.target.core in _DSP_CORES and _1x1_2x2_applies(layer) and args.filter_dims.c >= DSP_1X1_MIN_C):
            layer.kernel = DSP_1X1  # the 2-pixel engine / short table: ~0.7 MAC/instr, this ~0.9-1.1
        if (layer.kernel in ("ef_conv_s8", "ef_conv_1x1_s8") and ctx.target is not None
                and ctx.target.core in _DSP_CORES and _conv_2x2_applies(layer)):
            layer.kernel = CONV_2X2  # the 2-pixel engine widens each filter word per pixel pair: 15 per 16 MACs, this 10
        if (layer.kernel == CONV_DILATED and ctx.target is not None and ctx.target.core in _DSP_CORES
                and _conv_2x2_dilated_applies(layer)):
            layer.kernel = CONV_2X2_DIL  # the same table, the columns gathering the real taps
        if (layer.kernel == "ef_conv_s8" and ctx.target is not None and _first_applies(layer)
                and ((ctx.target.core in _DSP_CORES and args.filter_dims.c == 3) or ctx.target.core == "cortex-m55")):
            layer.kernel = FIRST  # DSP: 3 channels (its unrolled body; 1, 2, 4: ef_conv_s8 is faster); Helium: 1-4
        if layer.kernel == FIRST and ctx.target is not None and ctx.target.core == "cortex-m55" and _first_c1_applies(layer):
            layer.kernel = FIRST_C1  # 1 channel: the column copied per pixel and reloaded per channel ~1.3 MAC/instr
        if (layer.kernel == "ef_conv_s8" and ctx.target is not None and ctx.target.core in _DSP_CORES
                and _first_c12_applies(layer)):
            layer.kernel = FIRST_C12  # 1-2 channels: ef_conv_s8 0.2-0.33 MAC/instr, this ~0.6-0.8
        layer.params = int(filt.data.size) + (int(bias.data.size) if bias is not None else 0)
        layer.weight_bytes = int(filt_data.nbytes) + (int(bias.data.nbytes) if bias is not None else 0)
        if not self.depthwise:
            layer.scratch_bytes = conv_scratch_bytes(layer.kernel, args.filter_dims, args.input_dims.c)
        else:
            if not shift_op.make_shift(layer, filt_data, bias.data if bias is not None else None):
                shift2_op.make_shift2(layer, filt_data)  # two taps per kernel (SAL2)
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        if layer.kernel == shift_op.KERNEL:
            return shift_op.emit(layer, pos, em)
        if layer.kernel == shift2_op.KERNEL:
            return shift2_op.emit(layer, pos, em)
        a: ConvArgs = layer.args
        if layer.kernel == FIRST_C12:
            return conv_first.emit(layer, em, a.params, a.input_dims, a.filter_dims, a.output_dims)
        e = Emission()
        L = layer.sym
        w = weighted_operands(layer, pos, em, e, a.params, a.input_dims, a.filter_dims, a.output_dims)
        filt, bias, d_in, d_f, d_out, x, y = w.filt, w.bias, w.input_dims, w.filter_dims, w.output_dims, w.x, w.y
        k = layer.kernel
        pad = " " * (len(k) + 6)
        tail = f"{d_out}, {y});"
        if k in ("ef_conv_s8", CONV_2X2, FIRST, FIRST_C1, CONV_DILATED, CONV_2X2_DIL):  # scratch travels with its size, checked by the kernel
            e.decls.append(f"static const ef_context {L}_ctx = {{{em.scratch(pos, layer)}, {layer.scratch_bytes}}};")
            tail = f"{d_out}, {y}, &{L}_ctx);"
        if self.depthwise:
            e.calls = [f"st = {k}(&{L}_params, &{L}_quant, {d_in}, {x}, {d_f}, {filt},", f"{pad}{bias}, {tail}"]
        else:
            e.calls = [f"st = {k}(&{L}_params, &{L}_quant, {d_in}, {x}, {d_f}, {filt}, {bias},", f"{pad}{tail}"]
        return e

    def kernels(self, layer: Layer) -> tuple[str, ...]:
        if layer.kernel in (CONV_DILATED, CONV_2X2_DIL):  # the only conv kernels taking a dilation
            alts = [CONV_2X2_DIL] if _conv_2x2_dilated_applies(layer) else []
            return tuple(dict.fromkeys([layer.kernel, *alts, CONV_DILATED]))
        generic = "ef_depthwise_conv_s8" if self.depthwise else "ef_conv_s8"
        out = [layer.kernel]
        if layer.kernel in (shift_op.KERNEL, shift2_op.KERNEL) and _dw3x3_applies(layer.args.conv):
            out.append("ef_depthwise_conv_3x3_s8")
        if self.depthwise and isinstance(layer.args, ConvArgs) and _dw3x3_mult_applies(layer.args,
                                                                                        layer.consts["shift"]):
            out.append("ef_depthwise_conv_3x3_s8")
        if self.depthwise and isinstance(layer.args, ConvArgs) and _dw3x3_mult(layer.args):
            out.append(MULT)
        if (self.depthwise and isinstance(layer.args, ConvArgs)
                and _dw3x3_dot_applies(layer.args, layer.consts["shift"])):
            out += (["ef_depthwise_conv_3x3_s8"] if _dw3x3_applies(layer.args) else []) + [_dot_kernel(layer.args)]
        if self.depthwise and _dw_dilation(layer) is not None:
            out.append(DILATED)
            if _dw_px_dilated(layer):
                out.append(PX_DIL)
            if _dw_dot_dilated_applies(layer):
                out.append(DOT_DIL)
        if self.depthwise and isinstance(layer.args, ConvArgs) and _dw_line(layer.args):
            out.append(LINE)
        if self.depthwise and isinstance(layer.args, ConvArgs) and _dw3x3_px_region(layer.args):
            out.append(_px_kernel(layer.args))
            if _dw3x3_px_mult_any(layer.args):
                out.append(PX_MULT_ANY)  # also a multiple of 4: its one-input groups on the same loops
            if _dw3x3_applies(layer.args):
                out.append("ef_depthwise_conv_3x3_s8")  # the ring, when the generator chose PX
        if layer.kernel in ("ef_conv_1x1_s8", SHORT_1X1, "ef_conv_s8") and (_short_1x1_applies(layer)
                                                                         or _short_1x1_mve_applies(layer)):
            out += (["ef_conv_1x1_s8"] if layer.args.groups == 1 else []) + [SHORT_1X1]
        if layer.kernel in ("ef_conv_1x1_s8", SHORT_1X1, DSP_1X1, "ef_conv_s8") and _1x1_2x2_applies(layer):
            out += (["ef_conv_1x1_s8"] if layer.args.groups == 1 else []) + [DSP_1X1]
        if (layer.kernel in ("ef_conv_s8", "ef_conv_1x1_s8", CONV_2X2, FIRST) and not self.depthwise
                and _conv_2x2_applies(layer)):
            out += (["ef_conv_1x1_s8"] if layer.args.groups == 1 and _pointwise(layer.args) else []) + [CONV_2X2]
        if layer.kernel in ("ef_conv_s8", CONV_2X2, FIRST) and not self.depthwise and _first_applies(layer):
            out.append(FIRST)
        if layer.kernel in ("ef_conv_s8", FIRST, FIRST_C12) and not self.depthwise and _first_c12_applies(layer):
            out += [FIRST, FIRST_C12]
        if layer.kernel in ("ef_conv_s8", FIRST, FIRST_C12, FIRST_C1) and not self.depthwise and _first_c1_applies(layer):
            out += [FIRST, FIRST_C1]
        return tuple(dict.fromkeys([*out, generic]))

    def use_kernel(self, layer: Layer, kernel: str) -> None:
        if kernel not in self.kernels(layer):
            super().use_kernel(layer, kernel)  # raises, naming the possible ones
        if layer.kernel in (shift_op.KERNEL, shift2_op.KERNEL) and kernel != layer.kernel:
            shift_op.use_conv(layer, kernel)  # back to the depthwise layer the shift replaced
        layer.kernel = kernel
        if not self.depthwise:
            layer.scratch_bytes = conv_scratch_bytes(kernel, layer.args.filter_dims, layer.args.input_dims.c)

    def scratch_c_expr(self, layer: Layer) -> str | None:
        if layer.kernel not in ("ef_conv_s8", CONV_2X2, FIRST, FIRST_C1, CONV_DILATED, CONV_2X2_DIL):
            return None
        a: ConvArgs = layer.args
        own = "ef_conv_2x2_s8" if layer.kernel in (CONV_2X2, CONV_2X2_DIL) else "ef_conv_s8"
        return (f"{own}_get_buffer_size(&(const ef_dims){c_value(a.input_dims)}, "
                f"&(const ef_dims){c_value(a.filter_dims)})")


@register
class Conv2D(_ConvBase):
    name = "CONV_2D"
    kernel_names = ("ef_conv_1x1_s8", SHORT_1X1, DSP_1X1, CONV_2X2, FIRST, FIRST_C12, FIRST_C1, "ef_conv_s8",
                    CONV_DILATED, CONV_2X2_DIL)
    constraints = ("int8 per-channel symmetric filters, any kernel size, stride, SAME/VALID, groups, dilation "
                   "(also as SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND around it)")


@register
class DepthwiseConv2D(_ConvBase):
    name = "DEPTHWISE_CONV_2D"
    kernel_names = ("ef_shift_s8", "ef_shift2_s8", "ef_depthwise_conv_3x3_s8", DOT, DOT_MULT, MULT,
                    DILATED, PX_DIL, DOT_DIL, LINE, PX, PX_MULT, PX_MULT_ANY, "ef_depthwise_conv_s8")
    constraints = ("int8 per-channel symmetric filters, any kernel size, stride, depth multiplier, dilation "
                   "(also as SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND around it)")
    depthwise = True
