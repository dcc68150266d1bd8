"""Factorized layers: output shapes, MAC/param formulas, and the shift layer's hardening."""

from __future__ import annotations

import pytest
import torch

from edgefact.models.layers import (
    ChannelShuffle,
    DepthwiseSeparable,
    Fire,
    GroupedConv,
    InvertedResidual,
    ResNeXtBlock,
    ShiftBlock,
    ShiftConv,
    SpatialSeparable,
    harden_shifts,
    shift_channels,
)
from edgefact.models.ops import count_ops

torch.set_num_threads(1)


def _check(layer: torch.nn.Module, in_shape: tuple[int, int, int], out_shape: tuple[int, int, int], macs: int, params: int) -> None:
    layer.eval()
    y = layer(torch.randn(2, *in_shape))
    assert tuple(y.shape) == (2, *out_shape)
    rep = count_ops(layer, in_shape)
    assert rep.total_macs == macs
    assert rep.deploy_params == params


def test_depthwise_separable_formula() -> None:
    d_in, d_out, h, w, k, m = 8, 16, 10, 12, 3, 2
    # stride 2: H' = 5, W' = 6
    hw = 5 * 6
    _check(DepthwiseSeparable(d_in, d_out, k, stride=2, multiplier=m), (d_in, h, w), (d_out, 5, 6),
           hw * k * k * d_in * m + hw * d_in * m * d_out, k * k * d_in * m + d_in * m * d_out)  # fmt: skip


def test_grouped_conv_and_shuffle_formula() -> None:
    d_in, d_out, g = 8, 12, 4
    hw = 9 * 9
    _check(GroupedConv(d_in, d_out, 3, groups=g), (d_in, 9, 9), (d_out, 9, 9), hw * 9 * d_in * d_out // g, 9 * d_in * d_out // g)
    _check(GroupedConv(d_in, d_out, 3, groups=g, shuffle=True), (d_in, 9, 9), (d_out, 9, 9),
           hw * 9 * d_in * d_out // g + hw * d_out * d_out, 9 * d_in * d_out // g)  # fmt: skip


def test_channel_shuffle_is_the_shufflenet_permutation() -> None:
    x = torch.randn(1, 6, 3, 3)
    y = ChannelShuffle(6, 2)(x)
    ref = x.view(1, 2, 3, 3, 3).transpose(1, 2).reshape(1, 6, 3, 3)
    assert torch.equal(y, ref)


def test_spatial_separable_formula() -> None:
    d_in, d_out, mid, k = 6, 10, 4, 5
    _check(SpatialSeparable(d_in, d_out, k, mid=mid), (d_in, 11, 7), (d_out, 11, 7),
           11 * 7 * k * d_in * mid + 11 * 7 * k * mid * d_out, k * d_in * mid + k * mid * d_out)  # fmt: skip
    # stride 2: vertical conv halves H first, then the horizontal conv halves W
    _check(SpatialSeparable(d_in, d_out, 3, mid=mid, stride=2), (d_in, 8, 8), (d_out, 4, 4),
           4 * 8 * 3 * d_in * mid + 4 * 4 * 3 * mid * d_out, 3 * d_in * mid + 3 * mid * d_out)  # fmt: skip


def test_fire_formula() -> None:
    d_in, s, e1, e3 = 16, 4, 8, 12
    hw = 6 * 6
    _check(Fire(d_in, s, e1, e3), (d_in, 6, 6), (e1 + e3, 6, 6),
           hw * (d_in * s + s * e1 + 9 * s * e3), d_in * s + s * e1 + 9 * s * e3)  # fmt: skip


def test_inverted_residual_formula_and_shortcut() -> None:
    d, t = 8, 4
    hid = d * t
    blk = InvertedResidual(d, d, 1, t)
    assert blk.residual
    _check(blk, (d, 7, 7), (d, 7, 7), 49 * (d * hid + 9 * hid + hid * d), d * hid + 9 * hid + hid * d)
    blk2 = InvertedResidual(d, 12, 2, t)
    assert not blk2.residual
    _check(blk2, (d, 8, 8), (12, 4, 4), 64 * d * hid + 16 * (9 * hid + hid * 12), d * hid + 9 * hid + hid * 12)


def test_resnext_block_formula() -> None:
    d_in, d_out, card, width = 8, 16, 4, 8
    blk = ResNeXtBlock(d_in, d_out, 2, card, width)
    macs = 64 * d_in * width + 16 * 9 * width * width // card + 16 * width * d_out + 16 * d_in * d_out
    params = d_in * width + 9 * width * width // card + width * d_out + d_in * d_out
    _check(blk, (d_in, 8, 8), (d_out, 4, 4), macs, params)


def test_shift_block_formula() -> None:
    blk = ShiftBlock(6, 10)
    harden_shifts(blk)
    _check(blk, (6, 5, 5), (10, 5, 5), 25 * 9 * 6 + 25 * 6 * 10, 6 * 10)


def test_shift_attention_anneals_to_one_hot() -> None:
    torch.manual_seed(0)
    layer = ShiftConv(4, 3)
    layer.logits.data = torch.randn(4, 9)
    layer.ef_train_progress(0.0)
    soft0 = layer.soft_kernel().view(4, 9)
    layer.ef_train_progress(1.0)
    soft1 = layer.soft_kernel().view(4, 9)
    assert soft0.max(1).values.max() < 0.9
    assert torch.all(soft1.max(1).values > 0.99)
    assert torch.equal(soft1.argmax(1), layer.logits.argmax(1))


def test_hardened_shift_equals_explicit_shift_plus_pointwise() -> None:
    torch.manual_seed(1)
    blk = ShiftBlock(5, 7, kernel=5)
    blk.shift.logits.data = torch.randn(5, 25)
    blk.eval()
    blk.shift.harden()
    shifts = blk.shift.shifts()
    assert shifts == [((p // 5) - 2, (p % 5) - 2) for p in blk.shift.logits.argmax(1).tolist()]
    assert len(set(shifts)) > 1
    x = torch.randn(3, 5, 9, 8)
    explicit = blk.pointwise(shift_channels(x, shifts))
    assert torch.equal(blk(x), explicit)
    # a hardened SAL kernel is one-hot with value 1 (int8-exact); the exported layer has no params
    k = blk.shift.hard_kernel.view(5, -1)
    assert torch.equal(k.sum(1), torch.ones(5)) and torch.equal(k.max(1).values, torch.ones(5))
    assert blk.shift.ef_params() == 0


def test_sal2_keeps_two_learned_weights() -> None:
    torch.manual_seed(2)
    layer = ShiftConv(3, 3, keep=2)
    layer.weight.data = torch.randn(3, 9)
    layer.harden()
    k = layer.hard_kernel.view(3, 9)
    assert torch.all((k != 0).sum(1) == 2)
    top2 = torch.topk(layer.logits, 2, dim=1).indices
    assert torch.equal(k.gather(1, top2), layer.weight.gather(1, top2))
    assert layer.ef_params() == 6
    with pytest.raises(ValueError):
        layer.shifts()
