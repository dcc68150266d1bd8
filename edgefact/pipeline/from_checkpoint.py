"""Export a training checkpoint: ONNX, or the full route to a checked int8 ``.tflite``.

The checkpoint says which data set the model was trained on and its normalization; the parity
check, the calibration samples and the accuracy figures all use that data set's real samples
(``data`` overrides it, e.g. for an ``.npz`` data set that has moved).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export.onnx_export import DEFAULT_OPSET, OnnxExportResult, export_onnx
from edgefact.export.tflite_convert import (
    DEFAULT_CALIB_SAMPLES,
    DEFAULT_MIN_AGREEMENT,
    ConversionResult,
    convert_to_int8_tflite,
    select_calibration,
)
from edgefact.pipeline.checkpoint import load_checkpoint
from edgefact.pipeline.data import Dataset, load_dataset, normalize


def dataset_for_checkpoint(ckpt: Any, data: str | None = None, max_test: int | None = None) -> Dataset:
    """Load the data set a checkpoint was trained on (or ``data``), with the checkpoint's normalization."""
    name = data or ckpt.dataset.get("path") or ckpt.dataset.get("name")
    if not name:
        raise EdgefactError("the checkpoint does not name its data set: pass --data NAME_OR_PATH")
    try:
        ds = load_dataset(str(name), max_test=max_test)
    except EdgefactError as exc:
        raise EdgefactError(f"{exc}\n(the checkpoint was trained on '{name}'; pass --data to use another copy)") from exc
    if tuple(ds.input_shape) != tuple(ckpt.input_shape):
        raise EdgefactError(
            f"data set '{name}' has inputs {ds.input_shape} but the model expects {ckpt.input_shape}: "
            "pass --data with the data set the model was trained on"
        )
    mean, std = ckpt.normalization
    return Dataset(ds.name, ds.x_train, ds.y_train, ds.x_test, ds.y_test, ds.classes, list(mean), list(std))


def _normalized(ds: Dataset, x: np.ndarray) -> np.ndarray:
    return normalize(x, ds.mean, ds.std)


def export_onnx_from_checkpoint(
    ckpt_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    opset: int = DEFAULT_OPSET,
    check_samples: int = 64,
    data: str | None = None,
) -> OnnxExportResult:
    """ONNX export of a checkpoint with the parity check on its data set's first test samples."""
    ckpt = load_checkpoint(ckpt_path)
    model = ckpt.build_model()
    ds = dataset_for_checkpoint(ckpt, data, max_test=check_samples)
    return export_onnx(model, ckpt.input_shape, out_path, opset=opset, check_inputs=_normalized(ds, ds.x_test))


@dataclass
class TfliteExport:
    onnx: OnnxExportResult
    tflite: ConversionResult


def export_model_to_tflite(
    model: Any,
    ds: Any,
    out_path: str | os.PathLike[str],
    calib_samples: int = DEFAULT_CALIB_SAMPLES,
    min_agreement: float = DEFAULT_MIN_AGREEMENT,
    eval_samples: int | None = None,
    opset: int = DEFAULT_OPSET,
    onnx_path: str | os.PathLike[str] | None = None,
) -> TfliteExport:
    """PyTorch model -> ONNX (temporary unless ``onnx_path``) -> checked int8 TFLite at ``out_path``.

    Calibration: ``calib_samples`` class-balanced training samples chosen with a fixed seed.
    Accuracy and agreement: the first ``eval_samples`` test samples (all by default).
    """
    x_test = _normalized(ds, ds.x_test[:eval_samples])
    y_test = np.asarray(ds.y_test[:eval_samples])
    calib = select_calibration(_normalized(ds, ds.x_train), ds.y_train, calib_samples)
    with tempfile.TemporaryDirectory(prefix="edgefact-export-") as tmp:
        onnx_file = Path(onnx_path) if onnx_path else Path(tmp) / "model.onnx"
        onnx_res = export_onnx(model, ds.input_shape, onnx_file, opset=opset, check_inputs=x_test[:64])
        conv = convert_to_int8_tflite(
            onnx_file, calib, out_path, eval_data=(x_test, y_test), min_agreement=min_agreement, work_dir=tmp
        )
    return TfliteExport(onnx=onnx_res, tflite=conv)


def export_checkpoint_to_tflite(
    ckpt_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    calib_samples: int = DEFAULT_CALIB_SAMPLES,
    min_agreement: float = DEFAULT_MIN_AGREEMENT,
    eval_samples: int | None = None,
    opset: int = DEFAULT_OPSET,
    data: str | None = None,
) -> TfliteExport:
    """Checkpoint -> checked int8 TFLite (see :func:`export_model_to_tflite`)."""
    ckpt = load_checkpoint(ckpt_path)
    model = ckpt.build_model()
    ds = dataset_for_checkpoint(ckpt, data)
    return export_model_to_tflite(model, ds, out_path, calib_samples, min_agreement, eval_samples, opset)
