"""Factorizing the convolutions of a trained model, initialized from its weights.

Methods (each replaces an eligible ``nn.Conv2d`` -- groups 1, kernel larger than 1×1, not the
input layer -- by a layer of :mod:`edgefact.models.factorized`; BatchNorm/activation after it
are kept):

* ``spatial`` -- Jaderberg et al. 2014, scheme 2: W (D_out, D_in, h, w) reshaped to the matrix
  M[(i, y), (o, x)] and truncated by SVD: a h×1 conv (D_in -> R) then a 1×w conv (R -> D_out).
  Exact at R = min(D_in·h, D_out·w). MACs ≈ H'W'·R·(h·D_in + w·D_out).
* ``lowrank`` -- Tucker-2 by HOSVD: 1×1 (D_in -> R_in), h×w core (R_in -> R_out), 1×1 (R_out -> D_out).
  Exact at R_in = D_in, R_out = D_out. MACs = H·W·D_in·R_in + H'W'·h·w·R_in·R_out + H'W'·R_out·D_out.
* ``dictionary`` -- sparse dictionary learning on the h×w kernels, X (D_out·D_in, h·w) ≈ U·V with
  K unit-norm atoms V and sparse codes U (ℓ1, scikit-learn): a depthwise conv applying the K shared
  atoms to every input channel (D_in -> D_in·K) then a sparse 1×1 conv with the codes. Exact for
  dense codes (alpha 0) and K = h·w. MACs = H'W'·D_in·K·(h·w + D_out). Trained in that form, it is
  emitted in the equivalent form the target runs fastest (:func:`choose_dictionary_forms`, from
  the measured kernel costs of edgefact.targets.kernel_costs): on the Cortex-M cores measured, the
  depthwise × K + 1×1 form for the cnn's layers, the dense h×w convolution where K is large.
* ``depthwise`` -- depthwise h×w + pointwise 1×1, initialized by a rank-1 SVD per input channel
  of W[:, i] (D_out × h·w). MACs = H'W'·D_in·(h·w + D_out).
* ``grouped`` -- a grouped conv (g groups) initialized with the block-diagonal part of W.
  MACs = H'W'·h·w·D_in·D_out/g.

``depthwise`` and ``grouped`` are structural replacements whose accuracy comes from the
distillation fine-tune. Each replacement records its constructor arguments, so a checkpoint can
rebuild the factorized structure (:func:`edgefact.models.factorized.apply_transforms`) before
loading the weights.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from edgefact.errors import EdgefactError
from edgefact.models.factorized import (
    DICTIONARY_FORMS,
    FactorizedConv,
    FactorizedDepthwise,
    FactorizedDictionary,
    FactorizedGrouped,
    FactorizedSpatial,
    FactorizedTucker2,
    set_module,
)
from edgefact.models.ops import count_ops
from edgefact.targets.kernel_costs import CostModel, cost_models

METHODS = ("spatial", "lowrank", "dictionary", "depthwise", "grouped")


# -- initializations from a trained kernel ------------------------------------------------------


def round_rank(r: int, multiple: int, full: int) -> int:
    """``r`` rounded up to a multiple of ``multiple`` (the channel multiple the target's fast
    kernels want), never above ``full``; ``multiple`` 1 keeps it."""
    if multiple <= 1:
        return r
    return max(1, min(full, -(-r // multiple) * multiple))


def _multiples(multiple: int, full: int) -> list[int]:
    """The ranks a target's fast kernels want: the multiples of ``multiple`` below ``full``, and
    ``full`` itself (a full-rank factor is folded away, whatever its width)."""
    return sorted({*range(max(1, multiple), full, max(1, multiple)), full})


def tucker2_params(c_in: int, c_out: int, taps: int, r_in: int, r_out: int) -> int:
    """Weights of a Tucker-2 factorization as deployed: a factor at full rank is folded into the
    core, so it costs nothing (at stride 1 every part runs at the same resolution, so this is also
    the layer's MACs per output pixel)."""
    return (c_in * r_in if r_in < c_in else 0) + r_in * r_out * taps + (r_out * c_out if r_out < c_out else 0)


def _energy_shares(singular_values: np.ndarray) -> np.ndarray:
    """Share of the squared spectrum kept by rank 1, 2, ...; all 1 for a zero spectrum."""
    s2 = np.asarray(singular_values, dtype=np.float64) ** 2
    total = s2.sum()
    return np.cumsum(s2) / total if total > 0 else np.ones_like(s2)


def _tucker2_round_within(s_in: np.ndarray, s_out: np.ndarray, capped: tuple[int, int], ceiling: tuple[int, int],
                          multiple: int, taps: int, budget: float) -> tuple[int, int]:
    """Tucker-2 ranks on the target's channel multiple and inside the cap of ``budget`` weights:
    of the multiple (or full) pairs no larger than ``ceiling`` (the energy-chosen ranks rounded up)
    whose weights fit the budget, the one that keeps the most energy (the sum of the two unfoldings'
    kept shares); ``capped`` (the energy ranks lowered into the cap one by one) when no such pair
    fits. Rounding the capped ranks up, as before, broke the cap: the cnn's 16 -> 32 layer came out
    as a 16 -> 24 core at 0.92x of the dense layer's MACs under a cap of 0.5."""
    if multiple <= 1:
        return capped
    c_in, c_out = len(s_in), len(s_out)
    inside = [(a, b) for a in _multiples(multiple, c_in) if a <= ceiling[0]
              for b in _multiples(multiple, c_out) if b <= ceiling[1]
              if tucker2_params(c_in, c_out, taps, a, b) <= budget]
    if not inside:
        return capped  # no multiple fits: the cap wins over the rounding
    kept_in, kept_out = _energy_shares(s_in), _energy_shares(s_out)
    return max(inside, key=lambda ab: (kept_in[ab[0] - 1] + kept_out[ab[1] - 1], -sum(ab)))


def rank_for_energy(singular_values: np.ndarray, energy: float) -> int:
    """Smallest rank whose singular values keep at least ``energy`` of the squared spectrum."""
    cum = _energy_shares(singular_values)  # all 1 for a zero spectrum: rank 1
    return int(min(len(cum), np.searchsorted(cum, energy - 1e-12) + 1))


def _geometry(conv: nn.Conv2d) -> dict[str, Any]:
    return {
        "in_ch": conv.in_channels, "out_ch": conv.out_channels, "kernel": conv.kernel_size,
        "stride": conv.stride, "padding": conv.padding, "bias": conv.bias is not None,
    }  # fmt: skip


def _copy_bias(conv: nn.Conv2d, target: nn.Conv2d) -> None:
    if conv.bias is not None and target.bias is not None:
        target.bias.data.copy_(conv.bias.data)


@torch.no_grad()
def spatial_from_conv(
    conv: nn.Conv2d, rank: int | None = None, energy: float = 0.9, max_ratio: float | None = None,
    multiple: int = 1,
) -> FactorizedSpatial:
    """``rank`` explicit, or the smallest keeping ``energy``, capped (if ``max_ratio``) so that the
    layer keeps at most ``max_ratio`` of the original parameters."""
    w = conv.weight.detach().double()
    o, i, kh, kw = w.shape
    m = w.permute(1, 2, 0, 3).reshape(i * kh, o * kw)  # M[(i,y),(o,x)]
    u, s, vt = torch.linalg.svd(m, full_matrices=False)
    full = len(s)
    r = min(full, rank) if rank else rank_for_energy(s.numpy(), energy)
    if not rank and max_ratio:
        cap = max(1, int(max_ratio * kh * kw * i * o / (kh * i + kw * o)))
        r = min(r, cap)
        rounded = round_rank(r, multiple, full)
        if rounded > cap:  # rounding up would break the cap: the largest multiple inside it, if any
            rounded = max((m for m in _multiples(multiple, full) if m <= cap), default=r)
        r = rounded
    elif not rank:
        r = round_rank(r, multiple, full)
    layer = FactorizedSpatial(**_geometry(conv), rank=r)
    root = s[:r].sqrt()
    vert = (u[:, :r] * root).t().reshape(r, i, kh, 1)
    horiz = (vt[:r] * root[:, None]).reshape(r, o, kw).permute(1, 0, 2).reshape(o, r, 1, kw)
    layer.vertical.weight.copy_(vert.float())
    layer.horizontal.weight.copy_(horiz.float())
    _copy_bias(conv, layer.horizontal)
    return layer


@torch.no_grad()
def tucker2_from_conv(
    conv: nn.Conv2d, rank: int | tuple[int, int] | None = None, energy: float = 0.9, max_ratio: float | None = None,
    multiple: int = 1,
) -> FactorizedTucker2:
    """Ranks explicit, or the smallest keeping ``energy`` of each unfolding's spectrum, lowered (if
    ``max_ratio``) until the layer keeps at most ``max_ratio`` of the original parameters. A factor
    whose rank is full (after the rounding to ``multiple``) is folded into the core: it would be an
    exact change of basis that costs a layer and its MACs."""
    w = conv.weight.detach().double()
    o, i, kh, kw = w.shape
    u_out, s_out, _ = torch.linalg.svd(w.reshape(o, -1), full_matrices=False)
    u_in, s_in, _ = torch.linalg.svd(w.permute(1, 0, 2, 3).reshape(i, -1), full_matrices=False)
    if rank:
        r_in, r_out = (rank, rank) if isinstance(rank, int) else rank
        r_in, r_out = min(r_in, len(s_in)), min(r_out, len(s_out))
    else:
        r_in, r_out = rank_for_energy(s_in.numpy(), energy), rank_for_energy(s_out.numpy(), energy)
        if max_ratio:
            budget = max_ratio * i * o * kh * kw
            ceiling = round_rank(r_in, multiple, i), round_rank(r_out, multiple, o)
            while tucker2_params(i, o, kh * kw, r_in, r_out) > budget and max(r_in, r_out) > 1:
                if r_in / i >= r_out / o and r_in > 1:
                    r_in -= 1
                else:
                    r_out -= 1
            r_in, r_out = _tucker2_round_within(s_in.numpy(), s_out.numpy(), (r_in, r_out), ceiling, multiple,
                                                kh * kw, budget)
        else:
            r_in, r_out = round_rank(r_in, multiple, len(s_in)), round_rank(r_out, multiple, len(s_out))
    fold = tuple(f for f, r, full in (("first", r_in, i), ("last", r_out, o)) if r >= full)
    a = u_in[:, :r_in] if "first" not in fold else torch.eye(i, dtype=w.dtype)  # (I, Ri)
    b = u_out[:, :r_out] if "last" not in fold else torch.eye(o, dtype=w.dtype)  # (O, Ro)
    core = torch.einsum("oiyx,or,is->rsyx", w, b, a)  # (Ro, Ri, kh, kw)
    layer = FactorizedTucker2(**_geometry(conv), rank_in=r_in, rank_out=r_out, fold=fold)
    if isinstance(layer.first, nn.Conv2d):
        layer.first.weight.copy_(a.t().reshape(r_in, i, 1, 1).float())
    layer.core.weight.copy_(core.float())
    if isinstance(layer.last, nn.Conv2d):
        layer.last.weight.copy_(b.reshape(o, r_out, 1, 1).float())
    _copy_bias(conv, layer.last if isinstance(layer.last, nn.Conv2d) else layer.core)
    return layer


def dictionary_ratio(conv: nn.Conv2d, atoms: int) -> float:
    """The share of ``conv``'s weights a dictionary of ``atoms`` atoms keeps as deployed: per input
    channel its atoms as an h×w depthwise filter each, and the codes as a dense 1×1 (TFLite stores
    the sparse codes densely). The same share of its MACs, as both forms run at conv's resolution."""
    o, _, kh, kw = conv.weight.shape
    return atoms * (kh * kw + o) / (o * kh * kw)


def dictionary_atoms(conv: nn.Conv2d, atoms: int | None, max_ratio: float | None) -> int:
    """The atom count of ``conv``'s dictionary: an explicit ``atoms`` as given; otherwise the most,
    up to h*w/2, with which the layer keeps at most ``max_ratio`` of its weights (at least 1). The
    same cap as the energy-chosen ranks: without it the cnn's two 3×3 layers take 4 atoms each,
    0.57× of the model's MACs; at ``max_ratio`` 0.55 they take 3 and 4, 0.50×."""
    kh, kw = conv.kernel_size
    if atoms is not None:
        return max(1, min(int(atoms), kh * kw))
    k = max(1, kh * kw // 2)
    while k > 1 and max_ratio is not None and dictionary_ratio(conv, k) > max_ratio:
        k -= 1
    return k


@torch.no_grad()
def dictionary_from_conv(conv: nn.Conv2d, atoms: int = 4, alpha: float = 0.2, seed: int = 0) -> FactorizedDictionary:
    """Dictionary of ``atoms`` unit-norm atoms over the h×w kernels.

    ``alpha`` is the ℓ1 weight relative to the kernels' RMS. ``alpha = 0`` gives dense codes: the
    atoms are then the leading principal directions of the kernels (the optimal dense dictionary)
    and the codes their least-squares coefficients.
    """
    w = conv.weight.detach().double()
    o, i, kh, kw = w.shape
    x = w.reshape(o * i, kh * kw).numpy()
    k = max(1, min(int(atoms), kh * kw))
    scale = float(np.sqrt((x**2).mean())) or 1.0
    xs = x / scale
    if alpha <= 0:
        _, _, vt = np.linalg.svd(xs, full_matrices=False)
        v = vt[:k]
        codes = xs @ v.T
    else:
        from sklearn.decomposition import DictionaryLearning

        dl = DictionaryLearning(
            n_components=k, alpha=alpha, max_iter=30, fit_algorithm="cd", transform_algorithm="lasso_cd",
            transform_alpha=alpha, random_state=seed,
        )  # fmt: skip
        codes = dl.fit_transform(xs)
        v = dl.components_
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        v = v / norms
        codes = codes * norms.T
    layer = FactorizedDictionary(**_geometry(conv), atoms=k)
    layer.set_atoms(torch.from_numpy(v.reshape(k, kh, kw)).float())
    c = torch.from_numpy(codes * scale).float().reshape(o, i * k, 1, 1)
    layer.pointwise.weight.copy_(c)
    if alpha > 0:
        layer.mask.copy_((c != 0).float())
    _copy_bias(conv, layer.pointwise)
    return layer


@torch.no_grad()
def depthwise_from_conv(conv: nn.Conv2d) -> FactorizedDepthwise:
    w = conv.weight.detach().double()
    o, i, kh, kw = w.shape
    layer = FactorizedDepthwise(**_geometry(conv))
    for c in range(i):
        u, s, vt = torch.linalg.svd(w[:, c].reshape(o, kh * kw), full_matrices=False)
        root = s[0].sqrt()
        layer.depthwise.weight[c, 0] = (vt[0] * root).reshape(kh, kw).float()
        layer.pointwise.weight[:, c, 0, 0] = (u[:, 0] * root).float()
    _copy_bias(conv, layer.pointwise)
    return layer


@torch.no_grad()
def grouped_from_conv(conv: nn.Conv2d, groups: int = 2) -> FactorizedGrouped:
    o, i = conv.out_channels, conv.in_channels
    layer = FactorizedGrouped(**_geometry(conv), groups=groups)
    oi, ii = o // groups, i // groups
    for k in range(groups):
        layer.conv.weight[k * oi : (k + 1) * oi] = conv.weight[k * oi : (k + 1) * oi, k * ii : (k + 1) * ii]
    _copy_bias(conv, layer.conv)
    return layer


def relative_error(conv: nn.Conv2d, layer: FactorizedConv) -> float:
    """||W - W_hat|| / ||W|| (Frobenius) between the conv kernel and the factorized layer's equivalent."""
    with torch.no_grad():
        w = conv.weight.detach()
        return float((w - layer.dense_weight()).norm() / w.norm().clamp_min(1e-12))


# -- whole-model factorization --------------------------------------------------------------------


@dataclass
class LayerChange:
    name: str
    params_before: int
    macs_before: int
    params_after: int
    macs_after: int
    rel_error: float | None
    detail: str
    replaced: bool


@dataclass
class FactorizeReport:
    method: str
    layers: list[LayerChange] = field(default_factory=list)
    params_before: int = 0
    macs_before: int = 0
    params_after: int = 0
    macs_after: int = 0

    def table(self) -> str:
        rows = [
            f"{'layer':26} {'params':>8} {'-> after':>9} {'MACs':>10} {'-> after':>10} {'init err':>9}  detail",
        ]
        for c in self.layers:
            err = f"{c.rel_error:9.4f}" if c.rel_error is not None else f"{'-':>9}"
            rows.append(
                f"{c.name[:26]:26} {c.params_before:8d} {c.params_after:9d} {c.macs_before:10d} {c.macs_after:10d} {err}  {c.detail}"
            )
        rows.append(
            f"{'total (model)':26} {self.params_before:8d} {self.params_after:9d} {self.macs_before:10d} {self.macs_after:10d}"
        )
        return "\n".join(rows)


def _eligible(name: str, conv: nn.Conv2d, method: str, groups: int, input_layer: bool) -> str | None:
    """None if ``conv`` can be factorized by ``method``, else the reason why not."""
    if conv.groups != 1:
        return "already grouped/depthwise"
    if conv.kernel_size == (1, 1):
        return "1×1 kernel"
    if conv.dilation != (1, 1) or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        return "dilation/padding mode not supported"
    if input_layer:
        return "input layer"
    if method == "grouped" and (conv.in_channels % groups or conv.out_channels % groups):
        return f"channels not divisible by {groups} groups"
    return None


def factorize_model(
    model: nn.Module,
    method: str,
    input_shape: tuple[int, int, int],
    *,
    rank: int | None = None,
    energy: float = 0.9,
    atoms: int | None = None,
    alpha: float = 0.2,
    groups: int = 2,
    include_input_layer: bool = False,
    keep_if_larger: bool = True,
    max_ratio: float | None = 0.5,
    seed: int = 0,
    channel_multiple: int = 1,
) -> tuple[nn.Module, FactorizeReport]:
    """A factorized copy of ``model`` and the per-layer report. The copy carries ``ef_transforms``
    (the model's previous transforms plus this one) for ``save_checkpoint``.

    Ranks chosen by ``energy``, and dictionary atom counts when ``atoms`` is None, are capped so
    that a layer keeps at most ``max_ratio`` of its parameters (None: no cap); an explicit ``rank``
    or ``atoms`` is used as given.

    Layers whose factorization would not save parameters are kept unless ``keep_if_larger`` is False.

    ``channel_multiple`` rounds ranks chosen by ``energy`` up to that multiple (hardware-aware
    factorization: the target's fast kernels process channels in fours on DSP cores and eights on
    Helium, so a rank of 9 costs about what 12 does; rounding up keeps more energy for free).
    """
    if method not in METHODS:
        raise EdgefactError(f"unknown factorization method '{method}': use one of {', '.join(METHODS)}")
    if not 0 < energy <= 1:
        raise EdgefactError(f"energy {energy} must be in (0, 1], e.g. 0.9")
    if rank is not None and rank < 1:
        raise EdgefactError(f"rank {rank} must be at least 1")
    if channel_multiple < 1:
        raise EdgefactError(f"channel multiple {channel_multiple} must be at least 1 (1: no rounding)")
    if (atoms is not None and atoms < 1) or groups < 1 or alpha < 0:
        raise EdgefactError(f"atoms ({atoms}) and groups ({groups}) must be >= 1, alpha ({alpha}) >= 0")
    student = copy.deepcopy(model).eval()
    before = count_ops(student, input_shape)
    by_name = {layer.name: layer for layer in before.layers}
    convs = [(n, m) for n, m in student.named_modules() if type(m) is nn.Conv2d]
    first_conv = convs[0][0] if convs else None
    report = FactorizeReport(method=method, params_before=before.deploy_params, macs_before=before.total_macs)
    records: list[dict[str, Any]] = []
    torch.manual_seed(seed)
    for name, conv in convs:
        info = by_name.get(name)
        if info is None:
            continue  # conv not reached by the forward pass
        reason = _eligible(name, conv, method, groups, name == first_conv and not include_input_layer)
        if reason:
            report.layers.append(LayerChange(name, info.params, info.macs, info.params, info.macs, None, f"kept: {reason}", False))
            continue
        if method == "spatial":
            layer: FactorizedConv = spatial_from_conv(conv, rank, energy, max_ratio, channel_multiple)
            detail = f"rank {layer.ef_args['rank']}"
        elif method == "lowrank":
            layer = tucker2_from_conv(conv, rank, energy, max_ratio, channel_multiple)
            detail = f"ranks in {layer.ef_args['rank_in']} out {layer.ef_args['rank_out']}" + "".join(
                f", {f} 1×1 at full rank folded into the core" for f in layer.fold)
        elif method == "dictionary":
            layer = dictionary_from_conv(conv, dictionary_atoms(conv, atoms, max_ratio), alpha, seed)
            mask = layer.mask
            detail = f"{layer.atoms} atoms, codes {int(mask.sum())}/{mask.numel()} non-zero"
        elif method == "depthwise":
            layer = depthwise_from_conv(conv)
            detail = "depthwise + pointwise"
        else:
            layer = grouped_from_conv(conv, groups)
            detail = f"{groups} groups"
        sub = count_ops(_Probe(layer), info.input_shape)
        p_after, m_after = sub.deploy_params, sub.total_macs
        if keep_if_larger and p_after >= info.params and rank is None:
            report.layers.append(
                LayerChange(name, info.params, info.macs, info.params, info.macs, None, f"kept: {detail} saves nothing", False)
            )
            continue
        err = relative_error(conv, layer)
        set_module(student, name, layer)
        records.append({"path": name, "type": layer.kind, "args": dict(layer.ef_args)})
        report.layers.append(LayerChange(name, info.params, info.macs, p_after, m_after, err, detail, True))
    after = count_ops(student, input_shape)
    report.params_after, report.macs_after = after.deploy_params, after.total_macs
    student.ef_transforms = list(getattr(model, "ef_transforms", [])) + [{"method": method, "layers": records}]
    return student, report


# -- the emitted form of a dictionary layer, by measured cost ------------------------------------

def dictionary_form_costs(layer: FactorizedDictionary, out_hw: tuple[int, int],
                          models: dict[str, CostModel] | None) -> dict[str, float]:
    """Estimated cost of each form of ``layer`` with an ``out_hw`` output: instructions from the
    core's measured kernel cost ``models`` (edgefact.targets.kernel_costs: the measurement of a
    measured shape, else the per-output + per-MAC fit), or MACs where there are none (the host:
    fewer MACs, faster)."""
    h, w = int(out_hw[0]), int(out_hw[1])
    pixels = h * w
    kh, kw = layer.kernel
    i, o, k = layer.in_ch, layer.out_ch, layer.atoms
    # the table's measurements are of stride-1 SAME layers, keyed by the output's size: any other
    # layer takes the fit (a stride-2 layer's 14×14 output is not the stride-1 14×14 sample)
    like = layer.stride == (1, 1) and layer.padding == (kh // 2, kw // 2)
    # (kind, dims, outputs, MACs) of each stage; the 1x1 runs on the depthwise's output either way
    work = {
        "depthwise": [("depthwise_mult", (h, w, i, i * k, kh, kw) if like else None, pixels * i * k,
                       pixels * kh * kw * i * k),
                      ("conv_1x1", (h, w, i * k, o, 1, 1), pixels * o, pixels * i * k * o)],
        "dense": [("conv", (h, w, i, o, kh, kw) if like else None, pixels * o, pixels * kh * kw * i * o)],
    }
    return {form: float(sum(models[kind].cost(dims, outs, macs) if models else macs
                            for kind, dims, outs, macs in parts))
            for form, parts in work.items()}


def choose_dictionary_forms(model: nn.Module, input_shape: tuple[int, int, int], core: str | None,
                            form: str = "auto") -> list[dict[str, Any]]:
    """Put every dictionary layer of ``model`` in its fastest form on ``core`` (``form`` "auto"),
    or in ``form``; in place, the checkpoint records (``ef_transforms``) updated to match. Returns
    one row per layer: path, the estimated cost of each form (instructions, or MACs without a
    measured table) and the form chosen."""
    if form != "auto" and form not in DICTIONARY_FORMS:
        raise EdgefactError(f"unknown dictionary form '{form}': use auto or one of {', '.join(DICTIONARY_FORMS)}")
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, FactorizedDictionary)]
    if not layers:
        return []
    shapes = {layer.name: layer.output_shape for layer in count_ops(model, input_shape).layers}
    models = cost_models(core)
    rows: list[dict[str, Any]] = []
    chosen: dict[str, str] = {}
    for name, layer in layers:
        out_shape = shapes.get(name + (".dense" if layer.form == "dense" else ".pointwise"))
        if out_shape is None:
            continue  # not reached by the forward pass
        costs = dictionary_form_costs(layer, (int(out_shape[-2]), int(out_shape[-1])), models)
        # the dense form has lost the atoms/codes split: it can only stay dense
        reachable = list(costs) if layer.form == "depthwise" else [layer.form]
        pick = min(reachable, key=lambda f: (costs[f], f != layer.form)) if form == "auto" else form
        set_module(model, name, layer.to_form(pick))
        chosen[name] = pick
        rows.append({"path": name, "core": core, "unit": "instructions" if models else "MACs",
                     "costs": {f: round(c) for f, c in costs.items()}, "form": pick})
    for t in getattr(model, "ef_transforms", []):
        for rec in t.get("layers", []):
            if rec.get("type") == FactorizedDictionary.kind and rec.get("path") in chosen:
                args = {k: v for k, v in rec["args"].items() if k != "form"}
                rec["args"] = args | ({"form": chosen[rec["path"]]} if chosen[rec["path"]] != "depthwise" else {})
    return rows


class _Probe(nn.Module):
    """Wraps one layer so count_ops can be run on it alone."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


def param_count(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


__all__ = [
    "METHODS", "factorize_model", "spatial_from_conv", "tucker2_from_conv",
    "dictionary_from_conv", "dictionary_atoms", "dictionary_ratio", "depthwise_from_conv", "grouped_from_conv", "relative_error", "rank_for_energy",
    "round_rank", "tucker2_params", "choose_dictionary_forms", "dictionary_form_costs",
    "FactorizeReport", "LayerChange",
]  # fmt: skip
