"""The oracle worker process (see :mod:`.contained`): ``python -m edgefact.export.reference.worker``.

Reads length-prefixed pickled ``(log_path, function, args, kwargs)`` frames from stdin, runs each
call with file descriptors 1 and 2 redirected to ``log_path`` (the interpreters print from C++),
and writes ``("ok", result)`` or ``("err", exception)`` back on the original stdout. A crash
inside a call ends the process; the parent sees the closed pipe.
"""

from __future__ import annotations

import os
import sys

from edgefact.errors import EdgefactError
from edgefact.export.reference.contained import read_frame, write_frame


def _unbuffer_c_stdio() -> None:
    """Make C's stdout/stderr unbuffered, so what an interpreter prints before abort() reaches the log."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        for name in ("stdout", "stderr"):
            stream = ctypes.c_void_p.in_dll(libc, name)
            libc.setvbuf(stream, None, 2, 0)  # _IONBF
    except (OSError, ValueError, AttributeError):  # not glibc: the crash report just has less text
        pass


def main() -> int:
    _unbuffer_c_stdio()
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    quiet = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(quiet, fd)
    while True:
        frame = read_frame(proto_in)
        if frame is None:
            return 0
        if frame[0] == "unreadable":
            write_frame(proto_out, ("err", frame[1]))
            continue
        log_path, fn, args, kwargs = frame
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        try:
            reply = ("ok", fn(*args, **kwargs))
        except Exception as exc:  # every failure goes back to the caller, as its own type if it pickles
            reply = ("err", exc)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            os.close(log)
        try:
            write_frame(proto_out, reply)
        except Exception as exc:  # an unpicklable result or exception
            write_frame(proto_out, ("err", EdgefactError(f"oracle result could not be returned: {exc}")))


if __name__ == "__main__":
    sys.exit(main())
