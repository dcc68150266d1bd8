"""``edgefact flash`` and ``edgefact bench``: firmware onto real boards, and figures from any runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from edgefact.errors import EdgefactError
from edgefact.report.render import fmt_int, format_table
from edgefact.targets import UNIT_EMULATED, Target, get_target
from edgefact.targets.runners.base import KNOWN_RUNNERS, RunResult, get_runner

_elf_arg = click.argument("elf", type=click.Path(exists=True, dir_okay=False, path_type=Path))


def _runner_options(runner: str, *, port: str | None, baud: int, gdb_server: str | None, server_kind: str | None,
                    probe: str | None, pyocd_target: str | None, frequency: int | None,
                    flash_first: bool = False) -> dict[str, Any]:
    if runner == "serial":
        if not port:
            raise EdgefactError("--runner serial needs --port (e.g. /dev/ttyACM0); list ports with "
                                "`python -m serial.tools.list_ports`")
        opts: dict[str, Any] = {"port": port, "baud": baud}
        if flash_first:
            from edgefact.targets.runners.pyocd import flash_with_pyocd

            def start(elf: Path, target: Target) -> None:  # flash + reset once the port is open
                flash_with_pyocd(elf, target, probe=probe, target_type=pyocd_target, frequency=frequency)

            opts["start"] = start
        return opts
    if runner == "gdb":
        return {"gdb_server": gdb_server, "server": server_kind}
    if runner == "pyocd":
        return {"probe": probe, "target_type": pyocd_target, "frequency": frequency}
    return {}


def format_result(result: RunResult, target: Target, runner: str) -> str:
    """The figures of one run, with their units (the estimate at the board clock is labelled)."""
    unit = result.unit or "?"
    lines = [f"target {target.name} ({target.core}) via {runner}: exit status {result.exit_status}"
             + ("" if result.ok else "  [FAILED]")]
    hello = result.log.hello or {}
    if hello.get("build"):
        lines.append(f"build id {hello['build']}")
    total = result.total
    if total is not None:
        text = f"total: {fmt_int(total)} {unit} per inference"
        if len(result.totals) > 1:
            text += f" (min of {len(result.totals)} runs, max {fmt_int(max(result.totals))})"
        # a real-part build states the clock it runs at (its reset clock) in the hello record
        clock = hello.get("clock_hz") if unit == "cycles (device)" else None
        clock = clock if isinstance(clock, int) and clock > 0 else target.clock_hz
        if clock and unit in (UNIT_EMULATED, "cycles (device)"):
            ms = 1e3 * total / clock
            label = "estimate: 1 instruction per cycle" if unit == UNIT_EMULATED else "measured cycles"
            text += f" = {ms:.3f} ms at {clock / 1e6:g} MHz ({label})"
        lines.append(text)
    if result.regions:
        denom = total or sum(result.regions.values()) or 1
        rows = [[name, fmt_int(count), f"{100 * count / denom:.1f}%"] for name, count in result.regions.items()]
        lines += ["", format_table(["region", unit, "share"], rows), ""]
    if result.peak_stack is not None:
        lines.append(f"peak stack: {result.peak_stack} bytes")
    for name, value in result.log.checksums.items():
        lines.append(f"checksum {name}: {value}")
    for err in result.log.errors:
        lines.append(f"log error: {err}")
    lines.append(f"wall time: {result.wall_s:.2f} s")
    return "\n".join(lines)


@click.command(name="flash")
@click.option("--target", "target_name", required=True, help="Board name (see `edgefact targets`).")
@click.option("--runner", type=click.Choice(["pyocd", "gdb"]), default="pyocd", show_default=True,
              help="Flash through pyOCD's Python API or through a running GDB server.")
@click.option("--probe", help="pyOCD probe unique id (any substring); default: the only/first probe.")
@click.option("--pyocd-target", help="pyOCD target type, overriding the board's (see `pyocd list --targets`).")
@click.option("--frequency", type=int, help="SWD clock in Hz for pyOCD.")
@click.option("--pack", type=click.Path(exists=True, path_type=Path), help="CMSIS device pack for pyOCD.")
@click.option("--gdb-server", help="HOST:PORT of the GDB server (--runner gdb).")
@click.option("--server-kind", type=click.Choice(["openocd", "pyocd", "jlink", "generic"]), default="generic",
              show_default=True, help="GDB server kind (decides the reset commands).")
@click.option("--no-reset", is_flag=True, help="Leave the core halted after flashing.")
@_elf_arg
def flash_cmd(target_name: str, runner: str, probe: str | None, pyocd_target: str | None, frequency: int | None,
              pack: Path | None, gdb_server: str | None, server_kind: str, no_reset: bool, elf: Path) -> None:
    """Write a firmware ELF to a board's flash and reset the board."""
    target = get_target(target_name)
    if target.kind != "board":
        raise EdgefactError(f"'{target.name}' is an emulated core, not a board; run it with "
                            f"`edgefact bench --target {target.name} ELF` or flash a board (see `edgefact targets`)")
    from edgefact.firmware.boards import check_elf_for_runner

    check_elf_for_runner(elf, target, "pyocd")  # an emulator image would not run on the part
    if runner == "pyocd":
        from edgefact.targets.runners.pyocd import flash_with_pyocd

        flash_with_pyocd(elf, target, probe=probe, target_type=pyocd_target, frequency=frequency,
                         pack=str(pack) if pack else None, reset=not no_reset)
    else:
        if not gdb_server:
            raise EdgefactError("--runner gdb needs --gdb-server HOST:PORT (e.g. localhost:3333)")
        from edgefact.targets.runners.gdb import flash_with_gdb

        flash_with_gdb(elf, gdb_server, server_kind, reset=not no_reset)
    click.echo(f"flashed {elf} to {target.name} via {runner}" + ("" if no_reset else " and reset it"))


@click.command(name="bench")
@click.option("--target", "target_name", required=True, help="Core or board (see `edgefact targets`).")
@click.option("--runner", type=click.Choice([r for r in KNOWN_RUNNERS if r != "host"]), default=None,
              help="qemu (default for cores), gdb (any GDB server; QEMU's gdbstub without --gdb-server), "
                   "pyocd (a board through a probe) or serial (read a board's UART).")
@click.option("--port", help="Serial port for --runner serial (e.g. /dev/ttyACM0).")
@click.option("--baud", type=int, default=115200, show_default=True, help="Baud rate for --runner serial.")
@click.option("--gdb-server", help="HOST:PORT of a running GDB server for --runner gdb.")
@click.option("--server-kind", type=click.Choice(["qemu", "openocd", "pyocd", "jlink", "generic"]), default=None,
              help="GDB server kind (default: qemu without --gdb-server, else generic).")
@click.option("--probe", help="pyOCD probe unique id.")
@click.option("--pyocd-target", help="pyOCD target type, overriding the board's.")
@click.option("--frequency", type=int, help="SWD clock in Hz for pyOCD.")
@click.option("--flash", "flash_first", is_flag=True,
              help="--runner serial: flash the ELF with pyOCD (and reset) after opening the port.")
@click.option("--timeout", "timeout_s", type=float, default=120.0, show_default=True, help="Seconds before giving up.")
@click.option("--json", "as_json", is_flag=True, help="Print the parsed figures as JSON.")
@_elf_arg
def bench_cmd(target_name: str, runner: str | None, port: str | None, baud: int, gdb_server: str | None,
              server_kind: str | None, probe: str | None, pyocd_target: str | None, frequency: int | None,
              flash_first: bool, timeout_s: float, as_json: bool, elf: Path) -> None:
    """Run a firmware ELF and print its figures (instructions under emulation, cycles on a board)."""
    target = get_target(target_name)
    if runner is None:
        runner = "qemu" if target.qemu_machine else "pyocd"
    if runner in ("qemu",) and target.qemu_machine is None:
        raise EdgefactError(f"'{target.name}' has no emulator; use --runner pyocd, gdb or serial")
    from edgefact.firmware.boards import check_elf_for_runner

    check_elf_for_runner(elf, target, runner, gdb_server=gdb_server)
    options = _runner_options(runner, port=port, baud=baud, gdb_server=gdb_server, server_kind=server_kind,
                              probe=probe, pyocd_target=pyocd_target, frequency=frequency,
                              flash_first=flash_first)
    run = get_runner(runner, **options)
    run.check_available()
    result = run.run(elf, target, timeout_s=timeout_s)
    if as_json:
        click.echo(json.dumps({"target": target.name, "runner": runner, **result.as_dict(),
                               "wall_s": round(result.wall_s, 3)}, indent=2))
    else:
        click.echo(format_result(result, target, runner))
    if not result.ok:
        raise EdgefactError(f"the firmware reported failure (exit status {result.exit_status}, "
                            f"end status {result.log.status}); see the log above")
