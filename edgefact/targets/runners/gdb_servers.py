"""GDB servers the gdb runner talks to, as a table of profiles instead of branches on their names.

A profile says how a server puts the core at the reset vector after a load (a ``monitor`` command
on a real probe; SP/PC/xPSR from the ELF's vector table where the server has no reset command),
which set-up commands it needs, how it is driven when flashing, and whether it ends the run by
itself (QEMU exits on semihosting SYS_EXIT; a probe server keeps the core alive, so the runner
breaks on the firmware's exit function).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from edgefact.errors import EdgefactError


@dataclass(frozen=True)
class ServerProfile:
    name: str
    #: monitor command resetting the core before and after the load (None: SP/PC from the vector table)
    reset: str | None = None
    #: monitor commands sent once connected (failures ignored: e.g. an older OpenOCD)
    setup: tuple[str, ...] = ()
    #: before writing flash: halt the core (None: the server halts it on load)
    flash_halt: str | None = None
    #: after writing flash, to start the new program (None: the server cannot reset it)
    flash_reset: str | None = None
    #: the server ends the session when the firmware exits (no exit breakpoint needed)
    exits_with_firmware: bool = False
    #: a server on a real board's probe (``edgefact flash`` can write through it)
    board: bool = True


SERVER_PROFILES: dict[str, ServerProfile] = {p.name: p for p in (
    ServerProfile("qemu", exits_with_firmware=True, board=False),
    ServerProfile("openocd", reset="monitor reset halt",
                  setup=("monitor arm semihosting enable", "monitor arm semihosting_fileio enable"),
                  flash_halt="monitor reset halt", flash_reset="monitor reset run"),
    ServerProfile("pyocd", reset="monitor reset halt", flash_halt="monitor reset halt", flash_reset="monitor reset"),
    ServerProfile("jlink", reset="monitor reset", flash_reset="monitor reset"),
    ServerProfile("generic"),
)}
SERVER_KINDS = tuple(SERVER_PROFILES)
#: the kinds ``edgefact flash --runner gdb`` accepts
FLASH_SERVER_KINDS = tuple(n for n, p in SERVER_PROFILES.items() if p.board)


def server_profile(kind: str) -> ServerProfile:
    p = SERVER_PROFILES.get(kind)
    if p is None:
        raise EdgefactError(f"unknown GDB server kind '{kind}'; valid: {', '.join(SERVER_KINDS)}")
    return p


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


__all__ = ["FLASH_SERVER_KINDS", "SERVER_KINDS", "SERVER_PROFILES", "ServerProfile", "free_port", "parse_server",
           "server_profile"]
