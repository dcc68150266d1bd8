"""End to end: `edgefact build` on a small configuration, on two emulated cores, with caching.

One module-scoped build directory is shared by the tests below, in order: a cold build for
cortex-m4, the same model deployed on cortex-m55 (training to TFLite cached), an unchanged rerun
(everything cached), and a changed conversion option (re-runs from tflite onward only).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

from edgefact.pipeline.build import run_build
from edgefact.pipeline.config import make_config
from edgefact.report.schema import validate_report

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

SMALL = {
    "train_samples": 3000,
    "epochs": 2.0,
    "finetune_epochs": 0.5,
    "cluster": 16,
    "eval_samples": 40,
    "bitexact_inputs": 2,
    "calib_samples": 100,
    "min_agreement": 0.9,
}


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("build")


def _build(out: Path, lines: list[str] | None = None, **overrides: object):
    cfg = make_config(None, {**SMALL, "out": str(out), **overrides})
    return run_build(cfg, echo=(lines.append if lines is not None else lambda s: None))


def _stages(result) -> dict[str, bool]:
    return {s["name"]: s["cached"] for s in result.stages if s["name"] != "report"}


@pytest.fixture(scope="module")
def m4_build(build_dir: Path):
    return _build(build_dir, target="cortex-m4")


def test_cold_build_runs_every_stage_and_reports(m4_build, build_dir: Path) -> None:
    assert _stages(m4_build) == {"train": False, "cluster": False, "onnx": False, "tflite": False,
                                 "deploy-cortex-m4": False}
    for name in ("report.json", "report.md", "report.html"):
        assert (build_dir / "report-cortex-m4" / name).is_file()
        assert (build_dir / name).is_file()
    report = json.loads((build_dir / "report-cortex-m4" / "report.json").read_text())
    validate_report(report)
    assert report["unit"] == "instructions (emulated)"
    assert report["bitexact"]["equal"] is True
    assert report["bitexact"]["inputs"] == SMALL["bitexact_inputs"] + SMALL["eval_samples"]
    layers = report["layers"]
    assert layers and all(layer["count"] > 0 for layer in layers if layer["macs"] > 0)
    assert sum(layer["macs"] for layer in layers) == report["totals"]["macs"] > 0
    assert report["totals"]["flash_bytes"] > 0 and report["totals"]["peak_stack_bytes"] > 0
    # the model learned something, and clustering kept it
    acc = report["accuracy"]
    assert acc["float"] > 0.5 and acc["clustered"] > 0.5 and acc["int8"] > 0.5
    html = (build_dir / "report-cortex-m4" / "report.html").read_text()
    assert "data:image/png;base64," in html
    from edgefact.report.render import summary_line

    md = (build_dir / "report-cortex-m4" / "report.md").read_text()
    assert summary_line(report) in md and "cortex-m4" in summary_line(report)


def test_on_device_accuracy_equals_tflite_reference(m4_build, build_dir: Path) -> None:
    acc = m4_build.report["accuracy"]
    assert acc["device_samples"] == SMALL["eval_samples"]
    assert acc["device"] == acc["reference_on_device_samples"]
    # recompute from the device's own outputs, independently of the build code
    from edgefact.export.reference import run_tflm
    from edgefact.pipeline.samples import real_samples

    dep = build_dir / "deploy-cortex-m4"
    device = np.load(dep / "outputs.npy")[-SMALL["eval_samples"]:]
    tflite = build_dir / "tflite" / "model.tflite"
    info = json.loads((build_dir / "tflite" / "manifest.json").read_text())["info"]
    xs, labels = real_samples(tflite, "fashion-mnist", SMALL["eval_samples"], mean=info["mean"], std=info["std"])
    ref = run_tflm(tflite, xs)[0]
    assert np.array_equal(device.reshape(ref.shape), ref)
    assert acc["device"] == pytest.approx(float((ref.reshape(len(labels), -1).argmax(1) == labels).mean()))


def test_clustering_survived_int8(build_dir: Path, m4_build) -> None:
    info = json.loads((build_dir / "tflite" / "manifest.json").read_text())["info"]
    check = info["cluster_check"]
    assert check["clustered_tensors"] >= 3
    assert 1 < check["max_distinct"] <= SMALL["cluster"]


def test_second_core_reuses_everything_up_to_tflite(m4_build, build_dir: Path) -> None:
    r = _build(build_dir, target="cortex-m55")
    assert _stages(r) == {"train": True, "cluster": True, "onnx": True, "tflite": True,
                          "deploy-cortex-m55": False}
    assert r.report["bitexact"]["equal"] is True
    assert r.report["accuracy"]["device"] == m4_build.report["accuracy"]["device"]
    assert r.report["target"]["core"] == "cortex-m55"


def test_unchanged_rerun_is_fully_cached(m4_build, build_dir: Path) -> None:
    lines: list[str] = []
    t0 = time.perf_counter()
    r = _build(build_dir, lines, target="cortex-m4")
    assert all(_stages(r).values()), _stages(r)
    assert sum(bool(re.match(r"\[\d+/\d+\] \S+\s+cached ", line)) for line in lines) == 5
    assert r.report["layers"] == m4_build.report["layers"]
    assert time.perf_counter() - t0 < 60


def test_changed_option_reruns_from_that_stage_onward(m4_build, build_dir: Path) -> None:
    r = _build(build_dir, target="cortex-m4", calib_samples=120)
    assert _stages(r) == {"train": True, "cluster": True, "onnx": True, "tflite": False,
                          "deploy-cortex-m4": False}
    assert r.report["bitexact"]["equal"] is True
