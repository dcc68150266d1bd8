"""k-means weight sharing (training side): k-means, centroid gradients, sharing through training,
per-layer K / leave-out, fine-tuning recovery, the cluster CLI. The check on the converted .tflite
is tests/test_export_cluster.py."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from edgefact.errors import EdgefactError
from edgefact.export.cluster_check import max_distinct_per_channel
from edgefact.pipeline import cluster as cl
from edgefact.pipeline.data import Dataset, load_dataset
from tests.cluster_support import digits_models  # noqa: F401 - session fixture


@pytest.mark.parametrize("init", cl.INITS)
def test_kmeans_recovers_clusters_and_bounds_values(init: str) -> None:
    rng = np.random.default_rng(0)
    centers = np.array([-1.0, 0.1, 2.0])
    v = torch.tensor(np.concatenate([c + 0.01 * rng.standard_normal(50) for c in centers])).float()
    cents, idx = cl.kmeans_1d(v.view(1, -1), 3, init=init, seed=1)
    assert np.allclose(np.sort(cents.numpy().ravel()), centers, atol=0.01)
    assert len(torch.unique(cents.gather(1, idx))) <= 3
    # batched per-channel tables, fewer values than K, K larger than the table
    w = torch.randn(6, 40)
    c2, i2 = cl.kmeans_1d(w, 8, init=init)
    q = c2.gather(1, i2)
    assert c2.shape == (6, 8) and all(len(torch.unique(r)) <= 8 for r in q)
    assert torch.all((q - w).abs().amax(dim=1) < (w.amax(dim=1) - w.amin(dim=1)) / 2)
    c3, _ = cl.kmeans_1d(torch.randn(2, 5), 16, init=init)
    assert c3.shape == (2, 5)


def test_centroid_gradient_is_sum_of_member_gradients() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3)
    w0 = conv.weight.detach().clone()
    cents, idx = cl.cluster_weight(w0, 5, "per-channel", "linear", 10, 0)
    x = torch.randn(2, 3, 6, 6)
    # reference: gradient w.r.t. a plain weight equal to the clustered values
    ref = nn.Conv2d(3, 4, 3)
    with torch.no_grad():
        ref.weight.copy_(cents.gather(1, idx).view_as(w0))
        ref.bias.copy_(conv.bias)
    ref(x).square().sum().backward()
    cl.attach_shared(conv, cents, idx)
    conv(x).square().sum().backward()
    g_ref = ref.weight.grad.reshape(4, -1)
    expected = torch.zeros_like(cents).scatter_add_(1, idx, g_ref)
    assert torch.allclose(conv.ef_shared.centroids.grad, expected, atol=1e-5)


def test_sharing_survives_training_and_strip() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 4 * 4, 3))
    keys = set(model.state_dict())
    for mode, k in (("per-channel", 3), ("per-tensor", 4)):
        m = copy.deepcopy(model)
        for _, layer in cl.clusterable_layers(m):
            c, i = cl.cluster_weight(layer.weight, k, mode, "kmeans++", 10, 0)
            cl.attach_shared(layer, c, i)
        shared = [layer for layer in m if hasattr(layer, "ef_shared")]
        assert len(shared) == 2 and not cl.clusterable_layers(m)
        before = [layer.ef_shared.centroids.detach().clone() for layer in shared]
        opt = torch.optim.SGD(m.parameters(), lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            m(torch.randn(8, 2, 6, 6)).logsumexp(1).sum().backward()
            opt.step()
        after = [layer.ef_shared.centroids.detach() for layer in shared]
        assert all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))  # centroids trained
        cl.strip_shared(m)
        assert set(m.state_dict()) == keys
        for _, layer in cl.clusterable_layers(m):
            assert isinstance(layer.weight, nn.Parameter) and not hasattr(layer, "ef_shared")
            w = layer.weight.detach().numpy()
            if mode == "per-channel":
                assert max_distinct_per_channel(w, 0) <= k
            else:
                assert len(np.unique(w)) <= k


def _random_dataset(n: int = 300) -> Dataset:
    rng = np.random.default_rng(0)
    x = rng.random((n, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, n)
    return Dataset("rand", x[: n - 60], y[: n - 60], x[n - 60 :], y[n - 60 :], ["a", "b", "c"])


def test_costly_layers_get_larger_k_or_are_left_out() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3, groups=4), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 3))
    ds = _random_dataset()
    # an impossible limit: every non-trivial layer tries K, 2K, 4K and is left out, with the reason
    _, rep = cl.cluster_model(model, ds, cl.ClusterConfig(k=2, max_layer_drop=-101, epochs=0), val_samples=50)
    by = {lc.name: lc for lc in rep.layers}
    assert by["0"].status == "skipped" and "K=8" in by["0"].reason and "left out" in by["0"].reason
    assert by["2"].kind == "depthwise" and by["2"].status == "skipped"
    assert rep.expected_k() == {}
    # per-channel K=16 on a 3x3 depthwise kernel (9 weights) is trivially satisfied
    _, rep = cl.cluster_model(model, ds, cl.ClusterConfig(k=16, epochs=0), val_samples=50)
    by = {lc.name: lc for lc in rep.layers}
    assert by["2"].status == "trivial" and by["4"].status == "clustered"
    assert cl.ClusterReport.from_dict(rep.to_dict()).expected_k() == rep.expected_k()
    with pytest.raises(EdgefactError, match="unknown clustering mode"):
        cl.cluster_model(model, ds, cl.ClusterConfig(mode="per-row"))


@pytest.mark.slow
def test_finetuning_recovers_accuracy(digits_models: dict) -> None:  # noqa: F811
    rep = digits_models["report"]
    # K=4 per tensor is harsh: k-means alone loses a lot, fine-tuning the shared centroids wins it back
    assert rep.acc_before > 0.95
    assert rep.acc_clustered < rep.acc_before - 0.10
    assert rep.acc_finetuned >= rep.acc_before - 0.03
    assert all(lc.status == "clustered" and lc.k == 4 for lc in rep.layers), rep.layers


def test_cluster_cli_writes_loadable_checkpoint(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from edgefact.cli import cli
    from edgefact.models.zoo import build_model
    from edgefact.pipeline.checkpoint import load_checkpoint, save_checkpoint

    ds = load_dataset("digits")
    torch.manual_seed(0)
    model = build_model("dscnn", (1, 8, 8), 10, width=0.5)
    src = save_checkpoint(tmp_path / "m.pt", model, "dscnn", {"input_shape": (1, 8, 8), "num_classes": 10,
                                                              "width": 0.5}, ds.meta(), metrics={"test_accuracy": 0.1})
    out = tmp_path / "m_k8.pt"
    r = CliRunner().invoke(cli, ["cluster", str(src), "--out", str(out), "-k", "8", "--epochs", "0",
                                 "--mode", "per-tensor", "--max-layer-drop", "100"])
    assert r.exit_code == 0, r.output
    ck = load_checkpoint(out)
    info = ck.extra["cluster"]
    assert info["config"]["k"] == 8 and info["config"]["mode"] == "per-tensor"
    assert {lc["kind"] for lc in info["layers"]} >= {"depthwise", "pointwise", "linear"}
    clustered = ck.build_model()  # same architecture, plain weights holding the shared values
    for name, layer in cl.clusterable_layers(clustered):
        lc = next(x for x in info["layers"] if x["name"] == name)
        if lc["status"] == "clustered":
            assert len(np.unique(layer.weight.detach().numpy())) <= lc["k"]
    r = CliRunner().invoke(cli, ["cluster", str(src), "--out", str(out), "--mode", "per-row"])
    assert r.exit_code != 0
