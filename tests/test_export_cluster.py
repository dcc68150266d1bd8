"""The export-side clustering check (edgefact.export.cluster_check): <= K distinct int8 values per
output channel in the real .tflite, weights matched to their layers by value pattern."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from torch import nn

from edgefact.errors import EdgefactError
from edgefact.export import cluster_check as check
from edgefact.export.tflite_model import load_tflite
from edgefact.pipeline import cluster as cl
from edgefact.pipeline.data import Dataset
from tests.cluster_support import digits_models  # noqa: F401 - session fixture

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "test_cluster"


def _conv_case() -> tuple[bytes, np.ndarray]:
    """A one-conv int8 model and its weight back in PyTorch layout (O, I, kh, kw)."""
    from tests.opmodels import get_opmodel

    data = get_opmodel("conv_3x3_s1_valid")
    m = load_tflite(data)
    op = next(op for op in m.operators if op.name == "CONV_2D")
    q = np.asarray(m.tensors[op.inputs[1]].data)  # OHWI
    return data, np.transpose(q, (0, 3, 1, 2)).astype(np.float32) * 0.01  # a scale, as BN folding gives


def test_layer_matched_by_pattern_and_bound_checked() -> None:
    data, w = _conv_case()
    layer = check.LayerWeight("features.0", w)
    distinct = check.max_distinct_per_channel(np.transpose(w, (0, 2, 3, 1)), 0)
    rows = check.verify_clustering(data, {"features.0": distinct}, [layer])
    assert [r.layer for r in rows] == ["features.0"] and rows[0].ok and rows[0].max_distinct == distinct
    assert rows[0].bits == max(1, int(np.ceil(np.log2(distinct))))
    assert check.check_sharing_survived(rows) == {"clustered_tensors": 1, "max_distinct": distinct}
    # one value fewer than the file holds: the same weight fails the bound
    rows = check.verify_clustering(data, {"features.0": distinct - 1}, [layer])
    assert not rows[0].ok
    with pytest.raises(EdgefactError, match="did not survive"):
        check.check_sharing_survived(rows)
    # without layers every weight is listed unmatched and unbounded
    rows = check.verify_clustering(data)
    assert rows[0].layer is None and rows[0].k is None and rows[0].ok and rows[0].name == rows[0].tensor


def test_unmatched_clustered_layer_is_an_error() -> None:
    data, w = _conv_case()
    other = np.random.default_rng(0).standard_normal(w.shape).astype(np.float32)
    with pytest.raises(EdgefactError, match="not found among the .tflite weights"):
        check.verify_clustering(data, {"features.0": 16}, [check.LayerWeight("features.0", other)])


def test_layout_of_converted_weights() -> None:
    w = np.zeros((8, 3, 3, 5))
    assert check.tflite_layout_shape(w, depthwise=False) == (8, 3, 5, 3)
    assert check.tflite_layout_shape(np.zeros((8, 1, 3, 3)), depthwise=True) == (1, 3, 3, 8)
    assert check.tflite_layout_shape(np.zeros((10, 64)), depthwise=False) == (10, 64)


def _tflite(model: nn.Module, ds: Dataset, tmp: Path, name: str) -> tuple[Path, float]:
    """int8 export (cached by ONNX content) -> (path, int8 accuracy)."""
    from edgefact.export.onnx_export import export_onnx
    from edgefact.pipeline.from_checkpoint import export_model_to_tflite

    onnx_path = tmp / f"{name}.onnx"
    export_onnx(model, ds.input_shape, onnx_path)
    src = b"".join(Path(m.__file__).read_bytes() for m in (cl, check))
    key = hashlib.sha256(onnx_path.read_bytes() + src).hexdigest()[:20]
    out = CACHE / f"{name}-{key}.tflite"
    acc_file = out.with_suffix(".acc")
    if not out.is_file() or not acc_file.is_file():
        res = export_model_to_tflite(model, ds, out, calib_samples=200, min_agreement=0.95)
        acc_file.write_text(repr(res.tflite.int8_accuracy))
    return out, float(acc_file.read_text())


@pytest.mark.slow
def test_clustering_survives_int8(digits_models: dict) -> None:  # noqa: F811
    ds, clustered, rep = digits_models["ds"], digits_models["clustered"], digits_models["report"]
    path, acc_int8 = _tflite(clustered, ds, digits_models["tmp"], "digits-k4")
    rows = cl.verify_clustering(path, rep.expected_k(), clustered)
    clustered_rows = [r for r in rows if r.k is not None]
    assert len(clustered_rows) == len(rep.expected_k()) == 4  # 3 convs + classifier, all matched
    assert all(r.ok and r.max_distinct <= 4 and r.bits <= 2 for r in clustered_rows)
    assert acc_int8 >= rep.acc_finetuned - 0.02
    table = cl.format_table(rows, rep)
    assert "features" in table and "int8" not in table.split("accuracy:")[0]
    # the same check on the unclustered model's .tflite must fail: it is not vacuous
    base_path, _ = _tflite(digits_models["base"], ds, digits_models["tmp"], "digits-base")
    base_rows = cl.verify_clustering(base_path, rep.expected_k(), digits_models["base"])
    assert any(not r.ok for r in base_rows)
