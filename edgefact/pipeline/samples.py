"""Real samples of a data set as a model's (quantized) input: for the oracles and the firmware.

This is the data side of the reference checks: :func:`real_samples` reads a data set through
:mod:`edgefact.pipeline.data` and shapes it with the model's I/O description from
:mod:`edgefact.export.reference`, so the result goes straight into ``run_tflm`` or the firmware.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export.reference import ModelLike, model_io_quant
from edgefact.pipeline.data import Dataset, load_dataset, normalize


def real_samples(
    model: ModelLike,
    dataset: Any,
    n: int = 200,
    split: str = "test",
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """The first ``n`` samples of a data set's split, as the model's input, and their labels.

    ``dataset`` is a name or path understood by ``edgefact.pipeline.data.load_dataset`` or a
    loaded ``Dataset``. Images (NCHW float in [0, 1]) are normalized with ``mean``/``std``
    (default: the data set's training statistics, which is what ``edgefact train`` uses; pass a
    checkpoint's values if they differ), moved to NHWC and quantized with the model's input scale
    and zero point (nearest, ties to even, saturating). Returns ``([x], labels)`` with ``x`` of
    shape ``(n, H, W, C)``: the input form every runner here accepts.
    """
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(str(dataset))
    if split not in ("train", "test"):
        raise EdgefactError(f"unknown split {split!r}; use 'train' or 'test'")
    x_all = ds.x_test if split == "test" else ds.x_train
    y_all = ds.y_test if split == "test" else ds.y_train
    io = model_io_quant(model)
    if len(io.inputs) != 1:
        raise EdgefactError(f"real inputs need a single-input model; this one has {len(io.inputs)} inputs")
    t = io.inputs[0]
    c, h, w = (int(d) for d in x_all.shape[1:])
    if t.shape != (1, h, w, c):
        raise EdgefactError(
            f"data set {ds.name!r} has {h}x{w}x{c} (HxWxC) samples but the model input is {list(t.shape)}; "
            "use the data set the model was trained on"
        )
    if n < 1 or n > len(x_all):
        raise EdgefactError(f"asked for {n} samples; the {split} split of {ds.name!r} has {len(x_all)}")
    x = normalize(x_all[:n], mean if mean is not None else ds.mean, std if std is not None else ds.std)
    x = np.ascontiguousarray(np.transpose(x, (0, 2, 3, 1)))
    x = t.quantize(x) if np.issubdtype(t.dtype, np.integer) else x.astype(t.dtype)
    return [x], np.asarray(y_all[:n])


def real_inputs_for(model: ModelLike, dataset: Any, n: int = 200, split: str = "test") -> list[np.ndarray]:
    """Real samples of ``dataset`` ready for :func:`run_tflm` and the firmware (see :func:`real_samples`)."""
    return real_samples(model, dataset, n, split)[0]
