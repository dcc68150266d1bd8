"""Host side of the RTT log channel: read the firmware's RTT up-buffer through debug memory access.

The firmware (``EF_LOG_RTT=1``, template ``ef_rtt.c``) keeps a control block ``_SEGGER_RTT`` in RAM::

    +0   char id[16]        "SEGGER RTT" + NULs (written last at start-up)
    +16  int  max_up, max_down
    +24  up[0]: name, buffer, size, wr, rd, flags   (6 x 32-bit)
    ...  down buffers

The target advances ``wr`` after writing bytes, the host reads ``[rd, wr)`` (wrapping at ``size``)
and stores the new ``rd``. ``RttReader`` only needs two primitives, so it works through pyOCD's
target API (memory reads while the core runs) and through GDB (memory reads while halted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from edgefact.errors import EdgefactError
from edgefact.firmware.elf import symbol_address

RTT_ID = b"SEGGER RTT"
RTT_SYMBOL = "_SEGGER_RTT"
#: the first function the template calls after ef_rtt_init(): a breakpoint there lets the host
#: switch the buffer to blocking mode before any record is written
RTT_READY_SYMBOL = "ef_timer_init"
HEADER_BYTES = 24
DESC_BYTES = 24
MODE_SKIP, MODE_TRIM, MODE_BLOCK = 0, 1, 2

ReadMem = Callable[[int, int], bytes]
Write32 = Callable[[int, int], None]


class RttError(EdgefactError):
    """The RTT control block is missing or inconsistent."""


def rtt_symbol_address(elf: str | Path) -> int | None:
    """Address of ``_SEGGER_RTT`` in ``elf``, or None if the firmware has no RTT channel."""
    return symbol_address(elf, RTT_SYMBOL)


def scan_for_control_block(read: ReadMem, ranges: Sequence[tuple[int, int]], chunk: int = 4096) -> int | None:
    """Search RAM ranges ``(origin, length)`` for the id string (a firmware without symbols)."""
    for origin, length in ranges:
        addr = origin
        tail = b""
        while addr < origin + length:
            n = min(chunk, origin + length - addr)
            data = tail + read(addr, n)
            i = data.find(RTT_ID + b"\0")
            if i >= 0:
                found = addr - len(tail) + i
                if found % 4 == 0:
                    return found
            tail = data[-len(RTT_ID):]
            addr += n
    return None


@dataclass(frozen=True)
class UpBuffer:
    desc: int  # address of the descriptor
    buffer: int
    size: int


class RttReader:
    """Reads up-buffer ``channel`` of the control block at ``address``."""

    def __init__(self, read: ReadMem, write32: Write32, address: int, channel: int = 0,
                 mode: int | None = MODE_BLOCK) -> None:
        self._read = read
        self._write32 = write32
        self.address = address
        self.channel = channel
        self.mode = mode
        self.up: UpBuffer | None = None

    def _u32(self, addr: int) -> int:
        return int.from_bytes(self._read(addr, 4), "little")

    def attach(self) -> bool:
        """True once the firmware has set up the control block (the id string is there).

        On attach the buffer's mode is set to ``mode`` (default: block when full, so the firmware
        waits for the host instead of dropping records).
        """
        if self.up is not None:
            return True
        head = self._read(self.address, HEADER_BYTES)
        if head[:len(RTT_ID)] != RTT_ID:
            return False
        max_up = int.from_bytes(head[16:20], "little", signed=True)
        if not 0 < max_up <= 64 or self.channel >= max_up:
            raise RttError(f"RTT control block at 0x{self.address:08x}: {max_up} up buffers, need channel "
                           f"{self.channel}; is the firmware built with EF_LOG_RTT=1?")
        desc = self.address + HEADER_BYTES + DESC_BYTES * self.channel
        d = self._read(desc, DESC_BYTES)
        buf, size = int.from_bytes(d[4:8], "little"), int.from_bytes(d[8:12], "little")
        if size < 2 or size > 1 << 24:
            raise RttError(f"RTT up buffer {self.channel} at 0x{desc:08x} has size {size}; memory corrupted?")
        self.up = UpBuffer(desc, buf, size)
        if self.mode is not None:
            flags = int.from_bytes(d[20:24], "little")
            self._write32(desc + 20, (flags & ~3) | self.mode)
        return True

    def invalidate(self) -> None:
        """Clear the id string in target RAM while the core is halted at reset: RAM survives a
        reset, and a control block left by the previous run must not be read before the firmware
        sets up the new one (it writes the id last)."""
        for off in range(0, 16, 4):
            self._write32(self.address + off, 0)
        self.up = None

    def poll(self) -> bytes:
        """Bytes written since the last poll (empty if none); frees them in the target's ring."""
        if self.up is None and not self.attach():
            return b""
        up = self.up
        assert up is not None
        wr = self._u32(up.desc + 12)
        rd = self._u32(up.desc + 16)
        if wr >= up.size or rd >= up.size:
            raise RttError(f"RTT up buffer offsets out of range (wr={wr}, rd={rd}, size={up.size}); "
                           "memory corrupted or the firmware was reset")
        if wr == rd:
            return b""
        if wr > rd:
            data = self._read(up.buffer + rd, wr - rd)
        else:
            data = self._read(up.buffer + rd, up.size - rd) + (self._read(up.buffer, wr) if wr else b"")
        self._write32(up.desc + 16, wr)
        return data


__all__ = ["MODE_BLOCK", "MODE_SKIP", "MODE_TRIM", "RTT_ID", "RTT_READY_SYMBOL", "RTT_SYMBOL", "RttError", "RttReader",
           "rtt_symbol_address", "scan_for_control_block"]
