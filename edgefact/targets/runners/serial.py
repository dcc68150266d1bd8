"""``serial`` runner: read the firmware's log from a board's UART with pyserial.

The firmware must already be on the board (``edgefact flash``), or a ``start`` callback flashes or
resets it once the port is open, so the first records are not lost. Bytes are fed to the log
protocol's incremental parser as they arrive; the run ends at the ``end`` record (a board does
not exit like an emulator), at a ``fault`` record, or at the timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgefact.errors import EdgefactError, MissingToolError
from edgefact.report.logproto import LogFeeder, Record
from edgefact.targets import Target
from edgefact.targets.runners.base import (
    Runner,
    RunResult,
    RunTimeoutError,
    check_timeout,
    register_runner,
    result_from_log,
)
from edgefact.targets.runners.capabilities import RunnerCapabilities, RunnerOption
from edgefact.units import UNIT_DEVICE

DEFAULT_BAUD = 115200
#: after a fault record, keep reading this long for the records that follow it
FAULT_GRACE_S = 0.3

StartHook = Callable[[Path, Target], None]


def _open_port(port: str, baud: int) -> Any:
    try:
        import serial
    except ImportError:
        raise MissingToolError("pyserial is not installed; pip install pyserial==3.5") from None
    try:
        return serial.serial_for_url(port, baudrate=baud, timeout=0.05)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise EdgefactError(
            f"cannot open serial port {port} at {baud} baud ({exc}); list ports with "
            "`python -m serial.tools.list_ports`, and on Linux add yourself to the dialout group "
            "(sudo usermod -aG dialout $USER)"
        ) from None


@register_runner("serial")
class SerialRunner(Runner):
    """Reads a board's UART; ``start`` (a callback, e.g. flash + reset) runs once the port is open."""

    capabilities = RunnerCapabilities(
        runs_on="board", exact_counts=False, can_flash=False, log_transports=("uart",), unit=UNIT_DEVICE,
        options=(
            RunnerOption("port", str, None, "serial port of the board (e.g. /dev/ttyACM0, or a pyserial URL)",
                         required_example="e.g. /dev/ttyACM0; list ports with `python -m serial.tools.list_ports`"),
            RunnerOption("baud", int, DEFAULT_BAUD, "baud rate of the board's UART"),
            RunnerOption("start", object, None, "callback(elf, target) once the port is open", public=False),
        ))

    def __init__(self, port: str | None = None, baud: int = DEFAULT_BAUD, start: StartHook | None = None,
                 **options: Any) -> None:
        super().__init__(port=port, baud=baud, **options)
        self.port = port
        self.baud = int(baud)
        self.start = start

    def check_available(self) -> None:
        if not self.port:
            raise EdgefactError("the serial runner needs a port: --port /dev/ttyACM0 (or COM3 on Windows); "
                                "list ports with `python -m serial.tools.list_ports`")

    def run(self, artifact: Path, target: Target, timeout_s: float = 60.0,
            on_record: Callable[[Record], None] | None = None) -> RunResult:
        check_timeout(timeout_s)
        self.check_available()
        assert self.port is not None
        t0 = time.monotonic()
        ser = _open_port(self.port, self.baud)
        feeder = LogFeeder()
        raw = bytearray()
        closed_early: str | None = None
        try:
            ser.reset_input_buffer()
            if self.start is not None:
                self.start(Path(artifact), target)
            deadline = time.monotonic() + timeout_s
            fault_deadline: float | None = None
            while True:
                now = time.monotonic()
                if now > deadline or (fault_deadline is not None and now > fault_deadline):
                    break
                try:
                    chunk = ser.read(max(1, getattr(ser, "in_waiting", 0) or 0))
                except Exception as exc:  # pyserial raises SerialException/OSError when the device goes away
                    closed_early = str(exc)
                    break
                if not chunk:
                    continue
                raw += chunk
                for rec in feeder.feed(chunk):
                    if on_record is not None:
                        on_record(rec)
                    if rec.type == "fault" and fault_deadline is None:
                        fault_deadline = time.monotonic() + FAULT_GRACE_S
                if feeder.log.status is not None:
                    break
        finally:
            ser.close()
        # Bytes after the end record belong to whatever the board does next, not to this run.
        log = feeder.log if feeder.log.status is not None else feeder.finish()
        wall = time.monotonic() - t0
        text = raw.decode("utf-8", errors="replace")
        where = f"serial {self.port} @ {self.baud} baud"
        if log.status is None and log.fault is None:
            if closed_early is not None:
                raise RunTimeoutError(f"{where}: the port closed before the end record ({closed_early}); "
                                      "check the cable and that the board was not reset", tail=log.tail(), log=log)
            hint = ("no bytes at all: check the port, the baud rate (--baud) and that the firmware logs to "
                    "the UART" if not raw else "the log stopped before its end record")
            raise RunTimeoutError(f"{where}: no end record within {timeout_s:g} s; {hint}",
                                  tail=log.tail(), log=log)
        status = log.status if log.status is not None else 3
        return result_from_log(log, status, text, command=[where], wall_s=wall)
