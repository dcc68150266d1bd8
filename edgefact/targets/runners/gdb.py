"""``gdb`` runner: load and run a firmware through any GDB server, with gdb-multiarch in MI mode.

Servers: QEMU's own gdbstub (``-gdb tcp::PORT -S``; started by this runner when no server is
given), pyOCD's ``gdbserver``, OpenOCD, J-Link. The runner connects (``target remote``), loads the
ELF (``load``), puts the core at the reset vector (a ``monitor reset halt`` on real boards; on
QEMU, SP/PC/xPSR from the ELF's vector table), continues, and collects the semihosting output:

* forwarded to GDB (GDB File-I/O: QEMU ``-semihosting-config target=gdb``, OpenOCD
  ``arm semihosting_fileio enable``, pyOCD ``-O semihost_use_syscalls=true -O semihost_console_type=console``; also J-Link's
  console packets): it arrives as MI target-stream records (``@"..."``);
* or on QEMU's own semihosting chardev (``target=native``; QEMU's stderr) when this runner starts
  QEMU with ``semihosting="chardev"``.

* or, with ``channel="rtt"`` (default ``auto``: when the ELF has an RTT control block, e.g. a
  real-part build), from the firmware's RTT up-buffer: the core is halted every ``rtt_poll_s``
  seconds, the buffer is read with ``-data-read-memory-bytes`` and its read offset written back
  (GDB reads memory only while the core is halted; halting does not change QEMU's instruction
  counts, and DWT CYCCNT does not count while a real core is halted).

The exit is detected from GDB's ``*stopped,reason="exited"`` (QEMU ends on SYS_EXIT_EXTENDED), from
the server closing the connection, or from a breakpoint on the firmware's exit function
(``ef_exit``; its first argument, r0, is the status) for servers that do not end.

This module is the orchestration (QEMU start through the qemu runner's one command builder,
connect, load, run, RTT polling, flashing); the GDB/MI client is :mod:`.gdb_mi`, the per-server
differences are the profiles of :mod:`.gdb_servers`, the ELF reading is :mod:`edgefact.firmware.elf`.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgefact import procs
from edgefact.errors import EdgefactError
from edgefact.firmware.elf import function_symbols, vector_table
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
from edgefact.targets.runners.gdb_mi import MiSession, find_gdb, kill_group
from edgefact.targets.runners.gdb_servers import (
    SERVER_KINDS,
    ServerProfile,
    free_port,
    parse_server,
    server_profile,
)
from edgefact.targets.runners.qemu import qemu_binary, qemu_command
from edgefact.targets.runners.rtt import RTT_READY_SYMBOL, RTT_SYMBOL, RttReader, rtt_symbol_address
from edgefact.units import UNIT_EMULATED

#: function the firmware template calls to end a run (status in r0)
EXIT_SYMBOLS = ("ef_exit", "_exit")
#: after the end record, wait this long for the exit before stopping anyway
END_GRACE_S = 2.0
LOG_CHANNELS = ("auto", "semihosting", "rtt")
SEMIHOSTING_MODES = ("gdb", "chardev")


def qemu_gdb_command(target: Target, port: int, semihosting: str) -> list[str]:
    """QEMU halted at reset with its gdbstub on ``port``; the ELF is loaded through GDB.

    Built by the qemu runner's :func:`qemu_command` (exact instruction counting), so both
    runners emulate the same machine and report identical counts. ``semihosting``: "gdb"
    (forwarded to GDB as File-I/O) or "chardev" (QEMU's own stderr).
    """
    if target.qemu_machine is None:
        raise EdgefactError(f"target '{target.name}' has no emulator; give --gdb-server HOST:PORT of its GDB server")
    return qemu_command(target, None, serial="null", semihosting="gdb" if semihosting == "gdb" else "native",
                        gdb_port=port, gdb_host="127.0.0.1", wait_for_gdb=True)


class _Pump:
    """Reads a process pipe into a LogFeeder in a thread (QEMU's semihosting chardev on stderr)."""

    def __init__(self, pipe: Any, feed: Callable[[bytes], None]) -> None:
        self.chunks: list[bytes] = []
        self._feed = feed
        self.thread = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self.thread.start()

    def _run(self, pipe: Any) -> None:
        for chunk in iter(lambda: pipe.read1(4096), b""):
            self.chunks.append(chunk)
            self._feed(chunk)


_OPTIONS = (
    RunnerOption("gdb_server", str, None, "HOST:PORT of a running GDB server (a board's probe); without it the "
                 "runner starts QEMU with its gdbstub"),
    RunnerOption("server", str, None, "GDB server kind (decides the reset commands; default: qemu without "
                 "--gdb-server, else generic)", choices=SERVER_KINDS, key="server_kind"),
    RunnerOption("semihosting", str, "gdb", "gdb (output through GDB) | chardev (QEMU's own output; only when the "
                 "runner starts QEMU)", choices=SEMIHOSTING_MODES, public=False),
    RunnerOption("exit_symbol", str, None, "function whose entry ends the run (default: ef_exit when present "
                 "and the server does not end with the firmware)", public=False),
    RunnerOption("gdb", str, None, "the GDB executable (default gdb-multiarch)", public=False),
    RunnerOption("load", bool, True, "False to run what is already in flash", public=False),
    RunnerOption("channel", str, "auto", "auto (RTT when the ELF has _SEGGER_RTT, else semihosting) | "
                 "semihosting | rtt", choices=LOG_CHANNELS, public=False),
    RunnerOption("rtt_poll_s", float, 0.05, "seconds between RTT reads (each one halts the core briefly)",
                 public=False),
)


@register_runner("gdb")
class GdbRunner(Runner):
    """Runs through gdb-multiarch and a GDB server; options in :data:`_OPTIONS`.

    Without ``gdb_server`` it starts QEMU (exact instruction counts, like the qemu runner); with
    one it drives the board behind that server (real-part image, DWT cycles).
    """

    capabilities = RunnerCapabilities(
        runs_on="emulator", exact_counts=True, can_flash=True, log_transports=("semihosting", "rtt"),
        unit=UNIT_EMULATED, options=_OPTIONS, attach_option="gdb_server")

    def __init__(self, gdb_server: str | None = None, server: str | None = None, semihosting: str = "gdb",
                 exit_symbol: str | None = None, gdb: str | None = None, load: bool = True,
                 channel: str = "auto", rtt_poll_s: float = 0.05, **options: Any) -> None:
        super().__init__(gdb_server=gdb_server, server=server, semihosting=semihosting, **options)
        if gdb_server is not None:
            parse_server(gdb_server)  # fail early on a malformed HOST:PORT
        self.gdb_server = gdb_server
        self.server = server or ("qemu" if gdb_server is None else "generic")
        self.profile: ServerProfile = server_profile(self.server)
        if semihosting not in SEMIHOSTING_MODES:
            raise EdgefactError(f"semihosting '{semihosting}' unknown; valid: {', '.join(SEMIHOSTING_MODES)}")
        if semihosting == "chardev" and gdb_server is not None:
            raise EdgefactError("semihosting=chardev reads QEMU's own output and needs the runner to start QEMU; "
                                "drop --gdb-server or use semihosting=gdb")
        if channel not in LOG_CHANNELS:
            raise EdgefactError(f"log channel '{channel}' unknown; valid: {', '.join(LOG_CHANNELS)}")
        self.channel = channel
        self.rtt_poll_s = rtt_poll_s
        self.semihosting = semihosting
        self.exit_symbol = exit_symbol
        self.gdb = gdb
        self.load = load

    def check_available(self) -> None:
        find_gdb(self.gdb)
        if self.gdb_server is None:
            qemu_binary()

    def flash(self, artifact: Path, target: Target, reset: bool = True) -> None:
        if not self.gdb_server:
            raise EdgefactError("--runner gdb needs --gdb-server HOST:PORT (e.g. localhost:3333)")
        flash_with_gdb(artifact, self.gdb_server, self.server, gdb=self.gdb, reset=reset)

    # -- set-up per server profile ------------------------------------------------------------
    def _prepare_core(self, mi: MiSession, elf: Path) -> None:
        reset = self.profile.reset
        if reset:
            mi.console_cmd(reset)
        for cmd in self.profile.setup:
            mi.console_cmd(cmd, check=False)
        if self.load:
            mi.command("-target-download", timeout_s=120.0)
        if reset:
            mi.console_cmd(reset)  # the core fetches SP/PC from the freshly written vector table
        else:
            sp, pc = vector_table(elf)
            mi.console_cmd(f"set $sp = {sp:#x}")
            mi.console_cmd(f"set $pc = {pc & ~1:#x}")
            mi.console_cmd("set $xpsr = 0x01000000")  # Thumb state, as after reset

    def _exit_breakpoint(self, mi: MiSession, elf: Path) -> str | None:
        if self.exit_symbol:
            names = [self.exit_symbol]
        elif self.profile.exits_with_firmware:
            return None
        else:
            names = function_symbols(elf, EXIT_SYMBOLS)[:1]
        if not names:
            return None
        rec = mi.command(f"-break-insert {names[0]}")
        return str(rec["payload"]["bkpt"]["number"])

    def run(self, artifact: Path, target: Target, timeout_s: float = 60.0,
            on_record: Callable[[Record], None] | None = None) -> RunResult:
        check_timeout(timeout_s)
        elf = Path(artifact).resolve()
        if not elf.is_file():
            raise EdgefactError(f"{elf}: no such firmware; build it first (edgefact run --no-run / edgefact build)")
        gdb = find_gdb(self.gdb)
        t0 = time.monotonic()
        feeder = LogFeeder()
        lock = threading.Lock()

        def feed(data: bytes | str) -> None:
            with lock:
                recs = feeder.feed(data)
            for rec in recs:
                if on_record is not None:
                    on_record(rec)

        rtt_addr = None if self.channel == "semihosting" else rtt_symbol_address(elf)
        if self.channel == "rtt" and rtt_addr is None:
            raise EdgefactError(f"{elf} has no RTT control block ({RTT_SYMBOL}); build it with EF_LOG_RTT=1 "
                                "(real-part builds have it) or use channel semihosting")
        use_rtt = rtt_addr is not None
        stream_feed: Callable[[bytes | str], None] = (lambda _data: None) if use_rtt else feed

        qemu: subprocess.Popen[bytes] | None = None
        pump: _Pump | None = None
        command: list[str] = []
        if self.gdb_server is None:
            port = free_port()
            command = qemu_gdb_command(target, port, self.semihosting)
            qemu = procs.popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if self.semihosting == "chardev":
                pump = _Pump(qemu.stderr, stream_feed)
            host = "127.0.0.1"
        else:
            host, port = parse_server(self.gdb_server)
        server_desc = f"{self.server} GDB server at {host}:{port}"
        mi = MiSession(gdb, stream_feed)
        exit_status: int | None = None
        try:
            mi.command("-gdb-set confirm off")
            mi.command("-gdb-set pagination off")
            mi.command("-gdb-set mi-async on")  # so -exec-interrupt works while the core runs
            mi.command(f'-file-exec-and-symbols "{elf}"')
            self._connect(mi, host, port, qemu, server_desc)
            self._prepare_core(mi, elf)
            if use_rtt:
                assert rtt_addr is not None
                exit_status = self._run_rtt(mi, elf, rtt_addr, feed, feeder, lock, qemu, timeout_s, server_desc)
            else:
                bkpt = self._exit_breakpoint(mi, elf)
                n_stops = len(mi.events.stopped)
                mi.command("-exec-continue")
                exit_status = self._wait_exit(mi, n_stops, bkpt, feeder, lock, qemu, timeout_s, server_desc, elf)
        finally:
            if self.gdb_server is not None and mi.proc.poll() is None:
                # leave a server we did not start (a board) running instead of killing its program
                with contextlib.suppress(EdgefactError):
                    mi.command("-target-detach", timeout_s=3.0, check=False)
            mi.close()
            if qemu is not None:
                kill_group(qemu)  # also when it exited: its group and its entry in the live table
                if pump is not None:
                    pump.thread.join(timeout=2.0)
        with lock:
            log = feeder.finish()
        raw = "\n".join(log.lines)
        return result_from_log(log, exit_status, raw, command=command or [f"gdb {host}:{port}"],
                               wall_s=time.monotonic() - t0)

    def _connect(self, mi: MiSession, host: str, port: int, qemu: subprocess.Popen[bytes] | None,
                 desc: str) -> None:
        deadline = time.monotonic() + 10.0
        while True:
            rec = mi.command(f"-target-select remote {host}:{port}", timeout_s=15.0, check=False)
            if rec["message"] == "connected":
                return
            if qemu is not None and qemu.poll() is not None:
                err = qemu.stderr.read().decode(errors="replace") if qemu.stderr else ""
                raise EdgefactError(f"QEMU exited before GDB could connect: {err.strip()[:500]}")
            if time.monotonic() > deadline:
                msg = (rec.get("payload") or {}).get("msg", "")
                raise EdgefactError(f"cannot connect to the {desc} ({msg}); start the server first "
                                    "(e.g. `pyocd gdbserver -S -O semihost_use_syscalls=true -O semihost_console_type=console`, `openocd -f board/...cfg`, "
                                    "or `qemu-system-arm ... -s -S`) and check --gdb-server")
            time.sleep(0.1)

    def _wait_exit(self, mi: MiSession, n_stops: int, bkpt: str | None, feeder: LogFeeder, lock: threading.Lock,
                   qemu: subprocess.Popen[bytes] | None, timeout_s: float, desc: str, elf: Path) -> int:
        deadline = time.monotonic() + timeout_s
        end_seen_at: float | None = None
        while True:
            now = time.monotonic()
            with lock:
                ended = feeder.log.status is not None
            if ended and end_seen_at is None:
                end_seen_at = now
            if end_seen_at is not None and now - end_seen_at > END_GRACE_S:
                with lock:
                    return int(feeder.log.status or 0)  # a server that neither exits nor hits the breakpoint
            if now > deadline:
                where = self._interrupt_where(mi, n_stops)
                with lock:
                    tail = feeder.log.tail()
                    log = feeder.log
                raise RunTimeoutError(f"{desc}: the firmware did not finish within {timeout_s:g} s{where}",
                                      tail=tail, log=log)
            stop = mi.wait_stopped(n_stops, 0.1)
            if stop is None:
                if mi.events.closed or (mi.events.console and "Remote connection closed" in "".join(mi.events.console[-3:])):
                    return self._status_after_close(qemu, feeder, lock, desc)
                continue
            n_stops += 1
            reason = stop.get("reason", "")
            if reason == "exited":
                return int(stop.get("exit-code", "0"), 8)  # MI prints the exit code in octal
            if reason == "exited-normally":
                return 0
            if reason == "breakpoint-hit" and bkpt is not None and str(stop.get("bkptno")) == bkpt:
                value = mi.command("-data-evaluate-expression $r0")["payload"]["value"]
                return int(value.split()[0], 0) & 0xFF
            if reason in ("exited-signalled", "signal-received"):
                frame = stop.get("frame") or {}
                raise EdgefactError(
                    f"{desc}: the core stopped ({stop.get('signal-name', reason)}) at {frame.get('addr')} "
                    f"in {frame.get('func', '?')}; if this is a semihosting BKPT 0xAB, enable semihosting in the "
                    "server (pyOCD: -S -O semihost_use_syscalls=true -O semihost_console_type=console; OpenOCD: arm semihosting enable)")
            # another stop (e.g. a user breakpoint): keep going
            mi.command("-exec-continue", check=False)

    # -- RTT: halt, read the up-buffer, continue ---------------------------------------------------
    def _run_rtt(self, mi: MiSession, elf: Path, address: int, feed: Callable[[bytes], None], feeder: LogFeeder,
                 lock: threading.Lock, qemu: subprocess.Popen[bytes] | None, timeout_s: float, desc: str) -> int:
        def read(addr: int, n: int) -> bytes:
            rec = mi.command(f"-data-read-memory-bytes {addr:#x} {n}")
            return b"".join(bytes.fromhex(m["contents"]) for m in rec["payload"]["memory"])

        def write32(addr: int, value: int) -> None:
            mi.command(f"-data-write-memory-bytes {addr:#x} {(value & 0xFFFFFFFF).to_bytes(4, 'little').hex()}")

        reader = RttReader(read, write32, address)
        reader.invalidate()  # a board's RAM still holds the previous run's control block
        names = [self.exit_symbol] if self.exit_symbol else function_symbols(elf, EXIT_SYMBOLS)[:1]
        bkpt = str(mi.command(f"-break-insert {names[0]}")["payload"]["bkpt"]["number"]) if names else None
        ready = None
        if function_symbols(elf, (RTT_READY_SYMBOL,)):  # attach before the first record: blocking mode
            ready = str(mi.command(f"-break-insert -t {RTT_READY_SYMBOL}")["payload"]["bkpt"]["number"])
        n_stops = len(mi.events.stopped)
        mi.command("-exec-continue")
        deadline = time.monotonic() + timeout_s
        while True:
            stop = mi.wait_stopped(n_stops, self.rtt_poll_s)
            interrupted = stop is None
            if stop is None:
                if mi.events.closed:
                    return self._status_after_close(qemu, feeder, lock, desc)
                mi.command("-exec-interrupt", timeout_s=5.0, check=False)
                stop = mi.wait_stopped(n_stops, 5.0)
                if stop is None:
                    if mi.events.closed:
                        return self._status_after_close(qemu, feeder, lock, desc)
                    raise EdgefactError(f"{desc}: the core did not halt for an RTT read (-exec-interrupt)")
            n_stops += 1
            reason = stop.get("reason", "")
            if reason == "exited":
                return int(stop.get("exit-code", "0"), 8)
            if reason == "exited-normally":
                return 0
            number = str(stop.get("bkptno")) if reason == "breakpoint-hit" else None
            if number is not None and number == ready:
                reader.attach()
            data = reader.poll()
            if data:
                feed(data)
            if number is not None and number == bkpt:
                value = mi.command("-data-evaluate-expression $r0")["payload"]["value"]
                return int(value.split()[0], 0) & 0xFF
            with lock:
                status = feeder.log.status
            if status is not None:
                return int(status)
            if reason == "signal-received" and not interrupted and stop.get("signal-name") not in ("SIGINT", "SIGTRAP"):
                frame = stop.get("frame") or {}
                raise EdgefactError(f"{desc}: the core stopped ({stop.get('signal-name')}) at {frame.get('addr')} "
                                    f"in {frame.get('func', '?')}")
            if time.monotonic() > deadline:
                frame = stop.get("frame") or {}
                with lock:
                    tail, log = feeder.log.tail(), feeder.log
                raise RunTimeoutError(f"{desc}: the firmware did not finish within {timeout_s:g} s (stopped at "
                                      f"{frame.get('addr')} in {frame.get('func', '?')})", tail=tail, log=log)
            mi.command("-exec-continue")

    @staticmethod
    def _status_after_close(qemu: subprocess.Popen[bytes] | None, feeder: LogFeeder, lock: threading.Lock,
                            desc: str) -> int:
        if qemu is not None:
            try:
                return int(qemu.wait(timeout=5.0))
            except subprocess.TimeoutExpired:
                pass
        with lock:
            if feeder.log.status is not None:
                return int(feeder.log.status)
            tail = feeder.log.tail()
            log = feeder.log
        hint = ("" if log.records else
                "; no log arrived: enable semihosting in the server (QEMU: -semihosting-config enable=on,target=gdb; "
                "pyOCD: -S -O semihost_use_syscalls=true -O semihost_console_type=console; OpenOCD: arm semihosting enable) and check its own output")
        raise RunTimeoutError(f"{desc}: the connection closed before the firmware finished{hint}", tail=tail, log=log)

    @staticmethod
    def _interrupt_where(mi: MiSession, n_stops: int) -> str:
        try:
            mi.command("-exec-interrupt", timeout_s=3.0, check=False)
            stop = mi.wait_stopped(n_stops, 3.0)
        except EdgefactError:
            return ""
        frame = (stop or {}).get("frame") or {}
        if not frame:
            return ""
        return f" (stopped at {frame.get('addr')} in {frame.get('func', '?')})"


def flash_with_gdb(elf: Path, gdb_server: str, server: str = "generic", gdb: str | None = None,
                   reset: bool = True) -> None:
    """Load ``elf`` into a board's flash through its GDB server, reset it and detach (it keeps running)."""
    elf = Path(elf).resolve()
    if not elf.is_file():
        raise EdgefactError(f"{elf}: no such firmware; build it first")
    profile = server_profile(server)
    host, port = parse_server(gdb_server)
    mi = MiSession(find_gdb(gdb), lambda _text: None)
    try:
        mi.command("-gdb-set confirm off")
        mi.command(f'-file-exec-and-symbols "{elf}"')
        rec = mi.command(f"-target-select remote {host}:{port}", timeout_s=15.0, check=False)
        if rec["message"] != "connected":
            raise EdgefactError(f"cannot connect to the GDB server at {host}:{port} "
                                f"({(rec.get('payload') or {}).get('msg', '')}); start it first and check --gdb-server")
        if profile.flash_halt:
            mi.console_cmd(profile.flash_halt)
        mi.command("-target-download", timeout_s=300.0)
        if reset and profile.flash_reset:
            mi.console_cmd(profile.flash_reset, check=False)
        mi.command("-target-detach", check=False)
    finally:
        mi.close()


__all__ = ["EXIT_SYMBOLS", "GdbRunner", "flash_with_gdb", "free_port", "qemu_gdb_command"]
