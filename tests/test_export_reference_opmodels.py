"""One-op models (tests/opmodels.py): each holds its intended op, and both oracles run it."""

from __future__ import annotations

import os

import numpy as np
import pytest
from opmodels import (
    BLOCK_CASES,
    CACHE_DIR,
    OPMODEL_CASES,
    _cache_path,
    check_opmodel,
    get_opmodel,
    interpreter_ops,
    random_inputs,
)

from edgefact.errors import EdgefactError, UnsupportedOpError
from edgefact.export import reference as ref
from edgefact.export.tflite_model import load_tflite

CASES = sorted(OPMODEL_CASES)


def test_cases_cover_the_kernel_list() -> None:
    ops = {s.op for s in OPMODEL_CASES.values()}
    assert ops >= {
        "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "MUL",
        "MEAN", "PAD", "RESHAPE", "CONCATENATION", "SOFTMAX", "QUANTIZE", "DEQUANTIZE",
    }  # fmt: skip
    convs = [s.params for s in OPMODEL_CASES.values() if s.kind == "conv"]
    assert {p["groups"] for p in convs} >= {1, 2, 4, 8}  # dense, 2 / 4 groups, and the Helium 8-channel groups
    assert {(p["kh"], p["kw"]) for p in convs} >= {(1, 1), (3, 3), (5, 5), (3, 1), (1, 3), (5, 1), (1, 5)}
    assert {p["stride"] for p in convs} == {1, 2} and {p["padding"] for p in convs} == {"SAME", "VALID"}
    assert {p["act"] for p in convs} == {"NONE", "RELU", "RELU6"}
    assert any(p["cin"] % 4 and p["cout"] % 4 for p in convs)
    dws = [s.params for s in OPMODEL_CASES.values() if s.kind == "dw"]
    assert {p["mult"] for p in dws} >= {1, 2} and {p["k"] for p in dws} >= {3, 5}


@pytest.mark.parametrize("case", CASES)
def test_opmodel_holds_its_op_and_runs_on_both_oracles(case: str) -> None:
    spec = OPMODEL_CASES[case]
    model = get_opmodel(case)
    check_opmodel(case, spec, model)  # exact op list (LiteRT's), options, shapes, per-channel weights
    assert _cache_path(case, spec).read_bytes() == model
    io = ref.model_io_quant(model)
    assert io.ops == spec.ops
    xs = random_inputs(model, 12, seed=3)
    a = ref.run_tflm(model, xs)
    try:
        b = ref.run_litert_ref(model, xs)
    except UnsupportedOpError as exc:
        # the installed LiteRT lacks some newer op versions the converter writes (DEPTH_TO_SPACE v2):
        # TFLM, the reference edgefact is bit-exact with, ran it above
        assert "version" in str(exc), exc
        return
    for out_a, out_b, t in zip(a, b, io.outputs, strict=True):
        assert out_a.shape == out_b.shape == (12, *t.shape[1:])
        if np.issubdtype(out_a.dtype, np.integer):
            diff = np.abs(out_a.astype(int) - out_b.astype(int))
            # Only FULLY_CONNECTED may differ, by the rounding of its requantization (1 LSB).
            assert diff.max() <= (1 if spec.op == "FULLY_CONNECTED" else 0)
        else:
            np.testing.assert_array_equal(out_a, out_b)


def test_grouped_conv_filter_has_fewer_input_channels() -> None:
    for case in ("conv_g2_3x3_s1_same", "conv_g4_3x3_s2_valid"):
        m = load_tflite(get_opmodel(case))
        (op,) = m.operators
        groups = OPMODEL_CASES[case].params["groups"]
        assert m.tensor(op.inputs[1]).shape[3] * groups == m.tensor(op.inputs[0]).shape[3]


def test_check_rejects_a_model_that_is_not_the_spec() -> None:
    spec = OPMODEL_CASES["conv_3x3_s2_same_relu6"]
    with pytest.raises(EdgefactError, match="fused activation|stride|filter shape"):
        check_opmodel("conv_3x3_s2_same_relu6", spec, get_opmodel("conv_3x3_s1_same_relu"))
    with pytest.raises(EdgefactError, match="expected ops"):
        check_opmodel("conv_3x3_s2_same_relu6", spec, get_opmodel("dw_3x3_m1_s1_same"))
    with pytest.raises(EdgefactError, match="bias present"):
        check_opmodel("fc_nobias", OPMODEL_CASES["fc_nobias"], get_opmodel("fc_bias"))


def test_unknown_case_lists_valid_ones() -> None:
    with pytest.raises(EdgefactError, match="valid: .*conv_1x1_s1"):
        get_opmodel("conv_7x7")


def test_cache_lives_under_dot_cache() -> None:
    get_opmodel("softmax")
    if "EDGEFACT_OPMODELS_CACHE" not in os.environ:
        assert CACHE_DIR.parts[-2:] == (".cache", "opmodels")
    assert any(CACHE_DIR.glob("softmax-*.tflite"))


def test_random_inputs_span_the_range_and_are_deterministic() -> None:
    model = get_opmodel("add")
    xs = random_inputs(model, 50, seed=7)
    assert [x.shape for x in xs] == [(50, 5, 5, 6), (50, 5, 5, 6)]
    for x in xs:
        assert x.dtype == np.int8
        assert (x[0] == -128).all() and (x[1] == 127).all()
        assert len(np.unique(x[2:])) == 256
    again = random_inputs(model, 50, seed=7)
    other = random_inputs(model, 50, seed=8)
    assert all(np.array_equal(p, q) for p, q in zip(xs, again, strict=True))
    assert not np.array_equal(xs[0][2:], other[0][2:])


def test_float_boundary_models() -> None:
    q_in = get_opmodel("quantize_in")
    assert interpreter_ops(q_in) == ["QUANTIZE", "MAX_POOL_2D"]
    (x,) = random_inputs(q_in, 40, seed=0)
    assert x.dtype == np.float32
    qt = load_tflite(q_in).tensor(load_tflite(q_in).operators[0].outputs[0]).quantization
    s, z = float(qt.scales[0]), int(qt.zero_points[0])
    assert x.min() < (-128 - z) * s and x.max() > (127 - z) * s  # saturation is exercised
    out = ref.run_tflm(q_in, x)[0]
    assert out.dtype == np.int8 and (out == 127).any()
    q = np.clip(np.round(x / s) + z, -128, 127)
    want = q.reshape(40, 3, 2, 3, 2, 4).max(axis=(2, 4))  # 2x2 stride-2 max pool
    assert np.abs(out.astype(int) - want).max() <= 1  # float rounding ties may land either way

    deq = get_opmodel("dequantize_out")
    y = ref.run_tflm(deq, random_inputs(deq, 5, seed=0))[0]
    assert y.dtype == np.float32


@pytest.mark.parametrize("case", sorted(BLOCK_CASES))
def test_block_models(case: str) -> None:
    spec = BLOCK_CASES[case]
    model = get_opmodel(case)
    check_opmodel(case, spec, model)
    assert interpreter_ops(model) == list(spec.expected_ops)
    xs = random_inputs(model, 12, seed=5)
    d = ref.compare_oracles(model, xs)
    if "FULLY_CONNECTED" in spec.expected_ops:
        assert set(d.origin_op_types()) <= {"FULLY_CONNECTED"}
    else:
        assert d.equal, d.summary()
