"""The runner interface: a built artifact in; streamed log, parsed figures and exit status out.

Every runner (``qemu``, ``host``; ``gdb``, ``pyocd``, ``serial`` for real boards) subclasses
:class:`Runner`, declares its :class:`RunnerCapabilities`, registers itself with
:func:`register_runner` and turns its byte stream into a :class:`RunResult` with
:func:`result_from_log`, so fault/timeout handling is the same everywhere.
"""

from __future__ import annotations

import math
import os
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from edgefact import procs
from edgefact.errors import EdgefactError
from edgefact.report.logproto import LogFeeder, ParsedLog, Record
from edgefact.targets import Target
from edgefact.targets.runners.capabilities import RunnerCapabilities

#: firmware exit statuses (see docs/log-protocol.md)
EXIT_OK = 0
EXIT_APP_ERROR = 1
EXIT_SETUP_ERROR = 2
EXIT_FAULT = 3

FAULT_REGISTERS = ("cfsr", "hfsr", "mmfar", "bfar", "pc", "lr", "xpsr", "sfsr", "exc_return")


class RunTimeoutError(EdgefactError):
    """The firmware did not finish in time (hang, endless loop, no exit). Carries the log tail."""

    def __init__(self, message: str, tail: Sequence[str] = (), log: ParsedLog | None = None) -> None:
        self.tail = list(tail)
        self.log = log
        text = message
        if self.tail:
            text += "\nlast log lines:\n  " + "\n  ".join(self.tail)
        else:
            text += "\n(no output at all: check the target's UART/semihosting set-up)"
        super().__init__(text)


class FirmwareFaultError(EdgefactError):
    """The firmware took a fault; ``registers`` holds CFSR, HFSR, MMFAR, BFAR, stacked PC/LR..."""

    def __init__(self, registers: dict[str, Any], log: ParsedLog | None = None,
                 exit_status: int | None = None) -> None:
        self.registers = dict(registers)
        self.log = log
        self.exit_status = exit_status
        regs = " ".join(f"{k.upper()}={_hex(v)}" for k, v in self.registers.items()
                        if k not in ("t", "exception", "function"))
        exc = self.registers.get("exception")
        where = f" in {self.registers['function']}()" if self.registers.get("function") else ""
        causes = decode_fault(self.registers)
        super().__init__(f"firmware fault ({_EXC_NAMES.get(exc, f'exception {exc}')}{where}"
                         f"{': ' + ', '.join(causes) if causes else ''}): {regs}\n"
                         "look up the stacked PC with `arm-none-eabi-addr2line -e <elf> <PC>`")


_EXC_NAMES = {2: "NMI", 3: "HardFault", 4: "MemManage", 5: "BusFault", 6: "UsageFault", 7: "SecureFault"}
_CFSR_BITS = {0: "IACCVIOL", 1: "DACCVIOL", 3: "MUNSTKERR", 4: "MSTKERR", 5: "MLSPERR", 7: "MMARVALID",
              8: "IBUSERR", 9: "PRECISERR", 10: "IMPRECISERR", 11: "UNSTKERR", 12: "STKERR", 13: "LSPERR",
              15: "BFARVALID", 16: "UNDEFINSTR", 17: "INVSTATE", 18: "INVPC", 19: "NOCP", 20: "STKOF",
              24: "UNALIGNED", 25: "DIVBYZERO"}
_HFSR_BITS = {1: "VECTTBL", 30: "FORCED", 31: "DEBUGEVT"}


def decode_fault(regs: dict[str, Any]) -> list[str]:
    """Names of the set CFSR/HFSR bits (e.g. PRECISERR, BFARVALID, FORCED)."""
    out = []
    for key, bits in (("cfsr", _CFSR_BITS), ("hfsr", _HFSR_BITS)):
        v = regs.get(key)
        if isinstance(v, int):
            out += [name for bit, name in sorted(bits.items()) if v >> bit & 1]
    return out


def _hex(v: Any) -> str:
    return f"0x{v:08x}" if isinstance(v, int) else str(v)


@dataclass
class RunResult:
    """What a runner hands back. ``regions``/``totals`` are in ``unit``."""

    exit_status: int
    log: ParsedLog
    raw_output: str
    unit: str | None
    regions: dict[str, int] = field(default_factory=dict)
    totals: list[int] = field(default_factory=list)
    peak_stack: int | None = None
    command: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and self.log.status == 0

    @property
    def total(self) -> int | None:
        """The minimum over the timed runs (identical runs under emulation)."""
        return min(self.totals) if self.totals else None

    def log_lines(self, metrics: bool = False) -> list[str]:
        """The checksums (then the metrics, if asked) and the log errors of the run, one per line."""
        lines = [f"checksum {name}: {value}" for name, value in self.log.checksums.items()]
        if metrics:
            lines += [f"metric {m.get('name')}: {m.get('value')}" for m in self.log.of_type("metric")]
        return lines + [f"log error: {e}" for e in self.log.errors]

    def as_dict(self) -> dict[str, Any]:
        return {"exit_status": self.exit_status, "unit": self.unit, "regions": self.regions,
                "totals": self.totals, "peak_stack": self.peak_stack,
                "status": self.log.status, "hello": self.log.hello,
                "checksums": self.log.checksums, "log_errors": [str(e) for e in self.log.errors]}


def result_from_log(log: ParsedLog, exit_status: int, raw_output: str, *, command: Sequence[str] = (),
                    wall_s: float = 0.0) -> RunResult:
    """Build a RunResult; a fault record (or the fault exit status) raises FirmwareFaultError."""
    if log.fault is not None:
        raise FirmwareFaultError({k: v for k, v in log.fault.items() if k != "t"}, log, exit_status)
    if exit_status == EXIT_FAULT and log.status is None:
        raise FirmwareFaultError({"exit_status": exit_status}, log, exit_status)
    return RunResult(exit_status=exit_status, log=log, raw_output=raw_output, unit=log.unit,
                     regions=log.regions, totals=log.totals, peak_stack=log.peak_stack,
                     command=list(command), wall_s=wall_s)


class Runner(ABC):
    """Runs an artifact built for ``target`` and returns its figures."""

    name: str = ""
    capabilities: ClassVar[RunnerCapabilities]

    def __init__(self, **options: Any) -> None:
        self.options = options

    @property
    def caps(self) -> RunnerCapabilities:
        """The capabilities of this instance (its options may attach it to a board)."""
        return self.capabilities.resolve(self.options)

    @abstractmethod
    def run(self, artifact: Path, target: Target, timeout_s: float = 60.0,
            on_record: Callable[[Record], None] | None = None) -> RunResult:
        """Run ``artifact``; stream records to ``on_record``; raise RunTimeoutError/FirmwareFaultError."""

    def check_available(self) -> None:  # noqa: B027 - optional hook
        """Raise MissingToolError if an external tool is missing (default: nothing needed)."""

    def flash(self, artifact: Path, target: Target, reset: bool = True) -> None:
        """Write ``artifact`` to the board's flash (runners whose capabilities say ``can_flash``)."""
        raise EdgefactError(f"the {self.name} runner cannot flash a board")


_REGISTRY: dict[str, type[Runner]] = {}


def register_runner(name: str) -> Callable[[type[Runner]], type[Runner]]:
    """Class decorator: make a Runner available to :func:`get_runner` under ``name``."""

    def deco(cls: type[Runner]) -> type[Runner]:
        if not isinstance(getattr(cls, "capabilities", None), RunnerCapabilities):
            raise TypeError(f"runner {cls.__name__} must declare `capabilities = RunnerCapabilities(...)`")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def registered_runners() -> dict[str, type[Runner]]:
    """Every registered runner class by name (the built-in ones register when the package loads)."""
    return dict(_REGISTRY)


def runner_class(kind: str) -> type[Runner]:
    cls = _REGISTRY.get(kind)
    if cls is None:
        raise EdgefactError(f"unknown runner '{kind}'; valid runners: {', '.join(sorted(_REGISTRY))}")
    return cls


def runner_capabilities(kind: str, options: dict[str, Any] | None = None) -> RunnerCapabilities:
    """The capabilities of a run of ``kind`` with ``options`` (without instantiating the runner)."""
    return runner_class(kind).capabilities.resolve(options or {})


def get_runner(kind: str, **options: Any) -> Runner:
    """Instantiate the runner ``kind`` (qemu, host, gdb, pyocd, serial) with its options."""
    return runner_class(kind)(**options)


def default_runner_for(target: Target, *, real_part: bool = False) -> str:
    """The runner of ``target`` when none is named: native for the host, the probe runner (pyOCD)
    for a real-part image, else the target's emulator."""
    if target.is_host:
        return "host"
    return FLASH_RUNNER if real_part else "qemu"


#: the runner that programs a board when a command only needs the image written (``bench --flash``)
FLASH_RUNNER = "pyocd"


@dataclass
class StreamedProcess:
    """Outcome of :func:`run_streaming`."""

    returncode: int | None  # None on timeout
    log: ParsedLog
    raw: str
    stderr: str
    timed_out: bool
    wall_s: float


def check_timeout(timeout_s: float) -> None:
    """Refuse a timeout that could never fire: NaN compares false with every deadline, so a hung
    firmware would block the caller forever (the CLI refuses it earlier; this guards API callers)."""
    if not (isinstance(timeout_s, int | float) and timeout_s > 0 and math.isfinite(timeout_s)):
        raise EdgefactError(f"--timeout must be a finite number of seconds > 0, got {timeout_s!r}")


def run_streaming(cmd: Sequence[str], timeout_s: float, *, on_record: Callable[[Record], None] | None = None,
                  cwd: str | os.PathLike[str] | None = None, stream: str = "stdout",
                  done: Callable[[ParsedLog], bool] | None = None, grace_s: float = 0.0) -> StreamedProcess:
    """Run ``cmd``, feeding its ``stream`` ("stdout"/"stderr") through a LogFeeder as it arrives.

    On timeout the whole process group is killed. ``done(log)`` may end the run early (e.g. once
    an ``end`` record arrived from a firmware that cannot exit): the process then gets ``grace_s``
    seconds to exit by itself before it is killed (``returncode`` None, ``timed_out`` False).
    """
    check_timeout(timeout_s)
    t0 = time.monotonic()
    proc = procs.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    with procs.managed(proc):  # an interrupt or error while waiting kills the group too
        return _stream(proc, t0, timeout_s, on_record, stream, done, grace_s)


def _stream(proc: subprocess.Popen[bytes], t0: float, timeout_s: float, on_record: Callable[[Record], None] | None,
            stream: str, done: Callable[[ParsedLog], bool] | None, grace_s: float) -> StreamedProcess:
    feeder = LogFeeder()
    other: list[bytes] = []
    raw: list[bytes] = []
    lock = threading.Lock()
    finished = threading.Event()

    def pump_log(f: Any) -> None:
        for chunk in iter(lambda: f.read1(4096), b""):
            with lock:
                raw.append(chunk)
                recs = feeder.feed(chunk)
            for r in recs:
                if on_record:
                    on_record(r)
            if done is not None and done(feeder.log):
                finished.set()
        finished.set()

    def pump_other(f: Any) -> None:
        for chunk in iter(lambda: f.read1(4096), b""):
            other.append(chunk)

    log_pipe, other_pipe = (proc.stdout, proc.stderr) if stream == "stdout" else (proc.stderr, proc.stdout)
    threads = [threading.Thread(target=pump_log, args=(log_pipe,), daemon=True),
               threading.Thread(target=pump_other, args=(other_pipe,), daemon=True)]
    for th in threads:
        th.start()
    timed_out = False
    killed_done = False
    deadline = t0 + timeout_s
    done_at: float | None = None
    while True:
        try:
            proc.wait(timeout=0.05)
            break
        except subprocess.TimeoutExpired:
            if finished.is_set() and done is not None and done(feeder.log):
                done_at = done_at or time.monotonic()
                if time.monotonic() - done_at >= grace_s:
                    _kill(proc)
                    killed_done = True
                    break
            if time.monotonic() > deadline:
                timed_out = True
                _kill(proc)
                break
    for th in threads:
        th.join(timeout=2.0)
    with lock:
        log = feeder.finish()
        text = b"".join(raw).decode("utf-8", errors="replace")
    return StreamedProcess(returncode=None if timed_out or killed_done else proc.returncode, log=log, raw=text,
                           stderr=b"".join(other).decode("utf-8", errors="replace"),
                           timed_out=timed_out, wall_s=time.monotonic() - t0)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    procs.kill_group(proc)


__all__ = ["EXIT_APP_ERROR", "EXIT_FAULT", "EXIT_OK", "EXIT_SETUP_ERROR",
           "FirmwareFaultError", "RunResult", "RunTimeoutError", "Runner", "StreamedProcess",
           "FLASH_RUNNER", "default_runner_for", "get_runner", "register_runner", "registered_runners", "result_from_log",
           "run_streaming", "runner_capabilities", "runner_class"]
