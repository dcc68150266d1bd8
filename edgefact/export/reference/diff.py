"""Where the two oracles differ: TFLM vs LiteRT's reference kernels, down to the operator.

:func:`compare_oracles` runs both on the same inputs and, keeping every intermediate tensor, marks
an operator as the *origin* of a difference in a sample when its output differs there although all
its inputs agreed (see docs/reference-oracles.md for what differs and why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgefact.export.reference.litert import make_litert
from edgefact.export.reference.modelio import InputsLike, ModelLike, op_names, prepare_run
from edgefact.export.reference.tflm import make_tflm
from edgefact.export.tflite_model import TFLiteModel


@dataclass
class TensorDiff:
    """Differences on one tensor produced by an operator, over all samples."""

    tensor_index: int
    name: str
    op_index: int
    op_type: str
    n_elements: int  # per sample times samples
    n_differ: int
    max_abs_lsb: int
    samples_differ: int
    origin_samples: int = 0  # samples where this op's output differs although its inputs agreed

    @property
    def equal(self) -> bool:
        return self.n_differ == 0


@dataclass
class OracleDiff:
    """TFLM vs LiteRT reference on the same inputs."""

    n_samples: int
    outputs: list[TensorDiff]
    tensors: list[TensorDiff] = field(default_factory=list)  # every op output (if requested)
    # tensor index -> (TFLM values, LiteRT values), each (N, *shape), with keep_values=True
    values: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    @property
    def equal(self) -> bool:
        return all(d.equal for d in self.outputs) and all(d.equal for d in self.tensors)

    def origin_op_types(self) -> dict[str, int]:
        """Op type -> number of (op, sample) pairs where a difference first appears."""
        out: dict[str, int] = {}
        for d in self.tensors:
            if d.origin_samples:
                out[d.op_type] = out.get(d.op_type, 0) + d.origin_samples
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures for a report: how far LiteRT's reference is from TFLM on these inputs."""
        return {
            "reference": "tflm",
            "other": "litert-builtin-ref",
            "inputs": self.n_samples,
            "output_elements": sum(d.n_elements for d in self.outputs),
            "output_elements_differing": sum(d.n_differ for d in self.outputs),
            "max_abs_lsb": max((d.max_abs_lsb for d in self.outputs), default=0),
            "origin_ops": self.origin_op_types(),
        }

    def summary(self) -> str:
        lines = [f"{self.n_samples} samples"]
        for d in self.outputs:
            lines.append(
                f"output {d.name!r} (from {d.op_type}): {d.n_differ}/{d.n_elements} elements differ "
                f"in {d.samples_differ} samples, max {d.max_abs_lsb} LSB"
            )
        origins = self.origin_op_types()
        if origins:
            lines.append(
                "differences originate in: " + ", ".join(f"{k} x{v}" for k, v in sorted(origins.items()))
            )
        return "\n".join(lines)


def _producers(m: TFLiteModel) -> dict[int, tuple[int, str]]:
    names = op_names(m)
    return {t: (op.index, names[op.index]) for op in m.operators for t in op.outputs}


def _diff(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    """(elements differing, max |a-b| in units of the integer type, samples differing)."""
    if np.issubdtype(a.dtype, np.floating):
        d = np.abs(a.astype(np.float64) - b.astype(np.float64))
        differ = d > 0
        maxd = float(d.max()) if d.size else 0.0
        return int(differ.sum()), int(np.ceil(maxd)), int(differ.reshape(len(a), -1).any(axis=1).sum())
    d = np.abs(a.astype(np.int64) - b.astype(np.int64))
    differ = d > 0
    return int(differ.sum()), int(d.max()) if d.size else 0, int(differ.reshape(len(a), -1).any(axis=1).sum())


def compare_oracles(
    model: ModelLike, inputs: InputsLike, intermediates: bool = True, keep_values: bool = False
) -> OracleDiff:
    """Run TFLM and LiteRT-reference on the same inputs and report every difference.

    With ``intermediates`` both interpreters keep all tensors, every operator output is compared
    per sample, and an operator is marked as an *origin* of a difference in a sample when its
    output differs there while all its non-constant inputs were identical. ``keep_values`` also
    returns the compared tensors (and the model inputs) of both interpreters in ``values``.
    """
    run = prepare_run(model, inputs)
    m, io, batches, n = run.model, run.io, run.batches, run.n
    prod = _producers(m)
    tflm = make_tflm(run.data, m, preserve_all=intermediates)
    lite = make_litert(run.data, m, preserve_all=intermediates)
    ops = m.operators
    op_out = [t for op in ops for t in op.outputs]
    watch = (
        sorted(set(op_out) | {t.index for t in io.outputs})
        if intermediates
        else [t.index for t in io.outputs]
    )
    if intermediates and keep_values:
        watch = sorted(set(watch) | {t.index for t in io.inputs})
    res_a: dict[int, list[np.ndarray]] = {t: [] for t in watch}
    res_b: dict[int, list[np.ndarray]] = {t: [] for t in watch}
    origin: dict[int, int] = {}
    for i in range(n):
        for k, (b, t) in enumerate(zip(batches, io.inputs, strict=True)):
            x = b[i].reshape(t.shape)
            tflm.set_input(x, k)
            lite.set_tensor(t.index, x)
        tflm.invoke()
        lite.invoke()
        sample_eq: dict[int, bool] = {}
        for tidx in watch:
            if intermediates:
                a = np.asarray(tflm.GetTensor(tidx, 0)["tensor_data"])
            else:
                a = np.asarray(tflm.get_output([t.index for t in io.outputs].index(tidx)))
            b2 = lite.get_tensor(tidx)
            a = a.reshape(b2.shape)
            res_a[tidx].append(a.copy())
            res_b[tidx].append(b2.copy())
            sample_eq[tidx] = bool(np.array_equal(a, b2))
        if intermediates:
            for op in ops:
                outs_ = list(op.outputs)
                if all(sample_eq.get(t, True) for t in outs_):
                    continue
                ins = [t for t in op.inputs if t >= 0]
                if all(sample_eq.get(t, True) for t in ins):
                    for t in outs_:
                        if not sample_eq.get(t, True):
                            origin[t] = origin.get(t, 0) + 1

    def make(tidx: int) -> TensorDiff:
        a = np.stack(res_a[tidx])
        b = np.stack(res_b[tidx])
        nd, mx, sd = _diff(a, b)
        op_i, op_t = prod.get(tidx, (-1, "INPUT"))
        return TensorDiff(tidx, m.tensor(tidx).name, op_i, op_t, int(a.size), nd, mx, sd, origin.get(tidx, 0))

    outputs = [make(t.index) for t in io.outputs]
    tensors = [make(t) for t in watch if t in prod] if intermediates else []
    values = {t: (np.stack(res_a[t]), np.stack(res_b[t])) for t in watch} if keep_values else {}
    return OracleDiff(n, outputs, tensors, values)
