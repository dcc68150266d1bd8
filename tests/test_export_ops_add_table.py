"""ef_add_table_s8's table (edgefact.export.ops.elementwise.add_table): for every pair of int8
inputs, table[(uint8_t)t] + K * d equals the sum (ADD) or difference (SUB) of TFLite's two
rescaled operands, so the kernel's only arithmetic left is the output requantization; and the
generator refuses the table form where the kernel's preconditions do not hold."""

from __future__ import annotations

import numpy as np
import pytest

from edgefact.export import quant
from edgefact.export.ops.elementwise import add_table

SCALES = [
    (0.03, 5, 0.07, -20, 0.02, -7),  # input2 the larger scale
    (0.5, -3, 0.01, 100, 0.4, 10),  # input1 the larger scale
    (0.05, 0, 0.05, 0, 0.1, 0),  # equal scales: both operands exact
    (1e-4, -128, 30.0, 127, 0.05, -128),  # 10^5 apart: the small operand's rescale shifts far right
]


def _rescaled(offset: int, m: int, shift: int, left: int) -> np.ndarray:
    return np.array([quant.multiply_by_quantized_multiplier((v + offset) << left, m, shift) for v in range(-128, 128)],
                    dtype=np.int64)


@pytest.mark.parametrize("subtract", [False, True])
@pytest.mark.parametrize("scales", SCALES)
def test_table_sum_equals_tflite_rescaled_operands(scales: tuple, subtract: bool) -> None:
    p = quant.add_params(*scales)
    t = add_table(p, subtract)
    assert t is not None
    sa = _rescaled(p.input1_offset, p.input1_multiplier, p.input1_shift, p.left_shift)
    sb = _rescaled(p.input2_offset, p.input2_multiplier, p.input2_shift, p.left_shift)
    want = sa[:, None] - sb[None, :] if subtract else sa[:, None] + sb[None, :]  # [a + 128, b + 128]
    vals = np.arange(-128, 128)
    table = t.table.astype(np.int64)
    k = t.params.direct_multiplier
    assert abs(k) == 1 << (p.left_shift - 1)
    if t.direct == 0:  # a read directly, b through the table
        got = table[(vals[None, :] & 0xFF)] + k * vals[:, None]
    else:
        got = table[(vals[:, None] & 0xFF)] + k * vals[None, :]
    assert np.array_equal(got, want)
    assert int(np.abs(got).max()) < 1 << 29
    assert (t.params.output_multiplier, t.params.output_shift, t.params.output_offset) == (
        p.output_multiplier, p.output_shift, p.output_offset)


def test_no_table_outside_the_kernel_preconditions() -> None:
    p = quant.add_params(0.03, 5, 0.07, -20, 0.02, -7)
    fields = dict(p.__dict__)
    assert add_table(quant.AddParams(**{**fields, "output_shift": 0})) is None  # no rounding shift
    assert add_table(quant.AddParams(**{**fields, "output_shift": -24})) is None  # zo * 2^r could overflow
    neither = {**fields, "input1_multiplier": 1 << 29, "input2_multiplier": 1 << 29}
    assert add_table(quant.AddParams(**neither)) is None  # no operand with the exact 0.5 rescale
