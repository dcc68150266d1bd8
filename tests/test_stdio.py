"""edgefact.stdio: C-level output of library calls is captured, and the descriptors come back."""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

import pytest

from edgefact.stdio import capture_output

libc = ctypes.CDLL(None)


def _fd_ids() -> list[tuple[int, int]]:
    return [(os.fstat(fd).st_dev, os.fstat(fd).st_ino) for fd in (1, 2)]


def test_captures_a_c_library_write_to_fd_2_and_buffered_printf() -> None:
    before = _fd_ids()
    with capture_output() as cap:
        msg = b"from C on fd 2\n"
        libc.write(2, msg, len(msg))
        libc.puts(b"from C stdio on stdout")  # buffered by C's stdio until fflush
    assert "from C on fd 2" in cap.text
    assert "from C stdio on stdout" in cap.text
    assert _fd_ids() == before


def test_text_holds_only_the_block(capfd: pytest.CaptureFixture[str]) -> None:
    libc.write(2, b"outside-before\n", 15)
    with capture_output() as cap:
        libc.write(1, b"inside\n", 7)
    libc.write(2, b"outside-after\n", 14)
    assert cap.text == "inside\n"
    err = capfd.readouterr().err
    assert "outside-before" in err and "outside-after" in err and "inside" not in err


def test_descriptors_are_restored_when_the_block_raises() -> None:
    before = _fd_ids()
    with pytest.raises(RuntimeError, match="boom"), capture_output() as cap:
        libc.write(2, b"partial\n", 8)
        raise RuntimeError("boom")
    assert cap.text == "partial\n"
    assert _fd_ids() == before


def test_log_file_is_appended_and_python_streams_go_there_too(tmp_path: Path) -> None:
    log = tmp_path / "conv.log"
    log.write_text("earlier run\n")
    with capture_output(log, python_streams=True) as cap:
        print("python print")
        print("python stderr", file=sys.stderr)
        libc.write(2, b"c stderr\n", 9)
    text = log.read_text()
    assert text.startswith("earlier run\n")
    for line in ("python print", "python stderr", "c stderr"):
        assert line in text and line in cap.text
    assert "earlier run" not in cap.text


def test_devnull_discards() -> None:
    with capture_output(os.devnull, python_streams=True) as cap:
        print("gone")
        libc.write(1, b"gone too\n", 9)
    assert cap.text == ""
