"""edgefact.pipeline.samples: real data-set samples as a model's quantized input."""

from __future__ import annotations

import numpy as np
import pytest
from opmodels import get_opmodel
from shared_paths import MLPERF_DIR

from edgefact.errors import EdgefactError
from edgefact.export import reference as ref
from edgefact.pipeline import samples


def test_real_inputs_from_a_dataset() -> None:
    from edgefact.pipeline.data import load_dataset, normalize

    model = get_opmodel("conv_3x3_c1_8x8")
    ds = load_dataset("digits")
    (x,), labels = samples.real_samples(model, ds, 30)
    assert x.shape == (30, 8, 8, 1) and x.dtype == np.int8
    np.testing.assert_array_equal(labels, ds.y_test[:30])
    t = ref.model_io_quant(model).inputs[0]
    want = np.transpose(normalize(ds.x_test[:30], ds.mean, ds.std), (0, 2, 3, 1))
    np.testing.assert_allclose(
        t.dequantize(x),
        np.clip(want, t.dequantize(np.int8(-128)), t.dequantize(np.int8(127))),
        atol=t.scale / 2 + 1e-6,
    )
    assert len(np.unique(x)) > 8 and x.min() < -64 and x.max() > 64  # real images use the range
    np.testing.assert_array_equal(samples.real_inputs_for(model, ds, 30)[0], x)
    assert ref.compare_oracles(model, [x]).equal


def test_real_inputs_refuse_a_mismatched_dataset() -> None:
    with pytest.raises(EdgefactError, match=r"8x8x1 .* model input is \[1, 49, 10, 1\]"):
        samples.real_inputs_for(MLPERF_DIR / "kws_dscnn_int8.tflite", "digits", 5)
    with pytest.raises(EdgefactError, match=r"test split of .digits. has \d+"):
        samples.real_inputs_for(get_opmodel("conv_3x3_c1_8x8"), "digits", 100000)
