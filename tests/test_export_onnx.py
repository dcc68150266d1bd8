"""ONNX export: checker + onnxruntime parity for every zoo model, canonicalization, errors, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner

from edgefact.errors import EdgefactError
from edgefact.export import onnx_export
from edgefact.export.onnx_export import export_onnx
from edgefact.models.layers import harden_shifts
from edgefact.models.zoo import build_model, list_models
from edgefact.pipeline.data import load_dataset, normalize


@pytest.fixture(scope="module")
def fmnist_test() -> np.ndarray:
    ds = load_dataset("fashion-mnist", max_train=2000, max_test=16)
    return normalize(ds.x_test, ds.mean, ds.std)


@pytest.mark.parametrize("name", list_models())
def test_every_zoo_model_exports_with_parity(name: str, fmnist_test: np.ndarray, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model(name, (1, 28, 28), 10, width=0.5).eval()
    harden_shifts(model)
    # non-trivial BatchNorm statistics, so that folding/ordering mistakes would show
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    res = export_onnx(model, (1, 28, 28), tmp_path / f"{name}.onnx", check_inputs=fmnist_test)
    assert res.path.is_file() and res.check_source == "given" and res.check_samples == 16
    assert res.relative_diff <= 1e-4 and res.output_shape == (1, 10)
    m = onnx.load(str(res.path))
    onnx.checker.check_model(m)
    assert m.opset_import[0].version == 17
    assert "ReduceMean" not in res.op_counts  # canonicalized to GlobalAveragePool
    # parity again, independently of the exporter's own check
    with torch.no_grad():
        ref = model(torch.from_numpy(fmnist_test)).numpy()
    got = onnx_export.run_onnx(res.path, fmnist_test)
    assert np.max(np.abs(ref - got)) <= 1e-4 * (ref.max() - ref.min())


def test_parity_failure_is_reported_and_nothing_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3))
    real = onnx_export.run_onnx
    monkeypatch.setattr(onnx_export, "run_onnx", lambda p, x: real(p, x) + 1e-2)
    out = tmp_path / "m.onnx"
    with pytest.raises(EdgefactError, match="parity check failed"):
        export_onnx(model, (1, 8, 8), out)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_bad_opset_and_shape_are_user_errors(tmp_path: Path) -> None:
    model = torch.nn.Conv2d(1, 2, 3)
    with pytest.raises(EdgefactError, match="opset 9 is not supported"):
        export_onnx(model, (1, 8, 8), tmp_path / "a.onnx", opset=9)
    with pytest.raises(EdgefactError, match="input shape"):
        export_onnx(model, (8, 8), tmp_path / "a.onnx")
    with pytest.raises(EdgefactError, match="check inputs have shape"):
        export_onnx(model, (1, 8, 8), tmp_path / "a.onnx", check_inputs=np.zeros((2, 1, 9, 9), np.float32))


def test_opset18_reducemean_axes_input_is_canonicalized(tmp_path: Path) -> None:
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
            self.fc = torch.nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.conv(x).mean(dim=(2, 3)))

    res = export_onnx(Net(), (1, 6, 6), tmp_path / "n.onnx", opset=18)
    assert res.op_counts.get("GlobalAveragePool") == 1 and "ReduceMean" not in res.op_counts
    assert res.relative_diff < 1e-5


def test_export_cli_from_checkpoint(tmp_path: Path) -> None:
    from edgefact.cli import cli
    from edgefact.pipeline.checkpoint import save_checkpoint

    ds = load_dataset("fashion-mnist", max_train=500, max_test=8)
    torch.manual_seed(0)
    model = build_model("cnn", (1, 28, 28), 10, width=0.25)
    ckpt = save_checkpoint(tmp_path / "c.pt", model, "cnn", {"input_shape": (1, 28, 28), "num_classes": 10,
                                                             "width": 0.25}, ds.meta())
    out = tmp_path / "c.onnx"
    r = CliRunner().invoke(cli, ["export", str(ckpt), "--to", "onnx", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.is_file() and "parity on 64 given inputs" in r.output
    r = CliRunner().invoke(cli, ["export", str(tmp_path / "missing.pt"), "--to", "onnx", "--out", str(out)])
    assert r.exit_code != 0 and isinstance(r.exception, EdgefactError)
