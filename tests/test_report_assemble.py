"""Report assembly (edgefact.report.assemble) from made-up deployment figures: the document
follows the schema, counts land on their layers, a packed layer's count includes its decode."""

from __future__ import annotations

import datetime as dt

from edgefact.report.assemble import (
    DeployFigures,
    LayerFigures,
    RunFigures,
    TensorFigures,
    assemble_report,
    memory_section,
)
from edgefact.report.schema import REPORT_SCHEMA, validate_report

TARGET = {"name": "cortex-m4", "kind": "core", "core": "cortex-m4", "qemu_machine": "mps2-an386", "clock_hz": None,
          "flash_bytes": 4194304, "ram_bytes": 4194304}
ELF = {"flash_sections": {".text": 9000, ".rodata": 3000}, "ram_sections": {".bss": 2048},
       "largest_symbols": [{"name": "ef_l0_filter", "size": 432, "section": ".rodata"}]}


def _figures(run: RunFigures | None) -> DeployFigures:
    layers = [
        LayerFigures(0, "conv_2d_0", "CONV_2D", ((1, 8, 8, 3),), (1, 8, 8, 16), 27648, 448, 496,
                     packed={"bits": 4, "bytes_saved": 200}),
        LayerFigures(1, "mean_1", "MEAN", ((1, 8, 8, 16),), (1, 16), 1024, 0, 0),
    ]
    return DeployFigures(
        target=TARGET, target_unit="instructions (emulated)", model_name="tiny", model_path="/m/tiny.tflite",
        model_sha256="ab" * 32, model_input=TensorFigures((1, 8, 8, 3), 0.0039, -128, "int8"),
        model_output=TensorFigures((1, 16), None, 0, "float32"), layers=layers, total_macs=28672,
        total_params=448, total_weight_bytes=496, arena_bytes=4096, memory=memory_section(6000, ELF),
        flash_bytes=12000, ram_bytes=2048, run=run,
        bitexact={"reference": "tflm", "inputs": 4, "equal": True, "mismatches": 0} if run else None,
        artifacts={"elf": "/b/firmware.elf"})


def test_report_from_a_run() -> None:
    run = RunFigures({"conv_2d_0": 5000, "unpack_conv_2d_0": 300, "mean_1": 700}, 6100, "cycles (device)", 512,
                     clock_hz=64_000_000)
    when = dt.datetime(2026, 11, 27, 4, 0, tzinfo=dt.UTC)
    rep = assemble_report(_figures(run), created=when, version="9.9.9")
    validate_report(rep)
    assert rep["schema"] == REPORT_SCHEMA and rep["created"] == "2026-11-27T04:00:00Z"
    assert rep["edgefact_version"] == "9.9.9"
    assert rep["unit"] == "cycles (device)"  # the run's own unit wins over the target's
    conv, mean = rep["layers"]
    assert conv["count"] == 5300 and conv["packed"] == {"bits": 4, "bytes_saved": 200, "decode_count": 300}
    assert mean["count"] == 700 and "packed" not in mean
    assert conv["input_shapes"] == [[1, 8, 8, 3]] and conv["output_shape"] == [1, 8, 8, 16]
    t = rep["totals"]
    assert (t["count"], t["peak_stack_bytes"], t["flash_bytes"], t["arena_bytes"]) == (6100, 512, 12000, 4096)
    assert rep["target"]["clock_hz"] == 64_000_000 and TARGET["clock_hz"] is None  # input not modified
    assert rep["memory"]["tflm_arena_bytes"] == 6000
    assert rep["memory"]["largest_symbols"] == [{"name": "ef_l0_filter", "bytes": 432, "section": ".rodata"}]
    assert rep["model"]["output"] == {"shape": [1, 16], "scale": None, "zero_point": 0, "dtype": "float32"}


def test_report_of_a_build_without_run() -> None:
    rep = assemble_report(_figures(None))
    validate_report(rep)
    assert rep["unit"] == "instructions (emulated)" and rep["bitexact"] is None
    assert all("count" not in layer for layer in rep["layers"])
    assert "decode_count" not in rep["layers"][0]["packed"]
    assert rep["totals"]["count"] is None and rep["totals"]["peak_stack_bytes"] is None
    assert memory_section(None, None) == {"tflm_arena_bytes": None}
