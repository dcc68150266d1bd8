"""The table of ``ef_conv_first_c12_s8``: 3x3 first layers with 1 or 2 input channels on the DSP cores.

The kernel (src/ef_conv_first_c12_s8.c) widens each pixel's 3x3 window once into int16 pairs and
streams every output channel's entry past it; this module lays the entries out and decides where
the kernel applies. Per output channel (int32 words):

- 1 channel, 9 words: ``{2b, F0, F1, F2, F3, F4, m, K, e}`` with F0..F2 the taps (row r: columns 0
  and 2), F3 the middle column of rows 0 and 1, F4 that of row 2 and a zero;
- 2 channels, 13 words: ``{2b, F0..F8, K, m, e}`` with, per row r, its 6 taps q0..q5 (column t,
  channel c at 2t + c) as (q0, q2), (q1, q3), (q4, q5);

every tap doubled, an int16 pair with its first value in the low half; b the bias, m the
multiplier, e = -shift (bit 31 set on the last channel: the loop's end mark, ASR reads the low
byte) and K = 2^(e-1) + output_offset * 2^e. With the accumulator doubled,
``(K - [acc < 0] + floor((2 acc m + 2^31) / 2^32)) >> e`` is TFLite's MultiplyByQuantizedMultiplier
plus the output offset exactly (the kernel's header comment has the derivation), provided
``|2 acc| < 2^30``, which :func:`first_c12_applies` checks from the bias and the filter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from edgefact.export.ir import Layer
from edgefact.export.ops.base import Dims, Emission, EmitContext, dims_decl

if TYPE_CHECKING:
    from edgefact.export.ops.conv import ConvParams

KERNEL = "ef_conv_first_c12_s8"
#: bound on |2 * accumulator| (the requantization's terms stay inside int32 below it)
ACC_LIMIT = 1 << 30


def words_per_channel(channels: int) -> int:
    """int32 words of one output channel's entry."""
    return 9 if channels == 1 else 13


def first_c12_applies(filter_dims: Dims, groups: int, dilation: tuple[int, int],
                      input_offset: int, consts: dict[str, np.ndarray]) -> bool:
    """Whether ``ef_conv_first_c12_s8`` takes the layer: an ungrouped, undilated 3x3 CONV_2D with 1
    or 2 input channels, every channel on the fast requantization (multiplier >= 0, -23 <= shift
    <= -2), an input offset of -127..128 and |2 * accumulator| < 2^30 for every input (|x + offset|
    <= 255 per tap)."""
    o, kh, kw, c = filter_dims.n, filter_dims.h, filter_dims.w, filter_dims.c
    if (kh, kw) != (3, 3) or c not in (1, 2) or groups != 1 or dilation != (1, 1) or not -127 <= input_offset <= 128:
        return False
    m, s = consts["multiplier"], consts["shift"]
    if not (np.all(m >= 0) and np.all(s <= -2) and np.all(s >= -23)):
        return False
    filt = np.abs(np.asarray(consts["filter"], dtype=np.int64)).reshape(o, -1).sum(axis=1)
    bias = np.abs(np.asarray(consts["bias"], dtype=np.int64)) if "bias" in consts else np.zeros(o, np.int64)
    return bool(np.all(2 * (bias + 255 * filt) < ACC_LIMIT))


def _word(x: np.ndarray) -> np.ndarray:
    """int64 values as the int32 words of their low 32 bits."""
    return (np.asarray(x, dtype=np.int64) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def _pair(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """int16 pairs (lo in bits 0-15) as int64 words."""
    return (lo.astype(np.int64) & 0xFFFF) | ((hi.astype(np.int64) & 0xFFFF) << 16)


def first_c12_table(filt: np.ndarray, bias: np.ndarray | None, multiplier: np.ndarray, shift: np.ndarray,
                    output_offset: int) -> np.ndarray:
    """The kernel's entries, [out_c, words] int32 (``filt``: OHWI [out_c, 3, 3, 1 or 2])."""
    o, _, _, c = filt.shape
    f = 2 * filt.astype(np.int64)
    b2 = 2 * (np.asarray(bias, dtype=np.int64) if bias is not None else np.zeros(o, np.int64))
    e = -np.asarray(shift, dtype=np.int64)
    k = (1 << (e - 1)) + output_offset * (1 << e)
    ew = e.copy()
    ew[-1] |= 1 << 31
    m = np.asarray(multiplier, dtype=np.int64)
    z = np.zeros(o, np.int64)
    if c == 1:
        g = f[..., 0]  # [o, row, column]
        taps = [_pair(g[:, r, 0], g[:, r, 2]) for r in range(3)] + [_pair(g[:, 0, 1], g[:, 1, 1]),
                                                                    _pair(g[:, 2, 1], z)]
        rq = [m, k, ew]
    else:
        g = f.reshape(o, 3, 6)  # [o, row, 2 * column + channel]
        taps = [w for r in range(3) for w in (_pair(g[:, r, 0], g[:, r, 2]), _pair(g[:, r, 1], g[:, r, 3]),
                                             _pair(g[:, r, 4], g[:, r, 5]))]
        rq = [k, m, ew]
    return np.stack([_word(x) for x in (b2, *taps, *rq)], axis=1)


def emit(layer: Layer, em: EmitContext, params: ConvParams, input_dims: Dims, filter_dims: Dims,
         output_dims: Dims) -> Emission:
    """The call: the parameter struct, the three dims and the table (the filter, bias and
    requantization arrays are not emitted: the table holds them)."""
    e = Emission()
    L = layer.sym
    c = layer.consts
    tab = first_c12_table(np.asarray(c["filter"]), c.get("bias"), c["multiplier"], c["shift"],
                          params.output_offset)
    table = em.const_array(layer, "table", tab, "int32_t",
                           f"ef_conv_first_c12_s8 entries ({words_per_channel(int(filter_dims.c))} words per channel)")
    e.decls += params.c_define(f"{L}_params")
    d_in = dims_decl(e, layer, "input_dims", input_dims)
    d_f = dims_decl(e, layer, "filter_dims", filter_dims)
    d_out = dims_decl(e, layer, "output_dims", output_dims)
    em.check_size(layer, layer.inputs[0], layer.input_shapes[0])
    em.check_size(layer, layer.output, layer.output_shape)
    x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
    e.calls = [f"st = {KERNEL}(&{L}_params, {d_in}, {x}, {d_f}, {table},",
               f"{' ' * (len(KERNEL) + 6)}{d_out}, {y});"]
    return e
