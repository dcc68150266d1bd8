"""GDB discovery and a minimal GDB/MI client (gdb-multiarch ``--interpreter=mi3``, parsed by pygdbmi).

Token-matched commands, stop events collected by a reader thread, target-stream output (GDB
File-I/O semihosting, J-Link console packets) handed to a callback.
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pygdbmi.gdbmiparser import parse_response

from edgefact import procs
from edgefact.errors import EdgefactError, MissingToolError

GDB_HINT = "install it: sudo apt-get install gdb-multiarch"


def find_gdb(preferred: str | None = None) -> str:
    """gdb-multiarch (or arm-none-eabi-gdb); MissingToolError with the apt command otherwise."""
    for name in ([preferred] if preferred else []) + ["gdb-multiarch", "arm-none-eabi-gdb"]:
        path = shutil.which(name)
        if path:
            return path
    raise MissingToolError(f"{preferred or 'gdb-multiarch'} not found on PATH; {GDB_HINT}")


@dataclass
class MiEvents:
    """What the MI reader thread saw besides command results."""

    stopped: list[dict[str, Any]] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    closed: bool = False


class MiSession:
    """A minimal GDB/MI client: token-matched commands, target stream to a callback."""

    def __init__(self, gdb: str, on_target_output: Callable[[str], None]) -> None:
        self.proc = procs.popen([gdb, "--nx", "--quiet", "--interpreter=mi3"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.on_target_output = on_target_output
        self.events = MiEvents()
        self._results: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stop_cv = threading.Condition()
        self._token = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
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
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=2.0)
        kill_group(self.proc)  # what is left of its group, and out of the table of live children
        self._reader.join(timeout=2.0)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    procs.kill_group(proc)


__all__ = ["GDB_HINT", "MiEvents", "MiSession", "find_gdb", "kill_group"]
