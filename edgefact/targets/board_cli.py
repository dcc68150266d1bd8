"""``edgefact flash`` and ``edgefact bench``: firmware onto real boards, and figures from any runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from edgefact.common_cli import CONTEXT, FiniteFloatRange, examples, make_output, opt, output_options
from edgefact.errors import EdgefactError
from edgefact.firmware.boards import check_image
from edgefact.firmware.build import build_info
from edgefact.report.render import fmt_int, format_table
from edgefact.targets import Target, get_target
from edgefact.targets.option_cli import runner_click_options, take_runner_values
from edgefact.targets.runners import (
    FLASH_RUNNER,
    RunResult,
    check_elf_for_runner,
    default_runner_for,
    get_runner,
    registered_runners,
    runner_class,
    runner_options,
)
from edgefact.units import CLOCKED_UNITS, UNIT_DEVICE, UNIT_EMULATED

_elf_arg = click.argument("elf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
#: runners that can write a board's flash (``edgefact flash``), and those ``edgefact bench`` offers
FLASH_RUNNERS = tuple(n for n, c in registered_runners().items() if c.capabilities.can_flash)
BENCH_RUNNERS = tuple(n for n, c in registered_runners().items() if c.capabilities.runs_on != "native")


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
        clock = hello.get("clock_hz") if unit == UNIT_DEVICE else None
        clock = clock if isinstance(clock, int) and clock > 0 else target.clock_hz
        if clock and unit in CLOCKED_UNITS:
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
    lines += result.log_lines()
    lines.append(f"wall time: {result.wall_s:.2f} s")
    return "\n".join(lines)


@click.command(name="flash", context_settings=CONTEXT)
@opt("--target", dest="target_name", required=True, help="Board name (see `edgefact targets`).")
@click.option("--runner", type=click.Choice(FLASH_RUNNERS), default=FLASH_RUNNER, show_default=True,
              help="Flash through pyOCD's Python API or through a running GDB server.")
@runner_click_options(only=FLASH_RUNNERS)
@click.option("--no-reset", is_flag=True, help="Leave the core halted after flashing.")
@_elf_arg
@examples("edgefact flash -t nucleo-l4r5zi out/run/nucleo-l4r5zi-hw-demo/firmware.elf",
          "edgefact flash -t nucleo-l4r5zi --runner gdb --gdb-server localhost:3333 firmware.elf")
def flash_cmd(target_name: str, runner: str, no_reset: bool, elf: Path, **values: Any) -> None:
    """Write a firmware ELF to a board's flash and reset the board."""
    target = get_target(target_name)
    if target.kind != "board":
        raise EdgefactError(f"'{target.name}' is an emulated core, not a board; run it with "
                            f"`edgefact bench --target {target.name} ELF` or flash a board (see `edgefact targets`)")
    # whichever runner writes it, the image goes onto the real part
    check_image(build_info(elf), elf, target, real_part=True, emulator=False)
    get_runner(runner, **runner_options(runner, take_runner_values(values))).flash(elf, target, reset=not no_reset)
    click.echo(f"flashed {elf} to {target.name} via {runner}" + ("" if no_reset else " and reset it"))


@click.command(name="bench", context_settings=CONTEXT)
@opt("--target", dest="target_name", required=True)
@opt("--runner", type=click.Choice(BENCH_RUNNERS), default=None,
     help="qemu, gdb (any GDB server; QEMU's gdbstub without --gdb-server), "
          "pyocd (a board through a probe) or serial (read a board's UART).  [default: the target's]")
@runner_click_options(only=BENCH_RUNNERS)
@click.option("--flash", "flash_first", is_flag=True,
              help="--runner serial: flash the ELF with pyOCD (and reset) after opening the port.")
@opt("--timeout", dest="timeout_s", type=FiniteFloatRange(0, min_open=True), default=120.0, show_default=True)
@output_options
@_elf_arg
@examples("edgefact bench -t cortex-m4 out/run/cortex-m4-demo/firmware.elf",
          "edgefact bench -t nucleo-l4r5zi --runner serial --port /dev/ttyACM0 --flash firmware.elf --json")
def bench_cmd(target_name: str, runner: str | None, flash_first: bool, timeout_s: float, as_json: bool, elf: Path,
              quiet: bool = False, verbose: bool = False, **values: Any) -> None:
    """Run a firmware ELF and print its figures (instructions under emulation, cycles on a board)."""
    make_output(quiet, verbose, as_json)  # refuses --quiet with --verbose
    target = get_target(target_name)
    runner = runner or default_runner_for(target)
    given = take_runner_values(values)
    options = runner_options(runner, given)
    caps = runner_class(runner).capabilities.resolve(options)
    if caps.needs_emulator and target.qemu_machine is None:
        raise EdgefactError(f"'{target.name}' has no emulator; use --runner pyocd, gdb or serial")
    check_elf_for_runner(elf, target, runner, **options)
    if flash_first and runner_class(runner).capabilities.option("start") is not None:
        flasher = get_runner(FLASH_RUNNER, **runner_options(FLASH_RUNNER, given))

        def start(image: Path, tgt: Target) -> None:  # flash + reset once the port is open
            flasher.flash(image, tgt)

        options["start"] = start
    run = get_runner(runner, **options)
    run.check_available()
    result = run.run(elf, target, timeout_s=timeout_s)
    if as_json:
        click.echo(json.dumps({"target": target.name, "runner": runner, **result.as_dict(),
                               "wall_s": round(result.wall_s, 3)}, indent=2))
    elif quiet:
        click.echo(f"{target.name} via {runner}: {fmt_int(result.total)} {result.unit} per inference")
    else:
        click.echo(format_result(result, target, runner))
    if not result.ok:
        raise EdgefactError(f"the firmware reported failure (exit status {result.exit_status}, "
                            f"end status {result.log.status}); see the log above")
