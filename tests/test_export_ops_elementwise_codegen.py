"""Generated C of the element-wise operators is bit-exact with TFLM on the host.

- the converter-made models of tests/opmodels.py's ELEMENTWISE_CASES (LOGISTIC, TANH, HARD_SWISH,
  LEAKY_RELU, ABS, PRELU, SUB, MUL/ADD broadcasting and with constant operands, MAXIMUM, MINIMUM,
  SQUARED_DIFFERENCE, a squeeze-and-excitation block, swish);
- hand-built one-op models with chosen quantization: extreme scales and zero points, odd shapes,
  rank 1..5 broadcasting (both sides, [1,H,W,C] x [1,1,1,C], [1,H,W,C] x [1,H,1,1]), a constant
  first or second operand, and every pair of int8 values (65536 pairs: all rounding ties) for the
  requantizing binary ops;
- the shape merging of the broadcast operands, and the refusals (more than 4 merged dims,
  LOGISTIC's output zero point).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from opmodels import ELEMENTWISE_CASES, get_opmodel, random_inputs
from ops_elementwise_util import T, one_op_model

from edgefact.errors import UnsupportedOpError
from edgefact.export.codegen import generate_c
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.ops import Dims
from edgefact.export.ops.operands import collapse
from edgefact.export.reference import run_tflm

LUT_OPS = {"LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "ABS"}


def _check(model: bytes, xs: list[np.ndarray], out: Path, min_distinct: int = 2) -> list:
    """Generate, run on the host and compare with TFLM; returns the layers."""
    gen = generate_c(model, out)
    got = run_host_batch(gen, xs if len(xs) > 1 else xs[0])
    got = got if isinstance(got, list) else [got]
    want = run_tflm(model, xs if len(xs) > 1 else xs[0])
    for g, w in zip(got, want, strict=True):
        g = g.reshape(w.shape)
        bad = np.flatnonzero(g.reshape(-1) != w.reshape(-1))
        assert bad.size == 0, (f"{bad.size} of {w.size} outputs differ from TFLM; first at {int(bad[0])}: "
                               f"got {int(g.reshape(-1)[bad[0]])}, TFLM {int(w.reshape(-1)[bad[0]])}")
        assert len(np.unique(w)) >= min_distinct  # not a degenerate output
    return gen.graph.layers


@pytest.mark.parametrize("case", sorted(ELEMENTWISE_CASES))
def test_converter_model_bitexact_on_host(case: str, tmp_path: Path) -> None:
    spec = ELEMENTWISE_CASES[case]
    model = get_opmodel(case)
    xs = random_inputs(model, 40, seed=5)
    layers = _check(model, xs, tmp_path / "gen", min_distinct=8)
    fused = spec.kind == "swish"  # x * LOGISTIC(x): one table (edgefact/export/fusion.py)
    assert [la.op for la in layers] == (["LOGISTIC"] if fused else list(spec.ops))
    last = layers[-1]
    if last.op in LUT_OPS:
        assert last.kernel == "ef_lut_s8"
    if spec.params.get("const"):
        assert "constant input2" in last.describe
    if spec.params.get("shape1") and tuple(spec.params["shape1"]) != tuple(spec.params["shape2"]):
        assert "broadcast" in last.describe


def _rand(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-128, 128, shape).astype(np.int8)


def _binary_cases() -> list[tuple[str, str, T, T, T, dict]]:
    rng = np.random.default_rng(12)
    c = lambda s: _rand(rng, s)  # noqa: E731
    cases = []
    for op in ("ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM"):
        o = T((1, 5, 7, 6), 0.05, 3) if op in ("MAXIMUM", "MINIMUM") else T((1, 5, 7, 6), 0.02, -7)
        cases += [
            (f"{op}_same_odd", op, T((1, 5, 7, 6), 0.03, 5), T((1, 5, 7, 6), 0.07, -20), o, {}),
            (f"{op}_bc_channel", op, T((1, 5, 7, 6), 0.03, 5), T((1, 1, 1, 6), 0.07, -20), o, {}),
            (f"{op}_bc_row", op, T((1, 5, 7, 6), 0.03, 5), T((1, 5, 1, 1), 0.07, -20), o, {}),
            (f"{op}_bc_both", op, T((1, 1, 7, 1), 0.03, 5), T((1, 5, 1, 6), 0.07, -20), o, {}),
            (f"{op}_const2_rank1", op, T((1, 5, 7, 6), 0.03, 5), T((6,), 0.07, -20, c((6,))), o, {}),
            (f"{op}_const1_channel", op, T((1, 1, 1, 6), 0.07, -20, c((1, 1, 1, 6))), T((1, 5, 7, 6), 0.03, 5), o, {}),
        ]
    big = T((2, 3, 4, 5, 6), 0.015, 0)
    cases += [
        ("ADD_rank5_bc", "ADD", T((2, 3, 4, 5, 6), 0.01, 2), T((4, 5, 1), 0.2, -1), big, {}),
        ("SUB_rank5_same_relu", "SUB", T((2, 3, 4, 5, 6), 0.01, 2), T((2, 3, 4, 5, 6), 0.2, -1), big,
         {"act": "RELU"}),
        ("MUL_rank3_const", "MUL", T((5, 4, 3), 0.004, -128), T((4, 1), 0.5, 127, c((4, 1))), T((5, 4, 3), 0.0003, 11),
         {}),
        ("ADD_extreme_scales_relu6", "ADD", T((1, 9, 3), 1e-4, -128), T((1, 1, 3), 30.0, 127), T((1, 9, 3), 0.05, -128),
         {"act": "RELU6"}),
        ("SQUARED_DIFFERENCE_extreme", "SQUARED_DIFFERENCE", T((1, 31), 0.3, -100), T((1, 31), 0.0007, 90),
         T((1, 31), 2.0, -128), {}),
        ("PRELU_const_channel", "PRELU", T((1, 5, 7, 6), 0.03, 5), T((1, 1, 6), 0.01, -3, c((1, 1, 6))),
         T((1, 5, 7, 6), 0.02, -7), {}),
        ("PRELU_computed_alpha", "PRELU", T((1, 5, 7, 6), 0.03, 5), T((1, 5, 7, 6), 0.01, -3), T((1, 5, 7, 6), 0.02, -7),
         {}),
        ("PRELU_alpha_rows_big", "PRELU", T((1, 4, 3, 5), 0.3, -60), T((1, 4, 1, 1), 0.05, 100, c((1, 4, 1, 1))),
         T((1, 4, 3, 5), 0.01, 20), {}),
        # MUL's row kernels by requantization shift (0.0021 / out scale): 0 (Helium without the
        # rounding shift), -1 (DSP: outside the 5-instruction form), -13, a left shift with a
        # narrow activation along a broadcast channel row; 17 and 33 values for the step tails
        ("MUL_shift0_c17", "MUL", T((1, 3, 1, 17), 0.03, 5), T((1, 3, 1, 17), 0.07, -20), T((1, 3, 1, 17), 0.0028, 4),
         {}),
        ("MUL_shift_m1_c33", "MUL", T((1, 33), 0.03, 5), T((1, 33), 0.07, -20), T((1, 33), 0.006, -9), {}),
        ("MUL_shift_m13", "MUL", T((1, 2, 9), 0.03, 5), T((1, 2, 9), 0.07, -20), T((1, 2, 9), 25.0, 0), {}),
        ("MUL_left_relu6_bc_channel", "MUL", T((1, 5, 3, 17), 0.03, 5), T((1, 1, 1, 17), 0.07, -20),
         T((1, 5, 3, 17), 0.0003, -128), {"act": "RELU6"}),
    ]
    return cases


BINARY = _binary_cases()


@pytest.mark.parametrize("name,op,a,b,out,opts", BINARY, ids=[c[0] for c in BINARY])
def test_handmade_binary_bitexact_on_host(name: str, op: str, a: T, b: T, out: T, opts: dict,
                                          tmp_path: Path) -> None:
    model = one_op_model(op, [a, b], out, **opts)
    rng = np.random.default_rng(len(name))
    xs = []
    for t in (a, b):
        if t.data is None:
            x = _rand(rng, (24, *t.shape[1:]) if t.shape[0] == 1 else (24, *t.shape))
            x[0], x[1] = -128, 127
            xs.append(x)
    layers = _check(model, xs, tmp_path / "gen")
    assert layers[0].op == op
    if a.data is not None or b.data is not None:
        assert "constant input" in layers[0].describe


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "PRELU"])
def test_every_pair_of_int8_values(op: str, tmp_path: Path) -> None:
    """All 65536 (a, b) pairs: with these scales many results are exact rounding ties."""
    a = np.tile(np.arange(-128, 128, dtype=np.int8), (256, 1)).reshape(256, 1, 256)
    b = np.repeat(np.arange(-128, 128, dtype=np.int8), 256).reshape(256, 1, 256)
    out = T((1, 256), 0.02, -7) if op != "SQUARED_DIFFERENCE" else T((1, 256), 0.05, -128)
    model = one_op_model(op, [T((1, 256), 0.03, 5), T((1, 256), 0.07, -20)], out)
    _check(model, [a, b], tmp_path / "gen", min_distinct=50)


LUT_CASES = [
    ("LOGISTIC", T((1, 3, 7, 5), 0.07, 10), T((1, 3, 7, 5), 1 / 256, -128), {}),
    ("LOGISTIC_tiny_scale", T((1, 257), 2e-4, -30), T((1, 257), 1 / 256, -128), {}),
    ("TANH", T((1, 3, 7, 5), 0.07, 10), T((1, 3, 7, 5), 1 / 128, 0), {}),
    ("TANH_big_scale", T((2, 13), 0.9, 127), T((2, 13), 1 / 128, 0), {}),
    ("HARD_SWISH", T((1, 3, 7, 5), 0.07, 10), T((1, 3, 7, 5), 0.05, -3), {}),
    ("HARD_SWISH_output_shift_16", T((1, 45), 3e-4, 80), T((1, 45), 1.0, 13), {}),
    ("LEAKY_RELU_negative_alpha", T((1, 3, 7, 5), 0.5, 127), T((1, 3, 7, 5), 0.02, -128), {"alpha": -0.5}),
    ("LEAKY_RELU", T((1, 3, 7, 5), 0.03, -4), T((1, 3, 7, 5), 0.03, -4), {"alpha": 0.1}),
    ("ABS_same_scale", T((1, 3, 7, 5), 0.07, 10), T((1, 3, 7, 5), 0.07, -128), {}),
    ("ABS_rescale", T((1, 3, 7, 5), 0.07, -128), T((1, 3, 7, 5), 0.2, -100), {}),
    ("QUANTIZE_rescale", T((1, 3, 7, 5), 0.07, -128), T((1, 3, 7, 5), 0.013, 40), {}),
    ("RELU_requantizing", T((1, 3, 7, 5), 0.07, -10), T((1, 3, 7, 5), 0.03, -128), {}),
    ("RELU6_requantizing", T((1, 3, 7, 5), 0.03, 20), T((1, 3, 7, 5), 0.05, -128), {}),
]


@pytest.mark.parametrize("name,a,out,opts", LUT_CASES, ids=[c[0] for c in LUT_CASES])
def test_handmade_table_op_bitexact_on_host(name: str, a: T, out: T, opts: dict, tmp_path: Path) -> None:
    op = name.split("_")[0] if not name.startswith(("HARD_SWISH", "LEAKY_RELU")) else "_".join(name.split("_")[:2])
    model = one_op_model(op, [a], out, **opts)
    x = np.random.default_rng(3).integers(-128, 128, (30, *a.shape[1:]) if a.shape[0] == 1 else (30, *a.shape))
    x[0], x[1] = -128, 127
    layers = _check(model, [x.astype(np.int8)], tmp_path / "gen")
    assert layers[0].kernel == "ef_lut_s8" and layers[0].macs == 0 and layers[0].weight_bytes == 256


def test_shapes_merge_to_the_fewest_dims() -> None:
    assert collapse((1, 5, 7, 6), (1, 5, 7, 6), (1, 5, 7, 6)) == (Dims(1, 1, 1, 210),) * 3
    assert collapse((1, 5, 7, 6), (1, 1, 1, 6), (1, 5, 7, 6)) == (Dims(1, 1, 35, 6), Dims(1, 1, 1, 6),
                                                                    Dims(1, 1, 35, 6))
    assert collapse((1, 5, 7, 6), (1, 5, 1, 1), (1, 5, 7, 6)) == (Dims(1, 1, 5, 42), Dims(1, 1, 5, 1),
                                                                    Dims(1, 1, 5, 42))
    assert collapse((6,), (1, 5, 7, 6), (1, 5, 7, 6)) == (Dims(1, 1, 1, 6), Dims(1, 1, 35, 6), Dims(1, 1, 35, 6))
    assert collapse((2, 3, 4, 5, 6), (4, 5, 1), (2, 3, 4, 5, 6)) == (
        Dims(1, 6, 20, 6), Dims(1, 1, 20, 1), Dims(1, 6, 20, 6))
    # alternating broadcast dims cannot merge: 5 groups
    assert collapse((2, 1, 2, 1, 2), (1, 2, 1, 2, 1), (2, 2, 2, 2, 2)) is None


def test_refusals_name_the_operator(tmp_path: Path) -> None:
    five = one_op_model("SUB", [T((2, 1, 2, 1, 2), 0.1, 0), T((1, 2, 1, 2, 1), 0.1, 0)], T((2, 2, 2, 2, 2), 0.1, 0))
    with pytest.raises(UnsupportedOpError, match="SUB.*more than 4 dims"):
        generate_c(five, tmp_path / "b")
    logistic = one_op_model("LOGISTIC", [T((1, 4), 0.1, 0)], T((1, 4), 1 / 256, 0))
    with pytest.raises(UnsupportedOpError, match="LOGISTIC.*zero point is 0; TFLite requires -128"):
        generate_c(logistic, tmp_path / "c")


def test_edgefact_ops_lists_the_elementwise_operators() -> None:
    from click.testing import CliRunner

    from edgefact.export.ops_cli import ops_cmd

    res = CliRunner().invoke(ops_cmd, [])
    assert res.exit_code == 0, res.output
    for op in ("LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "PRELU", "ABS", "SUB", "MAXIMUM", "MINIMUM",
               "SQUARED_DIFFERENCE"):
        assert f"\n{op} " in res.output
    assert "ef_lut_s8" in res.output and "ef_prelu_s8" in res.output


@pytest.mark.parametrize("kernel", ["ef_lut_s8", "ef_requantize_s8"])
def test_int8_requantize_as_table_or_kernel(kernel: str, tmp_path: Path) -> None:
    """QUANTIZE int8 -> int8 runs as a table look-up by default; both kernels equal TFLM on every
    input byte for scale ratios from 1/300 to 300 (left and right shifts)."""
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 256)
    rng = np.random.default_rng(9)
    for k in range(6):
        s_in, s_out = float(10 ** rng.uniform(-3, 0)), float(10 ** rng.uniform(-3, 0))
        model = one_op_model("QUANTIZE", [T((1, 256), s_in, int(rng.integers(-128, 128)))],
                             T((1, 256), s_out, int(rng.integers(-128, 128))))
        gen = generate_c(model, tmp_path / f"g{k}", kernels={0: kernel})
        assert gen.graph.layers[0].kernel == kernel
        assert f"st = {kernel}(" in gen.files["model.c"].read_text()
        assert np.array_equal(run_host_batch(gen, x).reshape(-1), run_tflm(model, x)[0].reshape(-1))
    assert generate_c(model, tmp_path / "default").graph.layers[0].kernel == "ef_lut_s8"
