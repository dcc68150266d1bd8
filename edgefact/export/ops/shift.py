"""Shift layers: a DEPTHWISE_CONV_2D whose every kernel has at most one non-zero tap.

A hardened shift attention layer (SAL) exports as a depthwise convolution with one-hot kernels, so
each output value depends on exactly one input value of its channel (or on none, where the tap
falls into the padding or the kernel is all zero). TFLite still multiplies and requantizes it:

    out[y, x, c] = clamp(MBQM((in[y*s - p + ky_c, x*s - p + kx_c, c] + in_off) * w_c + b_c) + out_off)

which is a function of one int8 value: a 256-entry table per channel, computed here with the exact
Python mirror of TFLite's arithmetic (:mod:`edgefact.export.quant`), and a constant per channel
for the padding (``b_c`` alone). ``ef_shift_s8`` then does a strided table look-up per output
value: no multiply, no requantization, 0 MACs. Channels with identical tables share one (a SAL
layer has one table: every kernel is 1.0, quantized to the same int8 value with one scale).
Where that table is the identity (a SAL whose input and output share scale and zero point, as the
converter makes them) the channel is a copy. The kernel takes the channels as runs of consecutive
channels with one tap and one table; :mod:`edgefact.export.shift_layout` orders the channels of a
shift layer by tap beforehand (folding the order into the layers around it), so a run holds every
channel of one shift and is one rectangle copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from edgefact.export import quant
from edgefact.export.ir import Layer
from edgefact.export.ops.base import CStruct, Emission, EmitContext, dims_decl

if TYPE_CHECKING:
    from edgefact.export.ops.conv import ConvArgs

KERNEL = "ef_shift_s8"
RUN_FIELDS = 5  # EF_SHIFT_RUN_FIELDS
_IDENTITY = np.arange(256, dtype=np.uint8).view(np.int8)


@dataclass(frozen=True)
class ShiftParams(CStruct):
    """ef_shift_params."""

    C_TYPE: ClassVar[str] = "ef_shift_params"
    stride: tuple[int, int]
    padding: tuple[int, int]
    filter: tuple[int, int]
    num_tables: int
    offset_base: int
    num_runs: int


@dataclass(frozen=True)
class ShiftArgs:
    """Arguments of an ``ef_shift_s8`` call, and the depthwise layer it replaces (so the generic
    kernel can still be chosen, e.g. to measure what the shift saves)."""

    params: ShiftParams
    conv: ConvArgs
    runs: np.ndarray  # int16 [R, RUN_FIELDS]: c0, n, tap ((ky << 8) | kx or -1), table (-1: copy), border
    taps: np.ndarray  # int16 per channel: its run's tap
    offsets: np.ndarray  # uint16 per channel: interior gather offset minus params.offset_base
    tables: np.ndarray  # uint8 per channel (read when luts has rows)
    luts: np.ndarray  # int8 [T, 256]; T = 0 when every run is a copy
    conv_macs: int
    conv_weight_bytes: int

    @property
    def table_bytes(self) -> int:
        return int(self.runs.nbytes + self.taps.nbytes + self.offsets.nbytes + self.tables.nbytes + self.luts.nbytes)


def single_taps(filt: np.ndarray) -> np.ndarray | None:
    """Per channel the flat tap position ky*kw + kx of its one non-zero weight (-1 for an all-zero
    kernel), or None when some channel has two or more non-zero taps (a real convolution)."""
    _, kh, kw, c = filt.shape
    flat = filt.reshape(kh * kw, c)
    nonzero = flat != 0
    counts = nonzero.sum(axis=0)
    if np.any(counts > 1):
        return None
    return np.where(counts == 1, nonzero.argmax(axis=0), -1).astype(np.int16)


def tables(filt: np.ndarray, taps: np.ndarray, bias: np.ndarray | None, mult: np.ndarray, shift: np.ndarray,
           input_offset: int, output_offset: int, act: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(luts [T, 256] indexed by the input byte (uint8 view of the int8 value), table index per
    channel, output per channel where the tap reads padding) -- see the module docstring."""
    _, kh, kw, c = filt.shape
    flat = filt.reshape(kh * kw, c).astype(np.int64)
    xs = np.arange(256, dtype=np.int64)
    xs = np.where(xs >= 128, xs - 256, xs)  # table position p holds the value for input byte p
    luts: list[bytes] = []
    index = np.zeros(c, dtype=np.uint8)
    border = np.zeros(c, dtype=np.int8)
    seen: dict[bytes, int] = {}
    for ch in range(c):
        b = int(bias[ch]) if bias is not None else 0
        m, s = int(mult[ch]), int(shift[ch])
        w = int(flat[taps[ch], ch]) if taps[ch] >= 0 else 0
        border[ch] = quant.requantize(b, m, s, output_offset, act[0], act[1])
        lut = np.array([quant.requantize((int(x) + input_offset) * w + b, m, s, output_offset, act[0], act[1])
                        for x in xs], dtype=np.int8).tobytes()
        if lut not in seen:
            if len(seen) == 255:
                return np.zeros((0, 256), np.int8), index, border  # too many distinct tables: caller declines
            seen[lut] = len(luts)
            luts.append(lut)
        index[ch] = seen[lut]
    return np.frombuffer(b"".join(luts), dtype=np.int8).reshape(-1, 256).copy(), index, border


def gather_offsets(taps: np.ndarray, kw: int, padding: tuple[int, int], width: int) -> tuple[np.ndarray, int] | None:
    """Interior read offset of each channel relative to its base input pixel, as
    (uint16 offsets, base) with offset = base + offsets[c]; None when they span more than 16 bits."""
    c = len(taps)
    ky, kx = taps // kw, taps % kw
    raw = np.where(taps >= 0, ((ky - padding[0]) * width + (kx - padding[1])) * c, 0) + np.arange(c)
    base = int(raw.min())
    rel = raw - base
    if int(rel.max()) > 0xFFFF:
        return None
    return rel.astype(np.uint16), base


def runs(taps: np.ndarray, index: np.ndarray, luts: np.ndarray, border: np.ndarray, kw: int) -> np.ndarray:
    """The kernel's runs: maximal spans of consecutive channels with one tap and one table, as
    int16 rows (c0, n, (ky << 8) | kx or -1, table or -1 for an identity table, border value)."""
    rows: list[list[int]] = []
    for ch in range(len(taps)):
        t = int(taps[ch])
        tap = -1 if t < 0 else (t // kw) * 256 + t % kw
        table = -1 if np.array_equal(luts[index[ch]], _IDENTITY) else int(index[ch])
        if rows and rows[-1][2] == tap and rows[-1][3] == table:
            rows[-1][1] += 1
        else:
            rows.append([ch, 1, tap, table, int(border[ch])])
    return np.array(rows, dtype=np.int16).reshape(-1, RUN_FIELDS)


def make_shift(layer: Layer, filt: np.ndarray, bias: np.ndarray | None) -> bool:
    """Turn a lowered depthwise layer (``layer.args`` a ConvArgs) into a shift layer when its
    filter allows; True if it did."""
    conv: ConvArgs = layer.args
    taps = single_taps(filt)
    if taps is None or conv.params.C_TYPE != "ef_dw_conv_params" or conv.params.ch_mult != 1:
        return False
    p = conv.params
    luts, index, border = tables(filt, taps, bias, layer.consts["multiplier"], layer.consts["shift"],
                                 p.input_offset, p.output_offset, p.activation)
    _, kh, kw, _ = filt.shape
    offsets = gather_offsets(taps.astype(np.int64), kw, p.padding, conv.input_dims.w)
    if luts.shape[0] == 0 or offsets is None or kw > 256:
        return False
    run_rows = runs(taps, index, luts, border, kw)
    copies = bool(np.all(run_rows[:, 3] < 0))
    if copies:  # every channel a copy: no tables at all
        luts, index = np.zeros((0, 256), np.int8), np.zeros_like(index)
    args = ShiftArgs(ShiftParams(p.stride, p.padding, (kh, kw), luts.shape[0], offsets[1], len(run_rows)), conv,
                     run_rows, np.repeat(run_rows[:, 2], run_rows[:, 1]).astype(np.int16), offsets[0], index, luts,
                     layer.macs, layer.weight_bytes)
    n_shift = int(np.count_nonzero(taps >= 0))
    how = "copies" if copies else f"{luts.shape[0]} table(s)"
    layer.describe = (f"shift {kh}x{kw} s{p.stride[0]}: {n_shift} shifted + {len(taps) - n_shift} constant "
                      f"channels in {len(run_rows)} runs, {how}; " + layer.describe)
    use_shift(layer, args)
    return True


def use_shift(layer: Layer, args: ShiftArgs) -> None:
    layer.kernel, layer.args, layer.macs, layer.weight_bytes = KERNEL, args, 0, args.table_bytes


def use_conv(layer: Layer, kernel: str) -> None:
    """Back to the depthwise convolution a shift replaced: one-tap (ShiftArgs) or two-tap
    (:class:`~edgefact.export.ops.shift2.Shift2Args`), which both keep the layer they replace."""
    a: ShiftArgs = layer.args
    layer.kernel, layer.args, layer.macs, layer.weight_bytes = kernel, a.conv, a.conv_macs, a.conv_weight_bytes


def emit(layer: Layer, pos: int, em: EmitContext) -> Emission:
    a: ShiftArgs = layer.args
    e = Emission()
    L = layer.sym
    runs_c = em.const_array(layer, "runs", a.runs.reshape(-1), "int16_t",
                            "runs: first channel, channels, tap ((ky << 8) | kx, -1: none), table (-1: copy), border")
    taps = em.const_array(layer, "taps", a.taps, "int16_t", "tap ((ky << 8) | kx, -1: none) per channel")
    offs = em.const_array(layer, "offsets", a.offsets, "uint16_t", "interior gather offset per channel")
    idx = em.const_array(layer, "tables", a.tables, "uint8_t", "look-up table per channel")
    luts = (em.const_array(layer, "luts", a.luts, "int8_t", "output per input byte (requantized one-tap products)")
            if a.luts.shape[0] else "0")
    e.decls += a.params.c_define(f"{L}_params")
    d_in = dims_decl(e, layer, "input_dims", a.conv.input_dims)
    d_out = dims_decl(e, layer, "output_dims", a.conv.output_dims)
    em.check_size(layer, layer.inputs[0], layer.input_shapes[0])
    em.check_size(layer, layer.output, layer.output_shape)
    x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
    e.calls = [f"st = ef_shift_s8(&{L}_params, {d_in}, {x}, {runs_c}, {taps}, {offs}, {idx}, {luts},",
               f"                 {d_out}, {y});"]
    return e
