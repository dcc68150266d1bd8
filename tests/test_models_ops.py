"""Op counts agree with torch's FlopCounterMode (FLOPs = 2·MACs) on every zoo model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from edgefact.models.ops import count_ops, flop_counter_macs
from edgefact.models.zoo import build_model, list_models
from edgefact.pipeline.factorize import METHODS, factorize_model

torch.set_num_threads(1)


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 49, 10)])
def test_zoo_macs_match_flop_counter(name: str, shape: tuple[int, int, int]) -> None:
    model = build_model(name, shape, num_classes=12, width=0.75)
    rep = count_ops(model, shape)
    assert rep.total_macs == flop_counter_macs(model, shape)
    assert rep.total_macs > 0
    assert rep.layers[-1].output_shape == (12,)
    # deploy params: every counted layer's weights + biases; BatchNorm (folded at export) excluded
    bn = sum(p.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters())
    assert rep.deploy_params <= rep.total_params - bn + sum(
        m.logits.numel() for m in model.modules() if hasattr(m, "logits")
    )


@pytest.mark.parametrize("method", METHODS)
def test_factorized_macs_match_flop_counter(method: str) -> None:
    shape = (1, 16, 16)
    model = build_model("cnn", shape, width=0.5).eval()
    student, report = factorize_model(model, method, shape, rank=3 if method in ("spatial", "lowrank") else None)
    assert report.macs_after == flop_counter_macs(student, shape) == count_ops(student, shape).total_macs
    assert report.macs_before == flop_counter_macs(model, shape)
    assert report.macs_after < report.macs_before


def test_conv_formula_by_hand() -> None:
    conv = nn.Conv2d(6, 8, (3, 5), stride=(2, 1), padding=(1, 2), groups=2, bias=True)
    rep = count_ops(conv, (6, 9, 7))
    (layer,) = rep.layers
    assert layer.output_shape == (8, 5, 7)
    assert layer.macs == 5 * 7 * 3 * 5 * 6 * 8 // 2
    assert layer.params == 3 * 5 * 6 * 8 // 2 + 8
    assert layer.activation_elems == 8 * 5 * 7
    lin = count_ops(nn.Sequential(nn.Flatten(), nn.Linear(12, 5)), (3, 2, 2))
    assert lin.total_macs == 60 and lin.deploy_params == 65
