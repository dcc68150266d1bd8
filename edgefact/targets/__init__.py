"""Target registry: cores and boards described as TOML data (``edgefact/targets/data``).

A *core* is an emulated machine (or ``host``); a *board* is a real product mapped to a core. A board
builds and runs on its core's emulator, but its own flash/RAM budget is used for fit checks and its
clock for time estimates. See docs/targets.md for how to add one.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any

from edgefact.errors import EdgefactError

UNIT_EMULATED = "instructions (emulated)"
UNIT_DEVICE = "cycles (device)"
UNIT_HOST = "ns (host)"

#: 2**shift virtual ns per guest instruction under ``qemu -icount shift=10``.
ICOUNT_SHIFT = 10

TIMER_KINDS = ("cmsdk-dualtimer", "sse300-syscounter", "host")


@dataclass(frozen=True)
class MemoryRegion:
    """One memory bank of the emulated machine, as used by its linker script."""

    name: str
    origin: int
    length: int
    use: str  # "code" | "data" | "vectors" | "stack"


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


class TargetDataError(EdgefactError):
    """A target TOML file is malformed."""


def _data_files(sub: str) -> dict[str, str]:
    """name -> TOML text for every file in data/<sub>."""
    out: dict[str, str] = {}
    folder = resources.files("edgefact.targets") / "data" / sub
    for entry in folder.iterdir():
        if entry.name.endswith(".toml"):
            out[entry.name[: -len(".toml")]] = entry.read_text(encoding="utf-8")
    return out


def _req(d: dict[str, Any], key: str, typ: type | tuple[type, ...], where: str) -> Any:
    if key not in d:
        raise TargetDataError(f"{where}: missing key '{key}'; add `{key} = ...` to the file")
    val = d[key]
    if not isinstance(val, typ) or (typ is int and isinstance(val, bool)):
        tname = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
        raise TargetDataError(f"{where}: '{key}' must be {tname}, got {val!r}")
    return val


def _opt(d: dict[str, Any], key: str, typ: type, where: str) -> Any:
    return _req(d, key, typ, where) if key in d else None


def parse_core(text: str, where: str) -> Target:
    """Parse and validate one core TOML document."""
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TargetDataError(f"{where}: invalid TOML: {exc}") from None
    name = _req(d, "name", str, where)
    arch = _req(d, "arch", str, where)
    flags = _req(d, "cpu_flags", list, where)
    if not all(isinstance(f, str) for f in flags):
        raise TargetDataError(f"{where}: 'cpu_flags' must be a list of strings")
    desc = _req(d, "description", str, where)
    if arch == "host":
        return Target(name=name, kind="host", core=name, description=desc, arch=arch,
                      cpu_flags=tuple(flags), qemu_machine=None, clock_hz=None, flash_bytes=None,
                      ram_bytes=None, linker_script=None, timer=TimerInfo(kind="host"))
    machine = _req(d, "qemu_machine", str, where)
    ld = _req(d, "linker_script", str, where)
    uart = _req(d, "uart_base", int, where)
    t = _req(d, "timer", dict, where)
    kind = _req(t, "kind", str, f"{where} [timer]")
    if kind not in TIMER_KINDS:
        raise TargetDataError(f"{where}: timer kind '{kind}' unknown; valid: {', '.join(TIMER_KINDS)}")
    timer = TimerInfo(kind=kind, base=_req(t, "base", int, f"{where} [timer]"),
                      freq_hz=_req(t, "freq_hz", int, f"{where} [timer]"),
                      control=_opt(t, "control", int, f"{where} [timer]"))
    mems = []
    for i, m in enumerate(_req(d, "memory", list, where)):
        w = f"{where} [[memory]] #{i}"
        use = _req(m, "use", str, w)
        if use not in ("code", "data", "vectors", "stack"):
            raise TargetDataError(f"{w}: use '{use}' unknown; valid: code, data, vectors, stack")
        mems.append(MemoryRegion(_req(m, "name", str, w), _req(m, "origin", int, w),
                                 _req(m, "length", int, w), use))
    uses = {m.use for m in mems}
    for need in ("code", "data"):
        if need not in uses:
            raise TargetDataError(f"{where}: needs a [[memory]] region with use = \"{need}\"")
    code = next(m for m in mems if m.use == "code")
    data = next(m for m in mems if m.use == "data")
    return Target(name=name, kind="core", core=name, description=desc, arch=arch,
                  cpu_flags=tuple(flags), qemu_machine=machine, clock_hz=_opt(d, "clock_hz", int, where),
                  flash_bytes=code.length, ram_bytes=data.length, linker_script=ld,
                  memory=tuple(mems), timer=timer, uart_base=uart)


def parse_board(text: str, where: str, cores: dict[str, Target]) -> Target:
    """Parse and validate one board TOML document against the known cores."""
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TargetDataError(f"{where}: invalid TOML: {exc}") from None
    name = _req(d, "name", str, where)
    core_name = _req(d, "core", str, where)
    core = cores.get(core_name)
    if core is None or core.is_host:
        valid = ", ".join(sorted(n for n, c in cores.items() if not c.is_host))
        raise TargetDataError(f"{where}: core '{core_name}' unknown; valid cores: {valid}")
    clock = _req(d, "clock_hz", int, where)
    flash = _req(d, "flash_bytes", int, where)
    ram = _req(d, "ram_bytes", int, where)
    for key, val in (("clock_hz", clock), ("flash_bytes", flash), ("ram_bytes", ram)):
        if val <= 0:
            raise TargetDataError(f"{where}: '{key}' must be positive, got {val}")
    known = {"name", "core", "clock_hz", "flash_bytes", "ram_bytes", "description", "vendor"}
    extra = {k: v for k, v in d.items() if k not in known}
    return Target(name=name, kind="board", core=core.name, description=_req(d, "description", str, where),
                  arch=core.arch, cpu_flags=core.cpu_flags, qemu_machine=core.qemu_machine,
                  clock_hz=clock, flash_bytes=flash, ram_bytes=ram, linker_script=core.linker_script,
                  memory=core.memory, timer=core.timer, uart_base=core.uart_base,
                  vendor=_opt(d, "vendor", str, where), extra=extra)


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


__all__ = [
    "ICOUNT_SHIFT", "UNIT_DEVICE", "UNIT_EMULATED", "UNIT_HOST", "MemoryRegion", "Target",
    "TargetDataError", "TimerInfo", "all_targets", "get_target", "target_names",
]
