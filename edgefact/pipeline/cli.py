"""``edgefact train`` and ``edgefact factorize``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgefact.common_cli import CONTEXT, FiniteFloatRange, examples, opt
from edgefact.errors import EdgefactError


def epochs_and_steps(epochs: float, n_train: int, batch_size: int) -> tuple[int, int | None]:
    """(whole epochs, max_steps) for a possibly fractional number of epochs (``--epochs 0.5``)."""
    import math

    if epochs >= 1 and float(epochs).is_integer():
        return int(epochs), None
    return max(1, math.ceil(epochs)), max(1, math.ceil(epochs * math.ceil(n_train / batch_size)))


def _dataset_meta_matches(ds: Any, ckpt: Any) -> None:
    if tuple(ds.input_shape) != tuple(ckpt.input_shape) or len(ds.classes) != len(ckpt.classes):
        raise EdgefactError(
            f"data set {ds.name} ({'x'.join(map(str, ds.input_shape))}, {len(ds.classes)} classes) does not match the "
            f"checkpoint ({'x'.join(map(str, ckpt.input_shape))}, {len(ckpt.classes)} classes): pass --dataset {ckpt.dataset.get('name')}"
        )


def _parse_model_args(items: tuple[str, ...]) -> dict[str, Any]:
    """KEY=VALUE strings -> kwargs; values parsed as Python literals (ints, floats, tuples), else strings."""
    import ast

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise EdgefactError(f"model argument '{item}' must look like KEY=VALUE, e.g. --arg keep=2")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


@click.command(name="train", context_settings=CONTEXT)
@opt("--model", dest="model_name", default=None, help="Zoo model (see `edgefact models`).  [default: the default model]")
@opt("--dataset", default="fashion-mnist", show_default=True)
@opt("--epochs", type=FiniteFloatRange(0, min_open=True), default=None,
     help="Epochs; fractions train part of an epoch.  [default: the model's recipe]")
@opt("--batch-size", type=click.IntRange(1), default=None, help="Samples per optimizer step.  [default: the recipe's]")
@opt("--lr", type=FiniteFloatRange(0, min_open=True), default=None,
     help="Peak learning rate (cosine schedule).  [default: the recipe's]")
@click.option("--optimizer", type=click.Choice(["adam", "adamw", "sgd"]), default=None,
              help="Optimizer.  [default: the recipe's]")
@click.option("--weight-decay", type=FiniteFloatRange(0), default=None, help="Weight decay.  [default: the recipe's]")
@opt("--width", type=FiniteFloatRange(0, min_open=True), default=1.0, show_default=True)
@click.option("--arg", "model_args", multiple=True, metavar="KEY=VALUE",
              help="Extra model argument, e.g. --arg keep=2 (shiftnet SAL2), --arg blocks=4 (dscnn).")
@opt("--seed", type=int, default=0, show_default=True)
@click.option("--teacher", type=click.Path(path_type=Path), default=None, help="Teacher checkpoint for distillation.")
@click.option("--kd-alpha", type=FiniteFloatRange(0, 1), default=0.7, show_default=True,
              help="Weight of the distillation loss.")
@click.option("--kd-temperature", type=FiniteFloatRange(0, min_open=True), default=4.0, show_default=True,
              help="Softmax temperature of the distillation loss.")
@opt("--train-samples", "--max-train-samples", dest="max_train_samples", type=click.IntRange(0), default=None,
     help="Train on the first N training samples only.  [default: all]")
@opt("--threads", type=click.IntRange(1), default=None)
@opt("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Checkpoint to write.")
@opt("--quiet", is_flag=True, help="No progress bar.")
@examples("edgefact train --out fm.pt", "edgefact train -m dscnn -d mnist-5k --epochs 0.5 --out dscnn.pt")
def train_cmd(
    model_name: str | None, dataset: str, epochs: float | None, batch_size: int | None, lr: float | None,
    optimizer: str | None, weight_decay: float | None, width: float, model_args: tuple[str, ...], seed: int,
    teacher: Path | None,
    kd_alpha: float, kd_temperature: float, max_train_samples: int | None, threads: int | None, out: Path, quiet: bool,
) -> None:  # fmt: skip
    """Train a zoo model on a data set and write a checkpoint."""
    import torch

    from edgefact.models.zoo import DEFAULT_MODEL, DEFAULT_TRAIN, build_model, list_models
    from edgefact.pipeline.checkpoint import load_checkpoint, save_checkpoint
    from edgefact.pipeline.data import load_dataset
    from edgefact.pipeline.train import (
        TRAIN_RECIPE_KEYS,
        recipe_kwargs,
        seed_everything,
        set_threads,
        train_model,
    )

    name = model_name or DEFAULT_MODEL
    if name not in list_models():
        raise EdgefactError(f"unknown model '{name}': choose one of {', '.join(list_models())}")
    # the recommended recipe is the default model's: another model gets its optimizer settings only
    recipe = dict(DEFAULT_TRAIN) if name == DEFAULT_MODEL else {
        k: v for k, v in DEFAULT_TRAIN.items() if k not in TRAIN_RECIPE_KEYS}
    for key, val in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr), ("optimizer", optimizer), ("weight_decay", weight_decay)):
        if val is not None:
            recipe[key] = val
    set_threads(threads)
    ds = load_dataset(dataset)
    arch_args: dict[str, Any] = {"input_shape": list(ds.input_shape), "num_classes": ds.num_classes, "width": width}
    arch_args.update(_parse_model_args(model_args))
    seed_everything(seed)
    model = build_model(name, **arch_args)
    teacher_model = None
    if teacher is not None:
        tck = load_checkpoint(teacher)
        _dataset_meta_matches(ds, tck)
        teacher_model = tck.build_model()
    click.echo(f"training {name} on {ds.name}: {len(ds.y_train)} train / {len(ds.y_test)} test, {ds.input_shape}, "
               f"{recipe['epochs']} epochs, {torch.get_num_threads()} threads", err=True)  # fmt: skip
    n_train = len(ds.y_train[:max_train_samples])
    whole, steps = epochs_and_steps(float(recipe["epochs"]), n_train, int(recipe["batch_size"]))
    metrics = train_model(
        model, ds, epochs=whole, max_steps=steps, batch_size=int(recipe["batch_size"]), lr=float(recipe["lr"]),
        optimizer=str(recipe["optimizer"]), weight_decay=float(recipe["weight_decay"]), seed=seed,
        teacher=teacher_model, kd_alpha=kd_alpha, kd_temperature=kd_temperature, progress=not quiet,
        max_train_samples=max_train_samples, threads=threads,
        **recipe_kwargs(recipe, ds.name, ds.input_shape),
    )  # fmt: skip
    save_checkpoint(out, model, name, arch_args, ds.meta(), metrics, extra={"recipe": recipe, "seed": seed})
    click.echo(f"test accuracy {metrics['test_accuracy']:.4f}, train {metrics['seconds']:.1f} s -> {out}")


@click.command(name="factorize", context_settings=CONTEXT)
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--method", type=click.Choice(["spatial", "lowrank", "dictionary", "depthwise", "grouped"]), required=True,
              help="Factorization: spatial (kx1+1xk), lowrank (SVD), dictionary, depthwise or grouped.")
@click.option("--rank", type=int, default=None, help="spatial/lowrank: explicit rank (else chosen by --energy).")
@click.option("--energy", type=float, default=0.9, show_default=True, help="spatial/lowrank: kept share of the squared spectrum.")
@click.option("--max-ratio", type=FiniteFloatRange(0, 1), default=0.5, show_default=True,
              help="Energy-chosen ranks (after --round-ranks) and default atom counts keep at most this share of a "
                   "layer's params (0: no cap).")
@click.option("--round-ranks", type=click.IntRange(1), default=1, show_default=True,
              help="Round energy-chosen ranks to this channel multiple (4 for the DSP cores' fast kernels, 8 for "
                   "Helium's; 1: off).")
@click.option("--atoms", type=click.IntRange(1), default=None,
              help="dictionary: atoms per dictionary.  [default: h*w/2, fewer where a layer would keep more than "
                   "--max-ratio of its params]")
@click.option("--alpha", type=float, default=0.2, show_default=True, help="dictionary: l1 weight (0 = dense codes).")
@click.option("--groups", type=int, default=2, show_default=True, help="grouped: number of groups.")
@click.option("--include-input-layer", is_flag=True, help="Also factorize the first conv.")
@opt("--dataset", default=None, help="Data set for the fine-tune.  [default: the checkpoint's]")
@opt("--epochs", type=FiniteFloatRange(0), default=2.0, show_default=True,
     help="Distillation fine-tune epochs (0: none); fractions train part of an epoch.")
@opt("--batch-size", type=click.IntRange(1), default=128, show_default=True)
@opt("--lr", type=FiniteFloatRange(0, min_open=True), default=0.002, show_default=True)
@click.option("--kd-alpha", type=FiniteFloatRange(0, 1), default=0.7, show_default=True,
              help="Weight of the distillation loss.")
@click.option("--kd-temperature", type=FiniteFloatRange(0, min_open=True), default=4.0, show_default=True,
              help="Softmax temperature of the distillation loss.")
@opt("--train-samples", "--max-train-samples", dest="max_train_samples", type=click.IntRange(0), default=None,
     help="Train on the first N training samples only.  [default: all]")
@opt("--seed", type=int, default=0, show_default=True)
@opt("--threads", type=click.IntRange(1), default=None)
@opt("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Factorized checkpoint to write.")
@opt("--quiet", is_flag=True, help="No progress bar.")
@examples("edgefact factorize fm.pt --method lowrank --energy 0.8 --out fm-lr.pt",
          "edgefact factorize fm.pt --method grouped --groups 4 --epochs 0 --out fm-g4.pt")
def factorize_cmd(
    checkpoint: Path, method: str, rank: int | None, energy: float, max_ratio: float, round_ranks: int, atoms: int | None,
    alpha: float, groups: int, include_input_layer: bool, dataset: str | None, epochs: float, batch_size: int, lr: float,
    kd_alpha: float, kd_temperature: float, max_train_samples: int | None, seed: int, threads: int | None,
    out: Path, quiet: bool,
) -> None:  # fmt: skip
    """Factorize a trained model's convolutions, then fine-tune by distillation from the original."""
    from edgefact.pipeline.checkpoint import load_checkpoint, save_checkpoint
    from edgefact.pipeline.data import load_dataset
    from edgefact.pipeline.factorize import factorize_model
    from edgefact.pipeline.train import evaluate, set_threads, train_model

    set_threads(threads)
    ck = load_checkpoint(checkpoint)
    ds = load_dataset(dataset or ck.dataset["name"])
    _dataset_meta_matches(ds, ck)
    teacher = ck.build_model()
    student, report = factorize_model(
        teacher, method, ck.input_shape, rank=rank, energy=energy, atoms=atoms, alpha=alpha, groups=groups,
        include_input_layer=include_input_layer, max_ratio=max_ratio or None, seed=seed, channel_multiple=round_ranks,
    )  # fmt: skip
    click.echo(f"{method} factorization of {checkpoint} ({ck.arch}):")
    click.echo(report.table())
    if not any(c.replaced for c in report.layers):
        raise EdgefactError(
            f"no layer was factorized by '{method}' (see the reasons above): try --include-input-layer, a smaller "
            "--rank/--energy, or another method"
        )
    mean, std = ck.normalization
    acc_teacher = evaluate(teacher, ds.x_test, ds.y_test, mean, std)
    acc_init = evaluate(student, ds.x_test, ds.y_test, mean, std)
    metrics: dict[str, Any] = {"teacher_accuracy": acc_teacher, "init_accuracy": acc_init}
    if epochs > 0:
        ds.mean, ds.std = list(mean), list(std)
        whole, steps = epochs_and_steps(epochs, len(ds.y_train[:max_train_samples]), batch_size)
        metrics.update(
            train_model(
                student, ds, epochs=whole, max_steps=steps, batch_size=batch_size, lr=lr, seed=seed, teacher=teacher, kd_alpha=kd_alpha,
                kd_temperature=kd_temperature, progress=not quiet, max_train_samples=max_train_samples, threads=threads,
                label=f"fine-tune ({method})",
            )  # fmt: skip
        )
    else:
        metrics["test_accuracy"] = acc_init
    extra = dict(ck.extra)
    extra["factorization"] = {
        "method": method, "source": str(checkpoint), "params_before": report.params_before,
        "params_after": report.params_after, "macs_before": report.macs_before, "macs_after": report.macs_after,
        "layers": [c.__dict__ for c in report.layers],
    }  # fmt: skip
    save_checkpoint(out, student, ck.arch, ck.arch_args, ck.dataset, metrics, extra=extra)
    click.echo(
        f"accuracy: original {acc_teacher:.4f}, after init {acc_init:.4f}, after fine-tune {metrics['test_accuracy']:.4f}; "
        f"params {report.params_before} -> {report.params_after}, MACs {report.macs_before} -> {report.macs_after} -> {out}"
    )

