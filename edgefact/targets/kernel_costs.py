"""Instruction cost of a layer on a core's int8 kernels, from its shape, as measured under QEMU.

The generator's choices between equivalent forms of a layer (the dictionary factorization's
depthwise × K + 1×1 against the dense convolution it stands for) need the cost of each form on the
target. One MAC/instruction rate per kernel kind is not enough: the kernels pay per output (the
requantization and store, the pixel-pair overheads) as well as per MAC, so a thin layer runs at a
fraction of a deep one's rate. The cnn's two dense 3×3 layers have the same MACs and run at 4.90
and 5.85 MAC/instruction on the Cortex-M55: their mean rate picks the wrong form for one of them.

Here each kind's cost is ``per_layer + per_output · outputs + per_mac · MACs``, fitted (least
relative squares) to one-op models measured with exact instruction counts by
``scripts/bench_kernel_costs``, which writes ``kernel_costs.json`` beside this module together with
the samples it fitted and the commit they were measured at. Refresh it after a kernel change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError

#: the layer kinds measured: a dense h×w convolution, a 1×1 one, a depthwise convolution with a
#: depth multiplier > 1
KINDS = ("conv", "conv_1x1", "depthwise_mult")

#: cores that run another core's kernels with the same instruction stream, used where the table
#: has no row of their own (the Cortex-M7 and M33 build the M4's DSP kernels)
SAME_KERNELS = {"cortex-m7": "cortex-m4", "cortex-m33": "cortex-m4"}

COSTS_FILE = "kernel_costs.json"


#: a layer's shape as the table keys it: (h, w, input channels, output channels, kh, kw) of its output
Dims = tuple[int, int, int, int, int, int]


@dataclass(frozen=True)
class CostModel:
    """Instructions of one layer of a kind: ``per_layer + per_output·outputs + per_mac·macs``, or,
    for a shape that was measured, the measurement (``measured``: {dims: instructions})."""

    per_layer: float
    per_output: float
    per_mac: float
    measured: dict[Dims, int] = field(default_factory=dict, compare=False, hash=False)

    def instructions(self, outputs: int, macs: int) -> float:
        """The fitted cost of a layer with ``outputs`` output elements and ``macs`` MACs."""
        return self.per_layer + self.per_output * outputs + self.per_mac * macs

    def cost(self, dims: Dims | None, outputs: int, macs: int) -> float:
        """The measured cost of a layer of shape ``dims`` where the table has it, else (or with
        ``dims`` None: a layer unlike the measured ones, which are stride 1 with SAME padding) the fit. The
        kernels switch bodies with the shape (a 1×1 of 48 input channels runs on the Helium short
        kernel, one of 64 on the general one at two thirds of its rate), which no one linear fit
        follows; the shapes factorization creates in the zoo's cnn are measured exactly."""
        got = None if dims is None else self.measured.get(tuple(int(d) for d in dims))  # type: ignore[arg-type]
        return float(got) if got is not None else self.instructions(outputs, macs)


def fit_cost_model(samples: list[dict[str, Any]]) -> CostModel:
    """The cost model closest to ``samples`` (each with ``outputs``, ``macs`` and the measured
    ``count``) in relative error, with no negative coefficient: every row of the least-squares
    system is divided by its count, so a small layer weighs as much as a large one. Non-negative
    because a kind's samples run on more than one kernel body (the M4's multiplier-4 depthwise
    kernel is half again as fast per MAC as its multiplier-2/3 one); a free fit trades a negative
    per-output cost against a large per-layer one, and extrapolates to small layers badly. Needs
    three samples of independent shapes."""
    if len(samples) < 3:
        raise EdgefactError(f"a cost model needs at least 3 measured shapes, got {len(samples)}")
    a = np.array([[1.0, s["outputs"], s["macs"]] for s in samples], dtype=np.float64)
    y = np.array([s["count"] for s in samples], dtype=np.float64)
    if np.linalg.matrix_rank(a) < 3:
        raise EdgefactError("the measured shapes do not separate per-layer, per-output and per-MAC costs: "
                            "vary the output size and the MACs per output independently")
    from scipy.optimize import nnls

    scale = np.abs(a).max(axis=0)  # columns of one magnitude for the solver
    coef, _ = nnls(a / scale / y[:, None], np.ones_like(y))
    return CostModel(*(float(c) for c in coef / scale))


def fit_error(model: CostModel, samples: list[dict[str, Any]]) -> float:
    """The largest relative error of ``model`` over ``samples``."""
    return max(abs(model.instructions(s["outputs"], s["macs"]) / s["count"] - 1.0) for s in samples)


def parse_cost_table(doc: dict[str, Any]) -> dict[str, dict[str, CostModel]]:
    """{core: {kind: CostModel}} from a kernel_costs.json document."""
    try:
        return {core: {kind: CostModel(float(m["per_layer"]), float(m["per_output"]), float(m["per_mac"]),
                                       {tuple(int(d) for d in x["dims"]): int(x["count"])  # type: ignore[misc]
                                        for x in m.get("samples", []) if "dims" in x})
                       for kind, m in kinds.items()}
                for core, kinds in doc["cores"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EdgefactError(f"malformed kernel cost table ({exc!r}): regenerate it with scripts/bench_kernel_costs") from exc


def load_cost_document() -> dict[str, Any]:
    """The shipped kernel_costs.json as a document (samples and provenance included)."""
    return json.loads(resources.files("edgefact.targets").joinpath(COSTS_FILE).read_text(encoding="utf-8"))


@cache
def _shipped_table() -> dict[str, dict[str, CostModel]]:
    return parse_cost_table(load_cost_document())


def cost_models(core: str | None) -> dict[str, CostModel] | None:
    """The measured cost model of every kind on ``core`` (None: not measured, e.g. the host)."""
    if core is None:
        return None
    table = _shipped_table()
    return table.get(core) or table.get(SAME_KERNELS.get(core, ""))


def cost_key(core: str | None) -> dict[str, Any] | None:
    """What the choices on ``core`` depend on, JSON-able (a build stage's cache key): every kind's
    coefficients and measurements, or None where nothing was measured."""
    models = cost_models(core)
    if models is None:
        return None
    return {kind: {"fit": [m.per_layer, m.per_output, m.per_mac],
                   "measured": sorted([list(d), c] for d, c in m.measured.items())} for kind, m in models.items()}


__all__ = ["KINDS", "SAME_KERNELS", "Dims", "CostModel", "fit_cost_model", "fit_error", "parse_cost_table",
           "load_cost_document", "cost_models", "cost_key"]
