"""Generated C on the host is bit-exact with the TFLM interpreter: MLPerf Tiny models and one-op models."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from codegen_util import MLPERF

from edgefact.export.codegen import generate_c
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.reference import run_tflm

N_MLPERF_INPUTS = 200


def _inputs(gen, n: int, seed: int) -> np.ndarray:
    """n int8 inputs: edge cases (all min, all max, all zero point, ramps) then uniform random."""
    t = gen.graph.tensors[gen.graph.inputs[0]]
    shape = t.shape[1:]
    size = int(np.prod(shape))
    special = [np.full(size, -128), np.full(size, 127), np.full(size, t.zero_point),
               (np.arange(size) % 256) - 128, 127 - (np.arange(size) * 7 % 256)]
    rng = np.random.default_rng(seed)
    rand = rng.integers(-128, 128, (n - len(special), size))
    return np.concatenate([np.stack(special), rand]).astype(np.int8).reshape(n, *shape)


@pytest.mark.parametrize("name", sorted(MLPERF))
def test_mlperf_bitexact_on_host(name: str, tmp_path: Path) -> None:
    gen = generate_c(MLPERF[name], tmp_path / "gen", model_name=name)
    x = _inputs(gen, N_MLPERF_INPUTS, seed=hash(name) % 1000)
    got = run_host_batch(gen, x)
    want = run_tflm(MLPERF[name], x)[0]
    assert got.shape == want.shape and got.dtype == want.dtype
    mism = int(np.sum(got != want))
    assert mism == 0, f"{name}: {mism} of {want.size} outputs differ from TFLM"
    # outputs are not degenerate (the test would also pass for a constant model otherwise)
    assert len({bytes(r) for r in got.reshape(len(got), -1)}) > N_MLPERF_INPUTS // 4


@pytest.mark.parametrize("name", sorted(MLPERF))
def test_generated_code_reads_well(name: str, tmp_path: Path) -> None:
    gen = generate_c(MLPERF[name], tmp_path / "gen", model_name=name)
    model_c = gen.files["model.c"].read_text()
    data_c = gen.files["model_data.c"].read_text()
    header = gen.files["model.h"].read_text()
    for layer in gen.graph.layers:
        # one comment per layer with op, shapes and MACs, then the call wrapped in profile hooks
        assert re.search(rf"/\* {layer.index}: {layer.op} \[.*\] -> \[.*\].*, {layer.macs} MACs \*/", model_c)
        if layer.kernel:
            assert f'EF_PROFILE_BEGIN({gen.graph.layers.index(layer)}, "{layer.name}")' in model_c
            assert f"{layer.kernel}(" in model_c
    n_calls = sum(1 for layer in gen.graph.layers if layer.kernel)
    assert model_c.count("    EF_PROFILE_BEGIN(") == n_calls == model_c.count("    EF_PROFILE_END(")
    assert "int ef_model_run(const int8_t *in, int8_t *out)" in model_c
    assert f"#define EF_MODEL_ARENA_SIZE {gen.arena_bytes}" in header
    for macro in ("EF_MODEL_INPUT_SCALE", "EF_MODEL_INPUT_ZERO_POINT", "EF_MODEL_OUTPUT_SCALE",
                  "EF_MODEL_OUTPUT_ZERO_POINT", "EF_MODEL_INPUT_SIZE", "EF_MODEL_OUTPUT_SIZE"):
        assert f"#define {macro} " in header
    n_filters = sum(1 for layer in gen.graph.layers if "filter" in layer.consts)
    assert data_c.count("EF_MODEL_ALIGNED = {") >= n_filters
    assert len(re.findall(r"/\* layer \d+ \w+ \(\w+\): filter|/\* layer \d+ \w+ \(\w+\): weights", data_c)) == n_filters
    assert (tmp_path / "gen" / "plan.txt").read_text().count("arena:") == 1


def test_convert_cli_prints_both_arenas(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from edgefact.export.convert_cli import convert_cmd

    res = CliRunner().invoke(convert_cmd, [str(MLPERF["kws_dscnn"]), "--target", "cortex-m4", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    m = re.search(r"arena: edgefact (\d+) bytes \| TFLM (\d+) bytes", res.output)
    assert m and int(m.group(1)) <= int(m.group(2))
    assert {p.name for p in tmp_path.iterdir()} >= {"model.c", "model.h", "model_data.c", "model_data.h", "plan.txt"}


# ---- one-op models ----------------------------------------------------------------------------

try:
    from opmodels import OPMODEL_CASES, get_opmodel, random_inputs
except ImportError:  # pragma: no cover - F's factory not present
    OPMODEL_CASES = {}


@pytest.fixture(scope="module")
def opmodel_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, int]]:
    """Run every one-op model through the generator once: case -> (mismatches, elements)."""
    out = tmp_path_factory.mktemp("opmodels")
    results = {}
    for case in sorted(OPMODEL_CASES):
        model = get_opmodel(case)
        xs = random_inputs(model, 30, seed=1)
        gen = generate_c(model, out / case, model_name=case)
        got = run_host_batch(gen, list(xs))
        got = got if isinstance(got, list) else [got]
        want = run_tflm(model, list(xs) if len(xs) > 1 else xs[0])
        results[case] = (sum(int(np.sum(a != b)) for a, b in zip(got, want, strict=True)),
                         sum(int(b.size) for b in want))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(OPMODEL_CASES))
def test_one_op_model_bitexact(case: str, opmodel_results: dict[str, tuple[int, int]]) -> None:
    mism, total = opmodel_results[case]
    assert total > 0
    assert mism == 0, f"{case}: {mism} of {total} outputs differ from TFLM"
