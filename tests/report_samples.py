"""A complete, realistic edgefact.report/1 document for the report tests (engineer E)."""

from __future__ import annotations

import copy
from typing import Any

_LAYERS: list[dict[str, Any]] = [
    {"index": 0, "name": "conv_2d_0", "op": "CONV_2D", "input_shapes": [[1, 28, 28, 1]],
     "output_shape": [1, 28, 28, 16], "macs": 112896, "params": 160, "weight_bytes": 208, "count": 401234},
    {"index": 1, "name": "depthwise_conv_2d_1", "op": "DEPTHWISE_CONV_2D",
     "input_shapes": [[1, 28, 28, 16]], "output_shape": [1, 14, 14, 16], "macs": 28224, "params": 160,
     "weight_bytes": 208, "count": 210000},
    {"index": 2, "name": "conv_2d_2", "op": "CONV_2D", "input_shapes": [[1, 14, 14, 16]],
     "output_shape": [1, 14, 14, 32], "macs": 100352, "params": 544, "weight_bytes": 640, "count": 180500},
    {"index": 3, "name": "mean_3", "op": "MEAN", "input_shapes": [[1, 14, 14, 32]],
     "output_shape": [1, 32], "macs": 0, "params": 0, "weight_bytes": 0, "count": 30011},
    {"index": 4, "name": "fully_connected_4", "op": "FULLY_CONNECTED", "input_shapes": [[1, 32]],
     "output_shape": [1, 10], "macs": 320, "params": 330, "weight_bytes": 360, "count": 2210},
]


def sample_report(**overrides: Any) -> dict[str, Any]:
    """A valid report with every optional section filled; keyword arguments replace top-level keys."""
    layers = copy.deepcopy(_LAYERS)
    total_count = 830000  # > sum of layers: the rest is the harness overhead
    for layer in layers:
        layer["share"] = layer["count"] / total_count
        layer["macs_per_count"] = layer["macs"] / layer["count"]
        layer["est_ms"] = 1000.0 * layer["count"] / 216e6
    report: dict[str, Any] = {
        "schema": "edgefact.report/1",
        "edgefact_version": "0.1.0",
        "created": "2026-11-27T04:00:00Z",
        "target": {"name": "cortex-m7", "kind": "core", "core": "cortex-m7", "qemu_machine": "mps2-an500",
                   "clock_hz": 216e6, "flash_bytes": 4194304, "ram_bytes": 4194304},
        "model": {"name": "fmnist_dws", "path": "out/model_int8.tflite", "sha256": "ab" * 32,
                  "input": {"shape": [1, 28, 28, 1], "scale": 0.0039, "zero_point": -128},
                  "output": {"shape": [1, 10], "scale": 0.0039, "zero_point": -128}},
        "unit": "instructions (emulated)",
        "layers": layers,
        "totals": {"macs": sum(x["macs"] for x in layers), "params": sum(x["params"] for x in layers),
                   "weight_bytes": sum(x["weight_bytes"] for x in layers), "count": total_count,
                   "est_ms": 1000.0 * total_count / 216e6, "flash_bytes": 61234, "ram_bytes": 40960,
                   "arena_bytes": 25088, "peak_stack_bytes": 1024},
        "memory": {"tflm_arena_bytes": 30000,
                   "flash_sections": {".text": 40000, ".rodata": 21000, ".data": 234},
                   "ram_sections": {".data": 234, ".bss": 31000, "stack": 8192},
                   "largest_symbols": [{"name": "ef_weights_conv_2d_2", "bytes": 640, "section": ".rodata"}]},
        "bitexact": {"reference": "tflm", "inputs": 8, "equal": True, "mismatches": 0},
        "accuracy": {"float": 0.91, "factorized": 0.90, "clustered": 0.895, "int8": 0.893, "device": 0.89,
                     "device_samples": 100, "reference_on_device_samples": 0.89},
        "stages": [{"name": "train", "seconds": 12.3, "cached": False},
                   {"name": "cluster", "seconds": 3.1, "cached": True}],
    }
    report.update(overrides)
    return report


def factorized_sample(base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The sample model with layer 2 (CONV_2D 14x14x16 -> 14x14x32, 100,352 MACs, 180,500 counts)
    replaced by a rank-4 pair: 14x14x16 -> 14x14x4 (12,544 MACs, 60,000 counts) -> 14x14x32
    (25,088 MACs, 40,000 counts); deployable flash 50,000 B. For the compare and delivered-share tests."""
    v = copy.deepcopy(base if base is not None else sample_report())
    conv = v["layers"][2]
    a = dict(conv, index=2, name="conv_a", output_shape=[1, 14, 14, 4], macs=12544, params=68, weight_bytes=80,
             count=60000, activation_bytes=3920)
    b = dict(conv, index=3, name="conv_b", input_shapes=[[1, 14, 14, 4]], macs=25088, params=160, weight_bytes=200,
             count=40000, activation_bytes=7056)
    rest = [dict(layer, index=layer["index"] + 1) for layer in v["layers"][3:]]
    v["layers"] = v["layers"][:2] + [a, b] + rest
    for layer in v["layers"]:
        for k in ("share", "macs_per_count", "est_ms"):
            layer.pop(k, None)
    v["totals"]["macs"] = sum(layer["macs"] for layer in v["layers"])
    v["totals"]["count"] = v["totals"]["count"] - 180500 + 100000
    v["totals"]["flash_bytes"] = 50000
    v["totals"]["arena_bytes"] = 25088
    v["totals"].pop("est_ms", None)
    return v
