"""The new data-movement operators together in one graph (tests/opmodels.py's ``decoder``
builder): conv -> SPLIT_V -> TRANSPOSE_CONV / RESIZE_BILINEAR -> CONCATENATION -> STRIDED_SLICE
(negative stride) -> TRANSPOSE -> MEAN over the channels. Bit-exact with TFLM on the host, with
the memory planner placing the several outputs of one operator and the layers between them, and
an arena no larger than TFLM's.
"""

from __future__ import annotations

import numpy as np
import pytest
from kernels_harness import differences
from opmodels import OpSpec, _cache_path, build_opmodel, interpreter_ops, random_inputs

from edgefact.export.codegen import generate_c
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.reference import run_tflm, tflm_arena_bytes
from edgefact.fsutil import atomic_write_bytes

CASE = "movement_decoder"
SPEC = OpSpec("MEAN", "decoder", dict(shape=(1, 6, 5, 4)),
              expected_ops=("CONV_2D", "SPLIT_V", "TRANSPOSE_CONV", "RESIZE_BILINEAR", "CONCATENATION",
                            "STRIDED_SLICE", "TRANSPOSE", "MEAN"),
              input_ranges=((-2.0, 2.0),))


def _model(case: str = CASE, spec: OpSpec = SPEC) -> bytes:
    path = _cache_path(case, spec)
    if path.is_file():
        return path.read_bytes()
    model = build_opmodel(case, spec)
    atomic_write_bytes(path, model)
    return model


def test_decoder_block_is_bitexact_and_within_tflms_arena(tmp_path) -> None:
    model = _model()
    assert sorted(interpreter_ops(model)) == sorted(SPEC.ops)
    xs = random_inputs(model, 40, seed=3)
    ref = run_tflm(model, xs)
    gen = generate_c(model, tmp_path / "gen")
    got = run_host_batch(gen, xs[0])
    problems = differences(CASE, ref if isinstance(ref, list) else [ref], got if isinstance(got, list) else [got])
    assert not problems, "\n".join(problems)
    kernels = {layer.kernel for layer in gen.graph.layers}
    assert {"ef_strided_copy_s8", "ef_transpose_conv_s8", "ef_resize_bilinear_s8", "ef_reduce_mean_s8"} <= kernels
    assert gen.plan.arena_bytes <= tflm_arena_bytes(model)
    assert np.asarray(got).std() > 0  # the outputs are not a constant


@pytest.mark.parametrize("fn,op", [("l2norm", "L2_NORMALIZATION"), ("log_softmax", "LOG_SOFTMAX")])
def test_normalizations_run_in_place_after_a_conv(fn: str, op: str, tmp_path) -> None:
    case = f"movement_conv_{fn}"
    spec = OpSpec(op, "conv_then", dict(shape=(1, 5, 4, 3), fn=fn), expected_ops=("CONV_2D", op, "CONV_2D"))
    model = _model(case, spec)
    assert interpreter_ops(model) == list(spec.ops)
    xs = random_inputs(model, 40, seed=5)
    ref = run_tflm(model, xs)
    gen = generate_c(model, tmp_path / "gen")
    layer = gen.graph.layers[1]
    assert layer.op == op and layer.inplace_input == 0  # written over the conv's output
    got = run_host_batch(gen, xs[0])
    problems = differences(case, ref if isinstance(ref, list) else [ref], got if isinstance(got, list) else [got])
    assert not problems, "\n".join(problems)
