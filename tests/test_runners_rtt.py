"""RTT log channel: the firmware's RTT up-buffer read through QEMU's GDB server must
give the same log as a direct QEMU run; the host reader's ring arithmetic; the pyocd runner's RTT
path with a fake core whose firmware writes the RTT protocol."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edgefact.errors import EdgefactError
from edgefact.firmware.elf import symbol_address
from edgefact.report.logproto import encode_record
from edgefact.targets import get_target
from edgefact.targets.runners import get_runner
from edgefact.targets.runners.rtt import (
    RTT_ID,
    RTT_READY_SYMBOL,
    RttError,
    RttReader,
    rtt_symbol_address,
    scan_for_control_block,
)

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "test_boards_rtt"
HAVE_ARM = all(shutil.which(t) for t in ("qemu-system-arm", "arm-none-eabi-gcc", "gdb-multiarch"))
needs_arm = pytest.mark.skipif(not HAVE_ARM, reason="needs qemu-system-arm, arm-none-eabi-gcc, gdb-multiarch")

#: a ring much smaller than the log: the run only completes intact if the host wraps correctly and
#: switched the buffer to blocking mode before the first record
SMALL_RING = 128


def _rtt_build(core: str) -> Path:
    from edgefact.firmware.build import DEMO_SOURCES, build_firmware

    return build_firmware(get_target(core), list(DEMO_SOURCES), [], CACHE / core,
                          defines={"EF_LOG_RTT": 1, "EF_LOG_SEMIHOST": 0, "EF_RTT_BUF_SIZE": SMALL_RING})


@pytest.fixture(scope="session")
def rtt_elfs() -> dict[str, Path]:
    return {core: _rtt_build(core) for core in ("cortex-m4", "cortex-m7")}


# ------------------------------------------------------------------ real firmware, QEMU GDB server
@needs_arm
@pytest.mark.qemu
@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m7"])
def test_rtt_through_gdb_equals_direct_run(rtt_elfs: dict[str, Path], core: str) -> None:
    elf = rtt_elfs[core]
    assert rtt_symbol_address(elf) is not None
    tgt = get_target(core)
    direct = get_runner("qemu").run(elf, tgt, timeout_s=60)  # the UART (the same bytes the firmware sends to RTT)
    via_rtt = get_runner("gdb", rtt_poll_s=0.02).run(elf, tgt, timeout_s=60)
    assert direct.ok and via_rtt.ok
    assert not via_rtt.log.errors and not via_rtt.log.noise
    # every record, in order, with the same content: hello, totals, regions, outputs, checksums, stack, end
    assert [r.data for r in via_rtt.log.records] == [r.data for r in direct.log.records]
    assert sum(len(line) + 1 for line in via_rtt.log.lines) > 3 * SMALL_RING  # the ring wrapped several times
    assert via_rtt.totals == direct.totals and via_rtt.totals[0] > 0
    assert via_rtt.regions == direct.regions and via_rtt.peak_stack == direct.peak_stack
    assert via_rtt.log.checksums == direct.log.checksums


@needs_arm
@pytest.mark.qemu
def test_rtt_channel_is_really_rtt(rtt_elfs: dict[str, Path]) -> None:
    """Forcing the semihosting channel on an image without semihosting output yields no log at all:
    the records of the test above came through RTT memory reads."""
    from edgefact.targets.runners import RunTimeoutError

    with pytest.raises(RunTimeoutError):
        get_runner("gdb", channel="semihosting").run(rtt_elfs["cortex-m4"], get_target("cortex-m4"), timeout_s=2)


@needs_arm
@pytest.mark.qemu
def test_real_part_image_through_an_external_gdb_server(tmp_path: Path) -> None:
    """The board flow end to end on the one part QEMU models exactly (Corstone-300 = mps3-an547):
    a --hardware image, a GDB server the runner did not start, log through RTT, exit status from
    the ef_exit breakpoint, the core left running after detach."""
    import subprocess

    from edgefact.firmware.build import DEMO_SOURCES, build_firmware
    from edgefact.targets.runners.gdb import free_port, qemu_gdb_command

    tgt = get_target("corstone-300")
    elf = build_firmware(tgt, list(DEMO_SOURCES), [], CACHE / "corstone-300-hw", hardware=True)
    direct = get_runner("qemu").run(elf, tgt, timeout_s=60)  # its UART, through the CMSDK port
    port = free_port()
    server = subprocess.Popen(qemu_gdb_command(tgt, port, "gdb"), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        res = get_runner("gdb", gdb_server=f"127.0.0.1:{port}", rtt_poll_s=0.02).run(elf, tgt, timeout_s=60)
        assert server.poll() is None  # detached, not killed
    finally:
        server.kill()
        server.wait(timeout=10)
    assert res.ok and res.exit_status == 0 and res.unit == "cycles (device)"
    assert [r.data for r in res.log.records] == [r.data for r in direct.log.records]
    assert res.log.hello["clock_hz"] == 32_000_000


def test_rtt_channel_needs_the_control_block(tmp_path: Path) -> None:
    fake = tmp_path / "fw.elf"
    fake.write_bytes(b"not an elf")
    with pytest.raises(EdgefactError, match="EF_LOG_RTT=1"):
        get_runner("gdb", channel="rtt").run(fake, get_target("cortex-m4"), timeout_s=5)
    with pytest.raises(EdgefactError, match="valid: auto, semihosting, rtt"):
        get_runner("pyocd", channel="swo")


# ------------------------------------------------------------------ the protocol, target side in Python
class RingTarget:
    """Target memory with an RTT control block, and a writer with the firmware's semantics."""

    def __init__(self, size: int, cb: int = 0x2000_0100, buf: int = 0x2000_1000, mode: int = 0,
                 base: int = 0x2000_0000, mem_size: int = 0x4000) -> None:
        self.mem = bytearray(mem_size)
        self.base = base
        self.cb, self.buf, self.size = cb, buf, size
        self.writes: list[tuple[int, int]] = []
        self._put(cb + 16, (1).to_bytes(4, "little") + (0).to_bytes(4, "little"))
        desc = b"".join(v.to_bytes(4, "little") for v in (0, buf, size, 0, 0, mode))
        self._put(cb + 24, desc)
        self._put(cb, RTT_ID + b"\0" * 6)

    def _put(self, addr: int, data: bytes) -> None:
        self.mem[addr - self.base:addr - self.base + len(data)] = data

    def read(self, addr: int, n: int) -> bytes:
        return bytes(self.mem[addr - self.base:addr - self.base + n])

    def write32(self, addr: int, value: int) -> None:
        self.writes.append((addr, value))
        self._put(addr, value.to_bytes(4, "little"))

    def u32(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 4), "little")

    def write(self, data: bytes) -> int:
        """The firmware's ef_rtt_write, one pass (no spinning): bytes accepted."""
        desc = self.cb + 24
        wr, rd, mode = self.u32(desc + 12), self.u32(desc + 16), self.u32(desc + 20) & 3
        room = rd - wr - 1 if rd > wr else self.size - wr + rd - 1
        if mode == 0 and room < len(data):
            return 0
        n = min(room, len(data))
        for k in range(n):
            self._put(self.buf + (wr + k) % self.size, data[k:k + 1])
        self._put(desc + 12, ((wr + n) % self.size).to_bytes(4, "little"))
        return n


def test_reader_wraps_and_sets_blocking_mode() -> None:
    t = RingTarget(size=16)
    r = RttReader(t.read, t.write32, t.cb)
    assert r.attach()
    assert (t.cb + 24 + 20, 2) in t.writes  # flags := block when full
    out = b""
    payload = bytes(range(200))
    sent = 0
    while sent < len(payload):
        sent += t.write(payload[sent:sent + 7])
        out += r.poll()
    out += r.poll()
    assert out == payload
    assert r.poll() == b""


def test_reader_waits_for_the_id_and_rejects_garbage() -> None:
    t = RingTarget(size=32)
    t._put(t.cb, b"\0" * 16)  # not initialised yet
    r = RttReader(t.read, t.write32, t.cb)
    assert not r.attach() and r.poll() == b""
    t._put(t.cb, RTT_ID + b"\0" * 6)
    assert r.attach()
    t._put(t.cb + 24 + 12, (999).to_bytes(4, "little"))  # write offset beyond the ring
    with pytest.raises(RttError, match="out of range"):
        r.poll()
    bad = RingTarget(size=1)
    with pytest.raises(RttError, match="size 1"):
        RttReader(bad.read, bad.write32, bad.cb).attach()


def test_scan_finds_the_control_block() -> None:
    t = RingTarget(size=32, cb=0x2000_0FFC)  # straddles a 4 KB scan chunk
    assert scan_for_control_block(t.read, [(0x2000_0000, 0x4000)]) == 0x2000_0FFC
    t._put(0x2000_0FFC, b"\0" * 16)
    assert scan_for_control_block(t.read, [(0x2000_0000, 0x4000)]) is None


# ------------------------------------------------------------------ pyocd runner with a fake core
class FakeRttCore:
    """pyOCD's target API over a RingTarget; the 'firmware' boots (sets up the control block in
    drop mode), stops at the ready breakpoint if one is set, then writes its log a few bytes per
    poll, honouring the buffer's mode like ef_rtt.c."""

    def __init__(self, elf: Path, lines: list[str], ring: int = 64) -> None:
        from pyocd.core.target import Target as PyocdTarget

        self.State = PyocdTarget.State
        cb = rtt_symbol_address(elf)
        assert cb is not None
        self.cb = cb
        self.ready = symbol_address(elf, RTT_READY_SYMBOL, function=True)
        self.ring_size = ring
        # RAM survives a reset: the previous run's control block is still there, with unread bytes
        self.ring: RingTarget | None = self._new_ring()
        self.ring.write(encode_record({"t": "end", "status": 7}).encode() + b"\n")
        self.startup_polls = 3  # get_state() calls while the start-up code runs (before .bss is zeroed)
        self.pending = b"".join(line.encode() for line in lines)
        self.state = self.State.HALTED
        self.booted = False
        self.breakpoints: set[int] = set()
        self.regs = {"pc": 0, "lr": 0, "r0": 0, "r1": 0}
        self.dfsr = 0
        self.core = self
        self.calls: list[str] = []

    def _new_ring(self) -> RingTarget:
        base = self.cb & ~0xFFF
        return RingTarget(self.ring_size, cb=self.cb, buf=base + 0x1800, mode=0, base=base, mem_size=0x2000)

    def _ring_addr(self, addr: int) -> bool:
        return self.ring is not None and self.ring.base <= addr < self.ring.base + len(self.ring.mem)

    def read_memory_block8(self, addr: int, n: int) -> list[int]:
        if self._ring_addr(addr):
            assert self.ring is not None
            return list(self.ring.read(addr, n))
        return [0] * n

    def read32(self, addr: int) -> int:
        if addr == 0xE000ED30:
            return self.dfsr
        return int.from_bytes(bytes(self.read_memory_block8(addr, 4)), "little")

    def read16(self, addr: int) -> int:
        return int.from_bytes(bytes(self.read_memory_block8(addr, 2)), "little")

    def write32(self, addr: int, value: int) -> None:
        self.calls.append(f"write32 {addr:#x} {value:#x}")
        if addr == 0xE000ED30:
            self.dfsr &= ~value
        elif self._ring_addr(addr):
            assert self.ring is not None
            self.ring.write32(addr, value)

    def read_core_register(self, name: str) -> int:
        return self.regs[name]

    def find_breakpoint(self, addr: int) -> None:
        return None

    def set_breakpoint(self, addr: int) -> bool:
        self.breakpoints.add(addr)
        return True

    def remove_breakpoint(self, addr: int) -> None:
        self.breakpoints.discard(addr)

    def reset_and_halt(self) -> None:
        self.state = self.State.HALTED

    def halt(self) -> None:
        self.state = self.State.HALTED

    def resume(self) -> None:
        self.state = self.State.RUNNING

    def get_state(self):
        if self.state == self.State.RUNNING and not self.booted:
            self.startup_polls -= 1
            if self.startup_polls > 0:
                return self.state  # still in the start-up code: the stale block is readable
            self.booted = True
            self.ring = self._new_ring()  # .bss zeroed, ef_rtt_init: the block in drop mode
            if self.ready in self.breakpoints:
                self.state = self.State.HALTED
                self.regs["pc"] = self.ready
                self.dfsr = 0x2
            return self.state
        if self.state == self.State.RUNNING and self.pending and self.ring is not None:
            line_end = self.pending.find(b"\n") + 1
            chunk = self.pending[:min(line_end, 20)]
            n = self.ring.write(chunk)
            self.pending = self.pending[n:]
        return self.state


def _records() -> list[str]:
    recs = [{"t": "hello", "v": 1, "unit": "cycles (device)", "target": "nucleo-h743zi", "clock_hz": 64000000}]
    recs += [{"t": "region", "id": i, "name": f"layer_{i}", "count": 1000 + i, "calls": 1} for i in range(6)]
    recs += [{"t": "total", "run": 0, "count": 9999}, {"t": "checksum", "name": "output", "value": "0e45138b"},
             {"t": "end", "status": 0}]
    return [encode_record(d) + "\n" for d in recs]


def test_pyocd_runner_reads_rtt(rtt_elfs: dict[str, Path], tmp_path: Path) -> None:
    from test_runners_boards import FakeProgrammer, FakeSession

    elf = rtt_elfs["cortex-m4"]
    core = FakeRttCore(elf, _records(), ring=48)  # every record is longer than the ring
    run = get_runner("pyocd", session_factory=lambda **kw: FakeSession(core), programmer_factory=FakeProgrammer,
                     poll_s=0.0)
    res = run.run(elf, get_target("nucleo-h743zi"), timeout_s=20)
    assert res.ok and res.unit == "cycles (device)"
    assert res.regions == {f"layer_{i}": 1000 + i for i in range(6)}
    assert res.totals == [9999] and res.log.checksums == {"output": "0e45138b"}
    assert not res.log.errors
    desc = core.cb + 24
    assert f"write32 {desc + 20:#x} 0x2" in core.calls  # blocking mode set at the ready breakpoint
    assert not core.breakpoints  # the breakpoint was removed again
    assert f"write32 {core.cb:#x} 0x0" in core.calls  # the stale id was cleared before the run
