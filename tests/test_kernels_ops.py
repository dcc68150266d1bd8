"""Per-op bit-exactness of the C kernel library against TFLite Micro (host interpreter).

Every one-op model of tests/opmodels.py (strides 1/2, SAME/VALID, odd sizes, channel counts not
multiples of 4, depth multiplier 2, groups 2 and 4, kernels 1/3/5, kx1/1xk, pools, add/mul with
different scales, fused relu/relu6, softmax, mean, pad, concat, reshape, quantize/dequantize)
runs 200 random int8 inputs (the first two all -128 / all 127) through the kernels, with
parameters from edgefact.export.quant, and must give outputs identical to the reference.
"""

from __future__ import annotations

import numpy as np
import pytest
from kernels_harness import EXTRA_CASES, build_driver, extra_opmodel, lower, run_call, run_model
from opmodels import OPMODEL_CASES, get_opmodel, random_inputs

from edgefact.export.reference import run_litert_ref, run_tflm
from edgefact.export.tflite_model import load_tflite

N_SAMPLES = 200


@pytest.fixture(scope="session")
def driver():
    return build_driver()


def _reference(case: str):
    spec = OPMODEL_CASES[case]
    return run_litert_ref if getattr(spec, "reference", "tflm") == "litert" else run_tflm


def _assert_same(case: str, ref: list[np.ndarray], got: list[np.ndarray]) -> None:
    assert len(ref) == len(got)
    for r, g in zip(ref, got, strict=True):
        g = g.reshape(r.shape)
        if r.dtype.kind == "f":  # compare float bits: bit-exact, not approximately equal
            bad = np.flatnonzero(r.reshape(-1).view(np.int32) != g.reshape(-1).view(np.int32))
        else:
            assert g.dtype == r.dtype
            bad = np.flatnonzero(r.reshape(-1) != g.reshape(-1))
        if bad.size:
            i = int(bad[0])
            pytest.fail(f"{case}: {bad.size}/{r.size} outputs differ from the reference; "
                        f"first at flat index {i}: expected {r.reshape(-1)[i]}, got {g.reshape(-1)[i]}")


@pytest.mark.parametrize("case", sorted(OPMODEL_CASES))
def test_op_bitexact(case: str, driver) -> None:
    model = get_opmodel(case)
    xs = random_inputs(model, N_SAMPLES, seed=7)
    ref = _reference(case)(model, xs)
    got = run_model(model, xs, driver)
    _assert_same(case, ref, got)


@pytest.mark.parametrize("case", EXTRA_CASES)
def test_extra_case_bitexact(case: str, driver) -> None:
    model = extra_opmodel(case)
    xs = random_inputs(model, N_SAMPLES, seed=8)
    _assert_same(case, run_tflm(model, xs), run_model(model, xs, driver))


@pytest.mark.parametrize("case,variant", [("conv_1x1_s1", "1x1"), ("conv_1x1_s2_relu", "1x1"),
                                          ("dw_3x3_m1_s1_same", "3x3"), ("dw_3x3_m1_s2_valid_relu", "3x3")])
def test_specialised_kernels_called_directly(case: str, variant: str, driver) -> None:
    """The fast paths, called by name (as generated code may), match the reference too."""
    model = get_opmodel(case)
    xs = random_inputs(model, 50, seed=3)
    _assert_same(case, run_tflm(model, xs), run_model(model, xs, driver, variant=variant))


def _status_of(driver, call, inputs) -> str:
    with pytest.raises(AssertionError) as e:
        run_call(driver, call, inputs)
    return str(e.value)


def test_kernels_reject_inconsistent_arguments(driver) -> None:
    """Bad dims/params give an error status instead of reading out of bounds."""
    model = get_opmodel("conv_3x3_s2_valid")
    m = load_tflite(model)
    x = random_inputs(model, 2, seed=0)[0]
    call = lower(m, m.operators[0])
    bad_dims = type(call)(call.op, list(call.params), call.arrays, call.out_elems, call.out_kind, call.scratch)
    bad_dims.params[9] += 2  # output height inconsistent with input, kernel and stride
    assert "status -2" in _status_of(driver, bad_dims, [x])
    bad_act = type(call)(call.op, list(call.params), call.arrays, call.out_elems, call.out_kind, call.scratch)
    bad_act.params[18], bad_act.params[19] = 10, -10  # activation min > max
    assert "status -3" in _status_of(driver, bad_act, [x])
    no_scratch = type(call)(call.op, list(call.params), call.arrays, call.out_elems, call.out_kind, 0)
    assert "status -1" in _status_of(driver, no_scratch, [x])
    # the real call works
    assert run_call(driver, call, [x]).shape == (2, call.out_elems)
