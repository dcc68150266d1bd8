"""Constant folding at generation time (edgefact.export.ops.folding) and shape-only aliases.

- each folding rule against TensorFlow's own result for the same operator on constants
  (strided slices with every mask, pack, unpack, gather, cast, fill, range, int32 arithmetic);
- a model converted with a dynamic batch (its flatten is SHAPE -> STRIDED_SLICE -> PACK ->
  RESHAPE, plus EXPAND_DIMS / SQUEEZE) generates no code for them and is bit-exact with TFLM;
- a fold-only operator on a computed tensor is refused with the operator named.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from edgefact.errors import UnsupportedOpError
from edgefact.export.codegen import generate_c
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.lowering import lower
from edgefact.export.ops.folding import fold
from edgefact.export.reference import run_tflm
from edgefact.export.tflite_model import Operator, Quantization, Tensor, TFLiteModel, load_tflite
from edgefact.fsutil import atomic_write_bytes

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "folding"


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


def _model(out_types: list[str], in_shapes: list[tuple[int, ...]], out_shapes: list[tuple[int, ...]]) -> TFLiteModel:
    tensors = [Tensor(i, f"in{i}", s, "INT32", 0, None) for i, s in enumerate(in_shapes)]
    tensors += [Tensor(len(in_shapes) + k, f"out{k}", s, t, 0, None) for k, (s, t) in enumerate(zip(out_shapes,
                                                                                                   out_types,
                                                                                                   strict=True))]
    return TFLiteModel(tensors, [], (), (), [], 3, "", 1, "0" * 64)


def _op(name: str, n_in: int, n_out: int, **options) -> Operator:
    return Operator(0, name, tuple(range(n_in)), tuple(range(n_in, n_in + n_out)), options)


@pytest.mark.parametrize("masks", [dict(), dict(begin_mask=1), dict(end_mask=2), dict(shrink_axis_mask=1),
                                   dict(shrink_axis_mask=2, begin_mask=1), dict(new_axis_mask=2),
                                   dict(ellipsis_mask=1), dict(begin_mask=3, end_mask=3)])
def test_strided_slice_matches_tensorflow(masks: dict[str, int]) -> None:
    tf = _tf()
    x = np.arange(60, dtype=np.int32).reshape(3, 4, 5)
    begin, end, strides = np.array([1, -3, 0], np.int32), np.array([3, 4, 5], np.int32), np.array([1, 2, 2], np.int32)
    want = tf.strided_slice(x, begin, end, strides, **masks).numpy()
    model = _model(["INT32"], [x.shape, (3,), (3,), (3,)], [want.shape])
    got = fold(_op("STRIDED_SLICE", 4, 1, **masks), [x, begin, end, strides], model)
    assert got is not None and got[0].shape == want.shape and np.array_equal(got[0], want)


def test_other_rules_match_tensorflow() -> None:
    tf = _tf()
    a, b = np.array([1, 2, 3], np.int32), np.array([4, 5, 6], np.int32)
    cases = [
        ("PACK", [a, b], [tf.stack([a, b], axis=1).numpy()], dict(axis=1)),
        ("UNPACK", [np.stack([a, b])], [a, b], dict(axis=0)),
        ("GATHER", [np.arange(12, dtype=np.int32).reshape(3, 4), np.array([2, 0], np.int32)],
         [tf.gather(np.arange(12).reshape(3, 4), [2, 0], axis=1).numpy().astype(np.int32)], dict(axis=1)),
        ("FILL", [np.array([2, 3], np.int32), np.array(7, np.int32)], [tf.fill([2, 3], 7).numpy()], {}),
        ("RANGE", [np.array(1, np.int32), np.array(10, np.int32), np.array(3, np.int32)],
         [tf.range(1, 10, 3).numpy()], {}),
        ("ADD", [a, b], [a + b], dict(fused_activation_function="NONE")),
        ("FLOOR_DIV", [np.array([7, -7], np.int32), np.array([2, 2], np.int32)],
         [tf.math.floordiv([7, -7], 2).numpy()], {}),
    ]
    for name, ins, want, opts in cases:
        model = _model(["INT32"] * len(want), [v.shape for v in ins], [w.shape for w in want])
        got = fold(_op(name, len(ins), len(want), **opts), ins, model)
        assert got is not None, name
        for g, w in zip(got, want, strict=True):
            assert g.dtype == np.int32 and np.array_equal(g, w), name
    cast = fold(_op("CAST", 1, 1), [np.array([1.7, -2.2], np.float32)], _model(["INT32"], [(2,)], [(2,)]))
    assert cast is not None and cast[0].tolist() == [1, -2]


def test_quantized_arithmetic_is_not_folded() -> None:
    model = _model(["INT8"], [(3,), (3,)], [(3,)])
    model.tensors[2].quantization = Quantization(np.array([0.1]), np.array([0]), 0)
    assert fold(_op("ADD", 2, 1, fused_activation_function="NONE"), [np.ones(3, np.int8)] * 2, model) is None
    assert fold(_op("STRIDED_SLICE", 4, 1), [None, None, None, None], _model(["INT32"], [(3,)] * 4, [(3,)])) is None


def _dynamic_batch_model() -> bytes:
    """conv -> reshape(x, [shape(x)[0], 128]) -> expand_dims -> squeeze -> matmul, batch dimension None."""
    key = hashlib.sha256(b"dynamic-batch-flatten-v1" + Path(__file__).read_bytes()).hexdigest()[:16]
    path = CACHE / f"flatten-{key}.tflite"
    if path.is_file():
        return path.read_bytes()
    tf = _tf()
    rng = np.random.default_rng(0)
    w = tf.constant(rng.normal(0, 0.3, (3, 3, 4, 8)).astype(np.float32))
    fw = tf.constant(rng.normal(0, 0.1, (128, 5)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 6, 6, 4], tf.float32)])
    def f(x):
        y = tf.nn.relu(tf.nn.conv2d(x, w, 1, "VALID"))
        y = tf.reshape(y, [tf.shape(y)[0], 128])
        y = tf.squeeze(tf.expand_dims(y, 1), 1)
        return tf.matmul(y, fw)

    conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)

    def rep():
        for _ in range(32):
            yield [rng.uniform(-1, 1, (1, 6, 6, 4)).astype(np.float32)]

    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    data = conv.convert()
    atomic_write_bytes(path, data)
    return data


def test_dynamic_batch_flatten_folds_and_stays_bitexact(tmp_path) -> None:
    data = _dynamic_batch_model()
    model = load_tflite(data)
    assert {"SHAPE", "STRIDED_SLICE", "PACK", "EXPAND_DIMS"} <= set(model.op_names())
    gen = generate_c(data, tmp_path / "gen")
    assert [f.op for f in gen.graph.folded] == ["SHAPE", "STRIDED_SLICE", "PACK"]
    assert all(not layer.kernel for layer in gen.graph.layers if layer.op in ("RESHAPE", "EXPAND_DIMS", "SQUEEZE"))
    assert "folded at generation time: SHAPE at index" in (tmp_path / "gen" / "plan.txt").read_text()
    x = np.random.default_rng(3).integers(-128, 128, (64, 6, 6, 4), dtype=np.int8)
    got = run_host_batch(gen, x)
    want = run_tflm(data, x)
    want = want[0] if isinstance(want, list) else want
    assert np.array_equal(np.asarray(got).reshape(want.shape), want)


def test_fold_only_op_on_a_computed_tensor_is_refused() -> None:
    data = _dynamic_batch_model()
    model = load_tflite(data)
    # (STRIDED_SLICE of activations is a real operator now: ops/slicing.py; PACK is folded only)
    pk = next(op for op in model.operators if op.name == "PACK")
    conv = next(op for op in model.operators if op.name == "CONV_2D")
    pk.inputs = (conv.outputs[0], *pk.inputs[1:])  # pack the activations instead of the shape
    with pytest.raises(UnsupportedOpError, match=r"PACK of a computed tensor"):
        lower(model)
