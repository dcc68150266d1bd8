"""Training and evaluation on CPU: Adam, AdamW or SGD with a cosine schedule, optional distillation.

``train_model`` is the one training loop of edgefact: ``edgefact train``, the factorization
fine-tune and the clustering fine-tune all call it. Runs are deterministic for a given seed and
thread count (seeded init by the caller, seeded shuffling and augmentation here).

The recipe pieces (all off by default, so the fine-tunes keep their behaviour; the default
model's recipe in ``edgefact.models.zoo.DEFAULT_TRAIN`` turns them on):

* ``warmup``: a linear warm-up over that share of the steps, then the cosine decay (one cycle),
  :func:`lr_factor`;
* ``label_smoothing``: cross-entropy against smoothed targets (Szegedy et al. 2016);
* ``crop_pad`` / ``hflip``: random crops of the image padded by ``crop_pad`` pixels of
  background and random horizontal flips, drawn per sample from their own seeded generator
  (:func:`augment_batch`), so the shuffling order does not depend on them.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgefact.errors import EdgefactError
from edgefact.pipeline.data import Dataset, normalize
from edgefact.progress import progress_bar

OPTIMIZERS = ("adam", "adamw", "sgd")
#: train_model's recipe keywords a zoo recipe (``edgefact.models.zoo.DEFAULT_TRAIN``) may set
TRAIN_RECIPE_KEYS = ("warmup", "label_smoothing", "crop_pad", "hflip")
#: data sets whose classes survive a horizontal mirror (clothes do; digits do not)
MIRROR_SAFE_DATASETS = frozenset({"fashion-mnist"})
#: random crops shift by at most this share of the smaller image side (2 pixels of 28, none of 8)
_MAX_CROP_SHARE = 0.125


def recipe_kwargs(recipe: dict[str, Any], dataset_name: str, input_shape: tuple[int, ...]) -> dict[str, Any]:
    """The recipe pieces of ``recipe`` for ``train_model`` that suit the data set: no mirror
    augmentation unless its classes survive one, no crop larger than an eighth of the image side."""
    out = {k: recipe[k] for k in TRAIN_RECIPE_KEYS if k in recipe}
    if out.get("hflip") and dataset_name not in MIRROR_SAFE_DATASETS:
        out["hflip"] = False
    if out.get("crop_pad"):
        side = min(int(v) for v in input_shape[-2:])
        out["crop_pad"] = min(int(out["crop_pad"]), int(side * _MAX_CROP_SHARE))
    return out


def set_threads(threads: int | None) -> int:
    """Use ``threads`` torch threads (default: min(2, CPUs)); returns the number set."""
    n = threads or min(2, os.cpu_count() or 1)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def _call_progress_hooks(model: nn.Module, progress: float) -> None:
    for m in model.modules():
        hook = getattr(m, "ef_train_progress", None)
        if callable(hook):
            hook(progress)


def _call_step_hooks(model: nn.Module) -> None:
    """Let layers re-impose structural constraints after an optimizer step (e.g. shared atoms)."""
    for m in model.modules():
        hook = getattr(m, "ef_after_step", None)
        if callable(hook):
            hook()


def lr_factor(step: int, total: int, warmup_steps: int = 0, final: float = 0.0) -> float:
    """The learning-rate multiplier at ``step`` of ``total``: linear from 1/(warmup_steps+1) up to 1
    over ``warmup_steps``, then a half cosine from 1 down to ``final`` at ``total``."""
    total = max(int(total), 1)
    warmup_steps = max(0, min(int(warmup_steps), total - 1))
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    t = min(step - warmup_steps, total - warmup_steps) / max(total - warmup_steps, 1)
    return final + (1.0 - final) * 0.5 * (1 + math.cos(math.pi * t))


def augment_batch(xb: torch.Tensor, gen: torch.Generator, crop_pad: int = 0, hflip: bool = False,
                  fill: torch.Tensor | None = None) -> torch.Tensor:
    """Random ``crop_pad`` translation (the image padded with ``fill`` per channel, the background
    value after normalization, then cropped back to its size) and random horizontal flip, drawn
    per sample from ``gen``. Returns a new tensor; ``xb`` (N, C, H, W) is not modified."""
    n, c, h, w = xb.shape
    if n == 0 or (crop_pad <= 0 and not hflip):
        return xb
    out = xb
    if crop_pad > 0:
        p = int(crop_pad)
        padded = torch.empty(n, c, h + 2 * p, w + 2 * p, dtype=xb.dtype)
        padded[:] = (fill if fill is not None else torch.zeros(c, dtype=xb.dtype)).view(1, c, 1, 1)
        padded[:, :, p : p + h, p : p + w] = xb
        dy = torch.randint(0, 2 * p + 1, (n,), generator=gen)
        dx = torch.randint(0, 2 * p + 1, (n,), generator=gen)
        rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None]  # (N, 1, H, 1)
        cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :]  # (N, 1, 1, W)
        out = padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
    if hflip:
        flip = torch.rand(n, generator=gen) < 0.5
        out = torch.where(flip.view(n, 1, 1, 1), out.flip(3), out)
    return out


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hinton et al. 2015: KL(teacher || student) on temperature-softened outputs, times T²."""
    t = temperature
    return F.kl_div(
        F.log_softmax(student_logits / t, dim=1), F.softmax(teacher_logits / t, dim=1), reduction="batchmean"
    ) * (t * t)


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Logits for already-normalized NCHW inputs (model put in eval mode)."""
    model.eval()
    out = [model(torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size]))) for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def evaluate(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    mean: list[float] | None = None,
    std: list[float] | None = None,
    batch_size: int = 512,
) -> float:
    """Top-1 accuracy. ``x`` is normalized with ``mean``/``std`` first if they are given."""
    if len(x) == 0:
        raise EdgefactError("cannot evaluate on an empty test set: give a data set with test samples")
    if mean is not None and std is not None:
        x = normalize(x, mean, std)
    logits = predict(model, x.astype(np.float32, copy=False), batch_size)
    return float((logits.argmax(1) == np.asarray(y)).mean())


def train_model(
    model: nn.Module,
    dataset: Dataset,
    epochs: int = 4,
    batch_size: int = 128,
    lr: float = 0.004,
    optimizer: str = "adam",
    seed: int = 0,
    teacher: nn.Module | None = None,
    kd_alpha: float = 0.7,
    kd_temperature: float = 4.0,
    progress: bool = True,
    max_train_samples: int | None = None,
    threads: int | None = None,
    weight_decay: float = 0.0,
    max_steps: int | None = None,
    evaluate_test: bool = True,
    label: str = "train",
    warmup: float = 0.0,
    label_smoothing: float = 0.0,
    crop_pad: int = 0,
    hflip: bool = False,
) -> dict[str, Any]:
    """Train ``model`` in place on ``dataset`` (normalized with its mean/std); returns metrics.

    With a ``teacher`` the loss is ``kd_alpha·KD + (1 - kd_alpha)·CE``. ``max_steps`` caps the number
    of optimizer steps (for tests). ``warmup``, ``label_smoothing``, ``crop_pad`` and ``hflip``: the
    recipe pieces of the module docstring. Metrics: test_accuracy, train_accuracy, train_loss,
    epochs, steps, seconds, samples.
    """
    if epochs < 1 and not max_steps:
        raise EdgefactError(f"epochs={epochs}: train for at least one epoch")
    if optimizer not in OPTIMIZERS:
        raise EdgefactError(f"unknown optimizer '{optimizer}': use one of {', '.join(OPTIMIZERS)}")
    if batch_size < 1 or lr <= 0:
        raise EdgefactError(f"batch size {batch_size} and learning rate {lr} must be positive")
    if not 0.0 <= kd_alpha <= 1.0:
        raise EdgefactError(f"kd_alpha={kd_alpha} must be in [0, 1]")
    if not (0.0 <= warmup < 1.0 and 0.0 <= label_smoothing < 1.0 and crop_pad >= 0):
        raise EdgefactError(f"warmup={warmup} and label_smoothing={label_smoothing} must be in [0, 1), "
                            f"crop_pad={crop_pad} >= 0")
    set_threads(threads)
    seed_everything(seed)
    x = normalize(dataset.x_train[:max_train_samples], dataset.mean, dataset.std)
    y = dataset.y_train[:max_train_samples]
    n = len(x)
    if n == 0:
        raise EdgefactError(f"data set {dataset.name} has no training samples")
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    steps_per_epoch = math.ceil(n / batch_size)
    total = steps_per_epoch * epochs
    if max_steps:
        total = min(total, max_steps) if epochs >= 1 else max_steps
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    elif optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    warmup_steps = int(round(warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, total, warmup_steps))
    if teacher is not None:
        teacher.eval()
    gen = torch.Generator().manual_seed(seed)
    # augmentation draws from its own stream: the shuffling order is the same with and without it
    aug_gen = torch.Generator().manual_seed(seed + 0x5EED)
    # the background (raw 0) after normalization: what the padded border of a crop is filled with
    fill = torch.from_numpy(normalize(np.zeros((1, x.shape[1], 1, 1), np.float32), dataset.mean, dataset.std)).view(-1)
    start = time.perf_counter()
    step = 0
    loss_sum = 0.0
    correct = 0
    seen = 0
    # a live bar with ETA in a terminal, nothing per step otherwise (edgefact.progress)
    bar_ctx = progress_bar(total, label) if progress else None
    bar = bar_ctx.__enter__() if bar_ctx is not None else None
    try:
        model.train()
        while step < total:
            perm = torch.randperm(n, generator=gen)
            for i in range(0, n, batch_size):
                if step >= total:
                    break
                idx = perm[i : i + batch_size]
                xb, yb = xt[idx], yt[idx]
                xb = augment_batch(xb, aug_gen, crop_pad, hflip, fill)
                _call_progress_hooks(model, step / max(total - 1, 1))
                logits = model(xb)
                loss = F.cross_entropy(logits, yb, label_smoothing=label_smoothing)
                if teacher is not None:
                    with torch.no_grad():
                        t_logits = teacher(xb)
                    loss = kd_alpha * kd_loss(logits, t_logits, kd_temperature) + (1 - kd_alpha) * loss
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                _call_step_hooks(model)
                sched.step()
                step += 1
                loss_sum += float(loss.detach()) * len(idx)
                correct += int((logits.argmax(1) == yb).sum())
                seen += len(idx)
                if bar is not None:
                    bar.label = f"{label} loss {loss_sum / seen:.3f} acc {correct / seen:.3f}"
                    bar.update(1)
    finally:
        if bar_ctx is not None:
            bar_ctx.__exit__(None, None, None)
    _call_progress_hooks(model, 1.0)
    from edgefact.models.layers import harden_shifts

    harden_shifts(model)
    model.eval()
    seconds = time.perf_counter() - start
    metrics: dict[str, Any] = {
        "train_loss": loss_sum / max(seen, 1),
        "train_accuracy": correct / max(seen, 1),
        "epochs": epochs,
        "steps": step,
        "samples": n,
        "seconds": round(seconds, 2),
        "threads": torch.get_num_threads(),
        "distilled": teacher is not None,
    }
    if evaluate_test and len(dataset.x_test):
        metrics["test_accuracy"] = evaluate(model, dataset.x_test, dataset.y_test, dataset.mean, dataset.std)
    return metrics
