"""Real-board runners: gdb through QEMU's own GDB server, serial through a pty, pyocd
through test doubles of the pyOCD API (no hardware here), and the flash/bench commands."""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edgefact.cli import cli
from edgefact.errors import EdgefactError
from edgefact.firmware.elf import vector_table
from edgefact.report.logproto import encode_record, parse_log
from edgefact.targets import get_target
from edgefact.targets.runners import FirmwareFaultError, RunTimeoutError, get_runner
from edgefact.targets.runners.gdb import free_port, qemu_gdb_command

ROOT = Path(__file__).resolve().parents[1]
HAVE_ARM = shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc") and shutil.which("gdb-multiarch")
needs_arm = pytest.mark.skipif(not HAVE_ARM, reason="needs qemu-system-arm, arm-none-eabi-gcc, gdb-multiarch")


# ------------------------------------------------------------------ fixtures: one firmware, one direct run
@pytest.fixture(scope="session")
def demo_elf() -> Path:
    """The template's demo app for cortex-m7 (build_firmware skips the build when nothing changed)."""
    from edgefact.firmware.build import DEMO_SOURCES, build_firmware

    return build_firmware(get_target("cortex-m7"), list(DEMO_SOURCES), [], ROOT / ".cache" / "test_runners_boards" / "m7")


@pytest.fixture(scope="session")
def direct_run(demo_elf: Path):
    """The same firmware run by QEMU directly (-kernel), semihosting on stderr."""
    cmd = [c for c in qemu_gdb_command(get_target("cortex-m7"), 1, "chardev") if c not in ("-S",)]
    i = cmd.index("-gdb")
    del cmd[i:i + 2]
    proc = subprocess.run([*cmd, "-kernel", str(demo_elf)], capture_output=True, timeout=60)
    log = parse_log(proc.stderr)
    assert proc.returncode == 0 and log.status == 0 and not log.errors
    return log


_MISBEHAVING_APP = r"""
#include "ef_app.h"
#include "ef_log.h"
int ef_app_setup(void) { ef_log_msg("setting up"); return 0; }
volatile unsigned ef_spin;
int ef_app_run(void)
{
#ifdef EF_TEST_HANG
    for (;;) { ef_spin++; }
#else
    return *(volatile int *)0xFFFFFFF0u; /* bus fault */
#endif
}
void ef_app_report(void) {}
"""


@pytest.fixture(scope="session")
def misbehaving_elfs() -> dict[str, Path]:
    """Two tiny apps on the template: one spins forever in ef_app_run, one takes a bus fault."""
    from edgefact.firmware.build import build_firmware

    root = ROOT / ".cache" / "test_runners_boards"
    src = root / "misbehave.c"
    if not src.is_file() or src.read_text() != _MISBEHAVING_APP:
        root.mkdir(parents=True, exist_ok=True)
        src.write_text(_MISBEHAVING_APP)
    return {"hang": build_firmware(get_target("cortex-m4"), [src], [], root / "hang", defines={"EF_TEST_HANG": 1}),
            "fault": build_firmware(get_target("cortex-m4"), [src], [], root / "fault")}


def _same_figures(result, log) -> None:
    assert result.exit_status == 0 and result.ok
    assert result.unit == log.unit == "instructions (emulated)"
    assert result.regions == log.regions and len(result.regions) >= 2
    assert result.totals == log.totals and result.total > 0
    assert result.log.checksums == log.checksums
    assert result.log.outputs() == log.outputs()
    assert result.peak_stack == log.peak_stack
    assert not result.log.errors


# ------------------------------------------------------------------ gdb runner
@needs_arm
@pytest.mark.qemu
@pytest.mark.parametrize("semihosting", ["gdb", "chardev"])
def test_gdb_runner_started_qemu_gdbstub_equals_direct_run(demo_elf, direct_run, semihosting) -> None:
    """The runner starts QEMU halted (-S) with its gdbstub, loads the ELF over the remote protocol."""
    seen: list[str] = []
    runner = get_runner("gdb", semihosting=semihosting)
    result = runner.run(demo_elf, get_target("cortex-m7"), timeout_s=60, on_record=lambda r: seen.append(r.type))
    _same_figures(result, direct_run)
    assert "-S" in result.command and "-gdb" in result.command and "-kernel" not in result.command
    assert seen[0] == "hello" and seen[-1] == "end"


@needs_arm
@pytest.mark.qemu
def test_gdb_runner_external_server_with_exit_breakpoint(demo_elf, direct_run) -> None:
    """A GDB server we did not start (like `qemu -s -S`, OpenOCD, pyOCD): exit seen by a breakpoint on ef_exit."""
    port = free_port()
    qemu = subprocess.Popen(qemu_gdb_command(get_target("cortex-m7"), port, "gdb"), stderr=subprocess.DEVNULL)
    try:
        result = get_runner("gdb", gdb_server=f"localhost:{port}", server="generic").run(
            demo_elf, get_target("cortex-m7"), timeout_s=60)
        _same_figures(result, direct_run)
    finally:
        qemu.kill()
        qemu.wait()


@needs_arm
@pytest.mark.qemu
def test_gdb_runner_explains_unhandled_semihosting(demo_elf) -> None:
    """A server without semihosting stops at the BKPT 0xAB: the error says how to enable it."""
    port = free_port()
    cmd = qemu_gdb_command(get_target("cortex-m7"), port, "gdb")
    i = cmd.index("-semihosting-config")
    del cmd[i:i + 2]
    qemu = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    try:
        with pytest.raises(EdgefactError, match="enable semihosting"):
            get_runner("gdb", gdb_server=f"127.0.0.1:{port}").run(demo_elf, get_target("cortex-m7"), timeout_s=20)
    finally:
        qemu.kill()
        qemu.wait()


@needs_arm
@pytest.mark.qemu
def test_gdb_runner_timeout_names_where_the_core_was_and_faults_name_registers(misbehaving_elfs) -> None:
    m4 = get_target("cortex-m4")
    with pytest.raises(RunTimeoutError, match=r"did not finish within 2 s \(stopped at 0x[0-9a-f]+ in ef_app_run\)") as info:
        get_runner("gdb").run(misbehaving_elfs["hang"], m4, timeout_s=2)
    assert any("setting up" in line for line in info.value.tail)
    with pytest.raises(FirmwareFaultError, match="CFSR=") as fault:
        get_runner("gdb").run(misbehaving_elfs["fault"], m4, timeout_s=30)
    assert fault.value.exit_status == 3


def test_gdb_runner_bad_input_errors(tmp_path) -> None:
    with pytest.raises(EdgefactError, match="not HOST:PORT"):
        get_runner("gdb", gdb_server="localhost")
    with pytest.raises(EdgefactError, match="valid: qemu, openocd"):
        get_runner("gdb", server="bogus")
    with pytest.raises(EdgefactError, match="no such firmware"):
        get_runner("gdb").run(tmp_path / "missing.elf", get_target("cortex-m7"))


@needs_arm
def test_vector_table_is_read_from_the_elf(demo_elf) -> None:
    sp, pc = vector_table(demo_elf)
    m7 = get_target("cortex-m7")
    ram = m7.region("data")
    assert ram is not None and ram.origin < sp <= ram.origin + ram.length
    assert pc & 1  # Thumb


# ------------------------------------------------------------------ serial runner
@pytest.fixture(scope="session")
def uart_only_elf() -> Path:
    """The demo built like a stand-alone board firmware: UART log only, and no semihosting exit (it
    idles after the end record, so the pty stays open as a board's port would)."""
    from edgefact.firmware.build import DEMO_SOURCES, build_firmware

    return build_firmware(get_target("cortex-m7"), list(DEMO_SOURCES), [], ROOT / ".cache" / "test_runners_boards" / "m7-uart",
                          defines={"EF_LOG_SEMIHOST": 0})


@needs_arm
@pytest.mark.qemu
def test_serial_runner_reads_qemu_uart_through_a_pty(uart_only_elf, direct_run) -> None:
    """QEMU's UART on a pseudo-terminal (-serial pty), read with pyserial; started after the port is open."""
    cmd = [*qemu_gdb_command(get_target("cortex-m7"), 1, "chardev"), "-kernel", str(uart_only_elf)]
    i = cmd.index("-gdb")
    del cmd[i:i + 2]
    cmd[cmd.index("-serial") + 1] = "pty"
    cmd[cmd.index("-monitor") + 1] = "stdio"
    qemu = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        buf = b""
        deadline = time.monotonic() + 10
        while b"/dev/pts/" not in buf and time.monotonic() < deadline:
            ready, _, _ = select.select([qemu.stdout, qemu.stderr], [], [], 0.2)
            for f in ready:
                buf += f.read1(4096)
        m = re.search(rb"(/dev/pts/\d+)", buf)
        assert m, buf
        assert qemu.stdin is not None

        def start(_elf: Path, _target: Any) -> None:
            qemu.stdin.write(b"cont\n")  # the CPU was halted (-S) until the port was open
            qemu.stdin.flush()

        result = get_runner("serial", port=m.group(1).decode(), baud=115200, start=start).run(
            uart_only_elf, get_target("cortex-m7"), timeout_s=30)
        _same_figures(result, direct_run)
        assert result.command == [f"serial {m.group(1).decode()} @ 115200 baud"]
    finally:
        qemu.kill()
        qemu.wait()


def _records(*items: dict) -> bytes:
    return b"".join((encode_record(d) + "\r\n").encode() for d in items)


def test_serial_runner_parses_chunked_uart_stream_and_stops_at_end() -> None:
    """A pty pair made here: boot noise, records split at random points, then bytes after the end record."""
    master, slave = os.openpty()
    port = os.ttyname(slave)
    log = b"boot v1.2\r\n" + _records(
        {"t": "hello", "v": 1, "unit": "cycles (device)", "target": "nucleo-h743zi"},
        {"t": "total", "run": 0, "count": 123456},
        {"t": "region", "id": 0, "name": "conv", "count": 100000, "calls": 1},
        {"t": "end", "status": 0},
    ) + b"garbage after the end that must not be waited for"

    def write() -> None:
        for k in range(0, len(log), 7):
            os.write(master, log[k:k + 7])
            time.sleep(0.001)

    writer = threading.Thread(target=write, daemon=True)
    try:
        result = get_runner("serial", port=port, baud=921600, start=lambda *_: writer.start()).run(
            Path("fw.elf"), get_target("nucleo-h743zi"), timeout_s=10)
    finally:
        writer.join(timeout=5)
        os.close(master)
        os.close(slave)
    assert result.exit_status == 0 and result.unit == "cycles (device)"
    assert result.totals == [123456] and result.regions == {"conv": 100000}
    assert result.log.noise == ["boot v1.2"] and not result.log.errors


def test_serial_runner_timeout_and_fault() -> None:
    master, slave = os.openpty()
    try:
        with pytest.raises(RunTimeoutError, match="no bytes at all.*--baud"):
            get_runner("serial", port=os.ttyname(slave)).run(Path("fw.elf"), get_target("cortex-m4"), timeout_s=0.3)
        faulting = _records({"t": "hello", "v": 1, "unit": "cycles (device)"},
                            {"t": "fault", "cfsr": 0x8200, "hfsr": 0x40000000, "pc": 0x1234})
        with pytest.raises(FirmwareFaultError, match="CFSR=0x00008200"):
            get_runner("serial", port=os.ttyname(slave), start=lambda *_: os.write(master, faulting)).run(
                Path("fw.elf"), get_target("cortex-m4"), timeout_s=5)
    finally:
        os.close(master)
        os.close(slave)
    with pytest.raises(EdgefactError, match="cannot open serial port.*list_ports"):
        get_runner("serial", port="/dev/does-not-exist").run(Path("fw.elf"), get_target("cortex-m4"), timeout_s=1)
    with pytest.raises(EdgefactError, match="needs a port"):
        get_runner("serial").run(Path("fw.elf"), get_target("cortex-m4"))


# ------------------------------------------------------------------ pyocd runner (test doubles)
class FakeCortexM:
    """A halted/running Cortex-M as pyOCD's target object exposes it, executing a script of semihosting calls."""

    BKPT_ADDR = 0x0800_0100
    BUF = 0x2000_0000

    def __init__(self, script: list[tuple]) -> None:
        from pyocd.core.target import Target as PyocdTarget

        self.State = PyocdTarget.State
        self.script = list(script)
        self.mem: dict[int, int] = {}
        self.regs: dict[str, int] = {"pc": 0x0800_0000, "lr": 0xFFFFFFFF, "r0": 0, "r1": 0}
        self.state = self.State.HALTED
        self.core = self  # the semihost agent calls context.core.find_breakpoint
        self.calls: list[str] = []
        self.dfsr = 0
        self.halted_on: str | None = None

    # memory
    def _store(self, addr: int, data: bytes) -> None:
        for k, b in enumerate(data):
            self.mem[addr + k] = b

    def read_memory_block8(self, addr: int, n: int) -> list[int]:
        return [self.mem.get(addr + k, 0) for k in range(n)]

    def read_memory_block32(self, addr: int, n: int) -> list[int]:
        return [self.read32(addr + 4 * k) for k in range(n)]

    def read32(self, addr: int) -> int:
        if addr == 0xE000ED30:
            return self.dfsr
        return int.from_bytes(bytes(self.read_memory_block8(addr, 4)), "little")

    def read16(self, addr: int) -> int:
        return int.from_bytes(bytes(self.read_memory_block8(addr, 2)), "little")

    def write32(self, addr: int, value: int) -> None:
        self.calls.append(f"write32 {addr:#x} {value:#x}")
        self._store(addr, value.to_bytes(4, "little"))

    # core
    def read_core_register(self, name: str) -> int:
        return self.regs[name]

    def write_core_register(self, name: str, value: int) -> None:
        self.regs[name] = value

    def find_breakpoint(self, addr: int) -> None:
        return None

    def get_target_context(self) -> FakeCortexM:
        self.calls.append("get_target_context")
        return self

    def get_state(self):
        return self.state

    def reset_and_halt(self) -> None:
        self.calls.append("reset_and_halt")
        self.state = self.State.HALTED

    def reset(self) -> None:
        self.calls.append("reset")

    def halt(self) -> None:
        self.calls.append("halt")
        self.state = self.State.HALTED

    def resume(self) -> None:
        self.calls.append("resume")
        if not self.script:
            self.state = self.State.RUNNING  # spins forever
            return
        step = self.script.pop(0)
        self.dfsr = 0
        self.state = self.State.HALTED
        if step[0] == "hang":
            self.state = self.State.RUNNING
            return
        if step[0] == "fault":
            self._store(0xE000ED28, (0x0001_0000).to_bytes(4, "little"))  # CFSR.UNDEFINSTR
            self.regs["pc"] = 0x0800_0444
            self.state = self.State.LOCKUP if step[1] == "lockup" else self.State.HALTED
            return
        self.dfsr = 0x2
        self.regs["pc"] = self.BKPT_ADDR
        self._store(self.BKPT_ADDR, (0xBEAB).to_bytes(2, "little"))
        if step[0] == "write0":
            self._store(self.BUF, step[1].encode() + b"\0")
            self.regs["r0"], self.regs["r1"] = 0x04, self.BUF
        elif step[0] == "write":  # SYS_WRITE(fd, ptr, len) with an argument block
            data = step[1].encode()
            self._store(self.BUF + 0x1000, data)
            self._store(self.BUF + 0x100, b"".join(v.to_bytes(4, "little") for v in (1, self.BUF + 0x1000, len(data))))
            self.regs["r0"], self.regs["r1"] = 0x05, self.BUF + 0x100
        elif step[0] == "exit":
            self._store(self.BUF + 0x200, (0x20026).to_bytes(4, "little") + step[1].to_bytes(4, "little"))
            self.regs["r0"], self.regs["r1"] = 0x20, self.BUF + 0x200


class FakeSession:
    def __init__(self, target: FakeCortexM) -> None:
        self.board = type("Board", (), {"target": target})()
        self.opened = False

    def __enter__(self) -> FakeSession:
        self.opened = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.opened = False


class FakeProgrammer:
    programmed: list[tuple[str, str | None]] = []

    def __init__(self, session: FakeSession) -> None:
        assert session.opened
        self.session = session

    def program(self, path: str, file_format: str | None = None) -> None:
        FakeProgrammer.programmed.append((path, file_format))


def _firmware_script(exit_code: int = 0) -> list[tuple]:
    recs = [encode_record(d) + "\n" for d in (
        {"t": "hello", "v": 1, "unit": "cycles (device)", "target": "nucleo-h743zi"},
        {"t": "total", "run": 0, "count": 4242},
        {"t": "region", "id": 0, "name": "conv", "count": 4000, "calls": 1},
        {"t": "end", "status": exit_code},
    )]
    # one record split over two SYS_WRITE calls, the others by SYS_WRITE0
    half = len(recs[1]) // 2
    return [("write0", recs[0]), ("write", recs[1][:half]), ("write", recs[1][half:]), ("write0", recs[2]),
            ("write0", recs[3]), ("exit", exit_code)]


@pytest.fixture
def fake_pyocd(monkeypatch):
    """Replace pyOCD's ConnectHelper and FileProgrammer with the doubles; record how they were called."""
    import pyocd.core.helpers
    import pyocd.flash.file_programmer

    made: dict[str, Any] = {}

    def session_with_chosen_probe(**kwargs: Any) -> FakeSession | None:
        made["kwargs"] = kwargs
        return made.get("session")

    monkeypatch.setattr(pyocd.core.helpers.ConnectHelper, "session_with_chosen_probe",
                        staticmethod(session_with_chosen_probe))
    monkeypatch.setattr(pyocd.flash.file_programmer, "FileProgrammer", FakeProgrammer)
    FakeProgrammer.programmed = []
    return made


def test_pyocd_runner_flashes_runs_and_parses_semihosting(fake_pyocd, tmp_path) -> None:
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    core = FakeCortexM(_firmware_script())
    fake_pyocd["session"] = FakeSession(core)
    result = get_runner("pyocd", probe="0669FF").run(elf, get_target("nucleo-h743zi"), timeout_s=5)
    assert fake_pyocd["kwargs"]["unique_id"] == "0669FF"
    assert fake_pyocd["kwargs"]["options"]["target_override"] == "stm32h743xx"
    assert FakeProgrammer.programmed == [(str(elf), "elf")]
    assert core.calls[:2] == ["reset_and_halt", "write32 0xe000edfc 0x1000000"]
    assert "get_target_context" in core.calls
    assert "write32 0xe000edfc 0x1000000" in core.calls  # DEMCR.TRCENA for the cycle counter
    assert result.exit_status == 0 and result.ok
    assert result.unit == "cycles (device)" and result.totals == [4242] and result.regions == {"conv": 4000}
    assert not result.log.errors


def test_pyocd_runner_exit_status_fault_lockup_and_timeout(fake_pyocd, tmp_path) -> None:
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    board = get_target("nucleo-h743zi")
    fake_pyocd["session"] = FakeSession(FakeCortexM(_firmware_script(exit_code=1)))
    result = get_runner("pyocd").run(elf, board, timeout_s=5)
    assert result.exit_status == 1 and not result.ok
    for how in ("halt", "lockup"):
        fake_pyocd["session"] = FakeSession(FakeCortexM([("write0", "booting\n"), ("fault", how)]))
        with pytest.raises(FirmwareFaultError, match="CFSR=0x00010000.*PC=0x08000444"):
            get_runner("pyocd").run(elf, board, timeout_s=5)
    fake_pyocd["session"] = FakeSession(FakeCortexM([("write0", "stuck in a loop\n"), ("hang",)]))
    with pytest.raises(RunTimeoutError, match="did not exit within 0.2 s") as info:
        get_runner("pyocd").run(elf, board, timeout_s=0.2)
    assert "stuck in a loop" in str(info.value)


def test_pyocd_runner_errors_name_the_fix(fake_pyocd, tmp_path) -> None:
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    fake_pyocd["session"] = None
    with pytest.raises(EdgefactError, match="no debug probe found.*pyocd list"):
        get_runner("pyocd").run(elf, get_target("nucleo-h743zi"))
    with pytest.raises(EdgefactError, match="no pyOCD target type known for 'cortex-m7'.*--pyocd-target"):
        get_runner("pyocd").run(elf, get_target("cortex-m7"))


def test_flash_command_uses_pyocd(fake_pyocd, tmp_path) -> None:
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    core = FakeCortexM([])
    fake_pyocd["session"] = FakeSession(core)
    res = CliRunner().invoke(cli, ["flash", "--target", "nrf52840dk", str(elf)])
    assert res.exit_code == 0, res.output
    assert FakeProgrammer.programmed == [(str(elf), "elf")] and core.calls == ["reset"]
    assert fake_pyocd["kwargs"]["options"]["target_override"] == "nrf52840"
    res = CliRunner().invoke(cli, ["flash", "--target", "cortex-m7", str(elf)])
    assert res.exit_code != 0 and "not a board" in str(res.exception)


@needs_arm
@pytest.mark.qemu
def test_bench_command_prints_figures_with_units(demo_elf, direct_run) -> None:
    res = CliRunner().invoke(cli, ["bench", "--target", "stm32f746g-disco", "--runner", "gdb", str(demo_elf)])
    assert res.exit_code == 0, res.output
    total = direct_run.totals[0]
    assert f"total: {total:,} instructions (emulated) per inference" in res.output
    assert f"= {1e3 * total / 216e6:.3f} ms at 216 MHz (estimate: 1 instruction per cycle)" in res.output
    for name, count in direct_run.regions.items():
        assert re.search(rf"\| {name}\s+\|\s+{count:,} \|", res.output)


def test_bench_serial_flashes_with_pyocd_after_opening_the_port(fake_pyocd, tmp_path) -> None:
    """`bench --runner serial --flash`: the board is flashed (pyOCD doubles) and reset, then its UART log is read."""
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    master, slave = os.openpty()

    class Booting(FakeCortexM):
        def reset(self) -> None:  # the board boots and prints its log on the UART
            super().reset()
            os.write(master, _records({"t": "hello", "v": 1, "unit": "cycles (device)"},
                                      {"t": "total", "run": 0, "count": 777},
                                      {"t": "region", "id": 0, "name": "fc", "count": 700, "calls": 1},
                                      {"t": "end", "status": 0}))

    core = Booting([])
    fake_pyocd["session"] = FakeSession(core)
    try:
        res = CliRunner().invoke(cli, ["bench", "--target", "nucleo-h743zi", "--runner", "serial", "--port",
                                       os.ttyname(slave), "--baud", "230400", "--flash", "--timeout", "10", str(elf)])
    finally:
        os.close(master)
        os.close(slave)
    assert res.exit_code == 0, res.output
    assert FakeProgrammer.programmed == [(str(elf), "elf")] and core.calls == ["reset"]
    assert "total: 777 cycles (device) per inference = 0.002 ms at 480 MHz (measured cycles)" in res.output
    assert re.search(r"\| fc\s+\|\s+700 \|", res.output)


def test_bench_and_flash_option_errors(tmp_path) -> None:
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    cases = [
        (["bench", "--target", "nucleo-h743zi", "--runner", "serial", str(elf)], "needs --port"),
        (["flash", "--target", "nucleo-h743zi", "--runner", "gdb", str(elf)], "needs --gdb-server"),
        (["bench", "--target", "no-such-board", str(elf)], "valid boards: "),
        (["bench", "--target", "cortex-m7", "--runner", "gdb", "--gdb-server", "nope", str(elf)], "not HOST:PORT"),
    ]
    for args, message in cases:
        res = CliRunner().invoke(cli, args)
        assert res.exit_code != 0 and message in str(res.exception), (args, res.output, res.exception)


def test_pyocd_target_type_and_pack_hint_come_from_the_board_file() -> None:
    from edgefact.targets.runners.pyocd import open_session, pyocd_boards, pyocd_target_type

    def refuse(**_kwargs: Any) -> Any:
        raise RuntimeError("target type not supported")

    assert pyocd_target_type(get_target("nucleo-h743zi")) == "stm32h743xx"
    assert pyocd_target_type(get_target("nucleo-h743zi"), "stm32h750xx") == "stm32h750xx"
    assert "stm32f746g-disco" in pyocd_boards() and "cortex-m7" not in pyocd_boards()
    with pytest.raises(EdgefactError, match="pyocd pack install stm32f746nghx"):
        open_session(get_target("stm32f746g-disco"), session_factory=refuse)
    with pytest.raises(EdgefactError) as info:
        open_session(get_target("nucleo-h743zi"), session_factory=refuse)
    assert "pack install" not in str(info.value)
