"""One real deployment shared by the report tests (footprint split, browser check).

The MLPerf Tiny keyword-spotting model deployed on cortex-m4 under QEMU, once per session and per
number of embedded inputs (``deploy_tflite`` reuses compiled objects through the firmware's object
cache, so a rerun costs the link and the emulated run, a few seconds).
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

import pytest
from shared_paths import MLPERF_DIR

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "report_deploys"
KWS = MLPERF_DIR / "kws_dscnn_int8.tflite"


def need_tools() -> None:
    if not KWS.is_file():
        pytest.skip(f"MLPerf Tiny model missing: {KWS}")
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (scripts/setup installs it)")


@functools.cache
def kws_deploy(n_random: int = 2) -> tuple[dict[str, Any], Path]:
    """(report dict, output directory) of kws_dscnn on cortex-m4 with ``n_random`` embedded inputs."""
    from edgefact.pipeline.deploy import deploy_tflite

    need_tools()
    out = CACHE / f"kws-m4-{n_random}"
    report = deploy_tflite(KWS, "cortex-m4", out, n_random=n_random, timeout_s=180)
    return report, out
