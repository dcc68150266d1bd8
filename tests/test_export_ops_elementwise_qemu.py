"""Firmware: every element-wise test model (the converter-made ELEMENTWISE_CASES of tests/opmodels.py
and the hand-built configurations of test_export_ops_elementwise_codegen.py, plus a slice of the all-pairs
rounding-tie grid per requantizing binary op) in one firmware per emulated core; each model's
output checksum must equal TFLM's on the host. Cortex-M4/M7/M33 run the DSP bodies (the table
look-up's word loop, SSUB8/SEL for MAXIMUM/MINIMUM), Cortex-M55 the Helium ones (VLDRB gathers,
VMAX/VMIN), so this pins them to the portable C the host tests check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from opmodels import ELEMENTWISE_CASES, get_opmodel, random_inputs
from ops_elementwise_util import T, one_op_model
from shared_paths import require_arm_tools
from test_export_ops_elementwise_codegen import BINARY, LUT_CASES

from edgefact.pipeline.deploy import deploy_many

CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
N_INPUTS = 3
TIE_ROWS = 24  # rows of 256 (a, b) pairs of the tie grid per op

pytestmark = [pytest.mark.qemu, pytest.mark.slow]


def _need_tools() -> None:
    require_arm_tools()


def _inputs(ts: list[T], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    xs = []
    for t in ts:
        if t.data is None:
            x = rng.integers(-128, 128, (N_INPUTS, *t.shape[1:]) if t.shape[0] == 1 else (N_INPUTS, *t.shape))
            x[0] = -128
            x[1] = 127
            xs.append(x.astype(np.int8))
    return xs


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path, list[np.ndarray]]]:
    work = tmp_path_factory.mktemp("elementwise_models")
    out: list[tuple[str, Path, list[np.ndarray]]] = []

    def add(name: str, data: bytes, xs: list[np.ndarray]) -> None:
        path = work / f"{name}.tflite"
        path.write_bytes(data)
        out.append((name, path, xs))

    for case in sorted(ELEMENTWISE_CASES):
        data = get_opmodel(case)
        add(case, data, random_inputs(data, N_INPUTS, seed=21))
    for k, (name, op, a, b, o, opts) in enumerate(BINARY):
        add(f"hand_{name}", one_op_model(op, [a, b], o, **opts), _inputs([a, b], 100 + k))
    for k, (name, a, o, opts) in enumerate(LUT_CASES):
        op = name.split("_")[0] if not name.startswith(("HARD_SWISH", "LEAKY_RELU")) else "_".join(name.split("_")[:2])
        add(f"hand_{name}", one_op_model(op, [a], o, **opts), _inputs([a], 200 + k))
    rows = np.arange(TIE_ROWS)
    a = np.tile(np.arange(-128, 128, dtype=np.int16), (TIE_ROWS, 1))
    b = np.repeat((rows * 11 % 256) - 128, 256).reshape(TIE_ROWS, 256)
    for op in ("ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "PRELU"):
        o = T((1, 256), 0.05, -128) if op == "SQUARED_DIFFERENCE" else T((1, 256), 0.02, -7)
        add(f"ties_{op}", one_op_model(op, [T((1, 256), 0.03, 5), T((1, 256), 0.07, -20)], o),
            [a.astype(np.int8).reshape(TIE_ROWS, 1, 256), b.astype(np.int8).reshape(TIE_ROWS, 1, 256)])
    return out


@pytest.mark.parametrize("core", CORES)
def test_elementwise_models_same_outputs_as_tflm_on_core(core: str, models: list, tmp_path: Path) -> None:
    _need_tools()
    res = deploy_many(models, core, tmp_path / core, timeout_s=300)
    assert set(res) == {name for name, _, _ in models} and len(res) >= 80
    bad = [name for name, r in res.items() if r["checksum"] != r["reference_checksum"]]
    assert not bad, f"{core}: {len(bad)} of {len(res)} models differ from TFLM: {bad[:8]}"
    assert all(r["inputs"] in (N_INPUTS, TIE_ROWS) for r in res.values())
