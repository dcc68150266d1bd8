"""The flash/RAM split by component, checked against the ELF's own symbols and sections."""

from __future__ import annotations

import pytest
from report_deploys import kws_deploy

from edgefact.firmware.elf import memory_report
from edgefact.firmware.footprint import object_symbols
from edgefact.report.schema import validate_report

pytestmark = [pytest.mark.qemu]


def _sym_size(rep, name: str) -> int:
    return sum(s.size for s in rep.symbols if s.name == name)


def test_components_add_up_to_the_elf_and_match_its_symbols() -> None:
    report, out = kws_deploy(2)
    validate_report(report)  # includes: each split sums to totals.flash_bytes / ram_bytes
    fp, t = report["footprint"], report["totals"]
    elf = memory_report(out / "build" / "firmware.elf")
    assert sum(fp["flash"].values()) == elf.flash_bytes == t["flash_bytes"]
    assert sum(fp["ram"].values()) == elf.ram_bytes == t["ram_bytes"]
    # the arena is the generated model's arena symbol, the reserved stack the .stack section
    assert fp["ram"]["arena"] == _sym_size(elf, "ef_arena") == t["arena_bytes"]
    assert fp["ram"]["stack"] == elf.stack_size == 32768
    # weights + tables: every sized symbol the generated data file defines, nothing else
    data_obj = next((out / "build" / "obj").glob("*_model_data.o"))
    assert fp["flash"]["weights"] == sum(_sym_size(elf, n) for n in object_symbols(data_obj))
    assert fp["flash"]["weights"] >= t["weight_bytes"]
    # the harness holds the embedded inputs and their output buffers
    assert fp["flash"]["harness"] >= _sym_size(elf, "ef_model_app_inputs") > 0
    assert fp["ram"]["harness"] >= _sym_size(elf, "ef_model_app_outputs") > 0
    # the headline figures exclude the harness and count the stack at its measured peak
    peak = t["peak_stack_bytes"]
    assert 0 < peak < fp["ram"]["stack"] and fp["peak_stack_bytes"] == peak
    assert t["deployable_flash_bytes"] == t["flash_bytes"] - fp["flash"]["harness"]
    assert t["deployable_ram_bytes"] == t["ram_bytes"] - fp["ram"]["harness"] - fp["ram"]["stack"] + peak
    assert all(fp["flash"][k] > 0 for k in ("weights", "code", "kernels", "runtime"))


def test_more_embedded_inputs_grow_only_the_harness() -> None:
    small, _ = kws_deploy(2)
    large, _ = kws_deploy(6)
    input_bytes = 1
    for d in small["model"]["input"]["shape"]:
        input_bytes *= d
    a, b = small["footprint"], large["footprint"]
    # four more inputs in flash (plus a few bytes of harness code and alignment)
    assert 4 * input_bytes <= b["flash"]["harness"] - a["flash"]["harness"] <= 4 * input_bytes + 64
    for part in ("weights", "code", "kernels"):
        assert a["flash"][part] == b["flash"][part]
    assert small["totals"]["deployable_flash_bytes"] == pytest.approx(large["totals"]["deployable_flash_bytes"], abs=64)
    assert b["ram"]["harness"] > a["ram"]["harness"]


def test_layers_name_their_kernel_and_activation_bytes() -> None:
    report, _ = kws_deploy(2)
    by_op = {layer["op"]: layer for layer in report["layers"]}
    assert by_op["DEPTHWISE_CONV_2D"]["kernel"].startswith("ef_depthwise_conv")
    assert by_op["CONV_2D"]["kernel"].startswith("ef_conv")
    assert "kernel" not in by_op["RESHAPE"]  # an aliased reshape emits no call
    for layer in report["layers"]:
        assert layer["activation_bytes"] > 0
    md = (kws_deploy(2)[1] / "report.md").read_text()
    assert "ef_depthwise_conv" in md and "test harness" in md and "deployable" in md
    assert max(len(line) for line in md.splitlines() if line.startswith("|")) <= 100
