"""The instruction-trace profiler (edgefact/targets/runners/profile.py, scripts/profile_fw).

Unit: trace lines -> counts per PC and per function, the inference count, the harness row. End
to end: the MLPerf autoencoder on cortex-m4, profiled, against the exact per-inference count of
its report (QEMU -icount): the same instructions, apart from the harness around the model run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from shared_paths import MLPERF_DIR, require_arm_tools

from edgefact.errors import EdgefactError
from edgefact.targets.runners.profile import (
    RUN_FUNCTION,
    FunctionMap,
    annotate,
    count_trace,
    profile_firmware,
)

ROOT = Path(__file__).resolve().parents[1]
AD = MLPERF_DIR / "ad_fc_autoencoder_int8.tflite"


def _line(pc: int) -> bytes:
    return f"Trace 0: 0x7ff900000100 [0080044a/{pc:08x}/00000150/ff000201] sym\n".encode()


def test_trace_lines_fold_into_functions_and_inferences() -> None:
    fmap = FunctionMap([(0x100, 0x20, RUN_FUNCTION), (0x200, 0x10, "ef_conv_s8"), (0x300, 8, "ef_log_end")])
    trace = [_line(0x100), _line(0x102), _line(0x200), _line(0x204), _line(0x20E), _line(0x100),
             _line(0x300), _line(0x400), b"garbage line\n", _line(0x210)]
    prof = count_trace(trace, fmap)
    assert prof.functions == {RUN_FUNCTION: 3, "ef_conv_s8": 3, "ef_log_end": 1, "?": 2}
    assert prof.pcs[0x100] == 2 and prof.pcs[0x20E] == 1
    assert prof.inferences == 2  # the run function's first instruction, executed twice
    assert prof.total == 9
    rows = dict(prof.kernel_rows())
    assert rows["(harness: log, timers)"] == 1 and "ef_log_end" not in rows
    assert dict(prof.kernel_rows(include_harness=True))["ef_log_end"] == 1


def test_function_map_bounds() -> None:
    fmap = FunctionMap([(0x1000, 4, "a"), (0x1004, 0, "b"), (0x2000, 16, "c")])
    assert fmap.name(0x1001) == "a"  # the Thumb bit is ignored
    assert fmap.name(0x1004) == "b"  # a size-0 symbol still owns its first address
    assert fmap.name(0x1008) == "?" and fmap.name(0x0FFF) == "?"
    assert fmap.name(0x200F) == "c" and fmap.name(0x2010) == "?"
    assert fmap.start("c") == 0x2000 and fmap.start("zz") is None


def test_missing_elf_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EdgefactError, match="no such firmware ELF"):
        profile_firmware(tmp_path / "none.elf", "cortex-m4")
    script = subprocess.run([sys.executable, str(ROOT / "scripts" / "profile_fw"), str(tmp_path)],
                            capture_output=True, text=True)
    assert script.returncode == 2 and "no firmware.elf" in script.stderr and "Traceback" not in script.stderr


def test_profile_of_a_real_firmware_matches_its_exact_count(tmp_path: Path) -> None:
    require_arm_tools()
    if not AD.is_file():
        pytest.skip(f"MLPerf Tiny model missing: {AD}")
    from edgefact.pipeline.deploy import deploy_tflite

    out = tmp_path / "ad"
    report = deploy_tflite(AD, "cortex-m4", out, n_random=1, timeout_s=180)
    elf = out / "build" / "firmware.elf"
    prof = profile_firmware(elf, "cortex-m4")
    assert prof.inferences >= 1
    per_inference = {name: n / prof.inferences for name, n in prof.kernel_rows()}
    # the model's own instructions: everything but the harness and start-up, per inference
    model = sum(n for name, n in per_inference.items() if name not in ("(harness: log, timers)", "main", "?"))
    exact = report["totals"]["count"]
    assert abs(model - exact) / exact < 0.03, (model, exact)
    kernels = {layer["kernel"] for layer in report["layers"]}
    top = max((n, name) for name, n in per_inference.items() if not name.startswith("("))[1]
    assert top in kernels or top.startswith(("fc_", "ef_")), top
    assert per_inference.get("?", 0) < 0.01 * exact
    text = annotate(elf, RUN_FUNCTION, prof, prof.inferences)
    assert f"<{RUN_FUNCTION}>:" in text and any(line.split()[0] == "1" for line in text.splitlines()[1:])
