"""ARG_MAX / ARG_MIN (edgefact.export.ops.argmax): int8 in, int32 or int64 indices out.

The op models of tests/opmodels.py (``argmax_*``, ``argmin_*``: every axis, negative axes, rank 2
to 4, int32 and int64 indices, the Helium tails, a classifier head whose ARG_MAX is the model
output) run here on the host with random inputs and with inputs made of a few values (ties
everywhere: the first index must win, as TFLite's strict comparison gives), then all of them in
one firmware per emulated core. TFLM writes int32 indices only (it fails at invoke on int64), so
the int64 cases (``opmodels.LITERT_CASES``) equal LiteRT's reference instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from kernels_harness import Variant, differences, gen_dir, generate, run_on_host
from multimodel_fw import CORES, FwModel, run_on_core
from opmodels import LITERT_CASES, OPMODEL_CASES, get_opmodel, random_inputs

from edgefact.errors import UnsupportedOpError
from edgefact.export.lowering import lower
from edgefact.export.ops import get_op
from edgefact.export.reference import run_litert_ref, run_tflm
from edgefact.export.tflite_model import load_tflite

SPECS = {c: spec for c, spec in (*OPMODEL_CASES.items(), *LITERT_CASES.items()) if c.startswith(("argmax", "argmin"))}
CASES = sorted(SPECS)


def reference(case: str) -> Callable[..., list[np.ndarray]]:
    """TFLM, or LiteRT's reference for the int64 cases TFLM cannot run."""
    return run_litert_ref if case in LITERT_CASES else run_tflm


def _tied_inputs(model: bytes, n: int, seed: int) -> list[np.ndarray]:
    """Inputs drawn from 3 values (and the type's extremes), so most rows hold a tie for the max
    and for the min."""
    xs = random_inputs(model, n, seed)
    rng = np.random.default_rng(seed)
    return [rng.choice(np.array([-128, -5, 0, 127], dtype=x.dtype), x.shape) for x in xs]


def test_cases_cover_the_configurations() -> None:
    specs = [SPECS[c].params for c in CASES]
    assert {p["out"] for p in specs} == {"int32", "int64"}
    assert {p["fn"] for p in specs} == {"max", "min"}
    axes = {(len(p["shape"]), p["axis"] % len(p["shape"])) for p in specs}
    assert {(4, 1), (4, 2), (4, 3), (2, 1), (3, 2)} <= axes
    assert any(p["axis"] < 0 for p in specs) and any(p.get("head") for p in specs)


@pytest.mark.parametrize("case", CASES)
def test_argmax_bitexact_on_host(case: str) -> None:
    model = get_opmodel(case)
    gen = generate(model, gen_dir("argmax", case, Variant()), Variant())
    assert gen.graph.layers[-1].op in ("ARG_MAX", "ARG_MIN")
    assert gen.graph.outputs == [gen.graph.layers[-1].output]  # the indices are the model output
    for xs in (random_inputs(model, 200, seed=5), _tied_inputs(model, 200, seed=6)):
        ref = reference(case)(model, xs)
        got = run_on_host(gen, xs)
        assert got[0].dtype == np.dtype(SPECS[case].params["out"])
        problems = differences(case, ref, got)
        assert not problems, "\n".join(problems)


def test_ties_give_the_first_index() -> None:
    """The tied inputs do tie, and TFLM and the generated code both take the first index."""
    model = get_opmodel("argmax_c_i32")
    xs = _tied_inputs(model, 50, seed=1)
    rows = xs[0].reshape(-1, xs[0].shape[-1])
    tied = rows == rows.max(axis=1, keepdims=True)
    assert (tied.sum(axis=1) > 1).mean() > 0.5
    got = run_on_host(generate(model, gen_dir("argmax", "ties", Variant()), Variant()), xs)[0].reshape(-1)
    assert np.array_equal(got, tied.argmax(axis=1))


def test_ops_lists_arg_max_and_arg_min() -> None:
    for name, kernel in (("ARG_MAX", "ef_arg_max_s8"), ("ARG_MIN", "ef_arg_min_s8")):
        entry = get_op(name)
        assert entry is not None and entry.kernel_names == (kernel,)
        assert "int32 or int64" in entry.constraints


def test_indices_feeding_another_operator_are_refused() -> None:
    """Only ARG_MAX / ARG_MIN take an int32 / int64 activation: an operator reading the indices is
    refused in one line naming the tensor and the types it takes."""
    from tflite_builder import _buffer, _op, _opcode, _quant, _tensor, pack, s

    axis = np.array([3], np.int32)
    sg = s.SubGraphT()
    sg.tensors = [_tensor("x", [1, 4, 4, 5], s.TensorType.INT8, 1, _quant([0.1], [0])),
                  _tensor("axis", [1], s.TensorType.INT32, 2, None),
                  _tensor("idx", [1, 4, 4], s.TensorType.INT32, 3, None),
                  _tensor("y", [1, 4, 4], s.TensorType.INT32, 4, None)]
    sg.inputs, sg.outputs, sg.name = [0], [3], b"main"
    sg.operators = [_op(0, [0, 1], [2], 0, None), _op(1, [2], [3], 0, None)]
    m = s.ModelT()
    m.version, m.subgraphs = 3, [sg]
    m.buffers = [_buffer(None), _buffer(None), _buffer(axis), _buffer(None), _buffer(None)]
    m.operatorCodes = [_opcode(s.BuiltinOperator.ARG_MAX), _opcode(s.BuiltinOperator.ABS)]
    with pytest.raises(UnsupportedOpError, match=r"operator 1 \(ABS.*'idx' is INT32; ABS .*int8"):
        lower(load_tflite(pack(m)))


@pytest.mark.parametrize("core", CORES)
def test_argmax_bitexact_on_core(core: str) -> None:
    models = []
    for case in CASES:
        model = get_opmodel(case)
        for tag, xs in (("random", random_inputs(model, 6, seed=13)), ("ties", _tied_inputs(model, 6, seed=14))):
            models.append(FwModel(f"{case}_{tag}", model, xs, reference(case)(model, xs)))
    bad = run_on_core(core, models, "argmax")
    assert not bad, "\n".join(bad)


def test_deploy_of_int64_indices_is_reported_unchecked_by_tflm(tmp_path: Path) -> None:
    """TFLM cannot run int64 ARG_MAX: the deployment still builds, runs and reports (bit-exactness
    "not checked" with TFLM's reason), and the device's indices equal LiteRT's."""
    import warnings

    from edgefact.pipeline.app import default_inputs
    from edgefact.pipeline.deploy import deploy_tflite

    src = tmp_path / "am64.tflite"
    src.write_bytes(get_opmodel("argmax_c_i64"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rep = deploy_tflite(src, "host", tmp_path / "d", n_random=3)
    assert rep["bitexact"]["checked"] is False and "TFLM reference could not run" in rep["bitexact"]["reason"]
    assert any("bit-exactness not checked" in str(w.message) for w in caught)
    assert rep["model"]["output"]["dtype"] == "int64"
    got = np.load(tmp_path / "d" / "outputs.npy")
    want = run_litert_ref(src.read_bytes(), default_inputs(load_tflite(src.read_bytes()), 3))[0]
    assert got.dtype == np.int64 and np.array_equal(got, want)
