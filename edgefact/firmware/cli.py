"""`edgefact run` (build the template with an app and run it) and `edgefact memory ELF`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from edgefact.common_cli import CONTEXT, FiniteFloatRange, examples, make_output, opt, output_options
from edgefact.errors import EdgefactError
from edgefact.firmware.build import DEMO_SOURCES, SELFTEST_SOURCES, build_firmware
from edgefact.firmware.elf import memory_report
from edgefact.fsutil import atomic_write_text
from edgefact.report.logproto import parse_log
from edgefact.targets import Target, get_target
from edgefact.targets.option_cli import runner_click_options, take_runner_values
from edgefact.targets.runners import (
    RunResult,
    check_elf_for_runner,
    default_runner_for,
    get_runner,
    runner_options,
)
from edgefact.units import UNIT_EMULATED, format_bytes

APPS = {"demo": DEMO_SOURCES, "selftest": SELFTEST_SOURCES}


def _parse_define(text: str) -> tuple[str, str | None]:
    key, sep, val = text.partition("=")
    if not key.isidentifier():
        raise EdgefactError(f"--define '{text}': expected NAME or NAME=VALUE")
    return key, (val if sep else None)


def format_result(res: RunResult, tgt: Target) -> str:
    """Human-readable figures of a run, every number with its unit."""
    unit = res.unit or "?"
    lines = []
    hello = res.log.hello or {}
    lines.append(f"target {tgt.name} (core {tgt.core}, {tgt.qemu_machine or 'native'}), build {hello.get('build')}")
    lines.append(f"unit: {unit}")
    regs = res.log.region_records
    if regs:
        width = max(len(r["name"]) for r in regs)
        total = res.total or 0
        for r in regs:
            share = f"{100 * r['count'] / total:5.1f}%" if total else ""
            lines.append(f"  {r['name']:<{width}}  {r['count']:>12}  {share}  calls={r['calls']}")
    if res.totals:
        lines.append(f"total per run: {', '.join(str(t) for t in res.totals)} {unit}")
        est = tgt.estimate_ms(res.total or 0) if unit == UNIT_EMULATED else None
        if est is not None:
            lines.append(f"estimate at {tgt.clock_hz / 1e6:g} MHz (1 instruction/cycle): {est:.3f} ms")
    if res.peak_stack is not None:
        size = next((r.get("size") for r in res.log.of_type("stack")), None)
        lines.append(f"peak stack: {res.peak_stack} B (measured, painted stack of {size} B)")
        if size and res.peak_stack >= size:
            lines.append("WARNING: the whole stack was used (overflow likely); rebuild with a larger "
                         "-D EF_STACK_SIZE=...")
    elif tgt.is_host:
        lines.append("peak stack: not measured on the host")
    lines += res.log_lines(metrics=True)
    lines.append(f"status: {res.log.status} (exit {res.exit_status})")
    return "\n".join(lines)


@click.command(name="run", context_settings=CONTEXT)
@opt("--target", dest="target_name", required=True)
@click.option("--app", type=click.Choice(sorted(APPS)), default="demo", show_default=True,
              help="Built-in application (ignored when --source is given).")
@click.option("--source", "sources", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Application C/asm source (repeatable) providing ef_app_setup/run/report.")
@click.option("--include", "includes", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Extra include directory (repeatable).")
@click.option("--define", "-D", "define_list", multiple=True, help="NAME[=VALUE] preprocessor define.")
@click.option("--runs", type=click.IntRange(1), default=1, show_default=True, help="Timed runs.")
@click.option("--warmup", type=click.IntRange(0), default=1, show_default=True, help="Warm-up runs.")
@opt("--opt", default="-O2", show_default=True)
@opt("--runner", dest="runner_name", default=None)
@runner_click_options()
@opt("--timeout", type=FiniteFloatRange(0, min_open=True), default=60.0, show_default=True)
@opt("--out", dest="out_dir", type=click.Path(file_okay=False), default=None,
     help="Build directory.  [default: out/run/<target>-<app>]")
@output_options
@click.option("--hardware", is_flag=True,
              help="Build for the board's real part (its memory map and UART, DWT cycles, RTT + UART log); "
                   "run it with --runner pyocd (default) / gdb / serial, or only build with --no-run.")
@click.option("--no-run", is_flag=True, help="Only build; print the ELF path.")
@examples("edgefact run -t cortex-m4", "edgefact run -t cortex-m55 --app selftest --json",
          "edgefact run -t nucleo-l4r5zi --hardware --no-run")
def run_cmd(target_name: str, app: str, sources: tuple[str, ...], includes: tuple[str, ...],
            define_list: tuple[str, ...], runs: int, warmup: int, opt: str, runner_name: str | None,
            timeout: float, out_dir: str | None, as_json: bool, hardware: bool = False,
            no_run: bool = False, quiet: bool = False, verbose: bool = False, **values: Any) -> None:
    """Build the firmware template with an application for TARGET, run it and print its figures."""
    make_output(quiet, verbose, as_json)  # refuses --quiet with --verbose
    tgt = get_target(target_name)
    if tgt.is_host and app == "selftest" and not sources:
        raise EdgefactError("the selftest app uses Arm assembly; run it on a Cortex-M target, or use --app demo")
    srcs = [Path(s) for s in sources] or list(APPS[app])
    defines: dict[str, str | int | None] = {"EF_BENCH_RUNS": runs, "EF_BENCH_WARMUP": warmup}
    defines.update(dict(_parse_define(d) for d in define_list))
    hw = "-hw" if hardware else ""
    out = Path(out_dir) if out_dir else Path("out") / "run" / f"{tgt.name}{hw}-{'custom' if sources else app}"
    elf = build_firmware(tgt, srcs, list(includes), out, defines=defines, opt=opt, hardware=hardware)
    if no_run:
        click.echo(str(elf))
        if hardware:
            click.echo(f"flash and run it: edgefact bench --target {tgt.name} --runner pyocd {elf}")
        return
    kind = runner_name or default_runner_for(tgt, real_part=hardware)
    options = runner_options(kind, take_runner_values(values))
    if hardware:
        check_elf_for_runner(elf, tgt, kind, **options)  # e.g. a real-part image on QEMU
    runner = get_runner(kind, **options)
    res = runner.run(elf, tgt, timeout_s=timeout)
    atomic_write_text(elf.parent / "run.log", res.raw_output)
    if as_json:
        d = res.as_dict() | {"target": tgt.as_dict(), "artifact": str(elf)}
        if res.total is not None and res.unit == UNIT_EMULATED and tgt.clock_hz:
            # instructions at the board clock, 1 instruction per cycle: an estimate, not a measurement
            d["estimate_ms"] = tgt.estimate_ms(res.total)
        if not tgt.is_host:
            d["memory"] = memory_report(elf, res.peak_stack).as_dict()
        click.echo(json.dumps(d, indent=2))
    elif quiet:
        click.echo(f"{tgt.name}: {res.total} {res.unit} per run, status {res.log.status}")
    else:
        click.echo(format_result(res, tgt))
        if not tgt.is_host:
            rep = memory_report(elf, res.peak_stack)
            click.echo(f"flash: {format_bytes(rep.flash_bytes)} of {format_bytes(tgt.flash_bytes)}, static RAM: "
                       f"{format_bytes(rep.ram_bytes)} of {format_bytes(tgt.ram_bytes)} ({elf})")
    if not res.ok:
        raise EdgefactError(f"firmware finished with status {res.log.status} (exit {res.exit_status}); "
                            "see the log messages above")


@click.command(name="memory", context_settings=CONTEXT)
@click.argument("elf", type=click.Path(dir_okay=False))
@click.option("--peak-stack", type=int, default=None, help="Measured peak stack in bytes.")
@click.option("--log", "log_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A run log (e.g. run.log written by `edgefact run`) to take the measured peak stack from.")
@click.option("--symbols", "n_symbols", type=int, default=10, show_default=True, help="Largest symbols to list.")
@opt("--json", dest="as_json", is_flag=True, help="Print JSON.")
@examples("edgefact memory build/deploy-cortex-m4/build/firmware.elf",
          "edgefact memory firmware.elf --log run.log --symbols 20")
def memory_cmd(elf: str, peak_stack: int | None, log_path: str | None, n_symbols: int, as_json: bool) -> None:
    """Flash and static RAM of a firmware ELF (same totals as arm-none-eabi-size)."""
    if log_path is not None and peak_stack is None:
        log = parse_log(Path(log_path).read_bytes())
        peak_stack = log.peak_stack
        if peak_stack is None:
            raise EdgefactError(f"{log_path} has no stack record (run not finished, or a host run); "
                                "pass --peak-stack or a complete run log")
    rep = memory_report(elf, peak_stack)
    if as_json:
        click.echo(json.dumps(rep.as_dict(n_symbols), indent=2))
    else:
        click.echo(rep.format(n_symbols))
