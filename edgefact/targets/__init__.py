"""Target registry: cores and boards described as TOML data (``edgefact/targets/data``).

A *core* is an emulated machine (or ``host``); a *board* is a real product mapped to a core. A board
builds and runs on its core's emulator, but its own flash/RAM budget is used for fit checks and its
clock for time estimates. See docs/targets.md for how to add one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any

from edgefact.errors import EdgefactError
from edgefact.targets.validate import MemoryRegion, Table, TargetDataError, load_toml
from edgefact.units import ICOUNT_SHIFT, UNIT_EMULATED, UNIT_HOST

TIMER_KINDS = ("cmsdk-dualtimer", "sse300-syscounter", "host")


@dataclass(frozen=True)
class TimerInfo:
    """The free-running timer the harness reads; under icount its ticks map exactly to instructions."""

    kind: str
    base: int = 0
    freq_hz: int = 0
    control: int | None = None

    def ticks_per_instruction(self) -> Fraction:
        """Timer ticks per guest instruction with ``-icount shift=10`` (exact rational)."""
        return Fraction(self.freq_hz * 2**ICOUNT_SHIFT, 10**9)


@dataclass(frozen=True)
class Target:
    """A build/run target. ``name`` is what the user typed (a core or a board)."""

    name: str
    kind: str  # "core" | "board" | "host"
    core: str
    description: str
    arch: str
    cpu_flags: tuple[str, ...]
    qemu_machine: str | None
    clock_hz: int | None
    flash_bytes: int | None
    ram_bytes: int | None
    linker_script: str | None
    memory: tuple[MemoryRegion, ...] = ()
    timer: TimerInfo | None = None
    uart_base: int | None = None
    vendor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_host(self) -> bool:
        return self.kind == "host"

    @property
    def unit(self) -> str:
        """Unit of the counts this target reports when run on its emulator (or natively)."""
        return UNIT_HOST if self.is_host else UNIT_EMULATED

    def region(self, use: str) -> MemoryRegion | None:
        return next((m for m in self.memory if m.use == use), None)

    def estimate_ms(self, count: int) -> float | None:
        """Estimated time at the board clock, assuming 1 instruction per cycle (an *estimate*)."""
        if self.clock_hz is None or self.is_host:
            return None
        return count / self.clock_hz * 1e3

    def as_dict(self) -> dict[str, Any]:
        """The ``target`` object of report.json."""
        return {
            "name": self.name,
            "kind": self.kind,
            "core": self.core,
            "qemu_machine": self.qemu_machine,
            "clock_hz": self.clock_hz,
            "flash_bytes": self.flash_bytes,
            "ram_bytes": self.ram_bytes,
        }


def _data_files(sub: str) -> dict[str, str]:
    """name -> TOML text for every file in data/<sub>."""
    out: dict[str, str] = {}
    folder = resources.files("edgefact.targets") / "data" / sub
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            out[entry.name[: -len(".toml")]] = entry.read_text(encoding="utf-8")
    return out


def parse_core(text: str, where: str) -> Target:
    """Parse and validate one core TOML document."""
    d = Table(load_toml(text, where), where)
    name = d.req("name", str)
    arch = d.req("arch", str)
    flags = d.strings("cpu_flags")
    desc = d.req("description", str)
    if arch == "host":
        return Target(name=name, kind="host", core=name, description=desc, arch=arch,
                      cpu_flags=flags, qemu_machine=None, clock_hz=None, flash_bytes=None,
                      ram_bytes=None, linker_script=None, timer=TimerInfo(kind="host"))
    machine = d.req("qemu_machine", str)
    ld = d.req("linker_script", str)
    uart = d.req("uart_base", int)
    t = d.sub("timer")
    kind = t.req("kind", str)
    if kind not in TIMER_KINDS:
        raise d.fail(f"timer kind '{kind}' unknown; valid: {', '.join(TIMER_KINDS)}")
    timer = TimerInfo(kind=kind, base=t.req("base", int), freq_hz=t.req("freq_hz", int),
                      control=t.opt("control", int))
    mems = d.regions("memory", "memory")
    code = next(m for m in mems if m.use == "code")
    data = next(m for m in mems if m.use == "data")
    return Target(name=name, kind="core", core=name, description=desc, arch=arch,
                  cpu_flags=flags, qemu_machine=machine, clock_hz=d.opt("clock_hz", int),
                  flash_bytes=code.length, ram_bytes=data.length, linker_script=ld,
                  memory=mems, timer=timer, uart_base=uart)


#: keys of a board file that become Target fields; any other key is kept in ``Target.extra``
BOARD_KEYS = ("name", "core", "clock_hz", "flash_bytes", "ram_bytes", "description", "vendor")
#: optional board keys for the board runners, checked here (pyOCD's target type, and whether that
#: device needs a CMSIS pack installed); the ``[hardware]`` table is checked by firmware.boards
RUNNER_BOARD_KEYS: dict[str, type] = {"pyocd_target": str, "pyocd_needs_pack": bool}


def parse_board(text: str, where: str, cores: dict[str, Target]) -> Target:
    """Parse and validate one board TOML document against the known cores."""
    d = Table(load_toml(text, where), where)
    name = d.req("name", str)
    core_name = d.req("core", str)
    core = cores.get(core_name)
    if core is None or core.is_host:
        valid = ", ".join(sorted(n for n, c in cores.items() if not c.is_host))
        raise d.fail(f"core '{core_name}' unknown; valid cores: {valid}")
    clock, flash, ram = d.positive("clock_hz"), d.positive("flash_bytes"), d.positive("ram_bytes")
    for key, typ in RUNNER_BOARD_KEYS.items():  # kept in extra, read by the board runners
        d.opt(key, typ)
    extra = {k: v for k, v in d.data.items() if k not in BOARD_KEYS}
    return Target(name=name, kind="board", core=core.name, description=d.req("description", str),
                  arch=core.arch, cpu_flags=core.cpu_flags, qemu_machine=core.qemu_machine,
                  clock_hz=clock, flash_bytes=flash, ram_bytes=ram, linker_script=core.linker_script,
                  memory=core.memory, timer=core.timer, uart_base=core.uart_base,
                  vendor=d.opt("vendor", str), extra=extra)


def _natural(name: str) -> tuple[object, ...]:
    """Sort key: cores by number (m4 < m7 < m33 < m55), host last."""
    return (name == "host", *[int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)])


@cache
def all_targets() -> dict[str, Target]:
    """Every core and board, by name (cores first, then boards, each sorted)."""
    cores: dict[str, Target] = {}
    for stem, text in sorted(_data_files("cores").items(), key=lambda kv: _natural(kv[0])):
        t = parse_core(text, f"targets/data/cores/{stem}.toml")
        if t.name != stem:
            raise TargetDataError(f"targets/data/cores/{stem}.toml: name '{t.name}' must equal the file name")
        cores[t.name] = t
    boards: dict[str, Target] = {}
    for stem, text in sorted(_data_files("boards").items()):
        b = parse_board(text, f"targets/data/boards/{stem}.toml", cores)
        if b.name != stem:
            raise TargetDataError(f"targets/data/boards/{stem}.toml: name '{b.name}' must equal the file name")
        if b.name in cores:
            raise TargetDataError(f"board '{b.name}' has the name of a core; rename the board")
        boards[b.name] = b
    return {**cores, **boards}


def target_names() -> list[str]:
    return list(all_targets())


def get_target(name: str | Target) -> Target:
    """Look up a core or board by name; unknown names raise an error listing the valid ones."""
    if isinstance(name, Target):
        return name
    targets = all_targets()
    t = targets.get(name.strip().lower()) if isinstance(name, str) else None
    if t is None:
        cores = [n for n, x in targets.items() if x.kind != "board"]
        boards = [n for n, x in targets.items() if x.kind == "board"]
        raise EdgefactError(
            f"unknown target '{name}'; valid cores: {', '.join(cores)}; valid boards: {', '.join(boards)}"
        )
    return t


__all__ = ["MemoryRegion", "Target", "TargetDataError", "TimerInfo", "all_targets", "get_target", "parse_board",
           "parse_core", "target_names"]
