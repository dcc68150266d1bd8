"""The factorized replacements of one conv (edgefact.models.factorized): their outputs equal the
conv with their dense kernel, their state-dict keys (what checkpoints hold) and their replay."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from edgefact.errors import EdgefactError
from edgefact.models.factorized import (
    LAYER_TYPES,
    FactorizedConv,
    FactorizedDepthwise,
    FactorizedDictionary,
    FactorizedGrouped,
    FactorizedSpatial,
    FactorizedTucker2,
    apply_transforms,
)
from edgefact.models.layers import DepthwiseSeparable, GroupedConv

GEOMETRY: dict[str, Any] = {"in_ch": 4, "out_ch": 6, "kernel": [3, 3], "stride": [2, 1], "padding": [1, 1], "bias": True}

#: kind -> (class, extra constructor arguments, state-dict keys)
CASES: dict[str, tuple[type[FactorizedConv], dict[str, int], set[str]]] = {
    "spatial": (FactorizedSpatial, {"rank": 3}, {"vertical.weight", "horizontal.weight", "horizontal.bias"}),
    "lowrank": (FactorizedTucker2, {"rank_in": 2, "rank_out": 3},
                {"first.weight", "core.weight", "last.weight", "last.bias"}),
    "dictionary": (FactorizedDictionary, {"atoms": 2}, {"depthwise.weight", "pointwise.weight", "pointwise.bias", "mask"}),
    "depthwise": (FactorizedDepthwise, {}, {"depthwise.weight", "pointwise.weight", "pointwise.bias"}),
    "grouped": (FactorizedGrouped, {"groups": 2}, {"conv.weight", "conv.bias"}),
}


def _layer(kind: str, seed: int = 0) -> FactorizedConv:
    cls, extra, _ = CASES[kind]
    torch.manual_seed(seed)
    layer = cls(**GEOMETRY, **extra)
    if isinstance(layer, FactorizedDictionary):
        layer.set_atoms(torch.randn(2, 3, 3))  # shared atoms, as factorization leaves them
    return layer.eval()


@pytest.mark.parametrize("kind", sorted(CASES))
def test_output_is_the_conv_with_the_dense_kernel(kind: str) -> None:
    layer = _layer(kind)
    assert LAYER_TYPES[kind] is type(layer) and layer.kind == kind
    bias = next(m.bias for m in layer.modules() if isinstance(m, nn.Conv2d) and m.bias is not None)
    x = torch.randn(2, 4, 9, 7)
    with torch.no_grad():
        want = F.conv2d(x, layer.dense_weight(), bias, stride=(2, 1), padding=(1, 1))
        got = layer(x)
    assert got.shape == (2, 6, 5, 7)
    assert torch.allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_state_dict_keys_and_replay(kind: str) -> None:
    layer = _layer(kind, seed=1)
    assert set(layer.state_dict()) == CASES[kind][2]
    model = nn.Sequential(nn.Conv2d(4, 6, 3, (2, 1), 1), nn.ReLU())
    apply_transforms(model, [{"method": kind, "layers": [{"path": "0", "type": kind, "args": dict(layer.ef_args)}]}])
    assert type(model[0]) is type(layer) and model.ef_transforms[0]["method"] == kind
    model[0].load_state_dict(layer.state_dict(), strict=True)
    x = torch.randn(1, 4, 9, 7)
    with torch.no_grad():
        assert torch.equal(model[0](x), layer(x))
    with pytest.raises(EdgefactError, match="unknown to this edgefact"):
        apply_transforms(nn.Sequential(nn.Conv2d(4, 6, 3)), [{"layers": [{"path": "0", "type": "nope", "args": {}}]}])


def test_zoo_blocks_are_not_the_replacements() -> None:
    # the zoo's blocks carry BatchNorm + activation inside: other keys, not a linear map of the input
    assert "depthwise.1.running_mean" in DepthwiseSeparable(4, 6).state_dict()
    assert "conv.1.running_mean" in GroupedConv(4, 6, groups=2).state_dict()
    assert not any("running_mean" in k for case in CASES.values() for k in case[2])


@pytest.mark.parametrize(("stride", "padding", "bias"), [((1, 1), (1, 1), True), ((2, 1), (0, 1), False)])
def test_dictionary_dense_form_is_the_same_function(stride: tuple[int, int], padding: tuple[int, int],
                                                    bias: bool) -> None:
    torch.manual_seed(3)
    geometry = {**GEOMETRY, "stride": list(stride), "padding": list(padding), "bias": bias}
    layer = FactorizedDictionary(**geometry, atoms=3).eval()
    with torch.no_grad():  # per-channel atoms (as clustering can leave them) and a sparse code mask
        layer.depthwise.weight.normal_()
        layer.mask.bernoulli_(0.7)
        if layer.pointwise.bias is not None:
            layer.pointwise.bias.normal_()
    dense = layer.to_form("dense")
    assert dense.form == "dense" and layer.to_form("depthwise") is layer and dense.to_form("dense") is dense
    assert set(dense.state_dict()) == {"dense.weight", "dense.bias"} if bias else {"dense.weight"}
    assert dense.ef_args == {**layer.ef_args, "form": "dense"} and "form" not in layer.ef_args
    for shape in [(5, 4, 9, 7), (1, 4, 3, 3), (2, 4, 16, 1 + 2 * padding[1])]:
        x = torch.randn(*shape) * 3
        with torch.no_grad():
            want, got = layer(x), dense(x)
        assert got.shape == want.shape
        assert torch.allclose(got, want, atol=1e-4, rtol=1e-5), float((got - want).abs().max())
    # the checkpoint form replays as the dense layer and loads its weights
    model = nn.Sequential(nn.Conv2d(4, 6, 3, stride, padding, bias=bias))
    apply_transforms(model, [{"method": "dictionary", "layers": [{"path": "0", "type": "dictionary",
                                                                  "args": dict(dense.ef_args)}]}])
    model[0].load_state_dict(dense.state_dict(), strict=True)
    x = torch.randn(2, 4, 9, 7)
    with torch.no_grad():
        assert torch.equal(model[0](x), dense(x))
    dense.ef_after_step()  # no constraint to re-impose in the deployment form
    with pytest.raises(EdgefactError, match="no separate atoms"):
        dense.atom_tensor()
    with pytest.raises(EdgefactError, match="from the depthwise form to the dense one"):
        dense.to_form("depthwise")
    with pytest.raises(EdgefactError, match="unknown dictionary form"):
        FactorizedDictionary(**GEOMETRY, atoms=2, form="grouped")
