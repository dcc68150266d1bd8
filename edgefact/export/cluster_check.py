"""Check on the converted ``.tflite`` that k-means weight sharing survived int8 quantization.

Clustering (:mod:`edgefact.pipeline.cluster`) leaves at most K distinct float values per output
channel; BatchNorm folding and per-channel symmetric quantization map each channel through its
own monotonic function, so the int8 weights should hold at most K values per channel too. A
converter that folded a per-*input*-channel factor into the weights would break that, hence this
check on the real file.

The check needs only the weights, as numpy arrays in PyTorch layout (no model object): each
TFLite weight is matched to the layer whose per-channel magnitude pattern it has (invariant to
BN folding scales, sign and layout), then its distinct int8 values per output channel are
counted against the layer's K.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export.tflite_model import load_tflite

#: TFLite ops with a weight tensor (input 1) -> its output-channel axis
WEIGHT_OPS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}


@dataclass(frozen=True)
class LayerWeight:
    """A trained layer's weight in PyTorch layout: (O, I, kh, kw) for a conv, (O, I) for a linear."""

    name: str
    weight: np.ndarray
    depthwise: bool = False


@dataclass
class TfliteWeightRow:
    op_index: int
    op: str
    tensor: str
    shape: list[int]
    layer: str | None  # matched PyTorch layer
    k: int | None  # expected bound (None: layer not clustered)
    max_distinct: int  # distinct int8 values per output channel, maximum over channels
    distinct_total: int
    bits: int  # index bits needed for max_distinct
    ok: bool

    @property
    def name(self) -> str:
        """The PyTorch layer name when matched, else the TFLite tensor name."""
        return self.layer or self.tensor


def max_distinct_per_channel(w: np.ndarray, axis: int = 0) -> int:
    """Largest number of distinct values in any slice of ``w`` along ``axis`` (output channels)."""
    w = np.moveaxis(np.asarray(w), axis, 0).reshape(np.asarray(w).shape[axis], -1)
    return max((len(np.unique(row)) for row in w), default=0)


def _signature(w: np.ndarray, axis: int) -> np.ndarray:
    """Per-channel sorted |w| / max|w|: invariant to BN folding scales, sign and layout."""
    rows = np.abs(np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1).astype(np.float64))
    rows = np.sort(rows, axis=1)
    return rows / np.maximum(rows[:, -1:], 1e-12)


def tflite_layout_shape(w: np.ndarray, depthwise: bool) -> tuple[int, ...]:
    """The shape a PyTorch weight has once converted (OHWI, 1HWO for depthwise, OI for linear)."""
    if w.ndim == 2:
        return tuple(w.shape)
    o, i, kh, kw = w.shape
    if depthwise:
        return (1, kh, kw, o)
    return (o, kh, kw, i)


def verify_clustering(
    tflite_path: str | Path | bytes,
    expected: dict[str, int] | None = None,
    layers: Sequence[LayerWeight] = (),
) -> list[TfliteWeightRow]:
    """Count distinct int8 values per output channel of every weight tensor of a ``.tflite``.

    With ``layers`` (the clustered model's weights) and ``expected`` (layer name -> K), each
    TFLite weight is matched to its layer by shape and value pattern, and ``ok`` says whether it
    holds at most K distinct int8 values per output channel. Unclustered weights are listed with
    ``k=None`` (always ok). A clustered layer that matches no TFLite weight is an error: the
    converter changed it, so the sharing cannot be verified.
    """
    data = tflite_path if isinstance(tflite_path, bytes) else Path(tflite_path).read_bytes()
    m = load_tflite(data)
    candidates = [(lw.name, tflite_layout_shape(lw.weight, lw.depthwise), _signature(lw.weight, 0)) for lw in layers]
    used: set[str] = set()
    rows: list[TfliteWeightRow] = []
    for op in m.operators:
        if op.name not in WEIGHT_OPS or len(op.inputs) < 2:
            continue
        t = m.tensors[op.inputs[1]]
        if t.data is None:
            continue
        axis = WEIGHT_OPS[op.name]
        q = np.asarray(t.data)
        distinct = max_distinct_per_channel(q, axis)
        layer_name = None
        if candidates:
            sig = _signature(q, axis)
            best, best_err = None, 0.05
            for name, shape, tsig in candidates:
                if name in used or shape != tuple(q.shape) or tsig.shape != sig.shape:
                    continue
                err = float(np.mean(np.abs(tsig - sig)))
                if err < best_err:
                    best, best_err = name, err
            if best is not None:
                used.add(best)
                layer_name = best
        k = (expected or {}).get(layer_name) if layer_name else None
        rows.append(
            TfliteWeightRow(
                op_index=op.index,
                op=op.name,
                tensor=t.name,
                shape=list(q.shape),
                layer=layer_name,
                k=k,
                max_distinct=distinct,
                distinct_total=len(np.unique(q)),
                bits=max(1, math.ceil(math.log2(max(distinct, 1)))),
                ok=k is None or distinct <= k,
            )
        )
    if expected:
        missing = sorted(set(expected) - used)
        if missing:
            raise EdgefactError(
                f"clustered layers {missing} were not found among the .tflite weights; the converter "
                "changed them (e.g. folded a per-input-channel factor), so sharing is not verifiable"
            )
    return rows


def check_sharing_survived(rows: Sequence[TfliteWeightRow]) -> dict[str, int]:
    """Raise when a clustered weight holds more than K int8 values in a channel; else a summary
    (``clustered_tensors``, ``max_distinct``) for the build's stage info."""
    bad = [r for r in rows if not r.ok]
    if bad:
        names = ", ".join(f"{r.name} ({r.max_distinct} > K={r.k})" for r in bad)
        raise EdgefactError(f"weight sharing did not survive int8 conversion for: {names}")
    clustered = [r for r in rows if r.k is not None]
    return {"clustered_tensors": len(clustered), "max_distinct": max((r.max_distinct for r in clustered), default=0)}
