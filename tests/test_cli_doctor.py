"""`edgefact doctor`: reports what is present and the exact command for what is missing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from click.testing import CliRunner

from edgefact.cli import cli
from edgefact.doctor import check_python, format_checks, read_pins


def test_doctor_passes_on_a_set_up_machine() -> None:
    res = CliRunner().invoke(cli, ["doctor"])
    assert res.exit_code == 0, res.output
    for s in ("arm-none-eabi-gcc", "qemu-system-arm", "QEMU machines", "Fashion-MNIST", "packages"):
        assert s in res.output
    assert "all required items present" in res.output


def test_doctor_names_apt_packages_for_missing_tools(tmp_path: Path) -> None:
    # a PATH without the toolchain or QEMU (python stays reachable for the venv)
    os.symlink(sys.executable, tmp_path / "python3")
    res = CliRunner(env={"PATH": str(tmp_path)}).invoke(cli, ["doctor"])
    assert res.exit_code == 1
    assert "[MISS] toolchain arm-none-eabi-gcc" in res.output
    line = next(x for x in res.output.splitlines() if x.strip().startswith("sudo apt-get install"))
    for pkg in ("gcc-arm-none-eabi", "qemu-system-arm", "binutils-arm-none-eabi"):
        assert pkg in line.split()


def test_python_pins_mismatch_gives_pip_command(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("# comment\nclick==0.0.1\nnot-a-real-package-xyz==1.2.3\n")
    pins = read_pins(lock)
    assert pins == {"click": "0.0.1", "not-a-real-package-xyz": "1.2.3"}
    checks = check_python(pins)
    assert [c.name for c in checks if not c.ok] == ["click", "not-a-real-package-xyz"]
    text = format_checks(checks)
    assert f"{sys.executable} -m pip install click==0.0.1 not-a-real-package-xyz==1.2.3" in text
