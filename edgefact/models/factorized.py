"""Factorized replacements of one trained ``nn.Conv2d``, and their replay on a fresh model.

Each class stands in for a single convolution (same input/output channels, kernel, stride,
padding): a product of plain ``nn.Conv2d`` with no BatchNorm or activation in between, so it has an
equivalent dense kernel (``dense_weight``) and exports as CONV_2D / DEPTHWISE_CONV_2D. They are what
``edgefact.pipeline.factorize`` puts in place of a trained conv (initialized from its weights).
The building blocks of :mod:`edgefact.models.layers` (``DepthwiseSeparable``, ``GroupedConv``,
``SpatialSeparable``) are a different thing: blocks for designing a model, with BatchNorm and
activation inside, so they are not linear in their input and have no dense equivalent.

``kind`` names each class in checkpoints: a factorized model records ``{"path", "type": kind,
"args": ef_args}`` per replaced layer, and :func:`apply_transforms` rebuilds the structure from
those records before the weights are loaded.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from edgefact.errors import EdgefactError
from edgefact.models.layers import pair


class FactorizedConv(nn.Module):
    """Base: remembers its constructor arguments (``ef_args``) and gives its equivalent dense kernel."""

    kind = "factorized"

    def __init__(self, in_ch: int, out_ch: int, kernel: Any, stride: Any, padding: Any, bias: bool) -> None:
        super().__init__()
        self.in_ch, self.out_ch = int(in_ch), int(out_ch)
        self.kernel, self.stride, self.padding = pair(kernel), pair(stride), pair(padding)
        self.ef_args: dict[str, Any] = {
            "in_ch": self.in_ch, "out_ch": self.out_ch, "kernel": list(self.kernel),
            "stride": list(self.stride), "padding": list(self.padding), "bias": bool(bias),
        }  # fmt: skip

    def dense_weight(self) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class FactorizedSpatial(FactorizedConv):
    kind = "spatial"

    def __init__(self, in_ch: int, out_ch: int, kernel: Any, stride: Any, padding: Any, bias: bool, rank: int) -> None:
        super().__init__(in_ch, out_ch, kernel, stride, padding, bias)
        self.ef_args["rank"] = int(rank)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        self.vertical = nn.Conv2d(in_ch, rank, (kh, 1), (sh, 1), (ph, 0), bias=False)
        self.horizontal = nn.Conv2d(rank, out_ch, (1, kw), (1, sw), (0, pw), bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.horizontal(self.vertical(x))

    def dense_weight(self) -> torch.Tensor:
        v = self.vertical.weight[:, :, :, 0]  # (R, I, kh)
        h = self.horizontal.weight[:, :, 0, :]  # (O, R, kw)
        return torch.einsum("riy,orx->oiyx", v, h)


#: the Tucker-2 factors that can be folded into the core (``FactorizedTucker2(fold=...)``)
TUCKER_FACTORS = ("first", "last")


class FactorizedTucker2(FactorizedConv):
    """1×1 (D_in -> R_in), h×w core (R_in -> R_out), 1×1 (R_out -> D_out).

    ``fold`` names factors multiplied into the core instead (``TUCKER_FACTORS``): a factor at full
    rank (R_in = D_in, R_out = D_out) is only a change of basis, so folding it keeps the function and
    removes a whole layer (its MACs, and on the device its requantized int8 intermediate); the
    core then reads D_in or writes D_out channels directly (an ``nn.Identity`` in its place).
    """

    kind = "lowrank"

    def __init__(self, in_ch: int, out_ch: int, kernel: Any, stride: Any, padding: Any, bias: bool, rank_in: int,
                 rank_out: int, fold: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__(in_ch, out_ch, kernel, stride, padding, bias)
        unknown = sorted(set(fold) - set(TUCKER_FACTORS))
        if unknown:
            raise EdgefactError(f"unknown Tucker factor(s) to fold: {', '.join(unknown)} (use {', '.join(TUCKER_FACTORS)})")
        self.fold = tuple(f for f in TUCKER_FACTORS if f in fold)
        self.ef_args.update(rank_in=int(rank_in), rank_out=int(rank_out))
        if self.fold:
            self.ef_args["fold"] = list(self.fold)
        c_in = in_ch if "first" in self.fold else rank_in
        c_out = out_ch if "last" in self.fold else rank_out
        self.first: nn.Module = nn.Identity() if "first" in self.fold else nn.Conv2d(in_ch, rank_in, 1, bias=False)
        self.core = nn.Conv2d(c_in, c_out, self.kernel, self.stride, self.padding, bias=bias and "last" in self.fold)
        self.last: nn.Module = nn.Identity() if "last" in self.fold else nn.Conv2d(rank_out, out_ch, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(self.core(self.first(x)))

    def dense_weight(self) -> torch.Tensor:
        w = self.core.weight
        if isinstance(self.first, nn.Conv2d):
            w = torch.einsum("rsyx,si->riyx", w, self.first.weight[:, :, 0, 0])  # (Ri, I)
        if isinstance(self.last, nn.Conv2d):
            w = torch.einsum("or,riyx->oiyx", self.last.weight[:, :, 0, 0], w)  # (O, Ro)
        return w


#: the equivalent forms a dictionary layer can be emitted in (see FactorizedDictionary)
DICTIONARY_FORMS = ("depthwise", "dense")


class FactorizedDictionary(FactorizedConv):
    """Depthwise conv applying K atoms to every input channel (D_in -> D_in·K; output channel i·K + k
    is atom k on channel i), then a 1×1 conv (D_in·K -> D_out) holding the sparse codes.

    Both are plain ``nn.Conv2d`` so that the layer exports as DEPTHWISE_CONV_2D + CONV_2D. The
    atoms' sharing across channels and the codes' sparsity pattern are restored after every
    optimizer step (``ef_after_step``, called by ``train_model``). Deployed params (counted as
    stored by TFLite): D_in·K·h·w + D_in·K·D_out; the shared atoms themselves are only K·h·w.

    ``form`` is how the layer computes (and exports): ``depthwise``, the form above, trained and
    fine-tuned in; ``dense``, the one h×w convolution with the product kernel (``dense_weight``),
    the same linear function (no activation or rounding between the two convolutions, the bias
    applied once at the end) in one CONV_2D. :meth:`to_form` converts; which form a target runs
    faster is decided by ``edgefact.pipeline.factorize.choose_dictionary_forms`` from measured
    kernel rates. In the dense form the atoms and codes are no longer separate tensors, so it is a
    deployment form: the constraints are not re-imposed after a step.
    """

    kind = "dictionary"

    def __init__(self, in_ch: int, out_ch: int, kernel: Any, stride: Any, padding: Any, bias: bool, atoms: int,
                 form: str = "depthwise") -> None:
        super().__init__(in_ch, out_ch, kernel, stride, padding, bias)
        if form not in DICTIONARY_FORMS:
            raise EdgefactError(f"unknown dictionary form '{form}': use one of {', '.join(DICTIONARY_FORMS)}")
        self.ef_args["atoms"] = int(atoms)
        self.atoms = int(atoms)
        self.form = form
        if form == "dense":
            self.ef_args["form"] = form  # absent = depthwise: the checkpoints written before forms existed
            self.dense = nn.Conv2d(in_ch, out_ch, self.kernel, self.stride, self.padding, bias=bias)
            return
        self.depthwise = nn.Conv2d(in_ch, in_ch * atoms, self.kernel, self.stride, self.padding, groups=in_ch, bias=False)
        self.pointwise = nn.Conv2d(in_ch * atoms, out_ch, 1, bias=bias)
        self.register_buffer("mask", torch.ones_like(self.pointwise.weight))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.form == "dense":
            return self.dense(x)
        return self.pointwise(self.depthwise(x))

    def _need_depthwise(self, what: str) -> None:
        if self.form != "depthwise":
            raise EdgefactError(f"dictionary layer in the {self.form} form has no separate {what}: "
                                "factorize again to get the depthwise form")

    def atom_tensor(self) -> torch.Tensor:
        """The K shared atoms (K, h, w): the mean over input channels of the depthwise kernels."""
        self._need_depthwise("atoms")
        return self.depthwise.weight.view(self.in_ch, self.atoms, *self.kernel).mean(0)

    @torch.no_grad()
    def set_atoms(self, atoms: torch.Tensor) -> None:
        self._need_depthwise("atoms")
        self.depthwise.weight.copy_(atoms.reshape(1, self.atoms, *self.kernel).expand(self.in_ch, -1, -1, -1)
                                    .reshape_as(self.depthwise.weight))  # fmt: skip

    @torch.no_grad()
    def ef_after_step(self) -> None:
        if self.form != "depthwise":
            return
        # Only when the weights are plain parameters: under weight sharing (clustering) they are
        # recomputed from centroids before every forward pass.
        if isinstance(self.depthwise.weight, nn.Parameter):
            self.set_atoms(self.atom_tensor())
        if isinstance(self.pointwise.weight, nn.Parameter):
            self.pointwise.weight.mul_(self.mask)

    def dense_weight(self) -> torch.Tensor:
        if self.form == "dense":
            return self.dense.weight
        codes = (self.pointwise.weight * self.mask)[:, :, 0, 0].view(self.out_ch, self.in_ch, self.atoms)
        return torch.einsum("oik,kyx->oiyx", codes, self.atom_tensor())

    @torch.no_grad()
    def to_form(self, form: str) -> FactorizedDictionary:
        """This layer in ``form`` (itself when it is already in it), computing the same function."""
        if form == self.form:
            return self
        if form != "dense":
            raise EdgefactError(f"a dictionary layer converts from the depthwise form to the dense one, not "
                                f"from {self.form} to {form}")
        args = {k: v for k, v in self.ef_args.items() if k != "form"}
        out = FactorizedDictionary(**args, form="dense")
        # the product of the weights the forward pass uses (per-channel atoms, codes as they are),
        # in float64 and rounded once: equal to the two-step form up to float32 rounding
        codes = self.pointwise.weight[:, :, 0, 0].double().view(self.out_ch, self.in_ch, self.atoms)
        atoms = self.depthwise.weight.double().view(self.in_ch, self.atoms, *self.kernel)
        out.dense.weight.copy_(torch.einsum("oik,ikyx->oiyx", codes, atoms).float())
        if self.pointwise.bias is not None and out.dense.bias is not None:
            out.dense.bias.copy_(self.pointwise.bias)
        return out.train(self.training)


class FactorizedDepthwise(FactorizedConv):
    kind = "depthwise"

    def __init__(self, in_ch: int, out_ch: int, kernel: Any, stride: Any, padding: Any, bias: bool) -> None:
        super().__init__(in_ch, out_ch, kernel, stride, padding, bias)
        self.depthwise = nn.Conv2d(in_ch, in_ch, self.kernel, self.stride, self.padding, groups=in_ch, bias=False)
        self.pointwise = nn.Conv2d(in_ch, out_ch, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))

    def dense_weight(self) -> torch.Tensor:
        return torch.einsum("oi,iyx->oiyx", self.pointwise.weight[:, :, 0, 0], self.depthwise.weight[:, 0])


class FactorizedGrouped(FactorizedConv):
    kind = "grouped"

    def __init__(self, in_ch: int, out_ch: int, kernel: Any, stride: Any, padding: Any, bias: bool, groups: int) -> None:
        super().__init__(in_ch, out_ch, kernel, stride, padding, bias)
        self.ef_args["groups"] = int(groups)
        self.conv = nn.Conv2d(in_ch, out_ch, self.kernel, self.stride, self.padding, groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    def dense_weight(self) -> torch.Tensor:
        g = self.conv.groups
        oi, ii = self.out_ch // g, self.in_ch // g
        w = torch.zeros(self.out_ch, self.in_ch, *self.kernel)
        for k in range(g):
            w[k * oi : (k + 1) * oi, k * ii : (k + 1) * ii] = self.conv.weight[k * oi : (k + 1) * oi]
        return w


#: kind -> class, as checkpoints name them
LAYER_TYPES: dict[str, type[FactorizedConv]] = {
    c.kind: c for c in (FactorizedSpatial, FactorizedTucker2, FactorizedDictionary, FactorizedDepthwise, FactorizedGrouped)
}



def set_module(model: nn.Module, path: str, module: nn.Module) -> None:
    """Replace the submodule at dotted ``path`` by ``module``."""
    parent_path, _, attr = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, attr, module)


def apply_transforms(model: nn.Module, transforms: list[dict[str, Any]]) -> nn.Module:
    """Replay recorded structural edits on a freshly built model (weights are loaded afterwards)."""
    for t in transforms:
        for rec in t.get("layers", []):
            cls = LAYER_TYPES.get(rec["type"])
            if cls is None:
                raise EdgefactError(
                    f"checkpoint uses factorized layer type '{rec['type']}' unknown to this edgefact "
                    f"(known: {', '.join(LAYER_TYPES)}): upgrade edgefact or refactorize"
                )
            set_module(model, rec["path"], cls(**rec["args"]))
    model.ef_transforms = list(transforms)
    return model
