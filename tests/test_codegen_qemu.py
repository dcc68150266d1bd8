"""Firmware deploy: the MLPerf Tiny models give the same outputs on host and the four emulated cores
(checksums compared on the host, and both equal to TFLM), memory checks before running."""

from __future__ import annotations

import dataclasses
import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
from codegen_util import MLPERF

from edgefact.errors import ModelTooLargeError
from edgefact.export.tflite_model import load_tflite
from edgefact.pipeline.deploy import deploy_tflite

CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
N_INPUTS = 3  # per emulated run: > 1, small enough for the test budget
CACHE = Path(__file__).resolve().parent.parent / ".cache" / "codegen" / "deploy"

pytestmark = [pytest.mark.qemu, pytest.mark.slow]


def _need_tools() -> None:
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm", "gcc"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: sudo apt-get install gcc-arm-none-eabi qemu-system-arm gcc")


def _inputs(name: str) -> np.ndarray:
    model = load_tflite(MLPERF[name])
    shape = model.tensors[model.inputs[0]].shape[1:]
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, (N_INPUTS, *shape), dtype=np.int8)
    x[0] = 127  # one saturated input
    return x


@pytest.fixture(scope="session")
def deployed() -> dict[tuple[str, str], dict]:
    """(model, target) -> report, for host and every core (builds cached under .cache)."""
    _need_tools()
    reports = {}
    for name in sorted(MLPERF):
        x = _inputs(name)
        # the host deploy path once; the cores of every model (report files written once: slow to render)
        targets = ("host", *CORES) if name == "kws_dscnn" else CORES
        for target in targets:
            reports[(name, target)] = deploy_tflite(MLPERF[name], target, CACHE / name / target, inputs=x,
                                                    timeout_s=120,
                                                    write_report=(name, target) == ("kws_dscnn", "cortex-m4"))
    return reports


@pytest.mark.parametrize("name", sorted(MLPERF))
def test_same_outputs_on_every_core(name: str, deployed: dict[tuple[str, str], dict]) -> None:
    from edgefact.export.reference import run_tflm

    x = _inputs(name)
    host_crc = f"{zlib.crc32(np.ascontiguousarray(run_tflm(MLPERF[name], x)[0]).tobytes()) & 0xFFFFFFFF:08x}"
    if (name, "host") in deployed:
        host = deployed[(name, "host")]["bitexact"]
        assert host["equal"] and host["inputs"] == N_INPUTS and host["checksum"] == host_crc
    for core in CORES:
        rep = deployed[(name, core)]
        be = rep["bitexact"]
        print(f"{name} {core}: checksum {be['checksum']} (host {host_crc}), "
              f"{rep['totals']['count']} instructions, {rep['totals']['macs']} MACs")
        assert be["checksum"] == host_crc == be["reference_checksum"]
        assert be["equal"] and be["mismatches"] == 0 and be["inputs"] == N_INPUTS


def test_report_files_written(deployed: dict[tuple[str, str], dict]) -> None:
    out = CACHE / "kws_dscnn" / "cortex-m4"
    saved = json.loads((out / "report.json").read_text())
    assert saved["bitexact"]["equal"] is True and saved["target"]["name"] == "cortex-m4"
    assert len(saved["layers"]) == len(deployed[("kws_dscnn", "cortex-m4")]["layers"])
    assert (out / "report.md").is_file() and (out / "report.html").is_file()


@pytest.mark.parametrize("name", sorted(MLPERF))
def test_reports_have_layers_memory_and_counts(name: str, deployed: dict[tuple[str, str], dict]) -> None:
    from edgefact.report.schema import validate_report

    for core in CORES:
        rep = deployed[(name, core)]
        validate_report(rep)
        t = rep["totals"]
        assert t["count"] > t["macs"] / 4  # a kernel does at least 1 instruction per 4 MACs
        assert 0 < t["arena_bytes"] <= rep["memory"]["tflm_arena_bytes"]
        assert t["flash_bytes"] > t["weight_bytes"] and t["ram_bytes"] > t["arena_bytes"]
        assert t["peak_stack_bytes"] and t["peak_stack_bytes"] < 4096
        for layer in rep["layers"]:
            if layer["op"] != "RESHAPE":
                assert layer["count"] > 0, layer
        build = json.loads((CACHE / name / core / "build" / "build.json").read_text())
        assert "-Werror" in build["cflags"] and "-Wextra" in build["cflags"] and "-std=c99" in build["cflags"]


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
    assert rep["totals"]["flash_bytes"] <= 1024 * 1024 and rep["totals"]["ram_bytes"] <= 256 * 1024
    assert rep["bitexact"] is None


@pytest.mark.parametrize("case", ["quantize_in", "dequantize_out", "add"])
def test_deploy_float_boundary_and_two_inputs_on_host(case: str, tmp_path: Path) -> None:
    """Float input (QUANTIZE) / float output (DEQUANTIZE) and a two-input model through the firmware path."""
    from opmodels import get_opmodel

    path = tmp_path / f"{case}.tflite"
    path.write_bytes(get_opmodel(case))
    rep = deploy_tflite(path, "host", tmp_path / "out", n_random=3, write_report=False)
    assert rep["bitexact"]["equal"] and rep["bitexact"]["inputs"] == 3
    assert (tmp_path / "out" / "outputs.npy").is_file()
