"""Where the tests find data outside the clone.

The only such data is the read-only ``shared/`` tree beside the clone (MLPerf Tiny reference
models); ``EDGEFACT_SHARED`` overrides its location (default: ``<repo>/../shared``).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("EDGEFACT_SHARED") or ROOT.parent / "shared")
MLPERF_DIR = SHARED_DIR / "models" / "mlperf-tiny"

#: the firmware tests' tools and the Debian packages that install them
ARM_TOOLS = {"arm-none-eabi-gcc": "gcc-arm-none-eabi", "qemu-system-arm": "qemu-system-arm"}


def require_arm_tools() -> None:
    """Fail (never skip) a firmware test on a machine without the cross compiler or QEMU, with the
    install command: scripts/setup installs both, so their absence is a broken set-up."""
    import shutil

    import pytest

    for tool, package in ARM_TOOLS.items():
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: sudo apt-get install {' '.join(ARM_TOOLS.values())} "
                        f"(package {package}; scripts/setup installs it)")
