"""No child process outlives edgefact (issue 13, item 3).

``edgefact run`` on a firmware that never finishes (natively and under QEMU) is interrupted from
outside with SIGINT and with SIGTERM; afterwards no process it started (the firmware, QEMU) is
alive. The helpers of :mod:`edgefact.procs` kill a child's whole group on a timeout and on any
exception.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from edgefact import procs

HANG_APP = textwrap.dedent("""\
    #include "ef_app.h"
    #include "ef_log.h"

    volatile unsigned ef_spin;

    int ef_app_setup(void) { return 0; }
    int ef_app_run(void) { for (;;) { ++ef_spin; } return 0; }
    void ef_app_report(void) {}
""")


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _wait_for(pred, timeout_s: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            got = pred()
        except psutil.Error:  # a process listed a moment ago ended while being looked at: ask again
            got = None
        if got:
            return got
        time.sleep(0.1)
    return None


def _alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    out = []
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass
    return out


def _interrupt_hanging_run(tmp_path: Path, target: str, child_name: str, sig: signal.Signals,
                           extra: tuple[str, ...] = ()) -> None:
    src = tmp_path / "hang.c"
    src.write_text(HANG_APP)
    cmd = [sys.executable, "-c", "from edgefact.cli import main; main()", "run", "--target", target,
           "--source", str(src), "--timeout", "600", "--out", str(tmp_path / "out"), *extra]
    edgefact = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        # the firmware (or QEMU) is a descendant of edgefact once the build is done
        found = _wait_for(lambda: [p for p in _descendants(edgefact.pid) if child_name in p.name()], 240)
        assert found, f"no {child_name} process started: " + edgefact.stderr.read().decode()[-2000:] \
            if edgefact.poll() is not None else f"no {child_name} process started within 240 s"
        time.sleep(0.5)  # let it spin
        every = [p.pid for p in _descendants(edgefact.pid)]
        groups = {os.getpgid(pid) for pid in every}
        edgefact.send_signal(sig)
        _, err = edgefact.communicate(timeout=30)
        left = _wait_for(lambda: not _alive(every), 5)
        assert left, f"still alive after {sig.name}: {[psutil.Process(p).name() for p in _alive(every)]}"
        assert not [pid for pgid in groups for pid in _group_members(pgid)]  # nothing else of their groups
        assert edgefact.returncode in (130, 128 + sig), (edgefact.returncode, err.decode()[-2000:])
        assert b"Traceback" not in err, err.decode()[-3000:]
    finally:
        if edgefact.poll() is None:
            edgefact.kill()
            edgefact.wait()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_host_run_leaves_no_process(tmp_path: Path, sig: signal.Signals) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    _interrupt_hanging_run(tmp_path, "host", "firmware", sig)


@pytest.mark.qemu
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_qemu_run_leaves_no_process(tmp_path: Path, sig: signal.Signals) -> None:
    if shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("qemu-system-arm / arm-none-eabi-gcc not installed")
    _interrupt_hanging_run(tmp_path, "cortex-m4", "qemu-system-arm", sig)


@pytest.mark.qemu
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_gdb_run_leaves_no_process(tmp_path: Path, sig: signal.Signals) -> None:
    """The GDB runner: QEMU with its gdbstub and gdb-multiarch, both gone after the signal."""
    if not all(shutil.which(t) for t in ("qemu-system-arm", "arm-none-eabi-gcc", "gdb-multiarch")):
        pytest.skip("qemu-system-arm / arm-none-eabi-gcc / gdb-multiarch not installed")
    _interrupt_hanging_run(tmp_path, "cortex-m4", "gdb", sig, ("--runner", "gdb"))


def test_run_timeout_kills_the_whole_group() -> None:
    """A shell that started a grandchild (as gcc starts cc1): both die on the timeout."""
    secs = 3000 + os.getpid() % 997  # a duration no other process is likely to sleep
    before = set(map(id, procs.live()))  # e.g. the reference-oracle worker an earlier test started
    with pytest.raises(subprocess.TimeoutExpired):
        procs.run(["sh", "-c", f"sleep {secs} & sleep {secs + 1}"], timeout=0.5)
    left = _wait_for(lambda: not [p for p in psutil.process_iter(["cmdline"])
                                  if (p.info["cmdline"] or [])[1:2] in ([str(secs)], [str(secs + 1)])
                                  and _alive([p.pid])], 5)
    assert left, "a sleep of the killed group survived"
    assert not [p for p in procs.live() if id(p) not in before]


def test_run_exception_kills_the_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """KeyboardInterrupt (or any exception) while waiting kills the child's group."""
    started: list[subprocess.Popen[bytes]] = []
    real_popen = procs.popen

    def spy(cmd, **kw):  # type: ignore[no-untyped-def]
        p = real_popen(cmd, **kw)
        started.append(p)
        return p

    def interrupt(self, *a, **k):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(procs, "popen", spy)
    monkeypatch.setattr(subprocess.Popen, "communicate", interrupt)
    with pytest.raises(KeyboardInterrupt):
        procs.run(["sh", "-c", "sleep 300 & sleep 300"], capture_output=True)
    monkeypatch.undo()
    (proc,) = started
    assert proc.returncode == -signal.SIGKILL
    assert _wait_for(lambda: not _group_members(proc.pid), 5), "the background sleep survived"
    assert proc not in procs.live()


def test_kill_all_refuses_new_children_while_stopping(monkeypatch: pytest.MonkeyPatch) -> None:
    proc = procs.popen(["sleep", "300"])
    monkeypatch.setattr(procs, "_stopping", type(procs._stopping)())
    procs.kill_all()
    assert proc.returncode == -signal.SIGKILL
    with pytest.raises(procs.StoppingError):
        procs.popen(["true"])
