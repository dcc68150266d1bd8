"""Host runner: run a natively built firmware executable (target ``host``); counts are ns (host)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edgefact.errors import EdgefactError
from edgefact.report.logproto import Record
from edgefact.targets import Target
from edgefact.targets.runners.base import (
    Runner,
    RunResult,
    RunTimeoutError,
    check_timeout,
    register_runner,
    result_from_log,
    run_streaming,
)
from edgefact.targets.runners.capabilities import RunnerCapabilities
from edgefact.units import UNIT_HOST


@register_runner("host")
class HostRunner(Runner):
    """Runs the natively built executable of target ``host``; its log is on stdout."""

    capabilities = RunnerCapabilities(runs_on="native", exact_counts=False, can_flash=False,
                                      log_transports=("stdout",), unit=UNIT_HOST)

    def run(self, artifact: Path, target: Target, timeout_s: float = 60.0,
            on_record: Callable[[Record], None] | None = None) -> RunResult:
        check_timeout(timeout_s)
        artifact = Path(artifact).resolve()
        if not artifact.is_file():
            raise EdgefactError(f"executable {artifact} does not exist; build it for target 'host' first")
        cmd = [str(artifact)]
        proc = run_streaming(cmd, timeout_s, on_record=on_record)
        if proc.timed_out:
            raise RunTimeoutError(f"{artifact.name} did not exit within {timeout_s:g} s (hang?)",
                                  proc.log.tail(15), proc.log)
        assert proc.returncode is not None
        rc = proc.returncode
        if rc < 0:  # killed by a signal (SIGSEGV...): the host's version of a fault
            raise EdgefactError(f"{artifact.name} was killed by signal {-rc}; last log lines:\n  "
                                + "\n  ".join(proc.log.tail(10)) + f"\n{proc.stderr.strip()[:1000]}")
        return result_from_log(proc.log, rc, proc.raw, command=cmd, wall_s=proc.wall_s)


__all__ = ["HostRunner"]
