"""Training loop (determinism, distillation), checkpoints and the train/factorize/models commands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from edgefact.cli import cli
from edgefact.errors import EdgefactError
from edgefact.models.zoo import build_model
from edgefact.pipeline.checkpoint import load_checkpoint, save_checkpoint
from edgefact.pipeline.data import load_dataset
from edgefact.pipeline.train import evaluate, kd_loss, train_model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits():  # type: ignore[no-untyped-def]
    return load_dataset("digits")


def _train(ds, seed: int, teacher=None) -> tuple[torch.nn.Module, dict]:  # type: ignore[no-untyped-def]
    torch.manual_seed(seed)
    model = build_model("cnn", ds.input_shape, 10, width=0.5)
    m = train_model(model, ds, epochs=2, batch_size=64, lr=0.01, seed=seed, progress=False, threads=1, teacher=teacher)
    return model, m


def test_training_learns_and_is_deterministic(digits) -> None:  # type: ignore[no-untyped-def]
    a, ma = _train(digits, 0)
    b, mb = _train(digits, 0)
    c, _ = _train(digits, 1)
    assert ma["test_accuracy"] > 0.8, ma
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
    assert not torch.equal(a.classifier.weight, c.classifier.weight)
    assert ma["test_accuracy"] == evaluate(a, digits.x_test, digits.y_test, digits.mean, digits.std)
    assert ma["steps"] == 2 * int(np.ceil(len(digits.y_train) / 64))


def test_distillation(digits) -> None:  # type: ignore[no-untyped-def]
    teacher, _ = _train(digits, 0)
    s = torch.randn(4, 10)
    assert float(kd_loss(s, s, 4.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(kd_loss(s, torch.randn(4, 10), 4.0)) > 0
    student, m = _train(digits, 2, teacher=teacher)
    assert m["distilled"] and m["test_accuracy"] > 0.7


def test_train_argument_errors(digits) -> None:  # type: ignore[no-untyped-def]
    model = build_model("cnn", digits.input_shape)
    with pytest.raises(EdgefactError, match="adam, adamw, sgd"):
        train_model(model, digits, epochs=1, optimizer="lbfgs", progress=False)
    with pytest.raises(EdgefactError, match="kd_alpha"):
        train_model(model, digits, epochs=1, kd_alpha=2.0, progress=False)


def test_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(EdgefactError, match="edgefact train"):
        load_checkpoint(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(EdgefactError, match="cannot read checkpoint"):
        load_checkpoint(bad)
    model = build_model("cnn", (1, 8, 8))
    meta = {"name": "d", "classes": ["a", "b"], "mean": [0.1], "std": [0.2], "input_shape": [1, 8, 8]}
    p = save_checkpoint(tmp_path / "ok.pt", model, "dscnn", {"input_shape": [1, 8, 8]}, meta)
    with pytest.raises(EdgefactError, match="do not match architecture"):
        load_checkpoint(p).build_model()


def test_cli_train_factorize_models(tmp_path: Path, digits) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    ck = tmp_path / "cnn.pt"
    r = runner.invoke(cli, ["train", "--model", "cnn", "--dataset", "digits", "--epochs", "2", "--batch-size", "64",
                            "--lr", "0.01", "--threads", "1", "--quiet", "--out", str(ck)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "test accuracy" in r.output
    c = load_checkpoint(ck)
    assert c.arch == "cnn" and c.input_shape == (1, 8, 8) and len(c.classes) == 10
    assert c.metrics["test_accuracy"] > 0.5
    mean, std = c.normalization
    assert mean == pytest.approx(digits.mean) and std == pytest.approx(digits.std)
    model = c.build_model()
    assert evaluate(model, digits.x_test, digits.y_test, mean, std) == pytest.approx(c.metrics["test_accuracy"])

    out = tmp_path / "lowrank.pt"
    r = runner.invoke(cli, ["factorize", str(ck), "--method", "lowrank", "--rank", "4", "--epochs", "1",
                            "--threads", "1", "--quiet", "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "features.2.0" in r.output and "ranks in 4 out 4" in r.output and "total (model)" in r.output
    f = load_checkpoint(out)
    fact = f.extra["factorization"]
    assert fact["method"] == "lowrank" and fact["params_after"] < fact["params_before"]
    fm = f.build_model()
    assert evaluate(fm, digits.x_test, digits.y_test, mean, std) == pytest.approx(f.metrics["test_accuracy"])

    r = runner.invoke(cli, ["models", "--input", "1x8x8", "--layers", "dscnn"])
    assert r.exit_code == 0, r.output
    for name in ("cnn", "dscnn", "mobilenetv2", "shiftnet", "resnet8"):
        assert name in r.output
    r = runner.invoke(cli, ["train", "--model", "shiftnet", "--arg", "keep=2", "--dataset", "digits", "--epochs", "1",
                            "--max-train-samples", "64", "--threads", "1", "--quiet", "--out", str(tmp_path / "s.pt")])  # fmt: skip
    assert r.exit_code == 0, r.output
    s = load_checkpoint(tmp_path / "s.pt")
    assert s.arch_args["keep"] == 2
    assert s.build_model().features[1].shift.keep == 2
    r = runner.invoke(cli, ["train", "--model", "cnn", "--arg", "nonsense", "--out", str(tmp_path / "x.pt")])
    assert isinstance(r.exception, EdgefactError) and "KEY=VALUE" in str(r.exception)
    r = runner.invoke(cli, ["models", "--input", "28x28"])
    assert isinstance(r.exception, EdgefactError)
