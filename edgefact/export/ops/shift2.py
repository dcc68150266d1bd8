"""Two-tap shift layers (SAL2): a DEPTHWISE_CONV_2D whose every kernel has at most two non-zero taps.

A hardened SAL2 (``ShiftConv(keep=2)``) keeps two learned weights per channel, so each output
value is a sum of two products, requantized as the depthwise convolution requantizes it:

    out[y, x, c] = clamp(MBQM(b_c + sum_j [tap j inside] (in[y*s - p + ky_j, x*s - p + kx_j, c] + in_off) * w_j)
                         + out_off)

``ef_shift2_s8`` computes exactly that with 2 multiplies per output (the constant terms folded
per rectangle of outputs where each tap is inside the input or not), instead of the kh*kw of the
depthwise kernels. Its MACs are reported as the real ones, non-zero taps x output pixels (2
per output value of a SAL2 channel), not the kh*kw of the convolution. A layer with at most one
tap per channel is a one-tap shift (:mod:`.shift`), one with three or more stays a convolution.
The channel order is left as it is (the kernel goes channel by channel, so grouping the channels
by tap pair would not save anything).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from edgefact.export.ir import Layer
from edgefact.export.ops.base import CStruct, Emission, EmitContext, dims_decl

if TYPE_CHECKING:
    from edgefact.export.ops.conv import ConvArgs

KERNEL = "ef_shift2_s8"


@dataclass(frozen=True)
class Shift2Params(CStruct):
    """ef_shift2_params."""

    C_TYPE: ClassVar[str] = "ef_shift2_params"
    input_offset: int
    output_offset: int
    stride: tuple[int, int]
    padding: tuple[int, int]
    filter: tuple[int, int]
    activation: tuple[int, int]


@dataclass(frozen=True)
class Shift2Args:
    """Arguments of an ``ef_shift2_s8`` call, and the depthwise layer it replaces."""

    params: Shift2Params
    conv: ConvArgs
    taps: np.ndarray  # int16 [C, 2]: (ky << 8) | kx, -1: none
    weights: np.ndarray  # int8 [C, 2]
    conv_macs: int
    conv_weight_bytes: int

    @property
    def table_bytes(self) -> int:
        return int(self.taps.nbytes + self.weights.nbytes)


def two_taps(filt: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Per channel its (up to) two non-zero taps as flat positions ky*kw + kx (-1: none) and their
    weights, each [C, 2]; None unless every channel has at most two and some channel has two."""
    _, kh, kw, c = filt.shape
    flat = filt.reshape(kh * kw, c)
    nonzero = flat != 0
    counts = nonzero.sum(axis=0)
    if np.any(counts > 2) or not np.any(counts == 2):
        return None
    taps = np.full((c, 2), -1, np.int64)
    weights = np.zeros((c, 2), np.int8)
    for ch in range(c):
        pos = np.flatnonzero(nonzero[:, ch])
        taps[ch, :len(pos)] = pos
        weights[ch, :len(pos)] = flat[pos, ch]
    return taps, weights


def make_shift2(layer: Layer, filt: np.ndarray) -> bool:
    """Turn a lowered depthwise layer (``layer.args`` a ConvArgs) into a two-tap shift layer when
    its filter allows; True if it did."""
    conv: ConvArgs = layer.args
    p = conv.params
    found = two_taps(filt)
    if found is None or p.C_TYPE != "ef_dw_conv_params" or p.ch_mult != 1:
        return False
    _, kh, kw, c = filt.shape
    if kh > 127 or kw > 256:
        return False
    taps, weights = found
    enc = np.where(taps >= 0, (taps // kw) * 256 + taps % kw, -1).astype(np.int16)
    args = Shift2Args(Shift2Params(p.input_offset, p.output_offset, p.stride, p.padding, (kh, kw), p.activation),
                      conv, enc, weights, layer.macs, layer.weight_bytes)
    n_taps = int(np.count_nonzero(weights))
    pixels = conv.output_dims.n * conv.output_dims.h * conv.output_dims.w
    counts = np.count_nonzero(weights, axis=1)
    layer.describe = (f"shift2 {kh}x{kw} s{p.stride[0]}: {int(np.sum(counts == 2))} two-tap + "
                      f"{int(np.sum(counts == 1))} one-tap + {int(np.sum(counts == 0))} constant channels, "
                      f"MACs = non-zero taps x output pixels ({n_taps} x {pixels}); " + layer.describe)
    use_shift2(layer, args, n_taps * pixels)
    return True


def use_shift2(layer: Layer, args: Shift2Args, macs: int) -> None:
    bias = layer.consts.get("bias")
    layer.kernel, layer.args, layer.macs = KERNEL, args, macs
    layer.weight_bytes = args.table_bytes + (int(bias.nbytes) if bias is not None else 0)


def emit(layer: Layer, pos: int, em: EmitContext) -> Emission:
    a: Shift2Args = layer.args
    e = Emission()
    L = layer.sym
    taps = em.const_array(layer, "taps", a.taps.reshape(-1), "int16_t", "two taps per channel ((ky << 8) | kx, -1: none)")
    wts = em.const_array(layer, "weights", a.weights.reshape(-1), "int8_t", "the two taps' weights per channel")
    bias = (em.const_array(layer, "bias", layer.consts["bias"], "int32_t", "bias") if "bias" in layer.consts
            else "NULL")
    mult = em.const_array(layer, "multiplier", layer.consts["multiplier"], "int32_t", "requant multiplier")
    shift = em.const_array(layer, "shift", layer.consts["shift"], "int32_t", "requant shift")
    e.decls += a.params.c_define(f"{L}_params")
    e.decls.append(f"static const ef_per_channel_quant {L}_quant = {{{mult}, {shift}}};")
    d_in = dims_decl(e, layer, "input_dims", a.conv.input_dims)
    d_out = dims_decl(e, layer, "output_dims", a.conv.output_dims)
    em.check_size(layer, layer.inputs[0], layer.input_shapes[0])
    em.check_size(layer, layer.output, layer.output_shape)
    x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
    e.calls = [f"st = ef_shift2_s8(&{L}_params, &{L}_quant, {d_in}, {x}, {taps}, {wts}, {bias},",
               f"                  {d_out}, {y});"]
    return e
