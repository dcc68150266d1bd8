"""One-op models measured on a core: the benchmarks' shared helper (scripts/bench_factorized,
bench_first, bench_kernel_costs).

Each model is converted once and cached under ``cache`` (conversion is the slow part); a run
deploys it under QEMU with exact instruction counts and refuses a result that is not bit-exact
with TFLM.
"""

from __future__ import annotations

import hashlib
import json
from math import prod
from pathlib import Path
from typing import Any

from opmodels import OpSpec, build_opmodel

from edgefact.pipeline.deploy import deploy_tflite


def shape_label(spec: OpSpec) -> str:
    """A conv or depthwise one-op model's shape as the benchmarks print it: "14x14x16->32 3x3",
    "14x14x16 x4 3x3" (depthwise: channels and multiplier)."""
    p = spec.params
    if spec.kind == "dw":
        return f"{p['h']}x{p['w']}x{p['c']} x{p['mult']} {p['kh']}x{p['kw']}"
    return f"{p['h']}x{p['w']}x{p['cin']}->{p['cout']} {p['kh']}x{p['kw']}"


class OneOpBench:
    """Measures one-op models (``OpSpec``) on cores, each (model, core) once per instance."""

    def __init__(self, prefix: str, cache: Path) -> None:
        self.prefix = prefix
        self.cache = cache
        self._memo: dict[tuple[str, str], dict[str, Any]] = {}

    def case_id(self, spec: OpSpec) -> str:
        key = json.dumps([spec.op, spec.kind, spec.params], sort_keys=True)
        return f"{self.prefix}_{hashlib.sha256(key.encode()).hexdigest()[:12]}"

    def tflite(self, spec: OpSpec) -> Path:
        """The one-op model's .tflite, built on first use."""
        path = self.cache / f"{self.case_id(spec)}.tflite"
        if not path.exists():
            self.cache.mkdir(parents=True, exist_ok=True)
            path.write_bytes(build_opmodel(self.case_id(spec), spec))
        return path

    def measure(self, spec: OpSpec, core: str) -> dict[str, Any]:
        """The ``spec.op`` layers of the model on ``core``: macs, count (instructions), outputs
        (output elements), kernel, and the firmware's flash_bytes. Raises SystemExit unless the run
        is bit-exact with TFLM."""
        key = (self.case_id(spec), core)
        if key not in self._memo:
            rep = deploy_tflite(self.tflite(spec), core, self.cache / "runs" / f"{key[0]}-{core}", n_random=2,
                                write_report=False)
            if not rep["bitexact"]["equal"]:
                raise SystemExit(f"{key[0]} on {core}: NOT bit-exact with TFLM")
            rows = [r for r in rep["layers"] if r["op"] == spec.op]
            self._memo[key] = {
                "macs": sum(r["macs"] for r in rows), "count": sum(r.get("count", 0) for r in rows),
                "outputs": sum(prod(r["output_shape"]) for r in rows),
                "kernel": "+".join(r.get("kernel", "?") for r in rows),
                "flash_bytes": rep["totals"]["flash_bytes"],
            }
        return self._memo[key]
