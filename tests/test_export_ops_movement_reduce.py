"""MEAN over any axes (edgefact.export.ops.pooling: ef_mean_hw_s8 for H,W of a 4-D tensor,
ef_reduce_mean_s8 otherwise).

Bit-exactness with TFLM runs through the ``mean_*`` OPMODEL_CASES in tests/test_firmware_kernels_ops.py
and tests/test_firmware_kernels_qemu.py; the H,W cases also run on the general kernel there (it is their
alternative). Here: the views the general kernel walks, and which kernel each case gets.
"""

from __future__ import annotations

import numpy as np
import pytest
from opmodels import get_opmodel

from edgefact.export.lowering import lower
from edgefact.export.ops import get_op
from edgefact.export.ops.pooling import mean_views
from edgefact.export.tflite_model import load_tflite


def _walk(p) -> np.ndarray:
    idx = np.full(p.extent[:p.ndims], p.offset, dtype=np.int64)
    for k in range(p.ndims):
        shape = [1] * p.ndims
        shape[k] = p.extent[k]
        idx = idx + (np.arange(p.extent[k]) * p.stride[k]).reshape(shape)
    return idx.reshape(-1)


@pytest.mark.parametrize("shape,axes", [((1, 5, 6, 7), [3]), ((1, 6, 5, 8), [1, 3]), ((1, 4, 5, 6), [0, 1, 2, 3]),
                                        ((2, 3, 4), [0, 2]), ((1, 9, 6), [1]), ((3, 4, 5, 2), [1, 2])])
def test_mean_views_sum_like_numpy(shape: tuple[int, ...], axes: list[int]) -> None:
    x = np.random.default_rng(0).integers(-128, 128, shape)
    outer, inner = mean_views(shape, axes)
    assert inner.offset == 0
    flat = x.reshape(-1)
    got = np.array([flat[o + _walk(inner)].sum() for o in _walk(outer)])
    assert np.array_equal(got, x.sum(axis=tuple(axes)).reshape(-1))


@pytest.mark.parametrize("case,kernels", [
    ("mean_hw", ("ef_mean_hw_s8", "ef_reduce_mean_s8")),
    ("mean_hw_keepdims", ("ef_mean_hw_s8", "ef_reduce_mean_s8")),
    ("mean_c_keepdims", ("ef_reduce_mean_s8",)),
    ("mean_h_c_keepdims", ("ef_reduce_mean_s8",)),
    ("mean_3d_last", ("ef_reduce_mean_s8",)),
])
def test_kernel_choice(case: str, kernels: tuple[str, ...]) -> None:
    layer = lower(load_tflite(get_opmodel(case))).layers[0]
    entry = get_op("MEAN")
    assert entry is not None
    assert entry.kernels(layer) == kernels
