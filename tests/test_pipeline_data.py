"""Data loaders: documented shapes and ranges, deterministic splits, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgefact.errors import EdgefactError, MissingToolError
from edgefact.pipeline import data
from edgefact.pipeline.data import load_dataset, normalize


def _check(ds: data.Dataset, shape: tuple[int, int, int], classes: int) -> None:
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        assert x.dtype == np.float32 and x.ndim == 4 and x.shape[1:] == shape
        assert y.dtype == np.int64 and len(y) == len(x)
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert y.min() >= 0 and y.max() < classes
    assert ds.input_shape == shape and len(ds.classes) == classes
    assert len(ds.mean) == len(ds.std) == shape[0]
    z = normalize(ds.x_train[:500], ds.mean, ds.std)
    assert abs(float(z.mean())) < 0.5 and z.dtype == np.float32
    meta = ds.meta()
    assert meta["input_shape"] == list(shape) and meta["classes"] == ds.classes


@pytest.mark.skipif(not (data.FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz").exists(), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_full() -> None:
    ds = load_dataset("fashion-mnist")
    _check(ds, (1, 28, 28), 10)
    assert len(ds.y_train) == 60000 and len(ds.y_test) == 10000
    assert ds.mean[0] == pytest.approx(0.2860, abs=1e-3) and ds.std[0] == pytest.approx(0.3530, abs=1e-3)
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    small = load_dataset("fashion-mnist", max_train=100, max_test=50)
    assert len(small.y_train) == 100 and small.mean == ds.mean


def test_fashion_mnist_missing_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(data, "FASHION_MNIST_DIR", tmp_path)
    with pytest.raises(MissingToolError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")


def test_mnist5k_deterministic_split() -> None:
    a = load_dataset("mnist-5k")
    _check(a, (1, 28, 28), 10)
    assert len(a.y_train) == 4000 and len(a.y_test) == 1000
    assert set(np.unique(a.y_test)) == set(range(10))
    assert (a.y_train[:50] != np.sort(a.y_train[:50])).any(), "mnist-5k must be shuffled (the file is sorted)"
    b = load_dataset("mnist-5k")
    assert np.array_equal(a.y_train, b.y_train) and np.array_equal(a.x_test, b.x_test)


def test_digits() -> None:
    ds = load_dataset("digits")
    _check(ds, (1, 8, 8), 10)
    assert len(ds.y_train) + len(ds.y_test) == 1797
    assert abs(len(ds.y_test) - 0.2 * 1797) < 10


def test_npz_nhwc_uint8(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "mine.npz"
    np.savez(path, x_train=rng.integers(0, 256, (20, 6, 5, 3), dtype=np.uint8), y_train=rng.integers(0, 3, 20),
             x_test=rng.integers(0, 256, (7, 6, 5, 3), dtype=np.uint8), y_test=np.array([0, 1, 2, 0, 1, 2, 0]),
             classes=np.array(["cat", "dog", "owl"]))  # fmt: skip
    ds = load_dataset(str(path))
    _check(ds, (3, 6, 5), 3)
    assert ds.classes == ["cat", "dog", "owl"] and ds.name == "mine"
    raw = np.load(path)["x_train"]
    assert np.allclose(ds.x_train[3, 2, 4, 1], raw[3, 4, 1, 2] / 255.0)


def test_npz_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=np.zeros((2, 4, 4)), y_train=np.zeros(2))
    with pytest.raises(EdgefactError, match="lacks x_test, y_test"):
        load_dataset(str(path))
    with pytest.raises(EdgefactError, match="does not exist"):
        load_dataset(str(tmp_path / "nope.npz"))
    with pytest.raises(EdgefactError, match="fashion-mnist, mnist-5k, digits"):
        load_dataset("cifar-1000")


def test_image_folder(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(1)
    for cls in ("circle", "square"):
        (tmp_path / cls).mkdir()
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (10, 12), dtype=np.uint8), "L").save(tmp_path / cls / f"{i}.png")
    ds = load_dataset(str(tmp_path))
    _check(ds, (1, 10, 12), 2)
    assert ds.classes == ["circle", "square"]
    assert len(ds.y_train) + len(ds.y_test) == 12 and set(ds.y_test) == {0, 1}
    resized = load_dataset(str(tmp_path), image_size=(8, 8))
    assert resized.input_shape == (1, 8, 8)
    again = load_dataset(str(tmp_path))
    assert np.array_equal(again.x_train, ds.x_train)
    (tmp_path / "empty").mkdir()
    with pytest.raises(EdgefactError, match="has no images"):
        load_dataset(str(tmp_path))
