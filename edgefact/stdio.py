"""Capture what C libraries print: file descriptors 1 and 2, not just Python's ``sys.stdout``.

TFLM, LiteRT, TensorFlow and onnx2tf print from C/C++ (``printf``, ``fprintf(stderr)``, glog)
straight to the process's file descriptors, which ``contextlib.redirect_stdout`` never sees.
:func:`capture_output` points fds 1 and 2 at a file for the duration of a block, flushing C's
stdio buffers on the way in and out so nothing printed before lands inside, or after, the block.

Bottom layer: imports nothing from edgefact.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import BinaryIO


class CapturedOutput:
    """What was written to fds 1 and 2 inside the block, readable as ``text`` once it ends.

    With a log file the text is read back from it on first use only (conversion logs can be
    long and are usually just kept on disk).
    """

    def __init__(self) -> None:
        self._data: bytes | None = None
        self._log: tuple[str | os.PathLike[str], int] | None = None

    @property
    def text(self) -> str:
        if self._data is None and self._log is not None:
            path, start = self._log
            with open(path, "rb") as f:
                f.seek(start)
                self._data = f.read()
        return (self._data or b"").decode("utf-8", errors="replace")


def _c_fflush() -> None:
    """Flush every C stdio stream (``fflush(NULL)``), so buffered ``printf`` output goes where fd 1 points now."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


def _flush_all() -> None:
    _c_fflush()
    sys.stdout.flush()
    sys.stderr.flush()


@contextlib.contextmanager
def capture_output(log_path: str | os.PathLike[str] | None = None, *,
                   python_streams: bool = False) -> Iterator[CapturedOutput]:
    """Send fds 1 and 2 to ``log_path`` (appended; ``os.devnull`` discards) or, without one, to an
    anonymous temporary file.

    ``python_streams`` also redirects Python's ``sys.stdout``/``sys.stderr`` objects (which may not
    be fds 1/2, e.g. under pytest or in a notebook) into the same file. The yielded object's
    ``text`` holds everything written during the block once it ends (decoded as UTF-8 with
    replacement). The original descriptors are restored even when the block raises.
    """
    result = CapturedOutput()
    _flush_all()
    sink: BinaryIO
    if log_path is None:
        sink = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 (closed in the finally below)
        start = 0
    else:
        sink = open(log_path, "ab")  # noqa: SIM115
        start = os.fstat(sink.fileno()).st_size
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    text_out: io.TextIOWrapper | None = None
    try:
        for fd in (1, 2):
            os.dup2(sink.fileno(), fd)
        with contextlib.ExitStack() as stack:
            if python_streams:
                raw = open(os.dup(sink.fileno()), "wb", closefd=True)  # noqa: SIM115
                text_out = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", write_through=True)
                stack.enter_context(contextlib.redirect_stdout(text_out))
                stack.enter_context(contextlib.redirect_stderr(text_out))
            try:
                yield result
            finally:
                if text_out is not None:
                    text_out.flush()
                _flush_all()
    finally:
        for fd, s in saved.items():
            os.dup2(s, fd)
            os.close(s)
        if text_out is not None:
            text_out.close()
        try:
            if log_path is None:
                sink.seek(start)
                result._data = sink.read()
            else:
                result._log = (log_path, start)
        finally:
            sink.close()


__all__ = ["CapturedOutput", "capture_output"]
