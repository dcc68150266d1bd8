"""Every zoo model (and every factorization of the baseline) trains a few steps and exports to ONNX
with plain ops; onnxruntime agrees with torch."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from edgefact.errors import EdgefactError
from edgefact.models.layers import ShiftConv
from edgefact.models.zoo import DEFAULT_MODEL, DEFAULT_TRAIN, build_model, list_models
from edgefact.pipeline.data import Dataset
from edgefact.pipeline.factorize import METHODS, factorize_model
from edgefact.pipeline.train import train_model

torch.set_num_threads(1)

# Ops that onnx2tf turns into CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / ADD / pooling / MEAN /
# CONCATENATION with fused activations. No Transpose, Reshape, Gather, Tile...
ALLOWED_ONNX_OPS = {"Conv", "Relu", "Clip", "Add", "Concat", "MaxPool", "ReduceMean", "Gemm", "Flatten", "Constant"}
SHAPE = (1, 16, 16)


def _tiny_dataset(shape: tuple[int, int, int] = SHAPE, n: int = 64) -> Dataset:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    x = rng.random((n, *shape), dtype=np.float32) * 0.3
    x[np.arange(n), 0, y * 4, :] += 0.7  # a learnable stripe per class
    return Dataset("tiny", x[:48], y[:48], x[48:], y[48:], classes=["a", "b", "c"])


def _export_and_compare(model: torch.nn.Module, shape: tuple[int, int, int], path: Path) -> set[str]:
    model.eval()
    x = torch.randn(2, *shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=13, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "n"}})  # fmt: skip
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        ref = model(x).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * float(np.abs(ref).max()))
    return {n.op_type for n in proto.graph.node}


@pytest.mark.parametrize("name", list_models())
def test_zoo_model_trains_and_exports(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    ds = _tiny_dataset()
    model = build_model(name, SHAPE, num_classes=3, width=0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    metrics = train_model(model, ds, epochs=1, batch_size=16, lr=0.01, progress=False, max_steps=3)
    assert metrics["steps"] == 3 and np.isfinite(metrics["train_loss"])
    changed = [k for k, v in model.state_dict().items() if v.dtype.is_floating_point and not torch.equal(v, before[k])]
    assert changed, "training did not update any weight"
    # shift layers leave training hardened, so they export as fixed one-hot depthwise kernels
    assert all(bool(m.hardened) for m in model.modules() if isinstance(m, ShiftConv))
    ops = _export_and_compare(model, SHAPE, tmp_path / f"{name}.onnx")
    assert ops <= ALLOWED_ONNX_OPS, f"{name} exports unexpected ONNX ops {ops - ALLOWED_ONNX_OPS}"


@pytest.mark.parametrize("method", METHODS)
def test_factorized_baseline_exports(method: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("cnn", SHAPE, num_classes=3, width=0.5).eval()
    student, report = factorize_model(model, method, SHAPE, rank=4 if method in ("spatial", "lowrank") else None)
    assert any(c.replaced for c in report.layers)
    ops = _export_and_compare(student, SHAPE, tmp_path / f"cnn_{method}.onnx")
    assert ops <= ALLOWED_ONNX_OPS, f"{method} exports unexpected ONNX ops {ops - ALLOWED_ONNX_OPS}"


def test_zoo_errors_are_clear() -> None:
    with pytest.raises(EdgefactError, match="choose one of .*cnn"):
        build_model("alexnet")
    with pytest.raises(EdgefactError, match="too small"):
        build_model("cnn", (1, 2, 2))
    with pytest.raises(EdgefactError, match="width"):
        build_model("cnn", width=0)


def test_default_model_is_small_and_depthwise() -> None:
    from edgefact.models.ops import count_ops

    model = build_model(DEFAULT_MODEL, (1, 28, 28))
    rep = count_ops(model, (1, 28, 28))
    assert 5_000 < rep.deploy_params < 100_000
    assert rep.total_macs < 5_000_000
    assert any(layer.groups == layer.input_shape[0] > 1 for layer in rep.layers), "default model has no depthwise conv"
    assert {"epochs", "batch_size", "lr", "optimizer"} <= set(DEFAULT_TRAIN)
