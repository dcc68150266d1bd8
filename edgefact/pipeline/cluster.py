"""k-means weight sharing (Deep Compression, Han et al. 2015) that survives int8 quantization.

Every ``nn.Conv2d`` and ``nn.Linear`` weight is replaced by K shared values: one table for the
whole tensor (``per-tensor``) or one per output channel (``per-channel``), found by 1-D k-means
(k-means++ or linear initialization). Fine-tuning then trains the tables, not the weights: the
weight is ``centroids.gather(index)``, so autograd's backward of ``gather`` adds up the gradients
of all members of a cluster -- the centroid update of Han et al.

Why it survives int8: BatchNorm folding multiplies each output channel by a constant and the
converter quantizes each output channel with its own symmetric scale; both are functions applied
channel by channel, so a channel that holds at most K distinct float values holds at most K
distinct int8 values (rounding can only merge values). Per-tensor tables give the same bound per
channel. :mod:`edgefact.export.cluster_check` checks this on the real ``.tflite`` file (through
:func:`verify_clustering` here, which hands it the model's weights as arrays), because a converter
that folded a per-*input*-channel factor into the weights would break it.

Layers that cost too much accuracy (measured one layer at a time on held-out training samples)
get a larger K (2K, then 4K) or are left out; the report says which and why. Depthwise layers
are handled like any other: per channel a 3x3 depthwise kernel has only 9 weights (trivially
<= 16 values), per tensor it is the layer most sensitive to sharing.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edgefact.errors import EdgefactError
from edgefact.export import cluster_check as check
from edgefact.export.cluster_check import LayerWeight, TfliteWeightRow

MODES = ("per-channel", "per-tensor")
INITS = ("kmeans++", "linear")


@dataclass
class ClusterConfig:
    k: int = 16
    mode: str = "per-channel"
    init: str = "kmeans++"
    iters: int = 25
    seed: int = 0
    max_layer_drop: float = 2.0  # accuracy points a single clustered layer may cost before fine-tuning
    escalate: tuple[int, ...] = (2, 4)  # K multipliers tried for too-costly layers before leaving them out
    epochs: int = 2
    lr: float = 1e-3
    batch_size: int = 128
    distill: bool = True  # fine-tune against the unclustered model's outputs (plus labels)
    threads: int | None = None  # torch threads for fine-tuning (None: train_model's default)

    def check(self) -> None:
        if self.mode not in MODES:
            raise EdgefactError(f"unknown clustering mode '{self.mode}': use one of {', '.join(MODES)}")
        if self.init not in INITS:
            raise EdgefactError(f"unknown k-means initialization '{self.init}': use one of {', '.join(INITS)}")
        if not 2 <= self.k <= 256:
            raise EdgefactError(f"K = {self.k} is out of range: choose 2..256 clusters (int8 holds 256 values)")


@dataclass
class LayerCluster:
    """What happened to one layer."""

    name: str  # qualified module name
    kind: str  # conv | pointwise | grouped | depthwise | linear
    shape: list[int]
    k: int | None  # centroids per table (None: left out)
    status: str  # clustered | trivial | skipped
    reason: str = ""
    drop: float | None = None  # accuracy points lost with only this layer clustered, before fine-tuning
    tables: int = 0  # number of centroid tables (1 or output channels)

    @property
    def bits(self) -> int | None:
        return None if self.k is None else max(1, math.ceil(math.log2(self.k)))


@dataclass
class ClusterReport:
    config: dict[str, Any]
    layers: list[LayerCluster] = field(default_factory=list)
    acc_before: float | None = None
    acc_clustered: float | None = None  # right after k-means, before fine-tuning
    acc_finetuned: float | None = None
    acc_int8: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "layers": [asdict(layer) | {"bits": layer.bits} for layer in self.layers],
            "acc_before": self.acc_before,
            "acc_clustered": self.acc_clustered,
            "acc_finetuned": self.acc_finetuned,
            "acc_int8": self.acc_int8,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClusterReport:
        layers = [LayerCluster(**{k: v for k, v in ld.items() if k != "bits"}) for ld in d.get("layers", [])]
        return cls(
            config=d.get("config", {}),
            layers=layers,
            acc_before=d.get("acc_before"),
            acc_clustered=d.get("acc_clustered"),
            acc_finetuned=d.get("acc_finetuned"),
            acc_int8=d.get("acc_int8"),
        )

    def expected_k(self) -> dict[str, int]:
        """Layer name -> K for the layers whose tables must bound the int8 values."""
        return {lc.name: int(lc.k) for lc in self.layers if lc.k is not None and lc.status != "skipped"}


# ---------------------------------------------------------------------------------------- k-means


def _kmeanspp_init(v: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
    g, n = v.shape
    first = torch.randint(0, n, (g, 1), generator=gen)
    cents = [v.gather(1, first)]
    d2 = (v - cents[0]) ** 2
    for _ in range(1, k):
        probs = d2 + 1e-12
        pick = torch.multinomial(probs, 1, generator=gen)
        c = v.gather(1, pick)
        cents.append(c)
        d2 = torch.minimum(d2, (v - c) ** 2)
    return torch.cat(cents, dim=1)


def kmeans_1d(
    values: torch.Tensor, k: int, init: str = "kmeans++", iters: int = 25, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched 1-D k-means: ``values`` (G, n) -> centroids (G, k), index (G, n) long.

    Linear initialization spaces the centroids evenly between each group's min and max (the
    choice Han et al. found best for accuracy, since it keeps the rare large weights).
    """
    v = values.detach().to(torch.float64)
    g, n = v.shape
    k = min(k, n)
    if init == "linear":
        lo, hi = v.min(dim=1, keepdim=True).values, v.max(dim=1, keepdim=True).values
        steps = torch.linspace(0.0, 1.0, k, dtype=torch.float64).unsqueeze(0)
        cents = lo + (hi - lo) * steps
    else:
        gen = torch.Generator().manual_seed(seed)
        cents = _kmeanspp_init(v, k, gen)
    idx = torch.zeros_like(v, dtype=torch.long)
    for _ in range(iters):
        idx_new = (v.unsqueeze(2) - cents.unsqueeze(1)).abs().argmin(dim=2)
        sums = torch.zeros_like(cents).scatter_add_(1, idx_new, v)
        counts = torch.zeros_like(cents).scatter_add_(1, idx_new, torch.ones_like(v))
        cents = torch.where(counts > 0, sums / counts.clamp(min=1), cents)
        if torch.equal(idx_new, idx):
            break
        idx = idx_new
    idx = (v.unsqueeze(2) - cents.unsqueeze(1)).abs().argmin(dim=2)
    return cents.to(values.dtype), idx


# ------------------------------------------------------------------------------ shared weights


class SharedWeight(nn.Module):
    """A weight tensor made of K trainable centroids per table and a fixed index per weight."""

    def __init__(self, centroids: torch.Tensor, index: torch.Tensor, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.centroids = nn.Parameter(centroids.clone())
        self.register_buffer("index", index.clone())
        self.shape = tuple(shape)

    def forward(self) -> torch.Tensor:
        return self.centroids.gather(1, self.index).view(self.shape)


def _set_shared_weight(module: nn.Module, _inputs: Any) -> None:
    module.weight = module.ef_shared()  # plain tensor attribute, recomputed before every forward


def layer_kind(m: nn.Module) -> str:
    if isinstance(m, nn.Linear):
        return "linear"
    assert isinstance(m, nn.Conv2d)
    if m.groups > 1 and m.groups == m.in_channels:
        return "depthwise"
    if m.groups > 1:
        return "grouped"
    return "pointwise" if m.kernel_size == (1, 1) else "conv"


def clusterable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Conv2d/Linear modules with a trainable weight, in module order."""
    out = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d | nn.Linear) and isinstance(getattr(m, "weight", None), nn.Parameter):
            out.append((name, m))
    return out


def _groups_view(w: torch.Tensor, mode: str) -> torch.Tensor:
    return w.reshape(w.shape[0], -1) if mode == "per-channel" else w.reshape(1, -1)


def cluster_weight(w: torch.Tensor, k: int, mode: str, init: str, iters: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Centroids (tables, k) and index (tables, n) for one weight tensor."""
    return kmeans_1d(_groups_view(w.detach(), mode), k, init=init, iters=iters, seed=seed)


def attach_shared(module: nn.Module, centroids: torch.Tensor, index: torch.Tensor) -> None:
    """Replace ``module.weight`` by a :class:`SharedWeight` (trainable centroids)."""
    shape = tuple(module.weight.shape)
    del module._parameters["weight"]
    module.ef_shared = SharedWeight(centroids, index, shape)
    module.ef_shared_hook = module.register_forward_pre_hook(_set_shared_weight)
    module.weight = module.ef_shared()


def strip_shared(model: nn.Module) -> nn.Module:
    """Turn every shared weight back into a plain Parameter holding the centroid values (in place)."""
    for m in model.modules():
        shared = getattr(m, "ef_shared", None)
        if isinstance(shared, SharedWeight):
            with torch.no_grad():
                w = shared().detach().clone()
            m.ef_shared_hook.remove()
            del m.ef_shared_hook
            del m._modules["ef_shared"]
            if "weight" in m.__dict__:
                del m.__dict__["weight"]
            m.weight = nn.Parameter(w)
    return model


# ------------------------------------------------------------------------------ cluster + fine-tune


def _evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    from edgefact.pipeline.train import evaluate

    return evaluate(model, x, y)


def cluster_model(
    model: nn.Module,
    dataset: Any,
    cfg: ClusterConfig | None = None,
    val_samples: int = 2000,
    max_steps: int | None = None,
    log: Any = None,
) -> tuple[nn.Module, ClusterReport]:
    """Cluster a trained model (copied; the argument is not modified) and fine-tune it.

    ``dataset`` is an ``edgefact.pipeline.data.Dataset`` (inputs in [0, 1], normalized here with
    its mean/std). The last ``val_samples`` training samples are held out to measure each layer's
    sensitivity (it decides per-layer K); fine-tuning (``edgefact.pipeline.train.train_model``,
    distilled from the unclustered model) uses the rest. Returns the clustered model with plain
    Parameters (the centroid values) and the report.
    """
    from edgefact.pipeline.data import Dataset, normalize
    from edgefact.pipeline.train import train_model

    cfg = cfg or ClusterConfig()
    cfg.check()
    say = log or (lambda _msg: None)
    teacher = copy.deepcopy(model).eval()
    model = copy.deepcopy(model).eval()
    n_train = len(dataset.y_train)
    n_val = min(val_samples, max(1, n_train // 5))
    x_val = normalize(dataset.x_train[-n_val:], dataset.mean, dataset.std)
    y_val = np.asarray(dataset.y_train[-n_val:])
    x_test = normalize(dataset.x_test, dataset.mean, dataset.std)
    y_test = np.asarray(dataset.y_test)

    report = ClusterReport(config=asdict(cfg) | {"escalate": list(cfg.escalate)})
    report.acc_before = _evaluate(model, x_test, y_test)
    base_val = _evaluate(model, x_val, y_val)
    say(f"accuracy before clustering: {report.acc_before:.4f} (test), {base_val:.4f} (held-out)")

    plan: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []
    for i, (name, m) in enumerate(clusterable_layers(model)):
        w = m.weight
        kind = layer_kind(m)
        tables = w.shape[0] if cfg.mode == "per-channel" else 1
        per_table = w.numel() // tables
        lc = LayerCluster(name=name, kind=kind, shape=list(w.shape), k=None, status="skipped", tables=tables)
        if per_table <= cfg.k:
            lc.k, lc.status = cfg.k, "trivial"
            lc.reason = f"{per_table} weights per table <= K: already at most K values"
            say(f"  {name} ({kind} {list(w.shape)}): trivial, {lc.reason}")
            report.layers.append(lc)
            continue
        original = w.detach().clone()
        k = cfg.k
        for mult in (1, *cfg.escalate):
            k = min(256, cfg.k * mult)
            cents, idx = cluster_weight(original, k, cfg.mode, cfg.init, cfg.iters, cfg.seed + i)
            with torch.no_grad():
                w.copy_(cents.gather(1, idx).view_as(w))
            acc = _evaluate(model, x_val, y_val)
            with torch.no_grad():
                w.copy_(original)
            drop = 100.0 * (base_val - acc)
            if lc.drop is None:
                first_drop = drop
            lc.drop = round(drop, 3)
            if drop <= cfg.max_layer_drop:
                lc.k, lc.status = k, "clustered"
                if mult > 1:
                    lc.reason = (
                        f"K={cfg.k} cost {first_drop:.2f} points (limit {cfg.max_layer_drop}); "
                        f"K raised to {k} (cost {drop:.2f})"
                    )
                plan.append((m, cents, idx))
                break
            if k == 256:
                break
        if lc.status == "skipped":
            lc.reason = (
                f"left out: clustering it alone costs {lc.drop:.2f} accuracy points even with K={k} "
                f"(limit {cfg.max_layer_drop})"
            )
        say(f"  {name} ({kind} {list(w.shape)}): {lc.status} K={lc.k} drop={lc.drop} {lc.reason}".rstrip())
        report.layers.append(lc)

    for m, cents, idx in plan:
        attach_shared(m, cents, idx)
    report.acc_clustered = _evaluate(model, x_test, y_test)
    say(f"accuracy after k-means, before fine-tuning: {report.acc_clustered:.4f}")
    if cfg.epochs > 0 or max_steps:
        ft = Dataset(
            name=dataset.name,
            x_train=dataset.x_train[:-n_val],
            y_train=dataset.y_train[:-n_val],
            x_test=dataset.x_test[:0],
            y_test=dataset.y_test[:0],
            classes=list(dataset.classes),
            mean=list(dataset.mean),
            std=list(dataset.std),
        )
        train_model(
            model,
            ft,
            epochs=max(1, int(cfg.epochs)),
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            seed=cfg.seed,
            teacher=teacher if cfg.distill else None,
            progress=True,  # a live bar in a terminal, nothing otherwise (edgefact.progress)
            max_steps=max_steps,
            evaluate_test=False,
            threads=cfg.threads,
            label="cluster fine-tune",
        )
    strip_shared(model)
    report.acc_finetuned = _evaluate(model, x_test, y_test)
    say(f"accuracy after fine-tuning: {report.acc_finetuned:.4f}")
    return model, report


def layer_weights(model: nn.Module) -> list[LayerWeight]:
    """The weights of a model's clusterable layers as plain arrays, for the export-side check."""
    return [LayerWeight(name, layer.weight.detach().cpu().numpy(), layer_kind(layer) == "depthwise")
            for name, layer in clusterable_layers(model)]


def verify_clustering(
    tflite_path: str | Path | bytes,
    expected: dict[str, int] | None = None,
    model: nn.Module | None = None,
) -> list[TfliteWeightRow]:
    """:func:`edgefact.export.cluster_check.verify_clustering` with the weights of ``model`` (the
    clustered PyTorch model): distinct int8 values per output channel of every .tflite weight,
    matched to ``model``'s layers and checked against ``expected`` (layer name -> K)."""
    return check.verify_clustering(tflite_path, expected, layer_weights(model) if model is not None else ())


def format_table(rows: list[TfliteWeightRow], report: ClusterReport | None = None) -> str:
    """Per-layer table: K, distinct int8 per channel, bits/weight, plus the accuracy line."""
    lines = [
        f"{'op':>3} {'kind':<18} {'shape':<16} {'layer':<28} {'K':>4} {'distinct/ch':>11} {'total':>5} {'bits':>4} ok"
    ]
    for r in rows:
        lines.append(
            f"{r.op_index:>3} {r.op:<18} {'x'.join(map(str, r.shape)):<16} {str(r.layer or '-'):<28} "
            f"{str(r.k or '-'):>4} {r.max_distinct:>11} {r.distinct_total:>5} {r.bits:>4} {'yes' if r.ok else 'NO'}"
        )
    if report is not None:

        def pct(v: float | None) -> str:
            return "-" if v is None else f"{100 * v:.2f}%"

        lines.append(
            f"accuracy: before {pct(report.acc_before)}  k-means {pct(report.acc_clustered)}  "
            f"fine-tuned {pct(report.acc_finetuned)}  int8 {pct(report.acc_int8)}"
        )
        for lc in report.layers:
            if lc.status == "skipped" or (lc.status == "clustered" and lc.reason):
                lines.append(f"  {lc.name}: {lc.status} {lc.reason}".rstrip())
    return "\n".join(lines)
