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
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgefact.errors import EdgefactError, MissingToolError
from edgefact.report.logproto import LogFeeder, Record
from edgefact.targets import Target
from edgefact.targets.runners.base import (
    Runner,
    RunResult,
    RunTimeoutError,
    register_runner,
    result_from_log,
)
from edgefact.targets.runners.rtt import RTT_READY_SYMBOL, RTT_SYMBOL, RttReader, rtt_symbol_address

GDB_HINT = "install it: sudo apt-get install gdb-multiarch"
QEMU_HINT = "install it: sudo apt-get install qemu-system-arm"
SERVER_KINDS = ("qemu", "openocd", "pyocd", "jlink", "generic")
#: function the firmware template calls to end a run (status in r0)
EXIT_SYMBOLS = ("ef_exit", "_exit")
#: where the vector table lives in edgefact firmware (section name, then symbol)
VECTOR_SECTIONS = (".vectors", ".isr_vector", ".vector_table")
#: after the end record, wait this long for the exit before stopping anyway
END_GRACE_S = 2.0


def find_gdb(preferred: str | None = None) -> str:
    """gdb-multiarch (or arm-none-eabi-gdb); MissingToolError with the apt command otherwise."""
    for name in ([preferred] if preferred else []) + ["gdb-multiarch", "arm-none-eabi-gdb"]:
        path = shutil.which(name)
        if path:
            return path
    raise MissingToolError(f"{preferred or 'gdb-multiarch'} not found on PATH; {GDB_HINT}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def parse_server(spec: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``:PORT`` or ``PORT`` -> (host, port)."""
    host, _, port = spec.rpartition(":")
    try:
        num = int(port)
    except ValueError:
        num = -1
    if not 0 < num < 65536:
        raise EdgefactError(f"--gdb-server '{spec}' is not HOST:PORT (e.g. localhost:3333 for OpenOCD, "
                            "localhost:3333 for pyocd gdbserver, localhost:1234 for qemu -s)")
    return host or "127.0.0.1", num


def vector_table(elf: Path) -> tuple[int, int]:
    """(initial SP, reset handler address) from the ELF's vector table."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(elf, "rb") as f:
            ef = ELFFile(f)
            sec = next((ef.get_section_by_name(n) for n in VECTOR_SECTIONS if ef.get_section_by_name(n)), None)
            if sec is None:  # the lowest allocated, loaded section
                cands = [s for s in ef.iter_sections() if s["sh_flags"] & 0x2 and s["sh_type"] == "SHT_PROGBITS"]
                if not cands:
                    raise EdgefactError(f"{elf}: no loadable sections; is it a firmware ELF?")
                sec = min(cands, key=lambda s: s["sh_addr"])
            data = sec.data()[:8]
    except (ELFError, OSError) as exc:
        raise EdgefactError(f"{elf}: cannot read the ELF ({exc}); rebuild the firmware") from None
    if len(data) < 8:
        raise EdgefactError(f"{elf}: vector table too short")
    return int.from_bytes(data[:4], "little"), int.from_bytes(data[4:8], "little")


def elf_symbols(elf: Path, names: Sequence[str]) -> list[str]:
    """Which of ``names`` are function symbols of ``elf``."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    found: set[str] = set()
    with open(elf, "rb") as f:
        for sec in ELFFile(f).iter_sections():
            if isinstance(sec, SymbolTableSection):
                for sym in sec.iter_symbols():
                    if sym.name in names and sym["st_info"]["type"] == "STT_FUNC":
                        found.add(sym.name)
    return [n for n in names if n in found]


def qemu_gdb_command(target: Target, port: int, semihosting: str) -> list[str]:
    """QEMU halted at reset with its gdbstub on ``port``; the ELF is loaded through GDB.

    The same emulation options as the ``qemu`` runner (exact instruction counting with
    ``-icount shift=10``), so both runners report identical counts.
    """
    if target.qemu_machine is None:
        raise EdgefactError(f"target '{target.name}' has no emulator; give --gdb-server HOST:PORT of its GDB server")
    qemu = shutil.which("qemu-system-arm")
    if qemu is None:
        raise MissingToolError(f"qemu-system-arm not found on PATH; {QEMU_HINT}")
    sh_target = "gdb" if semihosting == "gdb" else "native"
    return [qemu, "-M", target.qemu_machine, "-display", "none", "-nographic", "-monitor", "none",
            "-serial", "null", "-icount", "shift=10", "-semihosting-config", f"enable=on,target={sh_target}",
            "-gdb", f"tcp:127.0.0.1:{port}", "-S"]


@dataclass
class MiEvents:
    """What the MI reader thread saw besides command results."""

    stopped: list[dict[str, Any]] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    closed: bool = False


class MiSession:
    """A minimal GDB/MI client: token-matched commands, target stream to a callback."""

    def __init__(self, gdb: str, on_target_output: Callable[[str], None]) -> None:
        self.proc = subprocess.Popen([gdb, "--nx", "--quiet", "--interpreter=mi3"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.on_target_output = on_target_output
        self.events = MiEvents()
        self._results: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stop_cv = threading.Condition()
        self._token = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        from pygdbmi.gdbmiparser import parse_response

        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line or line.startswith("(gdb)"):
                continue
            try:
                rec = parse_response(line)
            except Exception:  # not MI (e.g. a warning printed by gdb itself)
                self.events.console.append(line)
                continue
            kind = rec.get("type")
            if kind == "target":
                self.on_target_output(rec.get("payload") or "")
            elif kind in ("console", "log", "output"):
                self.events.console.append(str(rec.get("payload") or ""))
            elif kind == "result" and rec.get("token") is not None:
                self._results.put(rec)
            elif kind == "notify" and rec.get("message") == "stopped":
                with self._stop_cv:
                    self.events.stopped.append(rec.get("payload") or {})
                    self._stop_cv.notify_all()
        with self._stop_cv:
            self.events.closed = True
            self._stop_cv.notify_all()

    def command(self, cmd: str, timeout_s: float = 20.0, check: bool = True) -> dict[str, Any]:
        """Send one MI command and wait for its result record (``^done``/``^error``...)."""
        self._token += 1
        token = self._token
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(f"{token}{cmd}\n".encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise EdgefactError(f"gdb exited before '{cmd}': " + " ".join(self.events.console[-5:])) from None
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EdgefactError(f"gdb did not answer '{cmd}' within {timeout_s:g} s: "
                                    + " ".join(self.events.console[-5:]).strip())
            try:
                rec = self._results.get(timeout=min(left, 0.1))
            except queue.Empty:
                if self.proc.poll() is not None and self._results.empty():
                    raise EdgefactError(f"gdb exited during '{cmd}': " + " ".join(self.events.console[-5:])) from None
                continue
            if rec["token"] != token:
                continue
            if check and rec["message"] == "error":
                msg = (rec.get("payload") or {}).get("msg", "")
                raise EdgefactError(f"gdb: '{cmd}' failed: {msg}")
            return rec

    def console_cmd(self, text: str, timeout_s: float = 20.0, check: bool = True) -> dict[str, Any]:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        return self.command(f'-interpreter-exec console "{escaped}"', timeout_s, check)

    def wait_stopped(self, count_before: int, timeout_s: float) -> dict[str, Any] | None:
        """The first stop event after ``count_before`` events, or None on timeout / connection end."""
        deadline = time.monotonic() + timeout_s
        with self._stop_cv:
            while len(self.events.stopped) <= count_before and not self.events.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._stop_cv.wait(min(left, 0.1))
            return self.events.stopped[count_before] if len(self.events.stopped) > count_before else None

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"-gdb-exit\n")
                self.proc.stdin.flush()
            try:
                self.proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc)
        self._reader.join(timeout=2.0)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=5.0)


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


@register_runner("gdb")
class GdbRunner(Runner):
    """Options:

    ``gdb_server``  HOST:PORT of a running server; None starts QEMU with its gdbstub (emulated cores).
    ``server``      qemu | openocd | pyocd | jlink | generic (default: qemu without gdb_server, else generic).
    ``semihosting`` gdb (output through GDB, default) | chardev (QEMU's own output; only when we start QEMU).
    ``exit_symbol`` function whose entry ends the run (default: ef_exit when present and the server
                    is not QEMU; QEMU ends by itself on semihosting exit).
    ``gdb``         the GDB executable (default gdb-multiarch).
    ``load``        False to run what is already in flash.
    ``channel``     auto (RTT when the ELF has ``_SEGGER_RTT``, else semihosting) | semihosting | rtt.
    ``rtt_poll_s``  seconds between RTT reads (each one halts the core briefly).
    """

    def __init__(self, gdb_server: str | None = None, server: str | None = None, semihosting: str = "gdb",
                 exit_symbol: str | None = None, gdb: str | None = None, load: bool = True,
                 channel: str = "auto", rtt_poll_s: float = 0.05, **options: Any) -> None:
        super().__init__(gdb_server=gdb_server, server=server, semihosting=semihosting, **options)
        if gdb_server is not None:
            parse_server(gdb_server)  # fail early on a malformed HOST:PORT
        self.gdb_server = gdb_server
        self.server = server or ("qemu" if gdb_server is None else "generic")
        if self.server not in SERVER_KINDS:
            raise EdgefactError(f"unknown GDB server kind '{self.server}'; valid: {', '.join(SERVER_KINDS)}")
        if semihosting not in ("gdb", "chardev"):
            raise EdgefactError(f"semihosting '{semihosting}' unknown; valid: gdb, chardev")
        if semihosting == "chardev" and gdb_server is not None:
            raise EdgefactError("semihosting=chardev reads QEMU's own output and needs the runner to start QEMU; "
                                "drop --gdb-server or use semihosting=gdb")
        if channel not in ("auto", "semihosting", "rtt"):
            raise EdgefactError(f"log channel '{channel}' unknown; valid: auto, semihosting, rtt")
        self.channel = channel
        self.rtt_poll_s = rtt_poll_s
        self.semihosting = semihosting
        self.exit_symbol = exit_symbol
        self.gdb = gdb
        self.load = load

    def check_available(self) -> None:
        find_gdb(self.gdb)
        if self.gdb_server is None and shutil.which("qemu-system-arm") is None:
            raise MissingToolError(f"qemu-system-arm not found on PATH; {QEMU_HINT}")

    # -- set-up per server kind ---------------------------------------------------------------
    def _prepare_core(self, mi: MiSession, elf: Path) -> None:
        if self.server in ("openocd", "pyocd", "jlink"):
            reset = "monitor reset halt" if self.server != "jlink" else "monitor reset"
            mi.console_cmd(reset)
        if self.server == "openocd":
            mi.console_cmd("monitor arm semihosting enable", check=False)
            mi.console_cmd("monitor arm semihosting_fileio enable", check=False)
        if self.load:
            mi.command("-target-download", timeout_s=120.0)
        if self.server in ("openocd", "pyocd", "jlink"):
            mi.console_cmd(reset)  # the core fetches SP/PC from the freshly written vector table
        else:
            sp, pc = vector_table(elf)
            mi.console_cmd(f"set $sp = {sp:#x}")
            mi.console_cmd(f"set $pc = {pc & ~1:#x}")
            mi.console_cmd("set $xpsr = 0x01000000")  # Thumb state, as after reset

    def _exit_breakpoint(self, mi: MiSession, elf: Path) -> str | None:
        if self.exit_symbol:
            names = [self.exit_symbol]
        elif self.server == "qemu":
            return None
        else:
            names = elf_symbols(elf, EXIT_SYMBOLS)[:1]
        if not names:
            return None
        rec = mi.command(f"-break-insert {names[0]}")
        return str(rec["payload"]["bkpt"]["number"])

    def run(self, artifact: Path, target: Target, timeout_s: float = 60.0,
            on_record: Callable[[Record], None] | None = None) -> RunResult:
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
            qemu = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, start_new_session=True)
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
                if qemu.poll() is None:
                    _kill_group(qemu)
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
        names = [self.exit_symbol] if self.exit_symbol else elf_symbols(elf, EXIT_SYMBOLS)[:1]
        bkpt = str(mi.command(f"-break-insert {names[0]}")["payload"]["bkpt"]["number"]) if names else None
        ready = None
        if elf_symbols(elf, (RTT_READY_SYMBOL,)):  # attach before the first record: blocking mode
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
    host, port = parse_server(gdb_server)
    mi = MiSession(find_gdb(gdb), lambda _text: None)
    try:
        mi.command("-gdb-set confirm off")
        mi.command(f'-file-exec-and-symbols "{elf}"')
        rec = mi.command(f"-target-select remote {host}:{port}", timeout_s=15.0, check=False)
        if rec["message"] != "connected":
            raise EdgefactError(f"cannot connect to the GDB server at {host}:{port} "
                                f"({(rec.get('payload') or {}).get('msg', '')}); start it first and check --gdb-server")
        if server in ("openocd", "pyocd"):
            mi.console_cmd("monitor reset halt")
        mi.command("-target-download", timeout_s=300.0)
        if reset and server in ("openocd", "pyocd", "jlink"):
            mi.console_cmd("monitor reset run" if server == "openocd" else "monitor reset", check=False)
        mi.command("-target-detach", check=False)
    finally:
        mi.close()
