"""QEMU runner: run a firmware ELF on the target's emulated machine with exact instruction counts.

The firmware writes every log record to the CMSDK UART (read here from QEMU's stdout) and to
semihosting (QEMU's stderr); ``channel`` picks which one is parsed. The exit status comes from
semihosting SYS_EXIT_EXTENDED. :func:`qemu_command` is the one QEMU command builder: the gdb
runner starts the same machine through it (halted, with its gdbstub), so both count alike.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from edgefact.errors import EdgefactError, MissingToolError
from edgefact.firmware.elf import symbolize
from edgefact.report.logproto import Record
from edgefact.targets import Target
from edgefact.targets.runners.base import (
    FirmwareFaultError,
    Runner,
    RunResult,
    RunTimeoutError,
    check_timeout,
    register_runner,
    result_from_log,
    run_streaming,
)
from edgefact.targets.runners.capabilities import RunnerCapabilities, RunnerOption
from edgefact.units import ICOUNT_SHIFT, UNIT_EMULATED

QEMU = "qemu-system-arm"
QEMU_HINT = "install it: sudo apt-get install qemu-system-arm"


def qemu_binary() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise MissingToolError(f"{QEMU} not found on PATH; {QEMU_HINT}")
    return path


SEMIHOSTING_TARGETS = ("native", "gdb")


def qemu_command(target: Target, artifact: str | Path | None, *, icount: bool = True, gdb_port: int | None = None,
                 gdb_host: str = "", wait_for_gdb: bool = False, serial: str = "stdio",
                 semihosting: bool | str = True, extra: Sequence[str] = ()) -> list[str]:
    """The qemu-system-arm command line that runs ``artifact`` on ``target``'s machine.

    ``serial`` is QEMU's -serial argument (``stdio``, ``null``, ``file:PATH``, ``tcp::PORT,server``...).
    ``semihosting``: True/"native" (output on QEMU's stderr), "gdb" (forwarded to an attached
    debugger as GDB File-I/O) or False. ``gdb_port``/``gdb_host``/``wait_for_gdb`` add
    ``-gdb tcp:HOST:PORT`` and ``-S`` for a debugger-driven run; ``artifact`` None leaves the
    loading to the debugger.
    """
    if target.qemu_machine is None:
        raise EdgefactError(f"target '{target.name}' has no emulator; use the host runner for it")
    cmd = [qemu_binary(), "-M", target.qemu_machine, "-display", "none", "-monitor", "none",
           "-nodefaults", "-serial", serial]
    if artifact is not None:
        cmd += ["-kernel", str(artifact)]
    if icount:
        # shift=10: one instruction = 1024 virtual ns; the timers then count instructions exactly
        cmd += ["-icount", f"shift={ICOUNT_SHIFT}"]
    if semihosting:
        mode = "native" if semihosting is True else str(semihosting)
        if mode not in SEMIHOSTING_TARGETS:
            raise EdgefactError(f"semihosting target '{mode}' unknown; valid: {', '.join(SEMIHOSTING_TARGETS)}")
        cmd += ["-semihosting-config", f"enable=on,target={mode}"]
    if gdb_port is not None:
        cmd += ["-gdb", f"tcp:{gdb_host}:{gdb_port}"]
    if wait_for_gdb:
        cmd.append("-S")
    return [*cmd, *extra]


@register_runner("qemu")
class QemuRunner(Runner):
    """Runs the ELF on the target's emulated machine (``-kernel``), counting instructions exactly."""

    capabilities = RunnerCapabilities(
        runs_on="emulator", exact_counts=True, can_flash=False, log_transports=("uart", "semihosting"),
        unit=UNIT_EMULATED, options=(
            RunnerOption("channel", str, "uart", "which log copy to parse: the UART (QEMU's stdout) or "
                         "semihosting (its stderr)", choices=("uart", "semihosting"), public=False),
            RunnerOption("icount", bool, True, "exact instruction counting (-icount shift=10)", public=False),
        ))

    def __init__(self, channel: str = "uart", icount: bool = True, **options: Any) -> None:
        super().__init__(channel=channel, icount=icount, **options)

    def check_available(self) -> None:
        qemu_binary()

    def run(self, artifact: Path, target: Target, timeout_s: float = 60.0,
            on_record: Callable[[Record], None] | None = None) -> RunResult:
        check_timeout(timeout_s)
        artifact = Path(artifact)
        if not artifact.is_file():
            raise EdgefactError(f"firmware {artifact} does not exist; build it first")
        channel = self.options.get("channel", "uart")
        if channel not in ("uart", "semihosting"):
            raise EdgefactError(f"qemu runner: channel '{channel}' unknown; valid: uart, semihosting")
        cmd = qemu_command(target, artifact, icount=self.options.get("icount", True))
        # a firmware built without semihosting exit (EF_LOG_SEMIHOST=0, board images) parks after
        # its end record: stop it then, with the status from the log
        proc = run_streaming(cmd, timeout_s, on_record=on_record,
                             stream="stdout" if channel == "uart" else "stderr",
                             done=lambda log: log.status is not None, grace_s=1.0)
        if proc.timed_out:
            raise RunTimeoutError(f"{target.name}: QEMU ({target.qemu_machine}) did not exit within "
                                  f"{timeout_s:g} s (firmware hang?)", proc.log.tail(15), proc.log)
        if proc.returncode is None:  # stopped after the end record
            proc.returncode = proc.log.status if proc.log.status is not None else -1
        if proc.returncode != 0 and not proc.log.records:
            # QEMU itself failed (bad ELF, bad machine): its own message is on the other stream
            other = proc.stderr if channel == "uart" else proc.raw
            raise EdgefactError(f"QEMU failed (exit {proc.returncode}) running {artifact}:\n{other.strip()[:2000]}")
        try:
            return result_from_log(proc.log, proc.returncode, proc.raw, command=cmd, wall_s=proc.wall_s)
        except FirmwareFaultError as exc:
            pc = exc.registers.get("pc")
            if isinstance(pc, int) and "function" not in exc.registers:
                func = symbolize(artifact, pc)
                if func:
                    raise FirmwareFaultError({**exc.registers, "function": func}, exc.log,
                                             exc.exit_status) from None
            raise


def run_qemu(artifact: Path, target: Target, timeout_s: float = 60.0, **options: Any) -> RunResult:
    return QemuRunner(**options).run(artifact, target, timeout_s)


__all__ = ["SEMIHOSTING_TARGETS", "QemuRunner", "qemu_binary", "qemu_command", "run_qemu"]
