"""Firmware: the MLPerf Tiny models and every zoo model give the same outputs on the four emulated
cores as TFLM on the host (checksums compared on the host); the single-model deploy path (report,
per-layer counts, memory), memory checks before running, float boundary and two-input models."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from codegen_util import MLPERF, zoo_tflite_path

from edgefact.errors import ModelTooLargeError
from edgefact.export.tflite_model import load_tflite
from edgefact.pipeline.deploy import deploy_many, deploy_tflite

CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
N_INPUTS = 2  # per model and core: > 1, small enough for the test budget
CACHE = Path(__file__).resolve().parent.parent / ".cache" / "codegen" / "deploy"

pytestmark = [pytest.mark.qemu, pytest.mark.slow]


def _need_tools() -> None:
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm", "gcc"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: sudo apt-get install gcc-arm-none-eabi qemu-system-arm gcc")


def _inputs(path: Path, seed: int) -> np.ndarray:
    model = load_tflite(path)
    shape = model.tensors[model.inputs[0]].shape[1:]
    x = np.random.default_rng(seed).integers(-128, 128, (N_INPUTS, *shape), dtype=np.int8)
    x[0] = 127  # one saturated input
    return x


@pytest.fixture(scope="session")
def all_models(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path, np.ndarray]]:
    """The three MLPerf Tiny models and every zoo model (int8 .tflite), with their inputs."""
    models = [(name, path, _inputs(path, 7)) for name, path in sorted(MLPERF.items())]
    try:
        import torch

        from edgefact.models.zoo import list_models
    except ImportError:  # pragma: no cover
        return models
    torch.set_num_threads(1)
    work = tmp_path_factory.mktemp("zoo_onnx")
    for name in list_models():
        path = zoo_tflite_path(name, work)
        models.append((name, path, _inputs(path, 8)))
    return models


@pytest.fixture(scope="session")
def on_cores(all_models: list[tuple[str, Path, np.ndarray]]) -> dict[str, dict[str, dict]]:
    """core -> model -> result: all models in one firmware per core (one build per core)."""
    _need_tools()
    return {core: deploy_many(all_models, core, CACHE / "many" / core, timeout_s=240) for core in CORES}


@pytest.mark.parametrize("core", CORES)
def test_every_model_same_outputs_on_core(core: str, on_cores: dict[str, dict[str, dict]],
                                          all_models: list[tuple[str, Path, np.ndarray]]) -> None:
    res = on_cores[core]
    assert set(res) == {name for name, _, _ in all_models} and len(res) >= 3
    for name, r in res.items():
        print(f"{core} {name}: checksum {r['checksum']} TFLM {r['reference_checksum']}")
        assert r["inputs"] == N_INPUTS
        assert r["checksum"] == r["reference_checksum"], f"{name} on {core} differs from TFLM"
        assert r["checksum"] == on_cores[CORES[0]][name]["checksum"]


@pytest.fixture(scope="session")
def kws_reports() -> dict[str, dict]:
    """The single-model deploy path (what `edgefact build --tflite` runs) on host and cortex-m4."""
    _need_tools()
    path = MLPERF["kws_dscnn"]
    return {t: deploy_tflite(path, t, CACHE / "kws_dscnn" / t, inputs=_inputs(path, 9), timeout_s=120,
                             write_report=(t == "cortex-m4")) for t in ("host", "cortex-m4")}


def test_deploy_report(kws_reports: dict[str, dict]) -> None:
    from edgefact.report.schema import validate_report

    host, rep = kws_reports["host"], kws_reports["cortex-m4"]
    assert host["bitexact"]["equal"] and host["bitexact"]["inputs"] == N_INPUTS
    assert rep["bitexact"]["equal"] and rep["bitexact"]["checksum"] == host["bitexact"]["checksum"]
    validate_report(rep)
    t = rep["totals"]
    assert t["count"] > t["macs"] / 4  # a kernel does at least 1 instruction per 4 MACs
    assert sum(la["count"] for la in rep["layers"]) <= t["count"]
    assert 0 < t["arena_bytes"] <= rep["memory"]["tflm_arena_bytes"]
    assert t["flash_bytes"] > t["weight_bytes"] and t["ram_bytes"] > t["arena_bytes"]
    assert t["peak_stack_bytes"] and t["peak_stack_bytes"] < 4096
    for layer in rep["layers"]:
        assert layer["count"] > 0 or layer["op"] == "RESHAPE", layer
    out = CACHE / "kws_dscnn" / "cortex-m4"
    saved = json.loads((out / "report.json").read_text())
    assert saved["bitexact"]["equal"] is True and len(saved["layers"]) == len(rep["layers"])
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    build = json.loads((out / "build" / "build.json").read_text())
    assert {"-Werror", "-Wextra", "-Wall", "-std=c99"} <= set(build["cflags"])


def test_oversize_model_rejected_before_build(tmp_path: Path) -> None:
    from edgefact.targets import get_target

    small = dataclasses.replace(get_target("cortex-m4"), name="tiny-board", kind="board", ram_bytes=32 * 1024,
                                flash_bytes=64 * 1024)
    with pytest.raises(ModelTooLargeError) as exc:
        deploy_tflite(MLPERF["ic_resnet8"], small, tmp_path / "out", n_random=2)
    msg = str(exc.value)
    assert "tiny-board" in msg and str(64 * 1024) in msg and str(32 * 1024) in msg
    assert "flash needs at least" in msg and "RAM needs at least" in msg
    assert not (tmp_path / "out" / "build").exists()  # nothing was built or run


def test_board_build_fits_nrf52840(tmp_path: Path) -> None:
    _need_tools()
    rep = deploy_tflite(MLPERF["kws_dscnn"], "nrf52840dk", tmp_path / "nrf", n_random=2, run=False)
    assert 0 < rep["totals"]["flash_bytes"] <= 1024 * 1024 and 0 < rep["totals"]["ram_bytes"] <= 256 * 1024
    assert rep["bitexact"] is None


def test_float_boundary_and_two_inputs_on_host(tmp_path: Path) -> None:
    """Float input (QUANTIZE), float output (DEQUANTIZE) and a two-input ADD through the firmware."""
    from opmodels import get_opmodel, random_inputs

    models = []
    for case in ("quantize_in", "dequantize_out", "add"):
        path = tmp_path / f"{case}.tflite"
        path.write_bytes(get_opmodel(case))
        xs = random_inputs(path.read_bytes(), 3, seed=2)
        models.append((case, path, list(xs) if len(xs) > 1 else xs[0]))
    res = deploy_many(models, "host", tmp_path / "many")
    for case, r in res.items():
        assert r["equal"] and r["inputs"] == 3, case
    single = deploy_tflite(models[1][1], "host", tmp_path / "one", n_random=3, write_report=False)
    assert single["bitexact"]["equal"] and (tmp_path / "one" / "outputs.npy").is_file()
