"""Zoo models (engineer B's zoo -> engineer C's int8 export): generated C bit-exact with TFLM on
host for 200 real + random inputs and arena <= TFLM's (the emulated cores: test_export_codegen_qemu)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from codegen_util import ZOO_SHAPES, fashion_mnist_test, zoo_tflite_path

from edgefact.export.codegen import generate_c
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.reference import run_tflm, tflm_arena_bytes
from edgefact.export.tflite_model import load_tflite

try:
    from edgefact.models.zoo import list_models

    ZOO = list_models()
except ImportError:  # pragma: no cover - zoo not present
    ZOO = []

N_REAL = 100
N_RANDOM = 100

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def zoo_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import torch

    torch.set_num_threads(1)
    work = tmp_path_factory.mktemp("zoo_onnx")
    return {name: zoo_tflite_path(name, work) for name in ZOO}


def _quantize(x_nchw: np.ndarray, scale: float, zp: int) -> np.ndarray:
    x = np.transpose(x_nchw, (0, 2, 3, 1))
    return np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)


def zoo_inputs(path: Path, name: str) -> np.ndarray:
    """N_REAL real Fashion-MNIST test images (quantized like the model's input) + N_RANDOM random."""
    m = load_tflite(path)
    t = m.tensors[m.inputs[0]]
    q = t.quantization
    assert q is not None
    rng = np.random.default_rng(3)
    if ZOO_SHAPES.get(name, (1,))[0] == 1:
        real = _quantize(fashion_mnist_test(N_REAL)[0], float(q.scales[0]), int(q.zero_points[0]))
    else:  # no 3-channel data set offline: normal samples, as the calibration used
        real = _quantize(rng.standard_normal((N_REAL, *ZOO_SHAPES[name])).astype(np.float32),
                         float(q.scales[0]), int(q.zero_points[0]))
    rand = rng.integers(-128, 128, (N_RANDOM, *t.shape[1:]), dtype=np.int8)
    return np.concatenate([real.reshape(N_REAL, *t.shape[1:]), rand])


@pytest.mark.parametrize("name", ZOO)
def test_zoo_bitexact_and_arena(name: str, zoo_paths: dict[str, Path], tmp_path: Path) -> None:
    path = zoo_paths[name]
    gen = generate_c(path, tmp_path / "gen", model_name=name)
    x = zoo_inputs(path, name)
    got = run_host_batch(gen, x)
    want = run_tflm(path, x)[0]
    mism = int(np.sum(got != want))
    assert mism == 0, f"{name}: {mism} of {want.size} outputs differ from TFLM"
    tflm = tflm_arena_bytes(path)
    print(f"\n{name}: ops {sorted(set(load_tflite(path).op_names()))}; arena edgefact {gen.arena_bytes} B, TFLM {tflm} B")
    assert 0 < gen.arena_bytes <= tflm
