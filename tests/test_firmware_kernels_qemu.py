"""The kernel library on the emulated cores, through the generated code.

Every per-op case of tests/kernels_harness.py, with the kernels the registry chooses and with
each alternative kernel its entries allow, is generated under its own symbol prefix and linked
into one firmware per core and part (the multi-model application of edgefact.pipeline.app, 6
inputs per case; the cases in PARTS parts, so that each firmware's inputs fit the emulated 4 MB
flash of the Cortex-M4 board); each case's output CRC-32 must equal the reference interpreter's (TFLM, which the host
tests pin the host build to). The kernel API checks (tests/kernels_driver/ef_kernel_checks.c:
argument statuses, requantization at MultiplyByQuantizedMultiplier's extremes, chosen int32
accumulators through the depthwise 3x3 and per-channel FC kernels, QUANTIZE/DEQUANTIZE) run on
every core too and must equal the host's run.

Cortex-M4/M7/M33 take the SMLAD (DSP) inner loops and Cortex-M55 the Helium (MVE) ones, so this
pins those paths to the portable C. A Cortex-M4 build with EF_NN_PORTABLE (no DSP) must give the
same checksums, and the DSP build must need fewer instructions on the convolution / FC cases.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import kernel_checks
import numpy as np
import pytest
from kernels_harness import CACHE, CASES, GEN_ROOT, Variant, alternatives, case_model, generate, reference
from opmodels import random_inputs

from edgefact.export.codegen import GeneratedModel
from edgefact.export.tflite_model import load_tflite
from edgefact.firmware.build import build_firmware
from edgefact.firmware.kernels import kernel_include_dir, kernel_sources
from edgefact.pipeline.app import AppModel, flatten_inputs, np_type, write_app
from edgefact.targets import get_target
from edgefact.targets.runners import get_runner
from edgefact.targets.runners.base import RunResult

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
N_SAMPLES = 6
#: inputs run per alternative-kernel variant (a prefix of the case's: all-min, all-max and two
#: random samples; a prefix, so a stateful model's stream stays valid), read from the chosen
#: kernels' embedded copy (AppModel.inputs_of: one copy per case; with a copy per variant the
#: firmware outgrew the emulated 4 MB flash)
N_ALT_SAMPLES = 4
#: firmware per core, each with every PARTS-th case: one firmware with every case's inputs outgrew the
#: M4 board's 4 MB flash
PARTS = 2


@dataclass(frozen=True)
class Entry:
    """One case and variant in the firmware: its code (prefix, profile regions) and expected CRC."""

    name: str
    case: str
    gen: GeneratedModel
    prefix: str
    crc: str


@dataclass(frozen=True)
class Firmware:
    entries: list[Entry]
    bases: list[int]  # profile region id of each entry's first layer
    apps: list[AppModel]
    gen_dir: Path


def _crc(ref: list[np.ndarray], type_name: str) -> str:
    """CRC-32 of the outputs as the application stores them: a sample's outputs back to back."""
    n = len(ref[0])
    flat = np.concatenate([np.ascontiguousarray(r, dtype=np_type(type_name)).reshape(n, -1) for r in ref], axis=1)
    return f"{zlib.crc32(flat.tobytes()) & 0xFFFFFFFF:08x}"


_REFS: dict[str, tuple[bytes, list[np.ndarray], list[np.ndarray]]] = {}


def _case(case: str) -> tuple[bytes, list[np.ndarray], list[np.ndarray]]:
    """(model, inputs, reference outputs), once per process."""
    if case not in _REFS:
        model = case_model(case)
        xs = random_inputs(model, N_SAMPLES, seed=13)
        _REFS[case] = (model, xs, reference(case)(model, xs))
    return _REFS[case]


_FIRMWARE: dict[int, Firmware] = {}

#: The generated code and the builds live in a folder named after the case list: two test sessions
#: with different cases (an operator being added) never write the same files.
CASES_KEY = hashlib.sha256("\n".join(CASES).encode()).hexdigest()[:12]


def _firmware(part: int) -> Firmware:
    """Every PARTS-th case (from ``part``) and its variants under prefixes ef_k0, ef_k1 ... in one
    folder, generated once for all cores: without a target, as code valid for every core (the DSP /
    MVE / portable bodies are chosen when the kernel library is compiled for the core)."""
    if part in _FIRMWARE:
        return _FIRMWARE[part]
    out = GEN_ROOT / "qemu" / CASES_KEY / f"part{part}"
    entries: list[Entry] = []
    bases: list[int] = []
    apps: list[AppModel] = []
    base = 0
    for case in CASES[part::PARTS]:
        model, xs, ref = _case(case)
        loaded = load_tflite(model)
        pending = [Variant()]
        first = ""  # the chosen kernels' prefix: the alternatives read its embedded inputs
        while pending:
            v = pending.pop(0)
            name, prefix = case + v.label, f"ef_k{len(entries)}"
            first = first or prefix
            gen = generate(loaded, out / "gen", v, prefix=prefix, profile_base=base)
            if not v.kernels:
                pending += alternatives(gen.graph)
            n = N_ALT_SAMPLES if v.kernels else N_SAMPLES
            xv = [x[:n] for x in xs]
            entries.append(Entry(name, case, gen, prefix, _crc([r[:n] for r in ref], gen.output_type)))
            bases.append(base)
            apps.append(AppModel(gen, prefix, flatten_inputs(gen, xv if len(xv) > 1 else xv[0]), prefix, name,
                                 inputs_of=first if v.kernels else ""))
            base += gen.num_regions
    write_app(apps, out / "app", log_outputs=False)
    _FIRMWARE[part] = Firmware(entries, bases, apps, out / "gen")
    return _FIRMWARE[part]


_RUNS: dict[tuple[str, bool, int], RunResult] = {}


def _runs(core: str, portable: bool = False) -> list[tuple[Firmware, RunResult]]:
    """Every part's firmware and its run on ``core``."""
    return [_run(core, part, portable) for part in range(PARTS)]


def _run(core: str, part: int, portable: bool = False) -> tuple[Firmware, RunResult]:
    fw = _firmware(part)
    key = (core, portable, part)
    if key not in _RUNS:
        target = get_target(core)
        app_dir = fw.gen_dir.parent / "app"
        regions = sum(e.gen.num_regions for e in fw.entries)
        defines: dict[str, str | int | None] = {"EF_MAX_REGIONS": max(64, regions), "EF_BENCH_WARMUP": 0,
                                                "EF_BENCH_RUNS": 1}
        if portable:
            defines["EF_NN_PORTABLE"] = 1
        sources = [p for e in fw.entries for p in e.gen.sources]
        elf = build_firmware(target, [*sources, app_dir / "ef_app_model.c", app_dir / "ef_app_inputs.c",
                                      *kernel_sources()],
                             [fw.gen_dir, app_dir, kernel_include_dir()],
                             CACHE / "qemu" / CASES_KEY / f"part{part}" / (core + ("-portable" if portable else "")),
                             defines=defines)
        result = get_runner("qemu").run(elf, target, timeout_s=600)
        assert result.ok, f"{core}: exit {result.exit_status}: {result.raw_output[-2000:]}"
        _RUNS[key] = result
    return fw, _RUNS[key]


def _check(where: str, fw: Firmware, result: RunResult) -> None:
    got = result.log.checksums
    bad = [(e.name, got.get(e.prefix), e.crc) for e in fw.entries if got.get(e.prefix) != e.crc]
    assert not bad, f"{where}: {len(bad)}/{len(fw.entries)} cases differ from the reference: {bad[:5]}"


def _check_api(core: str, portable: bool = False) -> None:
    host = kernel_checks.host_run().log.checksums
    result = kernel_checks.run(core, portable=portable)
    problems = kernel_checks.check_failures(result, core + (" (portable)" if portable else ""), host)
    assert not problems, "\n".join(problems)


def test_every_variant_is_in_the_firmware() -> None:
    """Specialised and generic kernels both run: the firmware holds the alternatives of 1x1
    convolutions, 3x3 depthwise and shift layers besides the chosen kernels."""
    entries = [e for part in range(PARTS) for e in _firmware(part).entries]
    kernels = {layer.kernel for e in entries for layer in e.gen.graph.layers}
    assert {"ef_conv_s8", "ef_conv_1x1_s8", "ef_depthwise_conv_s8", "ef_depthwise_conv_3x3_s8",
            "ef_shift_s8", "ef_shift2_s8"} <= kernels
    assert len(entries) > len(CASES) and {e.case for e in entries} == set(CASES)
    assert any("@" in e.name for e in entries)


@pytest.mark.parametrize("core", CORES)
def test_kernels_bitexact_on_core(core: str) -> None:
    for part, (fw, result) in enumerate(_runs(core)):
        _check(f"{core} part {part}", fw, result)
    _check_api(core)


def test_dsp_path_matches_portable_and_is_faster() -> None:
    d = p = 0
    for part in range(PARTS):
        fw, dsp = _run("cortex-m4", part)
        _, portable = _run("cortex-m4", part, portable=True)
        _check(f"cortex-m4 part {part}", fw, dsp)
        _check(f"cortex-m4 (portable) part {part}", fw, portable)
        # One timed inference per case (input 0): summed over the conv / FC cases, the SMLAD loops
        # must save instructions (so the DSP path is really taken).
        ids = {i for e, b in zip(fw.entries, fw.bases, strict=True) if e.case.startswith(("conv_", "xconv_", "fc_"))
               for i in range(b, b + e.gen.num_regions)}

        def total(result: RunResult, ids: set[int] = ids) -> int:
            return sum(int(r["count"]) for r in result.log.region_records if int(r["id"]) in ids)

        d, p = d + total(dsp), p + total(portable)
    _check_api("cortex-m4", portable=True)
    assert d < 0.97 * p, (d, p)
