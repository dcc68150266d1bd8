"""The 256-entry tables of edgefact.export.quant_lut against TFLite Micro: for each table operator
(LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, ABS, requantizing RELU / RELU6) and many input/output scales and zero points
(extremes included), a one-op model run by TFLM over all 256 int8 input values must give exactly
the table."""

from __future__ import annotations

import numpy as np
import pytest
from ops_elementwise_util import T, one_op_model

from edgefact.errors import EdgefactError
from edgefact.export import quant_lut
from edgefact.export.reference import run_tflm

ALL = np.arange(-128, 128, dtype=np.int8).reshape(1, 1, 256)
N_RANDOM = 40


def _configs(op: str) -> list[tuple[float, int, float, int, float]]:
    """(input scale, input zp, output scale, output zp, alpha): fixed extremes, then random ones."""
    fixed = [(1e-4, 0, 1e-4, 0, 0.2), (0.004, -128, 0.004, -128, 0.01), (0.5, 127, 0.02, -128, -0.5),
             (8.0, 0, 0.06, 127, 1.7), (0.03, 5, 0.03, 5, 0.0), (0.0625, -1, 2.5, 100, 3.0),
             (2.0 ** -20, 3, 1.0, 0, 0.1), (0.15, -90, 0.001, -40, -2.0)]
    rng = np.random.default_rng(sum(map(ord, op)))
    rand = [(float(10 ** rng.uniform(-4, 1)), int(rng.integers(-128, 128)), float(10 ** rng.uniform(-3.5, 0.7)),
             int(rng.integers(-128, 128)), float(rng.choice([0.2, 0.01, -0.3, 1.5, 0.0, 3.0, 0.3333])))
            for _ in range(N_RANDOM)]
    return [tuple(float(np.float32(v)) if isinstance(v, float) else v for v in c) for c in fixed + rand]  # type: ignore


def _model_and_table(op: str, s_in: float, zp_in: int, s_out: float, zp_out: int,
                     alpha: float) -> tuple[bytes, np.ndarray]:
    x = T((1, 256), s_in, zp_in)
    if op == "LOGISTIC":
        return one_op_model(op, [x], T((1, 256), 1 / 256, -128)), quant_lut.logistic_table(s_in, zp_in)
    if op == "TANH":
        return one_op_model(op, [x], T((1, 256), 1 / 128, 0)), quant_lut.tanh_table(s_in, zp_in)
    if op == "HARD_SWISH":
        return (one_op_model(op, [x], T((1, 256), s_out, zp_out)),
                quant_lut.hard_swish_table(s_in, zp_in, s_out, zp_out))
    if op == "LEAKY_RELU":
        return (one_op_model(op, [x], T((1, 256), s_out, zp_out), alpha=alpha),
                quant_lut.leaky_relu_table(s_in, zp_in, s_out, zp_out, alpha))
    return one_op_model(op, [x], T((1, 256), s_out, zp_out)), quant_lut.abs_table(s_in, zp_in, s_out, zp_out)


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "ABS"])
def test_table_equals_tflm_on_every_input_byte(op: str) -> None:
    checked = 0
    distinct: set[bytes] = set()
    for s_in, zp_in, s_out, zp_out, alpha in _configs(op):
        if op == "HARD_SWISH" and s_in > 128 * s_out:
            with pytest.raises(EdgefactError, match="128"):  # TFLM refuses these in Prepare too
                quant_lut.hard_swish_table(s_in, zp_in, s_out, zp_out)
            continue
        if op == "ABS" and checked % 3 == 0:
            s_out = s_in  # the no-rescale path
        model, table = _model_and_table(op, s_in, zp_in, s_out, zp_out, alpha)
        want = run_tflm(model, ALL)[0].reshape(-1)
        got = table[ALL.reshape(-1).view(np.uint8)]
        bad = np.flatnonzero(got != want)
        assert bad.size == 0, (f"{op} s_in={s_in} zp_in={zp_in} s_out={s_out} zp_out={zp_out} alpha={alpha}: "
                               f"{bad.size} of 256 differ, first input {int(ALL.reshape(-1)[bad[0]])}: "
                               f"table {int(got[bad[0]])}, TFLM {int(want[bad[0]])}")
        checked += 1
        distinct.add(table.tobytes())
    assert checked >= 30
    assert len(distinct) >= checked // 2  # the configurations really differ


@pytest.mark.parametrize("op", ["RELU", "RELU6"])
def test_requantizing_relu_table_equals_tflm(op: str) -> None:
    """A standalone RELU / RELU6 whose output quantization differs from its input's (TFLM: RELU
    requantizes, RELU6 clamps the raw input on the input's quantization)."""
    for s_in, zp_in, s_out, zp_out, _ in _configs(op):
        model = one_op_model(op, [T((1, 256), s_in, zp_in)], T((1, 256), s_out, zp_out))
        table = (quant_lut.relu_table(s_in, zp_in, s_out, zp_out) if op == "RELU"
                 else quant_lut.relu6_table(s_in, zp_in))
        want = run_tflm(model, ALL)[0].reshape(-1)
        assert np.array_equal(table[ALL.reshape(-1).view(np.uint8)], want), (op, s_in, zp_in, s_out, zp_out)


def test_table_is_indexed_by_the_input_byte() -> None:
    t = quant_lut.abs_table(0.1, 0, 0.1, -128)
    assert t[0] == -128 and t[1] == -127 and t[255] == -127 and t[128] == 0  # |0|, |1|, |-1|, |-128| saturated


def test_sigmoid_params_refuse_scales_tflite_cannot_shift() -> None:
    with pytest.raises(EdgefactError, match="scale"):
        quant_lut.logistic_table(0.0, 0)
    with pytest.raises(EdgefactError, match="below"):
        quant_lut.tanh_table(2.0 ** -30, 0)
