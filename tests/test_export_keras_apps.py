"""Real architectures from tf.keras.applications, as a user would bring them.

MobileNetV2 (alpha 0.35), MobileNetV3Small (minimalistic and full: HARD_SWISH, squeeze-and-excitation
MUL) and EfficientNetB0 (swish LOGISTIC x MUL, squeeze-and-excitation) at 64x64 inputs, random
weights, ``classifier_activation=None``, converted to full-integer int8 with the stock
TFLiteConverter (calibrated on random inputs) and a dynamic batch dimension, so their flatten is
SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE (folded at generation time). Converted once and cached
under ``.cache/keras_apps``.

Each must be bit-exact with TFLM on the host (many inputs) and on the emulated Cortex-M4 and M55
(one firmware per core holding the models that fit its flash), with an arena no larger than
TFLM's. EfficientNetB0's 4.6 MB of weights do not fit the M4's 4 MiB flash: the build must say so.
"""

from __future__ import annotations

import hashlib
import os
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from edgefact.errors import ModelTooLargeError
from edgefact.export.codegen import generate_c
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.reference import run_tflm, tflm_arena_bytes
from edgefact.fsutil import atomic_write_bytes
from edgefact.pipeline.deploy import deploy_many, deploy_tflite

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "keras_apps"
SHAPE = (64, 64, 3)
APPS = ("mobilenet_v2_035", "mobilenet_v3_small_min", "mobilenet_v3_small", "efficientnet_b0")
TOO_BIG_FOR_M4 = {"efficientnet_b0"}


def _build(name: str):
    import tensorflow as tf

    kw = dict(input_shape=SHAPE, weights=None, classes=10, classifier_activation=None)
    tf.keras.utils.set_random_seed(0)
    if name == "mobilenet_v2_035":
        return tf.keras.applications.MobileNetV2(alpha=0.35, **kw)
    if name == "mobilenet_v3_small_min":
        return tf.keras.applications.MobileNetV3Small(minimalistic=True, include_preprocessing=False, **kw)
    if name == "mobilenet_v3_small":
        return tf.keras.applications.MobileNetV3Small(minimalistic=False, include_preprocessing=False, **kw)
    if name == "efficientnet_b0":
        return tf.keras.applications.EfficientNetB0(**kw)
    raise ValueError(name)


def keras_app(name: str) -> Path:
    """The cached int8 .tflite of a keras application (converted on first use)."""
    key = hashlib.sha256(f"{name}|{SHAPE}|{version('tensorflow')}|v1".encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{key}.tflite"
    if path.is_file():
        return path
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(_build(name))
    rng = np.random.default_rng(0)

    def rep():
        for _ in range(8):
            yield [rng.uniform(-1, 1, (1, *SHAPE)).astype(np.float32)]

    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    atomic_write_bytes(path, conv.convert())
    return path


def _inputs(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (n, *SHAPE), dtype=np.int8)


@pytest.mark.parametrize("name", APPS)
def test_keras_app_bitexact_on_the_host(name: str, tmp_path) -> None:
    path = keras_app(name)
    gen = generate_c(path, tmp_path / "gen")
    # Keras 3 writes the dynamic-batch flatten as SHAPE -> STRIDED_SLICE -> PACK (tf_keras, which
    # another library may have selected in this process, writes a static one): all of it folds
    shape_ops = {"SHAPE", "PACK"} & set(gen.graph.model.op_names())
    assert shape_ops <= {f.op for f in gen.graph.folded}
    assert not shape_ops & {layer.op for layer in gen.graph.layers}
    assert gen.arena_bytes <= tflm_arena_bytes(path)
    x = _inputs(12, 1)
    got = np.asarray(run_host_batch(gen, x))
    want = run_tflm(path, x)[0]
    assert np.array_equal(got.reshape(want.shape), want)


@pytest.mark.qemu
@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m55"])
def test_keras_apps_bitexact_on_core(core: str, tmp_path) -> None:
    names = [n for n in APPS if core != "cortex-m4" or n not in TOO_BIG_FOR_M4]
    res = deploy_many([(n, keras_app(n), _inputs(2, 3)) for n in names], core, tmp_path / core, timeout_s=600)
    bad = {n: r for n, r in res.items() if not r["equal"]}
    assert not bad, f"{core}: not bit-exact with TFLM: {bad}"


@pytest.mark.qemu
def test_efficientnet_too_large_for_the_m4_is_refused_with_the_sizes(tmp_path) -> None:
    with pytest.raises(ModelTooLargeError, match=r"(?i)flash"):
        deploy_tflite(keras_app("efficientnet_b0"), "cortex-m4", tmp_path / "m4", n_random=1)
