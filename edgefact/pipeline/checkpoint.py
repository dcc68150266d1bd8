"""Checkpoints that carry everything needed to rebuild a model without the training code's state.

A checkpoint is a ``torch.save``-d dict of plain types and tensors (loadable with
``weights_only=True``)::

    {"format": "edgefact.checkpoint/1", "arch": "dscnn", "arch_args": {...build_model kwargs...},
     "transforms": [...structural edits, e.g. factorized layers...], "state_dict": {...},
     "dataset": {"name", "classes", "mean", "std", "input_shape", ...}, "metrics": {...}, "extra": {...}}

``Checkpoint.build_model()`` rebuilds ``zoo.build_model(arch, **arch_args)``, replays the
``transforms`` (see ``edgefact.models.factorized.apply_transforms``), loads the weights and
returns the model in eval mode.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from edgefact.errors import EdgefactError
from edgefact.fsutil import atomic_write_bytes

FORMAT = "edgefact.checkpoint/1"


@dataclass
class Checkpoint:
    arch: str
    arch_args: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    dataset: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    transforms: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None

    @property
    def normalization(self) -> tuple[list[float], list[float]]:
        """(mean, std) per input channel, applied to [0, 1] inputs before the model."""
        return list(self.dataset["mean"]), list(self.dataset["std"])

    @property
    def classes(self) -> list[str]:
        return list(self.dataset["classes"])

    @property
    def input_shape(self) -> tuple[int, int, int]:
        c, h, w = self.dataset["input_shape"]
        return (int(c), int(h), int(w))

    def build_model(self) -> nn.Module:
        """The model with its weights loaded, in eval mode."""
        from edgefact.models.zoo import build_model

        model = build_model(self.arch, **self.arch_args)
        if self.transforms:
            from edgefact.models.factorized import apply_transforms

            apply_transforms(model, self.transforms)
        try:
            model.load_state_dict(self.state_dict, strict=True)
        except RuntimeError as exc:
            where = self.path or "checkpoint"
            raise EdgefactError(
                f"{where}: weights do not match architecture '{self.arch}' {self.arch_args} ({str(exc).splitlines()[0]}); "
                "the checkpoint was written by an incompatible edgefact version: retrain it"
            ) from exc
        return model.eval()


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    arch: str,
    arch_args: dict[str, Any],
    dataset_meta: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    transforms: list[dict[str, Any]] | None = None,
) -> Path:
    """Write a checkpoint atomically. ``dataset_meta`` is ``Dataset.meta()`` (or a dict with at
    least classes, mean, std, input_shape). ``transforms`` defaults to ``model.ef_transforms`` if
    the model carries that attribute (set by factorization)."""
    for key in ("classes", "mean", "std", "input_shape"):
        if key not in dataset_meta:
            raise ValueError(f"dataset_meta lacks '{key}'")
    if transforms is None:
        transforms = list(getattr(model, "ef_transforms", []))
    blob = {
        "format": FORMAT,
        "arch": arch,
        "arch_args": _plain(arch_args),
        "transforms": _plain(transforms),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "dataset": _plain(dataset_meta),
        "metrics": _plain(metrics or {}),
        "extra": _plain(extra or {}),
    }
    buf = io.BytesIO()
    torch.save(blob, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise EdgefactError(f"checkpoint {path} does not exist: train one with `edgefact train --out {path}`")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise EdgefactError(f"cannot read checkpoint {path} ({type(exc).__name__}): is it an edgefact checkpoint? retrain it") from exc
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise EdgefactError(f"{path} is not an edgefact checkpoint ({FORMAT}); create one with `edgefact train`")
    ckpt = Checkpoint(
        arch=blob["arch"],
        arch_args=dict(blob["arch_args"]),
        state_dict=blob["state_dict"],
        dataset=dict(blob["dataset"]),
        metrics=dict(blob.get("metrics", {})),
        extra=dict(blob.get("extra", {})),
        transforms=list(blob.get("transforms", [])),
        path=path,
    )
    if "input_shape" in ckpt.dataset and "input_shape" not in ckpt.arch_args:
        ckpt.arch_args["input_shape"] = tuple(ckpt.dataset["input_shape"])
    return ckpt


def _plain(obj: Any) -> Any:
    """Tuples -> lists, numpy scalars -> Python numbers, so the blob loads with weights_only=True."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, torch.Tensor):
        return obj.item()
    return obj
