"""Clustered test models for the packing tests: a real int8 .tflite whose filters are replaced by
a few distinct int8 values per output channel, re-serialized through the flatbuffer object API."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: distinct values per channel given to the filters in turn (all index widths: 4, 2, 1 bits)
K_CYCLE = (16, 4, 2, 16, 3, 16)


def cluster_channels(w: np.ndarray, axis: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Each channel of ``w`` (along ``axis``) snapped to at most ``k`` of its own values (evenly
    spaced quantiles, so the model keeps working; ``rng`` jitters which values are picked)."""
    moved = np.moveaxis(w, axis, 0).copy()
    for c in range(moved.shape[0]):
        row = moved[c].reshape(-1)
        vals = np.unique(row)
        if len(vals) > k:
            q = (np.arange(k) + rng.uniform(0.3, 0.7, k)) / k
            centers = np.unique(np.quantile(row, q, method="nearest"))
            near = np.abs(row[:, None].astype(np.int32) - centers[None, :].astype(np.int32)).argmin(axis=1)
            moved[c] = centers[near].reshape(moved[c].shape)
    return np.moveaxis(moved, 0, axis)


def clustered_model(src: Path | bytes, seed: int = 0, ks: tuple[int, ...] = K_CYCLE) -> tuple[bytes, dict[int, int]]:
    """Return (model bytes, {operator index: K}) with every CONV/DW/FC filter clustered."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    data = src if isinstance(src, bytes) else Path(src).read_bytes()
    m = s.ModelT.InitFromPackedBuf(data, 0)
    names = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    rng = np.random.default_rng(seed)
    sg = m.subgraphs[0]
    done: dict[int, int] = {}
    for i, op in enumerate(sg.operators):
        code = m.operatorCodes[op.opcodeIndex]
        name = names.get(max(code.builtinCode, code.deprecatedBuiltinCode))
        if name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        t = sg.tensors[op.inputs[1]]
        buf = m.buffers[t.buffer]
        w = np.frombuffer(bytes(bytearray(buf.data)), dtype=np.int8).reshape(list(t.shape))
        k = ks[len(done) % len(ks)]
        w2 = cluster_channels(w, 3 if name == "DEPTHWISE_CONV_2D" else 0, k, rng)
        buf.data = np.frombuffer(w2.tobytes(), dtype=np.uint8)
        done[i] = k
    b = flatbuffers.Builder(len(data) + 4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output()), done
