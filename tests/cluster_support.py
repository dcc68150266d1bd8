"""Shared fixture of the clustering tests: a trained small CNN on digits and its clustered copy.

Session-scoped so that the training-side (tests/test_pipeline_cluster.py) and the export-side
(tests/test_export_cluster.py) tests train it once.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from edgefact.pipeline.data import load_dataset


@pytest.fixture(scope="session")
def digits_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A trained small CNN on digits and its per-tensor K=4 clustered, fine-tuned version."""
    from edgefact.models.zoo import build_model
    from edgefact.pipeline import cluster as cl
    from edgefact.pipeline.train import train_model

    ds = load_dataset("digits")
    torch.manual_seed(0)
    base = build_model("cnn", (1, 8, 8), 10, width=0.5)
    train_model(base, ds, epochs=6, batch_size=32, lr=0.01, progress=False, threads=1)
    cfg = cl.ClusterConfig(k=4, mode="per-tensor", epochs=3, batch_size=32, lr=0.003, max_layer_drop=100, threads=1)
    clustered, report = cl.cluster_model(base, ds, cfg, val_samples=200)
    return {"ds": ds, "base": base, "clustered": clustered, "report": report, "tmp": tmp_path_factory.mktemp("cl")}
