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


# -- the recipe's pieces (cheap: no full training) -------------------------------------------------


def test_lr_schedule_warms_up_then_decays_as_one_cosine() -> None:
    from edgefact.pipeline.train import lr_factor

    total, warm = 100, 10
    f = [lr_factor(s, total, warm) for s in range(total + 1)]
    assert f[0] == pytest.approx(1 / 11) and f[warm - 1] == pytest.approx(10 / 11)
    assert all(a < b for a, b in zip(f[:warm], f[1 : warm + 1], strict=True))  # linear rise ...
    assert f[warm] == 1.0 == max(f)  # ... to the peak ...
    assert all(a > b for a, b in zip(f[warm:total], f[warm + 1 :], strict=True))  # ... then falls every step
    assert f[total] == pytest.approx(0.0, abs=1e-12)
    assert f[warm + 45] == pytest.approx(0.5)  # half-way through the decay: the cosine's middle
    assert lr_factor(total, total, warm, final=0.1) == pytest.approx(0.1)
    # no warm-up: the plain cosine the fine-tunes have always used
    for s in range(0, 51, 7):
        assert lr_factor(s, 50) == pytest.approx(0.5 * (1 + np.cos(np.pi * s / 50)))


def test_augmentation_is_seeded_and_only_moves_pixels() -> None:
    from edgefact.pipeline.train import augment_batch

    x = torch.zeros(64, 1, 12, 12)
    x[:, :, 4:8, 3:9] = torch.rand(64, 1, 4, 6) + 0.5  # content 3 pixels or more from every side
    fill = torch.tensor([-0.25])
    bg = torch.full_like(x, -0.25)
    x = torch.where(x > 0, x, bg)
    a = augment_batch(x, torch.Generator().manual_seed(7), 2, True, fill)
    b = augment_batch(x, torch.Generator().manual_seed(7), 2, True, fill)
    c = augment_batch(x, torch.Generator().manual_seed(8), 2, True, fill)
    assert torch.equal(a, b) and not torch.equal(a, c) and a.shape == x.shape
    assert torch.equal(x, torch.where(x > 0, x, bg))  # the input is left alone
    # each sample: the same content values, moved (crop within the padding keeps all of them)
    assert torch.allclose(a.sum((1, 2, 3)), x.sum((1, 2, 3)), atol=1e-4)
    assert torch.equal((a > 0).sum((1, 2, 3)), (x > 0).sum((1, 2, 3)))
    moved = [not torch.equal(a[i], x[i]) for i in range(64)]
    assert sum(moved) > 40
    # a flip alone: each sample either kept or mirrored, both seen
    f = augment_batch(x, torch.Generator().manual_seed(1), 0, True)
    kept = [torch.equal(f[i], x[i]) for i in range(64)]
    mirrored = [torch.equal(f[i], x[i].flip(2)) for i in range(64)]
    assert all(k or m for k, m in zip(kept, mirrored, strict=True)) and 10 < sum(kept) < 54
    assert augment_batch(x, torch.Generator(), 0, False) is x


def test_recipe_wiring_label_smoothing_and_augmentation(digits, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import edgefact.pipeline.train as train_mod

    seen: list[float] = []
    real = train_mod.F.cross_entropy

    def spy(logits, target, **kw):  # type: ignore[no-untyped-def]
        seen.append(kw.get("label_smoothing", 0.0))
        return real(logits, target, **kw)

    monkeypatch.setattr(train_mod.F, "cross_entropy", spy)

    def run(**kw):  # type: ignore[no-untyped-def]
        torch.manual_seed(0)
        model = build_model("cnn", digits.input_shape, 10, width=0.5)
        m = train_model(model, digits, epochs=1, max_steps=4, batch_size=32, lr=0.01, seed=3, progress=False,
                        threads=1, evaluate_test=False, **kw)
        return model, m

    base, _ = run()
    assert seen == [0.0] * 4
    seen.clear()
    smooth, _ = run(label_smoothing=0.1, warmup=0.25)
    assert seen == [0.1] * 4
    a, _ = run(crop_pad=1, hflip=True)
    b, _ = run(crop_pad=1, hflip=True)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k  # augmented training stays deterministic for a seed
    assert not torch.equal(a.classifier.weight, base.classifier.weight)
    assert not torch.equal(smooth.classifier.weight, base.classifier.weight)
    with pytest.raises(EdgefactError, match="label_smoothing"):
        train_model(build_model("cnn", digits.input_shape), digits, epochs=1, label_smoothing=1.0, progress=False)


def test_default_recipe_reaches_the_build_and_suits_the_data_set() -> None:
    from edgefact.models.zoo import DEFAULT_MODEL, DEFAULT_TRAIN
    from edgefact.pipeline.build import _train_settings
    from edgefact.pipeline.config import BuildConfig
    from edgefact.pipeline.train import TRAIN_RECIPE_KEYS, recipe_kwargs

    assert set(TRAIN_RECIPE_KEYS) <= set(DEFAULT_TRAIN)
    assert DEFAULT_TRAIN["warmup"] > 0 and DEFAULT_TRAIN["label_smoothing"] > 0
    assert DEFAULT_TRAIN["optimizer"] == "adamw" and DEFAULT_TRAIN["weight_decay"] > 0
    settings = _train_settings(BuildConfig(), DEFAULT_MODEL)
    assert settings["recipe"] == {k: DEFAULT_TRAIN[k] for k in TRAIN_RECIPE_KEYS}
    assert settings["epochs"] == DEFAULT_TRAIN["epochs"] and settings["optimizer"] == DEFAULT_TRAIN["optimizer"]
    assert _train_settings(BuildConfig(model="cnn"), "cnn")["recipe"] == {}  # other models: as before
    fm = recipe_kwargs(DEFAULT_TRAIN, "fashion-mnist", (1, 28, 28))
    assert fm == {k: DEFAULT_TRAIN[k] for k in TRAIN_RECIPE_KEYS}
    small = recipe_kwargs({"crop_pad": 2, "hflip": True, "warmup": 0.1}, "digits", (1, 8, 8))
    assert small == {"crop_pad": 1, "hflip": False, "warmup": 0.1}  # digits do not survive a mirror
