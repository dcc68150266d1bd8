"""Build driver: compile the firmware template plus an application for a target.

``build_firmware`` compiles every source to an object (with ``-fstack-usage``; objects are reused
across firmwares through ``edgefact.firmware.objcache``), links with the target's linker script and returns the ELF (or the native executable for ``host``). Builds are
skipped when nothing changed: the inputs (flags, sources, headers, linker script) are hashed, and
the first 12 hex digits of that hash are the *build id* the firmware prints in its hello record.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

from edgefact import procs
from edgefact.errors import EdgefactError, MissingToolError, ModelTooLargeError
from edgefact.firmware.boards import hardware_port
from edgefact.firmware.elf import memory_report
from edgefact.firmware.objcache import ObjectCache, object_cache_dir
from edgefact.fsutil import atomic_output_path, atomic_write_text
from edgefact.hashing import digest
from edgefact.targets import Target
from edgefact.units import UNIT_DEVICE

TEMPLATE_DIR = Path(__file__).resolve().parent / "template"
INCLUDE_DIR = TEMPLATE_DIR / "include"
LD_DIR = TEMPLATE_DIR / "ld"
SRC_DIR = TEMPLATE_DIR / "src"
DEMO_SOURCES = (TEMPLATE_DIR / "demo" / "ef_demo.c",)
SELFTEST_SOURCES = (TEMPLATE_DIR / "selftest" / "ef_selftest.c", TEMPLATE_DIR / "selftest" / "ef_calib_loop.S")

BASE_CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-ffunction-sections", "-fdata-sections",
               "-fstack-usage", "-g")
ARM_TOOLCHAIN_HINT = "install it: sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi"

DefineValue = str | int | None


def _tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise MissingToolError(f"{name} not found on PATH; {hint}")
    return path


def compiler_for(target: Target) -> str:
    """Path of the C compiler for ``target`` (MissingToolError with the apt command if absent)."""
    if target.is_host:
        return _tool(os.environ.get("CC", "gcc"), "install it: sudo apt-get install gcc")
    return _tool("arm-none-eabi-gcc", ARM_TOOLCHAIN_HINT)


def template_sources(target: Target) -> list[Path]:
    """The template's own C/assembly files for ``target``."""
    common = ["ef_main.c", "ef_log.c", "ef_profile.c"]
    if target.is_host:
        return [SRC_DIR / f for f in [*common, "ef_host.c"]]
    return [SRC_DIR / f for f in [*common, "ef_startup.S", "ef_cortexm.c", "ef_timer.c", "ef_fault.c",
                                  "ef_stack.c", "ef_rtt.c"]]


def linker_script(target: Target) -> Path | None:
    return None if target.is_host or target.linker_script is None else LD_DIR / target.linker_script


def target_defines(target: Target) -> dict[str, DefineValue]:
    """Defines that describe the target to the template (timer, UART, unit)."""
    d: dict[str, DefineValue] = {"EF_TARGET_NAME": f'"{target.name}"', "EF_CORE_NAME": f'"{target.core}"',
                                 "EF_UNIT": f'"{target.unit}"'}
    if target.is_host:
        d["EF_TIMER_HOST"] = 1
        return d
    assert target.timer is not None
    timer = target.timer
    if timer.kind == "cmsdk-dualtimer":
        d["EF_TIMER_CMSDK_DUALTIMER"] = 1
    elif timer.kind == "sse300-syscounter":
        d["EF_TIMER_SSE300_COUNTER"] = 1
        d["EF_TIMER_CONTROL"] = f"0x{timer.control:08x}u"
    d["EF_TIMER_BASE"] = f"0x{timer.base:08x}u"
    ratio = 1 / Fraction(timer.ticks_per_instruction())  # instructions per tick
    d["EF_TICKS_NUM"] = f"{ratio.numerator}ull"
    d["EF_TICKS_DEN"] = f"{ratio.denominator}ull"
    d["EF_UART_BASE"] = f"0x{target.uart_base:08x}u"
    d["EF_LOG_SEMIHOST"] = 1
    d["EF_LOG_UART"] = 1
    return d


def _define_flags(defines: Mapping[str, DefineValue]) -> list[str]:
    return [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in sorted(defines.items())]


def _headers(dirs: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    for d in dirs:
        if d.is_dir():
            out.extend(sorted(p for p in d.rglob("*") if p.suffix in (".h", ".inc") and p.is_file()))
    return out


def _run(cmd: list[str], what: str) -> None:
    proc = procs.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip()
        m = re.search(r"region [`'](\w+)' overflowed by (\d+) bytes", msg)
        if m:
            raise ModelTooLargeError(
                f"{what}: memory region {m.group(1)} overflowed by {m.group(2)} bytes; "
                "use a target with more memory or a smaller model (fewer weights / smaller arena)")
        lines = msg.splitlines()
        short = "\n".join(lines[:40]) + ("\n..." if len(lines) > 40 else "")
        raise EdgefactError(f"{what} failed (exit {proc.returncode}):\n{short}\ncommand: {' '.join(cmd)}")


def build_firmware(target: Target, app_sources: Sequence[str | os.PathLike[str]],
                   include_dirs: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                   defines: Mapping[str, DefineValue] | None = None, opt: str = "-O2",
                   extra_cflags: Sequence[str] | None = None, *, check_fit: bool = True,
                   hardware: bool = False) -> Path:
    """Build the template plus ``app_sources`` for ``target`` into ``out_dir``; return the ELF path.

    ``defines`` override the template's, e.g. ``{"EF_BENCH_RUNS": 3}``. Special ones:
    ``EF_STACK_SIZE`` also sets the linker's stack reservation (default 32 KiB); ``EF_TIMER_DWT=1``
    selects DWT cycle counting (unit ``cycles (device)``, for real boards; reads 0 under QEMU);
    ``EF_LOG_SEMIHOST=0`` drops semihosting (required on a board without a debugger).
    For a board the linked image is checked against the board's flash/RAM budget (ModelTooLargeError if it does not fit).
    ``hardware=True`` (boards with a ``[hardware]`` table only, see ``edgefact.firmware.boards``)
    builds for the real part instead of the board's emulated core: the part's memory map, its UART
    port, DWT cycles, log on UART + RTT, no semihosting (``defines`` still override these).
    Also writes ``build.json`` (build id, target, unit, sizes) and keeps objects and ``.su`` stack
    usage files in ``out_dir/obj``.
    """
    if not isinstance(target, Target):
        raise TypeError(f"build_firmware takes a Target (resolve names with edgefact.targets.get_target), "
                        f"got {target!r}")
    tgt = target
    cc = compiler_for(tgt)
    out = Path(out_dir).resolve()
    srcs = [*template_sources(tgt), *(Path(s).resolve() for s in app_sources)]
    for s in srcs:
        if not s.is_file():
            raise EdgefactError(f"source file {s} does not exist; check the app_sources passed to the build")
    incs = [INCLUDE_DIR, *(Path(i).resolve() for i in include_dirs)]
    ld = linker_script(tgt)
    base_defines = target_defines(tgt)
    hw_meta: dict[str, object] | None = None
    if hardware:
        port = hardware_port(tgt)
        gen = out / "board"
        gen.mkdir(parents=True, exist_ok=True)
        for name, text in (("board.ld", port.linker_script()), ("ef_board_cfg.h", port.config_header())):
            f = gen / name
            if not f.is_file() or f.read_text() != text:
                atomic_write_text(f, text)
        ld = gen / "board.ld"
        srcs.append(port.source)
        incs.append(gen)
        base_defines.pop("EF_UART_BASE", None)  # the port drives the part's own UART
        defines = {**port.defines(), **(defines or {})}
        hw_meta = {"board": port.board, "port": port.port, "cpu_clock_hz": port.cpu_clock_hz,
                   "clock": port.clock_note, "uart": port.uart_note, "baud": port.baud,
                   "memory": [{"name": m.name, "origin": m.origin, "length": m.length, "use": m.use}
                              for m in port.memory]}
    all_defines: dict[str, DefineValue] = {**base_defines, **(defines or {})}
    if (defines or {}).get("EF_TIMER_DWT") and not tgt.is_host:
        # real-board timing: DWT cycles replace the emulator's timer and its tick ratio
        for k in ("EF_TIMER_CMSDK_DUALTIMER", "EF_TIMER_SSE300_COUNTER", "EF_TICKS_NUM", "EF_TICKS_DEN"):
            all_defines.pop(k, None)
        if "EF_UNIT" not in (defines or {}):
            all_defines["EF_UNIT"] = f'"{UNIT_DEVICE}"'
    cflags = [*tgt.cpu_flags, *BASE_CFLAGS, opt, *(extra_cflags or [])]
    if tgt.is_host:
        cflags.append("-D_POSIX_C_SOURCE=200809L")

    version = procs.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    key_parts: list[str | bytes] = [cc, *version, *cflags, *_define_flags(all_defines)]
    for p in [*srcs, *_headers(incs), *([ld] if ld else [])]:
        key_parts += [str(p), p.read_bytes()]
    key = digest(key_parts)
    build_id = key[:12]
    all_defines["EF_BUILD_ID"] = f'"{build_id}"'
    elf = out / ("firmware" if tgt.is_host else "firmware.elf")
    meta_path = out / "build.json"
    if elf.is_file() and meta_path.is_file():
        try:
            if json.loads(meta_path.read_text()).get("key") == key:
                return elf
        except ValueError:
            pass

    objdir = out / "obj"
    objdir.mkdir(parents=True, exist_ok=True)
    dflags = _define_flags(all_defines)
    # EF_BUILD_ID changes with every input of the firmware: give it only to the file that prints it,
    # so that every other object is shared between firmwares through the object cache.
    common_dflags = _define_flags({k: v for k, v in all_defines.items() if k != "EF_BUILD_ID"})
    cache = ObjectCache(object_cache_dir(), [cc, *version])
    objs = []
    units = []
    for i, s in enumerate(srcs):
        obj = objdir / f"{i:02d}_{s.stem}.o"
        objs.append(obj)
        flags = [*cflags, *(dflags if s == SRC_DIR / "ef_main.c" else common_dflags)]
        units.append((s, flags, obj))
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as ex:
        list(ex.map(lambda u: cache.compile(cc, u[0], u[1], incs, u[2], _run), units))

    with atomic_output_path(elf) as tmp:
        if tgt.is_host:
            link = [cc, *cflags, *[str(o) for o in objs], "-o", str(tmp), "-lm"]
        else:
            assert ld is not None
            link = [cc, *tgt.cpu_flags, opt, "-nostartfiles", "--specs=nano.specs", f"-L{LD_DIR}", f"-T{ld}",
                    "-Wl,--gc-sections", f"-Wl,-Map={out / 'firmware.map'}", "-Wl,--no-warn-rwx-segments",
                    *[str(o) for o in objs], "-o", str(tmp), "-lc", "-lgcc"]
            if all_defines.get("EF_STACK_SIZE") is not None:
                link.insert(-5, f"-Wl,--defsym=__stack_size={int(str(all_defines['EF_STACK_SIZE']), 0)}")
        _run(link, f"linking for {tgt.name}")

    unit = str(all_defines["EF_UNIT"]).strip('"')
    meta: dict[str, object] = {"key": key, "build_id": build_id, "target": tgt.name, "unit": unit,
                               "defines": {k: v for k, v in all_defines.items()}, "cflags": cflags,
                               "hardware": hw_meta,
                               "objects": {"compiled": sorted(cache.compiled), "cached": sorted(cache.hits)}}
    if not tgt.is_host:
        rep = memory_report(elf)
        meta["flash_bytes"] = rep.flash_bytes
        meta["ram_bytes"] = rep.ram_bytes
        if check_fit:
            _check_fit(tgt, rep.flash_bytes, rep.ram_bytes, elf)
    atomic_write_text(meta_path, json.dumps(meta, indent=2, sort_keys=True))
    return elf


def _check_fit(tgt: Target, flash: int, ram: int, elf: Path) -> None:
    problems = []
    if tgt.flash_bytes is not None and flash > tgt.flash_bytes:
        problems.append(f"flash {flash} B > {tgt.flash_bytes} B")
    if tgt.ram_bytes is not None and ram > tgt.ram_bytes:
        problems.append(f"RAM {ram} B > {tgt.ram_bytes} B")
    if problems:
        elf.unlink(missing_ok=True)
        raise ModelTooLargeError(
            f"firmware does not fit {tgt.name}: {'; '.join(problems)}; pick a target with more memory "
            "(`edgefact targets`) or shrink the model (factorize/cluster, smaller input)")


def build_info(elf: str | os.PathLike[str]) -> dict[str, object] | None:
    """The build.json written next to an ELF by build_firmware, if any."""
    p = Path(elf).parent / "build.json"
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


__all__ = ["DEMO_SOURCES", "INCLUDE_DIR", "SELFTEST_SOURCES", "TEMPLATE_DIR", "build_firmware",
           "build_info", "compiler_for", "linker_script", "target_defines", "template_sources"]
