"""Clustered weights stored packed: small indices + look-up tables (LUTs) of int8 values.

After k-means clustering (:mod:`edgefact.pipeline.cluster`) every output channel of a clustered
weight tensor holds at most K distinct int8 values in the .tflite. Such a tensor can live in
flash as ``b``-bit indices (b in {1, 2, 4}) plus one LUT of ``2**b`` int8 values per output
channel (or a single LUT for the whole tensor when that is smaller). Before the layer runs, the
firmware expands it back into the exact int8 tensor (``ef_unpack_s8``) in an arena buffer that
lives during that layer only, so the kernels and the results are unchanged (bit-exact with TFLM).

Layout (what ``ef_unpack_s8`` reads):

* The tensor is seen as ``[outer, channels, inner]``: the quantized (output-channel) axis in the
  middle. CONV_2D ``[O, kh, kw, I]`` and FULLY_CONNECTED ``[units, depth]`` have it first
  (outer = 1, inner = the rest); DEPTHWISE_CONV_2D ``[1, kh, kw, C]`` has it last
  (outer = kh*kw, inner = 1).
* Indices follow the flat (row-major) element order the kernels consume, ``bits`` per element,
  packed little-endian inside each byte: element ``i`` occupies bits ``(i*bits) % 8 ..`` of byte
  ``(i*bits) // 8``. No padding between channels; the last byte is zero-filled.
* LUTs: ``num_luts`` tables of ``2**bits`` int8 entries back to back; element ``i`` of channel
  ``c`` is ``lut[(c if num_luts > 1 else 0) * 2**bits + index_i]``. Unused entries are 0.

Policy (``pack=``): ``"never"`` keeps int8; ``"always"`` packs every tensor that fits in 4 bits
or fewer; ``"auto"`` packs when it saves at least :data:`AUTO_MIN_SAVED_BYTES` bytes and at least
:data:`AUTO_MIN_SAVED_FRACTION` of the tensor's int8 bytes, while the arena grows by at most
:data:`AUTO_RAM_PER_FLASH` byte per byte of flash saved (:func:`pack_and_plan`). The decode costs a few instructions
per weight once per inference: negligible for convolutions (each weight is used H_out*W_out
times) and about the kernel's own cost for a batch-1 FULLY_CONNECTED (each weight used once);
``"auto"`` therefore also skips FULLY_CONNECTED layers with one batch unless the saving is large
(:data:`AUTO_FC_MIN_SAVED_BYTES`). The price in RAM is the unpacked tensor in the arena during
its layer (the memory planner places it; ``"auto"`` bounds that growth;
see docs/packing.md for measured figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from edgefact.errors import EdgefactError

if TYPE_CHECKING:
    from edgefact.export.ir import Graph, Layer
    from edgefact.export.memplan import MemoryPlan

POLICIES: tuple[str, ...] = ("auto", "always", "never")
PACKABLE_OPS: tuple[str, ...] = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
#: kernels that read their weights from a table the generator lays out, never the filter array
TABLE_KERNELS: tuple[str, ...] = ("ef_conv_first_c12_s8",)
AUTO_MIN_SAVED_BYTES = 64
AUTO_MIN_SAVED_FRACTION = 0.25
AUTO_FC_MIN_SAVED_BYTES = 4096
#: "auto" accepts this many bytes of arena growth per byte of flash saved (RAM is the scarcer
#: memory on most microcontrollers: typically 1/4 to 1/8 of the flash)
AUTO_RAM_PER_FLASH = 0.25


def index_bits(k: int) -> int:
    """Smallest supported index width for ``k`` distinct values: 1, 2, 4, or 8 (= not packable)."""
    if k <= 2:
        return 1
    if k <= 4:
        return 2
    if k <= 16:
        return 4
    return 8


@dataclass
class PackedTensor:
    """One weight tensor as indices + LUTs (see the module docstring for the layout)."""

    shape: tuple[int, ...]
    axis: int  # quantized (output-channel) axis
    bits: int
    luts: np.ndarray  # int8 [num_luts, 2**bits]
    packed: np.ndarray  # uint8 [ceil(n * bits / 8)]
    max_distinct: int  # largest number of distinct values in one channel (K actually used)

    @property
    def outer(self) -> int:
        return int(np.prod(self.shape[:self.axis], dtype=np.int64))

    @property
    def channels(self) -> int:
        return int(self.shape[self.axis])

    @property
    def inner(self) -> int:
        return int(np.prod(self.shape[self.axis + 1:], dtype=np.int64))

    @property
    def num_elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def num_luts(self) -> int:
        return int(self.luts.shape[0])

    @property
    def lut_bytes(self) -> int:
        return int(self.luts.size)

    @property
    def packed_bytes(self) -> int:
        return int(self.packed.size)

    @property
    def original_bytes(self) -> int:
        return self.num_elements

    @property
    def stored_bytes(self) -> int:
        return self.packed_bytes + self.lut_bytes

    @property
    def saved_bytes(self) -> int:
        return self.original_bytes - self.stored_bytes

    def describe(self) -> dict[str, int]:
        return {"bits": self.bits, "k": self.max_distinct, "luts": self.num_luts, "lut_bytes": self.lut_bytes,
                "index_bytes": self.packed_bytes, "original_bytes": self.original_bytes,
                "saved_bytes": self.saved_bytes}


def _channel_view(w: np.ndarray, axis: int) -> np.ndarray:
    """[channels, rest]: every row holds the values of one output channel."""
    return np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)


def pack_bits(indices: np.ndarray, bits: int) -> np.ndarray:
    """Pack non-negative ints < 2**bits, ``bits`` per element, little-endian inside each byte."""
    if bits not in (1, 2, 4, 8):
        raise ValueError(f"bits must be 1, 2, 4 or 8, not {bits}")
    idx = np.asarray(indices, dtype=np.uint8).reshape(-1)
    per = 8 // bits
    pad = (-idx.size) % per
    if pad:
        idx = np.concatenate([idx, np.zeros(pad, dtype=np.uint8)])
    groups = idx.reshape(-1, per).astype(np.uint16)
    shifts = (np.arange(per, dtype=np.uint16) * bits)
    return (groups << shifts).sum(axis=1).astype(np.uint8)


def unpack_bits(packed: np.ndarray, bits: int, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits` (first ``n`` indices)."""
    per = 8 // bits
    p = np.asarray(packed, dtype=np.uint8).reshape(-1, 1)
    shifts = np.arange(per, dtype=np.uint8) * bits
    idx = (p >> shifts) & ((1 << bits) - 1)
    return idx.reshape(-1)[:n].astype(np.uint8)


def pack_weights(w: np.ndarray, axis: int, per_channel: bool | None = None) -> PackedTensor | None:
    """Pack an int8 tensor whose channels (along ``axis``) hold few distinct values.

    ``per_channel``: None picks whichever of one LUT per channel / one LUT for the tensor takes
    fewer bytes. Returns None when no layout needs fewer than 8 bits per index.
    """
    w = np.asarray(w)
    if w.dtype != np.int8:
        raise EdgefactError(f"packing needs int8 weights, got {w.dtype}; pack the quantized .tflite tensor")
    if not -w.ndim <= axis < w.ndim:
        raise EdgefactError(f"axis {axis} out of range for a weight tensor of shape {w.shape}")
    axis %= w.ndim
    rows = _channel_view(w, axis)
    distinct = [np.unique(r) for r in rows]
    k_ch = max(len(d) for d in distinct)
    union = np.unique(w)
    n = w.size
    options: list[tuple[int, bool, int]] = []  # (bytes, per_channel, bits)
    b_ch = index_bits(k_ch)
    if b_ch < 8 and per_channel is not False:
        options.append(((n * b_ch + 7) // 8 + len(distinct) * (1 << b_ch), True, b_ch))
    b_t = index_bits(len(union))
    if b_t < 8 and per_channel is not True:
        options.append(((n * b_t + 7) // 8 + (1 << b_t), False, b_t))
    if not options:
        return None
    _, chan, bits = min(options)
    size = 1 << bits
    if chan:
        luts = np.zeros((len(distinct), size), dtype=np.int8)
        idx_rows = np.empty(rows.shape, dtype=np.uint8)
        for c, (r, d) in enumerate(zip(rows, distinct, strict=True)):
            luts[c, :len(d)] = d
            idx_rows[c] = np.searchsorted(d, r)
        # back to the tensor's own element order
        moved = idx_rows.reshape((w.shape[axis],) + tuple(np.delete(np.array(w.shape), axis)))
        idx = np.moveaxis(moved, 0, axis).reshape(-1)
    else:
        luts = np.zeros((1, size), dtype=np.int8)
        luts[0, :len(union)] = union
        idx = np.searchsorted(union, w.reshape(-1)).astype(np.uint8)
    return PackedTensor(shape=tuple(int(d) for d in w.shape), axis=axis, bits=bits, luts=luts,
                        packed=pack_bits(idx, bits), max_distinct=int(k_ch if chan else len(union)))


def unpack_weights(p: PackedTensor) -> np.ndarray:
    """The int8 tensor back (the Python twin of ``ef_unpack_s8``)."""
    idx = unpack_bits(p.packed, p.bits, p.num_elements).reshape(p.outer, p.channels, p.inner)
    if p.num_luts > 1:
        ch = np.arange(p.channels).reshape(1, -1, 1)
        vals = p.luts[ch, idx]
    else:
        vals = p.luts[0][idx]
    return vals.astype(np.int8).reshape(p.shape)


def weight_axis(layer: Layer) -> int:
    """Output-channel axis of the layer's filter: last for DEPTHWISE_CONV_2D, first otherwise."""
    return 3 if layer.op == "DEPTHWISE_CONV_2D" else 0


def decide(layer: Layer, p: PackedTensor | None, policy: str) -> bool:
    """Whether ``layer``'s filter is stored packed under ``policy`` (see the module docstring)."""
    if p is None or policy == "never":
        return False
    if policy == "always":
        return True
    if p.saved_bytes < max(AUTO_MIN_SAVED_BYTES, AUTO_MIN_SAVED_FRACTION * p.original_bytes):
        return False
    if layer.op == "FULLY_CONNECTED" and layer.args.batches == 1:
        return p.saved_bytes >= AUTO_FC_MIN_SAVED_BYTES
    return True


def check_policy(policy: str) -> str:
    if policy not in POLICIES:
        raise EdgefactError(f"unknown packing policy {policy!r}; valid: {', '.join(POLICIES)} "
                            "(--pack auto|always|never)")
    return policy


def apply_packing(graph: Graph, policy: str = "auto") -> dict[int, PackedTensor]:
    """Decide, per layer, whether its filter is stored packed; annotate the layers.

    A packed layer gets ``packed`` (the :class:`PackedTensor`) and
    ``unpack_bytes`` (arena bytes of the expanded filter, placed by the memory planner),
    and its ``weight_bytes`` becomes what is stored in flash (indices + LUTs + bias).
    Returns {layer position: PackedTensor}.
    """
    check_policy(policy)
    out: dict[int, PackedTensor] = {}
    if policy == "never":
        return out
    for layer in graph.layers:  # a second call starts from int8 filters again
        unpack_layer(layer)
    for pos, layer in enumerate(graph.layers):
        if layer.op not in PACKABLE_OPS or "filter" not in layer.consts or layer.kernel in TABLE_KERNELS:
            continue
        filt = np.asarray(layer.consts["filter"])
        if filt.dtype != np.int8:
            continue
        p = pack_weights(filt, weight_axis(layer))
        if not decide(layer, p, policy):
            continue
        assert p is not None
        if not np.array_equal(unpack_weights(p), filt):  # cheap, and it guards the C layout
            raise EdgefactError(f"packing bug: layer {layer.index} ({layer.name}) does not round-trip")
        layer.packed = p
        layer.unpack_bytes = int(filt.nbytes)
        layer.weight_bytes -= p.saved_bytes
        out[pos] = p
    return out


def unpack_layer(layer: Layer) -> None:
    """Undo :func:`apply_packing` for one layer (its filter is stored as int8 again)."""
    p, layer.packed, layer.unpack_bytes = layer.packed, None, 0
    if p is not None:
        layer.weight_bytes += p.saved_bytes


def pack_and_plan(graph: Graph, policy: str = "auto") -> tuple[dict[int, PackedTensor], MemoryPlan]:
    """Apply the packing policy, then plan the memory; return (packed layers, plan).

    ``"auto"`` lets the arena grow by at most :data:`AUTO_RAM_PER_FLASH` bytes per byte of flash
    saved: while it grows more, the largest expanded filter that ends above that limit (it lives
    where the activations peak) is stored as int8 again and the plan is redone.
    ``"always"`` keeps every packed filter and accepts the larger arena.
    """
    from edgefact.export.memplan import plan_memory

    check_policy(policy)
    if policy != "auto":
        packed = apply_packing(graph, policy)
        return packed, plan_memory(graph)
    for layer in graph.layers:
        unpack_layer(layer)
    base = plan_memory(graph).arena_bytes
    packed = apply_packing(graph, policy)
    plan = plan_memory(graph)

    def limit() -> int:
        return base + int(AUTO_RAM_PER_FLASH * sum(p.saved_bytes for p in packed.values()))

    while packed and plan.arena_bytes > limit():
        lim = limit()
        over = [pos for pos, bid in plan.unpacked.items()
                if (plan.buffers[bid].offset or 0) + plan.buffers[bid].size > lim]
        # the expanded filters above the limit go back to int8, the largest first
        drop = [max(over or packed, key=lambda q: packed[q].num_elements)]
        for pos in drop:
            unpack_layer(graph.layers[pos])
            del packed[pos]
        plan = plan_memory(graph)
    return packed, plan
