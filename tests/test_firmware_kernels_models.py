"""Kernel library on whole models and on cases the one-op factory does not cover, through the
generated code on the host.

- The three MLPerf Tiny int8 reference models equal TFLM, with the kernels the registry chooses
  and with every layer forced onto each alternative its entry allows (the generic kernels on the
  1x1 and 3x3 depthwise layers).
- ADD/MUL with broadcasting (squeeze-excitation style [1,H,W,C] x [1,1,1,C], and a row
  broadcast) equal TFLM; the models are converted here with TFLiteConverter and cached.
- CONCATENATION whose inputs need requantizing equals the Python model of it.
"""

from __future__ import annotations

import hashlib
import os
from importlib.metadata import version

import numpy as np
import pytest
from kernels_harness import ROOT, Variant, differences, gen_dir, generate, run_on_host, uniform_variants
from opmodels import random_inputs
from shared_paths import MLPERF_DIR

from edgefact.export.reference import run_tflm
from edgefact.fsutil import atomic_write_bytes

MLPERF = MLPERF_DIR
CACHE = ROOT / ".cache" / "kernels_models"

BROADCAST_CASES = {
    # name: (op, shape1, shape2, activation, range1, range2)
    "add_bc_channel_relu": ("add", (1, 5, 5, 6), (1, 1, 1, 6), "relu", (-1.0, 1.0), (-3.0, 2.0)),
    "mul_bc_channel": ("mul", (1, 5, 5, 6), (1, 1, 1, 6), "none", (-2.0, 2.0), (0.0, 1.0)),
    "add_bc_row": ("add", (1, 4, 5, 3), (1, 4, 1, 3), "none", (-1.0, 1.0), (-0.5, 0.25)),
    "mul_bc_first": ("mul", (1, 1, 1, 7), (1, 3, 4, 7), "relu", (-1.0, 1.0), (-2.0, 2.0)),
}


N_ALTERNATIVE = 8  # inputs of the runs on alternative kernels


def _run(name: str, model: bytes, xs: list[np.ndarray], variant: Variant | None = None) -> list[np.ndarray]:
    v = variant or Variant()
    return run_on_host(generate(model, gen_dir("models", name, v), v), xs)


@pytest.mark.parametrize("name", ["ad_fc_autoencoder_int8", "ic_resnet8_int8", "kws_dscnn_int8"])
def test_mlperf_tiny_bitexact(name: str) -> None:
    path = MLPERF / f"{name}.tflite"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    model = path.read_bytes()
    xs = random_inputs(model, 30, seed=21)
    ref = run_tflm(model, xs)
    problems = differences(name, ref, _run(name, model, xs))
    for v in uniform_variants(model)[1:]:  # the alternatives on the first N_ALTERNATIVE inputs
        kernels = sorted(set(v.forced.values()))
        problems += differences(f"{name} on alternative kernels {kernels}", [r[:N_ALTERNATIVE] for r in ref],
                                _run(name, model, [x[:N_ALTERNATIVE] for x in xs], v))
    assert not problems, "\n".join(problems)


def _broadcast_model(name: str) -> bytes:
    spec = BROADCAST_CASES[name]
    key = hashlib.sha256(f"1|{version('tensorflow')}|{name}|{spec}".encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{key}.tflite"
    if path.is_file():
        return path.read_bytes()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    op, s1, s2, act, r1, r2 = spec

    @tf.function(input_signature=[tf.TensorSpec(s1, tf.float32), tf.TensorSpec(s2, tf.float32)])
    def f(a, b):
        y = a + b if op == "add" else a * b
        return tf.nn.relu(y) if act == "relu" else y

    rng = np.random.default_rng(int(key[:8], 16))

    def rep():
        for i in range(64):
            a = rng.uniform(*r1, s1).astype(np.float32)
            b = rng.uniform(*r2, s2).astype(np.float32)
            if i == 0:
                a.flat[0], a.flat[-1], b.flat[0], b.flat[-1] = r1[0], r1[1], r2[0], r2[1]
            yield [a, b]

    conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    model = bytes(conv.convert())
    atomic_write_bytes(path, model)
    return model


@pytest.mark.parametrize("name", sorted(BROADCAST_CASES))
def test_broadcast_add_mul_bitexact(name: str) -> None:
    from edgefact.export.tflite_model import load_tflite

    model = _broadcast_model(name)
    m = load_tflite(model)
    assert [o.name for o in m.operators] == [BROADCAST_CASES[name][0].upper()]
    xs = random_inputs(model, 200, seed=4)
    ref = run_tflm(model, xs)[0]
    got = _run(name, model, xs)[0].reshape(ref.shape)
    assert np.array_equal(ref, got), f"{name}: {np.count_nonzero(ref != got)}/{ref.size} differ"


def _with_input_quant(model: bytes, qparams: list[tuple[float, int]]) -> bytes:
    """The model with its int8 inputs given other scales/zero points (CONCATENATION then has to
    requantize; the converter itself always unifies the scales)."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    mt = schema.ModelT.InitFromPackedBuf(model, 0)
    sg = mt.subgraphs[0]
    for tidx, (scale, zp) in zip(sg.inputs, qparams, strict=True):
        q = sg.tensors[int(tidx)].quantization
        q.scale = [scale]
        q.zeroPoint = [zp]
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(mt.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_concat_with_requantization() -> None:
    """CONCATENATION of inputs whose scales differ from the output's. Neither TFLM nor LiteRT
    runs such an int8 model (both require equal scales, and the converter always unifies them), so
    the kernel's requantizing path is pinned to the Python model of QUANTIZE int8->int8
    (quant.requantize)."""
    from opmodels import get_opmodel

    from edgefact.errors import EdgefactError
    from edgefact.export import quant
    from edgefact.export.reference import run_litert_ref
    from edgefact.export.tflite_model import load_tflite

    base = get_opmodel("concat_c")
    model = _with_input_quant(base, [(0.0123, -7), (0.05, 20)])
    m = load_tflite(model)
    out_t = m.tensor(m.outputs[0])
    s_out, zp_out = float(out_t.quantization.scales[0]), int(out_t.quantization.zero_points[0])
    xs = random_inputs(model, 200, seed=9)
    got = _run("concat_requantized", model, xs)[0].reshape(200, -1, out_t.shape[-1])
    want_parts = []
    for x, t in zip(xs, m.inputs, strict=True):
        q = m.tensor(t).quantization
        s, z = float(np.float32(q.scales[0])), int(q.zero_points[0])
        in_off, out_off, mm, sh = quant.requantize_params(s, z, s_out, zp_out)
        flat = x.reshape(200, -1, m.tensor(t).shape[-1]).astype(np.int64)
        want_parts.append(np.vectorize(lambda v, mm=mm, sh=sh, in_off=in_off, out_off=out_off:
                                       quant.requantize(int(v) + in_off, mm, sh, out_off))(flat))
    want = np.concatenate(want_parts, axis=-1).astype(np.int8)
    assert np.array_equal(got, want)
    for oracle in (run_litert_ref, run_tflm):
        with pytest.raises(EdgefactError):
            oracle(model, xs)
