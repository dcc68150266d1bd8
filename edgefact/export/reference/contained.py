"""Run the reference interpreters in a child process, so that their crashes cannot take edgefact down.

TFLM and LiteRT are C++ libraries: on some models they call ``abort()`` (a failed
``TFLITE_CHECK``, e.g. a SOFTMAX whose input scale makes ``QuantizeMultiplierGreaterThanOne``
fail), divide by zero or dereference garbage. In-process, that ends ``edgefact build`` with exit
code 134 and no message (the C-level stderr is captured). Here every oracle call runs in one
long-lived worker process (:mod:`.worker`, started on first use and reused, so a call costs a
pickle round trip, not an import of the interpreters), whose C-level stdout/stderr go to a log
file per call. When the worker dies, the caller gets :class:`OracleCrashError` naming the
interpreter, the signal, the operator when the log names one and the log's last lines; the next
call starts a new worker. Exceptions raised by the oracle itself (``EdgefactError`` and its
subclasses) reach the caller unchanged.

``EDGEFACT_ORACLE_INPROC=1`` runs the oracles in-process instead (debugging with a debugger).
"""

from __future__ import annotations

import atexit
import os
import pickle
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

from edgefact import procs
from edgefact.errors import EdgefactError

T = TypeVar("T")

_lock = threading.Lock()
_proc: subprocess.Popen[bytes] | None = None


class OracleRunError(EdgefactError):
    """A reference interpreter refused or failed to run this model without crashing (e.g. TFLM's
    ARG_MAX on int64 indices fails at invoke): what it would have checked stays unchecked."""


class OracleCrashError(EdgefactError):
    """A reference interpreter crashed (abort, SIGFPE, SIGSEGV) on this model."""

    def __init__(self, interpreter: str, how: str, op: str | None, log_tail: str) -> None:
        self.interpreter, self.how, self.op, self.log_tail = interpreter, how, op, log_tail
        where = f" in {op}" if op else ""
        tail = f"; its last output: {log_tail}" if log_tail else ""
        super().__init__(f"the {interpreter} reference interpreter crashed ({how}){where}{tail}. The model is "
                         f"probably outside what {interpreter} supports; its bit-exactness cannot be checked")


def write_frame(f: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(len(data).to_bytes(8, "little") + data)
    f.flush()


def read_frame(f: IO[bytes]) -> Any | None:
    """The next object, or None at end of stream (the other side is gone)."""
    head = f.read(8)
    if len(head) < 8:
        return None
    n = int.from_bytes(head, "little")
    data = f.read(n)
    if len(data) < n:
        return None
    try:
        return pickle.loads(data)
    except Exception as exc:  # e.g. a function the other side cannot import
        return ("unreadable", EdgefactError(f"oracle worker protocol: cannot read a message ({exc})"))


def _start() -> subprocess.Popen[bytes]:
    """The worker, importing from this process's sys.path (the same edgefact, the same helpers)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return procs.popen([sys.executable, "-m", "edgefact.export.reference.worker"], stdin=subprocess.PIPE,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True, env=env)


def shutdown() -> None:
    """Stop the worker (tests, interpreter exit)."""
    global _proc
    with _lock:
        if _proc is not None:
            for f in (_proc.stdin, _proc.stdout):
                if f is not None:
                    f.close()
            try:
                _proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _proc.kill()
                _proc.wait()
            _proc = None


atexit.register(shutdown)


def _how(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def _op_in(log: str) -> str | None:
    m = re.search(r"Node (\w+) \(number (\d+)\)", log)
    if m:
        return f"operator {m.group(2)} ({m.group(1)})"
    m = re.search(r"kernels/(?:internal/)?(\w+)\.(?:cc|h)", log)
    return f"the {m.group(1)} code" if m else None


def call(interpreter: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the oracle worker; OracleCrashError if the worker dies."""
    global _proc
    if os.environ.get("EDGEFACT_ORACLE_INPROC") == "1":
        return fn(*args, **kwargs)
    with _lock, tempfile.TemporaryDirectory(prefix="ef_oracle_") as tmp:
        log_path = Path(tmp) / "oracle.log"
        if _proc is None or _proc.poll() is not None:
            _proc = _start()
        proc = _proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            write_frame(proc.stdin, (str(log_path), fn, args, kwargs))
            reply = read_frame(proc.stdout)
        except BrokenPipeError:
            reply = None
        if reply is None:
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            _proc = None
            log = log_path.read_text(errors="replace") if log_path.exists() else ""
            tail = " | ".join(line.strip() for line in log.strip().splitlines()[-3:] if line.strip())
            raise OracleCrashError(interpreter, _how(code), _op_in(log), tail[-600:])
        status, value = reply
        if status == "ok":
            return value  # type: ignore[no-any-return]
        if isinstance(value, EdgefactError):
            raise value
        # anything else is the interpreter (or its Python binding) failing on this model
        raise OracleRunError(f"the {interpreter} reference could not run the model ({type(value).__name__}: "
                            f"{str(value)[:300]}); its bit-exactness cannot be checked") from value
