"""Child processes that never outlive edgefact.

Every child (QEMU, a host firmware, GDB, gcc, the oracle worker) is started through :func:`popen`
or :func:`run`: in its own session (so a terminal's Ctrl-C does not hit it half-way through a
protocol exchange, and its whole process group can be killed at once) and recorded in a table of
live children. The group is killed when the child's caller gets any exception (timeout, error,
``KeyboardInterrupt``, the ``SystemExit`` of :func:`install_signal_handlers`' SIGTERM handler),
and :func:`kill_all` (called by the CLI entry point on the way out, and at interpreter exit) kills
whatever is still alive, e.g. a child started by a worker thread.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any

_lock = threading.RLock()  # re-entrant: the signal handler may interrupt a holder in the main thread
_live: dict[int, subprocess.Popen[Any]] = {}
_stopping = threading.Event()


class StoppingError(subprocess.SubprocessError):
    """A child was to be started after an interrupt began killing them all (a worker thread's
    next compile): it is not started."""


def popen(cmd: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(cmd, **kwargs)`` in a new session, recorded until :func:`kill_group`
    (or :func:`forget` once it has been waited for)."""
    if _stopping.is_set():
        raise StoppingError(f"not starting {cmd[0] if cmd else '?'}: edgefact is stopping")
    kwargs.setdefault("start_new_session", True)
    proc: subprocess.Popen[Any] = subprocess.Popen(list(cmd), **kwargs)
    with _lock:
        _live[proc.pid] = proc
    return proc


def forget(proc: subprocess.Popen[Any]) -> None:
    """Drop an exited child from the table."""
    with _lock:
        _live.pop(proc.pid, None)


def kill_group(proc: subprocess.Popen[Any], wait_s: float = 5.0) -> None:
    """SIGKILL the child's process group (or the child alone when it shares ours) and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if proc.poll() is None or _group_alive(proc.pid):
            if _is_group_leader(proc.pid):
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        proc.wait(timeout=wait_s)
    forget(proc)


def _is_group_leader(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid and os.getpgid(pid) != os.getpgid(0)
    except ProcessLookupError:
        # the leader is gone (reaped): its group id may still name live members
        return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return pgid != os.getpgid(0)
    except (ProcessLookupError, PermissionError):
        return False


def kill_all(*, stop: bool = True) -> None:
    """Kill every recorded child's group (the CLI's last word, the interrupt handlers and an
    ``atexit`` hook); with ``stop``, children asked for afterwards are refused (:class:`StoppingError`)."""
    if stop:
        _stopping.set()
    with _lock:
        procs = list(_live.values())
    for proc in procs:
        kill_group(proc, wait_s=2.0)


def live() -> list[subprocess.Popen[Any]]:
    """The recorded children (tests)."""
    with _lock:
        return list(_live.values())


@contextlib.contextmanager
def managed(proc: subprocess.Popen[Any]) -> Iterator[subprocess.Popen[Any]]:
    """Kill ``proc``'s group when the block ends with an exception (of any kind) and always
    kill what is left of its group when the block ends."""
    try:
        yield proc
    finally:
        kill_group(proc)


def run(cmd: Sequence[str], *, timeout: float | None = None, input: str | bytes | None = None,
        capture_output: bool = False, text: bool = False, cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run`` with the child in its own group, killed with the group on a timeout
    (``subprocess.TimeoutExpired``) or on any exception while waiting; leftover members of its
    group (a compiler driver's cc1/as) are killed when it exits."""
    pipe = subprocess.PIPE if capture_output else None
    proc = popen(cmd, stdin=subprocess.PIPE if input is not None else None, stdout=pipe, stderr=pipe,
                 text=text, cwd=cwd, env=env)
    with managed(proc):
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            raise subprocess.TimeoutExpired(list(cmd), timeout or 0.0) from None
        return subprocess.CompletedProcess(list(cmd), proc.returncode, out, err)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    # kill first: the main thread may be waiting for worker threads that wait for children
    kill_all()
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def install_signal_handlers() -> dict[int, Any]:
    """On SIGINT, SIGTERM and SIGHUP kill every child's group at once, then raise
    ``KeyboardInterrupt`` (SIGINT) or ``SystemExit(128 + signal)`` in the main thread, so
    ``finally`` blocks (temporary folder removal, lock release) run as on Ctrl-C. For the CLI
    entry point; a library caller keeps its own handlers. Returns the previous handlers, for
    :func:`restore_signal_handlers`."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            previous[sig] = signal.signal(sig, _on_signal)
    return previous


def restore_signal_handlers(previous: dict[int, Any]) -> None:
    """Put back the handlers :func:`install_signal_handlers` replaced (the CLI run in-process,
    e.g. by tests, leaves the caller's handlers as it found them)."""
    for sig, handler in previous.items():
        with contextlib.suppress(ValueError, OSError, TypeError):
            signal.signal(sig, handler)


atexit.register(kill_all)

__all__ = ["StoppingError", "forget", "install_signal_handlers", "kill_all", "kill_group", "live", "managed", "popen", "run"]
