"""The MicroNet score against hand counts."""

from __future__ import annotations

import numpy as np
import pytest
from opmodels import get_opmodel

from edgefact.errors import EdgefactError
from edgefact.export.lowering import lower
from edgefact.export.micronet import REFERENCES, micronet_score, tensor_storage
from edgefact.export.tflite_model import load_tflite


def test_tensor_storage_picks_the_cheapest_form() -> None:
    dense = np.arange(1, 65, dtype=np.int8).reshape(4, 16)  # 64 distinct non-zero values
    assert tensor_storage(dense) == (64 * 8 / 32, "int8")
    sparse = np.zeros((4, 16), np.int8)
    sparse[0, :3] = [5, 6, 7]
    assert tensor_storage(sparse, clusters_axis=None) == ((3 * 8 + 64) / 32, "sparse")
    rng = np.random.default_rng(0)
    clustered = np.stack([rng.choice(np.array([-9, -3, 4, 11], np.int8), 64) for _ in range(8)])  # K=4 per row
    value, how = tensor_storage(clustered)
    assert how.startswith("clustered 2-bit") and value == pytest.approx((512 * 2 + 4 * 8) / 32)  # one shared table


def test_fully_connected_by_hand() -> None:
    g = lower(load_tflite(get_opmodel("fc_nobias")))  # 16 -> 5, no bias, one scale per unit
    s = micronet_score(g)
    layer = g.layers[0]
    w = layer.consts["filter"]
    assert w.shape == (5, 16) and np.count_nonzero(w) == 80 and len(np.unique(w)) > 16
    assert layer.consts["multiplier"].size == 5
    # the generator folds input_offset * sum(w) into a bias (32-bit, one per unit) even without one
    assert layer.consts["bias"].size == 5
    storage = 80 * 8 / 32 + 5 + 5 + 5  # int8 weights + a bias, a multiplier and a shift per unit (32-bit each)
    ops = 80 * (8 / 32 + 1) + 5 * 4  # MACs (8-bit multiply + 32-bit add) + epilogue per output
    assert s.storage == pytest.approx(storage)
    assert s.ops == pytest.approx(ops)
    ref = REFERENCES["cifar100"]
    assert s.score == pytest.approx(storage / ref.params + ops / ref.ops)
    assert s.as_dict()["score"] == pytest.approx(s.score)


def test_pool_and_reference_choice() -> None:
    g = lower(load_tflite(get_opmodel("maxpool_2x2_s2_valid")))  # 8x8x6 -> 4x4x6, 2x2 windows
    s = micronet_score(g, "imagenet")
    assert s.storage == 0 and s.ops == pytest.approx(4 * 4 * 6 * 4)
    assert "MobileNetV2" in s.reference
    with pytest.raises(EdgefactError, match="known: cifar100, imagenet"):
        micronet_score(g, "mnist")
