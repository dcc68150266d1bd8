"""``pyocd`` runner and flasher: a real board through a CMSIS-DAP / ST-LINK / J-Link probe.

Uses pyOCD's Python API: ``ConnectHelper.session_with_chosen_probe`` opens the probe, pyOCD's
``FileProgrammer`` writes the ELF to flash, the core is reset and halted, the DWT cycle counter is
enabled (the firmware reads CYCCNT), and the core runs. Every halt is inspected: a semihosting
``BKPT 0xAB`` is served by pyOCD's ``SemihostAgent`` (its console output goes to the log parser),
except the exit requests (SYS_EXIT / SYS_EXIT_EXTENDED), which pyOCD does not implement and which
end the run with the firmware's exit status here. Any other halt is reported as a fault with the
fault status registers.

A firmware with an RTT up-buffer (``_SEGGER_RTT``; real-part builds, ``EF_LOG_RTT=1``) is read
through RTT instead (``channel="auto"``/``"rtt"``): pyOCD reads the control block while the core
runs; a breakpoint on the template's first call after ``ef_rtt_init`` lets the runner switch the
buffer to blocking mode before the first record; the run ends with the ``end`` record.

No board is attached on the machine this was written on: the path is tested up to the pyOCD API
with test doubles (tests/test_runners_boards.py); see docs/boards.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgefact.errors import EdgefactError, MissingToolError
from edgefact.firmware.elf import symbol_address
from edgefact.report.logproto import LogFeeder, Record
from edgefact.targets import Target, all_targets
from edgefact.targets.runners.base import (
    FirmwareFaultError,
    Runner,
    RunResult,
    RunTimeoutError,
    check_timeout,
    register_runner,
    result_from_log,
)
from edgefact.targets.runners.capabilities import RunnerCapabilities, RunnerOption
from edgefact.targets.runners.rtt import RTT_READY_SYMBOL, RttReader, rtt_symbol_address
from edgefact.units import UNIT_DEVICE

# Arm v7-M/v8-M debug and fault registers.
DFSR = 0xE000ED30
DFSR_BKPT = 1 << 1
DEMCR = 0xE000EDFC
DEMCR_TRCENA = 1 << 24
DWT_CTRL = 0xE0001000
DWT_CYCCNT = 0xE0001004
FAULT_REGS = {"cfsr": 0xE000ED28, "hfsr": 0xE000ED2C, "mmfar": 0xE000ED34, "bfar": 0xE000ED38}
BKPT_SEMIHOST = 0xBEAB  # Thumb "BKPT #0xAB"
SYS_EXIT = 0x18
SYS_EXIT_EXTENDED = 0x20
ADP_STOPPED_APPLICATION_EXIT = 0x20026

SessionFactory = Callable[..., Any]
ProgrammerFactory = Callable[[Any], Any]


def pyocd_target_type(target: Target, override: str | None = None) -> str | None:
    """The pyOCD target type for a board: the override, else the board file's ``pyocd_target``."""
    if override:
        return override
    from_board = target.extra.get("pyocd_target")
    return from_board if isinstance(from_board, str) else None


def pyocd_boards() -> list[str]:
    """The boards whose TOML names a pyOCD target type."""
    return sorted(n for n, t in all_targets().items() if pyocd_target_type(t) is not None)


def _default_session_factory(**kwargs: Any) -> Any:
    try:
        from pyocd.core.helpers import ConnectHelper
    except ImportError:
        raise MissingToolError("pyOCD is not installed; pip install pyocd==0.36.0") from None
    return ConnectHelper.session_with_chosen_probe(**kwargs)


def _default_programmer_factory(session: Any) -> Any:
    from pyocd.flash.file_programmer import FileProgrammer

    return FileProgrammer(session)


def _state(tgt: Any) -> str:
    state = tgt.get_state()
    return str(getattr(state, "name", state)).upper().rsplit(".", 1)[-1]


def open_session(target: Target, *, probe: str | None = None, target_type: str | None = None,
                 frequency: int | None = None, pack: str | None = None,
                 session_factory: SessionFactory | None = None) -> Any:
    """Open a pyOCD session for ``target`` or raise an EdgefactError that says what to connect/install."""
    kind = pyocd_target_type(target, target_type)
    if kind is None:
        raise EdgefactError(
            f"no pyOCD target type known for '{target.name}'; pass --pyocd-target TYPE "
            f"(see `pyocd list --targets`); known boards: {', '.join(pyocd_boards())}")
    options: dict[str, Any] = {"target_override": kind}
    if frequency:
        options["frequency"] = int(frequency)
    if pack:
        options["pack"] = str(pack)
    factory = session_factory or _default_session_factory
    try:
        session = factory(blocking=False, return_first=True, unique_id=probe, options=options)
    except EdgefactError:
        raise
    except Exception as exc:  # pyOCD raises its own exception types for probe/target problems
        # a device not built into pyOCD (board file: pyocd_needs_pack = true) needs its CMSIS pack
        needs_pack = target.extra.get("pyocd_needs_pack") is True
        hint = f"; install the device pack first: pyocd pack install {kind}" if needs_pack else ""
        raise EdgefactError(f"pyOCD could not open a session for {target.name} ({kind}): {exc}{hint}") from None
    if session is None:
        raise EdgefactError(
            "no debug probe found" + (f" with id containing '{probe}'" if probe else "")
            + "; connect the board's probe (ST-LINK, CMSIS-DAP, J-Link) by USB and check `pyocd list`; "
            "on Linux install the probe's udev rules")
    return session


def flash_elf(session: Any, elf: Path, programmer_factory: ProgrammerFactory | None = None) -> None:
    """Program ``elf`` into the board's flash (pyOCD erases the needed sectors)."""
    programmer = (programmer_factory or _default_programmer_factory)(session)
    programmer.program(str(elf), file_format="elf")


def enable_cycle_counter(tgt: Any) -> None:
    """Turn on trace and DWT CYCCNT so the firmware's cycle counts are not zero."""
    tgt.write32(DEMCR, tgt.read32(DEMCR) | DEMCR_TRCENA)
    tgt.write32(DWT_CYCCNT, 0)
    tgt.write32(DWT_CTRL, tgt.read32(DWT_CTRL) | 1)


def semihost_exit_status(tgt: Any) -> int | None:
    """If the core is halted on a semihosting exit request, its exit status, else None."""
    if not tgt.read32(DFSR) & DFSR_BKPT:
        return None
    pc = tgt.read_core_register("pc")
    if tgt.read16(pc) != BKPT_SEMIHOST:
        return None
    op = tgt.read_core_register("r0")
    arg = tgt.read_core_register("r1")
    if op == SYS_EXIT_EXTENDED:
        reason = tgt.read32(arg)
        code = tgt.read32(arg + 4)
        return code if reason == ADP_STOPPED_APPLICATION_EXIT else 1
    if op == SYS_EXIT:
        return 0 if arg == ADP_STOPPED_APPLICATION_EXIT else 1
    return None


def _fault_registers(tgt: Any) -> dict[str, int]:
    regs = {name: tgt.read32(addr) for name, addr in FAULT_REGS.items()}
    regs["pc"] = tgt.read_core_register("pc")
    regs["lr"] = tgt.read_core_register("lr")
    return regs


def _make_console(feeder: LogFeeder | None, on_record: Callable[[Record], None] | None) -> Any:
    from pyocd.debug.semihost import SemihostIOHandler

    class LogConsole(SemihostIOHandler):  # type: ignore[misc]
        """Semihosting stdout/stderr -> the log parser."""

        def write(self, fd: int, ptr: int, length: int) -> int:
            data = self.agent.get_data(ptr, length)
            if feeder is None:  # the log is read through RTT
                return 0
            for rec in feeder.feed(bytes(data)):
                if on_record is not None:
                    on_record(rec)
            return 0  # semihosting: number of bytes NOT written

        def read(self, fd: int, ptr: int, length: int) -> int:
            return length  # nothing to read: all bytes "not read"

    return LogConsole()


@register_runner("pyocd")
class PyocdRunner(Runner):
    """A board through a debug probe with pyOCD's Python API (options in ``capabilities``).

    ``session_factory`` and ``programmer_factory`` replace pyOCD's ConnectHelper and FileProgrammer
    (used by the tests; no hardware here).
    """

    capabilities = RunnerCapabilities(
        runs_on="board", exact_counts=False, can_flash=True, log_transports=("semihosting", "rtt"), unit=UNIT_DEVICE,
        options=(
            RunnerOption("probe", str, None, "pyOCD probe unique id (any substring); default: the only/first probe"),
            RunnerOption("target_type", str, None, "pyOCD target type, overriding the board's "
                         "(see `pyocd list --targets`)", key="pyocd_target"),
            RunnerOption("frequency", int, None, "SWD clock in Hz for pyOCD"),
            RunnerOption("pack", str, None, "CMSIS device pack (.pack file) for pyOCD", key="pyocd_pack"),
            RunnerOption("flash", bool, True, "program the ELF before the run (False: run what is in flash)",
                         public=False),
            RunnerOption("poll_s", float, 0.002, "seconds between core state polls", public=False),
            RunnerOption("channel", str, "auto", "auto (RTT when the ELF has an RTT control block, else "
                         "semihosting) | semihosting | rtt", choices=("auto", "semihosting", "rtt"), public=False),
        ))

    def __init__(self, probe: str | None = None, target_type: str | None = None, frequency: int | None = None,
                 pack: str | None = None, flash: bool = True, poll_s: float = 0.002,
                 session_factory: SessionFactory | None = None,
                 programmer_factory: ProgrammerFactory | None = None, channel: str = "auto",
                 **options: Any) -> None:
        super().__init__(probe=probe, target_type=target_type, frequency=frequency, pack=pack, **options)
        self.probe = probe
        self.target_type = target_type
        self.frequency = frequency
        self.pack = pack
        self.program = flash  # the `flash` option: write the ELF before the run
        self.poll_s = poll_s
        self.session_factory = session_factory
        self.programmer_factory = programmer_factory
        if channel not in ("auto", "semihosting", "rtt"):
            raise EdgefactError(f"log channel '{channel}' unknown; valid: auto, semihosting, rtt")
        self.channel = channel

    def flash(self, artifact: Path, target: Target, reset: bool = True) -> None:
        flash_with_pyocd(artifact, target, probe=self.probe, target_type=self.target_type, frequency=self.frequency,
                         pack=self.pack, reset=reset, session_factory=self.session_factory,
                         programmer_factory=self.programmer_factory)

    def check_available(self) -> None:
        if self.session_factory is None:
            try:
                import pyocd  # noqa: F401
            except ImportError:
                raise MissingToolError("pyOCD is not installed; pip install pyocd==0.36.0") from None

    def run(self, artifact: Path, target: Target, timeout_s: float = 60.0,
            on_record: Callable[[Record], None] | None = None) -> RunResult:
        check_timeout(timeout_s)
        self.check_available()
        from pyocd.debug.semihost import SemihostAgent

        t0 = time.monotonic()
        feeder = LogFeeder()
        rtt_addr = None if self.channel == "semihosting" else rtt_symbol_address(artifact)
        if self.channel == "rtt" and rtt_addr is None:
            raise EdgefactError(f"{artifact} has no RTT control block; build it with EF_LOG_RTT=1 "
                                "(`--hardware` builds have it) or use the semihosting channel")
        ready_addr = symbol_address(artifact, RTT_READY_SYMBOL, function=True) if rtt_addr is not None else None

        def feed(data: bytes) -> None:
            for rec in feeder.feed(data):
                if on_record is not None:
                    on_record(rec)

        session = open_session(target, probe=self.probe, target_type=self.target_type,
                               frequency=self.frequency, pack=self.pack, session_factory=self.session_factory)
        exit_status: int | None = None
        with session:
            tgt = session.board.target
            if self.program:
                flash_elf(session, Path(artifact), self.programmer_factory)
            tgt.reset_and_halt()
            enable_cycle_counter(tgt)
            # pyOCD's own gdbserver hands the agent the core's debug context (it has .core and .session)
            ctx = tgt.get_target_context() if hasattr(tgt, "get_target_context") else tgt
            agent = SemihostAgent(ctx, console=_make_console(None if rtt_addr is not None else feeder, on_record))
            reader = None
            if rtt_addr is not None:
                reader = RttReader(lambda a, n: bytes(tgt.read_memory_block8(a, n)), tgt.write32, rtt_addr)
                reader.invalidate()  # the previous run's control block is still in RAM
                if ready_addr is not None and tgt.set_breakpoint(ready_addr) is False:
                    ready_addr = None  # no breakpoint unit left: attach whenever the block appears
            try:
                tgt.resume()
                deadline = time.monotonic() + timeout_s
                while exit_status is None:
                    if time.monotonic() > deadline:
                        tgt.halt()
                        pc = tgt.read_core_register("pc")
                        raise RunTimeoutError(
                            f"pyocd {target.name}: the firmware did not exit within {timeout_s:g} s "
                            f"(halted at pc=0x{pc:08x}; look it up with arm-none-eabi-addr2line -e {artifact})",
                            tail=feeder.log.tail(), log=feeder.log)
                    state = _state(tgt)
                    if state == "LOCKUP":
                        tgt.halt()
                        raise FirmwareFaultError(_fault_registers(tgt), feeder.log)
                    if reader is not None and (ready_addr is None or reader.up is not None):
                        data = reader.poll()  # memory reads while the core runs
                        if data:
                            feed(data)
                        if feeder.log.status is not None:  # the end record: the firmware idles now
                            exit_status = feeder.log.status
                            break
                    if state != "HALTED":
                        time.sleep(self.poll_s)
                        continue
                    if reader is not None and ready_addr is not None and tgt.read_core_register("pc") == ready_addr:
                        tgt.remove_breakpoint(ready_addr)
                        ready_addr = None
                        reader.attach()  # switches the buffer to blocking before the first record
                        tgt.write32(DFSR, DFSR_BKPT)
                        tgt.resume()
                        continue
                    exit_status = semihost_exit_status(tgt)
                    if exit_status is not None:
                        if reader is not None:
                            feed(reader.poll())
                        break
                    if agent.check_and_handle_semihost_request():
                        tgt.write32(DFSR, DFSR_BKPT)  # DFSR bits are sticky (write 1 to clear)
                        tgt.resume()
                        continue
                    raise FirmwareFaultError(_fault_registers(tgt), feeder.log)
            finally:
                agent.cleanup()
        log = feeder.finish()
        raw = "\n".join(log.lines)
        return result_from_log(log, exit_status, raw, command=[f"pyocd {target.name}"],
                               wall_s=time.monotonic() - t0)


def flash_with_pyocd(elf: Path, target: Target, *, probe: str | None = None, target_type: str | None = None,
                     frequency: int | None = None, pack: str | None = None, reset: bool = True,
                     session_factory: SessionFactory | None = None,
                     programmer_factory: ProgrammerFactory | None = None) -> None:
    """Program ``elf`` and (by default) reset the board so it starts running."""
    session = open_session(target, probe=probe, target_type=target_type, frequency=frequency, pack=pack,
                           session_factory=session_factory)
    with session:
        flash_elf(session, Path(elf), programmer_factory)
        if reset:
            session.board.target.reset()
